// Package ping answers XMPP pings (XEP-0199) sent to the server or to a
// user's bare JID, the feature behind [modules.mod_ping].
package ping

import (
	"context"

	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// NS is the ping namespace.
const NS = "urn:xmpp:ping"

// Register installs the ping handlers.
func Register(reg *iq.Registry, p iq.Policy) error {
	h := func(_ context.Context, req iq.Request) *xmlstream.Element {
		if req.IQ.Attr("type") != "get" || req.Payload.Local != "ping" {
			return stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.BadRequest})
		}
		return stanza.IQResult(req.IQ)
	}
	if err := reg.Register(iq.Local, NS, h, p); err != nil {
		return err
	}
	return reg.Register(iq.SessionManager, NS, h, p)
}
