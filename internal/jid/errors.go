package jid

import "errors"

// ErrEmpty is returned when parsing an empty string.
var ErrEmpty = errors.New("jid: empty address")

// ErrEmptyPart is returned when a separator is present but the localpart,
// domainpart or resourcepart it delimits is empty, as in "@example.com",
// "user@" or "example.com/".
var ErrEmptyPart = errors.New("jid: empty part")

// ErrTooLong is returned when a part is longer than 1023 bytes after
// normalisation (RFC 7622 §3.1).
var ErrTooLong = errors.New("jid: part longer than 1023 bytes")

// ErrInvalidLocal is returned when the localpart is rejected by the PRECIS
// UsernameCaseMapped profile or contains a character RFC 7622 §3.3.1 forbids.
var ErrInvalidLocal = errors.New("jid: invalid localpart")

// ErrInvalidDomain is returned when the domainpart is neither a valid IDNA
// domain name nor an IP literal (RFC 7622 §3.2).
var ErrInvalidDomain = errors.New("jid: invalid domainpart")

// ErrInvalidResource is returned when the resourcepart is rejected by the
// PRECIS OpaqueString profile (RFC 7622 §3.4).
var ErrInvalidResource = errors.New("jid: invalid resourcepart")
