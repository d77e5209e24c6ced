package hooks

import (
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// MucAffiliation is one entry of a classic MUC room's affiliation list:
// a bare JID and "owner", "admin", "member" or "outcast" (users without
// an affiliation are not listed).
type MucAffiliation struct {
	User        jid.JID
	Affiliation string
}

// MucGroupchatBroadcast is one groupchat message a classic MUC room
// broadcasts (spec/inbox.md §8.5), reported once, before the copies are
// sent to the occupants. Stanza is the broadcast copy with from set to
// room/nick and no to; handlers must not modify it. Affiliations is the
// room's affiliation list when the message was broadcast.
type MucGroupchatBroadcast struct {
	Room         jid.JID
	Sender       jid.JID // the author's real bare JID
	Nick         string
	Stanza       *xmlstream.Element
	Affiliations []MucAffiliation
}
