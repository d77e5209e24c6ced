package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/broadcast"
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
	forEachDB(t, func(t *testing.T, d *db.DB) {
		s := startServer(t, d, withBroadcast("gander@e2e", 600))
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

		require.Eventually(t, func() bool {
			j, err := s.Broadcast().GetBroadcast(ctx, "localhost", id)
			return err == nil && j.State == broadcast.StateFinished
		}, 30*time.Second, 50*time.Millisecond)
		j, err := s.Broadcast().GetBroadcast(ctx, "localhost", id)
		require.NoError(t, err)
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
			c.expectNone("a second broadcast to "+n, 50*time.Millisecond, isBroadcast(id, n+"@localhost"))
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
			c.expectNone("a second broadcast to "+n, 100*time.Millisecond, isBroadcast(id, to))
		}
	})
}
