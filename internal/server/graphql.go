package server

import (
	"context"
	"net"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/gander-xmpp/gander/internal/api"
	"github.com/gander-xmpp/gander/internal/api/userapi"
	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/xmlstream"
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
		Accounts:          apiAccounts{s.accounts},
		Sessions:          &apiSessions{s: s},
		Router:            s.router,
		Last:              s.lastService(),
		Broadcasts:        s.broadcastService(),
		Inbox:             s.inboxService(),
		Node:              node,
		Version:           Version,
		MaxUsersPerDomain: int(s.cfg.Auth.MaxUsersPerDomain),
		// Modules are configured for all hosts alike ([[host_config]]
		// overrides are not applied yet).
		ModuleEnabled: func(_, module string) bool { return s.cfg.Modules.IsEnabled(module) },
		Subdomain:     s.apiSubdomain,
		MucLight:      s.apiMucLight(),
	}
	// spec/server.md §2.3: domain admin passwords need service_domain_db.
	if s.cfg.Services.DomainDB != nil {
		d.DomainAdmins = auth.NewDomainAdminStore(s.db, s.cfg.Auth.Password.ScramIterations)
	}
	return d
}

// apiAccounts adds the store's queries to the account service.
type apiAccounts struct{ *auth.Accounts }

func (a apiAccounts) UserExists(ctx context.Context, server, username string) (bool, error) {
	return a.Store().UserExists(ctx, server, username)
}

func (a apiAccounts) ListUsers(ctx context.Context, server string, limit, offset int) ([]string, error) {
	return a.Store().ListUsers(ctx, server, limit, offset)
}

func (a apiAccounts) CountUsers(ctx context.Context, server string) (int, error) {
	return a.Store().CountUsers(ctx, server)
}

// apiSessions is the session table of this node as the API sees it.
type apiSessions struct{ s *Server }

func info(rs router.Session) api.SessionInfo {
	si := rs.Info()
	i := api.SessionInfo{JID: si.JID, Connection: si.Connection, Since: si.Since,
		Available: si.Available, Priority: si.Priority, Show: si.Show, Status: si.Status}
	if si.Addr.IsValid() {
		i.IP, i.Port = si.Addr.Addr().String(), int(si.Addr.Port())
	}
	return i
}

func (a *apiSessions) List(domain string) []api.SessionInfo {
	var out []api.SessionInfo
	for _, rs := range a.s.router.AllSessions() {
		if domain != "" && rs.JID().Domain() != domain {
			continue
		}
		out = append(out, info(rs))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID.String() < out[j].JID.String() })
	return out
}

func (a *apiSessions) User(bare jid.JID) []api.SessionInfo {
	var out []api.SessionInfo
	for _, rs := range a.s.router.Sessions(bare) {
		out = append(out, info(rs))
	}
	return out
}

func (a *apiSessions) Kick(ctx context.Context, user jid.JID, reason string) int {
	var targets []router.Session
	for _, rs := range a.s.router.Sessions(user.Bare()) {
		if user.IsBare() || rs.JID() == user {
			targets = append(targets, rs)
		}
	}
	for _, rs := range targets {
		rs.Kick(reason)
	}
	return len(targets)
}

func (a *apiSessions) SetPresence(ctx context.Context, full jid.JID, p *xmlstream.Element) bool {
	rs := a.s.router.Session(full)
	if rs == nil {
		return false
	}
	if a.s.presence != nil {
		a.s.presence.FromClient(ctx, rs, p)
		return true
	}
	// Without mod_presence only the session's own state changes.
	if p.Attr("type") == "unavailable" {
		rs.SetPresence(nil, 0)
	} else {
		rs.SetPresence(p, 0)
	}
	return true
}

// HTTPAddrs returns the bound HTTP listener addresses (after Start), in
// configuration order.
func (s *Server) HTTPAddrs() []net.Addr {
	var out []net.Addr
	for _, l := range s.httpLn {
		out = append(out, l.Addr())
	}
	return out
}
