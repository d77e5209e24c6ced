// Package broadcast implements mod_broadcast (spec/broadcast.md): admin
// broadcasts of one chat message to every account of a domain, run as
// persisted, rate-limited jobs that survive crashes and move between the
// nodes sharing one database through leases.
//
// The Module's methods StartBroadcast, GetBroadcasts, GetBroadcast,
// AbortBroadcast, DeleteInactiveBroadcastsByIds and
// DeleteInactiveBroadcastsByDomain are the service API that the admin API
// calls; their failures are *Error values carrying the spec's codes and
// messages.
package broadcast

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/rivo/uniseg"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// MinLeaseTime is the smallest lease_time the module starts with
// (spec §1, error mod_broadcast_invalid_lease_time).
const MinLeaseTime = 10 * time.Second

// DefaultLeaseTime is lease_time's default.
const DefaultLeaseTime = 600 * time.Second

// Limits of spec §5.1, in grapheme clusters (and messages per second).
const (
	MaxMessageRate = 1000
	MaxNameLen     = 250
	MaxSubjectLen  = 1024
	MaxBodyLen     = 16000
)

// Router routes a stanza as if its sender had sent it. An error means the
// message could not be routed; the recipient is skipped and counted.
// It must be safe for concurrent use.
type Router interface {
	Route(ctx context.Context, from, to jid.JID, el *xmlstream.Element) error
}

// Accounts answers questions about registered accounts. It must be safe
// for concurrent use.
type Accounts interface {
	UserExists(ctx context.Context, server, username string) (bool, error)
	CountUsers(ctx context.Context, server string) (int, error)
}

// Store is the persistence the module needs; SQLStore implements it. It
// must be safe for concurrent use.
type Store interface {
	CreateJob(ctx context.Context, j newJob, node string, lease time.Duration) (int64, error)
	MarkStarted(ctx context.Context, id int64) error
	MarkStopped(ctx context.Context, id int64, st State, reason string) (bool, error)
	SaveWorkerState(ctx context.Context, id int64, node string, ws WorkerState) (bool, error)
	GetJob(ctx context.Context, id int64) (Job, error)
	ListJobs(ctx context.Context, domain string, limit, offset int) ([]Job, error)
	OwnedRunning(ctx context.Context, hostType, node string) ([]Job, error)
	TakeExpiredLeases(ctx context.Context, hostType, node string, lease time.Duration) ([]int64, error)
	RenewLeases(ctx context.Context, hostType, node string, lease time.Duration) error
	DeleteInactive(ctx context.Context, domain string, id int64) (bool, error)
	DeleteInactiveByDomain(ctx context.Context, domain string) ([]int64, error)
	LoadRecipients(ctx context.Context, domain string, snapshot int64, cursor string, limit int) ([]string, string, error)
	RegisterNode(ctx context.Context, name, instance string, stale time.Duration) error
	Heartbeat(ctx context.Context, name, instance string) (bool, error)
	UnregisterNode(ctx context.Context, name, instance string) error
}

// Options configure a Module.
type Options struct {
	// Log receives the module's messages (nil: discarded).
	Log *slog.Logger
	// Node is this node's name (general.node_name): leases are held by it.
	Node string
	// LeaseTime is lease_time (0: DefaultLeaseTime). The server refuses
	// values below MinLeaseTime; tests may use shorter ones.
	LeaseTime time.Duration
	// Domains maps each served domain to its host type (a static host is
	// its own host type).
	Domains map[string]string
	// HostTypes are the host types the module runs for (nil: every host
	// type of Domains).
	HostTypes []string
	Store     Store
	Accounts  Accounts
	Router    Router
	Metrics   *metrics.Registry
	// HeartbeatInterval is how often the node's liveness row is refreshed
	// (0: 5 s); a name is taken as in use while its row is younger than
	// three intervals.
	HeartbeatInterval time.Duration
}

// Module is mod_broadcast on one node: one manager per host type and the
// service API. It is safe for concurrent use.
type Module struct {
	log       *slog.Logger
	node      string
	lease     time.Duration
	heartbeat time.Duration
	instance  string
	domains   map[string]string
	store     Store
	accounts  Accounts
	router    Router
	metrics   *metrics.Registry
	managers  map[string]*manager
	// batchSeconds is how many seconds of messages a batch holds
	// (batchSeconds; tests shorten it).
	batchSeconds int

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the module; Start runs it.
func New(o Options) (*Module, error) {
	if o.Node == "" {
		return nil, errors.New("broadcast: no node name")
	}
	if o.Store == nil || o.Accounts == nil || o.Router == nil {
		return nil, errors.New("broadcast: store, accounts and router are required")
	}
	m := &Module{log: o.Log, node: o.Node, lease: o.LeaseTime, heartbeat: o.HeartbeatInterval,
		domains: o.Domains, store: o.Store, accounts: o.Accounts, router: o.Router, metrics: o.Metrics,
		managers: map[string]*manager{}, batchSeconds: batchSeconds}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.lease <= 0 {
		m.lease = DefaultLeaseTime
	}
	if m.heartbeat <= 0 {
		m.heartbeat = 5 * time.Second
	}
	if m.metrics == nil {
		m.metrics = metrics.New()
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	m.instance = hex.EncodeToString(b[:])
	hts := o.HostTypes
	if hts == nil {
		for _, ht := range o.Domains {
			hts = append(hts, ht)
		}
	}
	for _, ht := range hts {
		if m.managers[ht] == nil {
			m.managers[ht] = newManager(m, ht)
		}
	}
	return m, nil
}

func (m *Module) hostMetrics(ht string) hostMetrics {
	r := m.metrics
	hm := hostMetrics{
		live:         r.Gauge("mod_broadcast_live_jobs", "count", "host_type").WithLabelValues(ht),
		started:      r.Counter("mod_broadcast_jobs_started", "count", "host_type").WithLabelValues(ht),
		finished:     r.Counter("mod_broadcast_jobs_finished", "count", "host_type").WithLabelValues(ht),
		abortedAdmin: r.Counter("mod_broadcast_jobs_aborted_admin", "count", "host_type").WithLabelValues(ht),
		abortedError: r.Counter("mod_broadcast_jobs_aborted_error", "count", "host_type").WithLabelValues(ht),
		processed:    r.Spiral("mod_broadcast_recipients_processed", "count", "host_type").WithLabelValues(ht),
		success:      r.Spiral("mod_broadcast_recipients_success", "count", "host_type").WithLabelValues(ht),
		skipped:      r.Spiral("mod_broadcast_recipients_skipped", "count", "host_type").WithLabelValues(ht),
	}
	hm.live.Set(0)
	return hm
}

// observeRDBMS records one call of a tracked storage function
// ("get_job", "update_worker_state") for hostType: the backend metrics
// mod_broadcast_rdbms_count and mod_broadcast_rdbms_time (µs) of spec §13.
func (m *Module) observeRDBMS(function, hostType string, start time.Time) {
	m.metrics.Counter("mod_broadcast_rdbms", "count", "function", "host_type").WithLabelValues(function, hostType).Inc()
	m.metrics.Histogram("mod_broadcast_rdbms", "time", "function", "host_type").WithLabelValues(function, hostType).
		Observe(float64(time.Since(start).Microseconds()))
}

// getJob is store.GetJob with the backend metrics.
func (m *Module) getJob(ctx context.Context, hostType string, id int64) (Job, error) {
	start := time.Now()
	defer m.observeRDBMS("get_job", hostType, start)
	return m.store.GetJob(ctx, id)
}

// saveWorkerState is store.SaveWorkerState with the backend metrics.
func (m *Module) saveWorkerState(ctx context.Context, hostType string, id int64, ws WorkerState) (bool, error) {
	start := time.Now()
	defer m.observeRDBMS("update_worker_state", hostType, start)
	return m.store.SaveWorkerState(ctx, id, m.node, ws)
}

// syncInterval is the normal ownership-sync period: 2/3 of the lease.
func (m *Module) syncInterval() time.Duration { return m.lease * 2 / 3 }

// safetyInterval is the retry period in safety mode: lease/10, at most 30 s.
func (m *Module) safetyInterval() time.Duration { return min(30*time.Second, m.lease/10) }

// dbTimeout bounds each database step of a sync cycle or a batch
// boundary: a third of the lease, between 5 s and 30 s.
func (m *Module) dbTimeout() time.Duration { return min(30*time.Second, max(5*time.Second, m.lease/3)) }

// Start registers the node name (refusing a name a live node uses, with
// ErrNodeNameInUse), then runs the managers, which resume this node's jobs
// and take over expired ones at once.
func (m *Module) Start(ctx context.Context) error {
	if err := m.store.RegisterNode(ctx, m.node, m.instance, 3*m.heartbeat); err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.heartbeatLoop(rctx)
	}()
	for _, mg := range m.managers {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			mg.run(rctx)
		}()
	}
	return nil
}

func (m *Module) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(m.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := m.store.Heartbeat(ctx, m.node, m.instance)
		switch {
		case err != nil && ctx.Err() == nil:
			m.log.Warn("broadcast: node heartbeat failed", "node", m.node, "err", err)
		case err == nil && !ok:
			// Our row was replaced: another instance claimed the name
			// while we could not heartbeat. Leases decide who sends; say
			// it loudly.
			m.log.Error("broadcast: another live node uses this node name", "node", m.node)
		}
	}
}

// Stop stops the workers, keeping their leases (a restart of this node
// resumes them), and removes the node's heartbeat row.
func (m *Module) Stop(ctx context.Context) error {
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return m.store.UnregisterNode(ctx, m.node, m.instance)
}

// Node returns this node's name.
func (m *Module) Node() string { return m.node }

// manager returns the manager of domain's host type.
func (m *Module) manager(domain string) (string, *manager, error) {
	d, err := jid.New("", domain, "")
	if err != nil {
		return "", nil, ErrDomainNotFound
	}
	ht, ok := m.domains[d.Domain()]
	if !ok {
		return "", nil, ErrDomainNotFound
	}
	mg := m.managers[ht]
	if mg == nil {
		return "", nil, ErrNotLoaded
	}
	return d.Domain(), mg, nil
}

// StartRequest is a request to start a broadcast (spec §4.3).
type StartRequest struct {
	Name    string
	Domain  string
	Subject string
	Body    string
	// Sender is the bare JID the messages come from.
	Sender jid.JID
	// MessageRate is in messages per second, 1..1000.
	MessageRate int
	// RecipientGroup is "" or RecipientGroupAllUsers.
	RecipientGroup string
}

// StartBroadcast validates r in the order of spec §5.1, creates the job
// and starts its worker, and returns the job's id.
func (m *Module) StartBroadcast(ctx context.Context, r StartRequest) (int64, error) {
	domain, mg, err := m.manager(r.Domain)
	if err != nil {
		return 0, err
	}
	mg.startMu.Lock()
	defer mg.startMu.Unlock()
	// 0. Safety mode first.
	if mg.inEmergency() {
		return 0, ErrTemporarilyUnavailable
	}
	// 1. Count the recipients; the result is checked at step 4.
	count, countErr := m.accounts.CountUsers(ctx, domain)
	// 2. Rate.
	if r.MessageRate < 1 || r.MessageRate > MaxMessageRate {
		return 0, badParameter("message_rate")
	}
	// 3. Sender: an existing account of this very domain.
	if r.Sender.Local() == "" || r.Sender.Domain() != domain {
		return 0, ErrSenderNotFound
	}
	exists, err := m.accounts.UserExists(ctx, domain, r.Sender.Local())
	if err != nil {
		return 0, &internalError{msg: "cannot check the sender", cause: err}
	}
	if !exists {
		return 0, ErrSenderNotFound
	}
	// 4. Recipients.
	switch {
	case countErr != nil:
		return 0, &internalError{msg: "cannot count the recipients", cause: errors.Join(errCannotCountRecipients, countErr)}
	case count <= 0:
		return 0, ErrNoRecipients
	}
	// 5-7. Lengths in user-perceived characters.
	if n := uniseg.GraphemeClusterCount(r.Name); n < 1 || n > MaxNameLen {
		return 0, badParameter("name")
	}
	if n := uniseg.GraphemeClusterCount(r.Subject); n > MaxSubjectLen {
		return 0, badParameter("subject")
	}
	if n := uniseg.GraphemeClusterCount(r.Body); n < 1 || n > MaxBodyLen {
		return 0, badParameter("body")
	}
	if r.RecipientGroup != "" && r.RecipientGroup != RecipientGroupAllUsers {
		return 0, badParameter("recipient_group")
	}
	id, err := m.store.CreateJob(ctx, newJob{Name: r.Name, Domain: domain, HostType: mg.hostType,
		Sender: r.Sender.Bare().String(), Subject: r.Subject, Body: r.Body, MessageRate: r.MessageRate,
		RecipientCount: count}, m.node, m.lease)
	if errors.Is(err, ErrRunningJobLimitExceeded) {
		return 0, err
	}
	if err != nil {
		return 0, &internalError{msg: "cannot create the job", cause: err}
	}
	m.log.Info("broadcast: job started", "job", id, "domain", domain, "name", r.Name,
		"recipients", count, "rate", r.MessageRate)
	// spec §5.3: from here on the start has succeeded whatever happens.
	m.launch(ctx, mg, id)
	return id, nil
}

// launch starts the worker of a job just created; a failure marks the job
// abort_error.
func (m *Module) launch(ctx context.Context, mg *manager, id int64) {
	ctx = context.WithoutCancel(ctx)
	j, err := m.getJob(ctx, mg.hostType, id)
	if err != nil {
		reason := fmt.Sprintf("load failed: %v", err)
		if ok, err := m.store.MarkStopped(ctx, id, StateAbortError, reason); err != nil {
			m.log.Error("broadcast: cannot mark job abort_error", "job", id, "err", err)
		} else if ok {
			mg.metrics.abortedError.Inc()
		}
		return
	}
	if err := m.store.MarkStarted(ctx, id); err != nil {
		m.log.Warn("broadcast: cannot set the start time", "job", id, "err", err)
	}
	// A sync cycle may have started the worker already (the job is owned
	// and running from its creation); either way this was a fresh start.
	mg.startWorker(j)
	mg.metrics.started.Inc()
}

// GetBroadcasts returns the domain's jobs, newest first: limit of them
// (default 50 when limit <= 0) after skipping index.
func (m *Module) GetBroadcasts(ctx context.Context, domain string, limit, index int) ([]Job, error) {
	domain, _, err := m.manager(domain)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 50
	}
	return m.store.ListJobs(ctx, domain, limit, max(index, 0))
}

// GetBroadcast returns the job id of domain, or ErrBroadcastNotFound (also
// when it belongs to another domain).
func (m *Module) GetBroadcast(ctx context.Context, domain string, id int64) (Job, error) {
	domain, mg, err := m.manager(domain)
	if err != nil {
		return Job{}, err
	}
	j, err := m.getJob(ctx, mg.hostType, id)
	if errors.Is(err, errNoJob) || err == nil && j.Domain != domain {
		return Job{}, ErrBroadcastNotFound
	}
	return j, err
}

// AbortBroadcast marks the running job id of domain abort_admin in the
// database, wherever its owner is, and stops the local worker if this node
// runs it; a remote owner's worker stops at its next batch (spec §10,
// Gander). It returns the id.
func (m *Module) AbortBroadcast(ctx context.Context, domain string, id int64) (int64, error) {
	j, err := m.GetBroadcast(ctx, domain, id)
	if err != nil {
		return 0, err
	}
	if j.State != StateRunning {
		return 0, ErrNotRunning
	}
	mg := m.managers[j.HostType]
	ok, err := m.store.MarkStopped(ctx, id, StateAbortAdmin, "")
	if err != nil {
		return 0, err
	}
	if !ok {
		// It ended between the read and the update.
		return 0, ErrNotRunning
	}
	if mg != nil {
		mg.stopJob(id)
		mg.metrics.abortedAdmin.Inc()
	}
	m.log.Info("broadcast: job aborted by an administrator", "job", id, "domain", j.Domain)
	return id, nil
}

// DeleteInactiveBroadcastsByIds deletes, in order, each of ids that is a
// job of domain not running, and returns the ids deleted in input order;
// the others are skipped (spec §11, §4.10).
func (m *Module) DeleteInactiveBroadcastsByIds(ctx context.Context, domain string, ids []int64) ([]int64, error) {
	domain, _, err := m.manager(domain)
	if err != nil {
		return nil, err
	}
	out := []int64{}
	for _, id := range ids {
		ok, err := m.store.DeleteInactive(ctx, domain, id)
		if err != nil {
			return out, err
		}
		if !ok {
			m.log.Info("broadcast: job not deleted (missing, running or of another domain)", "job", id, "domain", domain)
			continue
		}
		out = append(out, id)
	}
	return out, nil
}

// DeleteInactiveBroadcastsByDomain deletes the domain's jobs that are not
// running and returns their ids ([] when none).
func (m *Module) DeleteInactiveBroadcastsByDomain(ctx context.Context, domain string) ([]int64, error) {
	domain, _, err := m.manager(domain)
	if err != nil {
		return nil, err
	}
	return m.store.DeleteInactiveByDomain(ctx, domain)
}

// WorkerStates returns the live workers of this node and their states
// ("loading_batch", "sending_batch", "paused"), by job id.
func (m *Module) WorkerStates() map[int64]string {
	out := map[int64]string{}
	for _, mg := range m.managers {
		for id, st := range mg.workerStates() {
			out[id] = st
		}
	}
	return out
}

// SafetyMode reports whether the manager of hostType is in safety
// (emergency) mode.
func (m *Module) SafetyMode(hostType string) bool {
	mg := m.managers[hostType]
	return mg != nil && mg.inEmergency()
}

// HostTypes returns the host types the module runs for, sorted.
func (m *Module) HostTypes() []string {
	var out []string
	for ht := range m.managers {
		out = append(out, ht)
	}
	sort.Strings(out)
	return out
}
