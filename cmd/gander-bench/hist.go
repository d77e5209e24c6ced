package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Latencies are kept in a log-linear histogram of nanoseconds: exact below
// 128 ns, then 64 buckets per power of two (relative error under 1.6 %).
// Recording is one atomic add, so the reader goroutines of thousands of
// connections can share one histogram without a lock.
const (
	subBits    = 7
	subCount   = 1 << subBits
	halfCount  = subCount / 2
	maxShift   = 64 - subBits
	histBucket = subCount + maxShift*halfCount
)

// hist is a concurrent latency histogram.
type hist struct {
	counts [histBucket]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits
	mant := v >> shift // in [halfCount, subCount)
	return subCount + (shift-1)*halfCount + int(mant) - halfCount
}

// bucketMid returns a representative value (the middle) of bucket i.
func bucketMid(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	shift := (i-subCount)/halfCount + 1
	mant := uint64((i-subCount)%halfCount + halfCount)
	return mant<<shift + (uint64(1)<<shift)/2
}

// record adds one latency; negative values (clock steps) count as zero.
func (h *hist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// count returns how many values were recorded.
func (h *hist) count() uint64 { return h.n.Load() }

// quantiles returns the latencies at each fraction q (0 < q ≤ 1): the
// smallest bucket whose cumulative count reaches ceil(q·n). Zero when empty.
// The top quantile is clamped to the exact maximum.
func (h *hist) quantiles(qs ...float64) []time.Duration {
	out := make([]time.Duration, len(qs))
	var snap [histBucket]uint64
	var n uint64
	for i := range snap {
		snap[i] = h.counts[i].Load()
		n += snap[i]
	}
	if n == 0 {
		return out
	}
	mx := time.Duration(h.max.Load())
	for k, q := range qs {
		rank := uint64(q*float64(n) + 0.999999)
		if rank < 1 {
			rank = 1
		}
		var cum uint64
		for i, c := range snap {
			cum += c
			if cum >= rank {
				out[k] = min(time.Duration(bucketMid(i)), mx)
				break
			}
		}
	}
	return out
}

func ms(d time.Duration) float64 { return round3(float64(d) / 1e6) }

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
