package inbox

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/batch"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

func set(c int, id string, ts int64) task {
	return task{kind: kSet, count: c, msgID: id, msg: msgEl(id), ts: ts, box: "inbox"}
}
func inc(k int, id string, ts int64) task {
	return task{kind: kInc, count: k, msgID: id, msg: msgEl(id), ts: ts, box: "inbox"}
}
func resetMsg(id string, ts int64) task { return task{kind: kReset, resetMsg: &id, ts: ts} }
func resetAll(ts int64) task            { return task{kind: kReset, ts: ts} }

var remove = task{kind: kRemove}

// TestAggregateRules checks every row of spec/inbox.md §10.4.
func TestAggregateRules(t *testing.T) {
	binSet := set(0, "a", 1)
	binSet.box = "bin"
	binInc := inc(1, "a", 1)
	binInc.box = "bin"
	newSetBin := set(2, "b", 2)
	newSetBin.box = "bin"
	newIncBin := inc(1, "b", 2)
	newIncBin.box = "bin"
	for i, tc := range []struct {
		rule      string
		old, nw   task
		want      task
		wantReset *string
	}{
		{rule: "1", old: set(0, "a", 1), nw: remove, want: binSet},
		{rule: "2", old: inc(1, "a", 1), nw: remove, want: binInc},
		{rule: "3 reset", old: resetAll(1), nw: remove, want: remove},
		{rule: "3 remove", old: remove, nw: remove, want: remove},
		{rule: "4", old: remove, nw: resetAll(2), want: remove},
		{rule: "5", old: remove, nw: set(2, "b", 2), want: newSetBin},
		{rule: "6", old: remove, nw: inc(1, "b", 2), want: newIncBin},
		{rule: "7", old: resetMsg("a", 1), nw: resetAll(2), want: resetAll(2)},
		{rule: "8", old: resetAll(1), nw: resetMsg("a", 2), want: resetAll(1)},
		{rule: "9", old: resetMsg("a", 1), nw: resetMsg("b", 2), want: resetMsg("b", 2)},
		{rule: "10", old: resetAll(1), nw: set(0, "b", 2), want: set(0, "b", 2)},
		{rule: "11", old: resetMsg("x", 1), nw: inc(3, "b", 2), want: set(3, "b", 2)},
		{rule: "12", old: set(2, "a", 1), nw: resetAll(2), want: set(0, "a", 1)},
		{rule: "13", old: set(2, "a", 1), nw: resetMsg("a", 2), want: set(0, "a", 1)},
		{rule: "14", old: set(2, "a", 1), nw: resetMsg("z", 2), want: set(2, "a", 1)},
		{rule: "15 (Gander)", old: set(0, "a", 1), nw: inc(1, "b", 2), want: set(1, "b", 2)},
		{rule: "15 bin (Gander)", old: binSet, nw: inc(1, "b", 2), want: func() task { x := set(1, "b", 2); x.box = "bin"; return x }()},
		{rule: "16", old: inc(2, "a", 1), nw: resetMsg("a", 2), want: set(0, "a", 1)},
		{rule: "17a (Gander)", old: inc(2, "a", 1), nw: resetAll(2), want: set(0, "a", 1)},
		{rule: "17b", old: inc(2, "a", 1), nw: resetMsg("z", 2), want: inc(2, "a", 1)},
		{rule: "18", old: inc(2, "a", 1), nw: inc(1, "b", 2), want: inc(3, "b", 2)},
		{rule: "19", old: inc(2, "a", 1), nw: set(0, "a", 2), want: set(0, "a", 2)},
		{rule: "20 inc-set", old: inc(2, "a", 1), nw: set(0, "b", 2), want: set(0, "b", 2)},
		{rule: "20 set-set", old: set(0, "a", 1), nw: set(0, "b", 2), want: set(0, "b", 2)},
		{rule: "18 bin (Gander)", old: binInc, nw: inc(1, "b", 2), want: func() task { x := inc(2, "b", 2); x.box = "bin"; return x }()},
		{rule: "19 bin (Gander)", old: binInc, nw: set(0, "a", 2), want: func() task { x := set(0, "a", 2); x.box = "bin"; return x }()},
		{rule: "20 bin (Gander)", old: binInc, nw: set(0, "b", 2), want: func() task { x := set(0, "b", 2); x.box = "bin"; return x }()},
	} {
		got, err := aggregate(tc.old, tc.nw)
		require.NoError(t, err, tc.rule)
		require.Equal(t, tc.want, got, "case %d rule %s", i, tc.rule)
	}
	_, err := aggregate(task{}, set(0, "a", 1))
	require.Error(t, err)
}

// TestAsyncWriterSequentialEquivalence feeds one conversation's history
// through the asynchronous writer and checks the stored entry equals the
// synchronous result, and that Stop drains everything.
func TestAsyncWriterSequentialEquivalence(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		a := newAsyncWriter(s, batch.Options{Name: "inbox_test", Workers: 1})
		a.w.Start(context.Background())
		o := Owner{"localhost", "bob"}
		k := taskKey{o, "alice@localhost"}
		ts := int64(1000)
		// Own message, then 50 incoming ones, a marker for the 30th (no
		// match any more), then for the last: count 0 with the last
		// content. Then 3 more incoming and an explicit reset.
		require.NoError(t, a.w.Put(ctx, k, set(0, "own", ts)))
		for i := 1; i <= 50; i++ {
			ts++
			require.NoError(t, a.w.Put(ctx, k, inc(1, fmt.Sprintf("m%d", i), ts)))
		}
		ts++
		require.NoError(t, a.w.Put(ctx, k, resetMsg("m30", ts)))
		require.NoError(t, a.w.Sync(ctx))
		e, err := s.Get(ctx, o, "alice@localhost")
		require.NoError(t, err)
		require.Equal(t, 50, e.UnreadCount, "own message then 50 incoming is 50, not more (rule 15)")
		require.Equal(t, "m50", e.MsgID)
		ts++
		require.NoError(t, a.w.Put(ctx, k, resetMsg("m50", ts)))
		for i := 51; i <= 53; i++ {
			ts++
			require.NoError(t, a.w.Put(ctx, k, inc(1, fmt.Sprintf("m%d", i), ts)))
		}
		ts++
		require.NoError(t, a.w.Put(ctx, k, resetAll(ts)))
		ts++
		require.NoError(t, a.w.Put(ctx, taskKey{o, "kate@localhost"}, inc(1, "k", ts)))
		require.NoError(t, a.w.Stop(ctx))
		e, err = s.Get(ctx, o, "alice@localhost")
		require.NoError(t, err)
		require.Equal(t, 0, e.UnreadCount, "the explicit reset after increments is kept (rule 17a)")
		require.Equal(t, "m53", e.MsgID)
		e, err = s.Get(ctx, o, "kate@localhost")
		require.NoError(t, err)
		require.Equal(t, 1, e.UnreadCount, "drained on stop")
	})
}

// msgEl is a stored message whose id (and so content) is id.
func msgEl(id string) *xmlstream.Element {
	return xmlstream.New(stanza.NSClient, "message", "id", id)
}
