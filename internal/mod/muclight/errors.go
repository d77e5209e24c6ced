package muclight

import (
	"errors"

	"github.com/gander-xmpp/gander/internal/stanza"
)

// Error is a failure of the service API with the code and message that the
// GraphQL muc_light category reports as they are (extensions.code and
// message, docs/api.md); the XMPP handlers map it to a stanza error in
// toStanzaError. An operation may return a variant of a sentinel with its
// own message (not_allowed, say, names what was not allowed): errors.Is
// matches the variant with its sentinel.
type Error struct {
	// Code is the GraphQL error code, e.g. "room_not_found".
	Code string
	// Message is the error's message.
	Message string
	// kind is the sentinel of a variant, nil in a sentinel.
	kind *Error
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// ErrorCode returns Code.
func (e *Error) ErrorCode() string { return e.Code }

// Is reports whether target is the sentinel e is a variant of.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && e.kind != nil && t == e.kind
}

// with returns a variant of the sentinel e with another message.
func (e *Error) with(msg string) *Error { return &Error{Code: e.Code, Message: msg, kind: e} }

// Sentinel errors of the service API.
var (
	// ErrRoomNotFound: the room does not exist.
	ErrRoomNotFound = &Error{Code: "room_not_found", Message: "Room not found"}
	// ErrNotOccupant: the requester does not occupy the room.
	ErrNotOccupant = &Error{Code: "not_room_member", Message: "Given user does not occupy this room"}
	// ErrNotAllowed: the requester lacks the permission (§8); each
	// operation's variant says which.
	ErrNotAllowed = &Error{Code: "not_allowed", Message: "Given user is not allowed to do this"}
	// ErrRoomExists: creation of a room whose name is taken.
	ErrRoomExists = &Error{Code: "already_exists", Message: "Room already exists"}
	// ErrRoomLimit: the creator already occupies rooms_per_user rooms.
	ErrRoomLimit = &Error{Code: "room_limit_reached", Message: "Given user has reached the rooms_per_user limit"}
	// ErrMaxOccupants: the room would exceed max_occupants.
	ErrMaxOccupants = &Error{Code: "max_occupants_reached", Message: "Max occupants number reached"}
	// ErrBlockingDisabled: blocking = false.
	ErrBlockingDisabled = &Error{Code: "not_allowed", Message: "Blocking is disabled (blocking = false)"}
	// ErrNoService: the domain is not a MUC Light service of this server.
	ErrNoService = &Error{Code: "muc_server_not_found", Message: "MUC Light server not found"}
	// ErrNameExhausted: no free generated room name was found (a failure
	// without a code).
	ErrNameExhausted = errors.New("muclight: no free room name")
)

// The not_allowed variants of the operations.
var (
	errCannotConfigure = ErrNotAllowed.with("Given user does not have permission to change config")
	errCannotChangeAff = ErrNotAllowed.with("Given user does not have permission to change affiliations")
	errCannotDestroy   = ErrNotAllowed.with("Given user cannot delete this room")
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

// Error returns the GraphQL message.
func (e *ValidationError) Error() string {
	return "Validation failed for key: " + e.Key + " with reason " + e.Reason
}

// ErrorCode returns the GraphQL error code, validation_error.
func (e *ValidationError) ErrorCode() string { return "validation_error" }

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
