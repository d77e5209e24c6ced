package batch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// started starts w for a test.
func started[K comparable, V any](w *Writer[K, V]) *Writer[K, V] {
	w.Start(context.Background())
	return w
}

// recorder is a flush function that records batches and can be held.
type recorder struct {
	mu      sync.Mutex
	batches [][]Item[string, int]
	gate    chan struct{} // when non-nil, each flush waits for a token
	entered chan struct{} // signalled when a flush starts
	fail    int           // fail this many flushes first
	active  atomic.Int32
	maxAct  atomic.Int32
}

func (r *recorder) flush(ctx context.Context, items []Item[string, int]) error {
	n := r.active.Add(1)
	defer r.active.Add(-1)
	for {
		m := r.maxAct.Load()
		if n <= m || r.maxAct.CompareAndSwap(m, n) {
			break
		}
	}
	if r.entered != nil {
		r.entered <- struct{}{}
	}
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("database down")
	}
	r.batches = append(r.batches, append([]Item[string, int](nil), items...))
	return nil
}

func (r *recorder) written() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, b := range r.batches {
		for _, it := range b {
			out[it.Key] = it.Value
		}
	}
	return out
}

func stop(t *testing.T, w interface{ Stop(context.Context) error }) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, w.Stop(ctx))
}

func TestLatestWinsAndPerKeyOrder(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	w := started(New(Options{Name: "t", Workers: 1}, r.flush, nil))
	ctx := context.Background()
	require.NoError(t, w.Put(ctx, "a", 1))
	<-r.entered // a=1 is in flight
	v, ok := w.Get("a")
	require.True(t, ok)
	require.Equal(t, 1, v)
	// Writes for the in-flight key wait in pending, merged: latest wins.
	require.NoError(t, w.Put(ctx, "b", 1))
	require.NoError(t, w.Put(ctx, "a", 2))
	require.NoError(t, w.Put(ctx, "a", 3))
	require.NoError(t, w.Put(ctx, "b", 2))
	v, _ = w.Get("a")
	require.Equal(t, 3, v)
	require.Equal(t, 2, w.Len())
	close(r.gate)
	require.NoError(t, w.Sync(ctx))
	require.Equal(t, [][]Item[string, int]{{{"a", 1}}, {{"b", 2}, {"a", 3}}}, r.batches,
		"second batch in order of first arrival of each key")
	_, ok = w.Get("a")
	require.False(t, ok)
	stop(t, w)
}

func TestMergeFunction(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	sum := func(old, new int) (int, error) {
		if new < 0 {
			return 0, errors.New("negative")
		}
		return old + new, nil
	}
	w := started(New(Options{Name: "t", Workers: 1}, r.flush, sum))
	ctx := context.Background()
	require.NoError(t, w.Put(ctx, "x", 100))
	<-r.entered
	for i := 1; i <= 4; i++ {
		require.NoError(t, w.Put(ctx, "k", i))
	}
	require.NoError(t, w.Put(ctx, "k", -1)) // merge error: discarded, old kept
	close(r.gate)
	require.NoError(t, w.Sync(ctx))
	require.Equal(t, map[string]int{"x": 100, "k": 10}, r.written())
	stop(t, w)
}

func TestRetriesThenSuccess(t *testing.T) {
	reg := metrics.New()
	r := &recorder{fail: 2}
	w := started(New(Options{Name: "retry", HostType: "localhost", Workers: 1, RetryDelay: time.Millisecond, Metrics: reg}, r.flush, nil))
	require.NoError(t, w.Put(context.Background(), "a", 7))
	require.NoError(t, w.Sync(context.Background()))
	require.Equal(t, map[string]int{"a": 7}, r.written())
	require.Equal(t, 2.0, metricValue(t, reg, "async_pool_retries_count", "retry"))
	require.Equal(t, 3.0, metricValue(t, reg, "async_pool_request_count", "retry"))
	require.Equal(t, 0.0, metricValue(t, reg, "async_pool_dropped_count", "retry"))
	stop(t, w)
}

func TestDroppedAfterRetries(t *testing.T) {
	reg := metrics.New()
	r := &recorder{fail: 100}
	w := started(New(Options{Name: "drop", Workers: 1, Retries: 2, RetryDelay: time.Millisecond, Metrics: reg}, r.flush, nil))
	require.NoError(t, w.Put(context.Background(), "a", 1))
	require.NoError(t, w.Sync(context.Background()))
	require.Empty(t, r.written())
	require.Equal(t, 1.0, metricValue(t, reg, "async_pool_dropped_count", "drop"))
	require.Equal(t, 3.0, metricValue(t, reg, "async_pool_request_count", "drop"))
	// The writer goes on with the next write.
	r.mu.Lock()
	r.fail = 0
	r.mu.Unlock()
	require.NoError(t, w.Put(context.Background(), "b", 2))
	require.NoError(t, w.Sync(context.Background()))
	require.Equal(t, map[string]int{"b": 2}, r.written())
	stop(t, w)
}

func TestStopDrainsEverything(t *testing.T) {
	r := &recorder{}
	slow := func(ctx context.Context, items []Item[string, int]) error {
		time.Sleep(time.Millisecond) // a slow database, so that batches form
		return r.flush(ctx, items)
	}
	reg := metrics.New()
	w := started(New(Options{Name: "drain", Workers: 3, MaxBatch: 50, Metrics: reg}, slow, nil))
	want := map[string]int{}
	for i := range 2000 {
		k := fmt.Sprintf("k%d", i%1500)
		require.NoError(t, w.Put(context.Background(), k, i))
		want[k] = i
	}
	stop(t, w)
	require.Equal(t, want, r.written())
	require.ErrorIs(t, w.Put(context.Background(), "late", 1), ErrClosed)
	flushes := metricValue(t, reg, "async_pool_request_count", "drain")
	require.Less(t, flushes, 1500.0/5, "writes were batched")
	require.Equal(t, 0.0, metricValue(t, reg, "async_pool_queue_lengths_value", "drain"))
}

func TestQueueBoundBlocksPut(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	w := started(New(Options{Name: "full", Workers: 1, QueueSize: 2}, r.flush, nil))
	bg := context.Background()
	require.NoError(t, w.Put(bg, "a", 1))
	<-r.entered
	require.NoError(t, w.Put(bg, "b", 1))
	require.NoError(t, w.Put(bg, "c", 1))
	require.NoError(t, w.Put(bg, "b", 2), "merging into a pending key never blocks")
	ctx, cancel := context.WithCancel(bg)
	errc := make(chan error, 1)
	go func() { errc <- w.Put(ctx, "d", 1) }()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)

	// A blocked Put proceeds once a flush makes room.
	go func() { errc <- w.Put(bg, "d", 1) }()
	r.gate <- struct{}{} // a=1 done; b, c go in flight
	<-r.entered
	require.NoError(t, <-errc)
	close(r.gate)
	require.NoError(t, w.Sync(bg))
	require.Equal(t, map[string]int{"a": 1, "b": 2, "c": 1, "d": 1}, r.written())
	stop(t, w)
}

func TestFlushesInFlightBoundedByWorkers(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	w := started(New(Options{Name: "bound", Workers: 3, MaxBatch: 1}, r.flush, nil))
	for i := range 60 {
		require.NoError(t, w.Put(context.Background(), fmt.Sprint(i), i))
	}
	// Release flushes one by one; never more than 3 run at once.
	go func() {
		for range 60 {
			r.gate <- struct{}{}
		}
	}()
	require.NoError(t, w.Sync(context.Background()))
	require.LessOrEqual(t, r.maxAct.Load(), int32(3))
	require.Len(t, r.written(), 60)
	stop(t, w)
}

// metricValue reads a counter or gauge with the given pool_id label.
func metricValue(t *testing.T, reg *metrics.Registry, name, pool string) float64 {
	t.Helper()
	mfs, err := reg.Prometheus().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "pool_id" && l.GetValue() == pool {
					if m.Counter != nil {
						return m.Counter.GetValue()
					}
					return m.Gauge.GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{pool_id=%q} not found", name, pool)
	return 0
}

// TestFlushIntervalMergesUntilDue: with a FlushInterval nothing is written
// before the interval, every write of a key made meanwhile is merged into
// one, Sync writes at once, and the timer alone flushes what is left.
func TestFlushIntervalMergesUntilDue(t *testing.T) {
	r := &recorder{}
	sum := func(old, new int) (int, error) { return old + new, nil }
	w := started(New(Options{Name: "t", Workers: 1, FlushInterval: time.Hour}, r.flush, sum))
	ctx := context.Background()
	for i := 1; i <= 10; i++ {
		require.NoError(t, w.Put(ctx, "a", i))
		require.NoError(t, w.Put(ctx, "b", 1))
	}
	require.Empty(t, r.written(), "nothing is due before the interval")
	require.Equal(t, 2, w.Len())
	require.NoError(t, w.Sync(ctx))
	require.Equal(t, [][]Item[string, int]{{{"a", 55}, {"b", 10}}}, r.batches, "one batch, each key merged once")
	stop(t, w)

	r = &recorder{}
	w = started(New(Options{Name: "t", Workers: 1, FlushInterval: 20 * time.Millisecond}, r.flush, sum))
	require.NoError(t, w.Put(ctx, "c", 7))
	wait.Until(t, 10*time.Second, func() error {
		if got := r.written()["c"]; got != 7 {
			return fmt.Errorf("the interval's timer flushes without Sync: c = %v, want 7", got)
		}
		return nil
	})
	stop(t, w)
}

// TestFlushIntervalFullBatchAndStop: a full batch does not wait for the
// interval, and Stop writes what is pending without waiting either.
func TestFlushIntervalFullBatchAndStop(t *testing.T) {
	r := &recorder{}
	w := started(New(Options{Name: "t", Workers: 1, MaxBatch: 5, FlushInterval: time.Hour}, r.flush, nil))
	ctx := context.Background()
	for i := range 7 {
		require.NoError(t, w.Put(ctx, fmt.Sprint("k", i), i))
	}
	wait.Until(t, 10*time.Second, func() error {
		if n := len(r.written()); n != 5 {
			return fmt.Errorf("the first five keys make a full batch: %d written", n)
		}
		return nil
	})
	require.Equal(t, 2, w.Len(), "the other two wait for the interval")
	stop(t, w)
	require.Len(t, r.written(), 7, "Stop drains the rest")
}

// TestFlushSchedule: each shard flushes once per interval on its own
// schedule, the shards spread evenly over the interval, so a write waits
// more than nothing and at most one interval, and two shards' flushes are
// an n-th of the interval apart.
func TestFlushSchedule(t *testing.T) {
	start := time.Now()
	const iv = time.Second
	const n = 4
	var firsts []time.Time
	for i := range n {
		base := scheduleBase(start, i, n, iv)
		require.False(t, base.After(start), "shard %d: the base is not after the start", i)
		for _, after := range []time.Duration{0, 1, 250 * time.Millisecond, iv - 1, iv, iv + 1, 7*iv + 123*time.Millisecond} {
			since := start.Add(after)
			d := due(base, iv, since)
			require.True(t, d.After(since), "shard %d, key pending at +%v: due %v is after it", i, after, d.Sub(start))
			require.LessOrEqual(t, d.Sub(since), iv, "shard %d, key pending at +%v: waits at most the interval", i, after)
			require.Zero(t, d.Sub(base)%iv, "shard %d: due on the schedule", i)
			// A key that becomes pending right after a flush waits for the
			// next one: one flush per interval per shard.
			require.Equal(t, d.Add(iv), due(base, iv, d), "shard %d: next flush", i)
		}
		firsts = append(firsts, due(base, iv, start))
	}
	for i := 1; i < n; i++ {
		phase := (firsts[i].Sub(firsts[0])%iv + iv) % iv
		require.Equal(t, time.Duration(i)*iv/n, phase, "shard %d flushes %d n-ths of the interval after shard 0", i, i)
	}
}

// TestNewStartsNothing: the constructor starts no goroutine and flushes
// nothing (the server's lifecycle starts the writer); Stop on a writer
// that was never started still writes what was Put, so nothing is lost.
func TestNewStartsNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	r := &recorder{}
	w := New(Options{Name: "t", Workers: 3}, r.flush, nil)
	require.Equal(t, before, runtime.NumGoroutine(), "New started goroutines")
	require.NoError(t, w.Put(context.Background(), "a", 1))
	require.NoError(t, w.Put(context.Background(), "b", 2))
	require.Empty(t, r.written(), "flushed before Start")
	stop(t, w)
	require.Equal(t, map[string]int{"a": 1, "b": 2}, r.written())
}
