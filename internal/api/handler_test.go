package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// fakes for the failure paths that a real server does not produce on
// demand.
type brokenAccounts struct{ Accounts }

func (brokenAccounts) CountUsers(context.Context, string) (int, error) {
	return 0, errors.New("database is down")
}

func (brokenAccounts) ListUsers(context.Context, string, int, int) ([]string, error) {
	panic("boom")
}

type oneDomain struct{}

func (oneDomain) RouteFromUser(context.Context, jid.JID, jid.JID, *xmlstream.Element) {}
func (oneDomain) IsLocal(d string) bool                                               { return d == "localhost" }
func (oneDomain) Domains() []string                                                   { return []string{"localhost"} }

type brokenDomainAdmins struct{ DomainAdmins }

func (brokenDomainAdmins) CheckPassword(context.Context, string, string) (bool, error) {
	return false, errors.New("database is down")
}

func serve(t *testing.T, h http.Handler, user, pass, query string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req := httptest.NewRequest(http.MethodPost, "http://localhost/api/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m), rec.Body.String())
	return rec.Code, m
}

func firstError(t *testing.T, m map[string]any) (code, msg string) {
	t.Helper()
	errs := m["errors"].([]any)
	e := errs[0].(map[string]any)
	return e["extensions"].(map[string]any)["code"].(string), e["message"].(string)
}

func TestResolverFailures(t *testing.T) {
	h := NewHandler(Options{Endpoint: EndpointAdmin, Path: "/api/graphql"}, Deps{Accounts: brokenAccounts{}, Router: oneDomain{}})
	st, m := serve(t, h, "", "", `{ account { countUsers(domain: "localhost") } }`)
	require.Equal(t, 200, st)
	code, msg := firstError(t, m)
	require.Equal(t, "resolver_crash", code)
	require.Equal(t, "Unexpected error resolver crash", msg)

	st, m = serve(t, h, "", "", `{ account { listUsers(domain: "localhost") } }`)
	require.Equal(t, 200, st)
	code, _ = firstError(t, m)
	require.Equal(t, "resolver_crash", code)
	require.Nil(t, m["data"].(map[string]any)["account"].(map[string]any)["listUsers"])
}

func TestDomainAdminStoreFailure(t *testing.T) {
	h := NewHandler(Options{Endpoint: EndpointDomainAdmin, Path: "/api/graphql"}, Deps{Router: oneDomain{}, DomainAdmins: brokenDomainAdmins{}})
	st, m := serve(t, h, "admin@localhost", "x", `{ checkAuth { authStatus } }`)
	require.Equal(t, 500, st)
	code, msg := firstError(t, m)
	require.Equal(t, "internal_server_error", code)
	require.Equal(t, "GraphQL Internal Server Error", msg)
	_, hasData := m["data"]
	require.False(t, hasData)
}

func TestModuleGating(t *testing.T) {
	r := &Resolver{deps: Deps{Router: oneDomain{}, ModuleEnabled: func(_, m string) bool { return m == "mod_roster" }}}
	require.NoError(t, r.requireModules("localhost", "mod_roster"))
	// An unknown domain skips the check (spec/server.md §2.5).
	require.NoError(t, r.requireModules("example.org", "mod_inbox"))
	err := r.requireModules("localhost", "mod_roster", "mod_inbox", "mod_muc_light")
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "deps_not_loaded", e.Code)
	require.Equal(t, "Some of the required modules are not loaded", e.Message)
	require.Equal(t, []string{"mod_inbox", "mod_muc_light"}, e.Ext["not_loaded_modules"])
	e = notLoaded([]string{"mod_a"}, []string{"service_b"}).(*Error)
	require.Equal(t, "Some of the required modules and services are not loaded", e.Message)
	require.NoError(t, notLoaded(nil, nil))
}
