package server_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/mod/roster"
	"github.com/gander-xmpp/gander/internal/wait"
)

// The GraphQL last category (spec/last.md §6), admin, domain admin and
// user, over real HTTP.

const (
	qSetLast        = `mutation($user: JID!, $ts: DateTime, $status: String!) { last { setLast(user: $user, timestamp: $ts, status: $status) { user timestamp status } } }`
	qGetLast        = `query($user: JID!) { last { getLast(user: $user) { user timestamp status } } }`
	qCountActive    = `query($domain: DomainName!, $ts: DateTime) { last { countActiveUsers(domain: $domain, timestamp: $ts) } }`
	qListOld        = `query($domain: DomainName, $ts: DateTime!) { last { listOldUsers(domain: $domain, timestamp: $ts) { jid timestamp } } }`
	qRemoveOld      = `mutation($domain: DomainName, $ts: DateTime!) { last { removeOldUsers(domain: $domain, timestamp: $ts) { jid timestamp } } }`
	qUserSetLast    = `mutation($ts: DateTime, $status: String!) { last { setLast(timestamp: $ts, status: $status) { user timestamp status } } }`
	qUserGetLast    = `query($user: JID) { last { getLast(user: $user) { user timestamp status } } }`
	lastTimeLayout  = "2006-01-02T15:04:05.000000Z"
	badLastDateTime = "20222-04-17T12:58:30.000000Z"
)

// ts renders t as the API writes DateTime values of mod_last.
func ts(t time.Time) string { return t.UTC().Format(lastTimeLayout) }

// parseTS parses a DateTime the API returned.
func parseTS(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "%v", v)
	tt, err := time.Parse(lastTimeLayout, s)
	require.NoError(t, err, s)
	return tt
}

// startLastAPI starts a server with mod_last on backend, hosts localhost
// and localhost.bis, and an admin endpoint (listener 0); edit adds more.
func startLastAPI(t *testing.T, d *db.DB, backend string, edit func(*config.Config)) (*testServer, *apiClient) {
	t.Helper()
	return startAPI(t, d, func(c *config.Config) {
		c.General.Hosts = []string{"localhost", "localhost.bis"}
		if backend != "" {
			c.Modules.Last = &config.ModLast{Backend: backend}
		}
		if edit != nil {
			edit(c)
		}
	})
}

func registerAt(t *testing.T, s *testServer, domain string, users ...string) {
	t.Helper()
	for _, u := range users {
		_, err := s.Accounts().Register(context.Background(), domain, u, password)
		require.NoError(t, err)
	}
}

// forEachLastAPI runs fn on SQLite and PostgreSQL with mod_last on the
// rdbms and the mnesia (in-memory) backend, each on a fresh database.
func forEachLastAPI(t *testing.T, fn func(t *testing.T, d *db.DB, backend string)) {
	for _, driver := range dbtest.Drivers() {
		for _, backend := range []string{"rdbms", "mnesia"} {
			t.Run(driver+"/"+backend, func(t *testing.T) {
				t.Parallel()
				fn(t, dbtest.Open(t, driver), backend)
			})
		}
	}
}

func vars(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestLastAdminGetSet(t *testing.T) {
	t.Parallel()
	forEachLastAPI(t, func(t *testing.T, d *db.DB, backend string) {
		srv, c := startLastAPI(t, d, backend, nil)
		srv.register(t, "alice", "bob")

		// An explicit timestamp comes back as given, in the reference's
		// microsecond notation; the user as given, lower-cased.
		want := map[string]any{"user": "alice@localhost", "timestamp": "2022-04-17T12:58:30.000000Z", "status": "First status"}
		require.Equal(t, want, c.ok(qSetLast, vars("user", "Alice@LOCALHOST", "ts", "2022-04-17T12:58:30.000000Z", "status", "First status"), "last", "setLast"))
		require.Equal(t, want, c.ok(qGetLast, vars("user", "alice@localhost"), "last", "getLast"))
		// Other offsets and fractions: converted to UTC, truncated to seconds.
		got := c.ok(qSetLast, vars("user", "alice@localhost", "ts", "2022-04-17T14:58:30.987654+02:00", "status", ""), "last", "setLast")
		require.Equal(t, "2022-04-17T12:58:30.000000Z", got.(map[string]any)["timestamp"])
		require.Equal(t, "", c.ok(qGetLast, vars("user", "alice@localhost"), "last", "getLast", "status"))

		// Without a timestamp: now.
		before := time.Now().Truncate(time.Second)
		got = c.ok(qSetLast, vars("user", "alice@localhost", "status", "now"), "last", "setLast")
		at := parseTS(t, got.(map[string]any)["timestamp"])
		require.False(t, at.Before(before), "%v < %v", at, before)
		require.WithinDuration(t, time.Now(), at, 2*time.Second)
		require.Equal(t, got, c.ok(qGetLast, vars("user", "alice@localhost"), "last", "getLast"))

		// A resource is kept in the answer; the record is the bare JID's.
		require.Equal(t, "alice@localhost/phone", c.ok(qGetLast, vars("user", "alice@localhost/phone"), "last", "getLast", "user"))

		// Validation errors.
		ext := c.fails(qSetLast, vars("user", "user@user.com", "status", "x"), "user_does_not_exist", "User user@user.com does not exist", "last", "setLast")
		require.Equal(t, "user@user.com", ext["user"])
		ext = c.fails(qSetLast, vars("user", "zed@localhost", "status", "x"), "user_does_not_exist", "User zed@localhost does not exist", "last", "setLast")
		require.Equal(t, "zed@localhost", ext["user"])
		ext = c.fails(qGetLast, vars("user", "user@user.com"), "user_does_not_exist", "User user@user.com does not exist", "last", "getLast")
		require.Equal(t, "user@user.com", ext["user"])
		ext = c.fails(qGetLast, vars("user", "bob@localhost"), "last_not_found", "Given user's last info not found", "last", "getLast")
		require.Equal(t, "bob@localhost", ext["user"])
		c.rejected(qSetLast, vars("user", "@localhost", "status", "x"), 400, "input_coercion",
			`Input coercion failed for type JID with value <<"@localhost">>. The reason it failed is: failed_to_parse_jid`)
		c.rejected(qGetLast, vars("user", "@localhost"), 400, "input_coercion",
			`Input coercion failed for type JID with value <<"@localhost">>. The reason it failed is: failed_to_parse_jid`)
		c.rejected(qSetLast, vars("user", "alice@localhost", "ts", badLastDateTime, "status", "x"), 400, "input_coercion",
			`Input coercion failed for type DateTime with value <<"`+badLastDateTime+`">>. The reason it failed is: failed_to_parse_datetime`)
		// The failed set changed nothing.
		require.Equal(t, got, c.ok(qGetLast, vars("user", "alice@localhost"), "last", "getLast"))
	})
}

func TestLastAdminCountListRemove(t *testing.T) {
	t.Parallel()
	forEachLastAPI(t, func(t *testing.T, d *db.DB, backend string) {
		srv, c := startLastAPI(t, d, backend, nil)
		srv.register(t, "alice", "bob")
		registerAt(t, srv, "localhost.bis", "alicebis")
		now := time.Now().Truncate(time.Second)
		set := func(user string, at time.Time) {
			c.ok(qSetLast, vars("user", user, "ts", ts(at), "status", "s"), "last", "setLast")
		}

		// countActiveUsers: records strictly after the timestamp (default now).
		set("alice@localhost", now.Add(5*time.Second))
		set("bob@localhost", now.Add(10*time.Second))
		require.EqualValues(t, 2, c.ok(qCountActive, vars("domain", "localhost"), "last", "countActiveUsers"))
		require.EqualValues(t, 2, c.ok(qCountActive, vars("domain", "LOCALHOST"), "last", "countActiveUsers"))
		require.EqualValues(t, 1, c.ok(qCountActive, vars("domain", "localhost", "ts", ts(now.Add(5*time.Second))), "last", "countActiveUsers"))
		require.EqualValues(t, 0, c.ok(qCountActive, vars("domain", "localhost", "ts", ts(now.Add(30*time.Second))), "last", "countActiveUsers"))
		require.EqualValues(t, 0, c.ok(qCountActive, vars("domain", "localhost.bis"), "last", "countActiveUsers"))
		ext := c.fails(qCountActive, vars("domain", "example.org"), "domain_not_found", "Domain not found", "last", "countActiveUsers")
		require.Equal(t, "example.org", ext["domain"])
		c.rejected(qCountActive, vars("domain", "localhost", "ts", badLastDateTime), 400, "input_coercion",
			`Input coercion failed for type DateTime with value <<"`+badLastDateTime+`">>. The reason it failed is: failed_to_parse_datetime`)

		// Bob at now+100, Alice at now+200, AliceBis at now+100; the limit
		// is now+150.
		set("alice@localhost", now.Add(200*time.Second))
		set("bob@localhost", now.Add(100*time.Second))
		set("alicebis@localhost.bis", now.Add(100*time.Second))
		limit := ts(now.Add(150 * time.Second))
		bob := map[string]any{"jid": "bob@localhost", "timestamp": ts(now.Add(100 * time.Second))}
		aliceBis := map[string]any{"jid": "alicebis@localhost.bis", "timestamp": ts(now.Add(100 * time.Second))}
		require.Equal(t, []any{bob}, c.ok(qListOld, vars("domain", "localhost", "ts", limit), "last", "listOldUsers"))
		require.ElementsMatch(t, []any{bob, aliceBis}, c.ok(qListOld, vars("ts", limit), "last", "listOldUsers"))
		// The limit is strict: a record at the limit is not old.
		require.Equal(t, []any{}, c.ok(qListOld, vars("domain", "localhost", "ts", ts(now.Add(100*time.Second))), "last", "listOldUsers"))
		ext = c.fails(qListOld, vars("domain", "example.org", "ts", limit), "domain_not_found", "Domain not found", "last", "listOldUsers")
		require.Equal(t, "example.org", ext["domain"])
		c.rejected(qListOld, vars("domain", "localhost", "ts", badLastDateTime), 400, "input_coercion",
			`Input coercion failed for type DateTime with value <<"`+badLastDateTime+`">>. The reason it failed is: failed_to_parse_datetime`)

		// removeOldUsers(domain): Bob goes, with his record; Alice and
		// AliceBis stay.
		c.fails(qRemoveOld, vars("domain", "example.org", "ts", limit), "domain_not_found", "Domain not found", "last", "removeOldUsers")
		c.rejected(qRemoveOld, vars("domain", "localhost", "ts", badLastDateTime), 400, "input_coercion",
			`Input coercion failed for type DateTime with value <<"`+badLastDateTime+`">>. The reason it failed is: failed_to_parse_datetime`)
		require.Equal(t, []any{bob}, c.ok(qRemoveOld, vars("domain", "localhost", "ts", limit), "last", "removeOldUsers"))
		require.Equal(t, false, c.ok(qCheckUser, vars("user", "bob@localhost"), "account", "checkUser", "exist"))
		require.Equal(t, true, c.ok(qCheckUser, vars("user", "alice@localhost"), "account", "checkUser", "exist"))
		require.Equal(t, true, c.ok(qCheckUser, vars("user", "alicebis@localhost.bis"), "account", "checkUser", "exist"))
		// The removal deleted Bob's record: a new Bob has none.
		srv.register(t, "bob")
		c.fails(qGetLast, vars("user", "bob@localhost"), "last_not_found", "Given user's last info not found", "last", "getLast")

		// removeOldUsers(null): every domain. The new Bob has no record, so
		// he is old too (timestamp null).
		got := c.ok(qRemoveOld, vars("ts", limit), "last", "removeOldUsers")
		require.ElementsMatch(t, []any{aliceBis, map[string]any{"jid": "bob@localhost", "timestamp": nil}}, got)
		require.Equal(t, false, c.ok(qCheckUser, vars("user", "alicebis@localhost.bis"), "account", "checkUser", "exist"))
		require.Equal(t, true, c.ok(qCheckUser, vars("user", "alice@localhost"), "account", "checkUser", "exist"))
	})
}

func TestLastAdminOldUsersNoRecordAndOnline(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startLastAPI(t, d, "rdbms", nil)
		srv.register(t, "u1", "u2")
		registerAt(t, srv, "localhost.bis", "u3")
		limit := ts(time.Now().Add(100 * time.Second))
		// Three accounts without a record: all old, with a null timestamp.
		got := c.ok(qListOld, vars("ts", limit), "last", "listOldUsers").([]any)
		require.Len(t, got, 3)
		var jids []string
		for _, o := range got {
			require.Nil(t, o.(map[string]any)["timestamp"])
			require.Contains(t, o, "timestamp")
			jids = append(jids, o.(map[string]any)["jid"].(string))
		}
		sort.Strings(jids)
		require.Equal(t, []string{"u1@localhost", "u2@localhost", "u3@localhost.bis"}, jids)

		// An online user is never old, whatever its record says.
		u1 := srv.login(t, "u1", "r")
		c.ok(qSetLast, vars("user", "u1@localhost", "ts", "2000-01-01T00:00:00Z", "status", "old"), "last", "setLast")
		got = c.ok(qListOld, vars("domain", "localhost", "ts", limit), "last", "listOldUsers").([]any)
		require.Equal(t, []any{map[string]any{"jid": "u2@localhost", "timestamp": nil}}, got)
		require.Equal(t, []any{map[string]any{"jid": "u2@localhost", "timestamp": nil}}, c.ok(qRemoveOld, vars("domain", "localhost", "ts", limit), "last", "removeOldUsers"))
		require.Equal(t, true, c.ok(qCheckUser, vars("user", "u1@localhost"), "account", "checkUser", "exist"))
		require.NotEmpty(t, u1.jid)
	})
}

// TestLastSetThroughAPIAnsweredOverXMPP: what setLast stores is what a
// jabber:iq:last query to the bare JID answers (mellium client).
func TestLastSetThroughAPIAnsweredOverXMPP(t *testing.T) {
	t.Parallel()
	forEachLastAPI(t, func(t *testing.T, d *db.DB, backend string) {
		srv, c := startLastAPI(t, d, backend, nil)
		srv.register(t, "alice", "bob")
		putRosterItem(t, d, "bob", "alice", roster.SubBoth)
		putRosterItem(t, d, "alice", "bob", roster.SubBoth)
		alice := srv.login(t, "alice", "a")

		at := time.Now().Add(-100 * time.Second).Truncate(time.Second)
		c.ok(qSetLast, vars("user", "bob@localhost", "ts", ts(at), "status", "Gone fishing"), "last", "setLast")
		n, text := requireLastResult(t, alice.sendIQ(lastGet("g1", "bob@localhost")), "bob@localhost")
		require.Equal(t, "Gone fishing", text)
		require.GreaterOrEqual(t, n, int64(100))
		require.Less(t, n, int64(110))

		// A timestamp in the future gives negative seconds (not clamped).
		c.ok(qSetLast, vars("user", "bob@localhost", "ts", ts(time.Now().Add(1000*time.Second)), "status", "later"), "last", "setLast")
		n, text = requireLastResult(t, alice.sendIQ(lastGet("g2", "bob@localhost")), "bob@localhost")
		require.Equal(t, "later", text)
		require.Less(t, n, int64(-900))

		// And the other way: what the server stored on Bob's unavailable
		// presence is what getLast reports.
		bob := srv.login(t, "bob", "b")
		bob.send(`<presence/>`)
		bob.send(`<presence type='unavailable'><status>I am a banana!</status></presence>`)
		wait.Until(t, 5*time.Second, func() error {
			_, m := c.do(qGetLast, vars("user", "bob@localhost"))
			if s := lookup(m, "data", "last", "getLast", "status"); s != "I am a banana!" {
				return fmt.Errorf("status %v (%v)", s, m)
			}
			return nil
		})
		got := c.ok(qGetLast, vars("user", "bob@localhost"), "last", "getLast").(map[string]any)
		require.WithinDuration(t, time.Now(), parseTS(t, got["timestamp"]), 5*time.Second)
	})
}

func TestLastDomainAdmin(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startLastAPI(t, d, "rdbms", func(c *config.Config) {
			c.Services.DomainDB = &config.ServiceDomainDB{}
			c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "domain_admin"}))
		})
		c.ok(qSetDomainPass, vars("d", "localhost", "p", "dpass"), "domain", "setDomainPassword")
		srv.register(t, "alice", "bob")
		registerAt(t, srv, "localhost.bis", "alicebis")
		da := srv.client(t, 1, "admin@localhost", "dpass")
		now := time.Now().Truncate(time.Second)

		// Its own domain works as for the global admin.
		want := map[string]any{"user": "alice@localhost", "timestamp": ts(now.Add(100 * time.Second)), "status": "da"}
		require.Equal(t, want, da.ok(qSetLast, vars("user", "alice@localhost", "ts", ts(now.Add(100*time.Second)), "status", "da"), "last", "setLast"))
		require.Equal(t, want, da.ok(qGetLast, vars("user", "alice@localhost"), "last", "getLast"))
		require.EqualValues(t, 1, da.ok(qCountActive, vars("domain", "localhost"), "last", "countActiveUsers"))
		require.Equal(t, []any{map[string]any{"jid": "bob@localhost", "timestamp": nil}},
			da.ok(qListOld, vars("domain", "localhost", "ts", ts(now)), "last", "listOldUsers"))
		da.fails(qGetLast, vars("user", "bob@localhost"), "last_not_found", "Given user's last info not found", "last", "getLast")
		for _, q := range []string{qCountActive, qListOld, qRemoveOld} {
			da.rejected(q, vars("domain", "localhost", "ts", badLastDateTime), 400, "input_coercion",
				`Input coercion failed for type DateTime with value <<"`+badLastDateTime+`">>. The reason it failed is: failed_to_parse_datetime`)
		}
		da.rejected(qSetLast, vars("user", "alice@localhost", "ts", badLastDateTime, "status", "x"), 400, "input_coercion",
			`Input coercion failed for type DateTime with value <<"`+badLastDateTime+`">>. The reason it failed is: failed_to_parse_datetime`)

		// Another domain, an unknown one, a full JID of another domain: 401.
		const noUser = "Cannot execute query ROOT without permissions to the given domain. Args with invalid value: user"
		const noDomain = "Cannot execute query ROOT without permissions to the given domain. Args with invalid value: domain"
		for _, u := range []string{"alicebis@localhost.bis", "x@example.org", "alicebis@localhost.bis/res"} {
			da.rejected(qSetLast, vars("user", u, "status", "x"), 401, "no_permissions", noUser)
			da.rejected(qGetLast, vars("user", u), 401, "no_permissions", noUser)
		}
		for _, dom := range []string{"localhost.bis", "example.org"} {
			da.rejected(qCountActive, vars("domain", dom), 401, "no_permissions", noDomain)
			da.rejected(qListOld, vars("domain", dom, "ts", ts(now)), 401, "no_permissions", noDomain)
			da.rejected(qRemoveOld, vars("domain", dom, "ts", ts(now)), 401, "no_permissions", noDomain)
		}
		// The global variants are for the global admin only.
		da.rejected(qListOld, vars("ts", ts(now)), 401, "no_permissions", noDomain)
		da.rejected(qRemoveOld, vars("ts", ts(now)), 401, "no_permissions", noDomain)
		// Nothing was removed by the refused requests.
		require.Equal(t, true, c.ok(qCheckUser, vars("user", "alicebis@localhost.bis"), "account", "checkUser", "exist"))
		require.Equal(t, true, c.ok(qCheckUser, vars("user", "bob@localhost"), "account", "checkUser", "exist"))
		// removeOldUsers on its own domain works.
		require.Equal(t, []any{map[string]any{"jid": "bob@localhost", "timestamp": nil}},
			da.ok(qRemoveOld, vars("domain", "localhost", "ts", ts(now)), "last", "removeOldUsers"))
	})
}

func TestLastUserAPI(t *testing.T) {
	t.Parallel()
	forEachLastAPI(t, func(t *testing.T, d *db.DB, backend string) {
		srv, c := startLastAPI(t, d, backend, func(c *config.Config) {
			c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "user"}))
		})
		srv.register(t, "alice", "bob", "carol")
		u := srv.client(t, 1, "alice@localhost", password)

		want := map[string]any{"user": "alice@localhost", "timestamp": "2022-04-17T12:58:30.000000Z", "status": "mine"}
		require.Equal(t, want, u.ok(qUserSetLast, vars("ts", "2022-04-17T12:58:30Z", "status", "mine"), "last", "setLast"))
		require.Equal(t, want, u.ok(qUserGetLast, nil, "last", "getLast"))
		require.Equal(t, want, u.ok(qUserGetLast, vars("user", "alice@localhost"), "last", "getLast"))
		require.Equal(t, want, c.ok(qGetLast, vars("user", "alice@localhost"), "last", "getLast"))

		got := u.ok(qUserSetLast, vars("status", "now"), "last", "setLast").(map[string]any)
		require.Equal(t, "alice@localhost", got["user"])
		require.Equal(t, "now", got["status"])
		require.WithinDuration(t, time.Now(), parseTS(t, got["timestamp"]), 2*time.Second)
		require.Equal(t, got, u.ok(qUserGetLast, nil, "last", "getLast"))

		// Another user's record follows the XMPP query's rule
		// (docs/modules/mod_last.md): without a subscription from the
		// target it is forbidden, existing or not, record or not.
		c.ok(qSetLast, vars("user", "bob@localhost", "ts", "2023-01-02T03:04:05Z", "status", "bob's"), "last", "setLast")
		forbidden := func(user string) {
			ext := u.fails(qUserGetLast, vars("user", user), "forbidden", "You are not allowed to see the last activity of "+user, "last", "getLast")
			require.Equal(t, user, ext["user"])
		}
		forbidden("bob@localhost")
		forbidden("carol@localhost")
		forbidden("zed@localhost")
		// Alice subscribed to carol's presence is not enough ("to" in
		// carol's roster is carol's subscription to alice).
		putRosterItem(t, d, "carol", "alice", roster.SubTo)
		forbidden("carol@localhost")
		// Once bob's roster says bob's presence goes to alice ("from"), or
		// both ways for carol, they may be read.
		putRosterItem(t, d, "bob", "alice", roster.SubFrom)
		require.Equal(t, map[string]any{"user": "bob@localhost", "timestamp": "2023-01-02T03:04:05.000000Z", "status": "bob's"},
			u.ok(qUserGetLast, vars("user", "bob@localhost"), "last", "getLast"))
		putRosterItem(t, d, "carol", "alice", roster.SubBoth)
		u.fails(qUserGetLast, vars("user", "carol@localhost"), "last_not_found", "Given user's last info not found", "last", "getLast")
		u.rejected(qUserSetLast, vars("ts", badLastDateTime, "status", "x"), 400, "input_coercion",
			`Input coercion failed for type DateTime with value <<"`+badLastDateTime+`">>. The reason it failed is: failed_to_parse_datetime`)
		srv.client(t, 1, "", "").rejected(qUserGetLast, nil, 401, "no_permissions", "Cannot execute query ROOT without permissions")
	})
}

func TestLastAPIModuleNotLoaded(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startLastAPI(t, d, "", func(c *config.Config) {
			c.Modules.Last = nil // on in the built-in configuration
			c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "user"}))
		})
		srv.register(t, "alice")
		registerAt(t, srv, "localhost.bis", "alicebis")
		const msg = "Some of the required modules are not loaded"
		check := func(ext map[string]any) { require.Equal(t, []any{"mod_last"}, ext["not_loaded_modules"]) }
		limit := ts(time.Now().Add(time.Hour))
		check(c.fails(qSetLast, vars("user", "alice@localhost", "status", "x"), "deps_not_loaded", msg, "last", "setLast"))
		check(c.fails(qGetLast, vars("user", "alice@localhost"), "deps_not_loaded", msg, "last", "getLast"))
		check(c.fails(qCountActive, vars("domain", "localhost"), "deps_not_loaded", msg, "last", "countActiveUsers"))
		check(c.fails(qCountActive, vars("domain", "LOCALHOST"), "deps_not_loaded", msg, "last", "countActiveUsers"))
		check(c.fails(qListOld, vars("domain", "localhost", "ts", limit), "deps_not_loaded", msg, "last", "listOldUsers"))
		check(c.fails(qRemoveOld, vars("domain", "localhost", "ts", limit), "deps_not_loaded", msg, "last", "removeOldUsers"))
		// Unknown domains skip the gating: the resolver's own errors.
		c.fails(qCountActive, vars("domain", "example.org"), "domain_not_found", "Domain not found", "last", "countActiveUsers")
		c.fails(qGetLast, vars("user", "x@example.org"), "user_does_not_exist", "User x@example.org does not exist", "last", "getLast")
		// The global variants still answer.
		require.ElementsMatch(t, []any{map[string]any{"jid": "alice@localhost", "timestamp": nil}, map[string]any{"jid": "alicebis@localhost.bis", "timestamp": nil}},
			c.ok(qListOld, vars("ts", limit), "last", "listOldUsers"))
		require.Len(t, c.ok(qRemoveOld, vars("ts", limit), "last", "removeOldUsers"), 2)
		require.Equal(t, false, c.ok(qCheckUser, vars("user", "alice@localhost"), "account", "checkUser", "exist"))

		// The user endpoint, gated on the caller's domain.
		srv.register(t, "bob")
		u := srv.client(t, 1, "bob@localhost", password)
		check(u.fails(qUserSetLast, vars("status", "x"), "deps_not_loaded", msg, "last", "setLast"))
		check(u.fails(qUserGetLast, nil, "deps_not_loaded", msg, "last", "getLast"))
	})
}

// lookup returns the value at path in decoded JSON, nil when absent.
func lookup(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func TestLastCategoryDisabled(t *testing.T) {
	t.Parallel()
	srv, _ := startLastAPI(t, nil, "mnesia", func(c *config.Config) {
		c.Listen.HTTP = append(c.Listen.HTTP,
			gqlListener(config.GraphQLHandler{SchemaEndpoint: "admin", AllowedCategories: []string{"account"}}),
			gqlListener(config.GraphQLHandler{SchemaEndpoint: "user", AllowedCategories: []string{"session"}}))
	})
	srv.register(t, "alice")
	c := srv.client(t, 1, "", "")
	ext := c.fails(qGetLast, vars("user", "alice@localhost"), "category_disabled", "Category disabled", "last")
	require.Equal(t, "last", ext["category"])
	c.fails(qSetLast, vars("user", "alice@localhost", "status", "x"), "category_disabled", "Category disabled", "last")
	u := srv.client(t, 2, "alice@localhost", password)
	u.fails(qUserGetLast, nil, "category_disabled", "Category disabled", "last")
	u.fails(qUserSetLast, vars("status", "x"), "category_disabled", "Category disabled", "last")
}
