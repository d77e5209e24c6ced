// Package disco answers service discovery (XEP-0030) for the server's
// domains and its users, the feature behind [modules.mod_disco].
package disco

import (
	"context"
	"sort"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Deps are the module's collaborators.
type Deps struct {
	IQ    *iq.Registry
	Hooks *hooks.Hooks
}

// Module is the disco feature.
type Module struct {
	reg    *iq.Registry
	hooks  *hooks.Hooks
	policy iq.Policy
}

// New returns the module; Start registers it.
func New(d Deps, cfg config.ModDisco) (*Module, error) {
	return &Module{reg: d.IQ, hooks: d.Hooks, policy: iq.Policy(cfg.IQDisc).Or("one_queue")}, nil
}

func (m *Module) bindings() []iq.Binding {
	return []iq.Binding{
		{Comp: iq.Local, NS: stanza.NSDiscoInfo, Handler: m.domainInfo},
		{Comp: iq.Local, NS: stanza.NSDiscoItems, Handler: m.domainItems},
		{Comp: iq.SessionManager, NS: stanza.NSDiscoInfo, Handler: m.userInfo},
		{Comp: iq.SessionManager, NS: stanza.NSDiscoItems, Handler: m.items},
	}
}

// Start registers disco#info and disco#items on the domain and on users.
func (m *Module) Start(context.Context) error { return m.reg.RegisterAll(m.policy, m.bindings()...) }

// Stop unregisters them.
func (m *Module) Stop(context.Context) error {
	m.reg.UnregisterAll(m.bindings()...)
	return nil
}

func query(ns string, req iq.Request) *xmlstream.Element {
	q := xmlstream.New(ns, "query")
	if n := req.Payload.Attr("node"); n != "" {
		q.SetAttr("node", n)
	}
	return q
}

// domainInfo lists the server identity and every feature registered on
// the domain (spec/server.md §1.1) plus those features announce by hook.
func (m *Module) domainInfo(ctx context.Context, req iq.Request) *xmlstream.Element {
	if req.IQ.Attr("type") != "get" {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.NotAllowed})
	}
	if req.Payload.Attr("node") != "" {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.ItemNotFound})
	}
	q := query(stanza.NSDiscoInfo, req)
	q.Append(xmlstream.New(stanza.NSDiscoInfo, "identity", "category", "server", "type", "im", "name", "Gander"))
	ev := &hooks.DiscoFeatures{Domain: req.To.Domain(), Features: m.reg.Namespaces(iq.Local)}
	m.hooks.DiscoFeatures.Run(ctx, ev)
	appendFeatures(q, ev.Features)
	return stanza.IQResult(req.IQ).Append(q)
}

// userInfo describes an account (XEP-0030 §3.1: account/registered).
// Features announce themselves on UserDiscoFeatures (the archive,
// XEP-0313 §7).
func (m *Module) userInfo(ctx context.Context, req iq.Request) *xmlstream.Element {
	if req.IQ.Attr("type") != "get" {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.NotAllowed})
	}
	q := query(stanza.NSDiscoInfo, req)
	q.Append(xmlstream.New(stanza.NSDiscoInfo, "identity", "category", "account", "type", "registered"))
	ev := &hooks.DiscoFeatures{Domain: req.To.Domain(), Features: []string{stanza.NSDiscoInfo}}
	m.hooks.UserDiscoFeatures.Run(ctx, ev)
	appendFeatures(q, ev.Features)
	return stanza.IQResult(req.IQ).Append(q)
}

// appendFeatures appends one <feature/> per distinct feature, sorted.
func appendFeatures(q *xmlstream.Element, features []string) {
	seen := map[string]bool{}
	sort.Strings(features)
	for _, f := range features {
		if !seen[f] {
			seen[f] = true
			q.Append(xmlstream.New(stanza.NSDiscoInfo, "feature", "var", f))
		}
	}
}

// domainItems lists the services features announce by hook (MUC Light).
func (m *Module) domainItems(ctx context.Context, req iq.Request) *xmlstream.Element {
	if req.IQ.Attr("type") != "get" {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.NotAllowed})
	}
	q := query(stanza.NSDiscoItems, req)
	if req.Payload.Attr("node") == "" {
		ev := &hooks.DiscoItems{Domain: req.To.Domain(), From: req.From}
		m.hooks.DiscoItems.Run(ctx, ev)
		for _, it := range ev.Items {
			q.Append(it)
		}
	}
	return stanza.IQResult(req.IQ).Append(q)
}

// items lists no items yet: services such as MUC Light add theirs later.
func (m *Module) items(_ context.Context, req iq.Request) *xmlstream.Element {
	if req.IQ.Attr("type") != "get" {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.NotAllowed})
	}
	return stanza.IQResult(req.IQ).Append(query(stanza.NSDiscoItems, req))
}
