package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 123456789, 1 << 40, 1<<62 + 12345} {
		mid := bucketMid(bucketOf(v))
		if bucketOf(mid) != bucketOf(v) {
			t.Errorf("mid of %d's bucket (%d) is in another bucket", v, mid)
		}
		if d := float64(mid) - float64(v); d/float64(max(v, 1)) > 0.016 || -d/float64(max(v, 1)) > 0.016 {
			t.Errorf("v=%d mid=%d: error over 1.6%%", v, mid)
		}
	}
	if bucketOf(^uint64(0)) >= histBucket {
		t.Error("max value out of range")
	}
}

// TestQuantiles compares the histogram's percentiles with exact ones from
// sorted samples.
func TestQuantiles(t *testing.T) {
	var h hist
	if q := h.quantiles(0.5); q[0] != 0 {
		t.Errorf("empty p50 = %v", q[0])
	}
	r := rand.New(rand.NewPCG(1, 2))
	var xs []time.Duration
	for range 100000 {
		d := time.Duration(r.ExpFloat64() * float64(3*time.Millisecond))
		xs = append(xs, d)
		h.record(d)
	}
	slices.Sort(xs)
	qs := []float64{0.5, 0.9, 0.99, 0.999, 1}
	got := h.quantiles(qs...)
	for i, q := range qs {
		want := xs[int(q*float64(len(xs))+0.999999)-1]
		if diff := float64(got[i]-want) / float64(want); diff > 0.02 || diff < -0.02 {
			t.Errorf("q%v = %v, exact %v", q, got[i], want)
		}
	}
	if got[4] != xs[len(xs)-1] {
		t.Errorf("max = %v, want %v", got[4], xs[len(xs)-1])
	}
	if h.count() != 100000 {
		t.Errorf("count = %d", h.count())
	}
	// Small exact cases: 1..100 ns.
	var s hist
	for i := 1; i <= 100; i++ {
		s.record(time.Duration(i))
	}
	if q := s.quantiles(0.5, 0.99, 0.999); q[0] != 50 || q[1] != 99 || q[2] != 100 {
		t.Errorf("1..100: %v", q)
	}
}

func TestDue(t *testing.T) {
	for _, tc := range []struct {
		rate    float64
		elapsed time.Duration
		want    int64
	}{
		{1000, time.Second, 1000},
		{1000, 1500 * time.Millisecond, 1500},
		{1000, 999 * time.Microsecond, 0},
		{1000, time.Millisecond, 1},
		{333.3, 3 * time.Second, 999},
		{0, time.Hour, 0},
		{100, -time.Second, 0},
	} {
		if got := due(tc.rate, tc.elapsed); got != tc.want {
			t.Errorf("due(%v, %v) = %d, want %d", tc.rate, tc.elapsed, got, tc.want)
		}
	}
	// Four senders at a quarter of 1000/s each send 1000 in a second.
	var total int64
	for _, r := range splitRate(1000, 4) {
		total += due(r, time.Second)
	}
	if total != 1000 {
		t.Errorf("split total = %d", total)
	}
}
