package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

type countingAccounts struct{ Accounts }

func (countingAccounts) CountUsers(context.Context, string) (int, error) { return 3, nil }

// BenchmarkAdminRequest measures the API's own cost for one small POST:
// JSON decoding, parsing and validation, the coercion and permission walk,
// execution and encoding (the service behind it is a fake).
func BenchmarkAdminRequest(b *testing.B) {
	h := NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql"}, Deps{Accounts: countingAccounts{}, Router: oneDomain{}})
	body := []byte(`{"query": "query($d: DomainName!) { account { countUsers(domain: $d) } }", "variables": {"d": "localhost"}}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "http://localhost/api/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}
