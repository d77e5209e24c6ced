// Package graphiql serves GraphiQL, the in-browser GraphQL IDE, for the
// GraphQL endpoints (docs/api.md, "GraphiQL"). The page and everything it
// loads are embedded in the binary, so it works with no network access:
// GraphiQL 3.8.3, React 18.3.1 and ReactDOM 18.3.1, pinned in
// npm/package-lock.json and copied into assets/ by generate.sh (go
// generate), which stores the bundles gzip-compressed. Their licences are in
// assets/LICENSE.*.txt.
package graphiql

//go:generate sh generate.sh

import (
	"bytes"
	"compress/gzip"
	"embed"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// AssetsDir is where, below a GraphQL endpoint's path, the page's assets
// are served: an endpoint at /api/graphql has them at
// /api/graphql/graphiql/.
const AssetsDir = "graphiql"

// csp keeps the page to its own origin: scripts only from the embedded
// files, queries only to this server. GraphiQL sets inline styles, and its
// stylesheet carries its fonts as data: URLs.
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"font-src 'self' data:; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageHTML is the page's template.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="stylesheet" href="{{.Assets}}/graphiql.min.css">
<link rel="stylesheet" href="{{.Assets}}/page.css">
</head>
<body>
<div id="graphiql" data-endpoint="{{.Endpoint}}">Loading GraphiQL…</div>
<script src="{{.Assets}}/react.production.min.js"></script>
<script src="{{.Assets}}/react-dom.production.min.js"></script>
<script src="{{.Assets}}/graphiql.min.js"></script>
<script src="{{.Assets}}/init.js"></script>
</body>
</html>
`

// Page returns the handler of the GraphiQL page of the endpoint served at
// endpointPath (for example "/api/graphql"). Its URLs are relative, so the
// page also works behind a proxy that adds a path prefix; mount Assets at
// endpointPath + "/" + AssetsDir + "/".
func Page(title, endpointPath string) http.Handler {
	base := path.Base(endpointPath)
	var b bytes.Buffer
	page := template.Must(template.New("page").Parse(pageHTML))
	err := page.Execute(&b, struct{ Title, Endpoint, Assets string }{title, base, base + "/" + AssetsDir})
	if err != nil {
		panic("graphiql: page template: " + err.Error()) // constant template and data
	}
	body := b.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		w.Write(body)
	})
}

// Assets returns the handler of the embedded files; it expects the request
// path to end in "/<AssetsDir>/<file>". Compressed bundles are sent as they
// are stored to clients that accept gzip and decompressed for the others.
func Assets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, name, ok := strings.Cut(r.URL.Path, "/"+AssetsDir+"/")
		if !ok || name == "" || strings.Contains(name, "/") || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		ctype := mime.TypeByExtension(path.Ext(name))
		if strings.HasSuffix(name, ".txt") {
			ctype = "text/plain; charset=utf-8"
		}
		h.Set("Content-Type", ctype)
		h.Set("X-Content-Type-Options", "nosniff")
		// The files change only with the binary.
		h.Set("Cache-Control", "public, max-age=3600")
		if data, err := fs.ReadFile(assets, "assets/"+name); err == nil {
			w.Write(data)
			return
		}
		data, err := fs.ReadFile(assets, "assets/"+name+".gz")
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			w.Write(data)
			return
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			http.Error(w, "corrupt asset", http.StatusInternalServerError)
			return
		}
		io.Copy(w, zr)
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}
