package last

import "errors"

// Sentinel errors of the service API (spec/last.md §6). Every error the
// service returns for one of these cases is an *Error that wraps the
// sentinel, so callers test with errors.Is and GraphQL resolvers read Code,
// Message and the context key from the *Error.
var (
	// ErrUserNotFound: the account does not exist (user_does_not_exist).
	ErrUserNotFound = errors.New("user does not exist")
	// ErrLastNotFound: the account has no record (last_not_found).
	ErrLastNotFound = errors.New("last activity not found")
	// ErrDomainNotFound: the domain is not served (domain_not_found).
	ErrDomainNotFound = errors.New("domain not found")
	// ErrInvalidJID: the user argument is not a valid user JID (the API
	// layer reports it as input coercion).
	ErrInvalidJID = errors.New("invalid user JID")
	// ErrForbidden: the requester may not read the target's record (the
	// subscription rule of docs/modules/mod_last.md, forbidden).
	ErrForbidden = errors.New("forbidden")
)

// GraphQL error codes (extensions.code), spec/last.md §6.2.
const (
	CodeUserNotFound   = "user_does_not_exist"
	CodeLastNotFound   = "last_not_found"
	CodeDomainNotFound = "domain_not_found"
	CodeInvalidJID     = "input_coercion"
	CodeForbidden      = "forbidden"
)

// Error is a validation error of the service API with what the GraphQL
// layer puts in the response: the code, the message and one context key
// ("user" or "domain") with its value.
type Error struct {
	Code    string
	Message string
	Key     string
	Value   string
	err     error
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.err }

// ErrorCode returns Code, the GraphQL extensions.code (docs/api.md).
func (e *Error) ErrorCode() string { return e.Code }

// ErrorContext returns the context key with its value.
func (e *Error) ErrorContext() map[string]any { return map[string]any{e.Key: e.Value} }

func userNotFound(user, domain string) error {
	return &Error{Code: CodeUserNotFound, Message: "User " + user + "@" + domain + " does not exist",
		Key: "user", Value: user + "@" + domain, err: ErrUserNotFound}
}

func lastNotFound(user string) error {
	return &Error{Code: CodeLastNotFound, Message: "Given user's last info not found", Key: "user", Value: user, err: ErrLastNotFound}
}

func domainNotFound(domain string) error {
	return &Error{Code: CodeDomainNotFound, Message: "Domain not found", Key: "domain", Value: domain, err: ErrDomainNotFound}
}

func invalidJID(user string) error {
	return &Error{Code: CodeInvalidJID, Message: "Invalid JID: " + user, Key: "user", Value: user, err: ErrInvalidJID}
}

func forbidden(user string) error {
	return &Error{Code: CodeForbidden, Message: "You are not allowed to see the last activity of " + user,
		Key: "user", Value: user, err: ErrForbidden}
}
