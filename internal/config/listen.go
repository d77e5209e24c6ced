package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
)

// Listen is the [listen] section.
type Listen struct {
	// C2S are the [[listen.c2s]] XMPP client listeners.
	C2S []C2S `toml:"c2s"`
	// HTTP are the [[listen.http]] listeners.
	HTTP []HTTP `toml:"http"`
	// S2S are [[listen.s2s]] entries, accepted and ignored.
	S2S []map[string]any `toml:"s2s"`
	// Component are [[listen.component]] entries, accepted and ignored.
	Component []map[string]any `toml:"component"`
}

// C2S is one [[listen.c2s]] listener.
type C2S struct {
	// Port is required, 1-65535.
	Port int `toml:"port"`
	// IPAddress defaults to "0.0.0.0".
	IPAddress string `toml:"ip_address"`
	// IPVersion is 4 or 6; defaults to the version of IPAddress.
	IPVersion int `toml:"ip_version"`
	// Proto must be "tcp" (the default).
	Proto string `toml:"proto"`
	// Access names an access rule (default "all"); not evaluated yet.
	Access string `toml:"access"`
	// Shaper names a shaper (default "none").
	Shaper string `toml:"shaper"`
	// MaxStanzaSize is in bytes; Unlimited when written "infinity" or 0.
	// Default 65536 (MongooseIM's default is "infinity").
	MaxStanzaSize Limit `toml:"max_stanza_size"`
	// NumAcceptors defaults to 100; accepted.
	NumAcceptors int `toml:"num_acceptors"`
	// Backlog defaults to 1024.
	Backlog int `toml:"backlog"`
	// MaxConnections caps concurrent connections (default Unlimited).
	MaxConnections Limit `toml:"max_connections"`
	// StateTimeout is in milliseconds (default 5000): the time allowed for
	// the next step of stream negotiation.
	StateTimeout int `toml:"state_timeout"`
	// HibernateAfter is in milliseconds; accepted.
	HibernateAfter int `toml:"hibernate_after"`
	// ProxyProtocol expects a PROXY protocol header on each connection.
	ProxyProtocol bool `toml:"proxy_protocol"`
	// ReusePort sets SO_REUSEPORT.
	ReusePort bool `toml:"reuse_port"`
	// BackwardsCompatibleSession advertises the RFC 3921 session feature
	// (default true).
	BackwardsCompatibleSession bool `toml:"backwards_compatible_session"`
	// AllowedAuthMethods restricts the auth methods usable on this
	// listener (default: all of auth.methods).
	AllowedAuthMethods []string `toml:"allowed_auth_methods"`
	// TLS configures TLS; nil means no TLS.
	TLS *TLS `toml:"tls"`
}

// TLS is a listener's or connection's tls table.
type TLS struct {
	// Mode is "starttls" (default), "starttls_required" or "tls" (direct
	// TLS). Only meaningful on c2s listeners.
	Mode string `toml:"mode"`
	// CertFile is the PEM certificate chain.
	CertFile string `toml:"certfile"`
	// KeyFile is the PEM private key.
	KeyFile string `toml:"keyfile"`
	// CACertFile is the PEM CA bundle used to verify peers.
	CACertFile string `toml:"cacertfile"`
	// VerifyMode is "peer" (default), "selfsigned_peer" or "none".
	VerifyMode string `toml:"verify_mode"`
	// Ciphers is an OpenSSL cipher string; accepted.
	Ciphers string `toml:"ciphers"`
	// Versions lists allowed TLS versions ("tlsv1.2", "tlsv1.3").
	Versions []string `toml:"versions"`
	// DHFile is accepted and ignored.
	DHFile string `toml:"dhfile"`
	// Password decrypts KeyFile; accepted.
	Password string `toml:"password"`
	// DisconnectOnFailure is accepted.
	DisconnectOnFailure bool `toml:"disconnect_on_failure"`
	// CRLFiles are not implemented yet (refused).
	CRLFiles []string `toml:"crlfiles"`
	// Module chooses MongooseIM's Erlang TLS library; ignored.
	Module string `toml:"module"`
}

// HTTP is one [[listen.http]] listener.
type HTTP struct {
	// Port is required, 1-65535.
	Port int `toml:"port"`
	// IPAddress defaults to "0.0.0.0".
	IPAddress string `toml:"ip_address"`
	// IPVersion is 4 or 6; defaults to the version of IPAddress.
	IPVersion int `toml:"ip_version"`
	// Proto must be "tcp" (the default).
	Proto string `toml:"proto"`
	// HibernateAfter is accepted.
	HibernateAfter int `toml:"hibernate_after"`
	// Transport holds connection limits.
	Transport HTTPTransport `toml:"transport"`
	// Protocol holds HTTP protocol options.
	Protocol HTTPProtocol `toml:"protocol"`
	// TLS makes this an HTTPS listener when non-nil.
	TLS *TLS `toml:"tls"`
	// Handlers are the request handlers.
	Handlers Handlers `toml:"handlers"`
}

// HTTPTransport is an HTTP listener's transport table.
type HTTPTransport struct {
	// NumAcceptors defaults to 100; accepted.
	NumAcceptors int `toml:"num_acceptors"`
	// MaxConnections defaults to 1024.
	MaxConnections Limit `toml:"max_connections"`
}

// HTTPProtocol is an HTTP listener's protocol table.
type HTTPProtocol struct {
	// Compress enables response compression.
	Compress bool `toml:"compress"`
}

// Handlers are an HTTP listener's [[listen.http.handlers.TYPE]] entries.
type Handlers struct {
	// GraphQL are mongoose_graphql_handler entries.
	GraphQL []GraphQLHandler `toml:"mongoose_graphql_handler"`
	// Prometheus are mongoose_prometheus_handler entries.
	Prometheus []PrometheusHandler `toml:"mongoose_prometheus_handler"`
	// Websocket are mongoose_websocket_handler entries.
	Websocket []WebsocketHandler `toml:"mongoose_websocket_handler"`
	// BOSH are mongoose_bosh_handler entries, accepted and ignored.
	BOSH []map[string]any `toml:"mongoose_bosh_handler"`
}

// GraphQLHandler is a mongoose_graphql_handler (spec/server.md §2).
type GraphQLHandler struct {
	// Host is required; "_" matches any host.
	Host string `toml:"host"`
	// Path is required.
	Path string `toml:"path"`
	// SchemaEndpoint is required: "admin", "domain_admin" or "user".
	SchemaEndpoint string `toml:"schema_endpoint"`
	// Username is the Basic-auth user (admin only; both or none).
	Username string `toml:"username"`
	// Password is the Basic-auth password (admin only; both or none).
	Password string `toml:"password"`
	// AllowedCategories lists the enabled categories; nil means all.
	AllowedCategories []string `toml:"allowed_categories"`
	// SSEIdleTimeout is in milliseconds (default 3600000).
	SSEIdleTimeout Limit `toml:"sse_idle_timeout"`

	// Gander: limits on every request, authenticated or not, checked
	// before it is validated or runs (docs/security.md). 0 (unset) means
	// the default of docs/configuration.md.

	// MaxRequestSize caps the body (POST) or query string (GET), bytes.
	MaxRequestSize int `toml:"max_request_size"`
	// MaxTokens caps the tokens of the GraphQL document.
	MaxTokens int `toml:"max_tokens"`
	// MaxDepth caps the nesting of fields, fragments expanded.
	MaxDepth int `toml:"max_depth"`
	// MaxFields caps the fields (and fragment uses) of an operation,
	// fragments expanded.
	MaxFields int `toml:"max_fields"`
	// MaxAliases caps the aliased fields, fragments expanded.
	MaxAliases int `toml:"max_aliases"`
	// MaxComplexity caps gqlgen's complexity of an operation.
	MaxComplexity int `toml:"max_complexity"`
	// AllowedHosts (Gander), when set, are the only Host header names
	// the endpoint answers. Unset, an admin endpoint without credentials
	// answers loopback names only (localhost, 127.0.0.0/8, ::1), against
	// DNS rebinding.
	AllowedHosts []string `toml:"allowed_hosts"`
	// AllowRemoteWithoutCredentials (Gander) lets an admin endpoint
	// without username/password listen on a non-loopback address, which
	// otherwise is a configuration error.
	AllowRemoteWithoutCredentials bool `toml:"allow_remote_without_credentials"`
}

// PrometheusHandler is a mongoose_prometheus_handler.
type PrometheusHandler struct {
	// Host is required; "_" matches any host.
	Host string `toml:"host"`
	// Path is required.
	Path string `toml:"path"`
}

// WebsocketHandler is a mongoose_websocket_handler (XMPP over WebSocket).
type WebsocketHandler struct {
	// Host is required; "_" matches any host.
	Host string `toml:"host"`
	// Path is required.
	Path string `toml:"path"`
	// Timeout is the idle timeout in milliseconds (default Unlimited).
	Timeout Limit `toml:"timeout"`
	// PingRate is the server ping period in milliseconds; 0 = no pings.
	PingRate int `toml:"ping_rate"`
	// MaxStanzaSize is in bytes (default 65536, like c2s).
	MaxStanzaSize Limit `toml:"max_stanza_size"`
}

// graphQLCategories are the allowed_categories values (spec/server.md §2.6).
func graphQLCategories() []string {
	return []string{"checkAuth", "account", "domain", "last", "muc", "muc_light",
		"session", "stanza", "roster", "vcard", "private", "metric", "stat", "gdpr",
		"mnesia", "server", "inbox", "http_upload", "offline", "token", "cets",
		"broadcast", "blocklist"}
}

// knownHandler reports whether Handlers has a field for the handler type.
func knownHandler(name string) bool { return slicesContain(handlerNames(), name) }

// handlerNames are the HTTP handler types of the schema.
func handlerNames() []string { return tomlNames(reflect.TypeFor[Handlers]()) }

// endpoint checks the options every listener has and returns "ip:port".
func (c *checker) endpoint(key string, port *int, ip *string, ipVersion *int, proto *string) string {
	if !c.ix.has(key + ".port") {
		c.errorf(key+".port", "is required")
	} else if *port < 1 || *port > 65535 {
		c.errorf(key+".port", "must be between 1 and 65535, got %d", *port)
	}
	if *ip == "" && !c.ix.has(key+".ip_address") {
		*ip = "0.0.0.0"
		if *ipVersion == 6 {
			*ip = "::"
		}
	}
	addr, err := netip.ParseAddr(*ip)
	if err != nil {
		c.errorf(key+".ip_address", "must be an IP address, got %q", *ip)
	} else {
		switch *ipVersion {
		case 0:
			*ipVersion = 4
			if addr.Is6() {
				*ipVersion = 6
			}
		case 4, 6:
			if addr.Is6() != (*ipVersion == 6) {
				c.errorf(key+".ip_version", "is %d but ip_address %q is not an IPv%d address", *ipVersion, *ip, *ipVersion)
			}
		default:
			c.errorf(key+".ip_version", "must be 4 or 6, got %d", *ipVersion)
		}
	}
	c.oneOf(key+".proto", proto, "tcp", "tcp")
	return netip.AddrPortFrom(addr, uint16(*port)).String()
}

func (l *Listen) check(c *checker, authMethods []string) {
	seen := map[string]string{}
	bind := func(key, ep string) {
		if prev, ok := seen[ep]; ok {
			c.errorf(key+".port", "address %s is already used by %s", ep, prev)
		}
		seen[ep] = key
	}
	for i := range l.C2S {
		key := fmt.Sprintf("listen.c2s[%d]", i)
		bind(key, l.C2S[i].check(c, key, authMethods))
	}
	for i := range l.HTTP {
		key := fmt.Sprintf("listen.http[%d]", i)
		bind(key, l.HTTP[i].check(c, key))
	}
}

func (l *C2S) check(c *checker, key string, authMethods []string) string {
	ep := c.endpoint(key, &l.Port, &l.IPAddress, &l.IPVersion, &l.Proto)
	if l.Access == "" {
		l.Access = "all"
	}
	if l.Shaper == "" {
		l.Shaper = "none"
	}
	c.limitDefault(key+".max_stanza_size", &l.MaxStanzaSize, 65536)
	c.intDefault(key+".num_acceptors", &l.NumAcceptors, 100, 1)
	c.intDefault(key+".backlog", &l.Backlog, 1024, 1)
	c.limitDefault(key+".max_connections", &l.MaxConnections, Unlimited)
	c.intDefault(key+".state_timeout", &l.StateTimeout, 5000, 0)
	c.intDefault(key+".hibernate_after", &l.HibernateAfter, 0, 0)
	c.boolDefault(key+".backwards_compatible_session", &l.BackwardsCompatibleSession, true)
	c.listOf(key+".allowed_auth_methods", l.AllowedAuthMethods, authMethods...)
	if l.TLS != nil {
		l.TLS.check(c, key+".tls", true)
	}
	return ep
}

func (t *TLS) check(c *checker, key string, withMode bool) {
	if withMode {
		c.oneOf(key+".mode", &t.Mode, "starttls", "starttls", "starttls_required", "tls")
	} else if c.ix.has(key + ".mode") {
		c.errorf(key+".mode", "is only valid for c2s listeners")
	}
	c.oneOf(key+".verify_mode", &t.VerifyMode, "peer", "peer", "selfsigned_peer", "none")
	if (t.CertFile == "") != (t.KeyFile == "") && t.KeyFile != "" {
		c.errorf(key+".certfile", "is required when keyfile is set")
	}
	c.listOf(key+".versions", t.Versions, "tlsv1.2", "tlsv1.3")
}

func (h *HTTP) check(c *checker, key string) string {
	ep := c.endpoint(key, &h.Port, &h.IPAddress, &h.IPVersion, &h.Proto)
	c.intDefault(key+".hibernate_after", &h.HibernateAfter, 0, 0)
	c.intDefault(key+".transport.num_acceptors", &h.Transport.NumAcceptors, 100, 1)
	c.limitDefault(key+".transport.max_connections", &h.Transport.MaxConnections, 1024)
	if h.TLS != nil {
		h.TLS.check(c, key+".tls", false)
		if h.TLS.CertFile == "" {
			c.errorf(key+".tls.certfile", "is required for an HTTPS listener")
		}
	}
	hk := key + ".handlers"
	for i := range h.Handlers.GraphQL {
		g := &h.Handlers.GraphQL[i]
		gk := fmt.Sprintf("%s.mongoose_graphql_handler[%d]", hk, i)
		g.check(c, gk)
		// docs/security.md: without credentials every request is the
		// global admin, so only this machine may reach the endpoint.
		if g.SchemaEndpoint == "admin" && g.Username == "" && !g.AllowRemoteWithoutCredentials && !loopbackIP(h.IPAddress) {
			c.errorf(gk, "is an admin endpoint without username and password on ip_address %q, so anyone who can reach "+
				"port %d could administer the server: set username and password, or bind %s.ip_address to a loopback "+
				"address such as \"127.0.0.1\", or set allow_remote_without_credentials = true to accept the risk",
				h.IPAddress, h.Port, key)
		}
	}
	for i, p := range h.Handlers.Prometheus {
		k := fmt.Sprintf("%s.mongoose_prometheus_handler[%d]", hk, i)
		c.required(k+".host", p.Host)
		c.required(k+".path", p.Path)
	}
	for i := range h.Handlers.Websocket {
		w := &h.Handlers.Websocket[i]
		k := fmt.Sprintf("%s.mongoose_websocket_handler[%d]", hk, i)
		c.required(k+".host", w.Host)
		c.required(k+".path", w.Path)
		c.limitDefault(k+".timeout", &w.Timeout, Unlimited)
		c.intDefault(k+".ping_rate", &w.PingRate, 0, 0)
		c.limitDefault(k+".max_stanza_size", &w.MaxStanzaSize, 65536)
	}
	return ep
}

func (g *GraphQLHandler) check(c *checker, key string) {
	c.required(key+".host", g.Host)
	c.required(key+".path", g.Path)
	if c.required(key+".schema_endpoint", g.SchemaEndpoint) {
		c.oneOf(key+".schema_endpoint", &g.SchemaEndpoint, "", "admin", "domain_admin", "user")
	}
	// spec/server.md §2.3: credentials on the admin endpoint only, both or none.
	if g.SchemaEndpoint != "admin" {
		for _, k := range []string{"username", "password"} {
			if c.ix.has(key + "." + k) {
				c.errorf(key+"."+k, "is only allowed with schema_endpoint = \"admin\"")
			}
		}
	} else if (g.Username == "") != (g.Password == "") {
		if g.Username == "" {
			c.errorf(key+".password", "requires username (set both or none)")
		} else {
			c.errorf(key+".username", "requires password (set both or none)")
		}
	}
	if c.ix.has(key+".allowed_categories") && len(g.AllowedCategories) == 0 {
		c.errorf(key+".allowed_categories", "must not be empty")
	}
	c.listOf(key+".allowed_categories", g.AllowedCategories, graphQLCategories()...)
	c.limitDefault(key+".sse_idle_timeout", &g.SSEIdleTimeout, 3600000)
	for k, v := range map[string]*int{"max_request_size": &g.MaxRequestSize, "max_tokens": &g.MaxTokens, "max_depth": &g.MaxDepth,
		"max_fields": &g.MaxFields, "max_aliases": &g.MaxAliases, "max_complexity": &g.MaxComplexity} {
		c.intDefault(key+"."+k, v, 0, 1)
	}
	c.listOf(key+".allowed_hosts", g.AllowedHosts)
	for i, h := range g.AllowedHosts {
		if _, err := netip.ParseAddr(h); err != nil && (h == "" || strings.ContainsAny(h, ":/[] ")) {
			c.errorf(fmt.Sprintf("%s.allowed_hosts[%d]", key, i), "must be a host name without port, got %q", h)
		}
	}
}

// loopbackIP reports whether ip_address is a loopback address
// (127.0.0.0/8, ::1); 0.0.0.0 and :: listen on every interface.
func loopbackIP(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.Unmap().IsLoopback()
}
