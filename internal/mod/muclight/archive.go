package muclight

import (
	"context"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// The archive filter (§12, docs/modules/mod_muc_light.md "Archive"): every
// archive candidate is offered to the room's archive (the RoomMessage
// hook) before the copies leave; when the archive keeps it, its archive id
// is the stanza-id of every copy.

// nsMucUser is the XEP-0045 user namespace of the sender information the
// archived copy of a user message carries.
const nsMucUser = "http://jabber.org/protocol/muc#user"

// archive offers the archive copy el (no to, no stanza-id) of a message
// or event of room to the archive and returns the stanza-id to stamp on
// the copies: the archive's id, or "" when nothing archived it.
func (m *Module) archive(ctx context.Context, room, sender jid.JID, el *xmlstream.Element) string {
	if m.hooks.RoomMessage.Len() == 0 {
		return ""
	}
	ev := &hooks.RoomMessage{Room: room, Stanza: el, Sender: sender}
	if !sender.IsZero() {
		ev.Nick = sender.String()
	}
	m.hooks.RoomMessage.Run(ctx, ev)
	return ev.ID
}

// withSenderInfo returns a copy of a user message with the muc#user <x/>
// naming the sender, its affiliation and pseudo-role (owner: moderator,
// member: participant), which the archived copy carries (§12).
func withSenderInfo(el *xmlstream.Element, sender jid.JID, aff Aff) *xmlstream.Element {
	affName, role := "member", "participant"
	if aff == AffOwner {
		affName, role = "owner", "moderator"
	}
	x := xmlstream.New(nsMucUser, "x").Append(xmlstream.New(nsMucUser, "item", "jid", sender.String(),
		"affiliation", affName, "role", role))
	// WithAttr copies the attributes and caps the shared children, so the
	// append does not touch el.
	return el.WithAttr("type", "groupchat").Append(x)
}

// stanzaID is the room's <stanza-id/> with id (XEP-0359).
func stanzaID(room jid.JID, id string) *xmlstream.Element {
	return xmlstream.New(NSStanzaID, "stanza-id", "by", room.String(), "id", id)
}

// roomIQ hands an IQ in a namespace the room does not handle to the
// RoomIQ hook (the room's archive) and reports whether a handler took it.
// The room must exist (item-not-found otherwise, like the room's other
// requests).
func (m *Module) roomIQ(ctx context.Context, from, to jid.JID, iq, p *xmlstream.Element) bool {
	if m.hooks.RoomIQ.Len() == 0 || to.Local() == "" {
		return false
	}
	r, err := m.cachedOccupants(ctx, to.Bare())
	if err != nil {
		m.replyError(ctx, from, to, iq, toStanzaError(err, false))
		return true
	}
	aff := r.Aff(from.Bare())
	ev := &hooks.RoomIQ{Room: r.JID, From: from, IQ: iq, Payload: p, CanRead: aff != AffNone, Owner: aff == AffOwner}
	m.hooks.RoomIQ.Run(ctx, ev)
	return ev.Handled
}

// roomFeatures adds the features other modules announce for rooms (the
// archive) to a room's disco#info.
func (m *Module) roomFeatures(ctx context.Context, room jid.JID, q *xmlstream.Element) {
	if m.hooks.RoomDiscoFeatures.Len() == 0 {
		return
	}
	ev := &hooks.DiscoFeatures{Domain: room.Domain()}
	m.hooks.RoomDiscoFeatures.Run(ctx, ev)
	for _, f := range ev.Features {
		q.Append(xmlstream.New(stanza.NSDiscoInfo, "feature", "var", f))
	}
}
