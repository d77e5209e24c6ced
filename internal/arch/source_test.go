package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// srcFile is one parsed non-test, hand-written Go file of the module.
type srcFile struct {
	path string // relative to the module root
	pkg  string // directory relative to the module root
	f    *ast.File
	fset *token.FileSet
}

// moduleRoot is the repository root (two levels above this file).
func moduleRoot(t *testing.T) string {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(here), "..", "..")
}

// sources parses the hand-written, non-test Go files under internal/ and
// cmd/ (generated files say so in their first comment, as gqlgen's do).
// Test-support packages (dbtest, servertest: a name ending in "test") are
// left out: they live in a test process, where a per-process cache or turn
// is what they are for.
func sources(t *testing.T) []srcFile {
	t.Helper()
	root := moduleRoot(t)
	fset := token.NewFileSet()
	var out []srcFile
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasSuffix(d.Name(), "test")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
			if err != nil {
				return err
			}
			if ast.IsGenerated(f) {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			out = append(out, srcFile{path: filepath.ToSlash(rel), pkg: filepath.ToSlash(filepath.Dir(rel)), f: f, fset: fset})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 50 {
		t.Fatalf("found only %d source files under %s: wrong root?", len(out), root)
	}
	return out
}

// immutable lists the package-level variables that are not errors and are
// allowed: values that are never written after initialisation (lookup
// tables, immutable library values, a lazily made per-process secret). A
// new global needs a reason to be here; a mutable one belongs in a struct
// built by the composition root (internal/server) instead.
var immutable = map[string]string{
	"internal/auth.fakeSecret":           "sync.OnceValue: made once, read-only",
	"internal/jid.mapProfile":            "idna.Profile is immutable",
	"internal/jid.strictProfile":         "idna.Profile is immutable",
	"internal/config.InboxReservedBoxes": "constant table",
	"internal/api.DefaultLimits":         "constant defaults, copied by value",
	"internal/benchreport.Targets":       "constant table",
	"internal/mod/muc.errorTable":        "constant table (the error mapping)",
	"internal/mod/muc.roomFeatures":      "constant table",
	"internal/mod/roster.stNone":         "constant state of the RFC 6121 table",
	"internal/mod/roster.stNoneOut":      "constant state of the RFC 6121 table",
	"internal/mod/roster.stNoneIn":       "constant state of the RFC 6121 table",
	"internal/mod/roster.stNoneOutIn":    "constant state of the RFC 6121 table",
	"internal/mod/roster.stTo":           "constant state of the RFC 6121 table",
	"internal/mod/roster.stToIn":         "constant state of the RFC 6121 table",
	"internal/mod/roster.stFrom":         "constant state of the RFC 6121 table",
	"internal/mod/roster.stFromOut":      "constant state of the RFC 6121 table",
	"internal/mod/roster.stBoth":         "constant state of the RFC 6121 table",
	"internal/stanza.conditions":         "constant table (the one stanza error table)",
	"cmd/gander-bench.scenarios":         "constant table",
	"cmd/gander-bench.unescaper":         "strings.Replacer is safe for concurrent use and immutable",
	"cmd/gander-bench.escaper":           "strings.Replacer is safe for concurrent use and immutable",
	"internal/mod/muclight.errParse":     "an error value",
	"internal/mod/muclight.errRSM":       "an error value",
}

// TestNoMutableGlobals enforces "no package globals" (docs/architecture.md):
// a package-level variable is an error (named Err…/err…), an embedded file
// system (//go:embed), or listed in immutable with a reason; and nothing
// assigns to a listed one.
func TestNoMutableGlobals(t *testing.T) {
	files := sources(t)
	for _, sf := range files {
		for _, d := range sf.f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			embedded := isEmbed(g.Doc) || hasEmbed(g)
			for _, s := range g.Specs {
				for _, n := range s.(*ast.ValueSpec).Names {
					name := n.Name
					switch {
					case name == "_": // compile-time interface checks
					case strings.HasPrefix(name, "Err") || strings.HasPrefix(name, "err"):
					case embedded:
					case immutable[sf.pkg+"."+name] != "":
					default:
						t.Errorf("%s: package-level variable %s: build it in internal/server and inject it, or (if it is never written) list it in internal/arch's immutable table with a reason",
							sf.fset.Position(n.Pos()), name)
					}
				}
			}
		}
	}
	// Nothing writes to the listed values.
	names := map[string]bool{}
	for k := range immutable {
		names[k[strings.LastIndexByte(k, '.')+1:]] = true
	}
	for _, sf := range files {
		ast.Inspect(sf.f, func(n ast.Node) bool {
			var targets []ast.Expr
			switch x := n.(type) {
			case *ast.AssignStmt:
				if x.Tok != token.DEFINE {
					targets = x.Lhs
				}
			case *ast.IncDecStmt:
				targets = []ast.Expr{x.X}
			}
			for _, e := range targets {
				if root := rootName(e); names[root] {
					t.Errorf("%s: writes %s, listed as immutable in internal/arch", sf.fset.Position(e.Pos()), root)
				}
			}
			return true
		})
	}
}

// isEmbed reports a //go:embed directive (CommentGroup.Text drops
// directives, so the raw comments are read).
func isEmbed(cg *ast.CommentGroup) bool {
	if cg == nil {
		return false
	}
	for _, c := range cg.List {
		if strings.HasPrefix(c.Text, "//go:embed ") {
			return true
		}
	}
	return false
}

func hasEmbed(g *ast.GenDecl) bool {
	for _, s := range g.Specs {
		if isEmbed(s.(*ast.ValueSpec).Doc) {
			return true
		}
	}
	return false
}

// rootName is the variable an assignment target writes into: x for x,
// x[i], x.f, *x; pkg.X's X for a qualified one.
func rootName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x.Name
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && id.Obj == nil {
				// pkg.Name (an unresolved identifier is an import) or a
				// field of a local: report the selected name for packages.
				return x.Sel.Name
			}
			e = x.X
		default:
			return ""
		}
	}
}

// TestNoInit enforces "no init() with side effects" in the simplest way:
// there is no init function at all; what needs building is built by a
// constructor called from the composition root.
func TestNoInit(t *testing.T) {
	for _, sf := range sources(t) {
		for _, d := range sf.f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "init" {
				t.Errorf("%s: func init: build it in a constructor called from internal/server", sf.fset.Position(fd.Pos()))
			}
		}
	}
}

// TestConstructorsStartNoGoroutine enforces the lifecycle rule of
// docs/architecture.md: a constructor (New…/new…) builds; goroutines start
// in Start. A go statement directly in a constructor's body (not in a
// function literal it returns or stores) is reported.
func TestConstructorsStartNoGoroutine(t *testing.T) {
	for _, sf := range sources(t) {
		for _, d := range sf.f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || !(strings.HasPrefix(fd.Name.Name, "New") || strings.HasPrefix(fd.Name.Name, "new")) {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.FuncLit:
					return false
				case *ast.GoStmt:
					t.Errorf("%s: %s starts a goroutine; start it in Start(ctx)", sf.fset.Position(x.Pos()), fd.Name.Name)
				}
				return true
			})
		}
	}
}

// TestNoGlobalPrometheusRegistration: metrics go to the registry the
// composition root injects, never to the process-wide default one.
func TestNoGlobalPrometheusRegistration(t *testing.T) {
	forbidden := map[string]bool{"MustRegister": true, "Register": true, "DefaultRegisterer": true, "DefaultGatherer": true}
	for _, sf := range sources(t) {
		for _, imp := range sf.f.Imports {
			if strings.Contains(imp.Path.Value, "prometheus/promauto") {
				t.Errorf("%s: promauto registers globally", sf.fset.Position(imp.Pos()))
			}
		}
		ast.Inspect(sf.f, func(n ast.Node) bool {
			if se, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := se.X.(*ast.Ident); ok && id.Name == "prometheus" && forbidden[se.Sel.Name] {
					t.Errorf("%s: prometheus.%s uses the global registry", sf.fset.Position(se.Pos()), se.Sel.Name)
				}
			}
			return true
		})
	}
}
