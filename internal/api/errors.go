package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Error is an error a resolver returns: it becomes a GraphQL error with
// extensions.code = Code and the Ext keys merged into extensions
// (spec/server.md §2.7).
type Error struct {
	Code    string
	Message string
	Ext     map[string]any
}

func (e *Error) Error() string { return e.Message }

func apiErr(code, msg string, ext ...any) *Error {
	e := &Error{Code: code, Message: msg}
	for i := 0; i+1 < len(ext); i += 2 {
		if e.Ext == nil {
			e.Ext = map[string]any{}
		}
		e.Ext[ext[i].(string)] = ext[i+1]
	}
	return e
}

// NewError returns an *Error with code, message and extension key/value
// pairs.
func NewError(code, msg string, ext ...any) *Error { return apiErr(code, msg, ext...) }

// httpError is a request-level failure: the response is only
// {"errors": [...]} with Status.
type httpError struct {
	Status  int
	Code    string
	Message string
	// Ext are extension keys beside code.
	Ext map[string]any
}

func requestErr(status int, code, msg string) *httpError {
	return &httpError{Status: status, Code: code, Message: msg}
}

func (e *httpError) gql() *gqlerror.Error {
	ext := map[string]any{"code": e.Code}
	for k, v := range e.Ext {
		ext[k] = v
	}
	return &gqlerror.Error{Message: e.Message, Extensions: ext}
}

// The request-level errors of spec/server.md §2.7.
func errWrongCredentials() *httpError {
	return requestErr(http.StatusUnauthorized, "wrong_credentials", "The provided credentials are wrong")
}

func errMalformedAuth() *httpError {
	return requestErr(http.StatusUnauthorized, "request_error", "Malformed authorization header. Please consult the relevant specification")
}

// A codedError is a service's error with its GraphQL code: the features'
// Error types (broadcast.Error, inbox.Error, last.Error, muclight.Error)
// implement it, so that a resolver returns their errors as they are and
// presentError is the one place that turns them into extensions.code and
// the message (its Error text). Context keys come from the error itself
// (errorContext) and from the resolver (withContext).
type codedError interface {
	error
	ErrorCode() string
}

// errorContext is implemented by coded errors that carry context keys of
// their own (last.Error's user or domain, broadcast's missing module).
type errorContext interface {
	ErrorContext() map[string]any
}

// contextError adds a resolver's context keys (the operation's arguments)
// to a coded error; see withContext.
type contextError struct {
	err error
	ext []any
}

func (e *contextError) Error() string { return e.err.Error() }
func (e *contextError) Unwrap() error { return e.err }

// withContext adds context keys (key/value pairs) to err for the error
// format; a nil err stays nil. presentError adds them to every coded error
// but deps_not_loaded, whose keys are the missing dependencies.
func withContext(err error, kv ...any) error {
	if err == nil {
		return nil
	}
	return &contextError{err: err, ext: kv}
}

// asError returns the *Error a resolver error stands for: an *Error of this
// package or a codedError, with the context keys of withContext; false
// when err carries no code (an unexpected failure).
func asError(err error) (*Error, bool) {
	var out *Error
	var ae *Error
	var ce codedError
	switch {
	case errors.As(err, &ae):
		out = &Error{Code: ae.Code, Message: ae.Message}
		out.Ext = maps.Clone(ae.Ext)
	case errors.As(err, &ce):
		out = &Error{Code: ce.ErrorCode(), Message: ce.Error()}
		if ec, ok := ce.(errorContext); ok {
			out.Ext = maps.Clone(ec.ErrorContext())
		}
	default:
		return nil, false
	}
	var cx *contextError
	if out.Code != "deps_not_loaded" && errors.As(err, &cx) {
		for i := 0; i+1 < len(cx.ext); i += 2 {
			if out.Ext == nil {
				out.Ext = map[string]any{}
			}
			out.Ext[cx.ext[i].(string)] = cx.ext[i+1]
		}
	}
	return out, true
}

// presentError turns a resolver error into the reference's shape:
// message, extensions.code (+ context keys) and path, without locations.
func (h *Handler) presentError(ctx context.Context, err error) *gqlerror.Error {
	ge := graphql.DefaultErrorPresenter(ctx, err)
	if ae, ok := asError(err); ok {
		if ae.Code == "internal_error" {
			// A service's failure that the API reports with a code
			// rather than as a crash; its cause is for the log.
			h.log.Error("graphql resolver: internal error", "path", ge.Path.String(), "err", err)
		}
		ge.Message = ae.Message
		ext := map[string]any{"code": ae.Code}
		for k, v := range ae.Ext {
			ext[k] = v
		}
		ge.Extensions = ext
	} else if ge.Extensions == nil || ge.Extensions["code"] == nil {
		// An unexpected failure (database down, ...): logged in full, shown
		// as a resolver crash as the reference does.
		h.log.Error("graphql resolver failed", "path", ge.Path.String(), "err", err)
		ge.Message = "Unexpected error resolver crash"
		ge.Extensions = map[string]any{"code": "resolver_crash"}
	}
	ge.Locations = nil
	return ge
}

// recoverPanic turns a resolver panic into a resolver_crash error.
func (h *Handler) recoverPanic(ctx context.Context, p any) error {
	h.log.Error("graphql resolver panicked", "panic", fmt.Sprint(p))
	return &Error{Code: "resolver_crash", Message: "Unexpected error resolver crash"}
}
