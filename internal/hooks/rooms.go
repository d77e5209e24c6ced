package hooks

import (
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// RoomMessage is one message or event of a group-chat room, classic MUC or
// MUC Light, offered to the room's archive before the room sends it (the
// archive filter of docs/modules/mod_mam.md): user messages, and for MUC
// Light the creation event and the configuration and affiliation changes.
// The room runs the chain once per message, whatever the number of
// occupants, and before any copy leaves.
//
// Stanza is the archive copy: from set (room/nick, or the room's bare JID
// for events), no to, and no <stanza-id/> of the room; handlers must not
// modify it. A handler that archives the message sets ID to its archive
// id; the room then stamps <stanza-id xmlns='urn:xmpp:sid:0' by='room'
// id='ID'/> on the copies it sends (XEP-0359) instead of an id of its own,
// so that every copy, the inbox and the archive agree.
type RoomMessage struct {
	Room   jid.JID
	Stanza *xmlstream.Element
	// Sender is the author's real bare JID; zero for room events.
	Sender jid.JID
	// Nick is the author's nick (classic MUC), or the sender's bare JID
	// (MUC Light, whose from resource it is); "" for room events.
	Nick string
	// ID is set by the archive that stored the message.
	ID string
}

// RoomIQ is an IQ (get or set) addressed to a room's bare JID in a
// namespace the room does not handle itself. The room has checked that the
// room exists and tells what From (the requester's full JID) may do;
// the handler that takes the IQ sends every reply itself (from the room's
// JID) and sets Handled. An IQ nobody handles gets the room's own
// feature-not-implemented error.
type RoomIQ struct {
	Room    jid.JID
	From    jid.JID
	IQ      *xmlstream.Element
	Payload *xmlstream.Element
	// CanRead is true when From may read the room's history: a MUC Light
	// occupant, or a user allowed to enter a classic MUC room.
	CanRead bool
	// Owner is true when From's bare JID owns the room.
	Owner bool
	// Handled is set by the handler that answered the IQ.
	Handled bool
}
