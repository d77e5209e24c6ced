// Package metrics wraps an injected Prometheus registry with the naming
// conventions of spec/server.md §4: a metric is named
// <event>_<metric> (no _total suffix), its help text is
// "Event: <event>, Metric: <metric>", label names are sorted, spirals are
// Prometheus counters, counters are gauges moved by deltas, and histograms
// use power-of-two buckets 1, 2, 4 … 2^30 (times in microseconds).
package metrics

import (
	"fmt"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Registry creates and registers metrics. It is safe for concurrent use;
// asking twice for the same metric returns the same collector.
type Registry struct {
	reg *prometheus.Registry
	mu  sync.Mutex
	m   map[string]prometheus.Collector
}

// New returns a registry with nothing registered (no global state).
func New() *Registry {
	return &Registry{reg: prometheus.NewRegistry(), m: map[string]prometheus.Collector{}}
}

// Prometheus returns the underlying registry, for the /metrics handler.
func (r *Registry) Prometheus() *prometheus.Registry { return r.reg }

// Buckets are the histogram buckets: powers of two from 1 to 2^30.
func Buckets() []float64 {
	b := make([]float64, 31)
	for i := range b {
		b[i] = float64(uint64(1) << i)
	}
	return b
}

func name(event, metric string) string { return event + "_" + metric }

func help(event, metric string) string { return fmt.Sprintf("Event: %s, Metric: %s", event, metric) }

func sorted(labels []string) []string {
	out := append([]string(nil), labels...)
	sort.Strings(out)
	return out
}

func register[C prometheus.Collector](r *Registry, key string, mk func() C) C {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.m[key]; ok {
		return c.(C)
	}
	c := mk()
	r.reg.MustRegister(c)
	r.m[key] = c
	return c
}

// Spiral returns a counter of occurrences (a Prometheus counter).
func (r *Registry) Spiral(event, metric string, labels ...string) *prometheus.CounterVec {
	return register(r, name(event, metric), func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name(event, metric), Help: help(event, metric)}, sorted(labels))
	})
}

// Counter returns an up/down counter (a Prometheus gauge moved by deltas).
func (r *Registry) Counter(event, metric string, labels ...string) *prometheus.GaugeVec {
	return r.gauge(event, metric, labels)
}

// Gauge returns a gauge that is set to measured values.
func (r *Registry) Gauge(event, metric string, labels ...string) *prometheus.GaugeVec {
	return r.gauge(event, metric, labels)
}

func (r *Registry) gauge(event, metric string, labels []string) *prometheus.GaugeVec {
	return register(r, name(event, metric), func() *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name(event, metric), Help: help(event, metric)}, sorted(labels))
	})
}

// Histogram returns a histogram with the power-of-two buckets; backend
// times are observed in microseconds.
func (r *Registry) Histogram(event, metric string, labels ...string) *prometheus.HistogramVec {
	return register(r, name(event, metric), func() *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name(event, metric), Help: help(event, metric), Buckets: Buckets()}, sorted(labels))
	})
}
