package db_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// listener, session, writer and worker the server starts must end on Stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
