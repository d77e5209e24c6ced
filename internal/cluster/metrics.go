package cluster

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gander-xmpp/gander/internal/metrics"
)

// forwardTypes are the stanza kinds of the forward metrics' type label.
func forwardTypes() []string { return []string{"message", "presence", "iq"} }

// forwardReasons are the values of cluster_forward_failed_count's reason
// label (docs/metrics.md, "Cluster").
func forwardReasons() []string {
	return []string{"buffer_full", "too_large", "not_connected", "session_gone"}
}

// cetsZero are the reference's cets_info gauges that Gander has no
// counterpart for; they are always 0.
func cetsZero() []string {
	return []string{"remote_nodes_without_disco", "remote_nodes_with_unknown_tables",
		"remote_unknown_tables", "remote_nodes_with_missing_tables", "remote_missing_tables",
		"conflict_nodes", "conflict_tables"}
}

type nodeMetrics struct {
	available, unavailable, joined, discovered, discoveryWorks prometheus.Gauge
	totalSessions, uniqueSessions                              prometheus.Gauge
	forwardOut, forwardIn, forwardFailed                       *prometheus.CounterVec
	rttTime                                                    *prometheus.HistogramVec
	cleanupCount                                               prometheus.Counter
	cleanupTime                                                prometheus.Observer
	discoveryTime                                              prometheus.Observer
	discoveryFailed                                            prometheus.Counter
	corrupt                                                    prometheus.Counter
}

func newNodeMetrics(r *metrics.Registry) *nodeMetrics {
	m := &nodeMetrics{
		available:       r.Gauge("cets_info", "available_nodes").WithLabelValues(),
		unavailable:     r.Gauge("cets_info", "unavailable_nodes").WithLabelValues(),
		joined:          r.Gauge("cets_info", "joined_nodes").WithLabelValues(),
		discovered:      r.Gauge("cets_info", "discovered_nodes").WithLabelValues(),
		discoveryWorks:  r.Gauge("cets_info", "discovery_works").WithLabelValues(),
		totalSessions:   r.Gauge("sm_total_sessions", "count").WithLabelValues(),
		uniqueSessions:  r.Gauge("sm_unique_sessions", "count").WithLabelValues(),
		forwardOut:      r.Spiral("cluster_forward_out", "count", "node", "type"),
		forwardIn:       r.Spiral("cluster_forward_in", "count", "node", "type"),
		forwardFailed:   r.Spiral("cluster_forward_failed", "count", "node", "reason"),
		rttTime:         r.Histogram("cluster_rtt", "time", "node"),
		cleanupCount:    r.Spiral("cluster_node_cleanup", "count").WithLabelValues(),
		cleanupTime:     r.Histogram("cluster_node_cleanup", "time").WithLabelValues(),
		discoveryTime:   r.Histogram("cluster_discovery", "time").WithLabelValues(),
		discoveryFailed: r.Spiral("cluster_discovery_failed", "count").WithLabelValues(),
		corrupt:         r.Spiral("cluster_message_corrupt", "count").WithLabelValues(),
	}
	for _, name := range cetsZero() {
		r.Gauge("cets_info", name).WithLabelValues().Set(0)
	}
	return m
}

// peerSeen creates the labelled series of a peer at 0, so a scrape shows
// them before any traffic.
func (m *nodeMetrics) peerSeen(node string) {
	for _, t := range forwardTypes() {
		m.forwardOut.WithLabelValues(node, t)
		m.forwardIn.WithLabelValues(node, t)
	}
	for _, r := range forwardReasons() {
		m.forwardFailed.WithLabelValues(node, r)
	}
	m.rttTime.WithLabelValues(node)
}

func (m *nodeMetrics) rtt(node string, d time.Duration) {
	m.rttTime.WithLabelValues(node).Observe(float64(d.Microseconds()))
}

func (m *nodeMetrics) cleanup(d time.Duration) {
	m.cleanupCount.Inc()
	m.cleanupTime.Observe(float64(d.Microseconds()))
}

func (m *nodeMetrics) discovery(d time.Duration, err error) {
	m.discoveryTime.Observe(float64(d.Microseconds()))
	if err != nil {
		m.discoveryFailed.Inc()
	}
}

// probe refreshes the gauges (every instrumentation.probe_interval).
func (n *Node) probe() {
	st := n.Status()
	m := n.metrics
	m.available.Set(float64(len(st.AvailableNodes)))
	m.unavailable.Set(float64(len(st.UnavailableNodes)))
	m.joined.Set(float64(len(st.JoinedNodes)))
	m.discovered.Set(float64(len(st.DiscoveredNodes)))
	if st.DiscoveryWorks {
		m.discoveryWorks.Set(1)
	} else {
		m.discoveryWorks.Set(0)
	}
	m.totalSessions.Set(float64(n.table.Count()))
	m.uniqueSessions.Set(float64(n.table.UniqueUsers()))
}
