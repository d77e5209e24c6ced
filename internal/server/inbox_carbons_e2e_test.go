package server_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
)

// TestInbox_19_CarbonsAreNotStored covers 19 (carbons_are_not_stored):
// with carbons on and two resources each, counts and entries are as if
// carbons did not exist. mod_carboncopy queues its copies on the sessions
// directly, so they never pass the hooks mod_inbox listens on.
func TestInbox_19_CarbonsAreNotStored(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		a2, b2 := online(t, e.s, "alice"), online(t, e.s, "bob")
		for _, c := range []*client{e.alice, a2, e.bob, b2} {
			enableCarbons(t, c, true)
		}
		msg := func(from *client, to, body string) {
			from.send(fmt.Sprintf(`<message to='%s' type='chat' id='%s'><body>%s</body></message>`, to, body, body))
		}
		// To Bob's bare JID: both his resources get the original.
		msg(e.alice, "bob@localhost", "one")
		e.bob.expect("one", isMessage("one"))
		b2.expect("one", isMessage("one"))
		a2.expect("sent carbon of one", isCarbon("sent", "one"))
		// To a full JID: the other resources get carbons.
		msg(e.alice, b2.jid, "two")
		b2.expect("two", isMessage("two"))
		e.bob.expect("received carbon of two", isCarbon("received", "two"))
		a2.expect("sent carbon of two", isCarbon("sent", "two"))
		msg(b2, e.alice.jid, "three")
		e.alice.expect("three", isMessage("three"))
		a2.expect("received carbon of three", isCarbon("received", "three"))
		e.bob.expect("sent carbon of three", isCarbon("sent", "three"))
		msg(e.bob, a2.jid, "four")
		a2.expect("four", isMessage("four"))
		e.alice.expect("received carbon of four", isCarbon("received", "four"))
		b2.expect("sent carbon of four", isCarbon("sent", "four"))

		// As without carbons: Alice's own "two" reset her count, then Bob
		// sent "three" and "four" (two unread); Bob's own messages reset
		// his. One entry each, none for the user's own JID.
		// rdbms_async writes in the background: poll (query also waits for
		// the writes queued so far, see settleBeforeQuery).
		pollInbox(t, "alice 2", func() []inboxResult { return entries(t, e.alice) }, one(2, "four"))
		pollInbox(t, "bob 0", func() []inboxResult { return entries(t, e.bob) }, one(0, "four"))
		rs, f := query(t, e.alice, "", "")
		r := requireEntry(t, rs, 2, "four")
		require.Equal(t, "bob@localhost", jidBare(r.inner.Attr("from")))
		require.Equal(t, 2, f.counter("unread-messages"))
		require.Equal(t, 1, f.counter("active-conversations"))
		rs, f = query(t, e.bob, "", "")
		r = requireEntry(t, rs, 0, "four")
		require.Equal(t, "alice@localhost", jidBare(r.inner.Attr("to")))
		require.Equal(t, 0, f.counter("unread-messages"))
	})
}

// jidBare strips the resource of a JID string.
func jidBare(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i]
		}
	}
	return s
}
