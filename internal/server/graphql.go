package server

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gander-xmpp/gander/internal/api"
	"github.com/gander-xmpp/gander/internal/api/userapi"
	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/mod/muclight"
)

// mountGraphQL serves a mongoose_graphql_handler: the admin schema on the
// admin and domain_admin endpoints, the user schema on the user endpoint
// (docs/api.md).
func (s *Server) mountGraphQL(mux *http.ServeMux, g config.GraphQLHandler) error {
	opts := api.Options{
		Endpoint:          g.SchemaEndpoint,
		Path:              g.Path,
		Username:          g.Username,
		Password:          g.Password,
		AllowedCategories: g.AllowedCategories,
		Limits: api.Limits{MaxRequestSize: g.MaxRequestSize, MaxTokens: g.MaxTokens, MaxDepth: g.MaxDepth,
			MaxFields: g.MaxFields, MaxAliases: g.MaxAliases, MaxComplexity: g.MaxComplexity},
		AllowedHosts: g.AllowedHosts,
	}
	if g.SchemaEndpoint == api.EndpointUser {
		mux.Handle(g.Path, s.instrumentAPI(g.SchemaEndpoint, userapi.NewHandler(opts, s.apiDeps())))
		return nil
	}
	mux.Handle(g.Path, s.instrumentAPI(g.SchemaEndpoint, api.NewHandler(opts, s.apiDeps())))
	return nil
}

// instrumentAPI counts the requests of an endpoint by HTTP status and
// times them (docs/metrics.md).
func (s *Server) instrumentAPI(endpoint string, h http.Handler) http.Handler {
	count := s.metrics.Spiral("graphql_request", "count", "endpoint", "status")
	took := s.metrics.Histogram("graphql_request", "time", "endpoint")
	count.WithLabelValues(endpoint, "200")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		count.WithLabelValues(endpoint, strconv.Itoa(sw.status)).Inc()
		took.WithLabelValues(endpoint).Observe(float64(time.Since(start).Microseconds()))
	})
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// apiDeps builds the services the admin API drives.
func (s *Server) apiDeps() api.Deps {
	node := s.cfg.General.NodeName
	if node == "" {
		node = "gander@localhost"
	}
	d := api.Deps{
		Log:               s.log,
		Accounts:          s.accounts,
		Sessions:          s.router,
		Router:            s.router,
		Last:              s.lastService(),
		Node:              node,
		Version:           Version,
		MaxUsersPerDomain: int(s.cfg.Auth.MaxUsersPerDomain),
		// Modules are configured for all hosts alike ([[host_config]]
		// overrides are not applied yet).
		ModuleEnabled: func(_, module string) bool { return s.cfg.Modules.IsEnabled(module) },
		Subdomain:     s.apiSubdomain,
	}
	// The services of the modules that run (a nil pointer would make a
	// non-nil interface).
	if s.broadcast != nil {
		d.Broadcasts = s.broadcast
	}
	if s.inbox != nil {
		d.Inbox = s.inbox
	}
	if s.mucLight != nil {
		d.MucLight = s.mucLight
	}
	if s.mam != nil {
		d.Mam = s.mam
	}
	if s.presence != nil {
		d.Presence = s.presence
	}
	// spec/server.md §2.3: domain admin passwords need service_domain_db.
	if s.cfg.Services.DomainDB != nil {
		d.DomainAdmins = auth.NewDomainAdminStore(s.db, s.cfg.Auth.Password.ScramIterations)
	}
	return d
}

// apiSubdomain maps a MUC Light domain (under the configured host pattern,
// or the default one when the module is off) to its served domain.
func (s *Server) apiSubdomain(domain string) string {
	pattern := "muclight.@HOST@"
	if o := s.cfg.Modules.MucLight; o != nil && o.Host != "" {
		pattern = o.Host
	}
	for _, d := range s.router.Domains() {
		if muclight.ServiceDomain(pattern, d) == domain {
			return d
		}
	}
	return ""
}

// HTTPAddrs returns the bound HTTP listener addresses (after Start), in
// configuration order.
func (s *Server) HTTPAddrs() []net.Addr {
	var out []net.Addr
	for _, h := range s.http {
		if h.ln != nil {
			out = append(out, h.ln.Addr())
		}
	}
	return out
}
