package server_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
)

// TestInbox_21_MsgSentToOfflineUser covers 21: a message to an offline
// user is delivered after reconnection and the offline replay (which
// carries <delay>) is not counted twice.
func TestInbox_21_MsgSentToOfflineUser(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		ib := inboxConfig(t, opts)
		s := startServer(t, d, func(c *config.Config) {
			c.Modules.Inbox = ib
			c.Modules.Offline = &config.ModOffline{}
		})
		s.register(t, "alice", "bob")
		alice := inboxOnline(t, s, "alice", opts)
		alice.send(`<message to='bob@localhost' type='chat' id='off-1'><body>while you were away</body></message>`)
		// Nothing to wait for but the inbox itself: poll (the
		// asynchronous write may be queued after the first query).
		pollInbox(t, "alice 0", func() []inboxResult { return entries(t, alice) }, one(0, "while you were away"))
		bob := inboxOnline(t, s, "bob", opts)
		bob.expect("offline message", isMessage("while you were away"))
		requireEntry(t, entries(t, bob), 1, "while you were away")
	})
}

// TestInboxMetrics scrapes /metrics on both backends: the backend call
// metrics move and, with rdbms_async, so do the asynchronous writer's
// (flushes, conversations per flush, flush latency, queue length back at
// 0 once settled).
func TestInboxMetrics(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		srv, c := startInboxAPIML(t, d, opts)
		srv.register(t, "alice", "bob")
		alice, bob := online(t, srv, "alice"), online(t, srv, "bob")
		chat(t, alice, bob, "bob", "m1", "one")
		pollInbox(t, "bob 1", func() []inboxResult { return entries(t, bob) }, one(1, "one"))
		require.Equal(t, "result", bob.sendIQ(`<iq type='set' id='eb'><empty-bin xmlns='`+nsInbox+`'/></iq>`).Attr("type"))
		require.NoError(t, srv.Inbox().Sync(context.Background()))
		f := scrape(t, c)
		for _, fn := range []string{"get_inbox", "set_inbox", "set_inbox_incr_unread", "get_entry_properties", "empty_user_bin"} {
			require.GreaterOrEqual(t, value(t, f, "mod_inbox_backend_count", "function", fn, "host_type", "localhost"), 1.0, fn)
			require.GreaterOrEqual(t, value(t, f, "mod_inbox_backend_time", "function", fn, "host_type", "localhost"), 1.0, fn)
		}
		if opts == "" {
			return
		}
		require.GreaterOrEqual(t, value(t, f, "async_pool_request_count", "pool_id", "inbox"), 1.0)
		require.GreaterOrEqual(t, value(t, f, "async_pool_batch_size", "pool_id", "inbox"), 1.0)
		require.GreaterOrEqual(t, value(t, f, "async_pool_flush_time", "pool_id", "inbox"), 1.0)
		require.Equal(t, 0.0, value(t, f, "async_pool_queue_lengths_value", "pool_id", "inbox"))
		require.Equal(t, 0.0, value(t, f, "async_pool_dropped_count", "pool_id", "inbox"))
	})
}

// TestInbox_48_NoAffRemoveOnKicked is checklist item 48
// (no_aff_stored_and_remove_on_kicked) on both backends: a kicked member's
// entry leaves the inbox; rdbms deletes it, rdbms_async moves it to the
// bin holding the last room message (unread 1).
func TestInbox_48_NoAffRemoveOnKicked(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInboxML(t, d, opts+"aff_changes = false", true)
		post(t, e.alice, "g-1", "hello", e.bob, e.kate)
		requireEntry(t, entries(t, e.bob), 1, "hello")
		require.Equal(t, "result", e.alice.setAffs(ibRoom, "bob@localhost", "none").Attr("type"))
		e.bob.expect("kick notification", isNote(ibRoom, nsMLAff))
		require.Empty(t, entries(t, e.bob, "box", "inbox"))
		if opts == "" {
			require.Empty(t, entries(t, e.bob, "box", "all"))
		} else {
			requireEntry(t, entries(t, e.bob, "box", "bin"), 1, "hello")
		}
		requireEntry(t, entries(t, e.kate), 1, "hello")
	})
}
