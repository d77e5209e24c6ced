package broadcast

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// stopWait bounds how long the manager waits for a worker it stops
// (spec §9.4: 6 s).
const stopWait = 6 * time.Second

// manager runs the jobs of one host type on this node: it owns the map of
// live workers and the sync mode, and runs the lease cycle of spec §9.
//
// Lock order: manager.startMu, then manager.mu, then worker.mu. No
// database call or wait for a worker is made while holding mu.
type manager struct {
	mod      *Module
	hostType string
	metrics  hostMetrics

	// startMu serialises job starts of the host type (spec §5.2) with each
	// other and with sync cycles.
	startMu sync.Mutex

	mu        sync.Mutex
	ctx       context.Context // the workers' parent; set by run
	live      map[int64]*worker
	emergency bool
}

// hostMetrics are the metrics of spec §13 for one host type.
type hostMetrics struct {
	live                                          prometheus.Gauge
	started, finished, abortedAdmin, abortedError prometheus.Gauge
	processed, success, skipped                   prometheus.Counter
}

func newManager(mod *Module, hostType string) *manager {
	return &manager{mod: mod, hostType: hostType, metrics: mod.hostMetrics(hostType),
		live: map[int64]*worker{}}
}

// run runs sync cycles until ctx ends, then stops the workers without
// touching the database: their leases stay this node's, so a restart
// resumes them (spec §9.2).
func (m *manager) run(ctx context.Context) {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			m.stopAll()
			return
		case <-timer.C:
		}
		timer.Reset(m.sync(ctx))
	}
}

// sync runs one "take, renew, fetch" cycle (spec §9.1) and returns when
// the next one is due.
func (m *manager) sync(ctx context.Context) time.Duration {
	// Starts wait for the cycle: a job created between the fetch of the
	// owned jobs and the reconciliation would otherwise look unowned and
	// have its new worker stopped.
	m.startMu.Lock()
	defer m.startMu.Unlock()
	st, node, lease := m.mod.store, m.mod.node, m.mod.lease
	// A database that hangs must count as unreachable, not block the cycle.
	dbctx, cancel := context.WithTimeout(ctx, m.mod.dbTimeout())
	defer cancel()
	taken, err := st.TakeExpiredLeases(dbctx, m.hostType, node, lease)
	if err == nil {
		err = st.RenewLeases(dbctx, m.hostType, node, lease)
	}
	var owned []Job
	if err == nil {
		owned, err = st.OwnedRunning(dbctx, m.hostType, node)
	}
	if ctx.Err() != nil {
		return time.Hour
	}
	if err != nil {
		m.enterEmergency(err)
		return m.mod.safetyInterval()
	}
	var stop []*worker
	m.mu.Lock()
	// A job taken back after its lease lapsed may have a stale local
	// worker (paused during an outage): restart it from the saved state.
	for _, id := range taken {
		if w := m.live[id]; w != nil {
			stop = append(stop, m.detachLocked(id))
		}
	}
	ownedIDs := map[int64]bool{}
	var start []Job
	for _, j := range owned {
		ownedIDs[j.ID] = true
		if m.live[j.ID] == nil {
			start = append(start, j)
		}
	}
	for id := range m.live {
		if !ownedIDs[id] {
			stop = append(stop, m.detachLocked(id))
		}
	}
	wasEmergency := m.emergency
	m.emergency = false
	if wasEmergency {
		for _, w := range m.live {
			w.resume()
		}
	}
	m.mu.Unlock()
	if wasEmergency {
		m.mod.log.Info("broadcast: database reachable again, workers resumed", "host_type", m.hostType)
	}
	waitStopped(stop)
	for _, j := range start {
		m.mod.log.Info("broadcast: resuming job", "job", j.ID, "host_type", m.hostType,
			"processed", j.ws.Processed)
		m.startWorker(j)
	}
	return m.mod.syncInterval()
}

// enterEmergency pauses every worker and refuses new jobs until a sync
// succeeds (spec §9.3).
func (m *manager) enterEmergency(err error) {
	m.mu.Lock()
	first := !m.emergency
	m.emergency = true
	if first {
		for _, w := range m.live {
			w.pause()
		}
	}
	m.mu.Unlock()
	if first {
		m.mod.log.Error("broadcast: lease sync failed, workers paused (safety mode)", "host_type", m.hostType, "err", err)
	} else {
		m.mod.log.Warn("broadcast: lease sync still failing", "host_type", m.hostType, "err", err)
	}
}

func (m *manager) inEmergency() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.emergency
}

// startWorker starts a worker for j and adds it to the map; j carries its
// worker state. It does nothing if the manager has stopped or the job is
// already live.
func (m *manager) startWorker(j Job) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil || m.ctx.Err() != nil || m.live[j.ID] != nil {
		return false
	}
	w := newWorker(m, j)
	m.live[j.ID] = w
	m.metrics.live.Set(float64(len(m.live)))
	w.start(m.ctx, m.emergency, m.exited)
	return true
}

// detachLocked removes the worker of id from the map and cancels it; the
// caller waits for it (waitStopped) after releasing mu.
func (m *manager) detachLocked(id int64) *worker {
	w := m.live[id]
	if w == nil {
		return nil
	}
	delete(m.live, id)
	m.metrics.live.Set(float64(len(m.live)))
	w.stopping = true
	w.cancel()
	return w
}

// stopJob stops the local worker of id, if any, without a database write.
func (m *manager) stopJob(id int64) {
	m.mu.Lock()
	w := m.detachLocked(id)
	m.mu.Unlock()
	waitStopped([]*worker{w})
}

func (m *manager) stopAll() {
	m.mu.Lock()
	var ws []*worker
	for id := range m.live {
		ws = append(ws, m.detachLocked(id))
	}
	m.mu.Unlock()
	waitStopped(ws)
}

// waitStopped waits for stopped workers, at most stopWait in all. A worker
// blocked in routing longer than that is left to end on its own.
func waitStopped(ws []*worker) {
	deadline := time.NewTimer(stopWait)
	defer deadline.Stop()
	for _, w := range ws {
		if w == nil {
			continue
		}
		select {
		case <-w.done:
		case <-deadline.C:
			return
		}
	}
}

// exited handles the end of a worker's goroutine (spec §9.4).
func (m *manager) exited(w *worker) {
	m.mu.Lock()
	// A worker ended by a cancelled context was stopped (the node is
	// stopping), whether or not stopAll has marked it yet.
	if w.stopping || m.live[w.job.ID] != w || errors.Is(w.err, context.Canceled) {
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	// The worker stays in the map until its end is written: a sync cycle
	// in between must not take the still-running job for one without a
	// worker and start another.
	defer func() {
		m.mu.Lock()
		if m.live[w.job.ID] == w {
			delete(m.live, w.job.ID)
			m.metrics.live.Set(float64(len(m.live)))
		}
		m.mu.Unlock()
	}()
	// The worker's context is gone; the final write gets its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(m.ctx), 10*time.Second)
	defer cancel()
	id, log := w.job.ID, m.mod.log
	switch {
	case w.err == nil:
		ok, err := m.mod.store.MarkStopped(ctx, id, StateFinished, "")
		if err != nil {
			log.Error("broadcast: cannot mark job finished", "job", id, "err", err)
			return
		}
		if ok {
			m.metrics.finished.Inc()
			log.Info("broadcast: job finished", "job", id, "processed", w.ws.Processed)
		}
	case errors.Is(w.err, errLost):
		log.Info("broadcast: job no longer running on this node", "job", id)
	default:
		ok, err := m.mod.store.MarkStopped(ctx, id, StateAbortError, w.err.Error())
		if err != nil {
			// The job stays running and owned by this node: the next
			// successful sync resumes it from its saved progress.
			log.Error("broadcast: cannot mark job abort_error", "job", id, "reason", w.err, "err", err)
			return
		}
		if ok {
			m.metrics.abortedError.Inc()
			log.Error("broadcast: job aborted by an error", "job", id, "reason", w.err)
		}
	}
}

// workerStates returns the state of each live worker, for tests and
// diagnostics.
func (m *manager) workerStates() map[int64]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int64]string{}
	for id, w := range m.live {
		out[id] = w.state.Load().(string)
	}
	return out
}
