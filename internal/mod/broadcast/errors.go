package broadcast

import "errors"

// Error is a failure of the service API that the admin API reports with a
// code and a fixed message (spec/broadcast.md §4.8). A GraphQL resolver puts
// Code in extensions.code and Message in the error's message; the context
// keys (domain, name, id, ids) are the resolver's to add.
//
// Errors are compared by code: errors.Is(err, ErrBadParameter) holds for
// every bad_parameter error whatever its parameter.
type Error struct {
	// Code is the spec's error code, e.g. "running_job_limit_exceeded".
	Code string
	// Message is the exact message of the spec's catalogue.
	Message string
	// Param names the invalid parameter of a bad_parameter error
	// ("message_rate", "name", "subject" or "body"); empty otherwise.
	Param string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// ErrorCode returns Code, the GraphQL extensions.code (docs/api.md).
func (e *Error) ErrorCode() string { return e.Code }

// ErrorContext names the missing module of a deps_not_loaded error (the
// other errors' context keys are the caller's arguments).
func (e *Error) ErrorContext() map[string]any {
	if e.Code == ErrNotLoaded.Code {
		return map[string]any{"not_loaded_modules": []string{"mod_broadcast"}}
	}
	return nil
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// The errors of the catalogue (spec/broadcast.md §4.8, §4.10).
var (
	// ErrDomainNotFound: the domain is not served here.
	ErrDomainNotFound = &Error{Code: "domain_not_found", Message: "Domain not found"}
	// ErrBroadcastNotFound: no job with that id in that domain.
	ErrBroadcastNotFound = &Error{Code: "broadcast_not_found", Message: "Broadcast job not found"}
	// ErrNotRunning: abort of a job in a terminal state.
	ErrNotRunning = &Error{Code: "not_running", Message: "The broadcast job is not currently running"}
	// ErrTemporarilyUnavailable: start while the manager is in safety
	// (emergency) mode because the database could not be reached.
	ErrTemporarilyUnavailable = &Error{Code: "temporarily_unavailable", Message: "Broadcast manager is temporarily unavailable"}
	// ErrRunningJobLimitExceeded: the domain already has a running job.
	ErrRunningJobLimitExceeded = &Error{Code: "running_job_limit_exceeded", Message: "Cannot start new broadcast job: running job limit exceeded"}
	// ErrSenderNotFound: the sender is not an existing account of the
	// broadcast's domain.
	ErrSenderNotFound = &Error{Code: "sender_not_found", Message: "Sender account does not exist"}
	// ErrNoRecipients: the domain has no accounts.
	ErrNoRecipients = &Error{Code: "no_recipients", Message: "Recipient group is empty"}
	// ErrBadParameter is the class of bad_parameter errors; the ones
	// returned are made by badParameter and name the parameter.
	ErrBadParameter = &Error{Code: "bad_parameter", Message: "Invalid parameter"}
	// ErrInternal: counting the recipients or creating the job failed in
	// the database (spec §4.10: code internal_error, not a crash). The
	// returned error wraps the cause.
	ErrInternal = &Error{Code: "internal_error", Message: "Internal error"}
	// ErrNotLoaded: mod_broadcast is not running for the domain's host
	// type (deps_not_loaded; ErrorContext names the module).
	ErrNotLoaded = &Error{Code: "deps_not_loaded", Message: "Some of the required modules are not loaded"}
)

// badParameter returns the bad_parameter error for p.
func badParameter(p string) *Error {
	return &Error{Code: ErrBadParameter.Code, Message: "Invalid parameter: " + p, Param: p}
}

// internalError is an internal_error that keeps its cause for logs and
// errors.Is.
type internalError struct {
	msg   string
	cause error
}

func (e *internalError) Error() string { return e.msg + ": " + e.cause.Error() }

// Unwrap returns ErrInternal and the cause.
func (e *internalError) Unwrap() []error { return []error{ErrInternal, e.cause} }

// errCannotCountRecipients is the cause of an internal_error when the
// recipients could not be counted (spec §5.1 step 1).
var errCannotCountRecipients = errors.New("cannot_count_recipients")

// ErrNodeNameInUse is returned at start when another live node heartbeats
// under this node's general.node_name on the same database.
var ErrNodeNameInUse = errors.New("general.node_name is already used by another live node on this database")
