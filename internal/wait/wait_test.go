package wait

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB whose Fatalf records the message and returns.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestUntilReturnsOnceTheCheckHolds(t *testing.T) {
	calls := 0
	start := time.Now()
	Until(t, 5*time.Second, func() error {
		calls++
		if calls < 4 {
			return errors.New("not yet")
		}
		return nil
	})
	if calls != 4 {
		t.Fatalf("check called %d times, want 4", calls)
	}
	// 5 + 10 + 20 ms of waits, far below the limit.
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestUntilFailsWithTheLastError(t *testing.T) {
	r := &recorder{TB: t}
	calls := 0
	start := time.Now()
	Until(r, 150*time.Millisecond, func() error {
		calls++
		return fmt.Errorf("count is %d", calls)
	})
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("gave up after %s, before the limit", d)
	}
	want := fmt.Sprintf("not within 150ms: count is %d", calls)
	if r.failed != want {
		t.Fatalf("failure %q, want %q", r.failed, want)
	}
	if calls < 3 || !strings.HasPrefix(r.failed, "not within") {
		t.Fatalf("checked %d times", calls)
	}
}
