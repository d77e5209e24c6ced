package api

import (
	"context"
	"errors"
	"fmt"
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
}

func requestErr(status int, code, msg string) *httpError {
	return &httpError{Status: status, Code: code, Message: msg}
}

func (e *httpError) gql() *gqlerror.Error {
	return &gqlerror.Error{Message: e.Message, Extensions: map[string]any{"code": e.Code}}
}

// The request-level errors of spec/server.md §2.7.
func errWrongCredentials() *httpError {
	return requestErr(http.StatusUnauthorized, "wrong_credentials", "The provided credentials are wrong")
}

func errMalformedAuth() *httpError {
	return requestErr(http.StatusUnauthorized, "request_error", "Malformed authorization header. Please consult the relevant specification")
}

// presentError turns a resolver error into the reference's shape:
// message, extensions.code (+ context keys) and path, without locations.
func (h *Handler) presentError(ctx context.Context, err error) *gqlerror.Error {
	ge := graphql.DefaultErrorPresenter(ctx, err)
	var ae *Error
	if errors.As(err, &ae) {
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
