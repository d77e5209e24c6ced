package main

import "time"

// due returns how many messages a sender running at rate msgs/s should
// have sent after elapsed time. Senders compare it with what they did send
// and catch up, so ticker jitter never changes the average rate.
func due(rate float64, elapsed time.Duration) int64 {
	if rate <= 0 || elapsed <= 0 {
		return 0
	}
	return int64(rate * elapsed.Seconds())
}

// splitRate divides a total rate over n senders; the shares add up to
// total exactly.
func splitRate(total float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = total / float64(n)
	}
	return out
}

// tickFor returns how often a sender at rate msgs/s wakes up: about four
// messages per wake-up, between 2 ms and 20 ms. Each wake-up costs the
// generator scheduler work whatever it sends, so at low rates fewer
// wake-ups keep its fixed cost down; the cap bounds the burst a tick sends.
// Latency is unaffected: every message carries its own send time.
func tickFor(rate float64) time.Duration {
	const lo, hi = 2 * time.Millisecond, 20 * time.Millisecond
	if rate <= 0 {
		return hi
	}
	return min(hi, max(lo, time.Duration(4/rate*float64(time.Second))))
}
