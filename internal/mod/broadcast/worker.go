package broadcast

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// NSSID is the namespace of XEP-0359 unique and stable stanza ids.
const NSSID = "urn:xmpp:sid:0"

// batchSeconds is how many seconds' worth of messages one batch holds
// (spec §6: limit = message_rate × 10).
const batchSeconds = 10

// Worker states, as reported by Module.WorkerStates (spec §6).
const (
	workerLoading = "loading_batch"
	workerSending = "sending_batch"
	workerPaused  = "paused"
)

// errLost ends a worker whose job is no longer running or no longer owned
// by this node: the database said so when it saved its progress. The
// manager writes nothing for it.
var errLost = errors.New("broadcast: job no longer running here")

// worker sends one job's messages. Its goroutine is the only one that
// touches job and ws; the manager talks to it through the methods below.
type worker struct {
	m   *manager
	job Job
	ws  WorkerState

	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine has ended
	err    error         // why it ended; read after done
	// stopping is set (under manager.mu) when the manager stops the worker
	// itself, so that its exit is not taken for the end of the job.
	stopping bool

	mu     sync.Mutex
	paused bool
	wake   chan struct{} // signalled on resume and pause, capacity 1
	state  atomic.Value  // string: one of the worker states
}

func newWorker(m *manager, j Job) *worker {
	w := &worker{m: m, job: j, ws: j.ws, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	w.state.Store(workerLoading)
	return w
}

// start runs the worker in its own goroutine; when it ends, exit is called
// with the worker.
func (w *worker) start(parent context.Context, paused bool, exit func(*worker)) {
	ctx, cancel := context.WithCancel(parent)
	w.cancel = cancel
	w.paused = paused
	go func() {
		defer close(w.done)
		defer cancel()
		w.err = w.run(ctx)
		exit(w)
	}()
}

// pause makes the worker stop sending before its next message until
// resume (spec §9.3). It does not wait.
func (w *worker) pause() {
	w.mu.Lock()
	w.paused = true
	w.mu.Unlock()
	w.signal()
}

// resume undoes pause; pacing restarts from now.
func (w *worker) resume() {
	w.mu.Lock()
	w.paused = false
	w.mu.Unlock()
	w.signal()
}

func (w *worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) isPaused() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.paused
}

// run is the worker algorithm of spec §6. It returns nil when the job is
// done, errLost when it is no longer ours, ctx's error when stopped, and any
// other error when the job must be marked abort_error with that reason.
func (w *worker) run(ctx context.Context) error {
	job := w.job
	if w.ws.Finished {
		// A crash came between the final progress write and the state
		// update: finish without sending anything.
		return w.finish(ctx)
	}
	sender, err := jid.Parse(job.Sender)
	if err != nil {
		return fmt.Errorf("bad sender %q: %w", job.Sender, err)
	}
	limit := max(1, job.MessageRate*w.m.mod.batchSeconds)
	// Pacing: the n-th message after t0 goes out at t0 + n/rate. t0 is the
	// moment the first batch is ready and is kept across batches (reset
	// only on resume), so the time spent persisting and loading later
	// batches is absorbed instead of accumulating as drift.
	var t0 time.Time // set when the first batch is loaded
	n := int64(0)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.state.Store(workerLoading)
		page, next, err := w.loadBatch(ctx, limit)
		if err != nil {
			return err
		}
		w.state.Store(workerSending)
		if t0.IsZero() {
			t0 = time.Now()
		}
		for _, user := range page {
			for {
				if w.isPaused() {
					w.state.Store(workerPaused)
					if err := w.waitResume(ctx); err != nil {
						return err
					}
					w.state.Store(workerSending)
					t0, n = time.Now(), 0
				}
				d := time.Until(t0.Add(time.Duration(n) * time.Second / time.Duration(job.MessageRate)))
				if d <= 0 {
					break
				}
				timer.Reset(d)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-w.wake:
					if !timer.Stop() {
						<-timer.C
					}
					continue // paused or resumed: re-check
				case <-timer.C:
				}
				break
			}
			w.send(ctx, sender, user)
			w.ws.Processed++
			n++
		}
		w.ws.Cursor = next
		if next == "" {
			return w.finish(ctx)
		}
	}
}

// loadBatch persists the progress made so far and loads the next page of
// recipients. Database errors are retried a few times at the safety
// interval before the job is given up with abort_error; a lost job ends
// the worker at once.
func (w *worker) loadBatch(ctx context.Context, limit int) ([]string, string, error) {
	const attempts = 3
	var lastErr error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, "", ctx.Err()
			case <-time.After(w.m.mod.safetyInterval()):
			}
		}
		dbctx, cancel := context.WithTimeout(ctx, w.m.mod.dbTimeout())
		ok, err := w.m.mod.saveWorkerState(dbctx, w.m.hostType, w.job.ID, w.ws)
		if err != nil {
			cancel()
			lastErr = fmt.Errorf("persist state failed: %w", err)
			continue
		}
		if !ok {
			cancel()
			return nil, "", errLost
		}
		page, next, err := w.m.mod.store.LoadRecipients(dbctx, w.job.Domain, w.job.snapshot, w.ws.Cursor, limit)
		cancel()
		if err != nil {
			lastErr = fmt.Errorf("load batch failed: %w", err)
			continue
		}
		return page, next, nil
	}
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	return nil, "", lastErr
}

func (w *worker) waitResume(ctx context.Context) error {
	for w.isPaused() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.wake:
		}
	}
	return nil
}

// finish persists the finished flag; a failure is only logged (spec §6).
func (w *worker) finish(ctx context.Context) error {
	w.ws.Finished = true
	ok, err := w.m.mod.saveWorkerState(ctx, w.m.hostType, w.job.ID, w.ws)
	switch {
	case err != nil:
		w.m.mod.log.Warn("broadcast: final progress not saved", "job", w.job.ID, "err", err)
	case !ok:
		return errLost
	}
	return nil
}

// send routes the message of spec §7 to user@domain and counts it.
func (w *worker) send(ctx context.Context, sender jid.JID, user string) {
	mm := w.m.metrics
	mm.processed.Inc()
	to, err := jid.New(user, w.job.Domain, "")
	if err == nil {
		err = w.m.mod.router.Route(ctx, sender, to, Message(w.job.ID, sender, to, w.job.Subject, w.job.Body))
	}
	if err != nil {
		mm.skipped.Inc()
		w.m.mod.log.Debug("broadcast: recipient skipped", "job", w.job.ID, "user", user, "err", err)
		return
	}
	mm.success.Inc()
}

// Message builds the broadcast message of job id from sender to recipient
// (spec/broadcast.md §7): children subject (always present), body and
// origin-id, with the id and origin-id derived by MessageID.
func Message(id int64, sender, recipient jid.JID, subject, body string) *xmlstream.Element {
	rcpt := recipient.Bare().String()
	mid := MessageID(id, rcpt)
	el := xmlstream.New(stanza.NSClient, "message", "type", "chat", "id", mid, "to", rcpt, "from", sender.Bare().String())
	el.Append(
		xmlstream.New(stanza.NSClient, "subject").AppendText(subject),
		xmlstream.New(stanza.NSClient, "body").AppendText(body),
		xmlstream.New(NSSID, "origin-id", "id", mid),
	)
	return el
}
