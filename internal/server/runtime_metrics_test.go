package server

import (
	"testing"

	"github.com/gander-xmpp/gander/internal/metrics"
)

func TestRuntimeMetrics(t *testing.T) {
	m := metrics.New()
	registerRuntimeMetrics(m)
	families, err := m.Prometheus().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range families {
		got[f.GetName()] = true
	}
	for _, want := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds",
		"process_open_fds", "process_resident_memory_bytes", "process_cpu_seconds_total"} {
		if !got[want] {
			t.Errorf("%s missing", want)
		}
	}
}
