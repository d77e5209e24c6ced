package mam

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/metrics"
)

// insertLog is a Store that records the INSERTs (the other methods are
// not used here) and fails the first failures ones.
type insertLog struct {
	Store
	mu       sync.Mutex
	sizes    []int
	owners   [][]int64
	failures int
}

func (s *insertLog) Insert(_ context.Context, _ Kind, items []Item) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures > 0 {
		s.failures--
		return errors.New("database down")
	}
	s.sizes = append(s.sizes, len(items))
	var os []int64
	for _, it := range items {
		os = append(os, it.Owner*1000+it.Row.ID)
	}
	s.owners = append(s.owners, os)
	return nil
}

func testWriter(t *testing.T, st Store, aw config.MamAsyncWriter) (*writer, *partMetrics) {
	m := &Module{store: st, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	p := &part{m: m, kind: KindPM, opts: config.MamOptions{AsyncWriter: aw}, met: newPartMetrics(metrics.New(), KindPM, []string{"localhost"})}
	p.w = newWriter(m, p)
	p.w.retryDelay = time.Millisecond
	require.NoError(t, p.w.start(context.Background()))
	t.Cleanup(func() { p.w.stop(context.Background()) })
	return p.w, p.met
}

// TestAsyncWriterBatches: an archive's rows keep their order, a flush
// writes the rows of every waiting archive in INSERTs of at most
// batch_size rows, and SyncKey writes an archive's rows without waiting
// for the interval.
func TestAsyncWriterBatches(t *testing.T) {
	st := &insertLog{}
	w, met := testWriter(t, st, config.MamAsyncWriter{Enabled: true, FlushInterval: 60000, BatchSize: 3, PoolSize: 1})
	ctx := context.Background()
	for i := range 4 {
		require.True(t, w.write(ctx, 1, "localhost", Row{ID: int64(i + 1)}))
		require.True(t, w.write(ctx, 2, "localhost", Row{ID: int64(i + 1)}))
	}
	require.Empty(t, st.sizes, "nothing before the interval")
	require.NoError(t, w.sync(ctx, 1))
	require.Equal(t, []int{3, 3, 2}, st.sizes, "at most batch_size rows per INSERT")
	require.Equal(t, [][]int64{{1001, 1002, 1003}, {1004, 2001, 2002}, {2003, 2004}}, st.owners, "archive order kept")
	require.Equal(t, 8.0, testutil.ToFloat64(met.archived.WithLabelValues("localhost")))
	require.Equal(t, 1.0, testutil.ToFloat64(met.flushed.WithLabelValues("localhost")))
}

// TestAsyncWriterRetriesAndDrops: a failed INSERT is retried; a flush that
// fails every retry drops its rows and counts them.
func TestAsyncWriterRetriesAndDrops(t *testing.T) {
	ctx := context.Background()
	st := &insertLog{failures: 2}
	w, met := testWriter(t, st, config.MamAsyncWriter{Enabled: true, BatchSize: 30, PoolSize: 1})
	w.write(ctx, 1, "localhost", Row{ID: 1})
	require.NoError(t, w.syncAll(ctx))
	require.Equal(t, []int{1}, st.sizes, "written on the third attempt")
	require.Zero(t, testutil.ToFloat64(met.dropped.WithLabelValues("localhost")))

	st.failures = 100
	w.write(ctx, 1, "localhost", Row{ID: 2})
	w.write(ctx, 1, "localhost", Row{ID: 3})
	require.NoError(t, w.syncAll(ctx))
	require.Equal(t, 2.0, testutil.ToFloat64(met.dropped.WithLabelValues("localhost")))

	// The synchronous writer reports the failure to the caller (no
	// stanza-id) and counts it.
	sw, smet := testWriter(t, &insertLog{failures: 1}, config.MamAsyncWriter{})
	require.False(t, sw.write(ctx, 1, "localhost", Row{ID: 1}))
	require.Equal(t, 1.0, testutil.ToFloat64(smet.dropped.WithLabelValues("localhost")))
	require.True(t, sw.write(ctx, 1, "localhost", Row{ID: 2}))
}
