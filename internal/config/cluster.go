package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// ClusterSection is the [cluster] section (Gander): the NATS transport
// between the nodes of a cluster (docs/cluster.md).
type ClusterSection struct {
	// Listen is the route listener of this node's embedded NATS server,
	// "host:port" (default "127.0.0.1:6222").
	Listen string `toml:"listen"`
	// Advertise is the address other nodes use to reach Listen (default:
	// Listen, or the host part of general.node_name with Listen's port when
	// Listen's host is unspecified).
	Advertise string `toml:"advertise"`
	// NATSURL, when set, names an external NATS deployment (comma-separated
	// nats:// or tls:// URLs); no embedded server runs then.
	NATSURL string `toml:"nats_url"`
	// NodeTimeout is how long, in seconds, a silent node stays available
	// before it is declared down (default 5, at least 2).
	NodeTimeout int `toml:"node_timeout"`
	// Secret authenticates route connections between embedded servers.
	Secret string `toml:"secret"`
}

// Clustered reports whether clustering is on: the configuration has
// [internal_databases.cets] or [cluster] (docs/cluster.md). After Parse
// both sections are then present, with their defaults filled in.
func (c *Config) Clustered() bool {
	return c.Cluster != nil || c.InternalDatabases.CETS != nil
}

// NATSURLs splits cluster.nats_url into its URLs; nil without one.
func (s *ClusterSection) NATSURLs() []string {
	if s == nil || strings.TrimSpace(s.NATSURL) == "" {
		return nil
	}
	var out []string
	for _, u := range strings.Split(s.NATSURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// checkCluster validates [internal_databases.cets] and [cluster] and the
// rest of the configuration that clustering constrains (docs/cluster.md,
// "Configuration"). With neither section nothing is checked or filled in.
func (cfg *Config) checkCluster(c *checker) {
	if !cfg.Clustered() {
		return
	}
	if cfg.InternalDatabases.CETS == nil {
		cfg.InternalDatabases.CETS = &CETS{}
	}
	if cfg.Cluster == nil {
		cfg.Cluster = &ClusterSection{}
	}
	cfg.InternalDatabases.CETS.check(c)
	cfg.Cluster.check(c, cfg.General.NodeName)
	cfg.checkClusterStores(c)
	name := cfg.General.NodeName
	if len(name) == 0 || len(name) > 250 || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		c.errorf("general.node_name", "must be 1 to 250 characters without whitespace when clustering is on, got %q", name)
	}
}

func (s *CETS) check(c *checker) {
	const k = "internal_databases.cets"
	c.oneOf(k+".backend", &s.Backend, "rdbms", "rdbms", "file")
	if s.ClusterName == "" && !c.ix.has(k+".cluster_name") {
		s.ClusterName = "mongooseim"
	}
	if !validClusterName(s.ClusterName) {
		c.errorf(k+".cluster_name", "must be 1 to 64 characters from A-Z a-z 0-9 _ -, got %q", s.ClusterName)
	}
	switch {
	case s.Backend == "file" && s.NodeListFile == "":
		c.errorf(k+".node_list_file", `is required with backend = "file"`)
	case s.Backend == "rdbms" && c.ix.has(k+".node_list_file"):
		c.errorf(k+".node_list_file", `is not allowed with backend = "rdbms"`)
	}
}

func validClusterName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (s *ClusterSection) check(c *checker, nodeName string) {
	const k = "cluster"
	if c.ix.has(k + ".node_timeout") {
		c.intDefault(k+".node_timeout", &s.NodeTimeout, 5, 2)
	} else {
		s.NodeTimeout = 5
	}
	if c.ix.has(k + ".nats_url") {
		const msg = "not allowed with cluster.nats_url: no embedded NATS server runs"
		for _, key := range []string{"listen", "advertise", "secret"} {
			if c.ix.has(k + "." + key) {
				c.errorf(k+"."+key, msg)
			}
		}
		urls := s.NATSURLs()
		if len(urls) == 0 {
			c.errorf(k+".nats_url", "must name at least one nats:// or tls:// URL")
		}
		for _, raw := range urls {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
				c.errorf(k+".nats_url", "%q is not a nats:// or tls:// URL", redactURL(raw))
			}
		}
		return
	}
	if s.Listen == "" && !c.ix.has(k+".listen") {
		s.Listen = "127.0.0.1:6222"
	}
	host, port, ok := splitHostPort(s.Listen)
	if !ok {
		c.errorf(k+".listen", `must be "host:port" with a port from 1 to 65535, got %q`, s.Listen)
		return
	}
	if s.Advertise == "" && !c.ix.has(k+".advertise") {
		s.Advertise = s.Listen
		if unspecifiedHost(host) {
			h := nodeName
			if i := strings.LastIndexByte(h, '@'); i >= 0 {
				h = h[i+1:]
			}
			s.Advertise = net.JoinHostPort(h, port)
		}
	} else if _, _, ok := splitHostPort(s.Advertise); !ok {
		c.errorf(k+".advertise", `must be "host:port" with a port from 1 to 65535, got %q`, s.Advertise)
	}
	if s.Secret == "" && !loopbackHost(host) {
		c.errorf(k+".secret", "required when cluster.listen accepts connections from other hosts")
	}
}

// checkClusterStores refuses the stores that one node keeps to itself:
// SQLite and in-memory backends cannot be shared between cluster nodes.
func (cfg *Config) checkClusterStores(c *checker) {
	const sections = "[cluster] / [internal_databases.cets] need \"pgsql\""
	conn, ok := cfg.RDBMS()
	switch {
	case !ok:
		c.errorf("outgoing_pools.rdbms.default.connection.driver",
			"the embedded SQLite database (no [outgoing_pools.rdbms.default]) cannot be shared between cluster nodes (%s)", sections)
	case conn.Driver == "sqlite":
		c.errorf("outgoing_pools.rdbms.default.connection.driver", "%q cannot be shared between cluster nodes (%s)", conn.Driver, sections)
	}
	if cfg.Auth.Internal != nil {
		c.errorf("auth.internal", `keeps accounts in one node's memory and cannot be used in a cluster (use [auth.rdbms])`)
	}
	if m := cfg.Modules.Last; m != nil && m.Backend == "mnesia" {
		c.errorf("modules.mod_last.backend", `"mnesia" keeps data in one node's memory and cannot be used in a cluster (use "rdbms")`)
	}
	if m := cfg.Modules.MucLight; m != nil && m.Backend == "mnesia" {
		c.errorf("modules.mod_muc_light.backend", `"mnesia" keeps data in one node's memory and cannot be used in a cluster (use "rdbms")`)
	}
}

// splitHostPort splits "host:port" and checks the port is 1..65535.
func splitHostPort(s string) (host, port string, ok bool) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", "", false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", "", false
	}
	return host, port, true
}

func unspecifiedHost(h string) bool {
	if h == "" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsUnspecified()
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// redactURL hides a password in a URL quoted in an error message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil {
		return u.Redacted()
	}
	// Unparsable: drop whatever could be credentials.
	if i := strings.LastIndexByte(raw, '@'); i >= 0 {
		if j := strings.Index(raw, "//"); j >= 0 && j < i {
			return raw[:j+2] + "xxxxx" + raw[i:]
		}
		return "xxxxx" + raw[i:]
	}
	return raw
}
