package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
)

// The GraphQL inbox category (spec/inbox.md §12, checklist 122-132),
// admin, domain admin and user, over real HTTP.

const (
	qFlushUserBin   = `mutation($user: JID!, $days: PosInt) { inbox { flushUserBin(user: $user, days: $days) } }`
	qFlushDomainBin = `mutation($domain: DomainName!, $days: PosInt) { inbox { flushDomainBin(domain: $domain, days: $days) } }`
	qFlushGlobalBin = `mutation($hostType: String!, $days: PosInt) { inbox { flushGlobalBin(hostType: $hostType, days: $days) } }`
	qFlushBin       = `mutation($days: PosInt) { inbox { flushBin(days: $days) } }`
)

// startInboxAPI starts a server on hosts localhost and localhost.bis with
// the admin (listener 0), domain admin (1) and user (2) endpoints, and
// mod_inbox with opts unless opts is "off".
func startInboxAPI(t *testing.T, d *db.DB, opts string) (*testServer, *apiClient) {
	t.Helper()
	var ib *config.ModInbox
	if opts != "off" {
		ib = inboxConfig(t, opts)
	}
	srv, c := startAPI(t, d, func(c *config.Config) {
		c.General.Hosts = []string{"localhost", "localhost.bis"}
		c.Modules.Inbox = ib
		c.Services.DomainDB = &config.ServiceDomainDB{}
		c.Listen.HTTP = append(c.Listen.HTTP,
			gqlListener(config.GraphQLHandler{SchemaEndpoint: "domain_admin"}),
			gqlListener(config.GraphQLHandler{SchemaEndpoint: "user"}))
	})
	return srv, c
}

// inboxOnline logs user in; with rdbms_async its queries first wait for
// the writer.
func inboxOnline(t *testing.T, s *testServer, user, opts string) *client {
	t.Helper()
	c := online(t, s, user)
	if opts == asyncOpts {
		settleBeforeQuery.Store(c, s)
		t.Cleanup(func() { settleBeforeQuery.Delete(c) })
	}
	return c
}

// toBin gives to an entry for from's conversation through the protocol
// and moves it to the bin.
func toBin(t *testing.T, from, to *client, toUser, id string) {
	t.Helper()
	chat(t, from, to, toUser, id, "hello")
	requireEntry(t, entries(t, to), 1, "hello")
	resp, _ := setProps(t, to, "alice@localhost", "", "<box>bin</box>")
	require.Equal(t, "result", resp.Attr("type"))
	require.Len(t, entries(t, to, "box", "bin"), 1)
}

// insertBin stores a bin entry for user@server directly (localhost.bis
// users cannot log in with the test client).
func insertBin(t *testing.T, d *db.DB, server, user, remote string) {
	t.Helper()
	_, err := d.ExecContext(context.Background(), d.Rebind(`INSERT INTO inbox
(lserver, luser, remote_bare_jid, msg_id, box, content, ts, muted_until, unread_count) VALUES (?, ?, ?, 'id', 'bin', '', ?, 0, 1)`),
		server, user, remote, time.Now().UnixMicro())
	require.NoError(t, err)
}

func countBin(t *testing.T, d *db.DB, server string) int {
	t.Helper()
	var n int
	require.NoError(t, d.QueryRowContext(context.Background(), d.Rebind(`SELECT COUNT(*) FROM inbox WHERE box = 'bin' AND lserver = ?`), server).Scan(&n))
	return n
}

// TestInboxGraphQL_122_129_Admin covers the admin operations and their
// errors on both backends and both databases.
func TestInboxGraphQL_122_129_Admin(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		srv, c := startInboxAPI(t, d, opts)
		srv.register(t, "alice", "bob", "kate")
		registerAt(t, srv, "localhost.bis", "alicebis")
		alice, bob, kate := inboxOnline(t, srv, "alice", opts), inboxOnline(t, srv, "bob", opts), inboxOnline(t, srv, "kate", opts)
		toBin(t, alice, bob, "bob", "m1")
		toBin(t, alice, kate, "kate", "m2")
		insertBin(t, d, "localhost.bis", "alicebis", "alice@localhost")

		// 122: Bob's bin is emptied, Kate's entry stays.
		require.EqualValues(t, 1, c.ok(qFlushUserBin, vars("user", "bob@localhost"), "inbox", "flushUserBin"))
		require.Empty(t, entries(t, bob, "box", "bin"))
		rs := entries(t, kate, "box", "bin")
		requireEntry(t, rs, 1, "hello")
		require.EqualValues(t, 0, c.ok(qFlushUserBin, vars("user", "Bob@LOCALHOST/res"), "inbox", "flushUserBin"))
		// 123, 124.
		ext := c.fails(qFlushUserBin, vars("user", "zed@localhost"), "user_does_not_exist", "User zed@localhost does not exist", "inbox", "flushUserBin")
		require.Equal(t, "zed@localhost", ext["user"])
		ext = c.fails(qFlushUserBin, vars("user", "x@example.org"), "domain_not_found", "Domain not found", "inbox", "flushUserBin")
		require.Equal(t, "example.org", ext["domain"])
		// PosInt: days >= 1.
		st, m := c.do(qFlushUserBin, vars("user", "bob@localhost", "days", 0))
		require.Equal(t, 400, st, "%v", m)

		// 128: fresh entries are younger than a day.
		require.EqualValues(t, 0, c.ok(qFlushGlobalBin, vars("hostType", "localhost", "days", 1), "inbox", "flushGlobalBin"))
		require.EqualValues(t, 0, c.ok(qFlushDomainBin, vars("domain", "localhost", "days", 1), "inbox", "flushDomainBin"))
		require.EqualValues(t, 0, c.ok(qFlushUserBin, vars("user", "kate@localhost", "days", 1), "inbox", "flushUserBin"))
		require.Len(t, entries(t, kate, "box", "bin"), 1)
		require.Equal(t, 1, countBin(t, d, "localhost.bis"))

		// 125: the (unprepped) domain's bin; the other domain's stays.
		require.EqualValues(t, 1, c.ok(qFlushDomainBin, vars("domain", "LOCALHOST"), "inbox", "flushDomainBin"))
		require.Empty(t, entries(t, kate, "box", "bin"))
		require.Equal(t, 1, countBin(t, d, "localhost.bis"))
		// 126, 129.
		ext = c.fails(qFlushDomainBin, vars("domain", "example.org"), "domain_not_found", "Domain not found", "inbox", "flushDomainBin")
		require.Equal(t, "example.org", ext["domain"])
		c.fails(qFlushGlobalBin, vars("hostType", "example.org"), "host_type_not_found", "Host type not found", "inbox", "flushGlobalBin")

		// 127: days=null flushes both domains.
		insertBin(t, d, "localhost", "bob", "kate@localhost")
		require.EqualValues(t, 2, c.ok(qFlushGlobalBin, vars("hostType", "localhost", "days", nil), "inbox", "flushGlobalBin"))
		require.Equal(t, 0, countBin(t, d, "localhost.bis"))
		require.Equal(t, 0, countBin(t, d, "localhost"))
		// Entries outside the bin are never touched.
		require.Len(t, entries(t, alice), 2)
	})
}

// TestInboxGraphQL_131_132_DomainAdminAndUser covers the domain admin's
// limits and the user's flushBin.
func TestInboxGraphQL_131_132_DomainAdminAndUser(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		srv, c := startInboxAPI(t, d, opts)
		c.ok(qSetDomainPass, vars("d", "localhost", "p", "dpass"), "domain", "setDomainPassword")
		srv.register(t, "alice", "bob", "kate")
		registerAt(t, srv, "localhost.bis", "alicebis")
		alice, bob, kate := inboxOnline(t, srv, "alice", opts), inboxOnline(t, srv, "bob", opts), inboxOnline(t, srv, "kate", opts)
		toBin(t, alice, bob, "bob", "m1")
		toBin(t, alice, kate, "kate", "m2")
		insertBin(t, d, "localhost.bis", "alicebis", "alice@localhost")
		da := srv.client(t, 1, "admin@localhost", "dpass")

		// 131: outside its domain, and the global bin: 401.
		const noUser = "Cannot execute query ROOT without permissions to the given domain. Args with invalid value: user"
		const noDomain = "Cannot execute query ROOT without permissions to the given domain. Args with invalid value: domain"
		da.rejected(qFlushUserBin, vars("user", "alicebis@localhost.bis"), 401, "no_permissions", noUser)
		da.rejected(qFlushUserBin, vars("user", "x@example.org"), 401, "no_permissions", noUser)
		da.rejected(qFlushDomainBin, vars("domain", "localhost.bis"), 401, "no_permissions", noDomain)
		da.rejected(qFlushDomainBin, vars("domain", "example.org"), 401, "no_permissions", noDomain)
		da.rejected(qFlushGlobalBin, vars("hostType", "localhost"), 401, "no_permissions", "")
		require.Equal(t, 1, countBin(t, d, "localhost.bis"))
		require.Len(t, entries(t, bob, "box", "bin"), 1)
		// Its own domain works.
		require.EqualValues(t, 0, da.ok(qFlushUserBin, vars("user", "bob@localhost", "days", 1), "inbox", "flushUserBin"))
		require.EqualValues(t, 1, da.ok(qFlushUserBin, vars("user", "bob@localhost"), "inbox", "flushUserBin"))
		da.fails(qFlushUserBin, vars("user", "zed@localhost"), "user_does_not_exist", "User zed@localhost does not exist", "inbox", "flushUserBin")

		// 132: the user flushes its own bin only.
		u := srv.client(t, 2, "kate@localhost", password)
		require.EqualValues(t, 0, u.ok(qFlushBin, vars("days", 1), "inbox", "flushBin"))
		require.EqualValues(t, 1, u.ok(qFlushBin, nil, "inbox", "flushBin"))
		require.Empty(t, entries(t, kate, "box", "bin"))
		require.EqualValues(t, 0, u.ok(qFlushBin, nil, "inbox", "flushBin"))
		require.Equal(t, 1, countBin(t, d, "localhost.bis"))
		srv.client(t, 2, "", "").rejected(qFlushBin, nil, 401, "no_permissions", "Cannot execute query ROOT without permissions")
	})
}

// TestInboxGraphQL_130_NotLoaded: without mod_inbox every operation is
// deps_not_loaded.
func TestInboxGraphQL_130_NotLoaded(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startInboxAPI(t, d, "off")
		srv.register(t, "bob")
		const msg = "Some of the required modules are not loaded"
		check := func(ext map[string]any) { require.Equal(t, []any{"mod_inbox"}, ext["not_loaded_modules"]) }
		check(c.fails(qFlushUserBin, vars("user", "bob@localhost"), "deps_not_loaded", msg, "inbox", "flushUserBin"))
		check(c.fails(qFlushDomainBin, vars("domain", "localhost"), "deps_not_loaded", msg, "inbox", "flushDomainBin"))
		check(c.fails(qFlushGlobalBin, vars("hostType", "localhost"), "deps_not_loaded", msg, "inbox", "flushGlobalBin"))
		u := srv.client(t, 2, "bob@localhost", password)
		check(u.fails(qFlushBin, nil, "deps_not_loaded", msg, "inbox", "flushBin"))
	})
}
