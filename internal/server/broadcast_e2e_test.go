package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/broadcast"
	"github.com/gander-xmpp/gander/internal/server"
	"github.com/gander-xmpp/gander/internal/server/servertest"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

func withBroadcast(node string, lease int) func(*config.Config) {
	return func(c *config.Config) {
		c.General.NodeName = node
		c.Modules.Broadcast = &config.ModBroadcast{Backend: "rdbms", LeaseTime: lease}
	}
}

// addAccounts creates accounts straight in the store with one shared
// credential (computed once), which is much faster than registering 2,000
// users one PBKDF2 at a time.
func (s *testServer) addAccounts(t *testing.T, names []string) {
	t.Helper()
	c, err := auth.NewCredentials(password, 4096)
	require.NoError(t, err)
	for _, n := range names {
		require.NoError(t, s.Accounts().Store().CreateUser(context.Background(), "localhost", n, c, time.Now()))
	}
}

func isBroadcast(jobID int64, to string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool {
		return el.Local == "message" && el.Attr("id") == broadcast.MessageID(jobID, to)
	}
}

// checkBroadcastMessage checks one received message against spec §7.
func checkBroadcastMessage(t *testing.T, el *xmlstream.Element, jobID int64, to string) {
	t.Helper()
	id := broadcast.MessageID(jobID, to)
	require.Equal(t, "chat", el.Attr("type"))
	from := "alice@localhost"
	if to == from {
		from = "" // mellium blanks a from equal to the client's own bare JID
	}
	require.Equal(t, from, el.Attr("from"), "%s", el)
	require.Equal(t, id, el.Attr("id"))
	require.Equal(t, "Maintenance tonight", el.ChildText("", "subject"))
	require.Equal(t, "The server restarts at 22:00 UTC.", el.ChildText("", "body"))
	oid := el.Child("urn:xmpp:sid:0", "origin-id")
	require.NotNil(t, oid, "origin-id")
	require.Equal(t, id, oid.Attr("id"))
}

// TestBroadcastToTwoThousandUsers broadcasts to 2,000 accounts: the online
// ones get the message live, the others from offline storage when they log
// in; everyone gets it exactly once.
func TestBroadcastToTwoThousandUsers(t *testing.T) {
	// Heavy: not parallel, see servertest.Heavy.
	forEachDB(t, func(t *testing.T, d *db.DB) {
		servertest.Heavy(t)
		s := startServer(t, d, func(c *config.Config) {
			withBroadcast("gander@e2e", 600)(c)
			// Broadcast alone, as this test measures it: with mod_inbox
			// each of the 2,000 messages also updates an inbox entry.
			c.Modules.Inbox = nil
		})
		names := []string{"alice"}
		for i := 1; i < 2000; i++ {
			names = append(names, fmt.Sprintf("u%04d", i))
		}
		s.addAccounts(t, names)

		// alice (the sender) and 24 others are online and available.
		online := map[string]*client{}
		for _, n := range append([]string{"alice"}, names[1:25]...) {
			c := s.login(t, n, "")
			c.send(`<presence/>`)
			online[n] = c
		}
		// A presence round trip per client makes sure the router sees
		// them available before the broadcast starts.
		for n, c := range online {
			c.expect("own presence", func(el *xmlstream.Element) bool {
				return el.Local == "presence" && strings.HasPrefix(el.Attr("from"), n+"@localhost")
			})
		}

		ctx := context.Background()
		id, err := s.Broadcast().StartBroadcast(ctx, broadcast.StartRequest{
			Name: "maint", Domain: "localhost", Subject: "Maintenance tonight",
			Body: "The server restarts at 22:00 UTC.", Sender: jid.MustParse("alice@localhost"),
			MessageRate: 1000, RecipientGroup: broadcast.RecipientGroupAllUsers,
		})
		require.NoError(t, err)
		// An account created after the start is not a recipient.
		s.addAccounts(t, []string{"latecomer"})

		j := waitJob(t, s, id, 30*time.Second, func(j broadcast.Job) bool { return j.State == broadcast.StateFinished })
		require.Equal(t, 2000, j.RecipientCount)
		require.Equal(t, 2000, j.RecipientsProcessed)
		require.Equal(t, "gander@e2e", j.OwnerNode)

		// Online users: exactly one live message each.
		for n, c := range online {
			to := n + "@localhost"
			el := c.expect("broadcast to "+n, isBroadcast(id, to))
			checkBroadcastMessage(t, el, id, to)
		}
		for n, c := range online {
			c.expectNone("a second broadcast to "+n, isBroadcast(id, n+"@localhost"))
		}

		// Offline users: exactly one stored message each, and nothing for
		// the online ones or the latecomer.
		rows, err := d.QueryContext(ctx, `SELECT username, COUNT(*) FROM offline_message WHERE server = ? GROUP BY username`, "localhost")
		require.NoError(t, err)
		stored := map[string]int{}
		for rows.Next() {
			var u string
			var n int
			require.NoError(t, rows.Scan(&u, &n))
			stored[u] = n
		}
		require.NoError(t, rows.Err())
		rows.Close()
		require.Len(t, stored, 2000-len(online))
		for _, n := range names {
			if online[n] != nil {
				require.Zero(t, stored[n], n)
				continue
			}
			require.Equal(t, 1, stored[n], n)
		}

		// A sample of them logs in and gets the message then, once.
		for _, n := range []string{"u0025", "u0500", "u1000", "u1500", "u1999"} {
			c := s.login(t, n, "")
			c.send(`<presence/>`)
			to := n + "@localhost"
			el := c.expect("offline broadcast to "+n, isBroadcast(id, to))
			checkBroadcastMessage(t, el, id, to)
			require.NotNil(t, el.Child("urn:xmpp:delay", "delay"), "delivered from offline storage")
			c.expectNone("a second broadcast to "+n, isBroadcast(id, to))
		}
	})
}

// waitJob waits until the job id, read on s, satisfies ok, and returns it.
func waitJob(t *testing.T, s *testServer, id int64, limit time.Duration, ok func(broadcast.Job) bool) broadcast.Job {
	t.Helper()
	var j broadcast.Job
	wait.Until(t, limit, func() error {
		var err error
		if j, err = s.Broadcast().GetBroadcast(context.Background(), "localhost", id); err != nil {
			return err
		}
		if !ok(j) {
			return fmt.Errorf("job %d: %s, %d of %d recipients processed, owner %s", id, j.State, j.RecipientsProcessed, j.RecipientCount, j.OwnerNode)
		}
		return nil
	})
	return j
}

// waitSafetyMode waits until s's broadcast manager is in safety mode for
// localhost (on) or out of it.
func waitSafetyMode(t *testing.T, s *testServer, on bool, limit time.Duration) {
	t.Helper()
	wait.Until(t, limit, func() error {
		if got := s.Broadcast().SafetyMode("localhost"); got != on {
			return fmt.Errorf("safety mode %v, want %v; workers %v", got, on, s.Broadcast().WorkerStates())
		}
		return nil
	})
}

// pgOnly runs fn on PostgreSQL only: the multi-node tests share one
// server database, as a cluster does.
func pgOnly(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	fn(t, dbtest.Open(t, db.PostgreSQL))
}

// TestBroadcastTakeoverByAnotherNode: two nodes on one PostgreSQL database
// with lease_time 10. The owner stops mid-job (its lease stays, as after a
// crash); the other node takes the job over when the lease expires,
// continues from the saved cursor and finishes it. Every recipient gets
// the message at least once, duplicates are at most one batch.
func TestBroadcastTakeoverByAnotherNode(t *testing.T) {
	// Heavy: not parallel, see servertest.Heavy.
	pgOnly(t, func(t *testing.T, d *db.DB) {
		servertest.Heavy(t)
		a := startServer(t, d, withBroadcast("gander@a", 10))
		b := startServer(t, d, withBroadcast("gander@b", 10))
		names := []string{"alice"}
		for i := 1; i < 600; i++ {
			names = append(names, fmt.Sprintf("u%04d", i))
		}
		a.addAccounts(t, names)
		ctx := context.Background()
		const rate = 50 // batches of 500
		id, err := a.Broadcast().StartBroadcast(ctx, broadcast.StartRequest{Name: "failover", Domain: "localhost",
			Subject: "Maintenance tonight", Body: "The server restarts at 22:00 UTC.",
			Sender: jid.MustParse("alice@localhost"), MessageRate: rate})
		require.NoError(t, err)
		// Wait for the first batch boundary: progress 500 is saved.
		waitJob(t, b, id, 30*time.Second, func(j broadcast.Job) bool { return j.RecipientsProcessed == 500 })
		require.NoError(t, a.Stop(ctx))

		j := waitJob(t, b, id, 60*time.Second, func(j broadcast.Job) bool { return j.State == broadcast.StateFinished })
		require.Equal(t, "gander@b", j.OwnerNode)
		require.Equal(t, 600, j.RecipientsProcessed)

		// Everyone is offline: count what offline storage got.
		rows, err := d.QueryContext(ctx, `SELECT username, COUNT(*) FROM offline_message WHERE server = ? GROUP BY username`, "localhost")
		require.NoError(t, err)
		stored := map[string]int{}
		for rows.Next() {
			var u string
			var n int
			require.NoError(t, rows.Scan(&u, &n))
			stored[u] = n
		}
		require.NoError(t, rows.Err())
		rows.Close()
		dups := 0
		for _, n := range names {
			require.GreaterOrEqual(t, stored[n], 1, n)
			dups += stored[n] - 1
		}
		require.LessOrEqual(t, dups, rate*10, "duplicates are limited to one batch")

		// A login on the surviving node gets the message with the spec's ids.
		c := b.login(t, "u0599", "")
		c.send(`<presence/>`)
		checkBroadcastMessage(t, c.expect("offline broadcast", isBroadcast(id, "u0599@localhost")), id, "u0599@localhost")
	})
}

// TestBroadcastAbortWithOwnerDown aborts, from another node, a job whose
// owner node is down; the owner does not resume it when it comes back.
func TestBroadcastAbortWithOwnerDown(t *testing.T) {
	t.Parallel()
	pgOnly(t, func(t *testing.T, d *db.DB) {
		a := startServer(t, d, withBroadcast("gander@a", 600))
		b := startServer(t, d, withBroadcast("gander@b", 600))
		a.addAccounts(t, []string{"alice", "bob", "carol"})
		ctx := context.Background()
		id, err := a.Broadcast().StartBroadcast(ctx, broadcast.StartRequest{Name: "slow", Domain: "localhost",
			Body: "b", Sender: jid.MustParse("alice@localhost"), MessageRate: 1})
		require.NoError(t, err)
		require.NoError(t, a.Stop(ctx))

		got, err := b.Broadcast().AbortBroadcast(ctx, "localhost", id)
		require.NoError(t, err)
		require.Equal(t, id, got)
		j, err := b.Broadcast().GetBroadcast(ctx, "localhost", id)
		require.NoError(t, err)
		require.Equal(t, broadcast.StateAbortAdmin, j.State)
		require.NotNil(t, j.StoppedAt)

		// The owner comes back under its name: nothing to resume.
		a2 := startServer(t, d, withBroadcast("gander@a", 600))
		_, err = a2.Broadcast().AbortBroadcast(ctx, "localhost", id)
		require.ErrorIs(t, err, broadcast.ErrNotRunning)
		require.Empty(t, a2.Broadcast().WorkerStates())
	})
}

// TestBroadcastNodeNameInUse: a second live node with the same name on the
// same database refuses to start.
func TestBroadcastNodeNameInUse(t *testing.T) {
	t.Parallel()
	pgOnly(t, func(t *testing.T, d *db.DB) {
		startServer(t, d, withBroadcast("gander@a", 600))
		cfg := servertest.Config()
		cfg.Listen.C2S[0].Port = 0
		withBroadcast("gander@a", 600)(cfg)
		srv, err := server.New(context.Background(), cfg, server.Options{DataDir: t.TempDir(), DB: d,
			Log: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		err = srv.Start(context.Background())
		require.ErrorIs(t, err, broadcast.ErrNodeNameInUse)
		require.NoError(t, srv.Stop(context.Background()))
	})
}

func TestBroadcastPrerequisites(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	withBroadcast("gander@a", 5)(cfg)
	_, err := server.New(context.Background(), cfg, server.Options{DataDir: t.TempDir(), Log: slog.New(slog.DiscardHandler)})
	require.ErrorContains(t, err, "mod_broadcast_invalid_lease_time")
	require.ErrorContains(t, err, "lease_time is 5, the minimum is 10")
}
