package main

import (
	"testing"

	"github.com/gander-xmpp/gander/internal/server/servertest"
)

// TestMain runs the command's tests several at a time and fails the
// package if any goroutine outlives them (servertest.Main).
func TestMain(m *testing.M) {
	servertest.Main(m)
}
