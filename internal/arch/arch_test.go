package arch

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/gander-xmpp/gander/"

// deps lists the transitive imports of pkg with the go tool.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestBoundaries(t *testing.T) {
	cases := []struct {
		pkg       string
		forbidden []string // import path prefixes
		ownOK     []string // the only packages of ours allowed (nil: any)
	}{
		// The protocol packages import nothing else of ours.
		{"internal/xmlstream", nil, []string{"internal/xmlstream"}},
		{"internal/jid", nil, []string{"internal/jid"}},
		{"internal/stanza", nil, []string{"internal/stanza", "internal/xmlstream"}},
		// The XMPP core imports neither database/sql, a driver, nor GraphQL.
		{"internal/c2s", []string{"database/sql", "github.com/jackc/", "modernc.org/sqlite", "github.com/99designs/gqlgen", mod + "internal/db", mod + "internal/api", mod + "internal/mod/"}, nil},
		{"internal/router", []string{"database/sql", "github.com/jackc/", "modernc.org/sqlite", "github.com/99designs/gqlgen", mod + "internal/db", mod + "internal/api", mod + "internal/mod/"}, nil},
		{"internal/iq", []string{"database/sql", "github.com/jackc/", "modernc.org/sqlite", "github.com/99designs/gqlgen", mod + "internal/db", mod + "internal/api", mod + "internal/mod/"}, nil},
		{"internal/hooks", []string{"database/sql", "github.com/jackc/", "modernc.org/sqlite", "github.com/99designs/gqlgen", mod + "internal/db", mod + "internal/api", mod + "internal/mod/"}, nil},
		// The configuration imports nothing of ours, so that every feature
		// may take its section without a cycle (docs/architecture.md).
		{"internal/config", nil, []string{"internal/config"}},
	}
	for _, c := range cases {
		t.Run(c.pkg, func(t *testing.T) {
			for _, d := range deps(t, c.pkg) {
				for _, f := range c.forbidden {
					if strings.HasPrefix(d, f) {
						t.Errorf("%s imports %s (forbidden: %s)", c.pkg, d, f)
					}
				}
				if c.ownOK != nil && strings.HasPrefix(d, mod) {
					ok := false
					for _, o := range c.ownOK {
						if d == mod+o {
							ok = true
						}
					}
					if !ok {
						t.Errorf("%s imports %s; it may import only %v of ours", c.pkg, d, c.ownOK)
					}
				}
			}
		})
	}
}

// TestOnlyTheRootImportsTheTransport: sessions are seen through
// router.Session (docs/architecture.md, "One session interface"); only the
// composition root builds the c2s listeners, so no feature, the API layer or
// the router can depend on the concrete connection.
func TestOnlyTheRootImportsTheTransport(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{mod + "internal/server": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if imp == mod+"internal/c2s" && !allowed[f[0]] {
				t.Errorf("%s imports internal/c2s; use router.Session", f[0])
			}
		}
	}
}

// TestFeaturesDoNotImportEachOther: features meet through hooks.
func TestFeaturesDoNotImportEachOther(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"internal/mod/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, mod+"internal/mod/") && imp != f[0] {
				t.Errorf("feature %s imports feature %s", f[0], imp)
			}
			if strings.HasPrefix(imp, mod+"internal/api") {
				t.Errorf("feature %s imports the API layer %s", f[0], imp)
			}
		}
	}
}
