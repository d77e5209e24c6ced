package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gander-xmpp/gander/internal/config"
)

// mountPrometheus serves the registry in the Prometheus text format.
func (s *Server) mountPrometheus(mux *http.ServeMux, p config.PrometheusHandler) {
	mux.Handle(p.Path, promhttp.HandlerFor(s.metrics.Prometheus(), promhttp.HandlerOpts{}))
}

// mountHealth serves /health (liveness: the process answers HTTP) and
// /health/ready (readiness: the listeners are up and the database answers
// within two seconds; 503 otherwise).
func (s *Server) mountHealth(mux *http.ServeMux) {
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/health/ready", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready: listeners are not up", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.db.SQL.PingContext(ctx); err != nil {
			http.Error(w, "not ready: database unreachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
}
