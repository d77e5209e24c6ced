package muclight

import (
	"errors"

	"github.com/gander-xmpp/gander/internal/stanza"
)

// Sentinel errors of the service API. XMPP handlers map them to stanza
// errors in toStanzaError (spec/muclight.md §14); a future GraphQL layer
// maps them to its error codes (§15.6).
var (
	// ErrRoomNotFound: the room does not exist.
	ErrRoomNotFound = errors.New("muclight: room not found")
	// ErrNotOccupant: the requester does not occupy the room.
	ErrNotOccupant = errors.New("muclight: user does not occupy this room")
	// ErrNotAllowed: the requester lacks the permission (§8).
	ErrNotAllowed = errors.New("muclight: not allowed")
	// ErrRoomExists: creation of a room whose name is taken.
	ErrRoomExists = errors.New("muclight: room already exists")
	// ErrRoomLimit: the creator already occupies rooms_per_user rooms.
	ErrRoomLimit = errors.New("muclight: rooms_per_user limit reached")
	// ErrMaxOccupants: the room would exceed max_occupants.
	ErrMaxOccupants = errors.New("muclight: max occupants number reached")
	// ErrBlockingDisabled: blocking = false.
	ErrBlockingDisabled = errors.New("muclight: blocking is disabled")
	// ErrNoService: the domain is not a MUC Light service of this server.
	ErrNoService = errors.New("muclight: MUC Light server not found")
	// ErrNameExhausted: no free generated room name was found.
	ErrNameExhausted = errors.New("muclight: no free room name")
)

// BadRequestError is a request refused with bad-request and the text the
// reference uses (e.g. "Meaningless change").
type BadRequestError struct {
	Text string
}

func (e *BadRequestError) Error() string { return "muclight: bad request: " + e.Text }

// ValidationError is an invalid configuration key or value: Reason is
// "not_found" (no such field) or "type_error" (unparsable value).
type ValidationError struct {
	Key, Reason string
}

func (e *ValidationError) Error() string {
	return "muclight: validation failed for key: " + e.Key + " with reason " + e.Reason
}

func badRequest(text string) error { return &BadRequestError{Text: text} }

// toStanzaError is the one mapping table from service errors to XMPP
// errors (spec/muclight.md §14). create says whether the error comes from
// a room creation, whose config and limit errors carry texts.
func toStanzaError(err error, create bool) stanza.Error {
	var br *BadRequestError
	var ve *ValidationError
	switch {
	case errors.As(err, &br):
		return stanza.Error{Condition: stanza.BadRequest, Text: br.Text}
	case errors.As(err, &ve):
		if create {
			return stanza.Error{Condition: stanza.BadRequest, Text: ve.Key + ":" + ve.Reason}
		}
		return stanza.Error{Condition: stanza.BadRequest}
	case errors.Is(err, ErrRoomNotFound), errors.Is(err, ErrNotOccupant):
		return stanza.Error{Condition: stanza.ItemNotFound}
	case errors.Is(err, ErrNotAllowed):
		return stanza.Error{Condition: stanza.NotAllowed}
	case errors.Is(err, ErrRoomExists):
		return stanza.Error{Condition: stanza.Conflict, Text: "Room already exists"}
	case errors.Is(err, ErrRoomLimit), errors.Is(err, ErrBlockingDisabled):
		return stanza.Error{Condition: stanza.BadRequest}
	case errors.Is(err, ErrMaxOccupants):
		if create {
			return stanza.Error{Condition: stanza.BadRequest, Text: "max_occupants_reached"}
		}
		return stanza.Error{Condition: stanza.BadRequest}
	}
	return stanza.Error{Condition: stanza.InternalServerError}
}
