package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const nsClient = "jabber:client"

// Stanzas is the stanza category, one implementation for the admin and the
// user schema (docs/api.md). The schemas differ only in who may send,
// which a senderRule decides.
type Stanzas struct {
	deps Deps
	rule senderRule
}

// senderRule is a schema's rule for the sender of a stanza.
type senderRule interface {
	// fromAttr reads the from attribute of sendStanza's stanza: the sender
	// it names, nil for none.
	fromAttr(attr string) (*jid.JID, error)
	// sender returns the JID to send from given the requested sender
	// (nil: none); inStanza says it came from the stanza's attribute.
	sender(ctx context.Context, from *jid.JID, inStanza bool) (jid.JID, error)
}

// adminSender is the admin schema's rule: the sender is always given, and
// a domain admin's stanza must come from its domain.
type adminSender struct{}

func (adminSender) fromAttr(attr string) (*jid.JID, error) {
	from, err := jid.Parse(attr)
	if err != nil || from.Local() == "" {
		return nil, apiErr("no_sender", "Missing or invalid sender JID")
	}
	return &from, nil
}

func (adminSender) sender(ctx context.Context, from *jid.JID, inStanza bool) (jid.JID, error) {
	// The from argument of the message mutations is checked by @protected.
	if d := domainAdminOf(ctx); inStanza && d != "" && from.Domain() != d {
		return jid.JID{}, apiErr("no_permissions", "Cannot send a stanza from another domain", "jid", from.String())
	}
	return *from, nil
}

// userSender is the user schema's rule: the sender is the caller's bare
// JID or one of its full JIDs, the bare JID when none is given.
type userSender struct{}

func (userSender) fromAttr(attr string) (*jid.JID, error) {
	if attr == "" {
		return nil, nil
	}
	from, err := jid.Parse(attr)
	if err != nil {
		return nil, apiErr("invalid_sender", "Sender's JID is different from the user's JID")
	}
	return &from, nil
}

func (userSender) sender(ctx context.Context, from *jid.JID, _ bool) (jid.JID, error) {
	me, _ := UserFrom(ctx)
	if from == nil {
		return me, nil
	}
	if from.Bare() != me {
		return jid.JID{}, apiErr("invalid_sender", "Sender's JID is different from the user's JID", "jid", from.String())
	}
	return *from, nil
}

func (r *Resolver) stanzas() Stanzas { return Stanzas{deps: r.deps, rule: adminSender{}} }

// UserStanzas returns the stanza category of the user schema.
func UserStanzas(d Deps) Stanzas { return Stanzas{deps: d, rule: userSender{}} }

// SendMessage sends a chat message with body (sendMessage).
func (s Stanzas) SendMessage(ctx context.Context, from *jid.JID, to jid.JID, body string) (*SendStanzaPayload, error) {
	m := xmlstream.New(nsClient, "message", "type", "chat")
	m.Append(xmlstream.New(nsClient, "body").AppendText(body))
	return s.send(ctx, from, false, to, m)
}

// SendMessageHeadLine sends a headline message (sendMessageHeadLine).
func (s Stanzas) SendMessageHeadLine(ctx context.Context, from *jid.JID, to jid.JID, subject, body *string) (*SendStanzaPayload, error) {
	m := xmlstream.New(nsClient, "message", "type", "headline")
	if subject != nil {
		m.Append(xmlstream.New(nsClient, "subject").AppendText(*subject))
	}
	if body != nil {
		m.Append(xmlstream.New(nsClient, "body").AppendText(*body))
	}
	return s.send(ctx, from, false, to, m)
}

// SendStanza sends a message, presence or iq given whole (sendStanza).
func (s Stanzas) SendStanza(ctx context.Context, el *xmlstream.Element) (*SendStanzaPayload, error) {
	if el.Space != nsClient || (el.Local != "message" && el.Local != "presence" && el.Local != "iq") {
		return nil, apiErr("invalid_stanza", "The stanza must be a message, presence or iq in the jabber:client namespace")
	}
	from, err := s.rule.fromAttr(el.Attr("from"))
	if err != nil {
		return nil, err
	}
	to, err := jid.Parse(el.Attr("to"))
	if err != nil {
		return nil, apiErr("no_recipient", "Missing or invalid recipient JID")
	}
	return s.send(ctx, from, true, to, el)
}

// send routes el from a local user, as if that user's client had sent it,
// giving it an id when it has none. The sender must be an existing account
// of a local domain (unknown_user otherwise).
func (s Stanzas) send(ctx context.Context, requested *jid.JID, inStanza bool, to jid.JID, el *xmlstream.Element) (*SendStanzaPayload, error) {
	from, err := s.rule.sender(ctx, requested, inStanza)
	if err != nil {
		return nil, err
	}
	ok := s.deps.Router.IsLocal(from.Domain())
	if ok {
		if ok, err = s.deps.Accounts.UserExists(ctx, from.Domain(), from.Local()); err != nil {
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
	s.deps.Router.RouteFromUser(ctx, from, to, el)
	return &SendStanzaPayload{ID: id}, nil
}
