// Package arch holds tests that enforce the rules of docs/architecture.md
// that a program can check: what the XMPP core, the protocol packages and
// the configuration may import; that features import neither each other,
// the API layer nor the c2s transport; no mutable package globals, no
// init functions, no goroutine started by a constructor, no global
// Prometheus registration. It has no code of its own.
package arch
