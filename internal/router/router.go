// Package router delivers stanzas between local sessions following
// RFC 6121 §8, hands IQs to the IQ registry and asks features (through
// hooks) about subscriptions, probes and offline storage.
package router

import (
	"context"
	"log/slog"
	"sort"
	"sync"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Accounts tells whether a local account exists.
type Accounts interface {
	UserExists(ctx context.Context, server, username string) (bool, error)
}

// Metrics receives routing counts; nil methods are not called.
type Metrics interface {
	Routed(kind string)
	StanzaError(condition string)
}

// Router is the local routing table. It is safe for concurrent use.
type Router struct {
	log      *slog.Logger
	hooks    *hooks.Hooks
	iq       *iq.Registry
	accounts Accounts
	metrics  Metrics
	domains  map[string]bool

	mu       sync.RWMutex
	users    map[jid.JID]map[string]Session // bare -> resource -> session
	services map[string]Service             // service domain -> handler
}

// Service handles every stanza addressed to a service domain (such as
// muclight.localhost) or to a JID on it. It runs on the sender's routing
// path and must not block for long.
type Service func(ctx context.Context, from, to jid.JID, el *xmlstream.Element)

// RegisterService routes the stanzas for domain to svc.
func (r *Router) RegisterService(domain string, svc Service) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.services == nil {
		r.services = map[string]Service{}
	}
	r.services[domain] = svc
}

// UnregisterService removes the handler of a service domain.
func (r *Router) UnregisterService(domain string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.services, domain)
}

func (r *Router) service(domain string) Service {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.services[domain]
}

// New returns a router serving the given domains.
func New(log *slog.Logger, domains []string, h *hooks.Hooks, reg *iq.Registry, acc Accounts, m Metrics) *Router {
	d := map[string]bool{}
	for _, x := range domains {
		d[x] = true
	}
	return &Router{log: log, hooks: h, iq: reg, accounts: acc, metrics: m, domains: d, users: map[jid.JID]map[string]Session{}}
}

// IsLocal reports whether domain is served here.
func (r *Router) IsLocal(domain string) bool { return r.domains[domain] }

// Domains lists the served domains, sorted.
func (r *Router) Domains() []string {
	out := make([]string, 0, len(r.domains))
	for d := range r.domains {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Bind adds s to the table. A session already bound to the same full JID
// is removed and told it was replaced (RFC 6120 §7.7.2.2: the new session
// wins).
func (r *Router) Bind(s Session) {
	j := s.JID()
	r.mu.Lock()
	res := r.users[j.Bare()]
	if res == nil {
		res = map[string]Session{}
		r.users[j.Bare()] = res
	}
	old := res[j.Resource()]
	res[j.Resource()] = s
	r.mu.Unlock()
	if old != nil && old != s {
		old.Replaced()
	}
}

// Unbind removes s if it is still the session of its JID, and reports
// whether it was.
func (r *Router) Unbind(s Session) bool {
	j := s.JID()
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.users[j.Bare()]
	if res == nil || res[j.Resource()] != s {
		return false
	}
	delete(res, j.Resource())
	if len(res) == 0 {
		delete(r.users, j.Bare())
	}
	return true
}

// Sessions returns the sessions of a bare JID.
func (r *Router) Sessions(bare jid.JID) []Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	res := r.users[bare.Bare()]
	out := make([]Session, 0, len(res))
	for _, s := range res {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID().Resource() < out[j].JID().Resource() })
	return out
}

// Session returns the session of a full JID, or nil.
func (r *Router) Session(full jid.JID) Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.users[full.Bare()][full.Resource()]
}

// AllSessions returns every bound session.
func (r *Router) AllSessions() []Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Session
	for _, res := range r.users {
		for _, s := range res {
			out = append(out, s)
		}
	}
	return out
}

// SessionCount returns the number of bound sessions.
func (r *Router) SessionCount() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := 0
	for _, res := range r.users {
		n += len(res)
	}
	return n
}

// RouteFromUser routes el as a local user's client sends it: for a
// message, the UserSentMessage hooks run first (mod_inbox's outgoing
// path), then Route. The c2s session and the admin API's sendMessage /
// sendStanza both come through here, so a message sent on a user's behalf
// has the same effects as one the user's client sent. from is the sender
// (full JID for a session, bare for the API); el is not modified.
func (r *Router) RouteFromUser(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	if el.Local == "message" {
		ev := &hooks.StanzaEvent{From: from, To: to, Stanza: el}
		r.hooks.UserSentMessage.Run(ctx, ev)
		r.route(ctx, from, to, el, ev.ArchiveID)
		return
	}
	r.Route(ctx, from, to, el)
}

// Route delivers el from from to to. el's from and to attributes must
// already carry those addresses; el is not modified (copies are made
// where an address changes).
func (r *Router) Route(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	r.route(ctx, from, to, el, "")
}

// route is Route; archiveID is the sender's archive id of a message a
// local user sent (hooks.StanzaEvent.ArchiveID), for the LocalMessage
// event.
func (r *Router) route(ctx context.Context, from, to jid.JID, el *xmlstream.Element, archiveID string) {
	if r.metrics != nil {
		r.metrics.Routed(el.Local)
	}
	if svc := r.service(to.Domain()); svc != nil {
		svc(ctx, from, to, el)
		return
	}
	if !r.domains[to.Domain()] {
		// No server-to-server yet: every remote domain is unreachable.
		r.bounce(ctx, el, stanza.Error{Condition: stanza.RemoteServerNotFound})
		return
	}
	if el.Local == "message" && to.Local() != "" {
		// Handlers may replace the stanza (the recipient's archive adds
		// its stanza-id); what they leave is what is delivered or stored.
		ev := &hooks.StanzaEvent{From: from, To: to, Stanza: el, ArchiveID: archiveID}
		r.hooks.LocalMessage.Run(ctx, ev)
		if ev.Stanza != nil {
			el = ev.Stanza
		}
	}
	switch {
	case to.Local() == "":
		r.routeToDomain(ctx, from, to, el)
	case to.IsBare():
		r.routeToBare(ctx, from, to, el)
	default:
		r.routeToFull(ctx, from, to, el)
	}
}

// bounce sends an error reply for el back to its sender, unless el is
// itself an error or a result, or a presence (never answer an error with an
// error).
func (r *Router) bounce(ctx context.Context, el *xmlstream.Element, e stanza.Error) {
	typ := el.Attr("type")
	if typ == "error" || typ == "result" {
		return
	}
	if el.Local == "presence" {
		return
	}
	if r.metrics != nil {
		r.metrics.StanzaError(string(e.Condition))
	}
	reply := stanza.ErrorReply(el, e)
	to, err := jid.Parse(reply.Attr("to"))
	if err != nil {
		return
	}
	from, _ := jid.Parse(reply.Attr("from"))
	if !r.domains[to.Domain()] && r.service(to.Domain()) == nil {
		return
	}
	r.Route(ctx, from, to, reply)
}

// Bounce answers el with the stanza error e.
func (r *Router) Bounce(ctx context.Context, el *xmlstream.Element, e stanza.Error) {
	r.bounce(ctx, el, e)
}

func (r *Router) routeToDomain(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	switch el.Local {
	case "iq":
		r.dispatchIQ(ctx, iq.Local, from, to, el)
	case "message":
		// Messages to the server itself have no handler.
		r.bounce(ctx, el, stanza.Error{Condition: stanza.ServiceUnavailable})
	}
	// Presence to the server: nothing to do.
}

func (r *Router) dispatchIQ(ctx context.Context, comp iq.Component, from, to jid.JID, el *xmlstream.Element) {
	typ := el.Attr("type")
	if typ != "get" && typ != "set" {
		return // results and errors to the server or a bare JID are dropped (§1.2)
	}
	payload := stanza.Payload(el)
	if payload == nil {
		r.bounce(ctx, el, stanza.Error{Condition: stanza.BadRequest})
		return
	}
	req := iq.Request{From: from, To: to, IQ: el, Payload: payload}
	reply := func(res *xmlstream.Element) {
		// Replies go from the address as requested back to the requester.
		res.SetAttr("from", to.String())
		res.SetAttr("to", from.String())
		r.Route(ctx, to, from, res)
	}
	if !r.iq.Dispatch(ctx, comp, req, reply) {
		r.bounce(ctx, el, stanza.Error{Condition: stanza.ServiceUnavailable,
			Text: "Unknown xmlns=" + payload.Space + " for host=" + to.Domain()})
	}
}

func (r *Router) userExists(ctx context.Context, u jid.JID) bool {
	if r.accounts == nil {
		return true
	}
	ok, err := r.accounts.UserExists(ctx, u.Domain(), u.Local())
	if err != nil {
		r.log.Warn("account lookup failed", "user", u.String(), "err", err)
		return true // deliver/store rather than lose on a transient error
	}
	return ok
}

// routeToBare follows RFC 6121 §8.5.2.
func (r *Router) routeToBare(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	switch el.Local {
	case "iq":
		r.dispatchIQ(ctx, iq.SessionManager, from, to, el)
	case "message":
		r.deliverMessage(ctx, from, to, el)
	case "presence":
		r.deliverPresence(ctx, from, to, el)
	}
}

func (r *Router) routeToFull(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	s := r.Session(to)
	typ := el.Attr("type")
	switch el.Local {
	case "iq":
		if s == nil {
			if typ == "get" || typ == "set" {
				r.bounce(ctx, el, stanza.Error{Condition: stanza.ServiceUnavailable, Text: "Route offline"})
			}
			return
		}
		if typ == "get" || typ == "set" {
			ev := &hooks.StanzaEvent{From: from, To: to, Stanza: el}
			if r.hooks.SessionIQ.Run(ctx, ev); ev.Handled {
				return
			}
		}
		r.send(ctx, s, el)
	case "message":
		if s != nil {
			el = r.beforeDelivery(ctx, from, to, el, []Session{s})
			r.send(ctx, s, el)
			return
		}
		// §8.5.3.2.1: normal, chat and headline fall back to the bare JID;
		// groupchat gets an error and errors are dropped.
		switch typ {
		case "", "normal", "chat", "headline":
			r.deliverMessage(ctx, from, to.Bare(), el)
		case "groupchat":
			r.bounce(ctx, el, stanza.Error{Condition: stanza.ServiceUnavailable})
		}
	case "presence":
		switch typ {
		case "subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe":
			// §8.5.3.1 / §3: subscription stanzas are handled as if sent to
			// the bare JID.
			r.deliverPresence(ctx, from, to.Bare(), el)
		default:
			if s != nil {
				r.send(ctx, s, el)
			}
		}
	}
}

// send queues el on s; when the client's queue is full the sender gets
// resource-constraint (messages and IQs), so nothing is dropped silently.
func (r *Router) send(ctx context.Context, s Session, el *xmlstream.Element) bool {
	if s.Send(el) {
		return true
	}
	r.bounce(ctx, el, stanza.Error{Condition: stanza.ResourceConstraint, Text: "Recipient's queue is full"})
	return false
}

func (r *Router) deliverMessage(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	typ := el.Attr("type")
	if typ == "error" || typ == "groupchat" {
		// §8.5.2.1.1: groupchat to a bare JID gets an error; errors are
		// dropped when nobody is there.
		if typ == "groupchat" {
			r.bounce(ctx, el, stanza.Error{Condition: stanza.ServiceUnavailable})
			return
		}
	}
	targets := r.messageTargets(to, typ)
	if len(targets) > 0 {
		el = r.beforeDelivery(ctx, from, to, el, targets)
		for _, s := range targets {
			r.send(ctx, s, el)
		}
		return
	}
	if typ == "error" {
		return
	}
	if !r.userExists(ctx, to) {
		r.bounce(ctx, el, stanza.Error{Condition: stanza.ServiceUnavailable})
		return
	}
	if typ == "headline" {
		return // §8.5.2.2.1: headlines are not stored
	}
	el = r.beforeDelivery(ctx, from, to, el, nil)
	ev := &hooks.StanzaEvent{From: from, To: to, Stanza: el}
	r.hooks.OfflineMessage.Run(ctx, ev)
	if !ev.Handled {
		r.bounce(ctx, el, stanza.Error{Condition: stanza.ServiceUnavailable})
	}
}

// beforeDelivery runs the DeliverMessage chain for a message going to
// targets (none: offline storage) and returns the stanza to deliver.
func (r *Router) beforeDelivery(ctx context.Context, from, to jid.JID, el *xmlstream.Element, targets []Session) *xmlstream.Element {
	if r.hooks.DeliverMessage.Len() == 0 {
		return el
	}
	ev := &hooks.MessageDelivery{From: from, To: to, Stanza: el, Recipients: make([]jid.JID, len(targets))}
	for i, s := range targets {
		ev.Recipients[i] = s.JID()
	}
	r.hooks.DeliverMessage.Run(ctx, ev)
	if ev.Stanza == nil {
		return el
	}
	return ev.Stanza
}

// messageTargets picks the sessions for a message to a bare JID: the
// available resources with non-negative priority; for chat and normal
// messages only those sharing the highest priority (§8.5.2.1.1).
func (r *Router) messageTargets(to jid.JID, typ string) []Session {
	var out []Session
	best := -1
	for _, s := range r.Sessions(to) {
		avail, prio := s.Presence()
		if !avail || prio < 0 {
			continue
		}
		if typ == "headline" || typ == "error" {
			out = append(out, s)
			continue
		}
		switch {
		case prio > best:
			best = prio
			out = append(out[:0], s)
		case prio == best:
			out = append(out, s)
		}
	}
	return out
}

func (r *Router) deliverPresence(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	typ := el.Attr("type")
	switch typ {
	case "subscribe", "subscribed", "unsubscribe", "unsubscribed":
		ev := &hooks.StanzaEvent{From: from, To: to, Stanza: el}
		r.hooks.InboundSubscription.Run(ctx, ev)
		if !ev.Deliver {
			return
		}
		for _, s := range r.Sessions(to) {
			if avail, _ := s.Presence(); avail {
				s.Send(el)
			}
		}
	case "probe":
		ev := &hooks.StanzaEvent{From: from, To: to, Stanza: el}
		r.hooks.PresenceProbe.Run(ctx, ev)
	case "error":
		for _, s := range r.Sessions(to) {
			s.Send(el)
		}
	default:
		// Available/unavailable presence from a contact to a bare JID goes
		// to every available resource (§8.5.2.1.3).
		for _, s := range r.Sessions(to) {
			if avail, _ := s.Presence(); avail {
				s.Send(el)
			}
		}
	}
}
