package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// pg is a shared PostgreSQL pool, as every clustered configuration needs.
const pg = `[outgoing_pools.rdbms.default.connection]
  driver = "pgsql"
  database = "gander"
  username = "gander"
  password = "secret"
`

func TestClusterExamples(t *testing.T) {
	for i, name := range []string{"cluster_node1.toml", "cluster_node2.toml"} {
		c, err := Load(filepath.Join("testdata", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !c.Clustered() {
			t.Fatalf("%s: not clustered", name)
		}
		want := []string{"127.0.0.1:6222", "127.0.0.1:6223"}[i]
		cl := c.Cluster
		if cl.Listen != want || cl.Advertise != want || cl.NodeTimeout != 5 || cl.NATSURL != "" || cl.Secret != "" {
			t.Errorf("%s: cluster = %+v", name, cl)
		}
		if cets := c.InternalDatabases.CETS; cets.Backend != "rdbms" || cets.ClusterName != "gander" {
			t.Errorf("%s: cets = %+v", name, cets)
		}
	}
}

func TestClusterOff(t *testing.T) {
	c, err := Parse([]byte(base), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Clustered() || c.Cluster != nil || c.InternalDatabases.CETS != nil {
		t.Errorf("clustering on without its sections: %+v %+v", c.Cluster, c.InternalDatabases.CETS)
	}
	// The single-node default configuration is not a cluster either.
	if Default().Clustered() {
		t.Error("the built-in default is clustered")
	}
}

func TestClusterDefaults(t *testing.T) {
	// [cluster] alone means [internal_databases.cets] with its defaults.
	c, err := Parse([]byte(base+"node_name = \"n1@10.0.0.7\"\n"+pg+"[cluster]\n"), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cets := c.InternalDatabases.CETS; cets == nil || cets.Backend != "rdbms" || cets.ClusterName != "mongooseim" {
		t.Errorf("cets = %+v", cets)
	}
	if cl := c.Cluster; cl.Listen != "127.0.0.1:6222" || cl.Advertise != "127.0.0.1:6222" || cl.NodeTimeout != 5 {
		t.Errorf("cluster = %+v", cl)
	}
	// [internal_databases.cets] alone means [cluster] with its defaults;
	// an unspecified listen host advertises the node name's host.
	c, err = Parse([]byte(base+"node_name = \"n1@10.0.0.7\"\n"+pg+
		"[internal_databases.cets]\n[cluster]\nlisten = \"0.0.0.0:7000\"\nsecret = \"s\"\n"), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cl := c.Cluster; cl.Advertise != "10.0.0.7:7000" {
		t.Errorf("advertise = %q, want the node name's host with listen's port", cl.Advertise)
	}
	c, err = Parse([]byte(base+pg+"[internal_databases.cets]\nbackend = \"file\"\nnode_list_file = \"nodes.txt\"\n"), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster == nil || c.Cluster.Listen != "127.0.0.1:6222" || c.InternalDatabases.CETS.NodeListFile != "nodes.txt" {
		t.Errorf("cluster = %+v cets = %+v", c.Cluster, c.InternalDatabases.CETS)
	}
	c, err = Parse([]byte(base+pg+"[cluster]\nnats_url = \"nats://u:p@127.0.0.1:4222, tls://nats.example:4443\"\n"), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Cluster.NATSURLs(); len(got) != 2 || got[1] != "tls://nats.example:4443" || c.Cluster.Listen != "" {
		t.Errorf("nats urls = %q, listen %q", got, c.Cluster.Listen)
	}
}

func TestClusterErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		key  string
		msg  string
		line int // 0: not checked
	}{
		{"sqlite driver", base + "[outgoing_pools.rdbms.default.connection]\n  driver = \"sqlite\"\n  database = \"g.db\"\n[cluster]\n",
			"outgoing_pools.rdbms.default.connection.driver",
			`"sqlite" cannot be shared between cluster nodes ([cluster] / [internal_databases.cets] need "pgsql")`, 5},
		{"embedded sqlite", base + "[internal_databases.cets]\n", "outgoing_pools.rdbms.default.connection.driver",
			"cannot be shared between cluster nodes", 0},
		{"node_timeout 1", base + pg + "[cluster]\nnode_timeout = 1\n", "cluster.node_timeout", "must be an integer >= 2, got 1", 10},
		{"node_timeout string", base + pg + "[cluster]\nnode_timeout = \"5\"\n", "cluster.node_timeout", "expected an integer", 10},
		{"nats_url with listen", base + pg + "[cluster]\nnats_url = \"nats://127.0.0.1:4222\"\nlisten = \"127.0.0.1:6222\"\n",
			"cluster.listen", "not allowed with cluster.nats_url: no embedded NATS server runs", 11},
		{"nats_url with secret", base + pg + "[cluster]\nnats_url = \"nats://127.0.0.1:4222\"\nsecret = \"x\"\n",
			"cluster.secret", "not allowed with cluster.nats_url", 11},
		{"nats_url with advertise", base + pg + "[cluster]\nnats_url = \"nats://127.0.0.1:4222\"\nadvertise = \"h:1\"\n",
			"cluster.advertise", "not allowed with cluster.nats_url", 11},
		{"nats_url scheme", base + pg + "[cluster]\nnats_url = \"nats://a:4222,http://u:pw@b:80\"\n",
			"cluster.nats_url", `"http://u:xxxxx@b:80" is not a nats:// or tls:// URL`, 10},
		{"nats_url empty", base + pg + "[cluster]\nnats_url = \" \"\n", "cluster.nats_url", "at least one", 10},
		{"listen without port", base + pg + "[cluster]\nlisten = \"127.0.0.1\"\n", "cluster.listen", `must be "host:port"`, 10},
		{"listen port 0", base + pg + "[cluster]\nlisten = \"127.0.0.1:0\"\n", "cluster.listen", "port from 1 to 65535", 10},
		{"advertise bad", base + pg + "[cluster]\nadvertise = \"x:99999\"\n", "cluster.advertise", `must be "host:port"`, 10},
		{"public listen without secret", base + pg + "[cluster]\nlisten = \"0.0.0.0:6222\"\n", "cluster.secret",
			"required when cluster.listen accepts connections from other hosts", 9},
		{"bad backend", base + pg + "[internal_databases.cets]\nbackend = \"mnesia\"\n", "internal_databases.cets.backend",
			`must be one of "rdbms", "file", got "mnesia"`, 10},
		{"bad cluster name", base + pg + "[internal_databases.cets]\ncluster_name = \"a.b\"\n", "internal_databases.cets.cluster_name",
			"must be 1 to 64 characters from A-Z a-z 0-9 _ -", 10},
		{"empty cluster name", base + pg + "[internal_databases.cets]\ncluster_name = \"\"\n", "internal_databases.cets.cluster_name",
			"must be 1 to 64 characters", 10},
		{"long cluster name", base + pg + "[internal_databases.cets]\ncluster_name = \"" + strings.Repeat("x", 65) + "\"\n",
			"internal_databases.cets.cluster_name", "must be 1 to 64 characters", 10},
		{"file without list", base + pg + "[internal_databases.cets]\nbackend = \"file\"\n", "internal_databases.cets.node_list_file",
			`is required with backend = "file"`, 9},
		{"rdbms with list", base + pg + "[internal_databases.cets]\nnode_list_file = \"n.txt\"\n", "internal_databases.cets.node_list_file",
			`is not allowed with backend = "rdbms"`, 10},
		{"mod_last mnesia", base + pg + "[cluster]\n[modules.mod_last]\nbackend = \"mnesia\"\n", "modules.mod_last.backend",
			`"mnesia" keeps data in one node's memory and cannot be used in a cluster (use "rdbms")`, 11},
		{"mod_last default backend", base + pg + "[cluster]\n[modules.mod_last]\n", "modules.mod_last.backend", `(use "rdbms")`, 0},
		{"mod_muc_light mnesia", base + pg + "[cluster]\n[modules.mod_muc_light]\n", "modules.mod_muc_light.backend", `(use "rdbms")`, 0},
		{"auth internal", base + pg + "[cluster]\n[auth.internal]\n", "auth.internal", "use [auth.rdbms]", 10},
		{"node name with space", base + "node_name = \"a b\"\n" + pg + "[cluster]\n", "general.node_name", "without whitespace", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), "t.toml")
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			var found *Error
			for _, e := range AsErrors(err) {
				if e.Key == tc.key {
					found = e
				}
			}
			if found == nil {
				t.Fatalf("no error at %s in: %v", tc.key, err)
			}
			if !strings.Contains(found.Msg, tc.msg) {
				t.Errorf("message %q does not contain %q", found.Msg, tc.msg)
			}
			if tc.line != 0 && found.Line != tc.line {
				t.Errorf("line = %d, want %d (%v)", found.Line, tc.line, found)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
}

// TestClusterErrorsAllAtOnce: check-config lists every problem, not the
// first one only.
func TestClusterErrorsAllAtOnce(t *testing.T) {
	_, err := Parse([]byte(base+"[cluster]\nnode_timeout = 1\n[modules.mod_last]\n"), "t.toml")
	keys := map[string]bool{}
	for _, e := range AsErrors(err) {
		keys[e.Key] = true
	}
	for _, k := range []string{"outgoing_pools.rdbms.default.connection.driver", "cluster.node_timeout", "modules.mod_last.backend"} {
		if !keys[k] {
			t.Errorf("no error at %s in %v", k, err)
		}
	}
}
