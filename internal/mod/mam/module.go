// Package mam is mod_mam, the message archive (XEP-0313 Message Archive
// Management; docs/modules/mod_mam.md): one archive per local user for
// one-to-one messages, both sides, and one per archived group-chat room
// (MUC Light or classic MUC), with time-sortable ids that delivered
// messages carry as XEP-0359 stanza-ids, preferences (XEP-0441), the
// XEP-0313 query with RSM paging, retraction tombstones (XEP-0424) and a
// service API for the GraphQL stanza and muc_light categories. Rows are
// written synchronously or by an asynchronous batched writer
// (internal/batch); either way a lookup sees every row archived before it.
//
// The module meets the rest of the server through hooks only: the sender's
// and the recipient's message hooks for one-to-one messages, the rooms'
// RoomMessage and RoomIQ hooks for room archives.
package mam

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Router routes stanzas, tells local domains and finds sessions.
type Router interface {
	Route(ctx context.Context, from, to jid.JID, el *xmlstream.Element)
	IsLocal(domain string) bool
	Session(full jid.JID) router.Session
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
	// Domains are the served domains; the room archive serves the room
	// service of each (muc.host).
	Domains []string
	// Node is this node's number in archive ids (0 on a single node).
	Node uint8
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Metrics receives the module's metrics; nil means none.
	Metrics *metrics.Registry
}

// Module is mod_mam. It is safe for concurrent use.
type Module struct {
	log      *slog.Logger
	store    Store
	r        Router
	hooks    *hooks.Hooks
	iq       *iq.Registry
	accounts Accounts
	now      func() time.Time
	ids      idGen
	// pm and muc are the parts; nil when off.
	pm, muc *part
	// services maps each archived room service domain to its served
	// domain (the host type of its metrics).
	services map[string]string
	owners   *ownerCache
	prefs    prefsCache
	// resultPrefix and resultSeq make the result messages' ids unique.
	resultPrefix string
	resultSeq    atomic.Int64
	// lastSent is the last message a local user sent, serialised
	// (archive.go).
	lastSent atomic.Pointer[serialized]
}

// hookName registers and removes the module's hook handlers.
const hookName = "mod_mam"

// New builds the module from [modules.mod_mam]; Start registers it.
func New(d Deps, cfg config.ModMam) (*Module, error) {
	m := &Module{log: d.Log, store: d.Store, r: d.Router, hooks: d.Hooks, iq: d.IQ, accounts: d.Accounts,
		now: d.Now, services: map[string]string{}, resultPrefix: newResultPrefix()}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.ids = idGen{node: d.Node, now: m.now}
	reg := d.Metrics
	if reg == nil {
		reg = metrics.New() // private, never exposed
	}
	if o, ok := cfg.Part("pm"); ok {
		m.pm = newPart(m, KindPM, o, reg, d.Domains)
		m.pm.archiveGroupchats = cfg.PM.ArchiveGroupchats
		m.pm.sameIDForPeers = cfg.PM.SameMamIDForPeers
	}
	if o, ok := cfg.Part("muc"); ok {
		m.muc = newPart(m, KindMuc, o, reg, d.Domains)
		for _, dom := range d.Domains {
			m.services[strings.ReplaceAll(cfg.Muc.Host, "@HOST@", dom)] = dom
		}
	}
	// The owner cache is shared; cache_users of the pm part decides
	// (the root's when pm is off).
	co := cfg.MamOptions
	if m.pm != nil {
		co = m.pm.opts
	}
	m.owners = newOwnerCache(co.CacheUsers, time.Duration(co.Cache.TimeToLive)*time.Minute, co.Cache.NumberOfSegments,
		co.Cache.Strategy == "lru", m.now)
	return m, nil
}

func (m *Module) bindings() []iq.Binding {
	if m.pm == nil {
		return nil
	}
	return []iq.Binding{
		{Comp: iq.SessionManager, NS: NS2, Handler: m.handleUserIQ},
		{Comp: iq.SessionManager, NS: NS1, Handler: m.handleUserIQ},
	}
}

// Start starts the writers and registers the IQ handlers and hooks.
func (m *Module) Start(ctx context.Context) error {
	for _, p := range m.parts() {
		if err := p.w.start(ctx); err != nil {
			return err
		}
	}
	if m.pm != nil {
		if err := m.iq.RegisterAll(iq.Policy(m.pm.opts.IQDisc), m.bindings()...); err != nil {
			return err
		}
	}
	h := m.hooks
	if m.pm != nil {
		features := func(_ context.Context, ev *hooks.DiscoFeatures) bool {
			ev.Features = append(ev.Features, m.pm.features()...)
			return false
		}
		h.DiscoFeatures.Add(50, hookName, features)
		h.UserDiscoFeatures.Add(50, hookName, features)
		// Before carbons (50) and the inbox (60): the sent carbon and the
		// inbox entries carry the archive's stanza-id.
		h.UserSentMessage.Add(40, hookName, m.userSent)
		h.LocalMessage.Add(40, hookName, m.localMessage)
		h.UserRemoved.Add(40, hookName, m.userRemoved)
		if m.pm.archiveGroupchats {
			h.LightMessageSent.Add(40, hookName, m.lightMessage)
			h.GroupchatDelivered.Add(40, hookName, m.lightEvent)
		}
	}
	if m.muc != nil {
		h.RoomMessage.Add(50, hookName, m.roomMessage)
		h.RoomIQ.Add(50, hookName, m.roomIQ)
		h.RoomDiscoFeatures.Add(50, hookName, func(_ context.Context, ev *hooks.DiscoFeatures) bool {
			if _, ok := m.services[ev.Domain]; ok {
				ev.Features = append(ev.Features, m.muc.features()...)
			}
			return false
		})
		h.RoomDestroyed.Add(40, hookName, m.roomDestroyed)
	}
	return nil
}

// Stop unregisters the module and drains the asynchronous writers
// (bounded by ctx).
func (m *Module) Stop(ctx context.Context) error {
	if bs := m.bindings(); bs != nil {
		m.iq.UnregisterAll(bs...)
	}
	m.hooks.RemoveAll(hookName)
	var first error
	for _, p := range m.parts() {
		if err := p.w.stop(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (m *Module) parts() []*part {
	var out []*part
	for _, p := range []*part{m.pm, m.muc} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// PM reports whether the one-to-one archive (mod_mam_pm) runs.
func (m *Module) PM() bool { return m.pm != nil }

// Muc reports whether the room archive (mod_mam_muc) runs.
func (m *Module) Muc() bool { return m.muc != nil }

// Sync waits until every row queued so far by the asynchronous writers
// reached storage (a no-op with the synchronous writer).
func (m *Module) Sync(ctx context.Context) error {
	for _, p := range m.parts() {
		if err := p.w.syncAll(ctx); err != nil {
			return err
		}
	}
	return nil
}

// roomHost returns the served domain of an archived room service, or "".
func (m *Module) roomHost(service string) string { return m.services[service] }
