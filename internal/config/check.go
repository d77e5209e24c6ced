package config

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
)

// check fills in defaults and validates the whole configuration.
func (cfg *Config) check(c *checker) {
	c.checkSupport()
	cfg.checkACL(c)
	cfg.checkAccess(c)
	cfg.General.check(c)
	cfg.Auth.check(c, "auth")
	cfg.Listen.check(c, cfg.Auth.Methods)
	cfg.OutgoingPools.check(c)
	cfg.checkServices(c)
	cfg.Modules.check(c, "modules")
	cfg.checkInstrumentation(c)
	cfg.checkShapers(c)
	cfg.checkHostConfig(c)
	cfg.checkCluster(c)
	cfg.checkCrossModule(c)
	cfg.checkUnusedRules(c)
}

func (g *General) check(c *checker) {
	const k = "general"
	if len(g.Hosts) == 0 && len(g.HostTypes) == 0 {
		c.errorf(k+".hosts", "at least one of hosts and host_types must be given")
	}
	c.listOf(k+".hosts", g.Hosts)
	for i, h := range g.Hosts {
		if h == "" {
			c.errorf(fmt.Sprintf("%s.hosts[%d]", k, i), "must not be empty")
		}
	}
	c.listOf(k+".host_types", g.HostTypes)
	if c.required(k+".default_server_domain", g.DefaultServerDomain) &&
		len(g.Hosts) > 0 && !slices.Contains(g.Hosts, g.DefaultServerDomain) {
		c.errorf(k+".default_server_domain", "must be one of general.hosts, got %q", g.DefaultServerDomain)
	}
	c.oneOf(k+".loglevel", &g.LogLevel, "warning",
		"none", "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug", "all")
	if g.Language == "" {
		g.Language = "en"
	}
	c.limitDefault(k+".registration_timeout", &g.RegistrationTimeout, 600)
	c.oneOf(k+".sm_backend", &g.SMBackend, "mnesia", "mnesia", "cets", "redis")
	c.intDefault(k+".replaced_wait_timeout", &g.ReplacedWaitTimeout, 2000, 1)
	c.oneOf(k+".route_subdomains", &g.RouteSubdomains, "", "s2s")
	c.oneOf(k+".s2s_backend", &g.S2SBackend, "mnesia", "mnesia", "cets", "redis")
	c.oneOf(k+".component_backend", &g.ComponentBackend, "mnesia", "mnesia", "cets")
	c.intDefault(k+".max_fsm_queue", &g.MaxFSMQueue, 0, 0)
	if g.NodeName == "" {
		g.NodeName = DefaultNodeName()
	}
}

func (cfg *Config) checkServices(c *checker) {
	if d := cfg.Services.DomainDB; d != nil {
		k := "services.service_domain_db"
		c.intDefault(k+".event_cleaning_interval", &d.EventCleaningInterval, 1800, 1)
		c.intDefault(k+".event_max_age", &d.EventMaxAge, 7200, 1)
		if d.DBPool == "" {
			d.DBPool = "global"
		}
	}
}

func (cfg *Config) checkInstrumentation(c *checker) {
	const k = "instrumentation"
	in := &cfg.Instrumentation
	c.intDefault(k+".probe_interval", &in.ProbeInterval, 15, 1)
	if in.Log != nil {
		c.oneOf(k+".log.level", &in.Log.Level, "debug",
			"none", "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug", "all")
	}
}

func (cfg *Config) checkShapers(c *checker) {
	for name, s := range cfg.Shaper {
		k := joinKey("shaper", name)
		if !c.ix.has(k + ".max_rate") {
			c.errorf(k+".max_rate", "is required")
		} else if s.MaxRate <= 0 {
			c.errorf(k+".max_rate", "must be a positive integer, got %d", s.MaxRate)
		}
	}
}

func (cfg *Config) checkHostConfig(c *checker) {
	for i := range cfg.HostConfig {
		h := &cfg.HostConfig[i]
		k := fmt.Sprintf("host_config[%d]", i)
		switch {
		case h.Host == "" && h.HostType == "":
			c.errorf(k+".host", "one of host and host_type is required")
		case h.Host != "" && h.HostType != "":
			c.errorf(k+".host_type", "cannot be used together with host")
		case h.Host != "" && !slices.Contains(cfg.General.Hosts, h.Host):
			c.errorf(k+".host", "must be one of general.hosts, got %q", h.Host)
		case h.HostType != "" && !slices.Contains(cfg.General.HostTypes, h.HostType) &&
			!slices.Contains(cfg.General.Hosts, h.HostType):
			c.errorf(k+".host_type", "must be one of general.host_types or general.hosts, got %q", h.HostType)
		}
		if h.Auth != nil {
			h.Auth.check(c, k+".auth")
		}
		if h.Modules != nil {
			h.Modules.check(c, k+".modules")
		}
	}
}

// suggest returns the known key closest to the last part of an unknown key,
// if one is close enough to be a plausible typo.
func suggest(key string) string {
	parts := splitKey(key)
	t := reflect.TypeFor[Config]()
	for _, p := range parts[:len(parts)-1] {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
		f, ok := fieldByTOMLName(t, stripIndexes(p))
		if !ok {
			return ""
		}
		t = f.Type
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	last := stripIndexes(parts[len(parts)-1])
	names := tomlNames(t)
	sort.Strings(names)
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(last, n); d < bestD && d < len(n) {
			best, bestD = n, d
		}
	}
	return best
}

// tomlNames lists the TOML keys of struct type t, those of embedded
// structs without a tag included.
func tomlNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("toml") == "" && f.Type.Kind() == reflect.Struct {
			names = append(names, tomlNames(f.Type)...)
			continue
		}
		names = append(names, tomlName(f))
	}
	return names
}

// fieldByTOMLName finds the field of struct type t that the TOML key name
// decodes into, looking into embedded structs without a tag as the
// decoder does (mod_mam's common options).
func fieldByTOMLName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("toml") == "" && f.Type.Kind() == reflect.Struct {
			if sf, ok := fieldByTOMLName(f.Type, name); ok {
				return sf, true
			}
			continue
		}
		if tomlName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// DefaultNodeName is general.node_name when the configuration does not set
// it: "gander@<hostname>" (spec/broadcast.md §2), or "gander@localhost" when
// the host name cannot be read.
func DefaultNodeName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	return "gander@" + h
}
