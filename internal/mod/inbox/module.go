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
	// Async, when set, selects the rdbms_async backend: message writes,
	// resets and removals go through an internal/batch writer with these
	// options (spec/inbox.md §10.2).
	Async *batch.Options
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
	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
	async    *asyncWriter // nil with the synchronous backend
	light    func(domain string) bool
	// notArchived and users spare the per-message reads of the entry's box
	// and of the account (see cache.go).
	notArchived notArchived
	users       existing
}

// New creates the module, registers its IQ handlers and hooks and starts
// the bin cleaner.
func New(d Deps, opts config.ModInbox, policy iq.Policy) (*Module, error) {
	m := &Module{log: d.Log, store: d.Store, r: d.Router, hooks: d.Hooks, iq: d.IQ, accounts: d.Accounts,
		opts: opts, now: d.Now, stop: make(chan struct{}), light: d.LightService}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if d.Metrics != nil {
		m.store = newMeteredStore(d.Store, d.Metrics)
	}
	if d.Async != nil {
		m.async = newAsyncWriter(m.store, *d.Async)
		m.async.check = m.checkArchive
	}
	if err := d.IQ.Register(iq.SessionManager, NS, m.handleInbox, policy); err != nil {
		return nil, err
	}
	if err := d.IQ.Register(iq.SessionManager, NSConversation, m.handleConversation, policy); err != nil {
		d.IQ.Unregister(iq.SessionManager, NS)
		return nil, err
	}
	h := d.Hooks
	h.DiscoFeatures.Add(50, "mod_inbox", func(_ context.Context, ev *hooks.DiscoFeatures) bool {
		ev.Features = append(ev.Features, NS)
		return false
	})
	h.UserSentMessage.Add(60, "mod_inbox", m.userSent)
	h.LocalMessage.Add(60, "mod_inbox", m.localMessage)
	h.UserRemoved.Add(50, "mod_inbox", m.userRemoved)
	if opts.HasGroupchat("muclight") {
		h.GroupchatDelivered.Add(50, "mod_inbox", m.groupchatDelivered)
		switch {
		case m.async == nil:
			h.LightMessageSent.Add(50, "mod_inbox", m.lightMessage)
		case m.light != nil:
			h.LightMessageSent.Add(50, "mod_inbox", m.lightMessageAsync)
		}
		h.RoomDestroyed.Add(50, "mod_inbox", m.roomDestroyed)
	}
	if opts.HasGroupchat("muc") {
		h.MucGroupchatBroadcast.Add(50, "mod_inbox", m.mucBroadcast)
	}
	m.wg.Add(1)
	go m.cleaner(time.Duration(opts.BinCleanAfter) * time.Hour)
	return m, nil
}

// Stop unregisters the module, stops the bin cleaner and drains the
// asynchronous writer (bounded by ctx).
func (m *Module) Stop(ctx context.Context) error {
	m.stopOnce.Do(func() {
		m.iq.Unregister(iq.SessionManager, NS)
		m.iq.Unregister(iq.SessionManager, NSConversation)
		for _, c := range []interface{ Remove(string) }{&m.hooks.DiscoFeatures, &m.hooks.UserSentMessage,
			&m.hooks.LocalMessage, &m.hooks.UserRemoved, &m.hooks.GroupchatDelivered, &m.hooks.LightMessageSent, &m.hooks.RoomDestroyed,
			&m.hooks.MucGroupchatBroadcast} {
			c.Remove("mod_inbox")
		}
		close(m.stop)
	})
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

// cleaner purges bin entries older than bin_ttl days every period (§11).
func (m *Module) cleaner(period time.Duration) {
	defer m.wg.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.CleanBin(context.Background())
		}
	}
}

// CleanBin runs the periodic bin cleaner once and returns the number of
// entries removed (errors are logged and count as 0).
func (m *Module) CleanBin(ctx context.Context) int {
	before := m.now().Add(-time.Duration(m.opts.BinTTL) * 24 * time.Hour).UnixMicro()
	n, err := m.store.EmptyGlobalBin(ctx, before)
	if err != nil {
		m.log.Error("inbox: bin cleaner", "err", err)
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
