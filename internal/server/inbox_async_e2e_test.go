package server_test

// End-to-end tests of mod_inbox with backend = "rdbms_async" (pool_size 1,
// as in the reference's async_pools group): results are polled until the
// expected state appears (spec/inbox.md §10.5).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/mod/inbox"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const asyncOpts = "backend = \"rdbms_async\"\nasync_writer.pool_size = 1\n"

// pollInbox repeats an inbox query until check accepts it.
func pollInbox(t *testing.T, what string, query func() []inboxResult, check func([]inboxResult) bool) []inboxResult {
	t.Helper()
	var rs []inboxResult
	wait.Until(t, 10*time.Second, func() error {
		if rs = query(); !check(rs) {
			return fmt.Errorf("%s: not reached, last result %d entries", what, len(rs))
		}
		return nil
	})
	return rs
}

func one(unread int, body string) func([]inboxResult) bool {
	return func(rs []inboxResult) bool {
		return len(rs) == 1 && rs[0].unread() == unread && rs[0].body() == body
	}
}

// TestInboxAsync_14_23_25_26_OneToOne covers 14, 23, 25 and 26 under the
// asynchronous backend.
func TestInboxAsync_14_23_25_26_OneToOne(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startInbox(t, d, asyncOpts)
		chat(t, e.alice, e.bob, "bob", "m1", "one")
		chat(t, e.alice, e.bob, "bob", "m2", "two")
		pollInbox(t, "bob 2", func() []inboxResult { return entries(t, e.bob) }, one(2, "two"))
		pollInbox(t, "alice 0", func() []inboxResult { return entries(t, e.alice) }, one(0, "two"))
		e.bob.send(`<message to='alice@localhost' type='chat' id='mk'><displayed xmlns='urn:xmpp:chat-markers:0' id='m2'/></message>`)
		e.alice.expect("marker", func(el *xmlstream.Element) bool { return el.Attr("id") == "mk" })
		pollInbox(t, "bob reset by marker", func() []inboxResult { return entries(t, e.bob) }, one(0, "two"))
		chat(t, e.alice, e.bob, "bob", "m3", "three")
		pollInbox(t, "bob 1", func() []inboxResult { return entries(t, e.bob) }, one(1, "three"))
		resp := e.bob.sendIQ(`<iq type='set' id='rs'><reset xmlns='` + nsConv + `' jid='alice@localhost'/></iq>`)
		require.Equal(t, "result", resp.Attr("type"))
		pollInbox(t, "bob reset by IQ", func() []inboxResult { return entries(t, e.bob) }, one(0, "three"))
	})
}

// TestInboxAsync_42_48_63_64_65_Bin covers 42 and 48 (asynchronous
// removal goes to the bin), 63 (the bin is not in the default view), 64
// (the cleaner empties the bin, with an async pool request counted) and
// 65 (the empty-bin IQ).
func TestInboxAsync_42_48_63_64_65_Bin(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startInboxML(t, d, asyncOpts+"bin_ttl = 0\naff_changes = false", true)
		post(t, e.alice, "g-1", "hello", e.bob, e.kate)
		pollInbox(t, "bob 1", func() []inboxResult { return entries(t, e.bob) }, one(1, "hello"))
		require.Equal(t, "result", e.bob.setAffs(ibRoom, "bob@localhost", "none").Attr("type"))
		e.bob.expect("leave notification", isNote(ibRoom, nsMLAff))
		pollInbox(t, "bob's entry leaves the inbox", func() []inboxResult { return entries(t, e.bob) },
			func(rs []inboxResult) bool { return len(rs) == 0 })
		rs := pollInbox(t, "bob's bin", func() []inboxResult { return entries(t, e.bob, "box", "bin") }, one(1, "hello"))
		require.Equal(t, "bin", rs[0].prop("box"))
		require.Len(t, entries(t, e.bob, "box", "all"), 1, "63")

		resp := e.bob.sendIQ(`<iq type='set' id='eb'><empty-bin xmlns='` + nsInbox + `'/></iq>`)
		require.Equal(t, "1", resp.Child(nsInbox, "empty-bin").ChildText(nsInbox, "num"), "65")
		require.Empty(t, entries(t, e.bob, "box", "all"))

		require.Equal(t, "result", e.alice.setAffs(ibRoom, "kate@localhost", "none").Attr("type"))
		e.kate.expect("kick notification", isNote(ibRoom, nsMLAff))
		pollInbox(t, "kate's bin", func() []inboxResult { return entries(t, e.kate, "box", "bin") }, one(1, "hello"))
		require.NoError(t, e.s.Inbox().Sync(context.Background()))
		require.Equal(t, 1, e.s.Inbox().CleanBin(context.Background()), "64")
		require.Empty(t, entries(t, e.kate, "box", "all"))
	})
}

// TestInboxAsync_34_37_41_MucLight covers 34, 37 and 41 under the
// asynchronous backend: affiliation entries at creation, then posts from
// two members, including the sender's echo.
func TestInboxAsync_34_37_41_MucLight(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startInboxML(t, d, asyncOpts, false)
		require.Equal(t, "result", e.alice.mlIQ("set", ibRoom, nsMLCrt, "<occupants>"+users("bob@localhost", "member", "kate@localhost", "member")+"</occupants>").Attr("type"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			c.expect("creation notification", isNote(ibRoom, nsMLAff))
			pollInbox(t, "affiliation entry", func() []inboxResult { return entries(t, c) }, one(1, ""))
		}
		post(t, e.alice, "a-1", "from alice", e.bob, e.kate)
		post(t, e.bob, "b-1", "from bob", e.alice, e.kate)
		pollInbox(t, "alice", func() []inboxResult { return entries(t, e.alice) }, one(1, "from bob"))
		pollInbox(t, "bob", func() []inboxResult { return entries(t, e.bob) }, one(0, "from bob"))
		rs := pollInbox(t, "kate", func() []inboxResult { return entries(t, e.kate) }, one(3, "from bob"))
		require.Equal(t, ibRoom+"/bob@localhost", rs[0].inner.Attr("from"))
		require.Equal(t, "kate@localhost", rs[0].inner.Attr("to"))
	})
}

// TestInboxAsync_FlushInterval: with a long async_writer.flush_interval a
// conversation's writes wait in the writer (an inbox query does not see
// them yet), a conversation IQ first settles the entry's pending writes
// (so a property set right after a message finds the entry), and a clean
// stop writes what is still pending.
func TestInboxAsync_FlushInterval(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startInbox(t, d, asyncOpts+"async_writer.flush_interval = 600000\n")
		for _, c := range []*client{e.alice, e.bob, e.kate, e.mike} {
			settleBeforeQuery.Delete(c) // query what is stored, without Sync
		}
		chat(t, e.alice, e.bob, "bob", "m1", "one")
		require.Empty(t, entries(t, e.bob), "the write waits for the interval")

		resp, x := setProps(t, e.bob, "alice@localhost", "", "<read>true</read>")
		require.Equal(t, "result", resp.Attr("type"), "the set finds the entry whose write was pending")
		require.Equal(t, "true", x.ChildText(nsConv, "read"))
		requireEntry(t, entries(t, e.bob), 0, "one")

		chat(t, e.alice, e.bob, "bob", "m2", "two")
		resp = e.bob.sendIQ(`<iq type='get' id='g1'><query xmlns='` + nsConv + `' jid='alice@localhost' complete='true'/></iq>`)
		q := resp.Child(nsConv, "query")
		require.NotNil(t, q, "entry get result")
		require.Equal(t, "false", q.ChildText(nsConv, "read"), "the get sees the pending increment")
		require.Equal(t, "two", q.Child("urn:xmpp:forward:0", "forwarded").Child("jabber:client", "message").ChildText("", "body"))

		chat(t, e.alice, e.kate, "kate", "m3", "three")
		ctx := context.Background()
		store := inbox.NewSQLStore(d)
		_, err := store.Get(ctx, inbox.Owner{LServer: "localhost", LUser: "kate"}, "alice@localhost")
		require.ErrorIs(t, err, inbox.ErrNotFound, "kate's write is still pending")
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		require.NoError(t, e.s.Stop(sctx))
		got, err := store.Get(ctx, inbox.Owner{LServer: "localhost", LUser: "kate"}, "alice@localhost")
		require.NoError(t, err, "a clean stop writes the pending entry")
		require.Equal(t, 1, got.UnreadCount)
		got, err = store.Get(ctx, inbox.Owner{LServer: "localhost", LUser: "alice"}, "kate@localhost")
		require.NoError(t, err)
		require.Equal(t, "m3", got.MsgID)
	})
}
