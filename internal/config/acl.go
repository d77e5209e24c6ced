package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ACLPattern is one pattern of an [acl] access class (docs/configuration.md
// "[acl]"). Every condition that is set must hold for the pattern to match;
// the class matches when any of its patterns does.
type ACLPattern struct {
	// Match is "current_domain" (default: the JID's domain is the domain
	// the rule is checked for), "any_hosted_domain", "all" or "none".
	Match string
	// User, Server and Resource match a JID part exactly.
	User, Server, Resource string
	// UserRegexp, ServerRegexp and ResourceRegexp match a JID part with a
	// regular expression (Go RE2 syntax, unanchored like Erlang's re).
	UserRegexp, ServerRegexp, ResourceRegexp string
	// UserGlob, ServerGlob and ResourceGlob match a JID part with a glob
	// (* any run, ? one character, [...] a class).
	UserGlob, ServerGlob, ResourceGlob string
}

// AccessClause is one clause of an [access] rule: when the user belongs to
// the class ACL ("all" matches everybody), the rule's value is Value.
type AccessClause struct {
	// ACL names an [acl] class, or "all".
	ACL string
	// Value is the rule's value: "allow", "deny", a shaper name, "none",
	// "infinity" or, when IsInt, the integer Int.
	Value string
	// Int is the value of an integer clause (IsInt).
	Int int
	// IsInt reports an integer value.
	IsInt bool
}

// aclPatternKeys are the keys of an ACL pattern, in the order they are
// described in docs/configuration.md.
func aclPatternKeys() []string {
	return []string{"match", "user", "server", "resource", "user_regexp", "server_regexp",
		"resource_regexp", "user_glob", "server_glob", "resource_glob"}
}

// checkACL converts the loosely decoded [acl] section into ACLClasses. A
// class is an array of pattern tables (MongooseIM's form) or, as older
// MongooseIM files write it, a single table.
func (cfg *Config) checkACL(c *checker) {
	cfg.ACLClasses = map[string][]ACLPattern{}
	for _, name := range sortedKeys(cfg.ACL) {
		key := joinKey("acl", name)
		var tables []map[string]any
		idx := true
		switch v := cfg.ACL[name].(type) {
		case map[string]any:
			tables, idx = []map[string]any{v}, false
		case []any:
			for i, e := range v {
				t, ok := e.(map[string]any)
				if !ok {
					c.errorf(fmt.Sprintf("%s[%d]", key, i), "expected a table (a pattern such as {user = \"alice\"}), got %s", tomlKind(e))
					continue
				}
				tables = append(tables, t)
			}
		default:
			c.errorf(key, "expected an array of patterns such as [{user = \"alice\"}], got %s", tomlKind(v))
			continue
		}
		var pats []ACLPattern
		for i, t := range tables {
			k := key
			if idx {
				k = fmt.Sprintf("%s[%d]", key, i)
			}
			if p, ok := c.aclPattern(k, t); ok {
				pats = append(pats, p)
			}
		}
		cfg.ACLClasses[name] = pats
	}
}

func (c *checker) aclPattern(key string, t map[string]any) (ACLPattern, bool) {
	var p ACLPattern
	fields := map[string]*string{"match": &p.Match, "user": &p.User, "server": &p.Server, "resource": &p.Resource,
		"user_regexp": &p.UserRegexp, "server_regexp": &p.ServerRegexp, "resource_regexp": &p.ResourceRegexp,
		"user_glob": &p.UserGlob, "server_glob": &p.ServerGlob, "resource_glob": &p.ResourceGlob}
	ok := true
	for _, k := range sortedKeys(t) {
		dst, known := fields[k]
		if !known {
			msg := "unknown ACL condition (one of " + strings.Join(aclPatternKeys(), ", ") + ")"
			if s := closest(k, aclPatternKeys()); s != "" {
				msg = fmt.Sprintf("unknown ACL condition (did you mean %q?)", s)
			}
			c.errorf(joinKey(key, k), "%s", msg)
			ok = false
			continue
		}
		s, isStr := t[k].(string)
		if !isStr {
			c.errorf(joinKey(key, k), "expected a string, got %s", tomlKind(t[k]))
			ok = false
			continue
		}
		*dst = s
	}
	if _, set := t["match"]; set {
		c.oneOf(joinKey(key, "match"), &p.Match, "current_domain", "all", "current_domain", "any_hosted_domain", "none")
	} else {
		p.Match = "current_domain"
	}
	for _, part := range []string{"user", "server", "resource"} {
		n := 0
		for _, suffix := range []string{"", "_regexp", "_glob"} {
			if v := *fields[part+suffix]; v != "" || t[part+suffix] != nil {
				n++
			}
		}
		if n > 1 {
			c.errorf(key, "%s, %s_regexp and %s_glob cannot be combined in one pattern", part, part, part)
			ok = false
		}
		if re := *fields[part+"_regexp"]; re != "" {
			if _, err := regexp.Compile(re); err != nil {
				c.errorf(joinKey(key, part+"_regexp"), "invalid regular expression (Go RE2 syntax): %v", err)
				ok = false
			}
		}
		if g := *fields[part+"_glob"]; g != "" {
			if _, err := GlobRegexp(g); err != nil {
				c.errorf(joinKey(key, part+"_glob"), "invalid glob: %v", err)
				ok = false
			}
		}
	}
	return p, ok
}

// GlobRegexp compiles a glob (* any run of characters, ? one character,
// [...] a character class, \ escapes) into an anchored regular expression.
func GlobRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`\A(?s:`)
	for i := 0; i < len(glob); i++ {
		switch ch := glob[i]; ch {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '\\':
			if i+1 < len(glob) {
				i++
				b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
			} else {
				b.WriteString(`\\`)
			}
		case '[':
			end := strings.IndexByte(glob[i+1:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ in %q", glob)
			}
			class := glob[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	b.WriteString(`)\z`)
	return regexp.Compile(b.String())
}

// checkAccess converts the loosely decoded [access] section into
// AccessRules.
func (cfg *Config) checkAccess(c *checker) {
	cfg.AccessRules = map[string][]AccessClause{}
	for _, name := range sortedKeys(cfg.Access) {
		key := joinKey("access", name)
		if name == "all" || name == "none" {
			c.errorf(key, "%q is a built-in rule (all = always allow, none = always deny) and cannot be redefined", name)
			continue
		}
		list, ok := cfg.Access[name].([]any)
		if !ok {
			c.errorf(key, "expected an array of clauses such as [{acl = \"all\", value = \"allow\"}], got %s", tomlKind(cfg.Access[name]))
			continue
		}
		var clauses []AccessClause
		for i, e := range list {
			k := fmt.Sprintf("%s[%d]", key, i)
			t, ok := e.(map[string]any)
			if !ok {
				c.errorf(k, "expected a table {acl = \"...\", value = ...}, got %s", tomlKind(e))
				continue
			}
			if cl, ok := c.accessClause(k, t, cfg); ok {
				clauses = append(clauses, cl)
			}
		}
		cfg.AccessRules[name] = clauses
	}
}

func (c *checker) accessClause(key string, t map[string]any, cfg *Config) (AccessClause, bool) {
	var cl AccessClause
	ok := true
	for _, k := range sortedKeys(t) {
		if k != "acl" && k != "value" {
			msg := "unknown key in an access clause (a clause has acl and value)"
			if s := closest(k, []string{"acl", "value"}); s != "" {
				msg = fmt.Sprintf("unknown key in an access clause (did you mean %q?)", s)
			}
			c.errorf(joinKey(key, k), "%s", msg)
			ok = false
		}
	}
	switch a := t["acl"].(type) {
	case nil:
		c.errorf(joinKey(key, "acl"), "is required")
		ok = false
	case string:
		cl.ACL = a
		if _, defined := cfg.ACL[a]; !defined && a != "all" {
			// MongooseIM: an undefined class never matches (no error).
			msg := fmt.Sprintf("access class %q is not defined in [acl]: this clause never matches", a)
			if s := closest(a, sortedKeys(cfg.ACL)); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			c.warnf(joinKey(key, "acl"), "%s", msg)
		}
	default:
		c.errorf(joinKey(key, "acl"), "expected a string, got %s", tomlKind(a))
		ok = false
	}
	switch v := t["value"].(type) {
	case nil:
		c.errorf(joinKey(key, "value"), "is required")
		ok = false
	case string:
		if v == "" {
			c.errorf(joinKey(key, "value"), "must not be empty")
			ok = false
		}
		cl.Value = v
	case int64:
		cl.Int, cl.IsInt, cl.Value = int(v), true, fmt.Sprint(v)
	default:
		c.errorf(joinKey(key, "value"), "expected a string or an integer, got %s", tomlKind(v))
		ok = false
	}
	return cl, ok
}

// AccessRuleDefined reports whether name is a built-in rule ("all",
// "none") or defined in [access].
func (cfg *Config) AccessRuleDefined(name string) bool {
	if name == "all" || name == "none" {
		return true
	}
	_, ok := cfg.AccessRules[name]
	return ok
}

// checkRuleRef checks that key names an access rule whose values are among
// allowed (nil: any value), and records the rule as used.
func (cfg *Config) checkRuleRef(c *checker, key, rule string, allowed func(AccessClause) string) {
	if rule == "" {
		c.errorf(key, "must not be empty")
		return
	}
	cfg.usedRules[rule] = true
	if !cfg.AccessRuleDefined(rule) {
		msg := fmt.Sprintf("access rule %q is not defined in [access] (the built-in rules are \"all\" and \"none\")", rule)
		if s := closest(rule, sortedKeys(cfg.AccessRules)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		c.errorf(key, "%s", msg)
		return
	}
	if allowed == nil {
		return
	}
	for i, cl := range cfg.AccessRules[rule] {
		if problem := allowed(cl); problem != "" {
			c.errorf(fmt.Sprintf("%s[%d].value", joinKey("access", rule), i), "%s (the rule is used by %s)", problem, key)
		}
	}
}

// allowDeny accepts the values of a rule that decides access.
func allowDeny(cl AccessClause) string {
	if cl.IsInt || (cl.Value != "allow" && cl.Value != "deny") {
		return fmt.Sprintf(`must be "allow" or "deny", got %s`, quoteValue(cl))
	}
	return ""
}

// positiveOrInfinity accepts the values of a rule that gives a limit.
func positiveOrInfinity(cl AccessClause) string {
	if (cl.IsInt && cl.Int > 0) || cl.Value == "infinity" {
		return ""
	}
	return fmt.Sprintf(`must be a positive integer or "infinity", got %s`, quoteValue(cl))
}

func quoteValue(cl AccessClause) string {
	if cl.IsInt {
		return cl.Value
	}
	return fmt.Sprintf("%q", cl.Value)
}

// checkUnusedRules warns about [access] rules nothing in Gander consults:
// they have no effect (for example MongooseIM's MAM rules).
func (cfg *Config) checkUnusedRules(c *checker) {
	for _, name := range sortedKeys(cfg.AccessRules) {
		if !cfg.usedRules[name] {
			c.warnf(joinKey("access", name), "no option of this configuration uses this rule, so it has no effect in Gander")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// closest returns the candidate nearest to s if it is close enough to be a
// plausible typo, or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, n := range candidates {
		if d := editDistance(s, n); d < bestD && d < len(n) && n != s {
			best, bestD = n, d
		}
	}
	return best
}

// tomlKind describes a decoded TOML value for messages.
func tomlKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return "a date or time"
	}
}
