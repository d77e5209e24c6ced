// Package muclight is MUC Light (urn:xmpp:muclight:0), the lightweight
// group chat behind [modules.mod_muc_light] (spec/muclight.md): rooms with
// a persistent list of owners and members, versioned configuration and
// affiliations, and messages fanned out to every member's bare JID.
//
// The XMPP side (xmpp.go) and the plain Go service API (service.go) share
// one implementation of every operation, so an operation made through the
// API sends exactly the notifications of its XMPP equivalent.
package muclight

import (
	"cmp"
	"strconv"
	"sync"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
)

// Namespaces of MUC Light (spec/muclight.md §2).
const (
	NS              = "urn:xmpp:muclight:0"
	NSConfiguration = NS + "#configuration"
	NSAffiliations  = NS + "#affiliations"
	NSInfo          = NS + "#info"
	NSBlocking      = NS + "#blocking"
	NSCreate        = NS + "#create"
	NSDestroy       = NS + "#destroy"
	NSRSM           = "http://jabber.org/protocol/rsm"
	NSStanzaID      = "urn:xmpp:sid:0"
)

// Aff is an affiliation. AffNone only appears in requests and
// notifications; it is never stored.
type Aff int8

// The affiliations, with the reference's storage codes.
const (
	AffNone   Aff = 0
	AffOwner  Aff = 1
	AffMember Aff = 2
)

// String returns "owner", "member" or "none".
func (a Aff) String() string {
	switch a {
	case AffOwner:
		return "owner"
	case AffMember:
		return "member"
	}
	return "none"
}

// ParseAff parses "owner", "member" or "none".
func ParseAff(s string) (Aff, bool) {
	switch s {
	case "owner":
		return AffOwner, true
	case "member":
		return AffMember, true
	case "none":
		return AffNone, true
	}
	return AffNone, false
}

// Occupant is a user (bare JID) with an affiliation.
type Occupant struct {
	User jid.JID
	Aff  Aff
}

// compareUsers orders users by (localpart, domain), the occupant order.
func compareUsers(a, b jid.JID) int {
	if c := cmp.Compare(a.Local(), b.Local()); c != 0 {
		return c
	}
	return cmp.Compare(a.Domain(), b.Domain())
}

// KV is one configuration field as given in a request: the schema field
// name and its textual value.
type KV struct {
	Key, Value string
}

// Room is a room's state: version, configuration (schema field name to
// rendered value, every schema field present) and occupants sorted by user.
type Room struct {
	JID       jid.JID
	Version   string
	Config    map[string]string
	Occupants []Occupant
	// members, set on a Room read from the occupant cache, is the cached
	// entry's occupantJIDs, shared and read-only.
	members []jid.JID
}

// memberJIDs returns the occupants' JIDs: the cached, shared list when r
// came from the occupant cache, a new one otherwise.
func (r *Room) memberJIDs() []jid.JID {
	if r.members != nil {
		return r.members
	}
	return occupantJIDs(r.Occupants)
}

// occupantJIDs returns the JIDs of occ, in order.
func occupantJIDs(occ []Occupant) []jid.JID {
	out := make([]jid.JID, len(occ))
	for i, o := range occ {
		out[i] = o.User
	}
	return out
}

// Aff returns the affiliation of user in the room.
func (r *Room) Aff(user jid.JID) Aff {
	for _, o := range r.Occupants {
		if o.User == user {
			return o.Aff
		}
	}
	return AffNone
}

// BlockKind says what a block item targets.
type BlockKind int8

// Block item kinds, with the reference's storage codes.
const (
	BlockRoom BlockKind = 1
	BlockUser BlockKind = 2
)

// BlockItem is one blocklist entry; Deny false (allow) is used in changes
// only, to delete an entry.
type BlockItem struct {
	Kind   BlockKind
	Target jid.JID
	Deny   bool
}

// idGen produces versions, message ids and room names as
// <megaseconds>-<seconds>-<microseconds> (spec/muclight.md §5.4), strictly
// increasing so that two values never collide on this node (D13).
type idGen struct {
	mu   sync.Mutex
	last int64
	now  func() time.Time
}

func (g *idGen) next() string {
	g.mu.Lock()
	us := g.now().UnixMicro()
	if us <= g.last {
		us = g.last + 1
	}
	g.last = us
	g.mu.Unlock()
	secs := us / 1e6
	return strconv.FormatInt(secs/1e6, 10) + "-" + strconv.FormatInt(secs%1e6, 10) + "-" + strconv.FormatInt(us%1e6, 10)
}
