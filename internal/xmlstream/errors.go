package xmlstream

import "errors"

// ErrStreamClosed is returned by Decoder.Next when the peer sent the
// closing tag of the stream.
var ErrStreamClosed = errors.New("xmlstream: stream closed by peer")

// ErrNotWellFormed wraps syntax errors: the stream error not-well-formed.
var ErrNotWellFormed = errors.New("xmlstream: not well-formed")

// ErrRestricted is returned for XML that XMPP forbids (RFC 6120 §11.1):
// comments, processing instructions and DTDs. The stream error is
// restricted-xml.
var ErrRestricted = errors.New("xmlstream: restricted XML")

// ErrStanzaTooBig is returned when one top-level element exceeds the
// decoder's cap: the stream error policy-violation.
var ErrStanzaTooBig = errors.New("xmlstream: stanza too big")

// ErrUnboundPrefix is returned for a namespace prefix without a
// declaration; RFC 6120 §11.2 makes that a not-well-formed stream.
var ErrUnboundPrefix = errors.New("xmlstream: unbound namespace prefix")
