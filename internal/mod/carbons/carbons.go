// Package carbons is Message Carbons (XEP-0280 v1.0, urn:xmpp:carbons:2),
// the feature behind [modules.mod_carboncopy]: a resource that enables
// carbons gets a <sent/> copy of the messages its user's other resources
// send and a <received/> copy of the messages to its user that another
// resource got. Which messages are copied is decided by Eligible.
//
// State is per session and in memory only: it is cleared when the session
// ends and never stored.
package carbons

import (
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Namespaces used by Message Carbons.
const (
	// NS is the Message Carbons namespace (XEP-0280 v1.0).
	NS = "urn:xmpp:carbons:2"
	// NSForward is Stanza Forwarding (XEP-0297), the wrapper of a copy.
	NSForward = "urn:xmpp:forward:0"
	// NSHints is Message Processing Hints (XEP-0334), for <no-copy/>.
	NSHints = "urn:xmpp:hints"
	// NSMUCUser marks MUC private messages (XEP-0045 §7.5).
	NSMUCUser = "http://jabber.org/protocol/muc#user"
)

// hookName registers and removes the module's hook handlers.
const hookName = "mod_carboncopy"

// Sessions is what the module needs of the routing table; *router.Router
// implements it. Implementations must be safe for concurrent use.
type Sessions interface {
	// Session returns the session bound to a full JID, or nil.
	Session(full jid.JID) router.Session
	// Sessions returns every session of a bare JID.
	Sessions(bare jid.JID) []router.Session
}

// Deps are the module's collaborators.
type Deps struct {
	Log      *slog.Logger
	Sessions Sessions
	Hooks    *hooks.Hooks
	IQ       *iq.Registry
	// Metrics, when set, receives mod_carboncopy_copies_count and
	// mod_carboncopy_enabled_sessions_count.
	Metrics *metrics.Registry
}

// Module is mod_carboncopy. It is safe for concurrent use.
type Module struct {
	log      *slog.Logger
	sessions Sessions
	hooks    *hooks.Hooks
	iq       *iq.Registry
	policy   iq.Policy

	copies  *prometheus.CounterVec // label direction: sent, received
	enabled prometheus.Gauge

	mu sync.Mutex
	// on maps the full JID of each carbons-enabled resource to the session
	// that enabled them: a later session bound to the same full JID (after
	// a conflict) does not inherit the state.
	on map[jid.JID]router.Session
	// users counts the entries of on per bare JID, so that messages of
	// users without carbons cost no session lookup.
	users map[jid.JID]int
}

// New returns the module; Start registers it.
func New(d Deps, cfg config.ModCarbonCopy) (*Module, error) {
	m := &Module{log: d.Log, sessions: d.Sessions, hooks: d.Hooks, iq: d.IQ, policy: iq.Policy(cfg.IQDisc).Or("no_queue"),
		on: map[jid.JID]router.Session{}, users: map[jid.JID]int{}}
	if m.log == nil {
		m.log = slog.Default()
	}
	if d.Metrics != nil {
		m.copies = d.Metrics.Spiral("mod_carboncopy_copies", "count", "direction")
		m.copies.WithLabelValues("sent")
		m.copies.WithLabelValues("received")
		m.enabled = d.Metrics.Counter("mod_carboncopy_enabled_sessions", "count").WithLabelValues()
	}
	return m, nil
}

// Start registers the enable/disable IQ handler (on users' bare JIDs, as
// the client sends it without a 'to'), the disco feature and the hooks
// that make the copies.
func (m *Module) Start(context.Context) error {
	if err := m.iq.Register(iq.SessionManager, NS, m.handleIQ, m.policy); err != nil {
		return err
	}
	m.hooks.DiscoFeatures.Add(50, hookName, func(_ context.Context, ev *hooks.DiscoFeatures) bool {
		ev.Features = append(ev.Features, NS)
		return false
	})
	m.hooks.UserSentMessage.Add(50, hookName, m.userSent)
	m.hooks.DeliverMessage.Add(50, hookName, m.deliver)
	m.hooks.SessionClosed.Add(50, hookName, m.sessionClosed)
	return nil
}

// Stop unregisters the module.
func (m *Module) Stop(context.Context) error {
	m.iq.Unregister(iq.SessionManager, NS)
	m.hooks.RemoveAll(hookName)
	return nil
}

// Enabled reports whether the resource full has carbons enabled.
func (m *Module) Enabled(full jid.JID) bool {
	s := m.sessions.Session(full)
	m.mu.Lock()
	defer m.mu.Unlock()
	return s != nil && m.on[full] == s
}

// handleIQ answers <enable/> and <disable/> (XEP-0280 §4, §5). Repeated
// requests succeed (§10.1).
func (m *Module) handleIQ(_ context.Context, req iq.Request) *xmlstream.Element {
	if req.IQ.Attr("type") != "set" {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.BadRequest})
	}
	// §4.1/§5.1: a client may only change the state of its own session.
	if req.From.IsBare() || req.To.Bare() != req.From.Bare() {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.NotAllowed})
	}
	switch req.Payload.Local {
	case "enable":
		s := m.sessions.Session(req.From)
		if s == nil {
			return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.NotAllowed})
		}
		m.set(req.From, s)
		// The session may have ended between the lookup and set (IQs can
		// be processed on a queue): do not keep state for a dead session.
		if m.sessions.Session(req.From) != s {
			m.unset(req.From, s)
		}
	case "disable":
		m.unset(req.From, nil)
	default:
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.BadRequest})
	}
	return stanza.IQResult(req.IQ)
}

func (m *Module) set(full jid.JID, s router.Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.on[full]; !ok {
		m.users[full.Bare()]++
	}
	m.on[full] = s
	m.gauge()
}

// unset clears full's state; with only non-nil, only if it belongs to only.
func (m *Module) unset(full jid.JID, only router.Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.on[full]; ok && (only == nil || cur == only) {
		m.remove(full)
	}
}

// remove deletes full's entry, which exists; m.mu is held.
func (m *Module) remove(full jid.JID) {
	delete(m.on, full)
	if m.users[full.Bare()]--; m.users[full.Bare()] <= 0 {
		delete(m.users, full.Bare())
	}
	m.gauge()
}

// gauge updates the enabled-sessions gauge; m.mu is held.
func (m *Module) gauge() {
	if m.enabled != nil {
		m.enabled.Set(float64(len(m.on)))
	}
}

// sessionClosed forgets the state of a session that ended. The router has
// already unbound it, so the state is dropped unless it belongs to a newer
// session bound to the same full JID.
func (m *Module) sessionClosed(_ context.Context, ev *hooks.SessionEvent) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.on[ev.JID]; ok && cur != m.sessions.Session(ev.JID) {
		m.remove(ev.JID)
	}
	return false
}

// enabledSessions returns the carbons-enabled sessions of bare except
// those whose full JID is in skip.
func (m *Module) enabledSessions(bare jid.JID, skip func(jid.JID) bool) []router.Session {
	m.mu.Lock()
	n := m.users[bare]
	m.mu.Unlock()
	if n == 0 {
		return nil
	}
	all := m.sessions.Sessions(bare)
	m.mu.Lock()
	defer m.mu.Unlock()
	out := all[:0]
	for _, s := range all {
		if j := s.JID(); m.on[j] == s && !skip(j) {
			out = append(out, s)
		}
	}
	return out
}

// userSent sends <sent/> copies of a message a user's session sent to the
// user's other carbons-enabled resources (XEP-0280 §7), whether or not the
// sending resource enabled carbons.
func (m *Module) userSent(_ context.Context, ev *hooks.StanzaEvent) bool {
	if !Eligible(ev.Stanza) || ev.To.Bare() == ev.From.Bare() {
		// Messages between resources of one user reach them by routing;
		// copies would duplicate them.
		return false
	}
	sender := ev.From
	msg := ev.Stanza
	if ev.SentStanzaID != nil {
		// The sender's archive id (docs/modules/mod_mam.md): the copy
		// carries it, the routed message does not.
		msg = &xmlstream.Element{Space: msg.Space, Local: msg.Local, Attrs: msg.Attrs,
			Children: append(msg.Children[:len(msg.Children):len(msg.Children)], ev.SentStanzaID)}
	}
	for _, s := range m.enabledSessions(sender.Bare(), func(j jid.JID) bool { return j == sender }) {
		if s.Send(Wrap("sent", msg, s.JID())) {
			m.count("sent")
		}
	}
	return false
}

// deliver removes <private/> from a message about to be delivered
// (XEP-0280 §8) and sends <received/> copies to the recipient's
// carbons-enabled resources that do not get the original (§6). A message
// going to offline storage (no resource gets it now) is not copied: it is
// delivered later from storage.
func (m *Module) deliver(_ context.Context, ev *hooks.MessageDelivery) bool {
	el := ev.Stanza
	if el.Child(NS, "private") != nil {
		c := el.Clone()
		c.RemoveChildren(NS, "private")
		ev.Stanza = c
		return false
	}
	if len(ev.Recipients) == 0 || !Eligible(el) || ev.From.Bare() == ev.To.Bare() {
		return false
	}
	got := func(j jid.JID) bool {
		for _, r := range ev.Recipients {
			if r == j {
				return true
			}
		}
		return false
	}
	for _, s := range m.enabledSessions(ev.To.Bare(), got) {
		if s.Send(Wrap("received", el, s.JID())) {
			m.count("received")
		}
	}
	return false
}

func (m *Module) count(direction string) {
	if m.copies != nil {
		m.copies.WithLabelValues(direction).Inc()
	}
}

// Eligible reports whether a message is carbon-copied, following the
// rules XEP-0280 §6 suggests: type chat, or type normal (or no type) with
// a <body/>; never groupchat, headline or error; never with <private/>
// (§8) or a <no-copy/> hint (XEP-0334); never a carbon itself (a message
// carrying <sent/> or <received/>); never a MUC private message (carrying
// <x xmlns='http://jabber.org/protocol/muc#user'/>).
func Eligible(el *xmlstream.Element) bool {
	if el == nil || el.Local != "message" || el.Space != stanza.NSClient {
		return false
	}
	switch el.Attr("type") {
	case "chat":
	case "", "normal":
		if el.Child(stanza.NSClient, "body") == nil {
			return false
		}
	default:
		return false
	}
	for _, c := range el.Elements() {
		switch {
		case c.Space == NS && (c.Local == "private" || c.Local == "sent" || c.Local == "received"):
			return false
		case c.Space == NSHints && c.Local == "no-copy":
			return false
		case c.Space == NSMUCUser && c.Local == "x":
			return false
		}
	}
	return true
}

// Wrap builds the carbon copy of msg for the resource to: a message from
// to's bare JID with msg's type, holding <kind xmlns='urn:xmpp:carbons:2'>
// (kind "sent" or "received") around <forwarded xmlns='urn:xmpp:forward:0'>
// around msg (XEP-0280 §6, §7). msg is shared, not copied: routed stanzas
// are immutable.
func Wrap(kind string, msg *xmlstream.Element, to jid.JID) *xmlstream.Element {
	out := xmlstream.New(stanza.NSClient, "message", "from", to.Bare().String(), "to", to.String())
	if t := msg.Attr("type"); t != "" {
		out.SetAttr("type", t)
	}
	fw := xmlstream.New(NSForward, "forwarded").Append(msg)
	return out.Append(xmlstream.New(NS, kind).Append(fw))
}
