package muc

import (
	"errors"

	"github.com/gander-xmpp/gander/internal/stanza"
)

// Sentinel errors of room operations. toStanzaError maps them to XMPP
// stanza errors (XEP-0045 §7.2 and §9-§10); the mapping is the only place
// where conditions are chosen.
var (
	// ErrNickConflict: the nickname is in use by another occupant (409).
	ErrNickConflict = errors.New("muc: nickname in use")
	// ErrBanned: the user is an outcast of the room (403).
	ErrBanned = errors.New("muc: user is banned")
	// ErrLocked: the room was created and is waiting for its owner's
	// configuration; only owners may enter (XEP-0045 §10.1.1).
	ErrLocked = errors.New("muc: room is locked")
	// ErrNoRoom: the room does not exist.
	ErrNoRoom = errors.New("muc: no such room")
	// ErrNotOccupant: the sender is not in the room.
	ErrNotOccupant = errors.New("muc: not an occupant")
	// ErrNoNick: no occupant has the addressed nickname.
	ErrNoNick = errors.New("muc: no such occupant")
	// ErrForbidden: the actor's affiliation does not allow the operation.
	ErrForbidden = errors.New("muc: forbidden")
	// ErrNotAllowed: the target's affiliation may not be changed by the
	// actor (an admin acting on an owner or another admin).
	ErrNotAllowed = errors.New("muc: not allowed")
	// ErrLastOwner: the change would leave the room without an owner.
	ErrLastOwner = errors.New("muc: the room would have no owner")
	// ErrBadRequest: the request is malformed.
	ErrBadRequest = errors.New("muc: bad request")
	// ErrNotImplemented: a valid XEP-0045 request Gander does not support
	// yet.
	ErrNotImplemented = errors.New("muc: not implemented")
	// ErrRoomBusy: the room's outgoing queue is full (room_queue_size);
	// the stanza is refused rather than queued without bound.
	ErrRoomBusy = errors.New("muc: room queue full")
)

var errorTable = []struct {
	err error
	e   stanza.Error
}{
	{ErrNickConflict, stanza.Error{Condition: stanza.Conflict, Text: "That nickname is already in use by another occupant"}},
	{ErrBanned, stanza.Error{Condition: stanza.Forbidden, Text: "You have been banned from this room"}},
	{ErrLocked, stanza.Error{Condition: stanza.ItemNotFound, Text: "This room is locked until its owner configures it"}},
	{ErrNoRoom, stanza.Error{Condition: stanza.ItemNotFound, Text: "The room does not exist"}},
	{ErrNotOccupant, stanza.Error{Condition: stanza.NotAcceptable, Text: "Only occupants are allowed to send messages to the conference"}},
	{ErrNoNick, stanza.Error{Condition: stanza.ItemNotFound, Text: "Recipient is not in the conference room"}},
	{ErrForbidden, stanza.Error{Condition: stanza.Forbidden}},
	{ErrNotAllowed, stanza.Error{Condition: stanza.NotAllowed}},
	{ErrLastOwner, stanza.Error{Condition: stanza.Conflict, Text: "The room must keep at least one owner"}},
	{ErrBadRequest, stanza.Error{Condition: stanza.BadRequest}},
	{ErrNotImplemented, stanza.Error{Condition: stanza.FeatureNotImplemented}},
	{ErrRoomBusy, stanza.Error{Condition: stanza.ResourceConstraint, Text: "The room is too busy, try again later"}},
}

// toStanzaError maps an operation error to the stanza error sent back.
func toStanzaError(err error) stanza.Error {
	for _, t := range errorTable {
		if errors.Is(err, t.err) {
			return t.e
		}
	}
	return stanza.Error{Condition: stanza.InternalServerError}
}
