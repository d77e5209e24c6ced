// Package last implements XEP-0012 Last Activity the way MongooseIM's
// mod_last does (spec/last.md): jabber:iq:last queries to the server, to
// bare user JIDs and (guarded) to full JIDs, the record of each user's last
// "went unavailable" event, and a plain Go service API for the GraphQL
// layer. With the rdbms backend every write goes through a batch.Writer,
// so that a spike of disconnects becomes a few multi-row upserts.
package last

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gander-xmpp/gander/internal/batch"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// NS is the last activity namespace.
const NS = "jabber:iq:last"

// hookName is the name the module's hook handlers are registered under.
const hookName = "mod_last"

// Router is what the module needs of the router.
type Router interface {
	// Sessions returns the sessions of a bare JID.
	Sessions(bare jid.JID) []router.Session
	// Bounce answers el with a stanza error (the generic error builder).
	Bounce(ctx context.Context, el *xmlstream.Element, e stanza.Error)
	// IsLocal reports whether a domain is served.
	IsLocal(domain string) bool
	// Domains lists the served domains.
	Domains() []string
}

// Accounts is what the service API needs of account management.
type Accounts interface {
	// UserExists reports whether the account exists.
	UserExists(ctx context.Context, server, username string) (bool, error)
	// ListUsers returns every username of server.
	ListUsers(ctx context.Context, server string) ([]string, error)
	// RemoveUser removes an account completely, firing the removal hooks.
	RemoveUser(ctx context.Context, user jid.JID) error
}

// WriterOptions are the batch writer settings of the rdbms backend
// (docs/modules/mod_last.md): one writer for the node, at most 4 upserts in
// flight, up to 100 rows each, 4 x 10000 pending users.
func WriterOptions() batch.Options {
	return batch.Options{Name: "mod_last_rdbms", HostType: "global", Workers: 4, MaxBatch: 100, QueueSize: 10000}
}

// Deps are the module's collaborators.
type Deps struct {
	Log      *slog.Logger
	Store    Store
	Router   Router
	Hooks    *hooks.Hooks
	IQ       *iq.Registry
	Accounts Accounts
	Metrics  *metrics.Registry
	// Started is when the node started (the server's uptime answer).
	Started time.Time
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Module is mod_last. It is safe for concurrent use.
type Module struct {
	d      Deps
	policy iq.Policy
	writer *batch.Writer[Key, Write]
	count  *prometheus.CounterVec
	time   *prometheus.HistogramVec
}

// New builds the module; Start registers it. With the rdbms backend every
// write goes through a batch writer (WriterOptions); the in-memory backend
// writes synchronously. d.Store must match cfg.Backend.
func New(d Deps, cfg config.ModLast) (*Module, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	m := &Module{d: d, policy: iq.Policy(cfg.IQDisc).Or("one_queue")}
	ev := "mod_last_" + d.Store.Backend()
	m.count = d.Metrics.Spiral(ev, "count", "host_type", "function")
	m.time = d.Metrics.Histogram(ev, "time", "host_type", "function")
	for _, dom := range d.Router.Domains() {
		for _, f := range []string{"get_last", "set_last_info", "session_cleanup"} {
			m.count.With(labels(dom, f)) // counters exist at 0 from start (server.md §4)
		}
	}
	if sq, ok := d.Store.(*SQLStore); ok && sq.OnStatement == nil {
		// Gander: what the database really sees, to compare with the
		// set_last_info calls (docs/modules/mod_last.md).
		sq.OnStatement = d.Metrics.Spiral("mod_last_rdbms_write_statements", "count").WithLabelValues().Inc
	}
	if cfg.Backend == "rdbms" {
		wo := WriterOptions()
		wo.Metrics, wo.Log = d.Metrics, d.Log
		m.writer = batch.New(wo, m.flush, nil)
	}
	return m, nil
}

func (m *Module) bindings() []iq.Binding {
	return []iq.Binding{
		{Comp: iq.Local, NS: NS, Handler: m.serverIQ},
		{Comp: iq.SessionManager, NS: NS, Handler: m.userIQ},
	}
}

// Start starts the writer and registers the IQ handlers and hooks.
func (m *Module) Start(ctx context.Context) error {
	if m.writer != nil {
		if err := m.writer.Start(ctx); err != nil {
			return err
		}
	}
	if err := m.d.IQ.RegisterAll(m.policy, m.bindings()...); err != nil {
		return err
	}
	m.d.Hooks.PresenceUnavailable.Add(50, hookName, m.unavailable)
	m.d.Hooks.UserRemoved.Add(50, hookName, m.userRemoved)
	m.d.Hooks.SessionIQ.Add(50, hookName, m.sessionIQ)
	return nil
}

// Stop unregisters the handlers and hooks and drains the writer, bounded
// by ctx: every write accepted before Stop reaches storage on a clean stop.
func (m *Module) Stop(ctx context.Context) error {
	m.d.IQ.UnregisterAll(m.bindings()...)
	m.d.Hooks.RemoveAll(hookName)
	if m.writer != nil {
		return m.writer.Stop(ctx)
	}
	return nil
}

// Sync waits until every write accepted so far has reached storage.
func (m *Module) Sync(ctx context.Context) error {
	if m.writer == nil {
		return nil
	}
	return m.writer.Sync(ctx)
}

func (m *Module) flush(ctx context.Context, items []batch.Item[Key, Write]) error {
	ws := make([]Write, len(items))
	for i, it := range items {
		ws[i] = it.Value
	}
	return m.d.Store.Apply(ctx, ws)
}

// observe records one backend call (spec/last.md §7).
func (m *Module) observe(hostType, function string, start time.Time) {
	if m.count == nil {
		return // a service without the module (NewService)
	}
	m.count.With(labels(hostType, function)).Inc()
	m.time.With(labels(hostType, function)).Observe(float64(time.Since(start).Microseconds()))
}

func labels(hostType, function string) prometheus.Labels {
	return prometheus.Labels{"host_type": hostType, "function": function}
}

// write stores (or deletes) one record: queued with the writer, else
// applied at once.
func (m *Module) write(ctx context.Context, w Write) error {
	if m.writer != nil {
		return m.writer.Put(ctx, w.Key, w)
	}
	return m.d.Store.Apply(ctx, []Write{w})
}

// setLast is the backend set_last_info call.
func (m *Module) setLast(ctx context.Context, k Key, r Record) error {
	defer m.observe(k.Server, "set_last_info", time.Now())
	return m.write(ctx, Write{Key: k, Record: r})
}

// getLast is the backend get_last call; it sees writes still queued.
func (m *Module) getLast(ctx context.Context, k Key) (Record, bool, error) {
	defer m.observe(k.Server, "get_last", time.Now())
	if m.writer != nil {
		if w, ok := m.writer.Get(k); ok {
			return w.Record, !w.Delete, nil
		}
	}
	return m.d.Store.Get(ctx, k)
}

func keyOf(j jid.JID) Key { return Key{Server: j.Domain(), Username: j.Local()} }

// unavailable stores the last activity when a resource goes unavailable
// (spec/last.md §4.1). A storage error is logged and otherwise ignored.
func (m *Module) unavailable(ctx context.Context, ev *hooks.SessionEvent) bool {
	if err := m.setLast(ctx, keyOf(ev.JID), Record{Seconds: m.d.Now().Unix(), Status: ev.Status}); err != nil {
		m.d.Log.Warn("set_last_info_failed", "user", ev.JID.Bare().String(), "err", err)
	}
	return false
}

// userRemoved deletes the record of a removed account (spec/last.md §4.2).
func (m *Module) userRemoved(ctx context.Context, ev *hooks.UserEvent) bool {
	if err := m.write(ctx, Write{Key: keyOf(ev.User), Delete: true}); err != nil {
		m.d.Log.Warn("remove_user_failed", "user", ev.User.String(), "err", err)
	}
	return false
}

// allowed is the roster rule of spec/last.md §5.2 step 2: asking about
// yourself, or the target's roster item for the requester (full JID, then
// bare JID) has subscription from or both.
func (m *Module) allowed(ctx context.Context, requester, target jid.JID) bool {
	if requester.Bare() == target.Bare() {
		return true
	}
	if m.d.Hooks == nil {
		return false // the service without the module: no roster to ask
	}
	l := &hooks.RosterLists{User: target.Bare()}
	m.d.Hooks.RosterLists.Run(ctx, l)
	for _, c := range l.From {
		if c == requester || c == requester.Bare() {
			return true
		}
	}
	return false
}

// serverIQ answers queries to the domain: the node's uptime (§5.1).
func (m *Module) serverIQ(_ context.Context, r iq.Request) *xmlstream.Element {
	if r.IQ.Attr("type") == "set" {
		return stanza.IQErrorReply(r.IQ, stanza.Error{Condition: stanza.NotAllowed})
	}
	up := int64(m.d.Now().Sub(m.d.Started) / time.Second)
	res := stanza.IQResult(r.IQ)
	res.Append(xmlstream.New(NS, "query", "seconds", strconv.FormatInt(up, 10)))
	return res
}

// userIQ answers queries to a bare user JID on the user's behalf (§5.2).
func (m *Module) userIQ(ctx context.Context, r iq.Request) *xmlstream.Element {
	if r.IQ.Attr("type") == "set" {
		return stanza.IQErrorReply(r.IQ, stanza.Error{Condition: stanza.NotAllowed})
	}
	target := r.To.Bare()
	// Privacy lists (XEP-0016/0191) would be consulted here; Gander has
	// no privacy module yet, which the spec treats as "allow".
	if !m.allowed(ctx, r.From, target) {
		return stanza.IQErrorReply(r.IQ, stanza.Error{Condition: stanza.Forbidden})
	}
	res := stanza.IQResult(r.IQ)
	if len(m.d.Router.Sessions(target)) > 0 {
		res.Append(xmlstream.New(NS, "query", "seconds", "0"))
		return res
	}
	rec, ok, err := m.getLast(ctx, keyOf(target))
	switch {
	case err != nil:
		m.d.Log.Warn("get_last failed", "user", target.String(), "err", err)
		return stanza.IQErrorReply(r.IQ, stanza.Error{Condition: stanza.InternalServerError})
	case !ok:
		return stanza.IQErrorReply(r.IQ, stanza.Error{Condition: stanza.ServiceUnavailable})
	}
	// Not clamped: a stored time in the future gives a negative number.
	q := xmlstream.New(NS, "query", "seconds", strconv.FormatInt(m.d.Now().Unix()-rec.Seconds, 10))
	q.AppendText(rec.Status)
	res.Append(q)
	return res
}

// sessionIQ guards last-activity gets to a full JID (§5.3): allowed ones
// are delivered to the client, others get forbidden from the generic error
// builder and are dropped.
func (m *Module) sessionIQ(ctx context.Context, ev *hooks.StanzaEvent) bool {
	if ev.Stanza.Attr("type") != "get" {
		return false
	}
	p := stanza.Payload(ev.Stanza)
	if p == nil || p.Space != NS {
		return false
	}
	if m.allowed(ctx, ev.From, ev.To) {
		return false
	}
	m.d.Router.Bounce(ctx, ev.Stanza, stanza.Error{Condition: stanza.Forbidden})
	ev.Handled = true
	return true
}
