// Package version answers software version queries (XEP-0092) to the
// server, the feature behind [modules.mod_version].
package version

import (
	"context"
	"runtime"

	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// NS is the software version namespace.
const NS = "jabber:iq:version"

// Register installs the handler; osInfo adds the operating system.
func Register(reg *iq.Registry, p iq.Policy, name, version string, osInfo bool) error {
	return reg.Register(iq.Local, NS, func(_ context.Context, req iq.Request) *xmlstream.Element {
		if req.IQ.Attr("type") != "get" {
			return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.NotAllowed})
		}
		q := xmlstream.New(NS, "query")
		q.Append(xmlstream.New(NS, "name").AppendText(name))
		q.Append(xmlstream.New(NS, "version").AppendText(version))
		if osInfo {
			q.Append(xmlstream.New(NS, "os").AppendText(runtime.GOOS + "/" + runtime.GOARCH))
		}
		return stanza.IQResult(req.IQ).Append(q)
	}, p)
}
