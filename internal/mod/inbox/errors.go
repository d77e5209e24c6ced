package inbox

// Error is a failure of the service API (the bin flushes) that the GraphQL
// inbox category reports as it is: Code in extensions.code, Message as the
// message and Key: Value as the context (docs/api.md). Errors are compared
// by code: errors.Is(err, ErrUserNotFound) holds whatever the user.
type Error struct {
	// Code is the error code, e.g. "domain_not_found".
	Code string
	// Message is the error's message.
	Message string
	// Key names the argument in error ("domain", "user" or "host_type"),
	// Value is its value; empty in the sentinels.
	Key, Value string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// ErrorCode returns Code, the GraphQL extensions.code.
func (e *Error) ErrorCode() string { return e.Code }

// ErrorContext returns the context key with its value.
func (e *Error) ErrorContext() map[string]any {
	if e.Key == "" {
		return nil
	}
	return map[string]any{e.Key: e.Value}
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// The errors of the service API.
var (
	// ErrDomainNotFound: the domain is not served here.
	ErrDomainNotFound = &Error{Code: "domain_not_found", Message: "Domain not found"}
	// ErrUserNotFound: the account does not exist.
	ErrUserNotFound = &Error{Code: "user_does_not_exist", Message: "User does not exist"}
	// ErrHostTypeNotFound: no host type of that name (each static domain is
	// its own host type).
	ErrHostTypeNotFound = &Error{Code: "host_type_not_found", Message: "Host type not found"}
)
