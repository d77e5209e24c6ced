package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
)

// apiClient talks to a GraphQL endpoint over real HTTP.
type apiClient struct {
	t          *testing.T
	url        string
	user, pass string
	raw        string // raw Authorization header, if set
}

// gqlListener returns an HTTP listener on a random port with one GraphQL
// handler (and /metrics).
func gqlListener(h config.GraphQLHandler) config.HTTP {
	if h.Host == "" {
		h.Host = "_"
	}
	if h.Path == "" {
		h.Path = "/api/graphql"
	}
	return config.HTTP{IPAddress: "127.0.0.1", Port: 0, Handlers: config.Handlers{
		GraphQL:    []config.GraphQLHandler{h},
		Prometheus: []config.PrometheusHandler{{Host: "_", Path: "/metrics"}},
	}}
}

// startAPI starts a server with an admin endpoint (credentials admin /
// secret) and returns it with a client of that endpoint.
func startAPI(t *testing.T, d *db.DB, edit func(*config.Config)) (*testServer, *apiClient) {
	t.Helper()
	srv := startServer(t, d, func(c *config.Config) {
		c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "admin", Username: "admin", Password: "secret"}))
		if edit != nil {
			edit(c)
		}
	})
	return srv, srv.client(t, 0, "admin", "secret")
}

func (s *testServer) client(t *testing.T, listener int, user, pass string) *apiClient {
	return &apiClient{t: t, url: "http://" + s.HTTPAddrs()[listener].String() + "/api/graphql", user: user, pass: pass}
}

// do posts a query and returns the HTTP status and the decoded body.
func (c *apiClient) do(query string, vars map[string]any) (int, map[string]any) {
	c.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(c.t, err)
	return c.post(body)
}

func (c *apiClient) post(body []byte) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	c.auth(req)
	return c.send(req)
}

func (c *apiClient) auth(req *http.Request) {
	switch {
	case c.raw != "":
		req.Header.Set("Authorization", c.raw)
	case c.user != "":
		req.SetBasicAuth(c.user, c.pass)
	}
}

func (c *apiClient) send(req *http.Request) (int, map[string]any) {
	c.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	var m map[string]any
	require.NoError(c.t, json.Unmarshal(b, &m), "body %s", b)
	return resp.StatusCode, m
}

// ok runs a query that must succeed and returns the value at path.
func (c *apiClient) ok(query string, vars map[string]any, path ...string) any {
	c.t.Helper()
	st, m := c.do(query, vars)
	require.Equal(c.t, http.StatusOK, st, "%v", m)
	require.Nil(c.t, m["errors"], "%v", m)
	return at(c.t, m["data"], path...)
}

// fails runs a query whose resolver must fail with code and message; the
// field is null in data and the error has the field's path.
func (c *apiClient) fails(query string, vars map[string]any, code, msg string, path ...string) map[string]any {
	c.t.Helper()
	st, m := c.do(query, vars)
	require.Equal(c.t, http.StatusOK, st, "%v", m)
	errs, _ := m["errors"].([]any)
	require.Len(c.t, errs, 1, "%v", m)
	e := errs[0].(map[string]any)
	ext := e["extensions"].(map[string]any)
	require.Equal(c.t, code, ext["code"], "%v", e)
	require.Equal(c.t, msg, e["message"])
	p := make([]any, len(path))
	for i, x := range path {
		p[i] = x
	}
	require.Equal(c.t, p, e["path"])
	require.Nil(c.t, at(c.t, m["data"], path...))
	return ext
}

// rejected runs a request that must fail as a whole with status, code and
// message, and no data.
func (c *apiClient) rejected(query string, vars map[string]any, status int, code, msg string) {
	c.t.Helper()
	st, m := c.do(query, vars)
	checkRejected(c.t, st, m, status, code, msg)
}

func checkRejected(t *testing.T, st int, m map[string]any, status int, code, msg string) {
	t.Helper()
	require.Equal(t, status, st, "%v", m)
	_, hasData := m["data"]
	require.False(t, hasData, "%v", m)
	errs := m["errors"].([]any)
	require.Len(t, errs, 1)
	e := errs[0].(map[string]any)
	require.Equal(t, code, e["extensions"].(map[string]any)["code"], "%v", e)
	if msg != "" {
		require.Equal(t, msg, e["message"])
	}
}

func at(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		require.True(t, ok, "no %s in %v", p, v)
		v = m[p]
	}
	return v
}

const (
	qRegister = `mutation($domain: DomainName!, $username: UserName, $password: String!) {
		account { registerUser(domain: $domain, username: $username, password: $password) { jid message } } }`
	qRemove     = `mutation($user: JID!) { account { removeUser(user: $user) { jid message } } }`
	qBan        = `mutation($user: JID!, $reason: String!) { account { banUser(user: $user, reason: $reason) { jid message } } }`
	qChangePass = `mutation($user: JID!, $p: String!) { account { changeUserPassword(user: $user, newPassword: $p) { jid message } } }`
	qList       = `query($domain: DomainName!, $limit: PosInt, $index: NonNegInt) { account { listUsers(domain: $domain, limit: $limit, index: $index) } }`
	qCount      = `query($domain: DomainName!) { account { countUsers(domain: $domain) } }`
	qCheckPass  = `query($user: JID!, $p: String!) { account { checkPassword(user: $user, password: $p) { correct message } } }`
	qCheckHash  = `query($user: JID!, $h: String!, $m: String!) { account { checkPasswordHash(user: $user, passwordHash: $h, hashMethod: $m) { correct message } } }`
	qCheckUser  = `query($user: JID!) { account { checkUser(user: $user) { exist message } } }`
)

func TestAdminAccountAPI(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startAPI(t, d, nil)
		reg := []string{"account", "registerUser"}

		// registerUser, with and without a username.
		require.Equal(t, map[string]any{"jid": "alice@localhost", "message": "User alice@localhost successfully registered"},
			c.ok(qRegister, map[string]any{"domain": "localhost", "username": "alice", "password": password}, reg...))
		gen := c.ok(qRegister, map[string]any{"domain": "LocalHost", "password": "x"}, reg...).(map[string]any)
		genJID := gen["jid"].(string)
		require.Regexp(t, `^\d+-[0-9a-f]+-[0-9a-f]+@localhost$`, genJID)
		require.Equal(t, "User "+genJID+" successfully registered", gen["message"])
		// The user registered over the API logs in over XMPP.
		srv.login(t, "alice", "phone")

		ext := c.fails(qRegister, map[string]any{"domain": "localhost", "username": "alice", "password": "x"},
			"exists", "User alice@localhost already registered at node gander@localhost", reg...)
		require.Equal(t, "alice@localhost", ext["jid"])
		c.fails(qRegister, map[string]any{"domain": "localhost", "username": "bob", "password": ""},
			"cannot_register", "Can't register user bob@localhost at node gander@localhost: null_password", reg...)
		c.fails(qRegister, map[string]any{"domain": "example.org", "username": "bob", "password": "x"},
			"cannot_register", "Can't register user bob@example.org at node gander@localhost: not_allowed", reg...)
		c.rejected(qRegister, map[string]any{"domain": "localhost", "username": "", "password": "x"},
			400, "input_coercion", `Input coercion failed for type UserName with value <<"">>. The reason it failed is: empty_user_name`)
		c.rejected(qRegister, map[string]any{"domain": "", "username": "bob", "password": "x"},
			400, "input_coercion", `Input coercion failed for type DomainName with value <<"">>. The reason it failed is: empty_domain_name`)

		// listUsers and countUsers.
		c.ok(qRegister, map[string]any{"domain": "localhost", "username": "bob", "password": "x"}, reg...)
		require.Equal(t, []any{genJID, "alice@localhost", "bob@localhost"}, c.ok(qList, map[string]any{"domain": "localhost"}, "account", "listUsers"))
		require.Equal(t, []any{"alice@localhost"}, c.ok(qList, map[string]any{"domain": "localhost", "limit": 1, "index": 1}, "account", "listUsers"))
		require.Equal(t, []any{genJID, "alice@localhost", "bob@localhost"}, c.ok(qList, map[string]any{"domain": "localhost", "limit": nil}, "account", "listUsers"))
		c.rejected(qList, map[string]any{"domain": "localhost", "limit": 0}, 400, "input_coercion",
			"Input coercion failed for type PosInt with value 0. The reason it failed is: Value is not a positive integer")
		c.rejected(qList, map[string]any{"domain": "localhost", "index": -1}, 400, "input_coercion",
			"Input coercion failed for type NonNegInt with value -1. The reason it failed is: Value is not a non-negative integer")
		c.fails(qList, map[string]any{"domain": "example.org"}, "domain_not_found", "Domain does not exist", "account", "listUsers")
		require.EqualValues(t, 3, c.ok(qCount, map[string]any{"domain": "localhost"}, "account", "countUsers"))
		c.fails(qCount, map[string]any{"domain": "example.org"}, "domain_not_found", "Domain does not exist", "account", "countUsers")

		// checkUser, checkPassword, checkPasswordHash.
		require.Equal(t, map[string]any{"exist": true, "message": "User bob@localhost exists"},
			c.ok(qCheckUser, map[string]any{"user": "bob@localhost"}, "account", "checkUser"))
		require.Equal(t, map[string]any{"exist": false, "message": "User zed@localhost does not exist"},
			c.ok(qCheckUser, map[string]any{"user": "zed@localhost"}, "account", "checkUser"))
		c.rejected(qCheckUser, map[string]any{"user": "test@"}, 400, "input_coercion",
			`Input coercion failed for type JID with value <<"test@">>. The reason it failed is: failed_to_parse_jid`)
		c.rejected(qCheckUser, map[string]any{"user": "localhost"}, 400, "input_coercion",
			`Input coercion failed for type JID with value <<"localhost">>. The reason it failed is: jid_without_local_part`)
		require.Equal(t, map[string]any{"correct": true, "message": "Password is correct"},
			c.ok(qCheckPass, map[string]any{"user": "alice@localhost", "p": password}, "account", "checkPassword"))
		require.Equal(t, map[string]any{"correct": false, "message": "Password is incorrect"},
			c.ok(qCheckPass, map[string]any{"user": "alice@localhost", "p": "nope"}, "account", "checkPassword"))
		c.fails(qCheckPass, map[string]any{"user": "zed@localhost", "p": "x"}, "user_does_not_exist", "User zed@localhost does not exist", "account", "checkPassword")
		c.fails(qCheckHash, map[string]any{"user": "zed@localhost", "h": "x", "m": "md5"}, "user_does_not_exist", "User zed@localhost does not exist", "account", "checkPasswordHash")
		c.fails(qCheckHash, map[string]any{"user": "bob@localhost", "h": "x", "m": "rot13"}, "wrong_method", "Hash method not supported", "account", "checkPasswordHash")
		c.fails(qCheckHash, map[string]any{"user": "bob@localhost", "h": "x", "m": "md5"}, "not_allowed", "Password hash cannot be checked for passwords stored as SCRAM", "account", "checkPasswordHash")

		// changeUserPassword.
		require.Equal(t, map[string]any{"jid": "bob@localhost", "message": "Password changed"},
			c.ok(qChangePass, map[string]any{"user": "bob@localhost", "p": "new"}, "account", "changeUserPassword"))
		require.Equal(t, true, c.ok(qCheckPass, map[string]any{"user": "bob@localhost", "p": "new"}, "account", "checkPassword", "correct"))
		c.fails(qChangePass, map[string]any{"user": "bob@localhost", "p": ""}, "empty_password", "Empty password", "account", "changeUserPassword")
		c.fails(qChangePass, map[string]any{"user": "zed@localhost", "p": "x"}, "not_allowed", "User does not exist or you are not authorized properly", "account", "changeUserPassword")

		// banUser kicks the sessions and changes the password.
		cl := srv.login(t, "alice", "laptop")
		require.Equal(t, map[string]any{"jid": "alice@localhost", "message": "User alice@localhost successfully banned with reason: spam"},
			c.ok(qBan, map[string]any{"user": "alice@localhost", "reason": "spam"}, "account", "banUser"))
		waitClosed(t, cl)
		_, err := srv.dial(t, "alice", dialOpts{})
		require.Error(t, err, "a banned user's old password must not work")
		c.fails(qBan, map[string]any{"user": "zed@localhost", "reason": "x"}, "user_does_not_exist", "User zed@localhost does not exist", "account", "banUser")

		// removeUser.
		require.Equal(t, map[string]any{"jid": "bob@localhost", "message": "User bob@localhost successfully unregistered"},
			c.ok(qRemove, map[string]any{"user": "bob@localhost"}, "account", "removeUser"))
		c.fails(qRemove, map[string]any{"user": "bob@localhost"}, "not_allowed", "User does not exist or you are not authorized properly", "account", "removeUser")
		require.EqualValues(t, 2, c.ok(qCount, map[string]any{"domain": "localhost"}, "account", "countUsers"))
	})
}

// waitClosed waits until the server ends the client's session.
func waitClosed(t *testing.T, c *client) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("session was not closed")
	}
}

func TestAdminRegisterLimit(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		_, c := startAPI(t, d, func(c *config.Config) { c.Auth.MaxUsersPerDomain = 1 })
		c.ok(qRegister, map[string]any{"domain": "localhost", "username": "a", "password": "x"}, "account", "registerUser")
		c.fails(qRegister, map[string]any{"domain": "localhost", "username": "b", "password": "x"},
			"limit_per_domain_exceeded", "User limit has been exceeded for domain localhost", "account", "registerUser")
	})
}

func TestAdminAuthentication(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startAPI(t, d, nil)
		const checkAuth = `{ checkAuth { domain authType authStatus } }`
		require.Equal(t, map[string]any{"domain": nil, "authType": "ADMIN", "authStatus": "AUTHORIZED"}, c.ok(checkAuth, nil, "checkAuth"))

		wrong := srv.client(t, 0, "admin", "wrong")
		wrong.rejected(checkAuth, nil, 401, "wrong_credentials", "The provided credentials are wrong")
		wrong.rejected(qCount, map[string]any{"domain": "localhost"}, 401, "wrong_credentials", "The provided credentials are wrong")
		other := srv.client(t, 0, "root", "secret")
		other.rejected(checkAuth, nil, 401, "wrong_credentials", "The provided credentials are wrong")
		bad := srv.client(t, 0, "", "")
		bad.raw = "Basic !!!"
		bad.rejected(checkAuth, nil, 401, "request_error", "Malformed authorization header. Please consult the relevant specification")

		anon := srv.client(t, 0, "", "")
		require.Equal(t, map[string]any{"domain": nil, "authType": nil, "authStatus": "UNAUTHORIZED"}, anon.ok(checkAuth, nil, "checkAuth"))
		anon.rejected(qCount, map[string]any{"domain": "localhost"}, 401, "no_permissions", "Cannot execute query ROOT without permissions")
		anon.rejected(`query Counting { account { countUsers(domain: "localhost") } }`, nil, 401, "no_permissions", "Cannot execute query Counting without permissions")
	})
}

func TestAdminWithoutCredentials(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil, func(c *config.Config) {
		c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "admin"}))
	})
	c := srv.client(t, 0, "", "")
	require.Equal(t, "ADMIN", c.ok(`{ checkAuth { authType } }`, nil, "checkAuth", "authType"))
	require.EqualValues(t, 0, c.ok(qCount, map[string]any{"domain": "localhost"}, "account", "countUsers"))
}
