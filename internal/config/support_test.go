package config

import (
	"errors"
	"strings"
	"testing"
)

// TestSupportRulesNameRealKeys keeps the lists of support.go in step with
// the schema: a rule must name a key Gander's schema has (notImplemented,
// ignored) or one it does not have (notInSchema). When a key is
// implemented and its field removed or renamed, this fails.
func TestSupportRulesNameRealKeys(t *testing.T) {
	resolve := func(pattern string) bool {
		plain := strings.ReplaceAll(pattern, "*", "c2s")
		if typeAt(plain) != nil {
			return true
		}
		return typeAt(strings.ReplaceAll(pattern, "*", "default")) != nil ||
			typeAt(strings.ReplaceAll(pattern, "*", "http")) != nil
	}
	for _, list := range [][]supportRule{notImplementedRules(), ignoredRules()} {
		for _, r := range list {
			if !resolve(r.pattern) {
				t.Errorf("rule %q names no key of the schema", r.pattern)
			}
		}
	}
	for _, r := range notInSchemaRules() {
		if typeAt(r.pattern) != nil {
			t.Errorf("notInSchema rule %q names a key the schema has", r.pattern)
		}
	}
}

func TestSupportRules(t *testing.T) {
	tests := []struct {
		name      string
		doc       string
		key       string
		line, col int
		msg       string
		warning   bool
	}{
		{"not implemented key", "[[listen.c2s]]\nport = 5222\nproxy_protocol = true\n", "listen.c2s[0].proxy_protocol", 6, 1,
			"Gander does not implement the PROXY protocol yet", false},
		{"whole section", "[[listen.s2s]]\nport = 5269\nshaper = \"fast\"\n", "listen.s2s", 4, 10,
			"Gander does not implement server-to-server connections yet", false},
		{"whole table", "[s2s]\ndefault_policy = \"deny\"\n", "s2s", 4, 2,
			"Gander does not implement server-to-server connections yet", false},
		{"websocket handler", "[[listen.http]]\nport = 5280\n[[listen.http.handlers.mongoose_websocket_handler]]\nhost = \"_\"\npath = \"/ws\"\n",
			"listen.http[0].handlers.mongoose_websocket_handler", 6, 24, "Gander does not implement XMPP over WebSocket yet", false},
		{"register module", "[modules.mod_register]\n", "modules.mod_register", 4, 10,
			"Gander does not implement in-band registration (mod_register) yet", false},
		{"dynamic domains", "host_types = [\"t\"]\n", "general.host_types", 4, 1, "Gander does not implement dynamic domains", false},
		{"plain passwords", "[auth]\npassword.format = \"plain\"\n", "auth.password.format", 5, 10,
			"Gander does not implement storing passwords in plain text yet", false},
		{"unimplemented sasl", "[auth]\nsasl_mechanisms = [\"scram_sha512\", \"plain\"]\n", "auth.sasl_mechanisms[0]", 5, 20,
			"Gander does not implement the SASL mechanism scram_sha512 yet", false},
		{"second pool", "[outgoing_pools.rdbms.other.connection]\ndriver = \"sqlite\"\ndatabase = \"x.db\"\n",
			"outgoing_pools.rdbms.other", 4, 23, "pools other than the one tagged default", false},
		{"redis pool", "[outgoing_pools.redis.global_distrib]\nworkers = 10\n", "outgoing_pools.redis", 4, 17,
			"Gander does not implement Redis pools yet", false},
		{"ldap auth", "[auth.ldap]\nbase = \"x\"\n", "auth.ldap", 4, 7, "Gander does not implement the ldap auth method yet", false},
		{"service listener", "[[listen.service]]\nport = 8888\n", "listen.service", 4, 10,
			"Gander does not implement external components (XEP-0114) yet", false},
		{"ignored num_acceptors", "[[listen.c2s]]\nport = 5222\nnum_acceptors = 10\n", "listen.c2s[0].num_acceptors", 6, 1,
			"accepted and ignored: Go accepts connections", true},
		{"ignored max_fsm_queue", "max_fsm_queue = 1000\n", "general.max_fsm_queue", 4, 1, "accepted and ignored", true},
		{"ignored mnesia", "[internal_databases.mnesia]\n", "internal_databases.mnesia", 4, 21, "Gander does not use Mnesia", true},
		{"ignored roster mnesia", "[modules.mod_roster]\nbackend = \"mnesia\"\n", "modules.mod_roster.backend", 5, 1,
			"Gander stores rosters in the database", true},
		{"ignored pool scope", "[outgoing_pools.rdbms.default]\nscope = \"host_type\"\n[outgoing_pools.rdbms.default.connection]\ndriver = \"sqlite\"\ndatabase = \"x.db\"\n",
			"outgoing_pools.rdbms.default.scope", 5, 1, "one pool, used by every host type", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(base+tt.doc), "gander.toml")
			var list []*Error
			if tt.warning {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				list = c.Warnings
			} else {
				if err == nil {
					t.Fatal("Parse succeeded, want an error")
				}
				list = AsErrors(err)
			}
			var e *Error
			for _, x := range list {
				if x.Key == tt.key {
					e = x
				}
			}
			if e == nil {
				t.Fatalf("nothing reported for %q; got %v (err %v)", tt.key, list, err)
			}
			if e.Line != tt.line || e.Col != tt.col || !strings.Contains(e.Msg, tt.msg) || e.Warning != tt.warning {
				t.Errorf("got %v (warning %v), want %d:%d %q", e, e.Warning, tt.line, tt.col, tt.msg)
			}
			if !tt.warning && strings.HasPrefix(tt.msg, "Gander does not implement") && !errors.Is(e, ErrNotImplemented) {
				t.Errorf("%v does not wrap ErrNotImplemented", e)
			}
			if tt.warning && !strings.Contains(e.Error(), ": warning: ") {
				t.Errorf("warning text %q lacks \"warning:\"", e.Error())
			}
		})
	}
}

// Values that mean what Gander does anyway are accepted.
func TestSupportOKValues(t *testing.T) {
	doc := base + "hide_service_name = false\nlanguage = \"en\"\n[[listen.c2s]]\nport = 5222\nproxy_protocol = false\n" +
		"backwards_compatible_session = true\ntls.verify_mode = \"none\"\n[auth]\npassword.format = \"scram\"\n" +
		"[modules.mod_ping]\nsend_pings = false\n"
	c, err := Parse([]byte(doc), "gander.toml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}
}

func TestTableKinds(t *testing.T) {
	for _, tt := range []struct {
		doc, key string
		line     int
		msg      string
	}{
		{"[listen.c2s]\nport = 5222\n", "listen.c2s", 4, "is an array of tables: write [[listen.c2s]]"},
		{"[[listen.http]]\nport = 1\n[listen.http.handlers.mongoose_graphql_handler]\nhost = \"_\"\n",
			"listen.http[0].handlers.mongoose_graphql_handler", 6, "write [[listen.http.handlers.mongoose_graphql_handler]]"},
		{"[[modules.mod_roster]]\n", "modules.mod_roster", 4, "is a single table: write [modules.mod_roster], not [[modules.mod_roster]]"},
		{"[[shaper.normal]]\nmax_rate = 1\n", "shaper.normal", 4, "is a single table"},
	} {
		_, err := Parse([]byte(base+tt.doc), "gander.toml")
		errs := AsErrors(err)
		if len(errs) != 1 || errs[0].Key != tt.key || !strings.Contains(errs[0].Msg, tt.msg) || errs[0].Line != tt.line {
			t.Errorf("%q: got %v, want one error at line %d for %s: %s", tt.doc, err, tt.line, tt.key, tt.msg)
		}
	}
}

func TestBroadcastNeedsRDBMSAuth(t *testing.T) {
	_, err := Parse([]byte(base+"[auth]\nmethods = [\"internal\"]\n[modules.mod_broadcast]\n"), "gander.toml")
	errs := AsErrors(err)
	if len(errs) != 2 || errs[1].Key != "modules.mod_broadcast" || !strings.Contains(errs[1].Msg, "mod_broadcast_requires_rdbms_auth") || errs[1].Line != 6 {
		t.Errorf("got %v", err)
	}
	_, err = Parse([]byte(base+"[modules.mod_broadcast]\nlease_time = 5\n"), "gander.toml")
	if errs := AsErrors(err); len(errs) == 0 || !strings.Contains(errs[0].Msg, "mod_broadcast_invalid_lease_time") {
		t.Errorf("lease_time 5: %v", err)
	}
}

func TestPrometheusNeedsInstrumentation(t *testing.T) {
	_, err := Parse([]byte(base+"[[listen.http]]\nport = 9091\n[[listen.http.handlers.mongoose_prometheus_handler]]\nhost = \"_\"\npath = \"/metrics\"\n"), "gander.toml")
	errs := AsErrors(err)
	if len(errs) != 1 || !strings.Contains(errs[0].Msg, "requires [instrumentation.prometheus]") {
		t.Errorf("got %v", err)
	}
}
