package config

import (
	"errors"
	"fmt"
	"slices"
)

// Rules that Gander consults without an option naming them
// (docs/configuration.md, "[access]").
const (
	// RuleMaxUserSessions limits the sessions of one user.
	RuleMaxUserSessions = "max_user_sessions"
)

// Validate runs again, on the configuration as it is now, the checks that
// involve more than one section or that a program could break by changing
// a field: the server calls it before it opens anything, so that a
// configuration built or edited in code meets the same rules as a file.
// Parse has already run them on a file.
func (cfg *Config) Validate() error {
	c := &checker{file: cfg.file, ix: cfg.ix}
	if c.ix == nil {
		c.ix = indexKeys(nil)
	}
	if cfg.usedRules == nil {
		cfg.usedRules = map[string]bool{}
	}
	if b := cfg.Modules.Broadcast; b != nil {
		b.checkLease(c, "modules.mod_broadcast")
	}
	cfg.checkCrossModule(c)
	if len(c.errs) > 0 {
		sortErrors(c.errs)
		return errors.Join(c.errs...)
	}
	return nil
}

// checkCrossModule runs the checks that involve more than one section:
// module prerequisites, and the access rules and shapers that options name.
func (cfg *Config) checkCrossModule(c *checker) {
	// spec/server.md §5.3 (docs/modules/mod_broadcast.md): the recipients
	// are the accounts of the rdbms method.
	if cfg.Modules.Broadcast != nil && !slices.Contains(cfg.Auth.Methods, "rdbms") {
		c.errorf("modules.mod_broadcast", `requires the rdbms auth method (mod_broadcast_requires_rdbms_auth): add "rdbms" to auth.methods, now %q`, cfg.Auth.Methods)
	}
	for i, h := range cfg.Listen.HTTP {
		for j := range h.Handlers.Prometheus {
			if cfg.Instrumentation.Prometheus == nil {
				c.errorf(fmt.Sprintf("listen.http[%d].handlers.mongoose_prometheus_handler[%d]", i, j),
					"requires [instrumentation.prometheus], which enables the metrics it serves")
			}
		}
	}
	for i, l := range cfg.Listen.C2S {
		key := fmt.Sprintf("listen.c2s[%d]", i)
		cfg.checkShaperRef(c, key+".shaper", l.Shaper)
		if l.Access != "all" && l.Access != "" {
			cfg.checkRuleRef(c, key+".access", l.Access, allowDeny)
			cfg.pendingRule(c, key+".access", l.Access, "c2s access rules")
		}
	}
	if _, ok := cfg.AccessRules[RuleMaxUserSessions]; ok {
		k := joinKey("access", RuleMaxUserSessions)
		cfg.checkRuleRef(c, k, RuleMaxUserSessions, positiveOrInfinity)
		c.notImplemented(k, "limiting sessions per user (max_user_sessions)")
	}
	if m := cfg.Modules.Offline; m != nil {
		if _, ok := cfg.AccessRules[m.AccessMaxUserMessages]; ok {
			// MongooseIM consults this rule whenever mod_offline runs.
			k := joinKey("access", m.AccessMaxUserMessages)
			cfg.usedRules[m.AccessMaxUserMessages] = true
			c.notImplemented(k, "offline limits from access rules (mod_offline consults this rule)", "use modules.mod_offline.max_messages")
		}
	}
	if m := cfg.Modules.Muc; m != nil {
		for _, o := range []struct{ key, rule, def string }{
			{"access", m.Access, "all"}, {"access_create", m.AccessCreate, "all"},
			{"access_admin", m.AccessAdmin, "none"}, {"access_persistent", m.AccessPersistent, "all"},
		} {
			k := "modules.mod_muc." + o.key
			if o.rule != o.def && o.rule != "" {
				cfg.checkRuleRef(c, k, o.rule, allowDeny)
				cfg.pendingRule(c, k, o.rule, "mod_muc access rules")
			}
		}
	}
	if m := cfg.Modules.MucLight; m != nil && m.AccessCreate != "all" && m.AccessCreate != "" {
		k := "modules.mod_muc_light.access_create"
		cfg.checkRuleRef(c, k, m.AccessCreate, allowDeny)
		cfg.pendingRule(c, k, m.AccessCreate, "mod_muc_light access rules")
	}
}

// pendingRule refuses a rule Gander cannot enforce yet where key uses it,
// unless the rule allows everybody anyway.
func (cfg *Config) pendingRule(c *checker, key, rule, what string) {
	if rule == "all" || !cfg.AccessRuleDefined(rule) {
		return
	}
	for _, cl := range cfg.AccessRules[rule] {
		if cl.Value != "allow" {
			c.notImplemented(key, what+" other than allowing everybody")
			return
		}
		if cl.ACL == "all" {
			return
		}
	}
	c.notImplemented(key, "%s other than allowing everybody", what)
}

// checkShaperRef checks a listener's shaper option: "none", the name of a
// [shaper.NAME], or (as in MongooseIM's documentation) an access rule whose
// values are shaper names or "none".
func (cfg *Config) checkShaperRef(c *checker, key, name string) {
	if name == "none" || name == "" {
		return
	}
	if _, ok := cfg.Shaper[name]; ok {
		return
	}
	if _, ok := cfg.AccessRules[name]; ok {
		cfg.checkRuleRef(c, key, name, func(cl AccessClause) string {
			if _, ok := cfg.Shaper[cl.Value]; ok && !cl.IsInt || cl.Value == "none" {
				return ""
			}
			return fmt.Sprintf(`must be "none" or the name of a [shaper.NAME], got %s`, quoteValue(cl))
		})
		if v, ok := cfg.uniformValue(name); !ok || v == "" {
			c.notImplemented(key, fmt.Sprintf("choosing a shaper per user with an access rule (the rule %q gives different shapers)", name))
		}
		return
	}
	msg := fmt.Sprintf(`must be "none", the name of a [shaper.NAME] or of an [access] rule giving shaper names, got %q`, name)
	if s := closest(name, append(sortedKeys(cfg.Shaper), sortedKeys(cfg.AccessRules)...)); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	c.errorf(key, "%s", msg)
}

// uniformValue returns the value a rule gives to every user when that does
// not depend on the user: every clause before the first acl = "all" one
// has the same value as it.
func (cfg *Config) uniformValue(rule string) (string, bool) {
	clauses := cfg.AccessRules[rule]
	for _, cl := range clauses {
		if cl.ACL == "all" {
			for _, before := range clauses {
				if before.ACL == "all" {
					break
				}
				if before.Value != cl.Value {
					return "", false
				}
			}
			return cl.Value, true
		}
	}
	return "", false
}

// ListenerShaper returns the bytes per second a c2s listener's shaper
// allows (0: no shaper).
func (cfg *Config) ListenerShaper(l C2S) int {
	name := l.Shaper
	if _, ok := cfg.Shaper[name]; !ok {
		if v, ok := cfg.uniformValue(name); ok {
			name = v
		}
	}
	if s, ok := cfg.Shaper[name]; ok {
		return s.MaxRate
	}
	return 0
}
