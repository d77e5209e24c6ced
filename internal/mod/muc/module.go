// Package muc is mod_muc, classic Multi-User Chat (XEP-0045): a service
// domain per served domain ("conference.@HOST@"), rooms kept in memory,
// entry by presence, groupchat and private messages, history replay,
// subject and affiliation management (docs/modules/mod_muc.md says what
// is supported). Each broadcast groupchat message is reported once on the
// MucGroupchatBroadcast hook (mod_inbox's classic-MUC path).
package muc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Namespaces (XEP-0045 §19, XEP-0359, XEP-0203).
const (
	NS      = "http://jabber.org/protocol/muc"
	NSUser  = NS + "#user"
	NSAdmin = NS + "#admin"
	NSOwner = NS + "#owner"
	nsSID   = "urn:xmpp:sid:0"
	nsData  = "jabber:x:data"
)

// Router is what the module needs of the router.
type Router interface {
	Route(ctx context.Context, from, to jid.JID, el *xmlstream.Element)
	RegisterService(domain string, svc router.Service)
	UnregisterService(domain string)
}

// Deps are the module's collaborators.
type Deps struct {
	Log    *slog.Logger
	Router Router
	Hooks  *hooks.Hooks
	// Metrics may be nil (no metrics).
	Metrics *metrics.Registry
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Domains are the served domains; each gets a MUC service domain.
	Domains []string
}

// Module is the classic MUC service of a set of domains. It is safe for
// concurrent use.
type Module struct {
	log     *slog.Logger
	r       Router
	hooks   *hooks.Hooks
	opts    config.ModMuc
	now     func() time.Time
	domains []string

	mu       sync.Mutex
	services map[string]bool   // service domains; under mu
	rooms    map[jid.JID]*Room // bare room JID -> room; under mu

	mRooms, mOccupants prometheus.Gauge
	mMessages          prometheus.Counter
	mQueue             queueMetrics
}

// ServiceDomain returns the MUC domain of a served domain under the host
// pattern.
func ServiceDomain(pattern, domain string) string {
	return strings.ReplaceAll(pattern, "@HOST@", domain)
}

// hookName registers and removes the module's hook handlers.
const hookName = "mod_muc"

// New builds the module; Start registers it. cfg must have been checked by
// the config package (defaults filled in).
func New(d Deps, cfg config.ModMuc) (*Module, error) {
	m := &Module{log: d.Log, r: d.Router, hooks: d.Hooks, opts: cfg, now: d.Now, domains: d.Domains,
		services: map[string]bool{}, rooms: map[jid.JID]*Room{}}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	reg := d.Metrics
	if reg == nil {
		reg = metrics.New()
	}
	m.mRooms = reg.Gauge("mod_muc_rooms", "count").WithLabelValues()
	m.mOccupants = reg.Gauge("mod_muc_occupants", "count").WithLabelValues()
	m.mMessages = reg.Spiral("mod_muc_message", "count").WithLabelValues()
	m.mQueue = queueMetrics{queued: reg.Gauge("mod_muc_room_queue", "length").WithLabelValues(),
		dropped: reg.Spiral("mod_muc_room_queue_dropped", "count").WithLabelValues()}
	if m.opts.RoomQueueSize <= 0 {
		m.opts.RoomQueueSize = 10000 // a configuration built without the config package's defaults
	}
	return m, nil
}

// Start registers one router service per served domain and the module's
// hooks.
func (m *Module) Start(context.Context) error {
	for _, dom := range m.domains {
		m.AddDomain(dom)
	}
	m.hooks.DiscoItems.Add(50, hookName, m.discoItemsHook)
	m.hooks.SessionClosed.Add(50, hookName, m.sessionClosed)
	m.hooks.UserRemoved.Add(50, hookName, m.userRemoved)
	return nil
}

// AddDomain starts serving the MUC domain of a served domain.
func (m *Module) AddDomain(domain string) {
	svc := ServiceDomain(m.opts.Host, domain)
	m.mu.Lock()
	m.services[svc] = true
	m.mu.Unlock()
	m.r.RegisterService(svc, m.handle)
}

// Stop unregisters the services and hooks. Rooms are in memory and end
// with the module.
func (m *Module) Stop(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for svc := range m.services {
		m.r.UnregisterService(svc)
	}
	m.hooks.RemoveAll(hookName)
	return nil
}

// IsService reports whether domain is a MUC domain of this module.
func (m *Module) IsService(domain string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.services[domain]
}

func (m *Module) discoItemsHook(_ context.Context, ev *hooks.DiscoItems) bool {
	if svc := ServiceDomain(m.opts.Host, ev.Domain); m.IsService(svc) {
		ev.Items = append(ev.Items, xmlstream.New(stanza.NSDiscoItems, "item", "jid", svc, "name", "Chatrooms"))
	}
	return false
}

// room returns the room at bare, creating it when create is set; created
// reports a creation.
func (m *Module) room(bare jid.JID, create bool) (r *Room, created bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r = m.rooms[bare]; r != nil || !create {
		return r, false
	}
	r = newRoom(bare, m.opts.HistorySize, m.opts.RoomQueueSize, &m.mQueue)
	m.rooms[bare] = r
	m.mRooms.Set(float64(len(m.rooms)))
	return r, true
}

// allRooms returns the rooms, unordered.
func (m *Module) allRooms() []*Room {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		out = append(out, r)
	}
	return out
}

// handle is the router service of every MUC domain. It runs on the
// sender's routing path.
func (m *Module) handle(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	typ := el.Attr("type")
	if typ == "error" || (el.Local == "iq" && typ == "result") {
		// Never answer an error or a result. (XEP-0045 §7.2 lets a service
		// remove an occupant whose client bounces; Gander keeps it until
		// it leaves or its session ends.)
		return
	}
	if to.Local() == "" {
		m.serviceStanza(ctx, from, to, el)
		return
	}
	switch el.Local {
	case "presence":
		if to.IsBare() {
			if typ == "" {
				m.replyError(ctx, from, to, el, stanza.Error{Condition: stanza.JIDMalformed, Text: "A nickname is required to enter a room"})
			}
			return
		}
		switch typ {
		case "":
			m.presence(ctx, from, to, el)
		case "unavailable":
			m.leave(ctx, from, to.Bare(), el, true)
		}
		// Subscription presence and probes to rooms are ignored.
	case "message":
		r, _ := m.room(to.Bare(), false)
		if r == nil {
			m.replyError(ctx, from, to, el, toStanzaError(ErrNoRoom))
			return
		}
		var err error
		switch {
		case to.IsBare() && typ == "groupchat":
			err = m.groupchat(ctx, r, from, el)
		case to.IsBare():
			// Mediated invitations, voice requests and the like.
			err = ErrNotImplemented
		case typ == "groupchat":
			err = ErrBadRequest // XEP-0045 §7.5: a private message is not groupchat
		default:
			err = m.private(ctx, r, from, to.Resource(), el)
		}
		if err != nil {
			m.replyError(ctx, from, to, el, toStanzaError(err))
		}
	case "iq":
		m.roomIQ(ctx, from, to, el)
	}
}

// replyError answers el with a stanza error, from and to swapped.
func (m *Module) replyError(ctx context.Context, from, to jid.JID, el *xmlstream.Element, e stanza.Error) {
	r := stanza.ErrorReply(el, e)
	r.SetAttr("from", to.String())
	r.SetAttr("to", from.String())
	m.r.Route(ctx, to, from, r)
}

// sessionClosed takes an ended session out of every room it was in.
func (m *Module) sessionClosed(ctx context.Context, ev *hooks.SessionEvent) bool {
	for _, r := range m.allRooms() {
		r.mu.Lock()
		in := r.occupantOf(ev.JID) != nil
		r.mu.Unlock()
		if in {
			m.leave(ctx, ev.JID, r.jid, nil, false)
		}
	}
	return false
}

// userRemoved drops a removed account's affiliations, so that nothing is
// reported for it any more (its sessions have ended already). A room left
// without an owner keeps running without one.
func (m *Module) userRemoved(_ context.Context, ev *hooks.UserEvent) bool {
	for _, r := range m.allRooms() {
		r.mu.Lock()
		delete(r.affs, ev.User.Bare())
		r.mu.Unlock()
	}
	return false
}

// newID returns a random 128-bit hex identifier.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
