// Package hooks defines Gander's typed events. Features register handlers
// on the chains they care about at start; the core runs the chains. A
// feature never imports another feature: they meet here.
package hooks

import (
	"context"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Chain is an ordered list of handlers for events of type T. Handlers run
// in ascending priority order (ties in registration order) until one
// returns true (stop). It is safe for concurrent use; handlers must not
// block for long, as they run on the routing path.
//
// The list is copy-on-write: Add and Remove build a new slice under mu and
// publish it atomically, so Run takes no lock and a running Run keeps the
// list it started with, never one changed under it.
type Chain[T any] struct {
	mu       sync.Mutex                 // serialises Add and Remove
	handlers atomic.Pointer[[]entry[T]] // never changed in place
}

type entry[T any] struct {
	prio int
	name string
	fn   func(context.Context, *T) bool
}

func (c *Chain[T]) list() []entry[T] {
	if p := c.handlers.Load(); p != nil {
		return *p
	}
	return nil
}

// Add registers fn at priority prio under a name used in logs and
// Remove.
func (c *Chain[T]) Add(prio int, name string, fn func(ctx context.Context, ev *T) (stop bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.list()
	hs := make([]entry[T], 0, len(old)+1)
	hs = append(hs, old...)
	hs = append(hs, entry[T]{prio, name, fn})
	sort.SliceStable(hs, func(i, j int) bool { return hs[i].prio < hs[j].prio })
	c.handlers.Store(&hs)
}

// Remove unregisters the handlers registered under name.
func (c *Chain[T]) Remove(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.list()
	hs := make([]entry[T], 0, len(old))
	for _, h := range old {
		if h.name != name {
			hs = append(hs, h)
		}
	}
	c.handlers.Store(&hs)
}

// Run runs the chain on ev and reports whether a handler stopped it.
func (c *Chain[T]) Run(ctx context.Context, ev *T) bool {
	for _, h := range c.list() {
		if h.fn(ctx, ev) {
			return true
		}
	}
	return false
}

// Len returns the number of handlers.
func (c *Chain[T]) Len() int { return len(c.list()) }

// Hooks holds every chain. The zero value is ready to use.
type Hooks struct {
	// UserRegistered runs after an account is created.
	UserRegistered Chain[UserEvent]
	// UserRemoved runs after an account is removed; features purge the
	// user's data.
	UserRemoved Chain[UserEvent]
	// SessionOpened runs when a resource is bound.
	SessionOpened Chain[SessionEvent]
	// SessionClosed runs when a bound session ends, for whatever reason.
	SessionClosed Chain[SessionEvent]
	// PresenceUnavailable runs when an available resource becomes
	// unavailable (presence or disconnect).
	PresenceUnavailable Chain[SessionEvent]
	// InitialPresence runs after a session's first available presence was
	// broadcast (offline messages are delivered here).
	InitialPresence Chain[SessionEvent]
	// OfflineMessage runs when a message has no available resource to go
	// to; a handler that stores it sets Handled.
	OfflineMessage Chain[StanzaEvent]
	// OutboundSubscription runs for a subscription presence a user sends
	// (RFC 6121 §3); the roster sets Deliver when it must be routed.
	OutboundSubscription Chain[StanzaEvent]
	// InboundSubscription runs for a subscription presence addressed to a
	// local user; the roster sets Deliver when the user must see it.
	InboundSubscription Chain[StanzaEvent]
	// PresenceProbe runs for a probe addressed to a local user; the
	// presence feature answers it and sets Handled.
	PresenceProbe Chain[StanzaEvent]
	// RosterLists asks for a user's presence subscriptions.
	RosterLists Chain[RosterLists]
	// DiscoFeatures collects extra features for a domain's disco#info.
	DiscoFeatures Chain[DiscoFeatures]
	// UserDiscoFeatures collects extra features for the disco#info of a
	// user's bare JID (XEP-0030 to an account); Domain is the user's
	// domain. mod_mam announces its archive there (XEP-0313 §7).
	UserDiscoFeatures Chain[DiscoFeatures]
	// SessionIQ runs before an IQ get or set addressed to a connected full
	// JID is delivered to that session (spec/server.md §1.2: per-session
	// delivery checks). A handler that refuses the IQ answers the sender
	// itself and sets Handled; the IQ is then dropped.
	SessionIQ Chain[StanzaEvent]

	// UserSentMessage runs for a message a local user's session sends,
	// before it is routed (mod_inbox's outgoing path). From is the
	// session's full JID; the stanza must not be modified. The sender's
	// archive (mod_mam) runs first and sets ArchiveID and SentStanzaID.
	UserSentMessage Chain[StanzaEvent]
	// LocalMessage runs for a message routed to a local user's JID (bare or
	// full), before delivery or offline storage (mod_inbox's incoming
	// path). A handler may replace Stanza with a modified copy (never
	// change it in place): the later handlers see the copy and the router
	// delivers or stores it. The recipient's archive (mod_mam) runs first
	// and adds its <stanza-id/> (XEP-0359) this way, so that the inbox, the
	// offline store and carbons keep the stamped copy. ArchiveID is the
	// sender's archive id when the message came from a local user's
	// session (UserSentMessage).
	LocalMessage Chain[StanzaEvent]
	// DeliverMessage runs when the router has chosen the local sessions a
	// message goes to (RFC 6121 §8.5), just before it queues the message on
	// them, and before offline storage when none was chosen (Recipients
	// empty). A handler may replace Stanza with a modified copy (never
	// change it in place); the router delivers or stores ev.Stanza.
	// Message Carbons (XEP-0280) sends its copies from here.
	DeliverMessage Chain[MessageDelivery]

	// MUC Light (spec/muclight.md §13), see muclight.go in this package.
	// GroupchatDelivered runs for every room notification (not user
	// messages: see LightMessageSent) about to be delivered to one
	// member's bare JID.
	GroupchatDelivered Chain[GroupchatDelivery]
	// LightMessageSent runs once for every user message a MUC Light room
	// fans out, before the copies are delivered (GroupchatDelivered then
	// runs for each copy).
	LightMessageSent Chain[LightMessage]
	// RoomAffiliationsChanged runs after a room's occupant list changed.
	RoomAffiliationsChanged Chain[RoomAffiliations]
	// RoomDestroyed runs when a room is deleted (forget-room), before the
	// destruction notifications are sent.
	RoomDestroyed Chain[RoomDestroyed]
	// MucGroupchatBroadcast runs once for every groupchat message a classic
	// MUC room broadcasts (see muc.go in this package).
	MucGroupchatBroadcast Chain[MucGroupchatBroadcast]
	// RoomMessage runs once for every message or event a group-chat room
	// (classic MUC or MUC Light) offers to its archive before sending it
	// (see rooms.go in this package).
	RoomMessage Chain[RoomMessage]
	// RoomIQ runs for an IQ to a room that the room does not handle itself
	// (archive queries); the handler that answers it sets Handled.
	RoomIQ Chain[RoomIQ]
	// RoomDiscoFeatures collects extra features of a room's disco#info;
	// Domain is the room's service domain.
	RoomDiscoFeatures Chain[DiscoFeatures]
	// DiscoItems collects extra disco#items of a domain (services).
	DiscoItems Chain[DiscoItems]
	// RosterItems collects extra items for a roster fetch, placed before
	// the stored ones (MUC Light rooms_in_rosters).
	RosterItems Chain[RosterItems]
}

// RemoveAll unregisters the handlers registered under name on every chain:
// a feature's Stop undoes everything its Start added with one call.
func (h *Hooks) RemoveAll(name string) {
	v := reflect.ValueOf(h).Elem()
	for i := range v.NumField() {
		if c, ok := v.Field(i).Addr().Interface().(interface{ Remove(string) }); ok {
			c.Remove(name)
		}
	}
}

// UserEvent names an account (bare JID).
type UserEvent struct {
	User jid.JID
}

// SessionEvent names a session (full JID) and, for unavailability, the
// status text of the last presence.
type SessionEvent struct {
	JID    jid.JID
	Status string
}

// StanzaEvent carries a stanza with its routing addresses. Handlers set
// Handled or Deliver as the chain's documentation says.
type StanzaEvent struct {
	From, To jid.JID
	Stanza   *xmlstream.Element
	Handled  bool
	Deliver  bool
	// ArchiveID is the id the sender's archive gave the message (mod_mam,
	// docs/modules/mod_mam.md), "" when it was not archived: set on
	// UserSentMessage, and passed by the router to the LocalMessage event
	// of the same message (pm.same_mam_id_for_peers).
	ArchiveID string
	// SentStanzaID, on UserSentMessage, is the <stanza-id/> of the
	// sender's archive (XEP-0359) that the copies the server makes for the
	// sender's other resources carry (carbons' <sent/>); nil for none.
	SentStanzaID *xmlstream.Element
}

// MessageDelivery is a message about to be delivered to a local user's
// sessions. From and To are the routing addresses (To bare or full).
// Recipients are the full JIDs of the sessions that get the message as
// routed, in the router's order; empty when it goes to offline storage.
type MessageDelivery struct {
	From, To   jid.JID
	Stanza     *xmlstream.Element
	Recipients []jid.JID
}

// RosterLists is filled by the roster: the contacts that receive the
// user's presence (subscription from/both) and those whose presence the
// user receives (to/both).
type RosterLists struct {
	User jid.JID
	From []jid.JID
	To   []jid.JID
}

// DiscoFeatures collects disco#info features for a domain (or, on
// UserDiscoFeatures, a user of the domain; on RoomDiscoFeatures, a room of
// the service domain).
type DiscoFeatures struct {
	Domain   string
	Features []string
}
