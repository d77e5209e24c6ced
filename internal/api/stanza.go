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
	ok := r.deps.Router.IsLocal(from.Domain())
	if ok {
		var err error
		if ok, err = r.deps.Accounts.UserExists(ctx, from.Domain(), from.Local()); err != nil {
			return nil, err
		}
	}
	if !ok {
		return nil, apiErr("unknown_user", "Given user does not exist", "jid", from.String())
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
	r.deps.Router.Route(ctx, from, to, el)
	return &SendStanzaPayload{ID: id}, nil
}
