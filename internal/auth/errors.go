package auth

import "errors"

// ErrUserNotFound is returned when an account does not exist.
var ErrUserNotFound = errors.New("user not found")

// ErrUserExists is returned when creating an account that already exists.
var ErrUserExists = errors.New("user already exists")

// ErrBadPassword is returned for a password that cannot be used (empty, or
// rejected by SASLprep).
var ErrBadPassword = errors.New("unusable password")

// ErrInvalidMechanism is returned by NewExchange for a SASL mechanism the
// server does not offer (RFC 6120 §6.5 <invalid-mechanism/>).
var ErrInvalidMechanism = errors.New("invalid SASL mechanism")

// ErrNotAuthorized is returned when authentication fails, whether the user
// does not exist or the password is wrong; the two are deliberately not
// distinguished (RFC 6120 §6.5 <not-authorized/>).
var ErrNotAuthorized = errors.New("not authorized")

// ErrMalformedRequest is returned for a SASL message that cannot be parsed
// (RFC 6120 §6.5 <malformed-request/>).
var ErrMalformedRequest = errors.New("malformed SASL request")

// ErrInvalidAuthzid is returned when the client asks to act as an identity
// other than its own bare JID (RFC 6120 §6.5 <invalid-authzid/>).
var ErrInvalidAuthzid = errors.New("invalid authzid")

// ErrTemporaryFailure is returned when the credentials could not be looked
// up for a reason other than the user not existing (RFC 6120 §6.5
// <temporary-auth-failure/>).
var ErrTemporaryFailure = errors.New("temporary authentication failure")

// ErrInvalidUser is returned for a username that is not a valid JID
// localpart.
var ErrInvalidUser = errors.New("invalid user name")
