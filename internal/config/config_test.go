package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// base is a minimal valid document; error cases append to it, so their
// line numbers start at 4.
const base = `[general]
hosts = ["localhost"]
default_server_domain = "localhost"
`

func TestParseReferenceExample(t *testing.T) {
	// spec/server.md §5.7, verbatim.
	c, err := Load(filepath.Join("testdata", "server_md_5_7.toml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Hosts(); !slices.Equal(got, []string{"localhost", "localhost.bis"}) {
		t.Errorf("Hosts() = %v", got)
	}
	if len(c.Listen.C2S) != 1 || c.Listen.C2S[0].Port != 5222 || c.Listen.C2S[0].MaxStanzaSize != 65536 {
		t.Errorf("c2s = %+v", c.Listen.C2S)
	}
	if len(c.Listen.HTTP) != 4 {
		t.Fatalf("http listeners = %d, want 4", len(c.Listen.HTTP))
	}
	admin := c.Listen.HTTP[0]
	if admin.IPAddress != "127.0.0.1" || admin.Transport.NumAcceptors != 10 {
		t.Errorf("admin listener = %+v", admin)
	}
	if g := admin.Handlers.GraphQL[0]; g.SchemaEndpoint != "admin" || g.Username != "admin" ||
		g.Password != "secret" || g.SSEIdleTimeout != 3600000 {
		t.Errorf("admin handler = %+v", g)
	}
	if got := c.Listen.HTTP[3].Handlers.Prometheus; len(got) != 1 || got[0].Path != "/metrics" {
		t.Errorf("prometheus handler = %+v", got)
	}
	conn, ok := c.RDBMS()
	if !ok || conn.Driver != "pgsql" || conn.Port != 5432 || conn.Database != "mongooseim" {
		t.Errorf("RDBMS() = %+v, %v", conn, ok)
	}
	if p := c.OutgoingPools.RDBMS["default"]; p.Workers != 5 || p.Strategy != "best_worker" || p.CallTimeout != 60000 {
		t.Errorf("pool = %+v", p)
	}
	if !slices.Equal(c.Auth.Methods, []string{"rdbms"}) || c.Auth.RDBMS == nil {
		t.Errorf("auth = %+v", c.Auth)
	}
	m := c.Modules
	if m.Last == nil || m.Last.Backend != "rdbms" || m.Last.IQDisc.Type != "one_queue" {
		t.Errorf("mod_last = %+v", m.Last)
	}
	if m.Broadcast == nil || m.Broadcast.LeaseTime != 600 || m.Broadcast.Backend != "rdbms" {
		t.Errorf("mod_broadcast = %+v", m.Broadcast)
	}
	want := []string{"mod_disco", "mod_presence", "mod_roster", "mod_last", "mod_broadcast"}
	if got := m.Enabled(); !slices.Equal(got, want) {
		t.Errorf("Enabled() = %v, want %v", got, want)
	}
	if c.Shaper["normal"].MaxRate != 16384 {
		t.Errorf("shaper = %+v", c.Shaper)
	}
	if c.Instrumentation.Prometheus == nil || c.Instrumentation.ProbeInterval != 15 {
		t.Errorf("instrumentation = %+v", c.Instrumentation)
	}
	if r := c.AccessRules["c2s"]; len(r) != 1 || r[0].Value != "allow" || r[0].ACL != "all" {
		t.Errorf("access = %+v", c.AccessRules)
	}
	if p := c.ACLClasses["local"]; len(p) != 1 || p[0].Match != "current_domain" {
		t.Errorf("acl = %+v", c.ACLClasses)
	}
}

func TestDefault(t *testing.T) {
	c, err := Parse([]byte(DefaultTOML), "<built-in>")
	if err != nil {
		t.Fatalf("DefaultTOML does not parse: %v", err)
	}
	d := Default()
	if d.General.DefaultServerDomain != "localhost" || d.General.LogLevel != "info" ||
		d.General.NodeName != DefaultNodeName() || d.General.DataDir != "" {
		t.Errorf("general = %+v", d.General)
	}
	if len(d.Listen.C2S) != 1 {
		t.Fatalf("c2s = %+v", d.Listen.C2S)
	}
	c2s := d.Listen.C2S[0]
	if c2s.IPAddress != "127.0.0.1" || c2s.Port != 5222 || c2s.TLS == nil || c2s.TLS.Mode != "starttls" ||
		c2s.TLS.CertFile != "" || c2s.MaxStanzaSize != 65536 || !c2s.BackwardsCompatibleSession {
		t.Errorf("c2s = %+v, tls %+v", c2s, c2s.TLS)
	}
	h := d.Listen.HTTP[0]
	if h.Port != 5551 || h.Handlers.GraphQL[0].SchemaEndpoint != "admin" || h.Handlers.GraphQL[0].Username != "" ||
		h.Handlers.Prometheus[0].Path != "/metrics" {
		t.Errorf("http = %+v", h)
	}
	if _, ok := d.RDBMS(); ok {
		t.Error("default config has an RDBMS pool; want embedded SQLite")
	}
	if !slices.Equal(d.Auth.SASLMechanisms, ImplementedSASLMechanisms()) || d.Auth.Password.ScramIterations != 10000 {
		t.Errorf("auth = %+v", d.Auth)
	}
	// The default shows the product: every module that needs no setup.
	want := []string{"mod_disco", "mod_presence", "mod_roster", "mod_offline", "mod_ping", "mod_version", "mod_carboncopy",
		"mod_last", "mod_broadcast", "mod_muc_light", "mod_muc", "mod_inbox"}
	if got := d.Modules.Enabled(); !slices.Equal(got, want) {
		t.Errorf("modules = %v, want %v", got, want)
	}
	m := d.Modules
	if m.Roster.Backend != "rdbms" || m.Offline.MaxMessages != 1000 || m.Last.Backend != "rdbms" || m.MucLight.Backend != "rdbms" ||
		m.Inbox.Backend != "rdbms" || !m.Inbox.HasGroupchat("muc") || !m.Inbox.HasGroupchat("muclight") || m.Broadcast.LeaseTime != 600 {
		t.Errorf("module options: roster %+v offline %+v last %+v muclight %+v inbox %+v", m.Roster, m.Offline, m.Last, m.MucLight, m.Inbox)
	}
	if len(d.Warnings) != 0 {
		t.Errorf("the built-in configuration has warnings: %v", d.Warnings)
	}
	_ = c
}

func TestDefaultsApplied(t *testing.T) {
	c, err := Parse([]byte(base+`
[[listen.c2s]]
  port = 5223
  max_stanza_size = "infinity"
  backwards_compatible_session = true
  tls.certfile = "cert.pem"
  tls.keyfile = "key.pem"
[modules.mod_last]
[modules.mod_ping]
[modules.mod_disco]
[modules.mod_offline]
  max_messages = "infinity"
`), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	l := c.Listen.C2S[0]
	if !l.MaxStanzaSize.IsUnlimited() || !l.BackwardsCompatibleSession || l.IPAddress != "0.0.0.0" ||
		l.StateTimeout != 5000 || l.TLS.Mode != "starttls" || l.TLS.VerifyMode != "peer" {
		t.Errorf("c2s = %+v tls %+v", l, l.TLS)
	}
	m := c.Modules
	if m.Last.Backend != "mnesia" || m.Last.IQDisc.Type != "one_queue" {
		t.Errorf("mod_last = %+v", m.Last)
	}
	if m.Ping.PingInterval != 60 || m.Ping.PingReqTimeout != 32 || m.Ping.TimeoutAction != "none" || m.Ping.IQDisc.Type != "no_queue" {
		t.Errorf("mod_ping = %+v", m.Ping)
	}
	if !m.Disco.UsersCanSeeHiddenServices {
		t.Error("mod_disco users_can_see_hidden_services default is true")
	}
	if !m.Offline.MaxMessages.IsUnlimited() || m.Offline.Backend != "rdbms" {
		t.Errorf("mod_offline = %+v", m.Offline)
	}
	if c.General.RegistrationTimeout != 600 || c.General.SMBackend != "mnesia" || c.Instrumentation.ProbeInterval != 15 {
		t.Errorf("general = %+v", c.General)
	}
	if !slices.Equal(c.Auth.Methods, []string{"rdbms"}) || c.Auth.RDBMS == nil {
		t.Errorf("auth methods = %v, want [rdbms] (Gander's one method) when none is configured", c.Auth.Methods)
	}
}

func TestIQDiscForms(t *testing.T) {
	for _, doc := range []string{
		"[modules.mod_last]\n  iqdisc.type = \"queues\"\n  iqdisc.workers = 10\n",
		"[modules.mod_last.iqdisc]\n  type = \"queues\"\n  workers = 10\n",
	} {
		c, err := Parse([]byte(base+doc), "t.toml")
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if q := c.Modules.Last.IQDisc; q.Type != "queues" || q.Workers != 10 {
			t.Errorf("%q: iqdisc = %+v", doc, q)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		doc       string
		line, col int
		key       string
		msg       string // substring of Msg
		unknown   bool
	}{
		{"unknown top-level key", base + "\n[listeners]\nport = 1\n", 5, 2, "listeners", "unknown key", true},
		{"unknown key in c2s", base + "[[listen.c2s]]\n  port = 5222\n  prot = \"tcp\"\n", 6, 3, "listen.c2s[0].prot",
			`unknown key (did you mean "proto"?)`, true},
		{"unknown key in second c2s", base + "[[listen.c2s]]\nport = 5222\n[[listen.c2s]]\nport = 5223\nbacklog_x = 1\n", 8, 1,
			"listen.c2s[1].backlog_x", "unknown key", true},
		{"unknown key in inline table", base + "[[listen.c2s]]\nport = 5222\ntls = {certfle = \"x\"}\n", 6, 8,
			"listen.c2s[0].tls.certfle", "unknown key", true},
		{"wrong type", base + "[[listen.c2s]]\n  port = \"5222\"\n", 5, 10, "listen.c2s[0].port",
			"expected an integer, got a string", false},
		{"wrong type in general", base + "loglevel = 3\n", 4, 12, "general.loglevel",
			"expected a string, got an integer", false},
		{"bad enum", base + "\n[modules.mod_last]\n  backend = \"redis\"\n", 6, 3, "modules.mod_last.backend",
			`must be one of "mnesia", "rdbms", got "redis"`, false},
		{"bad limit", base + "[[listen.c2s]]\nport = 5222\nmax_stanza_size = \"lots\"\n", 6, 1, "listen.c2s[0].max_stanza_size",
			`must be a non-negative integer or "infinity", got "lots"`, false},
		{"port out of range", base + "[[listen.http]]\nport = 70000\n", 5, 1, "listen.http[0].port", "between 1 and 65535", false},
		{"missing port", base + "[[listen.c2s]]\nip_address = \"::1\"\n", 4, 10, "listen.c2s[0].port", "is required", false},
		{"duplicate address", base + "[[listen.c2s]]\nport = 5222\n[[listen.c2s]]\nport = 5222\n", 7, 1, "listen.c2s[1].port",
			"already used by listen.c2s[0]", false},
		{"iqdisc queues without workers", base + "[modules.mod_last]\n  iqdisc.type = \"queues\"\n", 5, 3,
			"modules.mod_last.iqdisc.workers", `is required when iqdisc.type is "queues"`, false},
		{"iqdisc workers without queues", base + "[modules.mod_roster.iqdisc]\n  type = \"parallel\"\n  workers = 2\n", 6, 3,
			"modules.mod_roster.iqdisc.workers", "only allowed", false},
		{"graphql username without password", base + "[[listen.http]]\nport = 5551\n[[listen.http.handlers.mongoose_graphql_handler]]\n" +
			"host = \"_\"\npath = \"/api/graphql\"\nschema_endpoint = \"admin\"\nusername = \"admin\"\n", 10, 1,
			"listen.http[0].handlers.mongoose_graphql_handler[0].username", "requires password", false},
		{"graphql credentials on user endpoint", base + "[[listen.http]]\nport = 5561\n[[listen.http.handlers.mongoose_graphql_handler]]\n" +
			"host = \"_\"\npath = \"/api/graphql\"\nschema_endpoint = \"user\"\nusername = \"a\"\npassword = \"b\"\n", 10, 1,
			"listen.http[0].handlers.mongoose_graphql_handler[0].username", "only allowed", false},
		{"graphql missing schema_endpoint", base + "[[listen.http]]\nport = 5561\n[[listen.http.handlers.mongoose_graphql_handler]]\n" +
			"  host = \"_\"\n  path = \"/api/graphql\"\n", 6, 24,
			"listen.http[0].handlers.mongoose_graphql_handler[0].schema_endpoint", "is required", false},
		{"graphql bad category", base + "[[listen.http]]\nport = 5561\n[[listen.http.handlers.mongoose_graphql_handler]]\n" +
			"host = \"_\"\npath = \"/api/graphql\"\nschema_endpoint = \"user\"\nallowed_categories = [\"roster\", \"mam\"]\n", 10, 33,
			"listen.http[0].handlers.mongoose_graphql_handler[0].allowed_categories[1]", `got "mam"`, false},
		{"admin without credentials on every interface", base + "[[listen.http]]\nport = 5551\n[[listen.http.handlers.mongoose_graphql_handler]]\n" +
			"host = \"_\"\npath = \"/api/graphql\"\nschema_endpoint = \"admin\"\n", 6, 24,
			"listen.http[0].handlers.mongoose_graphql_handler[0]", `without username and password on ip_address "0.0.0.0"`, false},
		{"admin without credentials on a public address", base + "[[listen.http]]\nip_address = \"192.0.2.7\"\nport = 5551\n" +
			"[[listen.http.handlers.mongoose_graphql_handler]]\nhost = \"_\"\npath = \"/api/graphql\"\nschema_endpoint = \"admin\"\n", 7, 24,
			"listen.http[0].handlers.mongoose_graphql_handler[0]", "allow_remote_without_credentials = true", false},
		{"graphql allowed_hosts with a port", base + "[[listen.http]]\nip_address = \"127.0.0.1\"\nport = 5551\n" +
			"[[listen.http.handlers.mongoose_graphql_handler]]\nhost = \"_\"\npath = \"/api/graphql\"\nschema_endpoint = \"admin\"\n" +
			"allowed_hosts = [\"admin.example.net:5551\"]\n", 11, 18,
			"listen.http[0].handlers.mongoose_graphql_handler[0].allowed_hosts[0]", "without port", false},
		{"graphql max_depth zero", base + "[[listen.http]]\nip_address = \"127.0.0.1\"\nport = 5551\n" +
			"[[listen.http.handlers.mongoose_graphql_handler]]\nhost = \"_\"\npath = \"/api/graphql\"\nschema_endpoint = \"admin\"\n" +
			"max_depth = 0\n", 11, 1, "listen.http[0].handlers.mongoose_graphql_handler[0].max_depth", "positive integer", false},
		{"missing default_server_domain", "[general]\n  hosts = [\"localhost\"]\n", 1, 2, "general.default_server_domain", "is required", false},
		{"default_server_domain not in hosts", "[general]\nhosts = [\"a\"]\ndefault_server_domain = \"b\"\n", 3, 1,
			"general.default_server_domain", "must be one of general.hosts", false},
		{"no general section", "[modules.mod_ping]\n", 0, 0, "general.hosts", "at least one of hosts and host_types", false},
		{"MongooseIM module", base + "[modules.mod_vcard]\n  backend = \"rdbms\"\n", 4, 10, "modules.mod_vcard",
			"Gander does not implement the module mod_vcard yet", false},
		{"MongooseIM module dotted", base + "[modules]\nmod_vcard.backend = \"rdbms\"\n", 5, 1, "modules.mod_vcard",
			"Gander does not implement the module mod_vcard yet", false},
		{"module typo", base + "[modules.mod_mcu_light]\n", 4, 10, "modules.mod_mcu_light",
			`unknown module (did you mean "mod_muc_light"?)`, true},
		{"unknown module", base + "[modules.mod_frobnicate]\n", 4, 10, "modules.mod_frobnicate", "unknown module", true},
		{"MongooseIM http handler", base + "[[listen.http]]\nport = 8088\n[[listen.http.handlers.mongoose_client_api]]\nhost = \"_\"\n", 6, 24,
			"listen.http[0].handlers.mongoose_client_api", "Gander does not implement the HTTP handler mongoose_client_api yet", false},
		{"http handler typo", base + "[[listen.http]]\nport = 8088\n[[listen.http.handlers.mongoose_graphql_handlr]]\nhost = \"_\"\n", 6, 24,
			"listen.http[0].handlers.mongoose_graphql_handlr", `unknown HTTP handler type (did you mean "mongoose_graphql_handler"?)`, true},
		{"unsupported driver", base + "[outgoing_pools.rdbms.default.connection]\ndriver = \"mysql\"\ndatabase = \"x\"\n", 5, 1,
			"outgoing_pools.rdbms.default.connection.driver", "not supported by Gander yet", false},
		{"pgsql missing username", base + "[outgoing_pools.rdbms.default.connection]\ndriver = \"pgsql\"\ndatabase = \"x\"\npassword = \"p\"\n", 4, 31,
			"outgoing_pools.rdbms.default.connection.username", "is required", false},
		{"bad sasl mechanism", base + "[auth]\nsasl_mechanisms = [\"plain\", \"digest\"]\n", 5, 29, "auth.sasl_mechanisms[1]",
			`got "digest"`, false},
		{"unsupported auth method", base + "[auth]\nmethods = [\"ldap\"]\n", 5, 12, "auth.methods[0]",
			`Gander does not implement the ldap auth method yet; Gander implements "rdbms"`, false},
		{"unknown auth method", base + "[auth]\nmethods = [\"kerberos\"]\n", 5, 12, "auth.methods[0]", `got "kerberos"`, false},
		{"host_config unknown host", base + "[[host_config]]\nhost = \"other\"\n[host_config.modules.mod_last]\nbackend = \"x\"\n", 5, 1,
			"host_config[0].host", "must be one of general.hosts", false},
		{"host_config module option", base + "[[host_config]]\nhost = \"localhost\"\n[host_config.modules.mod_last]\nbackend = \"x\"\n", 7, 1,
			"host_config[0].modules.mod_last.backend", "must be one of", false},
		{"quoted shaper name", base + "[shaper.\"a.b\"]\nmax_rate = 0\n", 5, 1, `shaper."a.b".max_rate`, "positive", false},
		{"syntax error", base + "[general\n", 4, 9, "", "expected ']'", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), "gander.toml")
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			errs := AsErrors(err)
			if len(errs) == 0 {
				t.Fatalf("error %v (%T) contains no *Error", err, err)
			}
			var e *Error
			for _, x := range errs {
				if x.Key == tt.key {
					e = x
				}
			}
			if e == nil {
				t.Fatalf("no error for key %q; got:\n%v", tt.key, err)
			}
			if e.File != "gander.toml" || e.Line != tt.line || e.Col != tt.col {
				t.Errorf("position = %s:%d:%d, want gander.toml:%d:%d (%v)", e.File, e.Line, e.Col, tt.line, tt.col, e)
			}
			if !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("Msg = %q, want it to contain %q", e.Msg, tt.msg)
			}
			if errors.Is(e, ErrUnknownKey) != tt.unknown {
				t.Errorf("errors.Is(ErrUnknownKey) = %v, want %v", !tt.unknown, tt.unknown)
			}
		})
	}
}

// TestRemoteAdminOptIn: an admin endpoint without credentials loads on a
// loopback address, or elsewhere with the explicit opt-in; the limit and
// host keys reach the handler.
func TestRemoteAdminOptIn(t *testing.T) {
	handler := func(ip, extra string) string {
		return base + "[[listen.http]]\nip_address = \"" + ip + "\"\nport = 5551\n[[listen.http.handlers.mongoose_graphql_handler]]\n" +
			"host = \"_\"\npath = \"/api/graphql\"\nschema_endpoint = \"admin\"\n" + extra
	}
	for _, doc := range []string{handler("127.0.0.1", ""), handler("::1", ""), handler("127.0.0.2", ""),
		handler("0.0.0.0", "allow_remote_without_credentials = true\n"),
		handler("0.0.0.0", "username = \"admin\"\npassword = \"secret\"\n")} {
		if _, err := Parse([]byte(doc), "gander.toml"); err != nil {
			t.Errorf("Parse(%q): %v", doc, err)
		}
	}
	c, err := Parse([]byte(handler("127.0.0.1", "max_depth = 7\nmax_tokens = 100\nallowed_hosts = [\"admin.example.net\", \"::1\"]\n")), "gander.toml")
	if err != nil {
		t.Fatal(err)
	}
	g := c.Listen.HTTP[0].Handlers.GraphQL[0]
	if g.MaxDepth != 7 || g.MaxTokens != 100 || g.MaxFields != 0 || !slices.Equal(g.AllowedHosts, []string{"admin.example.net", "::1"}) {
		t.Errorf("handler = %+v", g)
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse([]byte(base+"[[listen.c2s]]\nprot = 1\nport = 5222\n[modules.mod_last]\n  backend = \"redis\"\n"), "gander.toml")
	want := "gander.toml:5:1: unknown key listen.c2s[0].prot (did you mean \"proto\"?)\n" +
		"gander.toml:8:3: modules.mod_last.backend: must be one of \"mnesia\", \"rdbms\", got \"redis\""
	if err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
	e := &Error{File: "f.toml", Key: "general.hosts", Msg: "is required"}
	if got := e.Error(); got != "f.toml: general.hosts: is required" {
		t.Errorf("no-position error = %q", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want os.ErrNotExist", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(DefaultTOML))
	if data, err := os.ReadFile(filepath.Join("testdata", "server_md_5_7.toml")); err == nil {
		f.Add(data)
	}
	f.Add([]byte(base + "[[listen.c2s]]\nport = 5222\ntls = {mode = \"tls\", versions = [\"tlsv1.3\"]}\n"))
	f.Add([]byte(base + "[modules.mod_last.iqdisc]\ntype = \"queues\"\n[[host_config]]\nhost_type = \"x\"\n"))
	f.Add([]byte("[a.\"b.c\"]\nd = [[1], {e = 2}]\n[[x.y]]\n[[x.y.z]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.toml")
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", c != nil, err)
		}
		if err != nil {
			if len(AsErrors(err)) == 0 {
				t.Fatalf("error without *Error: %v", err)
			}
			_ = err.Error()
		}
	})
}

func TestDocsExample(t *testing.T) {
	// Keep docs/configuration.md honest: its example must load.
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Skipf("docs not found: %v", err)
	}
	blocks := strings.Split(string(doc), "```toml\n")
	example, _, _ := strings.Cut(blocks[len(blocks)-1], "```")
	c, err := Parse([]byte(example), "configuration.md")
	if err != nil {
		t.Fatalf("docs example: %v", err)
	}
	if conn, ok := c.RDBMS(); !ok || conn.Host != "localhost" || conn.Port != 5432 {
		t.Errorf("RDBMS() = %+v, %v", conn, ok)
	}
}

func TestSQLiteDriver(t *testing.T) {
	c, err := Parse([]byte(base+"[outgoing_pools.rdbms.default.connection]\ndriver = \"sqlite\"\ndatabase = \"/tmp/g.db\"\n"), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	if conn, ok := c.RDBMS(); !ok || conn.Driver != "sqlite" || conn.Database != "/tmp/g.db" || conn.Port != 0 {
		t.Errorf("RDBMS() = %+v, %v", conn, ok)
	}
}

func TestLoadResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "gander.toml")
	doc := base + "data_dir = \"data\"\n[[listen.c2s]]\nport = 5222\ntls.certfile = \"certs/c.pem\"\ntls.keyfile = \"/abs/k.pem\"\n" +
		"[outgoing_pools.rdbms.default.connection]\ndriver = \"sqlite\"\ndatabase = \"db/g.db\"\n"
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	conn, _ := c.RDBMS()
	if c.General.DataDir != filepath.Join(dir, "data") || c.Listen.C2S[0].TLS.CertFile != filepath.Join(dir, "certs/c.pem") ||
		c.Listen.C2S[0].TLS.KeyFile != "/abs/k.pem" || conn.Database != filepath.Join(dir, "db/g.db") {
		t.Errorf("paths not resolved against %s: data_dir %q cert %q key %q db %q", dir, c.General.DataDir,
			c.Listen.C2S[0].TLS.CertFile, c.Listen.C2S[0].TLS.KeyFile, conn.Database)
	}
}

func TestWithoutModules(t *testing.T) {
	doc := WithoutModules(DefaultTOML, "mod_muc", "mod_muc_light") + "\n[modules.mod_muc]\n  history_size = 5\n"
	c, err := Parse([]byte(doc), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Modules.MucLight != nil || c.Modules.Muc == nil || c.Modules.Muc.HistorySize != 5 || c.Modules.Inbox == nil {
		t.Errorf("muc_light %v, muc %+v, inbox %v", c.Modules.MucLight, c.Modules.Muc, c.Modules.Inbox)
	}
}
