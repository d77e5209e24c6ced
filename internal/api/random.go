package api

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"
)

// randomUsername generates a username for registerUser without one: a
// timestamp and two random parts joined by "-" (spec/server.md §3.3).
func randomUsername() string {
	b := make([]byte, 8)
	rand.Read(b)
	return strconv.FormatInt(time.Now().UnixMicro(), 10) + "-" + hex.EncodeToString(b[:4]) + "-" + hex.EncodeToString(b[4:])
}

// randomPassword is the password a banned user gets.
func randomPassword() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}
