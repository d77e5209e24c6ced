package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
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

// buildHTTP creates the HTTP listeners of [[listen.http]] with their
// handlers; they bind at Start.
func (s *Server) buildHTTP() error {
	for i, h := range s.cfg.Listen.HTTP {
		mux := http.NewServeMux()
		s.mountIndex(mux, h)
		for _, g := range h.Handlers.GraphQL {
			if err := s.mountGraphQL(mux, g); err != nil {
				return fmt.Errorf("listen.http[%d].handlers.mongoose_graphql_handler: %w", i, err)
			}
		}
		for _, p := range h.Handlers.Prometheus {
			s.mountPrometheus(mux, p)
		}
		s.mountHealth(mux)
		l := &httpListener{addr: net.JoinHostPort(h.IPAddress, strconv.Itoa(h.Port)), log: s.log,
			srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}}
		s.http = append(s.http, l)
		s.life.add(fmt.Sprintf("listen.http[%d]", i), l)
	}
	return nil
}

// httpListener is one [[listen.http]] as a component.
type httpListener struct {
	addr string
	log  *slog.Logger
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve has returned
}

// Start binds the port and serves it until Stop.
func (h *httpListener) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", h.addr)
	if err != nil {
		return err
	}
	h.ln, h.done = ln, make(chan struct{})
	go func() {
		defer close(h.done)
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("http listener failed", "addr", ln.Addr().String(), "err", err)
		}
	}()
	h.log.Info("http listening", "addr", ln.Addr().String())
	return nil
}

// Stop stops accepting and waits for the requests in progress, bounded by
// ctx.
func (h *httpListener) Stop(ctx context.Context) error {
	if h.ln == nil {
		return nil
	}
	err := h.srv.Shutdown(ctx)
	<-h.done
	return err
}
