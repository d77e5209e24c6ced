// Package inbox is mod_inbox (spec/inbox.md): a server-side list of each
// local user's conversations, kept up to date from one-to-one messages,
// MUC Light traffic and chat markers, and queried with a data form plus
// RSM. Storage is SQL; writes are synchronous (backend "rdbms").
package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gander-xmpp/gander/internal/batch"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Namespaces (spec/inbox.md §1).
const (
	NS             = "erlang-solutions.com:xmpp:inbox:0"
	NSConversation = NS + "#conversation"
	nsData         = "jabber:x:data"
	nsRSM          = "http://jabber.org/protocol/rsm"
	nsForward      = "urn:xmpp:forward:0"
	nsMarkers      = "urn:xmpp:chat-markers:0"
	nsHints        = "urn:xmpp:hints"
	nsMLAff        = "urn:xmpp:muclight:0#affiliations"
	nsFasten       = "urn:xmpp:fasten:0"
)

// Store is the storage the module needs (SQLStore implements it).
type Store interface {
	Upsert(ctx context.Context, o Owner, u Upsert) (bool, error)
	ResetUnread(ctx context.Context, o Owner, remote string, msgID *string, ts int64) error
	Get(ctx context.Context, o Owner, remote string) (Entry, error)
	Props(ctx context.Context, o Owner, remote string) (Props, error)
	Lookup(ctx context.Context, o Owner, p Params) ([]Entry, error)
	SetProps(ctx context.Context, o Owner, remote string, p SetProps) (Props, error)
	Remove(ctx context.Context, o Owner, remote string) error
	MoveToBin(ctx context.Context, o Owner, remote string) error
	RemoveUser(ctx context.Context, o Owner) error
	EmptyUserBin(ctx context.Context, o Owner, before int64) (int, error)
	EmptyGlobalBin(ctx context.Context, before int64) (int, error)
	EmptyDomainBin(ctx context.Context, domain string, before int64) (int, error)
	BatchStore
}

// Router routes stanzas and tells local domains.
type Router interface {
	Route(ctx context.Context, from, to jid.JID, el *xmlstream.Element)
	IsLocal(domain string) bool
}

// Accounts tells whether a stored account exists.
type Accounts interface {
	UserExists(ctx context.Context, server, username string) (bool, error)
}

// Deps are the module's collaborators.
type Deps struct {
	Log      *slog.Logger
	Store    Store
	Router   Router
	Hooks    *hooks.Hooks
	IQ       *iq.Registry
	Accounts Accounts
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Metrics, when set, receives the backend call metrics.
	Metrics *metrics.Registry
	// LightService reports whether a domain is a MUC Light service; with
	// rdbms_async the writes of such rooms' entries are queued per room
	// (roomlog.go), and without it MUC Light messages do not update the
	// inbox (the server sets it whenever mod_muc_light runs).
	LightService func(domain string) bool
}

// Module is mod_inbox. It is safe for concurrent use.
type Module struct {
	log      *slog.Logger
	store    Store
	r        Router
	hooks    *hooks.Hooks
	iq       *iq.Registry
	accounts Accounts
	opts     config.ModInbox
	now      func() time.Time
	lastTS   atomic.Int64
	ids      atomic.Uint64
	policy   iq.Policy
	// stopCleaner ends the bin cleaner's context; wg waits for it.
	stopCleaner context.CancelFunc
	wg          sync.WaitGroup
	async       *asyncWriter // nil with the synchronous backend
	light       func(domain string) bool
	// notArchived and users spare the per-message reads of the entry's box
	// and of the account (see cache.go).
	notArchived notArchived
	users       existing
}

// hookName registers and removes the module's hook handlers.
const hookName = "mod_inbox"

// New builds the module; Start registers it. Backend "rdbms_async" puts
// message writes, resets and removals through an internal/batch writer
// with async_writer.pool_size workers (spec/inbox.md §10.2,
// docs/modules/mod_inbox.md).
func New(d Deps, opts config.ModInbox) (*Module, error) {
	m := &Module{log: d.Log, store: d.Store, r: d.Router, hooks: d.Hooks, iq: d.IQ, accounts: d.Accounts,
		opts: opts, now: d.Now, light: d.LightService, policy: iq.Policy(opts.IQDisc).Or("no_queue")}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if d.Metrics != nil {
		m.store = newMeteredStore(d.Store, d.Metrics)
	}
	if opts.Backend == "rdbms_async" {
		m.async = newAsyncWriter(m.store, batch.Options{Name: "inbox", HostType: "global", Workers: opts.AsyncWriter.PoolSize,
			MaxBatch: opts.AsyncWriter.BatchSize, FlushInterval: time.Duration(opts.AsyncWriter.FlushInterval) * time.Millisecond,
			QueueSize: 10000, Metrics: d.Metrics, Log: m.log})
		m.async.check = m.checkArchive
	}
	return m, nil
}

func (m *Module) bindings() []iq.Binding {
	return []iq.Binding{
		{Comp: iq.SessionManager, NS: NS, Handler: m.handleInbox},
		{Comp: iq.SessionManager, NS: NSConversation, Handler: m.handleConversation},
	}
}

// Start starts the asynchronous writer, registers the IQ handlers and
// hooks and starts the bin cleaner.
func (m *Module) Start(ctx context.Context) error {
	if m.async != nil {
		if err := m.async.w.Start(ctx); err != nil {
			return err
		}
	}
	if err := m.iq.RegisterAll(m.policy, m.bindings()...); err != nil {
		return err
	}
	h := m.hooks
	h.DiscoFeatures.Add(50, hookName, func(_ context.Context, ev *hooks.DiscoFeatures) bool {
		ev.Features = append(ev.Features, NS)
		return false
	})
	h.UserSentMessage.Add(60, hookName, m.userSent)
	h.LocalMessage.Add(60, hookName, m.localMessage)
	h.UserRemoved.Add(50, hookName, m.userRemoved)
	if m.opts.HasGroupchat("muclight") {
		h.GroupchatDelivered.Add(50, hookName, m.groupchatDelivered)
		switch {
		case m.async == nil:
			h.LightMessageSent.Add(50, hookName, m.lightMessage)
		case m.light != nil:
			h.LightMessageSent.Add(50, hookName, m.lightMessageAsync)
		}
		h.RoomDestroyed.Add(50, hookName, m.roomDestroyed)
	}
	if m.opts.HasGroupchat("muc") {
		h.MucGroupchatBroadcast.Add(50, hookName, m.mucBroadcast)
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.stopCleaner = cancel
	m.wg.Add(1)
	go m.cleaner(cctx, time.Duration(m.opts.BinCleanAfter)*time.Hour)
	return nil
}

// Stop unregisters the module, stops the bin cleaner (cancelling a clean
// in progress) and drains the asynchronous writer (bounded by ctx).
func (m *Module) Stop(ctx context.Context) error {
	m.iq.UnregisterAll(m.bindings()...)
	m.hooks.RemoveAll(hookName)
	if m.stopCleaner != nil {
		m.stopCleaner()
	}
	m.wg.Wait()
	if m.async != nil {
		return m.async.w.Stop(ctx)
	}
	return nil
}

// Sync waits until every asynchronous write queued so far reached storage
// (a no-op with the synchronous backend).
func (m *Module) Sync(ctx context.Context) error {
	if m.async == nil {
		return nil
	}
	return m.async.w.Sync(ctx)
}

// cleaner purges bin entries older than bin_ttl days every period (§11),
// until ctx ends (which also cancels a purge in progress).
func (m *Module) cleaner(ctx context.Context, period time.Duration) {
	defer m.wg.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.CleanBin(ctx)
		}
	}
}

// CleanBin runs the periodic bin cleaner once and returns the number of
// entries removed (errors are logged and count as 0).
func (m *Module) CleanBin(ctx context.Context) int {
	before := m.now().Add(-time.Duration(m.opts.BinTTL) * 24 * time.Hour).UnixMicro()
	n, err := m.store.EmptyGlobalBin(ctx, before)
	if err != nil {
		if ctx.Err() == nil { // not the module stopping
			m.log.Error("inbox: bin cleaner", "err", err)
		}
		return 0
	}
	return n
}

// timestamp returns the current time in µs, strictly greater than any
// value returned before, so that two writes never share a timestamp.
func (m *Module) timestamp() int64 {
	now := m.now().UnixMicro()
	for {
		last := m.lastTS.Load()
		next := max(now, last+1)
		if m.lastTS.CompareAndSwap(last, next) {
			return next
		}
	}
}

func owner(u jid.JID) Owner { return Owner{LServer: u.Domain(), LUser: u.Local()} }

// remoteKey normalises a JID into an entry key (§2): the bare JID,
// lower-cased.
func remoteKey(j jid.JID) string { return strings.ToLower(j.Bare().String()) }

func (m *Module) userRemoved(ctx context.Context, ev *hooks.UserEvent) bool {
	// Forget first: a key known not archived stands for an existing
	// account on the MUC Light path; and again after the purge, for writes
	// that raced with it.
	m.users.forget(ev.User.Bare())
	m.notArchived.forgetOwner(owner(ev.User))
	defer m.notArchived.forgetOwner(owner(ev.User))
	if m.async != nil {
		// Queued writes must not recreate entries after the purge.
		if err := m.async.w.Sync(ctx); err != nil {
			m.log.Warn("inbox: user removal: writer not settled", "user", ev.User.String(), "err", err)
		}
	}
	if err := m.store.RemoveUser(ctx, owner(ev.User)); err != nil {
		m.log.Error("inbox: user removal", "user", ev.User.String(), "err", err)
	}
	return false
}

// newID returns a fresh stanza id in the reference's clock-derived shape.
func (m *Module) newID() string {
	now := m.now()
	us := now.UnixMicro()
	return fmt.Sprintf("%d-%d-%d-%d", us/1e12, (us/1e6)%1e6, us%1e6, m.ids.Add(1))
}

// stamp formats µs as RFC 3339 UTC with exactly 6 fractional digits.
func stamp(us int64) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z")
}

// muteValue is the wire value of muted_until at the time now (§2).
func muteValue(mutedUntil, now int64) string {
	if mutedUntil == 0 || mutedUntil < now {
		return "0"
	}
	return stamp(mutedUntil)
}

// propsElement appends read, box, archive and mute to parent.
func (m *Module) propsElement(parent *xmlstream.Element, p Props) *xmlstream.Element {
	ns := parent.Space
	parent.Append(
		xmlstream.New(ns, "read").AppendText(boolText(p.UnreadCount == 0)),
		xmlstream.New(ns, "box").AppendText(p.Box),
		xmlstream.New(ns, "archive").AppendText(boolText(p.Box == "archive")),
		xmlstream.New(ns, "mute").AppendText(muteValue(p.MutedUntil, m.now().UnixMicro())),
	)
	return parent
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// validBox reports whether b is a configured box.
func (m *Module) validBox(b string) bool { return slices.Contains(m.opts.AllBoxes(), b) }
