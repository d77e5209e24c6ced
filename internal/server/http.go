package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gander-xmpp/gander/internal/config"
)

// mountPrometheus serves the registry in the Prometheus text format.
func (s *Server) mountPrometheus(mux *http.ServeMux, p config.PrometheusHandler) {
	mux.Handle(p.Path, promhttp.HandlerFor(s.metrics.Prometheus(), promhttp.HandlerOpts{}))
}

// mountHealth serves /health (liveness).
func (s *Server) mountHealth(mux *http.ServeMux) {
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
}
