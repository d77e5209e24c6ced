package server

import (
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gander-xmpp/gander/internal/metrics"
)

// registerRuntimeMetrics adds the Go runtime collector (go_goroutines,
// go_memstats_*, go_gc_duration_seconds, ...) and the process collector
// (process_open_fds, process_resident_memory_bytes,
// process_cpu_seconds_total, ...) under their standard Prometheus names
// (docs/metrics.md, "Go runtime and process"). It lives here rather than
// in internal/metrics because the collectors package also brings
// database/sql, which the XMPP core must not import (internal/arch).
func registerRuntimeMetrics(m *metrics.Registry) {
	m.Prometheus().MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}
