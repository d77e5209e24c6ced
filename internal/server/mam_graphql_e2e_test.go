package server_test

// GraphQL checks of mod_mam (docs/modules/mod_mam.md, "GraphQL"):
// stanza.getLastMessages and muc_light.getRoomMessages for the admin,
// a domain admin and a user, and account removal purging the archive
// (A16, A18, A19, A20), on SQLite and PostgreSQL with both writers.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
)

const (
	qLastMessages = `query($caller: JID!, $with: JID, $limit: PosInt, $before: DateTime) { stanza {
		getLastMessages(caller: $caller, with: $with, limit: $limit, before: $before) { stanzas { sender timestamp stanza_id stanza } limit } } }`
	qLastMessagesDefault = `query($caller: JID!) { stanza { getLastMessages(caller: $caller) { stanzas { stanza_id } limit } } }`
	qUserLastMessages    = `query($with: JID, $limit: PosInt, $before: DateTime) { stanza {
		getLastMessages(with: $with, limit: $limit, before: $before) { stanzas { sender timestamp stanza_id stanza } limit } } }`
	qRoomMessages = `query($room: BareJID!, $pageSize: PosInt, $before: DateTime) { muc_light {
		getRoomMessages(room: $room, pageSize: $pageSize, before: $before) { stanzas { sender timestamp stanza_id stanza } limit } } }`
	qUserRoomMessages = `query($room: BareJID!, $pageSize: PosInt, $before: DateTime) { muc_light {
		getRoomMessages(room: $room, pageSize: $pageSize, before: $before) { stanzas { sender stanza_id } limit } } }`
)

// startMamAPI starts a mod_mam server with the admin (listener 0), domain
// admin (1) and user (2) endpoints on hosts localhost and localhost.bis.
func startMamAPI(t *testing.T, d *db.DB, opts, parts string) (*mamEnv, *apiClient) {
	t.Helper()
	mc := mamConfig(t, opts, parts)
	srv, c := startAPI(t, d, func(c *config.Config) {
		c.General.Hosts = []string{"localhost", "localhost.bis"}
		c.Modules.Mam = mc.Modules.Mam
		c.Services.DomainDB = &config.ServiceDomainDB{}
		c.Listen.HTTP = append(c.Listen.HTTP,
			gqlListener(config.GraphQLHandler{SchemaEndpoint: "domain_admin"}),
			gqlListener(config.GraphQLHandler{SchemaEndpoint: "user"}))
	})
	srv.register(t, "alice", "bob", "kate")
	return &mamEnv{s: srv, alice: online(t, srv, "alice"), bob: online(t, srv, "bob"), kate: online(t, srv, "kate")}, c
}

// gqlStanzas returns the stanzas of a StanzasPayload and its limit.
func gqlStanzas(t *testing.T, v any) ([]map[string]any, int) {
	t.Helper()
	p := v.(map[string]any)
	var out []map[string]any
	for _, s := range p["stanzas"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return out, int(p["limit"].(float64))
}

func stanzaBodies(t *testing.T, ss []map[string]any) []string {
	t.Helper()
	out := []string{}
	for _, s := range ss {
		out = append(out, parse(t, s["stanza"].(string)).ChildText("", "body"))
	}
	return out
}

func stanzaIDList(ss []map[string]any) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, s["stanza_id"].(string))
	}
	return out
}

// A18: stanza.getLastMessages for the admin, a domain admin and the user:
// order, ids, senders, with, limit (1, capped at 50, null), the inclusive
// before, unknown_user, deps_not_loaded.
func TestMamGraphQLLastMessages(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e, c := startMamAPI(t, d, opts, mamParts)
		chatTo(t, e.alice, e.bob, "bob", "one")
		chatTo(t, e.bob, e.alice, "alice", "two")
		chatTo(t, e.kate, e.alice, "alice", "three")
		for range 52 {
			e.alice.send(`<message to='kate@localhost' type='chat'><body>bulk</body></message>`)
		}
		e.alice.barrier("localhost")
		xmpp := mamQuery(t, e.alice, "", rsm("<max>3</max>"))

		ss, limit := gqlStanzas(t, c.ok(qLastMessages, vars("caller", "alice@localhost", "with", "bob@localhost"), "stanza", "getLastMessages"))
		require.Equal(t, 50, limit)
		require.Equal(t, []string{"one", "two"}, stanzaBodies(t, ss), "oldest first")
		require.Equal(t, xmpp.ids()[:2], stanzaIDList(ss), "the archive ids")
		require.Equal(t, e.alice.jid, ss[0]["sender"])
		require.Equal(t, e.bob.jid, ss[1]["sender"])
		ts, err := time.Parse(time.RFC3339Nano, ss[0]["timestamp"].(string))
		require.NoError(t, err)
		require.Equal(t, xmpp.rs[0].delay.Attr("stamp"), ts.UTC().Format("2006-01-02T15:04:05.000000Z"))

		ss, limit = gqlStanzas(t, c.ok(qLastMessages, vars("caller", "alice@localhost", "with", "bob@localhost", "limit", 1), "stanza", "getLastMessages"))
		require.Equal(t, 1, limit)
		require.Equal(t, []string{"two"}, stanzaBodies(t, ss), "the newest")
		ss, limit = gqlStanzas(t, c.ok(qLastMessages, vars("caller", "alice@localhost", "limit", 1000), "stanza", "getLastMessages"))
		require.Equal(t, 50, limit, "capped at max_result_limit")
		require.Len(t, ss, 50)
		require.Equal(t, "bulk", stanzaBodies(t, ss)[49])
		ss, limit = gqlStanzas(t, c.ok(qLastMessagesDefault, vars("caller", "alice@localhost"), "stanza", "getLastMessages"))
		require.Equal(t, 50, limit)
		require.Len(t, ss, 50)
		ss, _ = gqlStanzas(t, c.ok(qLastMessages, vars("caller", "alice@localhost", "limit", nil), "stanza", "getLastMessages"))
		require.Len(t, ss, 50, "a null limit means 50")
		// before is inclusive.
		ss, _ = gqlStanzas(t, c.ok(qLastMessages, vars("caller", "alice@localhost", "before", xmpp.rs[1].delay.Attr("stamp")), "stanza", "getLastMessages"))
		require.Equal(t, []string{"one", "two"}, stanzaBodies(t, ss))

		c.fails(qLastMessages, vars("caller", "nobody@localhost"), "unknown_user", "User does not exist", "stanza", "getLastMessages")
		c.fails(qLastMessages, vars("caller", "alice@example.org"), "unknown_user", "User's domain does not exist", "stanza", "getLastMessages")

		// The domain admin of localhost only.
		c.ok(qSetDomainPass, vars("d", "localhost", "p", "dpass"), "domain", "setDomainPassword")
		da := e.s.client(t, 1, "admin@localhost", "dpass")
		ss, _ = gqlStanzas(t, da.ok(qLastMessages, vars("caller", "bob@localhost"), "stanza", "getLastMessages"))
		require.Equal(t, []string{"one", "two"}, stanzaBodies(t, ss))
		da.rejected(qLastMessages, vars("caller", "x@localhost.bis"), 401, "no_permissions",
			"Cannot execute query ROOT without permissions to the given domain. Args with invalid value: caller")

		// The user reads its own archive.
		u := e.s.client(t, 2, "kate@localhost", password)
		ss, limit = gqlStanzas(t, u.ok(qUserLastMessages, vars("limit", 2), "stanza", "getLastMessages"))
		require.Equal(t, 2, limit)
		require.Equal(t, []string{"bulk", "bulk"}, stanzaBodies(t, ss))
		ss, _ = gqlStanzas(t, u.ok(qUserLastMessages, vars("with", "alice@localhost/"+resourceOf(e.alice.jid)), "stanza", "getLastMessages"))
		require.Len(t, ss, 50, "a full JID with: the messages from that resource")
		require.NotContains(t, stanzaBodies(t, ss), "three", "sent to the bare JID")
		ss, _ = gqlStanzas(t, u.ok(qUserLastMessages, vars("with", "alice@localhost/elsewhere"), "stanza", "getLastMessages"))
		require.Empty(t, ss)
	})
}

func resourceOf(full string) string {
	_, r, _ := cut(full, "/")
	return r
}

func cut(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// A19: muc_light.getRoomMessages: ids, pageSize, before; a user must be a
// member (not_room_member); an unknown room is room_not_found.
func TestMamGraphQLRoomMessages(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e, c := startMamAPI(t, d, opts, mamParts)
		room := "den@" + mlSvc
		requireResult(t, e.alice.mlIQ("set", room, nsMLCrt, "<occupants>"+users("bob@localhost", "member")+"</occupants>"))
		for i := range 3 {
			e.alice.send(fmt.Sprintf(`<message to='%s' type='groupchat' id='g%d'><body>r%d</body></message>`, room, i, i))
			e.bob.expect("copy", isMessage(fmt.Sprintf("r%d", i)))
		}
		xmpp := mamQuery(t, e.bob, room, "")
		require.Len(t, xmpp.rs, 4)

		ss, limit := gqlStanzas(t, c.ok(qRoomMessages, vars("room", room), "muc_light", "getRoomMessages"))
		require.Equal(t, 50, limit)
		require.Equal(t, xmpp.ids(), stanzaIDList(ss), "oldest first, the room archive's ids")
		require.Equal(t, room+"/alice@localhost", ss[1]["sender"])
		require.Equal(t, room, ss[0]["sender"], "the creation event comes from the room")
		ss, limit = gqlStanzas(t, c.ok(qRoomMessages, vars("room", room, "pageSize", 2), "muc_light", "getRoomMessages"))
		require.Equal(t, 2, limit)
		require.Equal(t, xmpp.ids()[2:], stanzaIDList(ss))
		ss, _ = gqlStanzas(t, c.ok(qRoomMessages, vars("room", room, "before", xmpp.rs[2].delay.Attr("stamp")), "muc_light", "getRoomMessages"))
		require.Equal(t, xmpp.ids()[:3], stanzaIDList(ss), "before is inclusive")
		_, limit = gqlStanzas(t, c.ok(qRoomMessages, vars("room", room, "pageSize", 500), "muc_light", "getRoomMessages"))
		require.Equal(t, 50, limit)
		c.fails(qRoomMessages, vars("room", "nope@"+mlSvc), "room_not_found", "Room not found", "muc_light", "getRoomMessages")

		// The domain admin of localhost reads the rooms of its MUC Light
		// service only.
		c.ok(qSetDomainPass, vars("d", "localhost", "p", "dpass"), "domain", "setDomainPassword")
		da := e.s.client(t, 1, "admin@localhost", "dpass")
		ss, _ = gqlStanzas(t, da.ok(qRoomMessages, vars("room", room), "muc_light", "getRoomMessages"))
		require.Equal(t, xmpp.ids(), stanzaIDList(ss))
		da.rejected(qRoomMessages, vars("room", "den@muclight.localhost.bis"), 401, "no_permissions",
			"Cannot execute query ROOT without permissions to the given domain. Args with invalid value: room")

		member := e.s.client(t, 2, "bob@localhost", password)
		ss, _ = gqlStanzas(t, member.ok(qUserRoomMessages, vars("room", room, "pageSize", 1), "muc_light", "getRoomMessages"))
		require.Equal(t, xmpp.ids()[3:], stanzaIDList(ss))
		other := e.s.client(t, 2, "kate@localhost", password)
		other.fails(qUserRoomMessages, vars("room", room), "not_room_member", "Given user does not occupy this room", "muc_light", "getRoomMessages")
	})
}

// deps_not_loaded without the archive's parts.
func TestMamGraphQLNotLoaded(t *testing.T) {
	t.Parallel()
	srv, c := startAPI(t, dbtestSQLite(t), nil)
	srv.register(t, "alice")
	e := c.fails(qLastMessages, vars("caller", "alice@localhost"), "deps_not_loaded", "Some of the required modules are not loaded", "stanza", "getLastMessages")
	ext(t, e, "not_loaded_modules", []any{"mod_mam_pm"})
	e = c.fails(qRoomMessages, vars("room", "den@"+mlSvc), "deps_not_loaded", "Some of the required modules are not loaded", "muc_light", "getRoomMessages")
	ext(t, e, "not_loaded_modules", []any{"mod_mam_muc"})
}

// A16, A20: account removal (GraphQL removeUser and the user's
// unregister) purges the archive, rows still queued included; the
// re-registered JID starts empty; the peer keeps its rows. Domain removal
// deletes the domain's archives in batches.
func TestMamRemoval(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e, c := startMamAPI(t, d, opts, mamParts+"delete_domain_limit = 2\n")
		for i := range 3 {
			chatTo(t, e.alice, e.bob, "bob", fmt.Sprintf("b%d", i))
		}
		// With the asynchronous writer the rows are still queued here.
		c.ok(qRemove, vars("user", "bob@localhost"), "account", "removeUser")
		require.NoError(t, e.s.Mam().Sync(context.Background()))
		require.Zero(t, orphanRows(t, d), "no row of the removed archive is written later")
		require.Equal(t, []string{"b0", "b1", "b2"}, mamQuery(t, e.alice, "", "").bodies(), "the peer keeps its rows")
		e.s.register(t, "bob")
		bob := online(t, e.s, "bob")
		require.Empty(t, mamQuery(t, bob, "", "").rs, "the re-registered JID starts empty")
		ss, _ := gqlStanzas(t, c.ok(qLastMessages, vars("caller", "bob@localhost"), "stanza", "getLastMessages"))
		require.Empty(t, ss)

		chatTo(t, e.alice, e.kate, "kate", "k0")
		u := e.s.client(t, 2, "kate@localhost", password)
		u.ok(`mutation { account { unregister } }`, nil, "account", "unregister")
		require.NoError(t, e.s.Mam().Sync(context.Background()))
		require.Zero(t, orphanRows(t, d))

		// Domain removal: every archive of the domain and its rooms.
		room := "den@" + mlSvc
		requireResult(t, e.alice.mlIQ("set", room, nsMLCrt, ""))
		for i := range 5 {
			chatTo(t, e.alice, bob, "bob", fmt.Sprintf("d%d", i))
		}
		require.NoError(t, e.s.Mam().RemoveDomain(context.Background(), "localhost"))
		require.NoError(t, e.s.Mam().Sync(context.Background()))
		var n int
		require.NoError(t, d.SQL.QueryRow(`SELECT (SELECT COUNT(*) FROM mam_message) + (SELECT COUNT(*) FROM mam_muc_message) + (SELECT COUNT(*) FROM mam_server_user)`).Scan(&n))
		require.Zero(t, n)
	})
}

// orphanRows counts the rows whose archive no longer exists.
func orphanRows(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	require.NoError(t, d.SQL.QueryRow(`SELECT COUNT(*) FROM mam_message WHERE user_id NOT IN (SELECT id FROM mam_server_user)`).Scan(&n))
	return n
}
