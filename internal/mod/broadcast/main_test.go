package broadcast

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a worker, manager or heartbeat goroutine
// outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
