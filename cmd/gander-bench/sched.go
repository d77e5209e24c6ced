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
