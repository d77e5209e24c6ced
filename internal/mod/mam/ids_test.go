package mam

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIDFormat: ids are (µs << 8) | node in base 32 (0-9A-V), 12
// characters from 2001 to 2112, so that string, numeric and time order
// agree; parsing accepts either case and refuses anything else.
func TestIDFormat(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		node uint8
	}{
		{time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(2026, 3, 1, 10, 15, 30, 123000, time.UTC), 7},
		{time.Date(2112, 1, 1, 0, 0, 0, 0, time.UTC), 255},
	} {
		g := idGen{node: tc.node, now: func() time.Time { return tc.at }}
		id := g.next()
		s := EncodeID(id)
		require.Len(t, s, 12, s)
		require.Equal(t, strings.ToUpper(s), s)
		require.Equal(t, tc.at.UnixMicro(), idMicros(id))
		require.Equal(t, int64(tc.node), id&255)
		back, ok := DecodeID(strings.ToLower(s))
		require.True(t, ok)
		require.Equal(t, id, back)
		require.Equal(t, tc.at, idTime(id))
	}
	for _, bad := range []string{"", "W", "0x10", "-1", "+1", "1 2", "VVVVVVVVVVVVV", "8000000000000", "é"} {
		_, ok := DecodeID(bad)
		require.False(t, ok, bad)
	}
	v, ok := DecodeID("7VVVVVVVVVVVV")
	require.True(t, ok)
	require.Equal(t, int64(math.MaxInt64), v)
}

// TestIDsIncrease: a clock that stands still or goes back still gives
// strictly increasing ids, also under concurrency.
func TestIDsIncrease(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	g := &idGen{now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(-time.Microsecond)
		return now
	}}
	prev := g.next()
	for range 1000 {
		id := g.next()
		require.Greater(t, id, prev)
		require.Greater(t, EncodeID(id), EncodeID(prev), "string order agrees")
		prev = id
	}
	seen := sync.Map{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				_, dup := seen.LoadOrStore(g.next(), true)
				if dup {
					t.Error("duplicate id")
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzDecodeID(f *testing.F) {
	for _, s := range []string{"BO7CH1JOF801", "bo7ch1jof801", "0", "VVVVVVVVVVVVV", "", "zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := DecodeID(s)
		if !ok {
			return
		}
		if id < 0 {
			t.Fatalf("negative id %d from %q", id, s)
		}
		if back, ok := DecodeID(EncodeID(id)); !ok || back != id {
			t.Fatalf("round trip of %q: %d", s, back)
		}
	})
}
