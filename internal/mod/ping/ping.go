// Package ping answers XMPP pings (XEP-0199) sent to the server or to a
// user's bare JID, the feature behind [modules.mod_ping].
package ping

import (
	"context"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// NS is the ping namespace.
const NS = "urn:xmpp:ping"

// Deps are the module's collaborators.
type Deps struct {
	IQ *iq.Registry
}

// Module is mod_ping.
type Module struct {
	reg    *iq.Registry
	policy iq.Policy
}

// New returns the module; Start registers it.
func New(d Deps, cfg config.ModPing) (*Module, error) {
	return &Module{reg: d.IQ, policy: iq.Policy(cfg.IQDisc).Or("no_queue")}, nil
}

func (m *Module) bindings() []iq.Binding {
	return []iq.Binding{
		{Comp: iq.Local, NS: NS, Handler: handle},
		{Comp: iq.SessionManager, NS: NS, Handler: handle},
	}
}

// Start installs the ping handlers on the domain and on users.
func (m *Module) Start(context.Context) error { return m.reg.RegisterAll(m.policy, m.bindings()...) }

// Stop removes them.
func (m *Module) Stop(context.Context) error {
	m.reg.UnregisterAll(m.bindings()...)
	return nil
}

func handle(_ context.Context, req iq.Request) *xmlstream.Element {
	if req.IQ.Attr("type") != "get" || req.Payload.Local != "ping" {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.BadRequest})
	}
	return stanza.IQResult(req.IQ)
}
