package muclight

import (
	"context"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Room messages: one stanza fanned out to every occupant, with one
// stanza-id shared by every copy (XEP-0359).

// SendMessage sends a groupchat message with a body from sender to the
// room and returns its id.
func (m *Module) SendMessage(ctx context.Context, room, sender jid.JID, id, body string) (string, error) {
	id = m.id(id)
	return id, m.sendMessage(ctx, room, sender, id, []xmlstream.Node{xmlstream.New(stanza.NSClient, "body").AppendText(body)})
}

// sendMessage fans a message out to every occupant, sender included, with
// one stanza-id shared by every copy (§10.1): the room archive's id when
// the archive keeps the message (archive.go).
func (m *Module) sendMessage(ctx context.Context, room, sender jid.JID, id string, children []xmlstream.Node) error {
	sender = sender.Bare()
	r, err := m.occupants(ctx, room, sender)
	if err != nil {
		return err
	}
	m.m.messages.Inc()
	from, err := r.JID.WithResource(sender.String())
	if err != nil {
		return badRequest("Uncategorized bad request")
	}
	base := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "id", id, "from", from.String())
	for _, c := range children {
		// XEP-0359 §3: a stanza-id claiming to be the room's is the
		// client's forgery; drop it.
		if el, ok := c.(*xmlstream.Element); ok && el.Space == NSStanzaID && el.Local == "stanza-id" && el.Attr("by") == r.JID.String() {
			continue
		}
		base.Append(c)
	}
	sid := m.archive(ctx, r.JID, sender, withSenderInfo(base, sender, r.Aff(sender)))
	if sid == "" {
		sid = m.ids.next()
	}
	base.Append(stanzaID(r.JID, sid))
	if m.hooks.LightMessageSent.Len() > 0 {
		m.hooks.LightMessageSent.Run(ctx, &hooks.LightMessage{Room: r.JID, Sender: sender, Stanza: base, Members: r.memberJIDs(), Version: r.Version})
	}
	for _, o := range r.Occupants {
		m.deliver(ctx, r.JID, sender, o.User, copyTo(base, o.User))
	}
	return nil
}
