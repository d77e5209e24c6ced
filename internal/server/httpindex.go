package server

import (
	"html/template"
	"net/http"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/graphiql"
)

// mountIndex serves, on an HTTP listener, the GraphiQL assets of each
// GraphQL endpoint and a small page at / that lists what the listener
// serves (docs/api.md); any other unknown path is a 404.
func (s *Server) mountIndex(mux *http.ServeMux, h config.HTTP) {
	for _, g := range h.Handlers.GraphQL {
		mux.Handle(g.Path+"/"+graphiql.AssetsDir+"/", graphiql.Assets())
	}
	type link struct{ Path, What string }
	var links []link
	for _, g := range h.Handlers.GraphQL {
		links = append(links, link{g.Path, "GraphQL API, " + g.SchemaEndpoint + " endpoint (open it in a browser for GraphiQL)"})
	}
	for _, p := range h.Handlers.Prometheus {
		links = append(links, link{p.Path, "Prometheus metrics"})
	}
	links = append(links, link{"/health", "liveness"}, link{"/health/ready", "readiness"})
	data := struct {
		Version string
		Links   []link
	}{Version, links}
	indexPage := template.Must(template.New("index").Parse(indexHTML))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		indexPage.Execute(w, data)
	})
}

// indexHTML is the template of the page at / of an HTTP listener.
const indexHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Gander</title>
<style>body{font-family:sans-serif;margin:2em;max-width:50em}code{font-size:1.1em}</style></head>
<body><h1>Gander {{.Version}}</h1>
<p>This HTTP listener serves:</p>
<ul>{{range .Links}}<li><a href="{{.Path}}"><code>{{.Path}}</code></a>: {{.What}}</li>
{{end}}</ul>
<p>The XMPP server itself listens on its c2s port; see docs/api.md for the API and gander ctl.</p>
</body></html>
`
