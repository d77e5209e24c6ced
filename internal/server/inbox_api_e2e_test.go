package server_test

// mod_inbox driven through the admin and user GraphQL APIs: messages sent
// on a user's behalf (stanza.sendMessage, sendStanza) and MUC Light's
// deleteRoom, on both backends and both databases. With rdbms_async the
// inboxes are polled until the expected state shows up.

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/muclight"
)

// startInboxAPIML starts a server with the admin endpoint (listener 0),
// the user endpoint (listener 1), mod_inbox with opts and MUC Light.
func startInboxAPIML(t *testing.T, d *db.DB, opts string) (*testServer, *apiClient) {
	t.Helper()
	ib, ml := inboxConfig(t, opts), mlConfig(t, `backend = "rdbms"`)
	return startAPI(t, d, func(c *config.Config) {
		c.Modules.Inbox, c.Modules.MucLight = ib, ml
		c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "user"}))
	})
}

// hasEntry accepts an inbox holding exactly one entry, for remote, with
// unread messages and body.
func hasEntry(remote string, unread int, body string) func([]inboxResult) bool {
	return func(rs []inboxResult) bool {
		return len(rs) == 1 && rs[0].unread() == unread && rs[0].body() == body && rs[0].inner != nil &&
			(bareOf(rs[0].inner.Attr("from")) == remote || bareOf(rs[0].inner.Attr("to")) == remote)
	}
}

func bareOf(s string) string {
	j, err := jid.Parse(s)
	if err != nil {
		return ""
	}
	return j.Bare().String()
}

// TestInboxAPI_SendMessage: a chat message sent by the admin API on
// Alice's behalf updates both inboxes exactly as if Alice's client had
// sent it (the API runs the same user-send hooks as c2s); so do the
// admin sendStanza and the user API's sendMessage. A headline is ignored.
func TestInboxAPI_SendMessage(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		srv, c := startInboxAPIML(t, d, opts)
		srv.register(t, "alice", "bob")
		alice, bob := online(t, srv, "alice"), online(t, srv, "bob")
		aliceQ := func() []inboxResult { return entries(t, alice) }
		bobQ := func() []inboxResult { return entries(t, bob) }

		c.ok(`mutation { stanza { sendMessage(from: "alice@localhost", to: "bob@localhost", body: "api one") { id } } }`, nil, "stanza", "sendMessage", "id")
		bob.expect("api one", isMessage("api one"))
		pollInbox(t, "bob 1", bobQ, hasEntry("alice@localhost", 1, "api one"))
		pollInbox(t, "alice 0", aliceQ, hasEntry("bob@localhost", 0, "api one"))

		c.ok(`mutation { stanza { sendMessage(from: "alice@localhost", to: "bob@localhost", body: "api two") { id } } }`, nil, "stanza", "sendMessage", "id")
		bob.expect("api two", isMessage("api two"))
		c.ok(`mutation($s: XmlElement!) { stanza { sendStanza(stanza: $s) { id } } }`,
			vars("s", `<message from='alice@localhost' to='bob@localhost' id='raw1' type='chat'><body>api raw</body></message>`), "stanza", "sendStanza", "id")
		bob.expect("api raw", isMessage("api raw"))
		pollInbox(t, "bob 3", bobQ, hasEntry("alice@localhost", 3, "api raw"))
		pollInbox(t, "alice still 0", aliceQ, hasEntry("bob@localhost", 0, "api raw"))

		// A headline leaves both entries alone (§8.2).
		c.ok(`mutation { stanza { sendMessageHeadLine(from: "alice@localhost", to: "bob@localhost", subject: "s", body: "news") { id } } }`, nil, "stanza", "sendMessageHeadLine", "id")
		bob.expect("headline", isMessage("news"))

		// The user API: Bob answers; his entry is read, Alice's has 1.
		u := srv.client(t, 1, "bob@localhost", password)
		u.ok(`mutation { stanza { sendMessage(to: "alice@localhost", body: "user api") { id } } }`, nil, "stanza", "sendMessage", "id")
		alice.expect("user api", isMessage("user api"))
		pollInbox(t, "alice 1", aliceQ, hasEntry("bob@localhost", 1, "user api"))
		pollInbox(t, "bob 0", bobQ, hasEntry("alice@localhost", 0, "user api"))
	})
}

// TestInbox_36_RoomDeletedGraphQL is checklist item 36
// (remove_muclight_messages_after_the_room_is_deleted_graphql): after
// the admin GraphQL deleteRoom every member's entry for the room is gone
// from the default view (rdbms deletes it; rdbms_async moves it to the
// bin, §10.5).
func TestInbox_36_RoomDeletedGraphQL(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		srv, c := startInboxAPIML(t, d, opts)
		srv.register(t, "alice", "bob", "kate")
		require.NoError(t, srv.MucLight().Store().Create(context.Background(), &muclight.Room{JID: bare(ibRoom), Version: "ver-1", Config: map[string]string{},
			Occupants: []muclight.Occupant{{User: bare("alice@localhost"), Aff: muclight.AffOwner},
				{User: bare("bob@localhost"), Aff: muclight.AffMember}, {User: bare("kate@localhost"), Aff: muclight.AffMember}}}))
		alice, bob, kate := online(t, srv, "alice"), online(t, srv, "bob"), online(t, srv, "kate")
		members := []*client{alice, bob, kate}
		post(t, alice, "g-1", "one", bob, kate)
		post(t, bob, "g-2", "two", alice, kate)
		for i, want := range []int{1, 0, 2} {
			pollInbox(t, "room entry", func() []inboxResult { return entries(t, members[i]) }, hasEntry(ibRoom, want, "two"))
		}

		require.Equal(t, "Room deleted successfully", c.ok(qmlDelete, vars("room", ibRoom), "muc_light", "deleteRoom"))
		for _, m := range members {
			m.expect("destruction notification", isNote(ibRoom, nsMLDst))
		}
		for _, m := range members {
			pollInbox(t, "entry gone", func() []inboxResult { return entries(t, m) }, func(rs []inboxResult) bool { return len(rs) == 0 })
			if opts == "" {
				require.Empty(t, entries(t, m, "box", "all"), "rdbms deletes the entry")
			} else {
				pollInbox(t, "entry in the bin", func() []inboxResult { return entries(t, m, "box", "bin") }, func(rs []inboxResult) bool { return len(rs) == 1 })
			}
		}
	})
}
