package inbox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/batch"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/wait"
)

// applyOne is the single-row reference of a flush: one statement per
// conversation.
func applyOne(ctx context.Context, s Store, k taskKey, t task) error {
	switch t.kind {
	case kSet, kInc:
		_, err := s.Upsert(ctx, k.Owner, Upsert{Remote: k.Remote, MsgID: t.msgID, Content: t.content(),
			Timestamp: t.ts, Count: t.count, Incr: t.kind == kInc, Box: t.box})
		return err
	case kReset:
		return s.ResetUnread(ctx, k.Owner, k.Remote, t.resetMsg, t.ts)
	case kRemove:
		return s.MoveToBin(ctx, k.Owner, k.Remote)
	}
	return nil
}

// TestMultiRowFlush flushes one batch mixing every task kind, with rows
// that must not overwrite newer ones, and checks the result row by row
// against the expected values and against the single-row application of
// the same batch to a copy; a retried flush changes nothing.
func TestMultiRowFlush(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		a := newAsyncWriter(s, batch.Options{Name: "inbox_test", Workers: 1})
		t.Cleanup(func() { _ = a.w.Stop(ctx) })
		multi, single := Owner{"localhost", "multi"}, Owner{"localhost", "single"}
		box := func(b string) *string { return &b }
		type seed struct {
			remote string
			ts     int64
			count  int
			box    string
		}
		seeds := []seed{
			{"inc@x", 100, 5, ""}, {"oldset@x", 500, 3, ""}, {"oldinc@x", 500, 3, ""}, {"archived@x", 100, 1, "archive"},
			{"other@x", 100, 1, "other"}, {"reset@x", 100, 4, ""}, {"resetmsg@x", 100, 4, ""}, {"resetwrong@x", 100, 4, ""},
			{"resetold@x", 900, 4, ""}, {"remove@x", 100, 2, ""}, {"incbin@x", 100, 2, ""}, {"samets@x", 600, 2, ""},
		}
		for _, o := range []Owner{multi, single} {
			for _, sd := range seeds {
				_, err := s.Upsert(ctx, o, Upsert{Remote: sd.remote, MsgID: "m", Content: "seed", Timestamp: sd.ts, Count: sd.count})
				require.NoError(t, err)
				if sd.box != "" {
					_, err = s.SetProps(ctx, o, sd.remote, SetProps{Box: box(sd.box)})
					require.NoError(t, err)
				}
			}
		}
		incBin := inc(3, "ib", 200)
		incBin.box = "bin"
		tasks := []struct {
			remote string
			t      task
			want   Entry // Remote, Box, UnreadCount, Timestamp, MsgID checked
		}{
			{"inc@x", inc(2, "i", 200), Entry{MsgID: "i", Box: "inbox", UnreadCount: 7, Timestamp: 200}},
			{"oldset@x", set(0, "os", 300), Entry{MsgID: "m", Box: "inbox", UnreadCount: 3, Timestamp: 500}},
			{"oldinc@x", inc(1, "oi", 400), Entry{MsgID: "m", Box: "inbox", UnreadCount: 3, Timestamp: 500}},
			{"samets@x", inc(1, "st", 600), Entry{MsgID: "m", Box: "inbox", UnreadCount: 2, Timestamp: 600}},
			{"new@x", set(0, "n", 200), Entry{MsgID: "n", Box: "inbox", UnreadCount: 0, Timestamp: 200}},
			{"newinc@x", inc(1, "ni", 200), Entry{MsgID: "ni", Box: "inbox", UnreadCount: 1, Timestamp: 200}},
			{"archived@x", set(0, "a", 200), Entry{MsgID: "a", Box: "inbox", UnreadCount: 0, Timestamp: 200}},
			{"other@x", inc(1, "o", 200), Entry{MsgID: "o", Box: "other", UnreadCount: 2, Timestamp: 200}},
			{"reset@x", resetAll(200), Entry{MsgID: "m", Box: "inbox", UnreadCount: 0, Timestamp: 100}},
			{"resetmsg@x", resetMsg("m", 200), Entry{MsgID: "m", Box: "inbox", UnreadCount: 0, Timestamp: 100}},
			{"resetwrong@x", resetMsg("zz", 200), Entry{MsgID: "m", Box: "inbox", UnreadCount: 4, Timestamp: 100}},
			{"resetold@x", resetAll(800), Entry{MsgID: "m", Box: "inbox", UnreadCount: 4, Timestamp: 900}},
			{"remove@x", remove, Entry{MsgID: "m", Box: "bin", UnreadCount: 2, Timestamp: 100}},
			{"incbin@x", incBin, Entry{MsgID: "ib", Box: "bin", UnreadCount: 5, Timestamp: 200}},
		}
		var items []batch.Item[taskKey, task]
		for _, tc := range tasks {
			items = append(items, batch.Item[taskKey, task]{Key: taskKey{multi, tc.remote}, Value: tc.t})
			require.NoError(t, applyOne(ctx, s, taskKey{single, tc.remote}, tc.t))
		}
		check := func() {
			all := "all"
			ms, err := s.Lookup(ctx, multi, Params{Box: &all, Limit: -1})
			require.NoError(t, err)
			ss, err := s.Lookup(ctx, single, Params{Box: &all, Limit: -1})
			require.NoError(t, err)
			require.Equal(t, ss, ms, "multi-row equals single-row")
			for _, tc := range tasks {
				e, err := s.Get(ctx, multi, tc.remote)
				require.NoError(t, err)
				got := Entry{MsgID: e.MsgID, Box: e.Box, UnreadCount: e.UnreadCount, Timestamp: e.Timestamp}
				require.Equal(t, tc.want, got, tc.remote)
			}
		}
		require.NoError(t, a.flush(ctx, items))
		check()
		require.NoError(t, a.flush(ctx, items), "retry")
		check()
	})
}

// TestMultiRowFlushChunks flushes more rows than one statement takes.
func TestMultiRowFlushChunks(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		o := Owner{"localhost", "bob"}
		n := 2*maxRows + 7
		var ups []OwnedUpsert
		var resets []OwnedReset
		var bins []EntryKey
		for i := range n {
			r := fmt.Sprintf("u%d@x", i)
			ups = append(ups, OwnedUpsert{o, Upsert{Remote: r, MsgID: "m", Content: "c", Timestamp: int64(i + 1), Count: 1, Incr: i%2 == 0}})
			if i%3 == 0 {
				resets = append(resets, OwnedReset{EntryKey{o, r}, nil, int64(i + 1)})
			}
			if i%5 == 0 {
				bins = append(bins, EntryKey{o, r})
			}
		}
		require.NoError(t, s.UpsertMany(ctx, ups))
		require.NoError(t, s.UpsertMany(ctx, ups))
		require.NoError(t, s.ResetMany(ctx, resets))
		require.NoError(t, s.MoveManyToBin(ctx, bins))
		var rows, unread, bin int
		require.NoError(t, d.QueryRowContext(ctx, d.Rebind(`SELECT COUNT(*), SUM(unread_count), SUM(CASE WHEN box = 'bin' THEN 1 ELSE 0 END) FROM inbox WHERE luser = ?`), "bob").Scan(&rows, &unread, &bin))
		require.Equal(t, n, rows)
		require.Equal(t, n-len(resets), unread, "the repeated upsert was ignored; resets cleared theirs")
		require.Equal(t, len(bins), bin)
	})
}

// TestRewritesAreHOT (PostgreSQL): a busy conversation rewrites its entries
// over and over, and every rewrite must be a HOT update: the new row version
// on the same page, no new entry in any index. With an index covering ts
// (which every message write changes), or without free space on the pages
// (fillfactor), each rewrite was a new row version plus an entry in every
// index, left for VACUUM, which the server cannot count on (migration
// 00011). The rewrite round fits in the half page fillfactor keeps free, so
// the assertion holds whether or not PostgreSQL may prune old versions yet:
// an open transaction elsewhere in the database delays pruning, not HOT.
func TestRewritesAreHOT(t *testing.T) {
	d := dbtest.Open(t, db.PostgreSQL)
	ctx := context.Background()
	s := NewSQLStore(d)
	o := Owner{"localhost", "busy"}
	const entries = 40
	rows := make([]OwnedUpsert, entries)
	content := `<message xmlns='jabber:client' type='groupchat' from='room@muclight.localhost/alice' id='m'><body>` +
		strings.Repeat("x", 200) + `</body></message>`
	for round := range 2 {
		for i := range rows {
			rows[i] = OwnedUpsert{o, Upsert{Remote: fmt.Sprintf("room%d@muclight.localhost", i), MsgID: fmt.Sprint(round),
				Content: content, Timestamp: int64(1000 + round), Count: 1, Incr: true}}
		}
		require.NoError(t, s.UpsertMany(ctx, rows))
	}
	got, err := s.Get(ctx, o, "room7@muclight.localhost")
	require.NoError(t, err)
	require.Equal(t, 2, got.UnreadCount, "the second round updated the entries")
	// Other backends report their counters when they go idle (within
	// seconds); closing the pool's idle connections makes them report now.
	d.SQL.SetMaxIdleConns(0)
	var upd, hot int64
	wait.Until(t, 30*time.Second, func() error {
		if err := d.QueryRowContext(ctx,
			`SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'inbox'`).Scan(&upd, &hot); err != nil {
			return err
		}
		if upd < entries {
			return fmt.Errorf("%d updates counted in pg_stat_user_tables, want %d", upd, entries)
		}
		return nil
	})
	require.Equal(t, int64(entries), upd, "updates counted in pg_stat_user_tables")
	require.Equal(t, upd, hot, "every rewrite of an entry is a HOT update")
}
