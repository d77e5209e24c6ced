package auth

import "errors"

// ErrUserNotFound is returned when an account does not exist.
var ErrUserNotFound = errors.New("user not found")

// ErrUserExists is returned when creating an account that already exists.
var ErrUserExists = errors.New("user already exists")

// ErrBadPassword is returned for a password that cannot be used (empty, or
// rejected by SASLprep).
var ErrBadPassword = errors.New("unusable password")
