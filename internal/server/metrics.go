package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/metrics"
)

// coreMetrics instruments the XMPP core, offline storage and the
// database with the names of docs/metrics.md. It implements c2s.Metrics,
// router.Metrics and offline.Metrics; it is safe for concurrent use.
type coreMetrics struct {
	connections  prometheus.Gauge
	authOK       *prometheus.CounterVec
	authFailed   *prometheus.CounterVec
	xmlErrors    prometheus.Counter
	queueDropped prometheus.Counter
	refused      prometheus.Counter
	nodeSessions prometheus.Gauge
	logins       *prometheus.CounterVec
	logouts      *prometheus.CounterVec
	routed       *prometheus.CounterVec
	stanzaErrors *prometheus.CounterVec
	offStored    prometheus.Counter
	offDelivered prometheus.Counter
	dbCalls      *prometheus.CounterVec
	dbErrors     *prometheus.CounterVec
	dbTime       *prometheus.HistogramVec
}

// newCoreMetrics registers the core metrics; spirals and counters exist
// with value 0 from the start (spec/server.md §4), the per-host ones for
// every host.
func newCoreMetrics(r *metrics.Registry, hosts []string, mechanisms []string) *coreMetrics {
	m := &coreMetrics{
		connections:  r.Counter("c2s_connections", "count").WithLabelValues(),
		authOK:       r.Spiral("c2s_auth_success", "count", "mechanism"),
		authFailed:   r.Spiral("c2s_auth_failed", "count", "mechanism"),
		xmlErrors:    r.Spiral("c2s_xml_parse_error", "count").WithLabelValues(),
		queueDropped: r.Spiral("c2s_outbound_queue_dropped", "count").WithLabelValues(),
		refused:      r.Spiral("c2s_connections_refused", "count").WithLabelValues(),
		nodeSessions: r.Counter("sm_node_sessions", "count").WithLabelValues(),
		logins:       r.Spiral("sm_session", "logins_count", "host_type"),
		logouts:      r.Spiral("sm_session", "logouts_count", "host_type"),
		routed:       r.Spiral("router_routed", "count", "type"),
		stanzaErrors: r.Spiral("router_stanza_error", "count", "condition"),
		offStored:    r.Spiral("mod_offline_stored", "count").WithLabelValues(),
		offDelivered: r.Spiral("mod_offline_delivered", "count").WithLabelValues(),
		dbCalls:      r.Spiral("rdbms_query", "count", "function"),
		dbErrors:     r.Spiral("rdbms_query", "error_count", "function"),
		dbTime:       r.Histogram("rdbms_query", "time", "function"),
	}
	for _, h := range hosts {
		m.logins.WithLabelValues(h)
		m.logouts.WithLabelValues(h)
	}
	for _, mech := range mechanisms {
		m.authOK.WithLabelValues(mech)
		m.authFailed.WithLabelValues(mech)
	}
	for _, t := range []string{"message", "presence", "iq"} {
		m.routed.WithLabelValues(t)
	}
	return m
}

// hook counts logins and logouts per host type from the session events.
func (m *coreMetrics) hook(h *hooks.Hooks) {
	h.SessionOpened.Add(0, "metrics", func(_ context.Context, ev *hooks.SessionEvent) bool {
		m.logins.WithLabelValues(ev.JID.Domain()).Inc()
		return false
	})
	h.SessionClosed.Add(0, "metrics", func(_ context.Context, ev *hooks.SessionEvent) bool {
		m.logouts.WithLabelValues(ev.JID.Domain()).Inc()
		return false
	})
}

func (m *coreMetrics) Connected(delta int) { m.connections.Add(float64(delta)) }

func (m *coreMetrics) Login(mechanism string, ok bool) {
	if ok {
		m.authOK.WithLabelValues(mechanism).Inc()
	} else {
		m.authFailed.WithLabelValues(mechanism).Inc()
	}
}

func (m *coreMetrics) XMLError()              { m.xmlErrors.Inc() }
func (m *coreMetrics) QueueDropped()          { m.queueDropped.Inc() }
func (m *coreMetrics) Refused()               { m.refused.Inc() }
func (m *coreMetrics) SessionCount(delta int) { m.nodeSessions.Add(float64(delta)) }
func (m *coreMetrics) Routed(kind string)     { m.routed.WithLabelValues(kind).Inc() }
func (m *coreMetrics) StanzaError(condition string) {
	m.stanzaErrors.WithLabelValues(condition).Inc()
}
func (m *coreMetrics) OfflineStored()         { m.offStored.Inc() }
func (m *coreMetrics) OfflineDelivered(n int) { m.offDelivered.Add(float64(n)) }

// observeDB records one database call (times in microseconds).
func (m *coreMetrics) observeDB(function string, took time.Duration, failed bool) {
	m.dbCalls.WithLabelValues(function).Inc()
	if failed {
		m.dbErrors.WithLabelValues(function).Inc()
	}
	m.dbTime.WithLabelValues(function).Observe(float64(took.Microseconds()))
}
