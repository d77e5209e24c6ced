package config

import (
	"strings"
	"testing"
)

func TestACLAndAccess(t *testing.T) {
	c, err := Parse([]byte(base+`[[listen.c2s]]
port = 5222
access = "c2s"
shaper = "c2s_shaper"
[shaper.normal]
max_rate = 1000
[acl]
local = [{}]
admin = [{user = "alice", server = "localhost"}, {user_glob = "adm*", match = "any_hosted_domain"}]
[acl.old_style]
user_regexp = "^bot"
[access]
c2s = [{acl = "local", value = "allow"}, {acl = "all", value = "allow"}]
c2s_shaper = [{acl = "all", value = "normal"}]
`), "gander.toml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if p := c.ACLClasses["admin"]; len(p) != 2 || p[0].User != "alice" || p[0].Server != "localhost" || p[0].Match != "current_domain" ||
		p[1].UserGlob != "adm*" || p[1].Match != "any_hosted_domain" {
		t.Errorf("admin = %+v", p)
	}
	if p := c.ACLClasses["old_style"]; len(p) != 1 || p[0].UserRegexp != "^bot" {
		t.Errorf("old_style = %+v", p)
	}
	if got := c.ListenerShaper(c.Listen.C2S[0]); got != 1000 {
		t.Errorf("ListenerShaper = %d, want 1000 (from the rule c2s_shaper)", got)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}
}

func TestACLAndAccessErrors(t *testing.T) {
	tests := []struct {
		name, doc, key, msg string
		warning             bool
	}{
		{"bad regexp", "[acl]\nx = [{user_regexp = \"(?<=a)\"}]\n", "acl.x[0].user_regexp", "invalid regular expression", false},
		{"bad glob", "[acl]\nx = [{user_glob = \"[ab\"}]\n", "acl.x[0].user_glob", "invalid glob", false},
		{"unknown condition", "[acl]\nx = [{usr = \"a\"}]\n", "acl.x[0].usr", `did you mean "user"?`, false},
		{"two user conditions", "[acl]\nx = [{user = \"a\", user_glob = \"b*\"}]\n", "acl.x[0]", "cannot be combined", false},
		{"bad match", "[acl]\nx = [{match = \"some\"}]\n", "acl.x[0].match", `must be one of "all", "current_domain"`, false},
		{"class not an array", "[acl]\nx = 3\n", "acl.x", "expected an array of patterns", false},
		{"clause without value", "[access]\nr = [{acl = \"all\"}]\n", "access.r[0].value", "is required", false},
		{"clause bad key", "[access]\nr = [{acl = \"all\", vaule = \"allow\"}]\n", "access.r[0].vaule", `did you mean "value"?`, false},
		{"redefine all", "[access]\nall = [{acl = \"all\", value = \"deny\"}]\n", "access.all", "built-in rule", false},
		{"undefined rule", "[[listen.c2s]]\nport = 5222\naccess = \"c2z\"\n[access]\nc2s = [{acl = \"all\", value = \"allow\"}]\n",
			"listen.c2s[0].access", `access rule "c2z" is not defined in [access] (the built-in rules are "all" and "none"); did you mean "c2s"?`, false},
		{"rule value not allow/deny", "[[listen.c2s]]\nport = 5222\naccess = \"c2s\"\n[access]\nc2s = [{acl = \"all\", value = 10}]\n",
			"access.c2s[0].value", `must be "allow" or "deny", got 10 (the rule is used by listen.c2s[0].access)`, false},
		{"unknown shaper", "[[listen.c2s]]\nport = 5222\nshaper = \"norml\"\n[shaper.normal]\nmax_rate = 1\n",
			"listen.c2s[0].shaper", `(did you mean "normal"?)`, false},
		{"shaper rule value", "[[listen.c2s]]\nport = 5222\nshaper = \"sh\"\n[access]\nsh = [{acl = \"all\", value = \"fast\"}]\n",
			"access.sh[0].value", `must be "none" or the name of a [shaper.NAME], got "fast"`, false},
		{"undefined class", "[[listen.c2s]]\nport = 5222\naccess = \"c2s\"\n[acl]\nblocked = [{user = \"x\"}]\n[access]\nc2s = [{acl = \"blokced\", value = \"allow\"}, {acl = \"all\", value = \"allow\"}]\n",
			"access.c2s[0].acl", `access class "blokced" is not defined in [acl]: this clause never matches (did you mean "blocked"?)`, true},
		{"unused rule", "[access]\nmam_set_prefs = [{acl = \"all\", value = \"default\"}]\n", "access.mam_set_prefs", "no option of this configuration uses this rule", true},
		{"max_user_sessions", "[access]\nmax_user_sessions = [{acl = \"all\", value = 10}]\n", "access.max_user_sessions", "Gander does not implement limiting sessions", false},
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
				list = AsErrors(err)
			}
			for _, e := range list {
				if e.Key == tt.key {
					if !strings.Contains(e.Msg, tt.msg) {
						t.Errorf("message %q, want %q", e.Msg, tt.msg)
					}
					return
				}
			}
			t.Errorf("nothing reported for %s; got %v / %v", tt.key, err, list)
		})
	}
}

func TestGlobRegexp(t *testing.T) {
	for _, tt := range []struct {
		glob, s string
		want    bool
	}{
		{"a*e*", "alice", true}, {"a*e*", "bob", false}, {"res???", "res123", true}, {"res???", "res12", false},
		{"[ab]*", "bob", true}, {"[!ab]*", "bob", false}, {"a.b", "axb", false}, {`a\*`, "a*", true},
	} {
		re, err := GlobRegexp(tt.glob)
		if err != nil {
			t.Fatalf("%q: %v", tt.glob, err)
		}
		if got := re.MatchString(tt.s); got != tt.want {
			t.Errorf("glob %q on %q = %v, want %v", tt.glob, tt.s, got, tt.want)
		}
	}
}
