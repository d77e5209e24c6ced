// Package batch is Gander's generic asynchronous aggregating writer. Callers
// Put a write for a key and return at once; the writer keeps at most one
// pending write per key (later writes are merged into it, by default the
// latest wins) and hands pending writes to a flush function in batches.
//
// Shape (spec/inbox.md §10.3, generalised to batches):
//
//   - Keys are spread over Workers shards by a hash of the key, so all
//     writes of one key go through the same shard.
//   - Each shard has at most one flush in flight. While it is in flight new
//     writes accumulate in the shard's pending map; the next flush takes up to
//     MaxBatch of them in the order their keys first became pending. So the
//     slower the database, the bigger the batches and the more writes of one
//     key are merged; with an idle database and no FlushInterval a write
//     is flushed at once.
//   - With a FlushInterval, each shard flushes on its own fixed schedule,
//     once per interval, the shards' schedules spread evenly over the
//     interval (shard i of n at i/n of it); it flushes earlier only when
//     MaxBatch keys are pending. A write waits at most one interval, writes
//     of one key made meanwhile are merged, so the storage load is bounded
//     by the number of distinct keys per interval rather than by the write
//     rate, and the shards' flushes do not all hit the database at the same
//     moment. Sync and Stop do not wait for the schedule.
//   - A write for a key that is in flight is not merged into the in-flight
//     batch; it waits in pending, so per-key order is kept.
//   - A failed flush is retried (the same batch) up to Retries times, then
//     dropped with an error log and the dropped metric.
//   - The number of pending keys per shard is bounded by QueueSize; Put
//     blocks while the shard is full (backpressure on the producer) until
//     room is made, its context ends or the writer stops.
//   - Stop flushes everything pending and waits for the flushes, bounded by
//     its context: nothing Put before Stop is lost on a clean stop.
//
// The writer is safe for concurrent use. Get reads a pending or in-flight
// value, so that readers can see writes that have not reached storage yet.
// LOCKS: each shard has one mutex; no code holds two shard mutexes at once.
package batch

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gander-xmpp/gander/internal/metrics"
)

// ErrClosed is returned by Put after Stop began.
var ErrClosed = errors.New("batch: writer stopped")

// Item is one aggregated write handed to the flush function.
type Item[K comparable, V any] struct {
	Key   K
	Value V
}

// FlushFunc writes a batch to storage. It is called from one of the
// writer's goroutines with at most MaxBatch items, each key at most once,
// in the order their keys first became pending. It must either write all
// items or return an error (then the whole batch is retried): make it one
// transaction or idempotent. The slice is owned by the writer and must not
// be kept after return.
type FlushFunc[K comparable, V any] func(ctx context.Context, items []Item[K, V]) error

// MergeFunc combines a pending write old with a newer write new for the
// same key. An error discards new and keeps old (it is logged).
type MergeFunc[V any] func(old, new V) (V, error)

// Options configure a Writer. Zero values take the defaults below.
type Options struct {
	// Name identifies the writer in logs and in the pool_id metric label,
	// e.g. "mod_last_rdbms".
	Name string
	// HostType is the host_type metric label.
	HostType string
	// Workers is the number of shards, and so the maximum number of
	// flushes in flight (default 4).
	Workers int
	// MaxBatch is the maximum number of items per flush (default 100).
	MaxBatch int
	// QueueSize bounds the pending keys per shard (default 10000).
	QueueSize int
	// Retries is the number of retries of a failed flush (default 3;
	// negative means none).
	Retries int
	// RetryDelay is the pause before the first retry; it doubles for each
	// further retry (default 100ms).
	RetryDelay time.Duration
	// FlushTimeout bounds one flush call (default 30s).
	FlushTimeout time.Duration
	// FlushInterval is the period of each shard's flush schedule: a
	// pending key waits at most that long for more writes to merge (0, the
	// default: flush as soon as no flush is in flight). A full batch
	// (MaxBatch keys) does not wait.
	FlushInterval time.Duration
	// Metrics receives the writer's metrics; nil means none.
	Metrics *metrics.Registry
	// Log receives flush failures; nil means slog.Default().
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 100
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.Retries == 0 {
		o.Retries = 3
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 100 * time.Millisecond
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Writer is an asynchronous aggregating writer; see the package comment.
type Writer[K comparable, V any] struct {
	opts   Options
	flush  FlushFunc[K, V]
	merge  MergeFunc[V]
	seed   maphash.Seed
	shards []*shard[K, V]
	m      writerMetrics
	wg     sync.WaitGroup

	startOnce sync.Once
	stopOnce  sync.Once
	stopping  chan struct{}
}

type shard[K comparable, V any] struct {
	// base is a past instant of the shard's flush schedule (only with a
	// FlushInterval): it flushes at base + k*FlushInterval.
	base time.Time

	mu sync.Mutex
	// queue holds the pending writes, one per key, in the order their keys
	// first became pending; pending maps a key to its position, counted
	// from the first key ever taken (queue[0] is at position taken), so
	// that a merge costs one map lookup.
	queue    []entry[K, V]
	pending  map[K]int64
	inflight map[K]V
	urgent   int64         // Sync asked for every key up to this taken count to be flushed at once
	kick     chan struct{} // cap 1: work arrived
	changed  chan struct{} // closed and replaced after each flush
	closed   bool          // the shard's goroutine has ended
	taken    int64         // keys moved into flight so far
	finished int64         // keys whose flush has ended so far
}

// entry is one pending write.
type entry[K comparable, V any] struct {
	key   K
	val   V
	since time.Time // when key became pending (only with a FlushInterval)
}

// New returns a writer; Start starts its goroutines. merge may be nil (the
// latest write wins). Writes Put before Start wait for it.
func New[K comparable, V any](opts Options, flush FlushFunc[K, V], merge MergeFunc[V]) *Writer[K, V] {
	opts.defaults()
	w := &Writer[K, V]{opts: opts, flush: flush, merge: merge, seed: maphash.MakeSeed(), stopping: make(chan struct{})}
	w.m = newWriterMetrics(opts)
	now := time.Now()
	for i := range opts.Workers {
		w.shards = append(w.shards, &shard[K, V]{base: scheduleBase(now, i, opts.Workers, opts.FlushInterval),
			pending: map[K]int64{}, inflight: map[K]V{}, kick: make(chan struct{}, 1), changed: make(chan struct{})})
	}
	return w
}

// Start starts one goroutine per shard; they run until Stop. ctx is not
// kept (flushes are bounded by FlushTimeout and Stop's context). Calling
// Start again does nothing.
func (w *Writer[K, V]) Start(context.Context) error {
	w.startOnce.Do(w.start)
	return nil
}

func (w *Writer[K, V]) start() {
	for _, s := range w.shards {
		w.wg.Add(1)
		go w.run(s)
	}
}

func (w *Writer[K, V]) shard(k K) *shard[K, V] {
	if len(w.shards) == 1 {
		return w.shards[0]
	}
	return w.shards[maphash.Comparable(w.seed, k)%uint64(len(w.shards))]
}

// Put queues a write of v for k, merging it with a pending write of k. It
// returns once the write is queued (not written). It blocks while the shard
// is full, and fails with ctx's error or ErrClosed.
func (w *Writer[K, V]) Put(ctx context.Context, k K, v V) error {
	s := w.shard(k)
	for {
		select {
		case <-w.stopping:
			return ErrClosed
		default:
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if pos, ok := s.pending[k]; ok {
			e := &s.queue[pos-s.taken]
			if w.merge != nil {
				nv, err := w.merge(e.val, v)
				if err != nil {
					s.mu.Unlock()
					w.opts.Log.Error("batch: merge failed, newer write discarded", "writer", w.opts.Name, "err", err)
					return nil
				}
				v = nv
			}
			e.val = v
			s.mu.Unlock()
			w.m.merged.Inc()
			return nil
		}
		if len(s.pending) < w.opts.QueueSize {
			s.pending[k] = s.taken + int64(len(s.queue))
			e := entry[K, V]{key: k, val: v}
			// The shard's goroutine needs waking only when its decision
			// may change: the first pending key (it may be idle), or a
			// full batch (it may be waiting for the interval).
			wake := true
			if w.opts.FlushInterval > 0 {
				e.since = time.Now()
				wake = len(s.queue) == 0 || len(s.queue)+1 == w.opts.MaxBatch
			}
			s.queue = append(s.queue, e)
			s.mu.Unlock()
			w.m.queue.Inc()
			if wake {
				select {
				case s.kick <- struct{}{}:
				default:
				}
			}
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		w.m.full.Inc()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-w.stopping:
			return ErrClosed
		}
	}
}

// Get returns the newest value of k not yet acknowledged by storage: the
// pending one, else the one in flight.
func (w *Writer[K, V]) Get(k K) (V, bool) {
	s := w.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if pos, ok := s.pending[k]; ok {
		return s.queue[pos-s.taken].val, true
	}
	v, ok := s.inflight[k]
	return v, ok
}

// Len returns the number of pending keys (not counting those in flight).
func (w *Writer[K, V]) Len() int {
	n := 0
	for _, s := range w.shards {
		s.mu.Lock()
		n += len(s.pending)
		s.mu.Unlock()
	}
	return n
}

// Sync waits until every write queued before the call has been flushed
// (or dropped after its retries), or ctx ends. Pending writes are flushed
// at once, without waiting for the FlushInterval. Writes queued meanwhile
// do not delay it: keys leave a shard in the order they became pending, so
// the keys pending now are done once as many more keys as are pending now
// have finished.
func (w *Writer[K, V]) Sync(ctx context.Context) error {
	return w.sync(ctx, w.shards)
}

// SyncKey is Sync for the writes of k's shard only: once it returns, every
// write of k queued before the call has been flushed.
func (w *Writer[K, V]) SyncKey(ctx context.Context, k K) error {
	return w.sync(ctx, []*shard[K, V]{w.shard(k)})
}

func (w *Writer[K, V]) sync(ctx context.Context, shards []*shard[K, V]) error {
	targets := make([]int64, len(shards))
	for i, s := range shards {
		s.mu.Lock()
		targets[i] = s.taken + int64(len(s.queue))
		s.urgent = max(s.urgent, targets[i])
		s.mu.Unlock()
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	for i, s := range shards {
		for {
			s.mu.Lock()
			done := s.finished >= targets[i] || s.closed
			ch := s.changed
			s.mu.Unlock()
			if done {
				break
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// Stop refuses new writes, flushes everything pending and waits for the
// shards to finish, bounded by ctx. On ctx's end the writes still pending
// are reported in the error (and lost).
//
// A writer that was never started starts for the drain, so that writes Put
// before Start are not lost either.
func (w *Writer[K, V]) Stop(ctx context.Context) error {
	w.stopOnce.Do(func() { close(w.stopping) })
	w.startOnce.Do(w.start)
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("batch: %s: stop: %d writes not flushed: %w", w.opts.Name, w.Len(), ctx.Err())
	}
}

// run is a shard's goroutine: flush while there is work that is due,
// sleep otherwise, and on stop drain everything before returning.
func (w *Writer[K, V]) run(s *shard[K, V]) {
	defer w.wg.Done()
	batch := make([]Item[K, V], 0, w.opts.MaxBatch)
	var timer *time.Timer
	var tick <-chan time.Time
	for {
		var wait time.Duration
		batch, wait = w.take(s, batch[:0])
		if len(batch) > 0 {
			w.flushBatch(batch)
			w.done(s, batch)
			clear(batch) // drop the references the values hold
			continue
		}
		tick = nil
		if wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			tick = timer.C
		}
		select {
		case <-s.kick:
		case <-tick:
		case <-w.stopping:
			// Writes racing with stop may land after Put's first check:
			// leave only when nothing is pending, under the lock Put takes.
			s.mu.Lock()
			if len(s.queue) == 0 {
				s.closed = true
				close(s.changed)
				s.changed = make(chan struct{})
				s.mu.Unlock()
				if timer != nil {
					timer.Stop()
				}
				return
			}
			s.mu.Unlock()
		}
	}
}

// take moves up to MaxBatch pending keys, oldest first, into flight, if
// they are due: at once without a FlushInterval, else when the shard's
// schedule reaches the oldest key, a batch is full, Sync asked for them or
// the writer is stopping. When nothing is due it returns how long until the
// oldest key is (0: nothing pending).
func (w *Writer[K, V]) take(s *shard[K, V], batch []Item[K, V]) ([]Item[K, V], time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return batch, 0
	}
	if iv := w.opts.FlushInterval; iv > 0 && len(s.queue) < w.opts.MaxBatch && s.urgent <= s.taken && !w.isStopping() {
		if d := time.Until(due(s.base, iv, s.queue[0].since)); d > 0 {
			return batch, d
		}
	}
	n := min(len(s.queue), w.opts.MaxBatch)
	for _, e := range s.queue[:n] {
		delete(s.pending, e.key)
		s.inflight[e.key] = e.val
		batch = append(batch, Item[K, V]{e.key, e.val})
	}
	left := copy(s.queue, s.queue[n:])
	clear(s.queue[left:]) // drop the references the taken values hold
	s.queue = s.queue[:left]
	s.taken += int64(n)
	w.m.queue.Sub(float64(n))
	// The queue has room again: wake Puts waiting for it.
	close(s.changed)
	s.changed = make(chan struct{})
	return batch, 0
}

// scheduleBase is the base of shard i of n's flush schedule for a writer
// started at start: the shards' schedules are spread evenly over the
// interval iv, and the base is at most start.
func scheduleBase(start time.Time, i, n int, iv time.Duration) time.Time {
	return start.Add(time.Duration(i)*(iv/time.Duration(n)) - iv)
}

// due is when a key pending since since is flushed on the schedule base +
// k*iv: the first instant of it after since, at most iv later. since must
// not be before base.
func due(base time.Time, iv time.Duration, since time.Time) time.Time {
	k := since.Sub(base)/iv + 1
	return base.Add(k * iv)
}

func (w *Writer[K, V]) isStopping() bool {
	select {
	case <-w.stopping:
		return true
	default:
		return false
	}
}

// done clears the in-flight batch and wakes waiters.
func (w *Writer[K, V]) done(s *shard[K, V], batch []Item[K, V]) {
	s.mu.Lock()
	for _, it := range batch {
		delete(s.inflight, it.Key)
	}
	s.finished += int64(len(batch))
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// flushBatch calls the flush function with retries.
func (w *Writer[K, V]) flushBatch(batch []Item[K, V]) {
	w.m.size.Observe(float64(len(batch)))
	delay := w.opts.RetryDelay
	for attempt := 0; ; attempt++ {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), w.opts.FlushTimeout)
		err := w.flush(ctx, batch)
		cancel()
		w.m.flushes.Inc()
		w.m.time.Observe(float64(time.Since(start).Microseconds()))
		if err == nil {
			return
		}
		if attempt >= w.opts.Retries {
			w.m.dropped.Add(float64(len(batch)))
			w.opts.Log.Error("batch: flush failed, writes dropped", "writer", w.opts.Name, "items", len(batch), "attempts", attempt+1, "err", err)
			return
		}
		w.m.retries.Inc()
		w.opts.Log.Warn("batch: flush failed, retrying", "writer", w.opts.Name, "items", len(batch), "attempt", attempt+1, "err", err)
		t := time.NewTimer(delay)
		<-t.C
		delay *= 2
	}
}

// writerMetrics are the writer's metrics, labelled with pool_id and
// host_type. They follow the reference's async pool names where one
// exists (async_pool_request_count, async_pool_queue_lengths).
type writerMetrics struct {
	queue   prometheus.Gauge
	flushes prometheus.Counter
	size    prometheus.Observer
	time    prometheus.Observer
	retries prometheus.Counter
	dropped prometheus.Counter
	merged  prometheus.Counter
	full    prometheus.Counter
}

func newWriterMetrics(o Options) writerMetrics {
	r := o.Metrics
	if r == nil {
		r = metrics.New() // private, never exposed
	}
	l := prometheus.Labels{"pool_id": o.Name, "host_type": o.HostType}
	return writerMetrics{
		queue:   r.Gauge("async_pool_queue_lengths", "value", "host_type", "pool_id").With(l),
		flushes: r.Spiral("async_pool_request", "count", "host_type", "pool_id").With(l),
		size:    r.Histogram("async_pool_batch", "size", "host_type", "pool_id").With(l),
		time:    r.Histogram("async_pool_flush", "time", "host_type", "pool_id").With(l),
		retries: r.Spiral("async_pool_retries", "count", "host_type", "pool_id").With(l),
		dropped: r.Spiral("async_pool_dropped", "count", "host_type", "pool_id").With(l),
		merged:  r.Spiral("async_pool_merged", "count", "host_type", "pool_id").With(l),
		full:    r.Spiral("async_pool_full", "count", "host_type", "pool_id").With(l),
	}
}
