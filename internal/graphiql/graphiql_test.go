package graphiql

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path, acceptEncoding string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if acceptEncoding != "" {
		r.Header.Set("Accept-Encoding", acceptEncoding)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAssets(t *testing.T) {
	h := Assets()
	gz := get(t, h, "/api/graphql/graphiql/react.production.min.js", "gzip, br")
	if gz.Code != 200 || gz.Header().Get("Content-Encoding") != "gzip" || !strings.HasPrefix(gz.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("gzip: %d %v", gz.Code, gz.Header())
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	plain := get(t, h, "/api/graphql/graphiql/react.production.min.js", "")
	if plain.Code != 200 || plain.Header().Get("Content-Encoding") != "" || !bytes.Equal(plain.Body.Bytes(), unzipped) ||
		!bytes.Contains(unzipped, []byte("React")) {
		t.Fatalf("identity: %d %v, %d bytes", plain.Code, plain.Header(), plain.Body.Len())
	}
	if w := get(t, h, "/api/graphql/graphiql/react.production.min.js", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 got gzip")
	}
	if w := get(t, h, "/x/graphiql/init.js", ""); w.Code != 200 || !strings.Contains(w.Body.String(), "createFetcher") {
		t.Errorf("init.js: %d", w.Code)
	}
	if w := get(t, h, "/x/graphiql/LICENSE.graphiql.txt", ""); w.Code != 200 || !strings.Contains(w.Body.String(), "MIT") {
		t.Errorf("licence: %d", w.Code)
	}
	for _, p := range []string{"/x/graphiql/nope.js", "/x/graphiql/", "/x/graphiql/../graphiql.go", "/x/graphiql/assets/init.js", "/x/other"} {
		if w := get(t, h, p, ""); w.Code != 404 {
			t.Errorf("%s: %d, want 404", p, w.Code)
		}
	}
}

func TestPage(t *testing.T) {
	w := get(t, Page("Gander GraphQL (admin)", "/api/graphql"), "/api/graphql", "")
	body := w.Body.String()
	for _, want := range []string{`data-endpoint="graphql"`, `src="graphql/graphiql/graphiql.min.js"`, "<title>Gander GraphQL (admin)</title>"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "//cdn") || strings.Contains(body, "https://") {
		t.Errorf("page refers to another site:\n%s", body)
	}
	if !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("CSP = %q", w.Header().Get("Content-Security-Policy"))
	}
}
