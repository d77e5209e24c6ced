package offline

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
)

// t0 is the tests' "now".
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newStore(d *db.DB) *SQLStore {
	s := NewSQLStore(d)
	s.now = func() time.Time { return t0 }
	return s
}

func msg(i int) Message {
	return Message{
		From:   fmt.Sprintf("sender%d@example.org/res", i),
		Packet: []byte(fmt.Sprintf(`<message xmlns="jabber:client" type="chat"><body>n°%d &amp; ✓</body></message>`, i)),
		Stored: t0.Add(time.Duration(i) * time.Second),
	}
}

func fetchFroms(t *testing.T, s *SQLStore, server, user string) []string {
	t.Helper()
	msgs, err := s.Fetch(context.Background(), server, user)
	require.NoError(t, err)
	var froms []string
	for _, m := range msgs {
		froms = append(froms, m.From)
	}
	return froms
}

func TestSQLStoreRoundTrip(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		in := []Message{
			msg(1),
			{From: "a@example.org", Packet: []byte("<message/>"), Stored: t0.Add(1500 * time.Nanosecond), Expire: t0.Add(time.Hour)},
			// Stored later but with an older timestamp: the order is the
			// order of storing.
			{From: "b@example.org", Packet: []byte("<message/>"), Stored: t0.Add(-time.Hour), ID: 999},
		}
		for _, m := range in {
			require.NoError(t, s.Store(ctx, "example.com", "alice", m, 0))
		}
		got, err := s.Fetch(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.Len(t, got, len(in))
		for i, m := range got {
			require.Equal(t, in[i].From, m.From)
			require.Equal(t, in[i].Packet, m.Packet)
			require.Equal(t, in[i].Stored.Truncate(time.Microsecond), m.Stored)
			require.Equal(t, in[i].Expire, m.Expire)
			if i > 0 {
				require.Greater(t, m.ID, got[i-1].ID)
			}
		}
		require.NotEqual(t, int64(999), got[2].ID, "the store assigns IDs")

		n, err := s.Count(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.Equal(t, 3, n)

		// A zero Stored time means now.
		require.NoError(t, s.Store(ctx, "example.com", "bob", Message{From: "x@y", Packet: []byte("<message/>")}, 0))
		got, err = s.Fetch(ctx, "example.com", "bob")
		require.NoError(t, err)
		require.Equal(t, t0, got[0].Stored)

		got, err = s.Fetch(ctx, "example.com", "nobody")
		require.NoError(t, err)
		require.Empty(t, got)
	})
}

func TestSQLStoreDeleteUpTo(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		for i := range 4 {
			require.NoError(t, s.Store(ctx, "example.com", "alice", msg(i), 0))
			require.NoError(t, s.Store(ctx, "example.com", "bob", msg(i), 0))
		}
		got, err := s.Fetch(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.Len(t, got, 4)

		// Delivered the first two; one more arrives meanwhile.
		require.NoError(t, s.Store(ctx, "example.com", "alice", msg(4), 0))
		require.NoError(t, s.Delete(ctx, "example.com", "alice", got[1].ID))
		require.Equal(t, []string{msg(2).From, msg(3).From, msg(4).From}, fetchFroms(t, s, "example.com", "alice"))

		// Bob's messages have interleaved IDs but are not Alice's to delete.
		require.Len(t, fetchFroms(t, s, "example.com", "bob"), 4)

		require.NoError(t, s.Delete(ctx, "example.com", "alice", 1<<62))
		require.Empty(t, fetchFroms(t, s, "example.com", "alice"))
		require.Len(t, fetchFroms(t, s, "example.com", "bob"), 4)
	})
}

func TestSQLStoreLimit(t *testing.T) {
	tests := []struct {
		name        string
		limit       int
		stored      int // messages accepted of 5 attempts
		withExpired bool
	}{
		{"no limit", 0, 5, false},
		{"negative is no limit", -1, 5, false},
		{"limit 1", 1, 1, false},
		{"limit 3", 3, 3, false},
		{"limit above attempts", 10, 5, false},
		{"expired messages do not count", 3, 3, true},
	}
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				user := fmt.Sprint("user", i)
				if tt.withExpired {
					for range 3 {
						m := msg(0)
						m.Expire = t0.Add(-time.Second)
						require.NoError(t, s.Store(ctx, "example.com", user, m, 0))
					}
				}
				accepted := 0
				for j := range 5 {
					err := s.Store(ctx, "example.com", user, msg(j), tt.limit)
					if err == nil {
						accepted++
						continue
					}
					require.ErrorIs(t, err, ErrLimitReached)
					require.Equal(t, ErrLimitReached, err, "the sentinel itself, unwrapped")
				}
				require.Equal(t, tt.stored, accepted)
				n, err := s.Count(ctx, "example.com", user)
				require.NoError(t, err)
				require.Equal(t, tt.stored, n)
			})
		}
	})
}

// TestSQLStoreConcurrentLimit stores concurrently against a limit: every
// call succeeds or reports the limit, and the limit holds on SQLite, where
// writers are serialised; on PostgreSQL it may be overshot by at most the
// number of concurrent writers.
func TestSQLStoreConcurrentLimit(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		const writers, each, limit = 4, 10, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					errs <- s.Store(ctx, "example.com", "alice", msg(w*each+i), limit)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				require.ErrorIs(t, err, ErrLimitReached)
			}
		}
		n, err := s.Count(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, limit)
		if d.Dialect == db.SQLite {
			require.Equal(t, limit, n)
		} else {
			require.LessOrEqual(t, n, limit+writers-1)
		}
	})
}

func TestSQLStoreExpiry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		store := func(server, user, from string, expire time.Time) {
			t.Helper()
			require.NoError(t, s.Store(ctx, server, user, Message{From: from, Packet: []byte("<message/>"), Expire: expire}, 0))
		}
		store("example.com", "alice", "past", t0.Add(-time.Minute))
		store("example.com", "alice", "now", t0)
		store("example.com", "alice", "future", t0.Add(time.Minute))
		store("example.com", "alice", "never", time.Time{})
		store("example.org", "bob", "past", t0.Add(-time.Minute))

		// Expired at or before now: not delivered, not counted.
		require.Equal(t, []string{"future", "never"}, fetchFroms(t, s, "example.com", "alice"))
		n, err := s.Count(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.Equal(t, 2, n)

		removed, err := s.RemoveExpired(ctx, t0)
		require.NoError(t, err)
		require.Equal(t, int64(3), removed, "across users and servers")
		var total int
		require.NoError(t, d.QueryRowContext(ctx, "SELECT COUNT(*) FROM offline_message").Scan(&total))
		require.Equal(t, 2, total)

		removed, err = s.RemoveExpired(ctx, t0.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, int64(1), removed)
		s.now = func() time.Time { return t0.Add(time.Hour) }
		require.Equal(t, []string{"never"}, fetchFroms(t, s, "example.com", "alice"))
	})
}

func TestSQLStoreRemoveUser(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		for i := range 3 {
			require.NoError(t, s.Store(ctx, "example.com", "alice", msg(i), 0))
			require.NoError(t, s.Store(ctx, "example.com", "bob", msg(i), 0))
			require.NoError(t, s.Store(ctx, "example.org", "alice", msg(i), 0))
		}
		require.NoError(t, s.RemoveUser(ctx, "example.com", "alice"))
		require.NoError(t, s.RemoveUser(ctx, "example.com", "nobody"))

		for _, tt := range []struct {
			server, user string
			want         int
		}{
			{"example.com", "alice", 0},
			{"example.com", "bob", 3},
			{"example.org", "alice", 3},
		} {
			n, err := s.Count(ctx, tt.server, tt.user)
			require.NoError(t, err)
			require.Equal(t, tt.want, n, "%s@%s", tt.user, tt.server)
		}
	})
}
