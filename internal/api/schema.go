package api

import (
	"embed"
	"io/fs"
	"sort"

	"github.com/vektah/gqlparser/v2/ast"
)

//go:embed schema/*.graphqls
var schemaFiles embed.FS

// SchemaSources returns the admin schema's SDL files, sorted by name; the
// ctl command builds its commands from them.
func SchemaSources() []*ast.Source {
	names, _ := fs.Glob(schemaFiles, "schema/*.graphqls")
	sort.Strings(names)
	out := make([]*ast.Source, 0, len(names))
	for _, n := range names {
		b, _ := schemaFiles.ReadFile(n)
		out = append(out, &ast.Source{Name: n, Input: string(b)})
	}
	return out
}
