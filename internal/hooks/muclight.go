package hooks

import (
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// GroupchatDelivery is one of the room's own notifications (affiliation,
// configuration, destruction) on its way to one member; user messages are
// reported once per message as a LightMessage. Stanza is the copy as the
// member receives it (from, to and id set); handlers must not modify it.
type GroupchatDelivery struct {
	Room   jid.JID
	To     jid.JID
	Stanza *xmlstream.Element
}

// LightMessage is one user message a MUC Light room fans out, reported
// once before the copies go to the members (spec/inbox.md §8.4). Stanza is
// the copy every member receives except for its to attribute, which is
// absent (each member's copy has to set to the member's bare JID);
// handlers must not modify it. Members are the occupants it goes to, the
// sender included; the slice may be shared by every message of the room
// with the same Version, and handlers must not modify it either.
type LightMessage struct {
	Room    jid.JID
	Sender  jid.JID
	Stanza  *xmlstream.Element
	Members []jid.JID
	// Version is the room's version: the same version means the same
	// member list.
	Version string
}

// AffiliationChange is one user's new affiliation in a room: "owner",
// "member" or "none" (removed).
type AffiliationChange struct {
	User        jid.JID
	Affiliation string
}

// RoomAffiliations describes one effective change of a room's occupant
// list: Changes is the change list as notified (automatic promotions and
// demotions included). PrevVersion is empty at creation; Version is empty
// when the change emptied (and so destroyed) the room.
type RoomAffiliations struct {
	Room        jid.JID
	Actor       jid.JID
	PrevVersion string
	Version     string
	Changes     []AffiliationChange
	// Occupants is the list after the change.
	Occupants []AffiliationChange
}

// RoomDestroyed names a deleted room and its occupants at deletion.
type RoomDestroyed struct {
	Room      jid.JID
	Occupants []jid.JID
}

// DiscoItems collects disco#items of a domain, as <item/> elements in the
// disco#items namespace.
type DiscoItems struct {
	Domain string
	From   jid.JID
	Items  []*xmlstream.Element
}

// RosterItems collects synthesized roster items for User, as <item/>
// elements in the jabber:iq:roster namespace.
type RosterItems struct {
	User  jid.JID
	Items []*xmlstream.Element
}
