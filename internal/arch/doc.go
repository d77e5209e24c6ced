// Package arch holds tests that enforce the boundaries of
// ../shared/ARCHITECTURE.md: what the XMPP core and the protocol packages
// may import. It has no code of its own.
package arch
