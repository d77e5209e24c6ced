package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const (
	qSetDomainPass = `mutation($d: DomainName!, $p: String!) { domain { setDomainPassword(domain: $d, password: $p) } }`
	qDelDomainPass = `mutation($d: DomainName!) { domain { deleteDomainPassword(domain: $d) } }`
)

func TestDomainAdmin(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startAPI(t, d, func(c *config.Config) {
			c.General.Hosts = []string{"localhost", "localhost.bis"}
			c.Services.DomainDB = &config.ServiceDomainDB{}
			c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "domain_admin"}))
		})
		require.Equal(t, "Domain password set successfully", c.ok(qSetDomainPass, map[string]any{"d": "localhost", "p": "dpass"}, "domain", "setDomainPassword"))
		c.fails(qSetDomainPass, map[string]any{"d": "example.org", "p": "x"}, "domain_not_found", "Given domain does not exist", "domain", "setDomainPassword")
		c.ok(qRegister, map[string]any{"domain": "localhost", "username": "alice", "password": "x"}, "account", "registerUser")
		c.ok(qRegister, map[string]any{"domain": "localhost.bis", "username": "bob", "password": "x"}, "account", "registerUser")

		da := srv.client(t, 1, "admin@localhost", "dpass")
		require.Equal(t, map[string]any{"domain": "localhost", "authType": "DOMAIN_ADMIN", "authStatus": "AUTHORIZED"},
			da.ok(`{ checkAuth { domain authType authStatus } }`, nil, "checkAuth"))
		require.Equal(t, []any{"alice@localhost"}, da.ok(qList, map[string]any{"domain": "localhost"}, "account", "listUsers"))
		require.Equal(t, true, da.ok(qCheckUser, map[string]any{"user": "alice@localhost"}, "account", "checkUser", "exist"))

		// Outside its domain: 401 no_permissions naming the arguments.
		da.rejected(qList, map[string]any{"domain": "localhost.bis"}, 401, "no_permissions",
			"Cannot execute query ROOT without permissions to the given domain. Args with invalid value: domain")
		da.rejected(`query Check($user: JID!) { account { checkUser(user: $user) { exist } } }`, map[string]any{"user": "bob@localhost.bis"}, 401, "no_permissions",
			"Cannot execute query Check without permissions to the given domain. Args with invalid value: user")
		da.rejected(`{ session { countSessions } }`, nil, 401, "no_permissions",
			"Cannot execute query ROOT without permissions to the given domain. Args with invalid value: domain")
		da.rejected(`{ domain { domainsByHostType(hostType: "localhost") } }`, nil, 401, "no_permissions",
			"Cannot execute query ROOT without a global admin permissions")
		da.rejected(`{ server { nodeName } }`, nil, 401, "no_permissions", "Cannot execute query ROOT without a global admin permissions")

		// Wrong password, another domain's admin, another local part.
		srv.client(t, 1, "admin@localhost", "nope").rejected(`{ checkAuth { authStatus } }`, nil, 401, "wrong_credentials", "The provided credentials are wrong")
		srv.client(t, 1, "admin@localhost.bis", "dpass").rejected(`{ checkAuth { authStatus } }`, nil, 401, "wrong_credentials", "The provided credentials are wrong")
		srv.client(t, 1, "alice@localhost", "dpass").rejected(`{ checkAuth { authStatus } }`, nil, 401, "wrong_credentials", "The provided credentials are wrong")
		anon := srv.client(t, 1, "", "")
		require.Equal(t, "UNAUTHORIZED", anon.ok(`{ checkAuth { authStatus } }`, nil, "checkAuth", "authStatus"))
		anon.rejected(qList, map[string]any{"domain": "localhost"}, 401, "no_permissions", "Cannot execute query ROOT without permissions")

		// Deleting the password is for the global admin only; then the
		// domain admin is locked out.
		da.rejected(qDelDomainPass, map[string]any{"d": "localhost"}, 401, "no_permissions", "Cannot execute query ROOT without a global admin permissions")
		require.Equal(t, "Domain password deleted successfully", c.ok(qDelDomainPass, map[string]any{"d": "localhost"}, "domain", "deleteDomainPassword"))
		da.rejected(`{ checkAuth { authStatus } }`, nil, 401, "wrong_credentials", "The provided credentials are wrong")
	})
}

func TestDomainPasswordNeedsDomainDB(t *testing.T) {
	t.Parallel()
	_, c := startAPI(t, nil, nil)
	ext := c.fails(qSetDomainPass, map[string]any{"d": "localhost", "p": "x"}, "deps_not_loaded", "Some of the required services are not loaded", "domain", "setDomainPassword")
	require.Equal(t, []any{"service_domain_db"}, ext["not_loaded_services"])
}

func TestAdminRequestErrors(t *testing.T) {
	t.Parallel()
	srv, c := startAPI(t, nil, func(c *config.Config) {
		c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "admin", AllowedCategories: []string{"checkAuth", "server"}}))
	})
	st, m := c.post([]byte(`{"query": `))
	checkRejected(t, st, m, 400, "invalid_json_body", "The request JSON body is invalid")
	st, m = c.post([]byte(`{"variables": {}}`))
	checkRejected(t, st, m, 400, "no_query_supplied", "The query was not supplied in the request body")
	st, m = c.post([]byte(`{"query": "{ checkAuth { authStatus } }", "variables": "{bad"}`))
	checkRejected(t, st, m, 400, "variables_invalid_json", "The variables' JSON is invalid")
	// Variables given as a JSON string are accepted.
	st, m = c.post([]byte(`{"query": "query($d: DomainName!) { account { countUsers(domain: $d) } }", "variables": "{\"d\": \"localhost\"}"}`))
	require.Equal(t, 200, st, "%v", m)
	c.rejected(`{ account { countUsers(domain: "localhost") }`, nil, 400, "parser_error", "Cannot parse line 1 because of Expected Name, found <EOF>")
	c.rejected(`{ account { countUsers(domain: "localhost) } }`, nil, 400, "scanner_error", "")
	c.rejected(`{ account { nope } }`, nil, 400, "GRAPHQL_VALIDATION_FAILED", "")
	c.rejected(`{ account { checkUser(user: "@localhost") { exist } } }`, nil, 400, "input_coercion", "")
	c.rejected(`mutation { session { setPresence(user: "alice@localhost", type: AVAILABLE) { message } } }`, nil, 400, "input_coercion",
		`Input coercion failed for type FullJID with value <<"alice@localhost">>. The reason it failed is: jid_without_resource`)
	c.rejected(`mutation { stanza { sendStanza(stanza: "<message><body>") { id } } }`, nil, 400, "input_coercion",
		`Input coercion failed for type XmlElement with value <<"<message><body>">>. The reason it failed is: failed_to_parse_xml`)

	// GET with query parameters, and the GraphiQL page for browsers.
	q := url.Values{"query": {`query($d: DomainName!) { account { countUsers(domain: $d) } }`}, "variables": {`{"d": "localhost"}`}}
	req, _ := http.NewRequest(http.MethodGet, c.url+"?"+q.Encode(), nil)
	c.auth(req)
	st, m = c.send(req)
	require.Equal(t, 200, st)
	require.EqualValues(t, 0, at(t, m["data"], "account", "countUsers"))
	req, _ = http.NewRequest(http.MethodGet, c.url+"?query=%zz", nil)
	c.auth(req)
	st, m = c.send(req)
	checkRejected(t, st, m, 400, "invalid_query_parameters", "The query string is invalid")
	req, _ = http.NewRequest(http.MethodGet, c.url, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var page bytes.Buffer
	page.ReadFrom(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, page.String(), "graphiql")

	// category switches
	lim := srv.client(t, 1, "", "")
	require.Equal(t, "gander@localhost", lim.ok(`{ server { nodeName } }`, nil, "server", "nodeName"))
	ext := lim.fails(`{ account { countUsers(domain: "localhost") } }`, nil, "category_disabled", "Category disabled", "account")
	require.Equal(t, "account", ext["category"])
}

func TestAdminSessionAPI(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startAPI(t, d, func(c *config.Config) { c.General.Hosts = []string{"localhost", "localhost.bis"} })
		srv.register(t, "alice", "bob")
		phone := srv.login(t, "alice", "phone")
		laptop := srv.login(t, "alice", "laptop")
		bob := srv.login(t, "bob", "web")
		phone.send(`<presence/>`)
		wait.Until(t, 15*time.Second, func() error {
			if n := c.ok(`{ session { countUsersWithStatus(domain: "localhost", status: "available") } }`, nil, "session", "countUsersWithStatus"); n != 1.0 {
				return fmt.Errorf("%v users available, want 1", n)
			}
			return nil
		})

		// mellium lets the server pick the resources: sort the bound JIDs.
		alice := []string{phone.jid, laptop.jid}
		sort.Strings(alice)
		sessions := c.ok(`{ session { listSessions(domain: "localhost") { user connection ip port priority node uptime } } }`, nil, "session", "listSessions").([]any)
		require.Len(t, sessions, 3)
		first := sessions[0].(map[string]any)
		require.Equal(t, alice[0], first["user"])
		require.Equal(t, "c2s_tls", first["connection"])
		require.Equal(t, "127.0.0.1", first["ip"])
		require.Greater(t, first["port"], 0.0)
		require.Equal(t, "gander@localhost", first["node"])
		require.EqualValues(t, 3, c.ok(`{ session { countSessions } }`, nil, "session", "countSessions"))
		require.EqualValues(t, 0, c.ok(`{ session { countSessions(domain: "localhost.bis") } }`, nil, "session", "countSessions"))
		c.fails(`{ session { countSessions(domain: "example.org") } }`, nil, "domain_not_found", "Domain not found", "session", "countSessions")
		require.EqualValues(t, 2, c.ok(`{ session { countUsers(domain: "localhost") } }`, nil, "session", "countUsers"))
		require.Equal(t, []any{alice[0], alice[1], bob.jid}, c.ok(`{ session { listUsers } }`, nil, "session", "listUsers"))
		user := c.ok(`{ session { listUserSessions(user: "alice@localhost") { user } } }`, nil, "session", "listUserSessions").([]any)
		require.Len(t, user, 2)
		require.EqualValues(t, 2, c.ok(`{ session { countUserResources(user: "alice@localhost") } }`, nil, "session", "countUserResources"))
		require.Equal(t, strings.TrimPrefix(alice[1], "alice@localhost/"), c.ok(`{ session { getUserResource(user: "alice@localhost", number: 2) } }`, nil, "session", "getUserResource"))
		c.fails(`{ session { getUserResource(user: "alice@localhost", number: 3) } }`, nil, "wrong_resource_number", "Wrong resource number", "session", "getUserResource")
		require.Equal(t, phone.jid, c.ok(`query($u: FullJID!) { session { getSessionInfo(user: $u) { user } } }`, map[string]any{"u": phone.jid}, "session", "getSessionInfo", "user"))
		c.fails(`{ session { getSessionInfo(user: "alice@localhost/tablet") { user } } }`, nil, "no_session", "Given session does not exist", "session", "getSessionInfo")

		// setPresence acts as the client: the session becomes "away".
		require.Equal(t, "Presence set successfully", c.ok(`mutation($u: FullJID!) { session { setPresence(user: $u, type: AVAILABLE, show: AWAY, status: "lunch", priority: 5) { message } } }`, map[string]any{"u": bob.jid}, "session", "setPresence", "message"))
		wait.Until(t, 15*time.Second, func() error {
			l, _ := c.ok(`{ session { listUsersWithStatus(domain: "localhost", status: "away") { user priority text } } }`, nil, "session", "listUsersWithStatus").([]any)
			if len(l) != 1 || l[0].(map[string]any)["text"] != "lunch" || l[0].(map[string]any)["priority"] != 5.0 {
				return fmt.Errorf("users away: %v", l)
			}
			return nil
		})
		c.fails(`mutation { session { setPresence(user: "bob@localhost/none", type: AVAILABLE) { message } } }`, nil, "no_session", "Given session does not exist", "session", "setPresence")

		// kickUser: a full JID closes one session, a bare JID all of them.
		const kick = `mutation($u: JID!) { session { kickUser(user: $u, reason: "bye") { jid kicked code message } } }`
		require.Equal(t, map[string]any{"jid": phone.jid, "kicked": true, "code": nil, "message": "Session kicked"},
			c.ok(kick, map[string]any{"u": phone.jid}, "session", "kickUser"))
		waitClosed(t, phone)
		waitSessions(t, c, 2)
		require.Equal(t, map[string]any{"jid": phone.jid, "kicked": false, "code": "no_session", "message": "No active session"},
			c.ok(kick, map[string]any{"u": phone.jid}, "session", "kickUser"))
		require.Equal(t, true, c.ok(`mutation { session { kickUser(user: "bob@localhost", reason: "bye") { kicked } } }`, nil, "session", "kickUser", "kicked"))
		waitClosed(t, bob)
		waitSessions(t, c, 1)
		_ = laptop
	})
}

// waitSessions waits until the admin API counts n sessions.
func waitSessions(t *testing.T, c *apiClient, n float64) {
	t.Helper()
	wait.Until(t, 15*time.Second, func() error {
		if got := c.ok(`{ session { countSessions } }`, nil, "session", "countSessions"); got != n {
			return fmt.Errorf("%v sessions, want %v", got, n)
		}
		return nil
	})
}

func TestAdminStanzaAPI(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startAPI(t, d, nil)
		srv.register(t, "alice", "bob")
		bob := srv.login(t, "bob", "web")
		bob.send(`<presence/>`)
		bob.expect("own presence", func(el *xmlstream.Element) bool { return el.Local == "presence" })

		id := c.ok(`mutation { stanza { sendMessage(from: "alice@localhost", to: "bob@localhost", body: "hi from the API") { id } } }`, nil, "stanza", "sendMessage", "id")
		m := bob.expect("message", isMessage("hi from the API"))
		require.Equal(t, id, m.Attr("id"))
		require.Equal(t, "alice@localhost", m.Attr("from"))
		require.Equal(t, "chat", m.Attr("type"))

		c.ok(`mutation($to: JID!) { stanza { sendMessageHeadLine(from: "alice@localhost", to: $to, subject: "news", body: "headline") { id } } }`, map[string]any{"to": bob.jid}, "stanza", "sendMessageHeadLine", "id")
		h := bob.expect("headline", isMessage("headline"))
		require.Equal(t, "headline", h.Attr("type"))
		require.Equal(t, "news", h.ChildText("jabber:client", "subject"))

		require.Equal(t, "raw1", c.ok(`mutation($s: XmlElement!) { stanza { sendStanza(stanza: $s) { id } } }`,
			map[string]any{"s": `<message from='alice@localhost' to='bob@localhost' id='raw1' type='chat'><body>raw</body></message>`}, "stanza", "sendStanza", "id"))
		bob.expect("raw message", isMessage("raw"))

		c.fails(`mutation { stanza { sendMessage(from: "zed@localhost", to: "bob@localhost", body: "x") { id } } }`, nil, "unknown_user", "Given user does not exist", "stanza", "sendMessage")
		c.fails(`mutation { stanza { sendMessage(from: "zed@example.org", to: "bob@localhost", body: "x") { id } } }`, nil, "unknown_user", "Given user does not exist", "stanza", "sendMessage")
		c.fails(`mutation { stanza { sendStanza(stanza: "<message to='bob@localhost'/>") { id } } }`, nil, "no_sender", "Missing or invalid sender JID", "stanza", "sendStanza")
		c.fails(`mutation { stanza { sendStanza(stanza: "<message from='alice@localhost'/>") { id } } }`, nil, "no_recipient", "Missing or invalid recipient JID", "stanza", "sendStanza")
		c.fails(`mutation { stanza { sendStanza(stanza: "<foo from='alice@localhost' to='bob@localhost'/>") { id } } }`, nil, "invalid_stanza",
			"The stanza must be a message, presence or iq in the jabber:client namespace", "stanza", "sendStanza")
	})
}

func TestAdminServerAndDomainAPI(t *testing.T) {
	t.Parallel()
	_, c := startAPI(t, nil, func(c *config.Config) { c.General.NodeName = "node1@host" })
	status := c.ok(`{ server { status { statusCode message version } } }`, nil, "server", "status").(map[string]any)
	require.Equal(t, "RUNNING", status["statusCode"])
	require.Equal(t, "The node node1@host is started. Status: started", status["message"])
	require.NotEmpty(t, status["version"])
	require.Equal(t, "node1@host", c.ok(`{ server { nodeName } }`, nil, "server", "nodeName"))
	require.Equal(t, []any{"localhost"}, c.ok(`{ domain { domainsByHostType(hostType: "localhost") } }`, nil, "domain", "domainsByHostType"))
	require.Equal(t, []any{}, c.ok(`{ domain { domainsByHostType(hostType: "other") } }`, nil, "domain", "domainsByHostType"))
	require.Equal(t, map[string]any{"domain": "localhost", "hostType": "localhost", "status": "ENABLED"},
		c.ok(`{ domain { domainDetails(domain: "LOCALHOST") { domain hostType status } } }`, nil, "domain", "domainDetails"))
	c.fails(`{ domain { domainDetails(domain: "example.org") { domain } } }`, nil, "domain_not_found", "Given domain does not exist", "domain", "domainDetails")
}

func TestHealthEndpoints(t *testing.T) {
	t.Parallel()
	srv, c := startAPI(t, nil, nil)
	base := strings.TrimSuffix(c.url, "/api/graphql")
	for _, p := range []string{"/health", "/health/ready"} {
		resp, err := http.Get(base + p)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, p)
	}
	_ = srv
}

func TestAdminCSRFProtection(t *testing.T) {
	t.Parallel()
	_, c := startAPI(t, nil, nil)
	// A mutation over GET is refused (a link must not change state).
	q := url.Values{"query": {`mutation { account { registerUser(domain: "localhost", username: "x", password: "y") { jid } } }`}}
	req, _ := http.NewRequest(http.MethodGet, c.url+"?"+q.Encode(), nil)
	c.auth(req)
	st, m := c.send(req)
	checkRejected(t, st, m, 400, "unsupported_operation", "The GET execution method does not support mutation operations.")
	// A form post from another origin is refused.
	req, _ = http.NewRequest(http.MethodPost, c.url, strings.NewReader(`{"query": "{ checkAuth { authStatus } }"}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Origin", "http://evil.example")
	c.auth(req)
	st, m = c.send(req)
	checkRejected(t, st, m, 403, "cross_origin_request", "")
	// The same body without an Origin (curl -d) is served.
	req, _ = http.NewRequest(http.MethodPost, c.url, strings.NewReader(`{"query": "{ checkAuth { authStatus } }"}`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c.auth(req)
	st, m = c.send(req)
	require.Equal(t, 200, st, "%v", m)
	require.EqualValues(t, 0, c.ok(qCount, map[string]any{"domain": "localhost"}, "account", "countUsers"))
}

func TestUserEndpoint(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, _ := startAPI(t, d, func(c *config.Config) {
			c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "user"}))
		})
		srv.register(t, "alice", "bob")
		u := srv.client(t, 1, "alice@localhost", password)
		require.Equal(t, map[string]any{"username": "alice@localhost", "authStatus": "AUTHORIZED"},
			u.ok(`{ checkAuth { username authStatus } }`, nil, "checkAuth"))

		// Credentials: wrong password, unknown user, a full JID, no header.
		srv.client(t, 1, "alice@localhost", "nope").rejected(`{ checkAuth { authStatus } }`, nil, 401, "wrong_credentials", "The provided credentials are wrong")
		srv.client(t, 1, "zed@localhost", password).rejected(`{ checkAuth { authStatus } }`, nil, 401, "wrong_credentials", "The provided credentials are wrong")
		srv.client(t, 1, "alice@localhost/r", password).rejected(`{ checkAuth { authStatus } }`, nil, 401, "wrong_credentials", "The provided credentials are wrong")
		anon := srv.client(t, 1, "", "")
		require.Equal(t, "UNAUTHORIZED", anon.ok(`{ checkAuth { authStatus } }`, nil, "checkAuth", "authStatus"))
		anon.rejected(`{ session { countResources } }`, nil, 401, "no_permissions", "Cannot execute query ROOT without permissions")

		// Sessions and stanzas of the user itself.
		phone := srv.login(t, "alice", "phone")
		bob := srv.login(t, "bob", "b")
		bob.send(`<presence/>`)
		bob.expect("own presence", func(el *xmlstream.Element) bool { return el.Local == "presence" })
		require.EqualValues(t, 1, u.ok(`{ session { countResources } }`, nil, "session", "countResources"))
		require.Equal(t, []any{strings.TrimPrefix(phone.jid, "alice@localhost/")}, u.ok(`{ session { listResources } }`, nil, "session", "listResources"))
		require.Equal(t, phone.jid, u.ok(`{ session { listSessions { user } } }`, nil, "session", "listSessions").([]any)[0].(map[string]any)["user"])
		u.ok(`mutation { stanza { sendMessage(to: "bob@localhost", body: "from alice's API") { id } } }`, nil, "stanza", "sendMessage", "id")
		require.Equal(t, "alice@localhost", bob.expect("message", isMessage("from alice's API")).Attr("from"))
		u.fails(`mutation { stanza { sendMessage(from: "bob@localhost", to: "bob@localhost", body: "x") { id } } }`, nil,
			"invalid_sender", "Sender's JID is different from the user's JID", "stanza", "sendMessage")
		u.ok(`mutation { stanza { sendStanza(stanza: "<message to='bob@localhost'><body>raw</body></message>") { id } } }`, nil, "stanza", "sendStanza", "id")
		bob.expect("raw", isMessage("raw"))

		// Account: change the password, then unregister.
		require.Equal(t, "Password changed", u.ok(`mutation { account { changePassword(newPassword: "new") } }`, nil, "account", "changePassword"))
		u.rejected(`{ checkAuth { authStatus } }`, nil, 401, "wrong_credentials", "The provided credentials are wrong")
		u = srv.client(t, 1, "alice@localhost", "new")
		u.fails(`mutation { account { changePassword(newPassword: "") } }`, nil, "empty_password", "Empty password", "account", "changePassword")
		require.Equal(t, "User alice@localhost successfully unregistered", u.ok(`mutation { account { unregister } }`, nil, "account", "unregister"))
		waitClosed(t, phone)
		u.rejected(`{ checkAuth { authStatus } }`, nil, 401, "wrong_credentials", "The provided credentials are wrong")
	})
}
