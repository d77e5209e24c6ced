// Package wait is the tests' one polling helper: Until waits for an
// asynchronous outcome by asking for it again and again until it holds or a
// deadline passes, so that no test sleeps and hopes.
//
// A negative check ("nothing more happens") cannot be polled for; rest it on
// a barrier instead (an IQ round trip behind the stanza that would have
// caused it, or a step of a fake clock). See docs/architecture.md, "Tests".
package wait

import (
	"testing"
	"time"
)

// Until calls check until it returns nil and fails the test with check's
// last error if that has not happened within limit. It polls at once, then
// at growing intervals of 5 ms up to 100 ms, so fast outcomes are seen fast
// and slow ones do not cost a busy loop.
//
// Until must be called from the test's goroutine (it calls t.Fatalf).
func Until(t testing.TB, limit time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	interval := 5 * time.Millisecond
	for {
		err := check()
		if err == nil {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("not within %s: %v", limit, err)
			return // reached only with a testing.TB whose Fatalf returns
		}
		<-time.After(min(interval, left))
		interval = min(2*interval, 100*time.Millisecond)
	}
}
