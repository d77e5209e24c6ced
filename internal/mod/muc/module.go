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
}

// Module is the classic MUC service of a set of domains. It is safe for
// concurrent use.
type Module struct {
	log   *slog.Logger
	r     Router
	hooks *hooks.Hooks
	opts  config.ModMuc
	now   func() time.Time

	mu       sync.Mutex
	services map[string]bool   // service domains; under mu
	rooms    map[jid.JID]*Room // bare room JID -> room; under mu

	mRooms, mOccupants prometheus.Gauge
	mMessages          prometheus.Counter
}

// ServiceDomain returns the MUC domain of a served domain under the host
// pattern.
func ServiceDomain(pattern, domain string) string {
	return strings.ReplaceAll(pattern, "@HOST@", domain)
}

// New builds the module, registers one router service per served domain
// and the module's hooks. opts must have been checked by the config
// package (defaults filled in).
func New(d Deps, opts config.ModMuc, domains []string) *Module {
	m := &Module{log: d.Log, r: d.Router, hooks: d.Hooks, opts: opts, now: d.Now,
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
	for _, dom := range domains {
		m.AddDomain(dom)
	}
	d.Hooks.DiscoItems.Add(50, "mod_muc", m.discoItemsHook)
	d.Hooks.SessionClosed.Add(50, "mod_muc", m.sessionClosed)
	d.Hooks.UserRemoved.Add(50, "mod_muc", m.userRemoved)
	return m
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
func (m *Module) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for svc := range m.services {
		m.r.UnregisterService(svc)
	}
	m.hooks.DiscoItems.Remove("mod_muc")
	m.hooks.SessionClosed.Remove("mod_muc")
	m.hooks.UserRemoved.Remove("mod_muc")
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
	r = newRoom(bare, m.opts.HistorySize)
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

// nickJID is room/nick.
func nickJID(room jid.JID, nick string) jid.JID {
	j, _ := room.WithResource(nick)
	return j
}

// presenceChildren keeps the children of a client presence that are
// forwarded to the room (everything but the MUC extensions).
func presenceChildren(el *xmlstream.Element) []xmlstream.Node {
	var out []xmlstream.Node
	for _, c := range el.Elements() {
		if c.Space == NS || c.Space == NSUser {
			continue
		}
		out = append(out, c)
	}
	return out
}

// occupantPresence builds o's presence as sent to a recipient: the
// forwarded children and an x of muc#user with the item and status codes.
// The real JID is shown to moderators only (a semi-anonymous room) and to
// the occupant itself.
func (r *Room) occupantPresence(o *occupant, aff, role string, toModerator bool, typ string, codes ...string) *xmlstream.Element {
	p := xmlstream.New(stanza.NSClient, "presence", "from", nickJID(r.jid, o.nick).String())
	if typ != "" {
		p.SetAttr("type", typ)
	}
	p.Append(o.pres...)
	x := xmlstream.New(NSUser, "x")
	item := xmlstream.New(NSUser, "item", "affiliation", aff, "role", role)
	if toModerator {
		item.SetAttr("jid", o.jid.String())
	}
	x.Append(item)
	for _, c := range codes {
		x.Append(xmlstream.New(NSUser, "status", "code", c))
	}
	return p.Append(x)
}

// isModerator reports whether the occupant o has the moderator role.
func (r *Room) isModerator(o *occupant) bool { return roleOf(r.affiliation(o.jid)) == "moderator" }

// queue adds a stanza for to; callers hold r.mu.
func (r *Room) queue(to jid.JID, el *xmlstream.Element) {
	r.outq = append(r.outq, out{to: to, el: el.WithAttr("to", to.String())})
}

// flush routes the queued stanzas in order. Whoever holds sendMu drains
// the queue, including what other goroutines add meanwhile; a goroutine
// that finds sendMu taken (another sender, or this one re-entering the
// room through a routed bounce) leaves its stanzas to the holder. The
// stanzas may come from other senders, and the hook's writes must not be
// lost when the sender's session ends meanwhile, so ctx's cancellation is
// not inherited.
func (m *Module) flush(ctx context.Context, r *Room) {
	ctx = context.WithoutCancel(ctx)
	for {
		if !r.sendMu.TryLock() {
			return
		}
		r.mu.Lock()
		batch := r.outq
		r.outq = nil
		r.mu.Unlock()
		for _, o := range batch {
			if o.hook != nil {
				m.hooks.MucGroupchatBroadcast.Run(ctx, o.hook)
				continue
			}
			m.r.Route(ctx, r.jid, o.to, o.el)
		}
		r.sendMu.Unlock()
		r.mu.Lock()
		more := len(r.outq) > 0
		r.mu.Unlock()
		if !more {
			return
		}
	}
}

// presence handles available presence to room/nick: entering (creating
// the room on first entry) or a presence update of an occupant.
func (m *Module) presence(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	nick := to.Resource()
	r, created := m.room(to.Bare(), true)
	r.mu.Lock()
	if o := r.occupantOf(from); o != nil {
		if o.nick != nick {
			r.mu.Unlock()
			// Nickname changes (XEP-0045 §7.6) are not supported yet.
			m.replyError(ctx, from, to, el, stanza.Error{Condition: stanza.FeatureNotImplemented, Text: "Nickname changes are not supported"})
			return
		}
		o.pres = presenceChildren(el)
		r.broadcastPresence(o, "")
		r.mu.Unlock()
		m.flush(ctx, r)
		return
	}
	if created {
		// XEP-0045 §10.1.1: the creator owns the new room, which stays
		// locked to others until the owner submits a configuration form.
		r.affs[from.Bare()] = affOwner
		r.locked = true
	}
	if err := r.canJoin(from, nick); err != nil {
		r.mu.Unlock()
		m.replyError(ctx, from, to, el, toStanzaError(err))
		return
	}
	o := r.add(from, nick, presenceChildren(el))
	self := r.isModerator(o)
	// Existing occupants to the newcomer, then the newcomer to everybody
	// (its own copy last, with status 110), history and subject (§7.2.3).
	for _, other := range r.sortedOccupants() {
		if other == o {
			continue
		}
		aff := r.affiliation(other.jid)
		r.queue(from, r.occupantPresence(other, aff, roleOf(aff), self, ""))
	}
	codes := []string{"110"}
	if created {
		codes = append(codes, "201")
	}
	r.broadcastPresence(o, "", codes...)
	var hist *xmlstream.Element
	if x := el.Child(NS, "x"); x != nil {
		hist = x.Child(NS, "history")
	}
	for _, h := range r.selectHistory(parseHistory(hist, m.now())) {
		c := &xmlstream.Element{Space: h.el.Space, Local: h.el.Local, Attrs: h.el.Attrs}
		c.Children = append(append([]xmlstream.Node(nil), h.el.Children...),
			xmlstream.New(stanza.NSDelay, "delay", "from", r.jid.String(), "stamp", h.at.UTC().Format("2006-01-02T15:04:05.000000Z")))
		r.queue(from, c)
	}
	subjFrom := r.jid
	if r.subjectFrom != "" {
		subjFrom = nickJID(r.jid, r.subjectFrom)
	}
	subj := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "from", subjFrom.String(), "id", newID())
	subj.Append(xmlstream.New(stanza.NSClient, "subject").AppendText(r.subject))
	r.queue(from, subj)
	r.mu.Unlock()
	m.mOccupants.Inc()
	m.flush(ctx, r)
}

// broadcastPresence queues o's presence to every occupant; o's own copy
// comes last and carries status 110 and the extra codes.
func (r *Room) broadcastPresence(o *occupant, typ string, codes ...string) {
	aff := r.affiliation(o.jid)
	role := roleOf(aff)
	if typ == "unavailable" {
		role = "none"
	}
	for _, other := range r.sortedOccupants() {
		if other == o {
			continue
		}
		r.queue(other.jid, r.occupantPresence(o, aff, role, r.isModerator(other), typ))
	}
	if len(codes) == 0 {
		codes = []string{"110"}
	}
	r.queue(o.jid, r.occupantPresence(o, aff, role, true, typ, codes...))
}

// leave takes full out of the room at bare (unavailable presence, or the
// session's end when self is false: nobody is left to tell).
func (m *Module) leave(ctx context.Context, full, bare jid.JID, el *xmlstream.Element, self bool) {
	r, _ := m.room(bare, false)
	if r == nil {
		return
	}
	r.mu.Lock()
	o := r.occupantOf(full)
	if o == nil {
		r.mu.Unlock()
		return
	}
	if el != nil {
		o.pres = presenceChildren(el)
	}
	if self {
		r.broadcastPresence(o, "unavailable")
	} else {
		aff := r.affiliation(o.jid)
		for _, other := range r.sortedOccupants() {
			if other != o {
				r.queue(other.jid, r.occupantPresence(o, aff, "none", r.isModerator(other), "unavailable"))
			}
		}
	}
	r.remove(full)
	r.mu.Unlock()
	m.mOccupants.Dec()
	m.flush(ctx, r)
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

// groupchat broadcasts an occupant's message to every occupant, with
// from = room/nick and a stanza-id, keeps it in the history when it has a
// body, and reports it on the MucGroupchatBroadcast hook (spec/inbox.md
// §8.5). A subject child changes the subject (any occupant may, like
// MongooseIM's default allow_change_subj = true).
func (m *Module) groupchat(ctx context.Context, r *Room, from jid.JID, el *xmlstream.Element) error {
	r.mu.Lock()
	o := r.occupantOf(from)
	if o == nil {
		r.mu.Unlock()
		return ErrNotOccupant
	}
	bc := xmlstream.New(el.Space, "message", "type", "groupchat", "from", nickJID(r.jid, o.nick).String())
	for _, a := range el.Attrs {
		switch {
		case a.Space == "" && a.Local == "id":
			bc.SetAttr("id", a.Value)
		case a.Space == xmlstream.NSXML:
			bc.Attrs = append(bc.Attrs, a)
		}
	}
	hasBody := false
	for _, c := range el.Elements() {
		// XEP-0359 §3: a stanza-id claiming to be from the room is removed.
		if c.Space == nsSID && c.Local == "stanza-id" && c.Attr("by") == r.jid.String() {
			continue
		}
		switch {
		case c.Local == "body" && c.Space == el.Space:
			hasBody = true
		case c.Local == "subject" && c.Space == el.Space:
			r.subject = c.Text()
			r.subjectFrom = o.nick
		}
		bc.Append(c)
	}
	bc.Append(xmlstream.New(nsSID, "stanza-id", "id", newID(), "by", r.jid.String()))
	if hasBody {
		r.remember(bc, m.now())
	}
	r.outq = append(r.outq, out{hook: &hooks.MucGroupchatBroadcast{Room: r.jid, Sender: from.Bare(), Nick: o.nick,
		Stanza: bc, Affiliations: r.hookAffiliations()}})
	for _, other := range r.sortedOccupants() {
		r.queue(other.jid, bc)
	}
	r.mu.Unlock()
	m.mMessages.Inc()
	m.flush(ctx, r)
	return nil
}

// private relays a private message to the occupant called nick (XEP-0045
// §7.5): from room/sender-nick to the occupant's full JID, with an empty
// muc#user x.
func (m *Module) private(ctx context.Context, r *Room, from jid.JID, nick string, el *xmlstream.Element) error {
	r.mu.Lock()
	o := r.occupantOf(from)
	if o == nil {
		r.mu.Unlock()
		return ErrNotOccupant
	}
	target := r.occupants[nick]
	if target == nil {
		r.mu.Unlock()
		return ErrNoNick
	}
	pm := &xmlstream.Element{Space: el.Space, Local: el.Local, Attrs: append([]xmlstream.Attr(nil), el.Attrs...)}
	pm.SetAttr("from", nickJID(r.jid, o.nick).String())
	for _, c := range el.Elements() {
		if c.Space != NSUser {
			pm.Append(c)
		}
	}
	pm.Append(xmlstream.New(NSUser, "x"))
	r.queue(target.jid, pm)
	r.mu.Unlock()
	m.flush(ctx, r)
	return nil
}

// newID returns a random 128-bit hex identifier.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
