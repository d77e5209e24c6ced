// Package presence implements presence broadcast, directed presence and
// probes (RFC 6121 §4), the feature behind [modules.mod_presence].
package presence

import (
	"context"
	"strconv"
	"strings"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Router is what presence needs of the router.
type Router interface {
	Route(ctx context.Context, from, to jid.JID, el *xmlstream.Element)
	Sessions(bare jid.JID) []router.Session
}

// Deps are the module's collaborators.
type Deps struct {
	Router Router
	Hooks  *hooks.Hooks
}

// Module is the presence feature. It is safe for concurrent use.
type Module struct {
	r     Router
	hooks *hooks.Hooks
}

// hookName registers and removes the module's hook handlers.
const hookName = "mod_presence"

// New returns the module, which the c2s calls for client presence; Start
// makes it answer probes.
func New(d Deps, _ config.ModPresence) (*Module, error) {
	return &Module{r: d.Router, hooks: d.Hooks}, nil
}

// Start registers the probe handler.
func (m *Module) Start(context.Context) error {
	m.hooks.PresenceProbe.Add(50, hookName, m.probe)
	return nil
}

// Stop unregisters the probe handler.
func (m *Module) Stop(context.Context) error {
	m.hooks.RemoveAll(hookName)
	return nil
}

func (m *Module) lists(ctx context.Context, user jid.JID) *hooks.RosterLists {
	l := &hooks.RosterLists{User: user.Bare()}
	m.hooks.RosterLists.Run(ctx, l)
	return l
}

// FromClient handles presence a client sent (RFC 6121 §4.2-4.6).
func (m *Module) FromClient(ctx context.Context, s router.Session, el *xmlstream.Element) {
	typ := el.Attr("type")
	if to := el.Attr("to"); to != "" {
		tj, err := jid.Parse(to)
		if err != nil {
			return
		}
		// Directed presence (§4.6).
		switch typ {
		case "":
			s.AddDirected(tj)
		case "unavailable":
			s.RemoveDirected(tj)
		}
		m.r.Route(ctx, s.JID(), tj, el)
		return
	}
	switch typ {
	case "":
		prio := 0
		if p := strings.TrimSpace(el.ChildText(stanza.NSClient, "priority")); p != "" {
			if n, err := strconv.Atoi(p); err == nil {
				prio = max(-128, min(127, n))
			}
		}
		was := s.SetPresence(el, prio)
		m.broadcast(ctx, s, el, nil)
		if !was {
			m.initial(ctx, s)
		}
	case "unavailable":
		was := s.SetPresence(nil, 0)
		m.broadcast(ctx, s, el, s.TakeDirected())
		if was {
			m.hooks.PresenceUnavailable.Run(ctx, &hooks.SessionEvent{JID: s.JID(), Status: el.ChildText(stanza.NSClient, "status")})
		}
	}
	// Other types without a to address have no meaning here (§4.3: probes
	// come from servers) and are ignored.
}

// initial sends probes to the contacts whose presence the user receives,
// gives the new resource the presence of the user's other resources and
// runs the InitialPresence hook (offline messages).
func (m *Module) initial(ctx context.Context, s router.Session) {
	self := s.JID()
	l := m.lists(ctx, self)
	for _, c := range l.To {
		p := xmlstream.New(stanza.NSClient, "presence", "type", "probe", "from", self.Bare().String(), "to", c.String())
		m.r.Route(ctx, self.Bare(), c, p)
	}
	for _, o := range m.r.Sessions(self.Bare()) {
		if o.JID() == self {
			continue
		}
		if lp := o.LastPresence(); lp != nil {
			cp := lp.Clone()
			cp.SetAttr("from", o.JID().String())
			cp.SetAttr("to", self.String())
			s.Send(cp)
		}
	}
	m.hooks.InitialPresence.Run(ctx, &hooks.SessionEvent{JID: self})
}

// broadcast sends el (from the session) to the contacts subscribed to the
// user's presence, to all of the user's available resources including this
// one, and to extra recipients.
func (m *Module) broadcast(ctx context.Context, s router.Session, el *xmlstream.Element, extra []jid.JID) {
	self := s.JID()
	sent := map[jid.JID]bool{}
	send := func(to jid.JID) {
		if sent[to] {
			return
		}
		sent[to] = true
		cp := el.Clone()
		cp.SetAttr("from", self.String())
		cp.SetAttr("to", to.String())
		m.r.Route(ctx, self, to, cp)
	}
	for _, c := range m.lists(ctx, self).From {
		send(c)
	}
	for _, o := range m.r.Sessions(self.Bare()) {
		if avail, _ := o.Presence(); avail || o.JID() == self {
			send(o.JID())
		}
	}
	for _, j := range extra {
		send(j)
	}
}

// Gone tells contacts that a session that was available has ended.
func (m *Module) Gone(ctx context.Context, s router.Session, status string) {
	p := xmlstream.New(stanza.NSClient, "presence", "type", "unavailable")
	if status != "" {
		p.Append(xmlstream.New(stanza.NSClient, "status").AppendText(status))
	}
	m.broadcast(ctx, s, p, s.TakeDirected())
	m.hooks.PresenceUnavailable.Run(ctx, &hooks.SessionEvent{JID: s.JID(), Status: status})
}

// probe answers a presence probe for a local user (§4.3.2): a subscribed
// contact (or the user) gets the presence of every available resource, or
// unavailable presence when there is none.
func (m *Module) probe(ctx context.Context, ev *hooks.StanzaEvent) bool {
	user := ev.To.Bare()
	allowed := ev.From.Bare() == user
	if !allowed {
		for _, c := range m.lists(ctx, user).From {
			if c == ev.From.Bare() {
				allowed = true
				break
			}
		}
	}
	ev.Handled = true
	if !allowed {
		return true
	}
	any := false
	for _, o := range m.r.Sessions(user) {
		lp := o.LastPresence()
		if lp == nil {
			continue
		}
		any = true
		cp := lp.Clone()
		cp.SetAttr("from", o.JID().String())
		cp.SetAttr("to", ev.From.String())
		m.r.Route(ctx, o.JID(), ev.From, cp)
	}
	if !any {
		p := xmlstream.New(stanza.NSClient, "presence", "type", "unavailable", "from", user.String(), "to", ev.From.String())
		m.r.Route(ctx, user, ev.From, p)
	}
	return true
}
