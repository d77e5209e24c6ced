package router

import (
	"net/netip"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Session is one bound client session, as the router and the features see
// it. It is the one session interface of the server (docs/architecture.md,
// "One session, many places"): a TCP connection on this node implements it
// today (internal/c2s); a WebSocket connection, a session held by another
// node of a cluster and a session detached while it waits for stream
// resumption implement it tomorrow. Code outside the transport never
// type-asserts a Session to a concrete type.
//
// Implementations must be safe for concurrent use by any number of
// goroutines. No method blocks on the network: Send queues, Kick and
// Replaced only ask the session to end.
//
// Elements passed in are owned by the session afterwards (the caller must
// not change them); elements returned are shared and must be cloned before
// they are changed.
type Session interface {
	// JID is the session's full JID; it never changes.
	JID() jid.JID

	// Send queues el for the client without blocking; false means the
	// stanza was not accepted (queue full or session ending) and the
	// caller decides what happens to it (the router bounces it).
	Send(el *xmlstream.Element) bool
	// SendTracked queues el like Send and, when it returns true, calls
	// done exactly once, from another goroutine, with el's fate: true once
	// the client has provably received it, false when the session ended
	// before that (then the caller still owns el's fate: offline storage
	// keeps it). A TCP session proves receipt with a ping round trip after
	// the write (docs/security.md, "Offline delivery"); a Stream
	// Management session will use the client's acknowledgement. done must
	// not block. When SendTracked returns false, done is never called.
	SendTracked(el *xmlstream.Element, done func(delivered bool)) bool

	// Presence reports whether the session has sent available presence,
	// and its priority (RFC 6121 §4.7.2.3; 0 when unavailable).
	Presence() (available bool, priority int)
	// LastPresence returns the last available presence the session
	// broadcast, or nil while it is unavailable.
	LastPresence() *xmlstream.Element
	// SetPresence records the session's broadcast presence: el nil means
	// unavailable. It reports whether the session was available before.
	SetPresence(el *xmlstream.Element, priority int) (wasAvailable bool)

	// AddDirected remembers that the session sent directed available
	// presence to to (RFC 6121 §4.6), so that to learns when the session
	// becomes unavailable.
	AddDirected(to jid.JID)
	// RemoveDirected forgets to (after directed unavailable presence).
	RemoveDirected(to jid.JID)
	// TakeDirected returns the remembered directed presence recipients and
	// forgets them.
	TakeDirected() []jid.JID

	// Kick ends the session on an administrator's request: the client gets
	// the stream error policy-violation with reason as its text, and the
	// session's final unavailable presence says "Shutdown by reason:
	// <reason>" (docs/modules/mod_last.md).
	Kick(reason string)
	// Replaced ends the session because a new session bound the same full
	// JID (RFC 6120 §7.7.2.2): the stream error conflict.
	Replaced()

	// Info describes the session for listings (the admin API's session
	// category).
	Info() SessionInfo
}

// SessionInfo describes a session for listings. It is a snapshot.
type SessionInfo struct {
	// JID is the session's full JID.
	JID jid.JID
	// Since is when the resource was bound.
	Since time.Time
	// Connection names the transport as MongooseIM's session listings do:
	// "c2s" (TCP), "c2s_tls" (TCP with TLS).
	Connection string
	// Addr is the client's address; the zero value when it is not known.
	Addr netip.AddrPort
	// Available and Priority are as Presence reports them.
	Available bool
	Priority  int
	// Show and Status are the <show/> and <status/> of the last available
	// presence ("" without one).
	Show, Status string
}
