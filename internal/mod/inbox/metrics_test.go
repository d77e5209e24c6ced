package inbox

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/batch"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/metrics"
)

// gatedStore holds every UpsertMany until released.
type gatedStore struct {
	Store
	entered chan struct{}
	release chan struct{}
}

func (g gatedStore) UpsertMany(ctx context.Context, rows []OwnedUpsert) error {
	g.entered <- struct{}{}
	<-g.release
	return g.Store.UpsertMany(ctx, rows)
}

// sample returns the value (counter, gauge) or the sample count and sum
// (histogram) of the series of name whose labels include want.
func sample(t *testing.T, reg *metrics.Registry, name string, want map[string]string) (v, sum float64) {
	t.Helper()
	mfs, err := reg.Prometheus().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), 0
			case m.Gauge != nil:
				return m.Gauge.GetValue(), 0
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), m.Histogram.GetSampleSum()
			}
		}
	}
	t.Fatalf("no series %s%v", name, want)
	return 0, 0
}

// TestAsyncWriterMetricsMove holds a flush in flight, queues writes
// behind it and checks that the writer's metrics (queue length, merges,
// conversations per flush, flush latency) and the backend call metrics
// of a multi-row flush move.
func TestAsyncWriterMetricsMove(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		reg := metrics.New()
		g := gatedStore{Store: NewSQLStore(d), entered: make(chan struct{}), release: make(chan struct{})}
		a := newAsyncWriter(newMeteredStore(g, reg), batch.Options{Name: "inbox", HostType: "localhost", Workers: 1, Metrics: reg})
		a.w.Start(context.Background())
		pool := map[string]string{"pool_id": "inbox"}
		o := Owner{"localhost", "bob"}
		k1, k2 := taskKey{o, "alice@localhost"}, taskKey{o, "kate@localhost"}

		require.NoError(t, a.w.Put(ctx, k1, inc(1, "a1", 1)))
		<-g.entered // the first flush (k1 alone) is in flight
		require.NoError(t, a.w.Put(ctx, k1, inc(1, "a2", 2)))
		require.NoError(t, a.w.Put(ctx, k1, inc(1, "a3", 3)))
		require.NoError(t, a.w.Put(ctx, k1, set(0, "a4", 4)))
		require.NoError(t, a.w.Put(ctx, k2, inc(1, "k1", 5)))
		q, _ := sample(t, reg, "async_pool_queue_lengths_value", pool)
		require.Equal(t, 2.0, q, "two conversations wait")
		merged, _ := sample(t, reg, "async_pool_merged_count", pool)
		require.Equal(t, 2.0, merged)

		go func() { <-g.entered; g.release <- struct{}{} }()
		g.release <- struct{}{}
		require.NoError(t, a.w.Sync(ctx))
		q, _ = sample(t, reg, "async_pool_queue_lengths_value", pool)
		require.Equal(t, 0.0, q)
		flushes, convs := sample(t, reg, "async_pool_batch_size", pool)
		require.Equal(t, 2.0, flushes)
		require.Equal(t, 3.0, convs, "5 writes reached storage as 3 conversation rows")
		n, _ := sample(t, reg, "async_pool_flush_time", pool)
		require.Equal(t, 2.0, n)
		req, _ := sample(t, reg, "async_pool_request_count", pool)
		require.Equal(t, 2.0, req)
		set, _ := sample(t, reg, "mod_inbox_backend_count", map[string]string{"function": "set_inbox", "host_type": "localhost"})
		incr, _ := sample(t, reg, "mod_inbox_backend_count", map[string]string{"function": "set_inbox_incr_unread", "host_type": "localhost"})
		require.Equal(t, 1.0, set)
		require.Equal(t, 2.0, incr)
		tn, _ := sample(t, reg, "mod_inbox_backend_time", map[string]string{"function": "set_inbox_incr_unread", "host_type": "localhost"})
		require.Equal(t, 2.0, tn, "one time per statement")
		require.NoError(t, a.w.Stop(ctx))
		e, err := g.Get(ctx, o, "alice@localhost")
		require.NoError(t, err)
		require.Equal(t, 0, e.UnreadCount)
		require.Equal(t, "a4", e.MsgID)
	})
}
