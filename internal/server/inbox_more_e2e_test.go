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
	forEachDB(t, func(t *testing.T, d *db.DB) {
		ib := inboxConfig(t, "")
		s := startServer(t, d, func(c *config.Config) {
			c.Modules.Inbox = ib
			c.Modules.Offline = &config.ModOffline{}
		})
		s.register(t, "alice", "bob")
		alice := online(t, s, "alice")
		alice.send(`<message to='bob@localhost' type='chat' id='off-1'><body>while you were away</body></message>`)
		requireEntry(t, entries(t, alice), 0, "while you were away")
		bob := online(t, s, "bob")
		bob.expect("offline message", isMessage("while you were away"))
		requireEntry(t, entries(t, bob), 1, "while you were away")
	})
}

// TestInboxMetrics checks the backend call metrics and, with rdbms_async,
// the asynchronous writer's request counter.
func TestInboxMetrics(t *testing.T) {
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startInbox(t, d, asyncOpts)
		chat(t, e.alice, e.bob, "bob", "m1", "one")
		pollInbox(t, "bob 1", func() []inboxResult { return entries(t, e.bob) }, one(1, "one"))
		require.NoError(t, e.s.Inbox().Sync(context.Background()))
		require.GreaterOrEqual(t, metricSum(t, e.s, "mod_inbox_backend_count", "function", "get_inbox"), 1.0)
		require.GreaterOrEqual(t, metricSum(t, e.s, "mod_inbox_backend_count", "function", "set_inbox_incr_unread"), 1.0)
		require.GreaterOrEqual(t, metricSum(t, e.s, "mod_inbox_backend_count", "function", "set_inbox"), 1.0)
		require.GreaterOrEqual(t, metricSum(t, e.s, "async_pool_request_count", "pool_id", "inbox"), 1.0)
	})
}
