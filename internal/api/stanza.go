package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const nsClient = "jabber:client"

// send routes el from a local user, as if that user's client had sent it.
// The sender must be an existing account of a local domain.
func (r *Resolver) send(ctx context.Context, from, to jid.JID, el *xmlstream.Element) (*SendStanzaPayload, error) {
	id, err := SendStanza(ctx, r.deps, from, to, el)
	if err != nil {
		return nil, err
	}
	return &SendStanzaPayload{ID: id}, nil
}

// SendStanza routes el from a local user as if that user's client had
// sent it, giving it an id when it has none; the sender must be an
// existing account of a local domain (unknown_user otherwise).
func SendStanza(ctx context.Context, deps Deps, from, to jid.JID, el *xmlstream.Element) (string, error) {
	ok := deps.Router.IsLocal(from.Domain())
	if ok {
		var err error
		if ok, err = deps.Accounts.UserExists(ctx, from.Domain(), from.Local()); err != nil {
			return "", err
		}
	}
	if !ok {
		return "", apiErr("unknown_user", "Given user does not exist", "jid", from.String())
	}
	id := el.Attr("id")
	if id == "" {
		b := make([]byte, 8)
		rand.Read(b)
		id = hex.EncodeToString(b)
		el.SetAttr("id", id)
	}
	el.SetAttr("from", from.String())
	el.SetAttr("to", to.String())
	deps.Router.RouteFromUser(ctx, from, to, el)
	return id, nil
}
