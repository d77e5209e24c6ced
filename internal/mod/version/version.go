// Package version answers software version queries (XEP-0092) to the
// server, the feature behind [modules.mod_version].
package version

import (
	"context"
	"runtime"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// NS is the software version namespace.
const NS = "jabber:iq:version"

// Deps are the module's collaborators.
type Deps struct {
	IQ *iq.Registry
	// Name and Version are the software reported.
	Name, Version string
}

// Module is mod_version.
type Module struct {
	reg           *iq.Registry
	policy        iq.Policy
	name, version string
	osInfo        bool
}

// New returns the module; Start registers it.
func New(d Deps, cfg config.ModVersion) (*Module, error) {
	return &Module{reg: d.IQ, policy: iq.Policy(cfg.IQDisc).Or("no_queue"), name: d.Name, version: d.Version, osInfo: cfg.OSInfo}, nil
}

// Start installs the handler on the domain.
func (m *Module) Start(context.Context) error {
	return m.reg.Register(iq.Local, NS, m.handle, m.policy)
}

// Stop removes it.
func (m *Module) Stop(context.Context) error {
	m.reg.Unregister(iq.Local, NS)
	return nil
}

func (m *Module) handle(_ context.Context, req iq.Request) *xmlstream.Element {
	if req.IQ.Attr("type") != "get" {
		return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.NotAllowed})
	}
	q := xmlstream.New(NS, "query")
	q.Append(xmlstream.New(NS, "name").AppendText(m.name))
	q.Append(xmlstream.New(NS, "version").AppendText(m.version))
	if m.osInfo {
		q.Append(xmlstream.New(NS, "os").AppendText(runtime.GOOS + "/" + runtime.GOARCH))
	}
	return stanza.IQResult(req.IQ).Append(q)
}
