// Package config loads Gander's TOML configuration file.
//
// The layout is MongooseIM's (spec/server.md §5): a MongooseIM configuration
// that uses only the sections and modules Gander implements loads unchanged.
// Decoding is strict: an unknown key, a value of the wrong type or an invalid
// value is an *Error naming the file, line, column and full dotted key.
// After decoding, defaults are filled in, so consumers never see zero values
// standing for "unset". The operator-facing reference is
// docs/configuration.md.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Config is a whole, validated configuration file.
type Config struct {
	// General is the [general] section.
	General General `toml:"general"`
	// Listen is the [listen] section: the listeners.
	Listen Listen `toml:"listen"`
	// Auth is the [auth] section.
	Auth Auth `toml:"auth"`
	// InternalDatabases is [internal_databases]: [internal_databases.cets]
	// turns clustering on (discovery, docs/cluster.md).
	InternalDatabases InternalDatabases `toml:"internal_databases"`
	// Cluster is [cluster] (Gander): the transport between cluster nodes;
	// nil when clustering is off. Parse fills it in with its defaults when
	// only [internal_databases.cets] is given.
	Cluster *ClusterSection `toml:"cluster"`
	// OutgoingPools is [outgoing_pools]: database connections.
	OutgoingPools OutgoingPools `toml:"outgoing_pools"`
	// Services is [services].
	Services Services `toml:"services"`
	// Modules is [modules]: a non-nil field means the module is enabled.
	Modules Modules `toml:"modules"`
	// Instrumentation is [instrumentation].
	Instrumentation Instrumentation `toml:"instrumentation"`
	// Shaper maps shaper names to traffic shapers ([shaper.NAME]).
	Shaper map[string]Shaper `toml:"shaper"`
	// ACL is [acl] as decoded; ACLClasses is its validated form.
	ACL map[string]any `toml:"acl"`
	// Access is [access] as decoded; AccessRules is its validated form.
	Access map[string]any `toml:"access"`
	// S2S is the top-level [s2s] section; Gander refuses it (no
	// server-to-server support yet).
	S2S map[string]any `toml:"s2s"`
	// HostConfig is [[host_config]]: per-host overrides; Gander refuses
	// them (not implemented yet).
	HostConfig []HostConfig `toml:"host_config"`

	// ACLClasses are the access classes of [acl], by name.
	ACLClasses map[string][]ACLPattern `toml:"-"`
	// AccessRules are the rules of [access], by name.
	AccessRules map[string][]AccessClause `toml:"-"`
	// Warnings are the keys accepted but ignored, and other problems that
	// do not stop the server (docs/configuration.md); Error() of each
	// starts with "warning:".
	Warnings []*Error `toml:"-"`

	ix        *keyIndex
	file      string
	usedRules map[string]bool
}

// General is the [general] section.
type General struct {
	// Hosts are the static XMPP domains; each is its own host type.
	Hosts []string `toml:"hosts"`
	// HostTypes are host types for dynamic domains.
	HostTypes []string `toml:"host_types"`
	// DefaultServerDomain is required and must be one of Hosts.
	DefaultServerDomain string `toml:"default_server_domain"`
	// LogLevel is the log level (default "warning").
	LogLevel string `toml:"loglevel"`
	// Language is the default language of server messages (default "en").
	Language string `toml:"language"`
	// RegistrationTimeout is the minimum time in seconds between two
	// registrations from one IP address (default 600; Unlimited = no limit).
	RegistrationTimeout Limit `toml:"registration_timeout"`
	// SMBackend is the session-manager backend (default "mnesia"); accepted.
	SMBackend string `toml:"sm_backend"`
	// ReplacedWaitTimeout is in milliseconds (default 2000); accepted.
	ReplacedWaitTimeout int `toml:"replaced_wait_timeout"`
	// HideServiceName hides the server's identity from unauthenticated
	// streams; accepted.
	HideServiceName bool `toml:"hide_service_name"`
	// RouteSubdomains is "s2s" or empty; accepted.
	RouteSubdomains string `toml:"route_subdomains"`
	// RoutingModules lists router modules; accepted.
	RoutingModules []string `toml:"routing_modules"`
	// HTTPServerName is the HTTP Server header; accepted.
	HTTPServerName string `toml:"http_server_name"`
	// S2SBackend is accepted for compatibility.
	S2SBackend string `toml:"s2s_backend"`
	// ComponentBackend is accepted for compatibility.
	ComponentBackend string `toml:"component_backend"`
	// MaxFSMQueue is accepted for compatibility.
	MaxFSMQueue int `toml:"max_fsm_queue"`
	// DataDir (Gander) is the data directory (relative: to the file's
	// directory); "" means the default, DefaultDataDir.
	DataDir string `toml:"data_dir"`
	// NodeName (Gander) names this node (default "gander@<hostname>").
	NodeName string `toml:"node_name"`
}

// Instrumentation is the [instrumentation] section.
type Instrumentation struct {
	// ProbeInterval is the gauge probe period in seconds (default 15).
	ProbeInterval int `toml:"probe_interval"`
	// Prometheus, when non-nil, enables the Prometheus reporter.
	Prometheus *struct{} `toml:"prometheus"`
	// Log, when non-nil, logs instrumentation events.
	Log *InstrumentationLog `toml:"log"`
	// Exometer is accepted and ignored.
	Exometer map[string]any `toml:"exometer"`
}

// InstrumentationLog is [instrumentation.log].
type InstrumentationLog struct {
	// Level is the log level of event lines (default "debug").
	Level string `toml:"level"`
}

// Shaper is one [shaper.NAME] table.
type Shaper struct {
	// MaxRate is the allowed rate in bytes per second (required, > 0).
	MaxRate int `toml:"max_rate"`
}

// InternalDatabases is [internal_databases].
type InternalDatabases struct {
	// Mnesia is [internal_databases.mnesia]; accepted, unused by Gander.
	Mnesia *struct{} `toml:"mnesia"`
	// CETS is [internal_databases.cets]: cluster discovery; nil when
	// clustering is off. Parse fills it in with its defaults when only
	// [cluster] is given.
	CETS *CETS `toml:"cets"`
}

// CETS is [internal_databases.cets]: how cluster nodes find each other
// (docs/cluster.md).
type CETS struct {
	// Backend is "rdbms" (default: a table of the shared database) or
	// "file" (NodeListFile).
	Backend string `toml:"backend"`
	// ClusterName defaults to "mongooseim"; 1..64 characters from
	// A-Z a-z 0-9 _ -. It is also the NATS cluster name and subject prefix.
	ClusterName string `toml:"cluster_name"`
	// NodeListFile is required with the "file" backend, refused with
	// "rdbms"; relative to the data directory.
	NodeListFile string `toml:"node_list_file"`
}

// Services is [services].
type Services struct {
	// DomainDB is [services.service_domain_db], required for dynamic
	// domains and domain-admin passwords.
	DomainDB *ServiceDomainDB `toml:"service_domain_db"`
	// SystemMetrics is [services.service_mongoose_system_metrics], accepted
	// and ignored (Gander reports no usage statistics).
	SystemMetrics map[string]any `toml:"service_mongoose_system_metrics"`
}

// ServiceDomainDB is [services.service_domain_db].
type ServiceDomainDB struct {
	// EventCleaningInterval is in seconds (default 1800).
	EventCleaningInterval int `toml:"event_cleaning_interval"`
	// EventMaxAge is in seconds (default 7200).
	EventMaxAge int `toml:"event_max_age"`
	// DBPool is the pool tag (default "global").
	DBPool string `toml:"db_pool"`
}

// HostConfig is one [[host_config]] entry. Gander validates it but does not
// apply per-host overrides yet.
type HostConfig struct {
	// Host selects a static domain (exactly one of Host and HostType).
	Host string `toml:"host"`
	// HostType selects a host type.
	HostType string `toml:"host_type"`
	// General holds per-host general options, accepted loosely.
	General map[string]any `toml:"general"`
	// Auth overrides [auth] for the host.
	Auth *Auth `toml:"auth"`
	// Modules replaces [modules] for the host.
	Modules *Modules `toml:"modules"`
	// S2S is accepted and ignored.
	S2S map[string]any `toml:"s2s"`
}

// Load reads the file at path and parses it with Parse. Relative file
// paths in the file (general.data_dir, an sqlite database, TLS certificate
// and key files) are taken relative to the file's directory, so that the
// server finds the same files whatever its current directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.resolvePaths(dir)
	return c, nil
}

// resolvePaths makes the relative file paths of the configuration relative
// to dir.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.General.DataDir)
	for _, p := range c.OutgoingPools.RDBMS {
		if p != nil && p.Connection.Driver == "sqlite" {
			abs(&p.Connection.Database)
		}
	}
	tlsFiles := func(t *TLS) {
		if t != nil {
			abs(&t.CertFile)
			abs(&t.KeyFile)
			abs(&t.CACertFile)
		}
	}
	for i := range c.Listen.C2S {
		tlsFiles(c.Listen.C2S[i].TLS)
	}
	for i := range c.Listen.HTTP {
		tlsFiles(c.Listen.HTTP[i].TLS)
	}
}

// Default returns the built-in default configuration (DefaultTOML).
func Default() *Config {
	c, err := Parse([]byte(DefaultTOML), "<built-in>")
	if err != nil {
		// DefaultTOML is a constant covered by tests.
		panic("config: built-in default configuration is invalid: " + err.Error())
	}
	return c
}

// Parse decodes data strictly, fills in defaults and validates the result.
// filename is used in error messages only. The error is an *Error or an
// errors.Join of several (see AsErrors).
func Parse(data []byte, filename string) (*Config, error) {
	ix := indexKeys(data)
	var c Config
	ch := &checker{file: filename, ix: ix}
	// A table written where an array of tables belongs (or the reverse)
	// confuses the decoder; say what is wrong instead.
	if ch.checkTableKinds(); len(ch.errs) > 0 {
		sortErrors(ch.errs)
		return nil, errors.Join(ch.errs...)
	}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		errs := decodeErrors(err, filename, ix)
		var strict *toml.StrictMissingError
		if !errors.As(err, &strict) {
			return nil, errors.Join(errs...)
		}
		// Unknown keys do not stop decoding: the rest of the document is in
		// c, so validate it too and report everything at once.
		ch.errs = errs
	}
	c.ix, c.file, c.usedRules = ix, filename, map[string]bool{}
	c.check(ch)
	if len(ch.errs) > 0 {
		sortErrors(ch.errs)
		return nil, errors.Join(ch.errs...)
	}
	c.Warnings = sortWarnings(ch.warns)
	return &c, nil
}

// Errorf returns an *Error about key, located in the file the
// configuration was read from (for checks made outside this package, such
// as server.Validate).
func (c *Config) Errorf(key, format string, args ...any) *Error {
	var p position
	if c.ix != nil {
		p = c.ix.lookup(key)
	}
	return &Error{File: c.file, Line: p.Line, Col: p.Col, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// File returns the file name the configuration was read from.
func (c *Config) File() string { return c.file }

func sortWarnings(ws []*Error) []*Error {
	sort.SliceStable(ws, func(i, j int) bool {
		if ws[i].Line != ws[j].Line {
			return ws[i].Line < ws[j].Line
		}
		return ws[i].Col < ws[j].Col
	})
	return ws
}

// Hosts returns the static XMPP domains (general.hosts).
func (c *Config) Hosts() []string {
	return c.General.Hosts
}

// RDBMS returns the connection of the RDBMS pool tagged "default", if
// configured. Without it Gander uses the embedded SQLite database in the data
// directory.
func (c *Config) RDBMS() (Connection, bool) {
	p, ok := c.OutgoingPools.RDBMS["default"]
	if !ok || p == nil {
		return Connection{}, false
	}
	return p.Connection, true
}

func sortErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].(*Error), errs[j].(*Error)
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// decodeErrors converts go-toml errors into *Error values with full keys.
func decodeErrors(err error, file string, ix *keyIndex) []error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		reported := map[string]bool{}
		for i := range strict.Errors {
			e := unknownKeyError(&strict.Errors[i], file, ix)
			if reported[e.Key] {
				continue
			}
			reported[e.Key] = true
			errs = append(errs, e)
		}
		return errs
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		key := ix.find(position{line, col}, strings.Join(de.Key(), "."))
		return []error{&Error{File: file, Line: line, Col: col, Key: key, Msg: decodeMessage(de)}}
	}
	return []error{&Error{File: file, Msg: err.Error()}}
}

func unknownKeyError(de *toml.DecodeError, file string, ix *keyIndex) *Error {
	line, col := de.Position()
	key := ix.find(position{line, col}, strings.Join(de.Key(), "."))
	e := &Error{File: file, Line: line, Col: col, Key: key, Msg: msgUnknownKey, unknown: true}
	parts := splitKey(key)
	plain := stripIndexes(key)
	if r, n, ok := ruleFor(notInSchemaRules(), plain); ok {
		// A MongooseIM module, handler, method or section Gander lacks.
		e.Key = prefixPath(key, n)
		e.Msg = "Gander does not implement " + r.what + " yet"
		e.unknown, e.notImpl = false, true
	} else {
		for i, p := range parts {
			name := stripIndexes(p)
			switch {
			case name == "modules" && i+1 < len(parts):
				if knownModule(parts[i+1]) {
					continue
				}
				e.Key = strings.Join(parts[:i+2], ".")
				e.Msg = "unknown module"
				if s := closest(parts[i+1], append(moduleNames(), mongooseIMModules()...)); s != "" {
					e.Msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
			case name == "handlers" && i+1 < len(parts) && i > 0 && strings.HasPrefix(stripIndexes(parts[i-1]), "http"):
				if knownHandler(stripIndexes(parts[i+1])) {
					continue
				}
				e.Key = stripTrailingIndex(strings.Join(parts[:i+2], "."))
				e.Msg = "unknown HTTP handler type"
				if s := closest(stripIndexes(parts[i+1]), append(handlerNames(), mongooseIMHandlers()...)); s != "" {
					e.Msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
			default:
				continue
			}
			break
		}
	}
	if e.Msg == msgUnknownKey {
		if s := suggest(key); s != "" {
			e.Msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
	}
	// The decoder points at the first part of a dotted key; the index knows
	// where the offending part itself is.
	if p, ok := ix.pos[e.Key]; ok {
		e.Line, e.Col = p.Line, p.Col
	}
	return e
}

// splitKey splits a dotted key on dots outside quotes.
func splitKey(key string) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case '.':
			if !quoted {
				parts = append(parts, key[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, key[start:])
}

func stripTrailingIndex(key string) string {
	if strings.HasSuffix(key, "]") {
		if i := strings.LastIndexByte(key, '['); i >= 0 {
			return key[:i]
		}
	}
	return key
}

// decodeMessage rewrites go-toml's messages, which name Go types, in terms
// of the file.
func decodeMessage(de *toml.DecodeError) string {
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	const prefix = "cannot decode TOML "
	if !strings.HasPrefix(msg, prefix) {
		return msg
	}
	rest := msg[len(prefix):]
	got, target, ok := strings.Cut(rest, " into ")
	if !ok {
		return msg
	}
	if i := strings.LastIndex(target, " of type "); i >= 0 {
		target = target[i+len(" of type "):]
	}
	return fmt.Sprintf("expected %s, got %s %s", describeGoType(target), article(got), got)
}

func describeGoType(t string) string {
	switch {
	case t == "config.Limit":
		return `a non-negative integer or "infinity"`
	case strings.HasPrefix(t, "[]map[string]interface"), strings.HasPrefix(t, "[]map[string]any"):
		return "an array of tables"
	case strings.HasPrefix(t, "[]string"):
		return "an array of strings"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	default:
		return "a table"
	}
}

func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an"
	}
	return "a"
}

// DefaultDataDir is the data directory when neither the command line nor
// general.data_dir names one: $XDG_DATA_HOME/gander, or
// ~/.local/share/gander (the XDG Base Directory default). It does not
// depend on the current directory, so the server and `gander register`
// find the same database wherever they are started.
func DefaultDataDir() (string, error) {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "gander"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("config: no data directory: %w (set general.data_dir, --data-dir or XDG_DATA_HOME)", err)
	}
	return filepath.Join(home, ".local", "share", "gander"), nil
}
