package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// The hostile documents of issue 16 (docs/security.md, "GraphQL limits").

// doublingFragments is F1 { ...F0 ...F0 } ... Fn: 2^n fields once
// expanded, in about 50 bytes per level.
func doublingFragments(n int, leaf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { ...F%d }\nfragment F0 on AdminQuery { %s }\n", n, leaf)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on AdminQuery { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

func aliases(n int, sel string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " a%d: %s", i, sel)
	}
	b.WriteString(" }")
	return b.String()
}

func nestedInline(n int) string {
	return "{" + strings.Repeat(" ... on AdminQuery {", n) + " __typename" + strings.Repeat(" }", n) + " }"
}

func nestedFields(n int) string {
	// __type(name:) { ofType { ofType ... } } nests as deep as asked.
	return `{ __type(name: "AdminQuery") {` + strings.Repeat(" ofType {", n) + " name" + strings.Repeat(" }", n) + " } }"
}

func post(h http.Handler, user, pass, query string) *httptest.ResponseRecorder {
	body, _ := json.Marshal(map[string]any{"query": query})
	req := httptest.NewRequest(http.MethodPost, "http://localhost/api/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

type limitCase struct {
	name, query, limit string
	status             int
}

func hostileDocuments() []limitCase {
	return []limitCase{
		{"doubling fragments F24", doublingFragments(24, "checkAuth { authStatus }"), "max_fields", 400},
		{"doubling fragments F24 of a protected field", doublingFragments(24, `account { countUsers(domain: "localhost") }`), "max_fields", 400},
		{"30,000 aliases", aliases(30000, "__typename"), "max_request_size", 413},
		{"3,000 aliases", aliases(3000, "__typename"), "max_aliases", 400},
		{"150 aliases", aliases(150, "__typename"), "max_aliases", 400},
		{"1,100 fields", "{" + strings.Repeat(" __typename", 1100) + " }", "max_fields", 400},
		{"1,990 fields (the most max_tokens lets reach the parser)", "{" + strings.Repeat(" __typename", 1990) + " }", "max_fields", 400},
		{"3,000 aliased __schema", aliases(3000, "__schema { types { name } }"), "max_aliases", 400},
		{"a default value of 3,000 numbers", "query($a: [Int] = [" + strings.Repeat("1 ", 3000) + "]) { __typename }", "max_tokens", 400},
		{"two aliased __schema", aliases(2, "__schema { types { name } }"), "__schema", 400},
		{"40,000 nested inline fragments", nestedInline(40000), "max_request_size", 413},
		{"500 nested inline fragments", nestedInline(500), "max_tokens", 400},
		{"fields 30 deep", nestedFields(30), "max_depth", 400},
	}
}

// TestLimitsRejectHostileDocuments: each document is refused with HTTP 400
// (413 when it is over max_request_size) limit_exceeded naming the limit, on the domain_admin endpoint without
// credentials and on the admin endpoint without configured credentials
// (where everyone is the admin).
func TestLimitsRejectHostileDocuments(t *testing.T) {
	deps := Deps{Accounts: countingAccounts{}, Router: oneDomain{}, DomainAdmins: brokenDomainAdmins{}}
	endpoints := map[string]*Handler{
		"domain_admin": NewHandler(Options{Endpoint: EndpointDomainAdmin, Path: "/api/graphql"}, deps),
		"open admin":   NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql"}, deps),
	}
	for name, h := range endpoints {
		for _, c := range hostileDocuments() {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				rec := post(h, "", "", c.query)
				require.Equal(t, c.status, rec.Code, rec.Body.String())
				var m map[string]any
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
				require.NotContains(t, m, "data")
				e := m["errors"].([]any)[0].(map[string]any)
				ext := e["extensions"].(map[string]any)
				require.Equal(t, "limit_exceeded", ext["code"], e)
				require.Equal(t, c.limit, ext["limit"], e)
				require.Contains(t, e["message"], c.limit)
			})
		}
	}
}

// TestLimitsLetRealQueriesThrough: GraphiQL's introspection query, a
// 100-alias batch and a plain query pass the default limits.
func TestLimitsLetRealQueriesThrough(t *testing.T) {
	h := NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql"}, Deps{Accounts: countingAccounts{}, Router: oneDomain{}})
	rec := post(h, "", "", introspection.Query)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"queryType":{"name":"AdminQuery"}`)
	rec = post(h, "", "", aliases(100, `account { countUsers(domain: "localhost") }`))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"a99":{"countUsers":3}`)
	// Fragments spread a few times are fine, and counted once each use.
	rec = post(h, "", "", doublingFragments(5, `account { countUsers(domain: "localhost") }`))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// TestLimitsConfigurable: lower limits bite, gqlgen's complexity limit
// included, with the same error shape.
func TestLimitsConfigurable(t *testing.T) {
	deps := Deps{Accounts: countingAccounts{}, Router: oneDomain{}}
	q := `{ account { a: countUsers(domain: "localhost") b: countUsers(domain: "localhost") } }`
	for _, c := range []struct {
		limits Limits
		limit  string
		msg    string
	}{
		{Limits{MaxComplexity: 2}, "max_complexity", "The query exceeds the limit max_complexity = 2 (it has 3)"},
		{Limits{MaxAliases: 1}, "max_aliases", "The query exceeds the limit max_aliases = 1 (it has 2)"},
		{Limits{MaxFields: 2}, "max_fields", "The query exceeds the limit max_fields = 2 (it has 3)"},
		{Limits{MaxDepth: 1}, "max_depth", "The query exceeds the limit max_depth = 1 (it has 2)"},
		{Limits{MaxTokens: 10}, "max_tokens", "The query exceeds the limit max_tokens = 10"},
		{Limits{MaxRequestSize: 50}, "max_request_size", "The query exceeds the limit max_request_size = 50"},
	} {
		h := NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql", Limits: c.limits}, deps)
		rec := post(h, "", "", q)
		if c.limit == "max_request_size" {
			require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
		} else {
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
		}
		code, msg := firstError(t, decode(t, rec))
		require.Equal(t, "limit_exceeded", code)
		require.Equal(t, c.msg, msg)
	}
	h := NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql", Limits: Limits{MaxComplexity: 3}}, deps)
	require.Equal(t, http.StatusOK, post(h, "", "", q).Code)
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m), rec.Body.String())
	return m
}

// TestIntrospectionNeedsCredentials: where the admin schema has
// credentials (admin with username/password, domain_admin), introspection
// is for authenticated requests only; without configured credentials
// every request is the admin (spec server.md §2.3) and may introspect.
func TestIntrospectionNeedsCredentials(t *testing.T) {
	deps := Deps{Accounts: countingAccounts{}, Router: oneDomain{}, DomainAdmins: brokenDomainAdmins{}}
	locked := NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql", Username: "admin", Password: "secret"}, deps)
	domain := NewHandler(Options{Endpoint: EndpointDomainAdmin, Path: "/api/graphql"}, deps)
	open := NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql"}, deps)
	for _, q := range []string{introspection.Query, `{ __type(name: "AdminQuery") { name } }`,
		"{ ...F } fragment F on AdminQuery { __schema { queryType { name } } }"} {
		for _, h := range []*Handler{locked, domain} {
			rec := post(h, "", "", q)
			require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
			code, msg := firstError(t, decode(t, rec))
			require.Equal(t, "no_permissions", code)
			require.Contains(t, msg, "without permissions")
		}
		require.Equal(t, http.StatusOK, post(locked, "admin", "secret", q).Code)
		require.Equal(t, http.StatusOK, post(open, "", "", q).Code)
	}
	// __typename and checkAuth stay open.
	rec := post(domain, "", "", "{ __typename checkAuth { authStatus } }")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// TestCheckWalksEachFragmentOnce: the coercion and permission walk visits
// a fragment once however often it is spread (with limits high enough to
// let the document reach it).
func TestCheckWalksEachFragmentOnce(t *testing.T) {
	h := NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql"}, Deps{Accounts: countingAccounts{}, Router: oneDomain{}})
	doc, err := parser.ParseQuery(&ast.Source{Input: doublingFragments(30, `account { countUsers(domain: "localhost") }`)})
	require.NoError(t, err)
	require.Empty(t, validator.ValidateWithRules(h.es.Schema(), doc, nil))
	op := &graphql.OperationContext{Doc: doc, Operation: doc.Operations[0], Variables: map[string]any{}}
	w := &walker{schema: h.es.Schema(), op: op}
	visits := 0
	require.Nil(t, w.walk(op.Operation.SelectionSet, func(*ast.Field, map[string]any) *httpError { visits++; return nil }))
	require.Equal(t, 2, visits) // account, countUsers
	require.Nil(t, h.check(op, caller{kind: EndpointAdmin}))
	// A domain admin is still refused a field outside its domain, found
	// through the fragments.
	doc, err = parser.ParseQuery(&ast.Source{Input: doublingFragments(30, `account { countUsers(domain: "other") }`)})
	require.NoError(t, err)
	require.Empty(t, validator.ValidateWithRules(h.es.Schema(), doc, nil))
	op = &graphql.OperationContext{Doc: doc, Operation: doc.Operations[0], Variables: map[string]any{}}
	herr := h.check(op, caller{kind: EndpointDomainAdmin, domain: "localhost"})
	require.NotNil(t, herr)
	require.Equal(t, "no_permissions", herr.Code)
}

// BenchmarkRejectHostile measures what each hostile document of issue 16
// costs the server once the limits refuse it (docs/security.md quotes the
// figures): go test ./internal/api -run '^$' -bench RejectHostile -benchtime 200x
func BenchmarkRejectHostile(b *testing.B) {
	h := NewHandler(Options{Endpoint: EndpointDomainAdmin, Path: "/api/graphql"},
		Deps{Accounts: countingAccounts{}, Router: oneDomain{}, DomainAdmins: brokenDomainAdmins{}})
	for _, c := range hostileDocuments() {
		body, _ := json.Marshal(map[string]any{"query": c.query})
		b.Run(strings.ReplaceAll(c.name, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "http://localhost/api/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != c.status {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
			// CPU time, not wall time: the figure holds on a busy machine.
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// TestHostCheck: the admin endpoint without credentials answers loopback
// Host names only (a DNS-rebinding page sends its own name), unless
// allowed_hosts lists others; endpoints with credentials answer any Host
// unless allowed_hosts is set.
func TestHostCheck(t *testing.T) {
	deps := Deps{Accounts: countingAccounts{}, Router: oneDomain{}}
	req := func(h *Handler, host string) int {
		body := []byte(`{"query": "{ __typename }"}`)
		r := httptest.NewRequest(http.MethodPost, "http://localhost/api/graphql", bytes.NewReader(body))
		r.Host = host
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusForbidden {
			code, msg := firstError(t, decode(t, rec))
			require.Equal(t, "host_not_allowed", code)
			require.Contains(t, msg, host)
		}
		return rec.Code
	}
	open := NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql"}, deps)
	for _, host := range []string{"localhost", "localhost:5551", "LOCALHOST.", "admin.localhost:80", "127.0.0.1:5551", "127.1.2.3", "[::1]:5551", "::1"} {
		require.Equal(t, http.StatusOK, req(open, host), host)
	}
	for _, host := range []string{"rebind.evil:17552", "rebind.evil", "10.0.0.1:5551", "[fe80::1]:5551", "localhost.evil", "", "127.0.0.1.evil"} {
		require.Equal(t, http.StatusForbidden, req(open, host), host)
	}
	listed := NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql", AllowedHosts: []string{"admin.example.net"}}, deps)
	require.Equal(t, http.StatusOK, req(listed, "admin.example.net:5551"))
	require.Equal(t, http.StatusOK, req(listed, "ADMIN.example.net"))
	require.Equal(t, http.StatusForbidden, req(listed, "localhost"))
	locked := NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql", Username: "admin", Password: "secret"}, deps)
	require.Equal(t, http.StatusOK, req(locked, "xmpp.example.net"))
	user := NewHandler(Options{Endpoint: EndpointDomainAdmin, Path: "/api/graphql"}, deps)
	require.Equal(t, http.StatusOK, req(user, "xmpp.example.net"))
}
