package mam

import (
	"errors"

	"github.com/gander-xmpp/gander/internal/stanza"
)

// XMPP errors of the archive (docs/modules/mod_mam.md, "Errors"). Query
// and preference parsing return them as errors; toStanzaError is the one
// place that maps any other error (a storage failure) to
// internal-server-error.
var (
	errNotFound     = stanza.Error{Condition: stanza.ItemNotFound, Text: "Message with specified ID is not found"}
	errInvalidID    = stanza.Error{Condition: stanza.NotAcceptable, Text: "Invalid stanza ID provided"}
	errNotAllowed   = stanza.Error{Condition: stanza.NotAllowed, Text: "The action is not allowed."}
	errRoomNotAllow = stanza.Error{Condition: stanza.NotAllowed, Text: "The action is not allowed. Not allowed to enter the room."}
	errNoFulltext   = stanza.Error{Condition: stanza.FeatureNotImplemented, Text: "Full text search is disabled (full_text_search = false)"}
)

// badRequest is bad-request (modify) with a text.
func badRequest(text string) stanza.Error {
	return stanza.Error{Condition: stanza.BadRequest, Text: text}
}

// internalError is the answer to a storage failure.
func internalError(error) stanza.Error {
	return stanza.Error{Condition: stanza.InternalServerError}
}

// toStanzaError maps err to the stanza error answered for it.
func toStanzaError(err error) stanza.Error {
	var se stanza.Error
	if errors.As(err, &se) {
		return se
	}
	return internalError(err)
}

// Error is a failure of the service API with the code and message the
// GraphQL API reports as they are (extensions.code, docs/api.md).
type Error struct {
	Code    string
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// ErrorCode returns Code.
func (e *Error) ErrorCode() string { return e.Code }

// Errors of the service API.
var (
	// ErrNoArchive: the archive's part of the module does not run.
	ErrNoArchive = &Error{Code: "deps_not_loaded", Message: "Some of the required modules are not loaded"}
)
