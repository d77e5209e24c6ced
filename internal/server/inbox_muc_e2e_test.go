package server_test

// End-to-end tests of mod_inbox's classic MUC path (spec/inbox.md §8.5,
// checklist items 51-57) with mod_muc, on both inbox backends (rdbms and
// rdbms_async, results polled) and both databases.

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const ibMucRoom = "inbox-room@" + mucSvc

// startInboxMuc starts mod_inbox with groupchat = ["muc"] (plus opts) and
// mod_muc, and sets up the reference's room: Alice owns it, Bob and Kate
// are members, and all three are in it (nicks alice-nick, bob-nick,
// kate-nick). Mike is online and not affiliated.
func startInboxMuc(t *testing.T, d *db.DB, opts string) *inboxEnv {
	t.Helper()
	return startInboxMucWith(t, d, "groupchat = [\"muc\"]\n"+opts, nil)
}

// startInboxMucWith is startInboxMuc with the whole inbox option text and
// a further configuration edit.
func startInboxMucWith(t *testing.T, d *db.DB, opts string, edit func(*config.Config)) *inboxEnv {
	t.Helper()
	ib := inboxConfig(t, opts)
	mc := mucConfig(t, "")
	s := startServer(t, d, func(c *config.Config) {
		c.Modules.Inbox, c.Modules.Muc = ib, mc
		if edit != nil {
			edit(c)
		}
	})
	s.register(t, "alice", "bob", "kate", "mike")
	e := &inboxEnv{s: s, alice: online(t, s, "alice"), bob: online(t, s, "bob"), kate: online(t, s, "kate"), mike: online(t, s, "mike")}
	if ib.Backend == "rdbms_async" {
		for _, c := range []*client{e.alice, e.bob, e.kate, e.mike} {
			settleBeforeQuery.Store(c, s)
			t.Cleanup(func() { settleBeforeQuery.Delete(c) })
		}
	}
	createRoom(t, e.alice, ibMucRoom, "alice-nick")
	for _, u := range []string{"bob", "kate"} {
		require.Equal(t, "result", setAff(e.alice, ibMucRoom, u+"@localhost", "member").Attr("type"))
	}
	join(t, e.bob, ibMucRoom, "bob-nick", "")
	join(t, e.kate, ibMucRoom, "kate-nick", "")
	for _, c := range []*client{e.alice, e.bob, e.kate} {
		c.expect("room subject", func(el *xmlstream.Element) bool { return el.Child("jabber:client", "subject") != nil })
	}
	return e
}

// mucSay posts a groupchat message as nick and waits until every listed
// occupant received it.
func mucSay(t *testing.T, from *client, nick, id, body string, occupants ...*client) {
	t.Helper()
	mucPost(from, ibMucRoom, id, body)
	for _, c := range append(occupants, from) {
		c.expect("room message "+body, roomMsg(ibMucRoom, nick, body))
	}
}

// mucMarker sends a chat marker to the room as nick and waits for its
// broadcast to reach the listed occupants.
func mucMarker(t *testing.T, from *client, nick, marker, id string, occupants ...*client) {
	t.Helper()
	from.send(`<message to='` + ibMucRoom + `' type='groupchat' id='mk-` + id + `'><` + marker + ` xmlns='urn:xmpp:chat-markers:0' id='` + id + `'/></message>`)
	for _, c := range append(occupants, from) {
		c.expect("marker broadcast", func(el *xmlstream.Element) bool {
			return el.Attr("id") == "mk-"+id && el.Attr("from") == ibMucRoom+"/"+nick
		})
	}
}

func pollEntry(t *testing.T, c *client, unread int, body string) inboxResult {
	t.Helper()
	return pollInbox(t, "entry", func() []inboxResult { return entries(t, c) }, one(unread, body))[0]
}

// entryProps reads c's entry for remote with the #conversation IQ (after
// the asynchronous writer settled).
func entryProps(t *testing.T, s *testServer, c *client, remote string) *xmlstream.Element {
	t.Helper()
	require.NoError(t, s.Inbox().Sync(context.Background()))
	return c.sendIQ(`<iq type='get' id='pg'><query xmlns='` + nsConv + `' jid='` + remote + `'/></iq>`)
}

// TestInbox_51_GroupchatStoredInAllInboxes covers 51
// (simple_groupchat_stored_in_all_inbox_muc): the sender's entry is read,
// every other affiliated user's counts one, the stored copy goes from
// room/nick to the user's bare JID; a user without affiliation gets
// nothing.
func TestInbox_51_GroupchatStoredInAllInboxes(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInboxMuc(t, d, opts)
		join(t, e.mike, ibMucRoom, "mike-nick", "")
		mucSay(t, e.bob, "bob-nick", "g-1", "Hi room", e.alice, e.kate, e.mike)
		rs := pollEntry(t, e.bob, 0, "Hi room")
		require.Equal(t, ibMucRoom+"/bob-nick", rs.inner.Attr("from"))
		require.Equal(t, "bob@localhost", rs.inner.Attr("to"))
		for _, c := range []*client{e.alice, e.kate} {
			rs := pollEntry(t, c, 1, "Hi room")
			require.Equal(t, ibMucRoom+"/bob-nick", rs.inner.Attr("from"))
			require.Equal(t, strings.Split(c.jid, "/")[0], rs.inner.Attr("to"))
			require.Equal(t, "g-1", rs.inner.Attr("id"))
		}
		require.Empty(t, entries(t, e.mike), "occupant without affiliation")
		resp := entryProps(t, e.s, e.kate, ibMucRoom)
		require.Equal(t, "result", resp.Attr("type"), "the entry key is the room's bare JID")
	})
}

// TestInbox_51_WithMucLight checks 51 with groupchat = ["muc","muclight"]
// and mod_muc_light running: classic MUC copies are counted once, by the
// classic MUC path only (spec/inbox.md §8.5, last bullet).
func TestInbox_51_WithMucLight(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		ml := mlConfig(t, "")
		e := startInboxMucWith(t, d, "groupchat = [\"muc\", \"muclight\"]\n"+opts, func(c *config.Config) { c.Modules.MucLight = ml })
		mucSay(t, e.bob, "bob-nick", "g-1", "once", e.alice, e.kate)
		mucSay(t, e.alice, "alice-nick", "g-2", "twice", e.bob, e.kate)
		pollEntry(t, e.kate, 2, "twice")
		pollEntry(t, e.bob, 1, "twice")
		pollEntry(t, e.alice, 0, "twice")
	})
}

// TestInbox_52_53_OfflineMemberAndRejoin covers 52
// (simple_groupchat_stored_in_offline_users_inbox_muc) and 53
// (unread_count_is_the_same_after_going_online_again): a member who left
// still counts, and the history replayed on rejoining does not count.
func TestInbox_52_53_OfflineMemberAndRejoin(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInboxMuc(t, d, opts)
		e.kate.send(`<presence to='` + ibMucRoom + `/kate-nick' type='unavailable'/>`)
		e.alice.expect("kate left", func(el *xmlstream.Element) bool {
			return presFrom(ibMucRoom+"/kate-nick")(el) && el.Attr("type") == "unavailable"
		})
		mucSay(t, e.bob, "bob-nick", "g-1", "while you were out", e.alice)
		pollEntry(t, e.kate, 1, "while you were out")
		pollEntry(t, e.alice, 1, "while you were out")
		pollEntry(t, e.bob, 0, "while you were out")

		join(t, e.kate, ibMucRoom, "kate-nick", "")
		h := e.kate.expect("history", roomMsg(ibMucRoom, "bob-nick", "while you were out"))
		require.NotNil(t, h.Child("urn:xmpp:delay", "delay"), h.String())
		pollEntry(t, e.kate, 1, "while you were out")
	})
}

// TestInbox_54_55_Markers covers 54
// (unread_count_is_reset_after_sending_chatmarker) and 55
// (non_reset_marker_should_not_affect_muc_inbox).
func TestInbox_54_55_Markers(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInboxMuc(t, d, opts)
		mucSay(t, e.bob, "bob-nick", "g-1", "read me", e.alice, e.kate)
		pollEntry(t, e.kate, 1, "read me")
		// 55: acknowledged is not a reset marker by default.
		mucMarker(t, e.kate, "kate-nick", "acknowledged", "g-1", e.alice, e.bob)
		pollEntry(t, e.kate, 1, "read me")
		// 54: displayed resets Kate's own entry only.
		mucMarker(t, e.kate, "kate-nick", "displayed", "g-1", e.alice, e.bob)
		pollEntry(t, e.kate, 0, "read me")
		pollEntry(t, e.alice, 1, "read me")
		pollEntry(t, e.bob, 0, "read me")
		// A marker for another message id does nothing.
		mucSay(t, e.bob, "bob-nick", "g-2", "again", e.alice, e.kate)
		mucMarker(t, e.kate, "kate-nick", "displayed", "g-1", e.alice, e.bob)
		pollEntry(t, e.kate, 1, "again")
	})
}

// TestInbox_56_ResetIQForRoom covers 56
// (unread_count_is_reset_after_sending_reset_stanza): the deprecated reset
// IQ works on a room JID and sends nothing to anybody.
func TestInbox_56_ResetIQForRoom(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInboxMuc(t, d, opts)
		mucSay(t, e.bob, "bob-nick", "g-1", "reset me", e.alice, e.kate)
		pollEntry(t, e.kate, 1, "reset me")
		resp := e.kate.sendIQ(`<iq type='set' id='rs'><reset xmlns='` + nsConv + `' jid='` + ibMucRoom + `'/></iq>`)
		require.Equal(t, "result", resp.Attr("type"), resp.String())
		pollEntry(t, e.kate, 0, "reset me")
		pollEntry(t, e.alice, 1, "reset me")
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			c.expectNone("extra stanza", func(el *xmlstream.Element) bool {
				return el.Local == "message" && el.Child(nsInbox, "result") == nil
			})
		}
	})
}

// TestInbox_57_PrivateMessagesAreOneToOne covers 57
// (private_messages_are_handled_as_one2one): a private message through the
// room goes through the 1:1 rules, keyed on the room's bare JID. Gander
// stores the recipient's copy as delivered (to = Bob's full JID; the
// reference keeps to = room/bob-nick, spec/inbox.md §8.8).
func TestInbox_57_PrivateMessagesAreOneToOne(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInboxMuc(t, d, opts)
		e.kate.send(`<message to='` + ibMucRoom + `/bob-nick' type='chat' id='pm-1'><body>Hi Bob!</body></message>`)
		pm := e.bob.expect("pm", isMessage("Hi Bob!"))
		require.Equal(t, ibMucRoom+"/kate-nick", pm.Attr("from"))

		rs := pollEntry(t, e.bob, 1, "Hi Bob!")
		require.Equal(t, ibMucRoom+"/kate-nick", rs.inner.Attr("from"))
		require.Equal(t, e.bob.jid, rs.inner.Attr("to"))
		require.Equal(t, "result", entryProps(t, e.s, e.bob, ibMucRoom).Attr("type"))

		rs = pollEntry(t, e.kate, 0, "Hi Bob!")
		require.Equal(t, e.kate.jid, rs.inner.Attr("from"))
		require.Equal(t, ibMucRoom+"/bob-nick", rs.inner.Attr("to"))
		require.Equal(t, "result", entryProps(t, e.s, e.kate, ibMucRoom).Attr("type"))

		require.Empty(t, entries(t, e.alice))
	})
}
