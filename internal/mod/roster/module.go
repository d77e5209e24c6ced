package roster

import (
	"context"
	"log/slog"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Store is the roster storage the module needs. Implementations must be
// safe for concurrent use.
type Store interface {
	Items(ctx context.Context, server, username string) ([]Item, error)
	Item(ctx context.Context, server, username, jid string) (Item, bool, error)
	PutItem(ctx context.Context, server, username string, it Item) error
	DeleteItem(ctx context.Context, server, username, jid string) error
	RemoveUser(ctx context.Context, server, username string) error
}

// Router is what the roster needs of the router.
type Router interface {
	Route(ctx context.Context, from, to jid.JID, el *xmlstream.Element)
	Sessions(bare jid.JID) []router.Session
}

// Deps are the module's collaborators.
type Deps struct {
	Log    *slog.Logger
	Store  Store
	Router Router
	Hooks  *hooks.Hooks
	IQ     *iq.Registry
}

// Module is the roster feature ([modules.mod_roster]): the jabber:iq:roster
// protocol, roster pushes and the subscription state machine of RFC 6121 §3.
type Module struct {
	log    *slog.Logger
	store  Store
	r      Router
	hooks  *hooks.Hooks
	iq     *iq.Registry
	policy iq.Policy
	pushID atomic.Uint64
}

// hookName registers and removes the module's hook handlers.
const hookName = "mod_roster"

// New returns the module; Start registers it.
func New(d Deps, cfg config.ModRoster) (*Module, error) {
	m := &Module{log: d.Log, store: d.Store, r: d.Router, hooks: d.Hooks, iq: d.IQ,
		policy: iq.Policy(cfg.IQDisc).Or("one_queue")}
	if m.log == nil {
		m.log = slog.Default()
	}
	return m, nil
}

func (m *Module) bindings() []iq.Binding {
	return []iq.Binding{{Comp: iq.SessionManager, NS: stanza.NSRoster, Handler: m.handleIQ}}
}

// Start registers the IQ handler and the hooks.
func (m *Module) Start(context.Context) error {
	if err := m.iq.RegisterAll(m.policy, m.bindings()...); err != nil {
		return err
	}
	h := m.hooks
	h.OutboundSubscription.Add(50, hookName, m.outbound)
	h.InboundSubscription.Add(50, hookName, m.inbound)
	h.RosterLists.Add(50, hookName, m.lists)
	h.InitialPresence.Add(40, hookName, m.redeliverPending)
	h.UserRemoved.Add(50, hookName, m.userRemoved)
	return nil
}

// Stop unregisters what Start registered.
func (m *Module) Stop(context.Context) error {
	m.iq.UnregisterAll(m.bindings()...)
	m.hooks.RemoveAll(hookName)
	return nil
}

func (m *Module) userRemoved(ctx context.Context, ev *hooks.UserEvent) bool {
	if err := m.store.RemoveUser(ctx, ev.User.Domain(), ev.User.Local()); err != nil {
		m.log.Error("roster removal failed", "user", ev.User.String(), "err", err)
	}
	return false
}

func itemElement(it Item) *xmlstream.Element {
	e := xmlstream.New(stanza.NSRoster, "item", "jid", it.JID, "subscription", string(it.State.Sub))
	if it.State.Sub == "" {
		e.SetAttr("subscription", "none")
	}
	if it.Name != "" {
		e.SetAttr("name", it.Name)
	}
	if it.State.PendingOut {
		e.SetAttr("ask", "subscribe")
	}
	for _, g := range it.Groups {
		e.Append(xmlstream.New(stanza.NSRoster, "group").AppendText(g))
	}
	return e
}

func (m *Module) handleIQ(ctx context.Context, req iq.Request) *xmlstream.Element {
	user := req.To.Bare()
	if req.From.Bare() != user {
		// Only the user may see or change their roster (RFC 6121 §2.1.5).
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.Forbidden})
	}
	if req.Payload.Local != "query" {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.BadRequest})
	}
	switch req.IQ.Attr("type") {
	case "get":
		items, err := m.store.Items(ctx, user.Domain(), user.Local())
		if err != nil {
			m.log.Error("roster get failed", "user", user.String(), "err", err)
			return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.InternalServerError})
		}
		res := stanza.IQResult(req.IQ)
		q := xmlstream.New(stanza.NSRoster, "query")
		extra := &hooks.RosterItems{User: user}
		m.hooks.RosterItems.Run(ctx, extra)
		for _, it := range extra.Items {
			q.Append(it)
		}
		for _, it := range items {
			if visible(it) {
				q.Append(itemElement(it))
			}
		}
		return res.Append(q)
	default:
		return m.set(ctx, req, user)
	}
}

// set handles a roster set (RFC 6121 §2.3 and §2.5).
func (m *Module) set(ctx context.Context, req iq.Request, user jid.JID) *xmlstream.Element {
	items := req.Payload.Elements()
	if len(items) != 1 || items[0].Local != "item" || items[0].Space != stanza.NSRoster {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.BadRequest, Text: "exactly one item is required"})
	}
	el := items[0]
	cj, err := jid.Parse(el.Attr("jid"))
	if err != nil {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.JIDMalformed})
	}
	cj = cj.Bare()
	old, found, err := m.store.Item(ctx, user.Domain(), user.Local(), cj.String())
	if err != nil {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.InternalServerError})
	}
	if el.Attr("subscription") == "remove" {
		if !found {
			return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.ItemNotFound})
		}
		// §2.5.2: cancel subscriptions in both directions.
		if old.State.IsSubscribedTo() || old.State.PendingOut {
			m.sendPresence(ctx, user, cj, "unsubscribe")
		}
		if old.State.IsSubscribedFrom() || old.State.PendingIn {
			m.sendPresence(ctx, user, cj, "unsubscribed")
		}
		if err := m.store.DeleteItem(ctx, user.Domain(), user.Local(), cj.String()); err != nil {
			return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.InternalServerError})
		}
		m.push(ctx, user, xmlstream.New(stanza.NSRoster, "item", "jid", cj.String(), "subscription", "remove"))
		return stanza.IQResult(req.IQ)
	}
	it := old
	if !found {
		it = Item{JID: cj.String(), State: State{Sub: SubNone}}
	}
	it.Name = el.Attr("name")
	it.Groups = nil
	seen := map[string]bool{}
	for _, g := range el.Elements() {
		if g.Local != "group" {
			continue
		}
		name := g.Text()
		if name == "" {
			return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.NotAcceptable, Text: "empty group name"})
		}
		if seen[name] {
			return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.BadRequest, Text: "duplicate group"})
		}
		seen[name] = true
		it.Groups = append(it.Groups, name)
	}
	sort.Strings(it.Groups)
	if err := m.store.PutItem(ctx, user.Domain(), user.Local(), it); err != nil {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.InternalServerError})
	}
	m.push(ctx, user, itemElement(it))
	return stanza.IQResult(req.IQ)
}

// push sends a roster push to every resource of the user (§2.1.6).
func (m *Module) push(ctx context.Context, user jid.JID, item *xmlstream.Element) {
	for _, s := range m.r.Sessions(user) {
		p := xmlstream.New(stanza.NSClient, "iq", "type", "set", "id", "push"+strconv.FormatUint(m.pushID.Add(1), 10), "to", s.JID().String())
		p.Append(xmlstream.New(stanza.NSRoster, "query").Append(item.Clone()))
		s.Send(p)
	}
}

func (m *Module) sendPresence(ctx context.Context, from, to jid.JID, typ string) {
	p := xmlstream.New(stanza.NSClient, "presence", "type", typ, "from", from.String(), "to", to.String())
	m.r.Route(ctx, from, to, p)
}

func (m *Module) load(ctx context.Context, user jid.JID, contact string) (Item, error) {
	it, found, err := m.store.Item(ctx, user.Domain(), user.Local(), contact)
	if err != nil {
		return Item{}, err
	}
	if !found {
		it = Item{JID: contact, State: State{Sub: SubNone}}
	}
	return it, nil
}

// outbound applies a subscription presence the user sends (RFC 6121
// Appendix A.2).
func (m *Module) outbound(ctx context.Context, ev *hooks.StanzaEvent) bool {
	user, contact := ev.From.Bare(), ev.To.Bare()
	typ := PresenceType(ev.Stanza.Attr("type"))
	it, err := m.load(ctx, user, contact.String())
	if err != nil {
		m.log.Error("roster load failed", "user", user.String(), "err", err)
		ev.Deliver = false
		return true
	}
	out := Transition(it.State, Outbound, typ)
	ev.Deliver = out.Deliver
	if out.Changed {
		it.State = out.Next
		if typ == "subscribed" || typ == "unsubscribed" {
			it.PendingInStatus = ""
		}
		if err := m.store.PutItem(ctx, user.Domain(), user.Local(), it); err != nil {
			m.log.Error("roster store failed", "user", user.String(), "err", err)
		}
		m.push(ctx, user, itemElement(it))
	}
	if out.Changed && ev.Deliver {
		switch typ {
		case "subscribed":
			// §3.1.5: the contact now receives the user's presence.
			m.sendCurrentPresence(ctx, user, contact, false)
		case "unsubscribed":
			// §3.2.3: and no longer does.
			m.sendCurrentPresence(ctx, user, contact, true)
		}
	}
	return false
}

// sendCurrentPresence routes the presence of each available resource of
// user (or unavailable) to contact.
func (m *Module) sendCurrentPresence(ctx context.Context, user, contact jid.JID, unavailable bool) {
	for _, s := range m.r.Sessions(user) {
		avail, _ := s.Presence()
		if !avail {
			continue
		}
		var p *xmlstream.Element
		if !unavailable {
			if last := s.LastPresence(); last != nil {
				p = last.Clone()
			}
		}
		if p == nil {
			p = xmlstream.New(stanza.NSClient, "presence")
			if unavailable {
				p.SetAttr("type", "unavailable")
			}
		}
		p.SetAttr("from", s.JID().String())
		p.SetAttr("to", contact.String())
		m.r.Route(ctx, s.JID(), contact, p)
	}
}

// inbound applies a subscription presence addressed to the user (RFC 6121
// Appendix A.3) and decides whether the user sees it.
func (m *Module) inbound(ctx context.Context, ev *hooks.StanzaEvent) bool {
	user, contact := ev.To.Bare(), ev.From.Bare()
	typ := PresenceType(ev.Stanza.Attr("type"))
	it, err := m.load(ctx, user, contact.String())
	if err != nil {
		m.log.Error("roster load failed", "user", user.String(), "err", err)
		return true
	}
	out := Transition(it.State, Inbound, typ)
	ev.Deliver = out.Deliver
	if out.AutoReply != "" {
		m.sendPresence(ctx, user, contact, string(out.AutoReply))
	}
	if out.Changed {
		it.State = out.Next
		if typ == "subscribe" {
			it.PendingInStatus = ev.Stanza.ChildText(stanza.NSClient, "status")
		}
		if !it.State.PendingIn {
			it.PendingInStatus = ""
		}
		if err := m.store.PutItem(ctx, user.Domain(), user.Local(), it); err != nil {
			m.log.Error("roster store failed", "user", user.String(), "err", err)
		}
		if visible(it) {
			m.push(ctx, user, itemElement(it))
		}
	}
	return false
}

// visible reports whether an item belongs in the roster the user sees: a
// bare pending inbound request is stored but is not a roster item until the
// user answers it (RFC 6121 §3.1.3).
func visible(it Item) bool {
	return it.State.Sub != SubNone || it.State.PendingOut || !it.State.PendingIn || it.Name != "" || len(it.Groups) > 0
}

// lists fills the user's subscription lists for presence broadcast.
func (m *Module) lists(ctx context.Context, ev *hooks.RosterLists) bool {
	items, err := m.store.Items(ctx, ev.User.Domain(), ev.User.Local())
	if err != nil {
		m.log.Error("roster load failed", "user", ev.User.String(), "err", err)
		return false
	}
	for _, it := range items {
		j, err := jid.Parse(it.JID)
		if err != nil {
			continue
		}
		if it.State.IsSubscribedFrom() {
			ev.From = append(ev.From, j)
		}
		if it.State.IsSubscribedTo() {
			ev.To = append(ev.To, j)
		}
	}
	return false
}

// redeliverPending sends pending inbound subscription requests to a
// resource that becomes available (RFC 6121 §3.1.3).
func (m *Module) redeliverPending(ctx context.Context, ev *hooks.SessionEvent) bool {
	user := ev.JID.Bare()
	items, err := m.store.Items(ctx, user.Domain(), user.Local())
	if err != nil {
		return false
	}
	for _, s := range m.r.Sessions(user) {
		if s.JID() != ev.JID {
			continue
		}
		for _, it := range items {
			if !it.State.PendingIn {
				continue
			}
			p := xmlstream.New(stanza.NSClient, "presence", "type", "subscribe", "from", it.JID, "to", user.String())
			if it.PendingInStatus != "" {
				p.Append(xmlstream.New(stanza.NSClient, "status").AppendText(it.PendingInStatus))
			}
			s.Send(p)
		}
	}
	return false
}
