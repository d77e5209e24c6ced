package mam

import (
	"context"
	"time"

	"github.com/gander-xmpp/gander/internal/batch"
)

// The writers (docs/modules/mod_mam.md, "Writers"). The synchronous one
// writes a row before the message goes on. The asynchronous one queues it
// on an internal/batch writer keyed by archive, so that one archive's rows
// stay in order and can be flushed alone (SyncKey), and writes the rows of
// a flush in multi-row INSERTs of at most batch_size rows. Ids and
// stanza-ids are assigned before queueing: delivery never waits for the
// database.

// queued are an archive's rows waiting for a flush, in archiving order.
type queued struct {
	host string // the host_type of the archive's metrics
	rows []Row
}

// writer writes one part's rows.
type writer struct {
	p     *part
	async *batch.Writer[int64, queued] // nil: synchronous
	// retries and retryDelay bound a flush's attempts (the batch writer's
	// own retries are off, so that the rows a failed flush drops are
	// counted in mod_mam_*_dropped_count).
	retries    int
	retryDelay time.Duration
}

func newWriter(m *Module, p *part) *writer {
	w := &writer{p: p, retries: 3, retryDelay: 100 * time.Millisecond}
	aw := p.opts.AsyncWriter
	if !aw.Enabled {
		return w
	}
	host := "global"
	if len(p.met.hosts) == 1 {
		host = p.met.hosts[0]
	}
	w.async = batch.New(batch.Options{Name: p.kind.String() + "_mam", HostType: host, Workers: aw.PoolSize,
		MaxBatch: aw.BatchSize, FlushInterval: time.Duration(aw.FlushInterval) * time.Millisecond,
		Retries: -1, Metrics: p.met.reg, Log: m.log}, w.flush, func(old, new queued) (queued, error) {
		old.rows = append(old.rows, new.rows...)
		return old, nil
	})
	return w
}

func (w *writer) start(ctx context.Context) error {
	if w.async == nil {
		return nil
	}
	return w.async.Start(ctx)
}

func (w *writer) stop(ctx context.Context) error {
	if w.async == nil {
		return nil
	}
	return w.async.Stop(ctx)
}

// write archives row in owner's archive, or queues it, and reports whether
// it did (a failure is logged and counted, never returned: the message
// goes on without a stanza-id).
func (w *writer) write(ctx context.Context, owner int64, host string, row Row) bool {
	p := w.p
	start := time.Now()
	var err error
	if w.async != nil {
		err = w.async.Put(ctx, owner, queued{host: host, rows: []Row{row}})
	} else {
		err = p.m.store.Insert(ctx, p.kind, []Item{{Owner: owner, Row: row}})
	}
	hm := p.met.host(host)
	hm.archiveTime.Observe(float64(time.Since(start).Microseconds()))
	if err != nil {
		p.met.dropped.WithLabelValues(host).Inc()
		p.m.log.Error("mam: archive write failed, message delivered without a stanza-id", "kind", p.kind.String(),
			"owner", owner, "err", err)
		return false
	}
	hm.archived.Inc()
	return true
}

// flush writes the rows of a batch (the asynchronous writer's flush
// function), retrying a failed INSERT; rows it cannot write are dropped,
// logged and counted.
func (w *writer) flush(ctx context.Context, items []batch.Item[int64, queued]) error {
	p := w.p
	var rows []Item
	for _, it := range items {
		for _, r := range it.Value.rows {
			rows = append(rows, Item{Owner: it.Key, Row: r})
		}
	}
	host := items[0].Value.host
	start := time.Now()
	delay := w.retryDelay
	var err error
	for attempt := 0; ; attempt++ {
		if err = w.insert(ctx, rows); err == nil || attempt >= w.retries || ctx.Err() != nil {
			break
		}
		p.m.log.Warn("mam: flush failed, retrying", "kind", p.kind.String(), "rows", len(rows), "attempt", attempt+1, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		delay *= 2
	}
	took := time.Since(start)
	p.met.flushed.WithLabelValues(host).Inc()
	p.met.flushTime.WithLabelValues(host).Observe(float64(took.Microseconds()))
	p.met.flushPerMsg.WithLabelValues(host).Observe(float64(took.Microseconds()) / float64(len(rows)))
	if err != nil {
		for _, it := range items {
			p.met.dropped.WithLabelValues(it.Value.host).Add(float64(len(it.Value.rows)))
		}
		p.m.log.Error("mam: flush failed, rows dropped", "kind", p.kind.String(), "rows", len(rows), "err", err)
	}
	return nil
}

// insert writes rows in INSERTs of at most batch_size rows.
func (w *writer) insert(ctx context.Context, rows []Item) error {
	n := w.p.opts.AsyncWriter.BatchSize
	if n <= 0 || len(rows) <= n {
		return w.p.m.store.Insert(ctx, w.p.kind, rows)
	}
	for len(rows) > 0 {
		k := min(n, len(rows))
		if err := w.p.m.store.Insert(ctx, w.p.kind, rows[:k]); err != nil {
			return err
		}
		rows = rows[k:]
	}
	return nil
}

// sync waits until owner's queued rows reached storage (read your writes:
// lookups, retractions and removals call it first).
func (w *writer) sync(ctx context.Context, owner int64) error {
	if w.async == nil {
		return nil
	}
	return w.async.SyncKey(ctx, owner)
}

// syncAll waits until every queued row reached storage.
func (w *writer) syncAll(ctx context.Context) error {
	if w.async == nil {
		return nil
	}
	return w.async.Sync(ctx)
}
