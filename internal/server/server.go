// Package server is Gander's composition root: it reads the configuration
// and builds the database, accounts, router, features and listeners in
// order, each by constructor, and starts and stops them.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/c2s"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/mod/broadcast"
	"github.com/gander-xmpp/gander/internal/mod/carbons"
	"github.com/gander-xmpp/gander/internal/mod/disco"
	"github.com/gander-xmpp/gander/internal/mod/inbox"
	"github.com/gander-xmpp/gander/internal/mod/last"
	"github.com/gander-xmpp/gander/internal/mod/muc"
	"github.com/gander-xmpp/gander/internal/mod/muclight"
	"github.com/gander-xmpp/gander/internal/mod/offline"
	"github.com/gander-xmpp/gander/internal/mod/ping"
	"github.com/gander-xmpp/gander/internal/mod/presence"
	"github.com/gander-xmpp/gander/internal/mod/roster"
	"github.com/gander-xmpp/gander/internal/mod/version"
	"github.com/gander-xmpp/gander/internal/router"
)

// Version is the server's version, reported by `gander version` and
// XEP-0092.
const Version = "0.1.0-dev"

// Options are what the command line adds to the configuration.
type Options struct {
	// DataDir holds the embedded database and the generated certificate
	// when the configuration does not say otherwise.
	DataDir string
	Log     *slog.Logger
	// DB, when set, is used instead of opening the configured database
	// (tests inject an isolated one); the server then does not close it.
	DB *db.DB
}

// Server is a running Gander node.
type Server struct {
	cfg      *config.Config
	opts     Options
	log      *slog.Logger
	db       *db.DB
	hooks    *hooks.Hooks
	iq       *iq.Registry
	router   *router.Router
	accounts *auth.Accounts
	metrics  *metrics.Registry
	core     *coreMetrics
	presence *presence.Module
	started  time.Time   // when New ran: the uptime XEP-0012 reports for the server
	ready    atomic.Bool // listeners up (readiness)
	mucLight *muclight.Module
	muc      *muc.Module
	c2s      []*c2s.Listener
	http     []*http.Server
	httpLn   []net.Listener
	last     *last.Module
	// broadcast is mod_broadcast, nil when disabled.
	broadcast *broadcast.Module
	inbox     *inbox.Module
	// carbons is mod_carboncopy, nil when disabled.
	carbons *carbons.Module

	stopOnce sync.Once
	stopErr  error
}

// New builds every component from cfg; it opens the database (running
// migrations) but accepts no connections until Start.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Server, error) {
	s := &Server{cfg: cfg, opts: opts, log: opts.Log, started: time.Now()}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.General.DataDir != "" {
		s.opts.DataDir = cfg.General.DataDir
	}
	if s.opts.DataDir == "" {
		s.opts.DataDir = "gander-data"
	}
	if s.db = opts.DB; s.db == nil {
		dbc, err := s.dbConfig()
		if err != nil {
			return nil, err
		}
		if s.db, err = db.Open(ctx, dbc, s.log); err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
	}
	s.metrics = metrics.New()
	s.hooks = &hooks.Hooks{}
	s.core = newCoreMetrics(s.metrics, cfg.Hosts(), mechanisms(cfg.Auth.SASLMechanisms))
	s.core.hook(s.hooks)
	s.db.SetObserver(s.core.observeDB)
	s.iq = iq.NewRegistry(s.log)
	s.iq.SetMetrics(s.metrics)
	store := auth.NewSQLStore(s.db)
	s.accounts = auth.NewAccounts(store, cfg.Auth.Password.ScramIterations, s.hooks)
	s.router = router.New(s.log, cfg.Hosts(), s.hooks, s.iq, store, s.core)
	if err := s.buildModules(); err != nil {
		s.iq.Close()
		if opts.DB == nil {
			s.db.Close()
		}
		return nil, err
	}
	return s, nil
}

func (s *Server) dbConfig() (db.Config, error) {
	conn, ok := s.cfg.RDBMS()
	if !ok || conn.Driver == "sqlite" {
		path := filepath.Join(s.opts.DataDir, "gander.db")
		if ok && conn.Database != "" {
			path = conn.Database
		}
		return db.Config{Driver: "sqlite", Path: path}, nil
	}
	workers := 10
	if p, ok := s.cfg.OutgoingPools.RDBMS["default"]; ok && p.Workers > 0 {
		workers = p.Workers
	}
	return db.Config{Driver: "pgsql", Host: conn.Host, Port: conn.Port, Database: conn.Database,
		Username: conn.Username, Password: conn.Password, MaxConns: workers}, nil
}

func policy(d config.IQDisc, def string) iq.Policy {
	if d.Type == "" {
		return iq.Policy{Type: def}
	}
	return iq.Policy{Type: d.Type, Workers: d.Workers}
}

// buildModules creates the enabled features in dependency order.
func (s *Server) buildModules() error {
	m := s.cfg.Modules
	if m.Roster != nil {
		if _, err := roster.New(s.log, roster.NewSQLStore(s.db), s.router, s.hooks, s.iq, policy(m.Roster.IQDisc, "one_queue")); err != nil {
			return fmt.Errorf("mod_roster: %w", err)
		}
	}
	if m.Offline != nil {
		max := int(m.Offline.MaxMessages)
		om := offline.New(s.log, offline.NewSQLStore(s.db), s.router, s.hooks, max, s.core)
		om.StoreGroupchat = m.Offline.StoreGroupchatMessages
	}
	if m.Disco != nil {
		if _, err := disco.New(s.iq, s.hooks, policy(m.Disco.IQDisc, "one_queue")); err != nil {
			return fmt.Errorf("mod_disco: %w", err)
		}
	}
	if m.MucLight != nil {
		s.buildMucLight()
	}
	if m.Muc != nil {
		s.buildMuc()
	}
	if m.Ping != nil {
		if err := ping.Register(s.iq, policy(m.Ping.IQDisc, "no_queue")); err != nil {
			return fmt.Errorf("mod_ping: %w", err)
		}
	}
	if m.Version != nil {
		if err := version.Register(s.iq, policy(m.Version.IQDisc, "no_queue"), "Gander", Version, m.Version.OSInfo); err != nil {
			return fmt.Errorf("mod_version: %w", err)
		}
	}
	if m.CarbonCopy != nil {
		c, err := carbons.New(carbons.Deps{Log: s.log, Sessions: s.router, Hooks: s.hooks, IQ: s.iq, Metrics: s.metrics},
			policy(m.CarbonCopy.IQDisc, "no_queue"))
		if err != nil {
			return fmt.Errorf("mod_carboncopy: %w", err)
		}
		s.carbons = c
	}
	if m.Last != nil {
		if err := s.buildLast(); err != nil {
			return fmt.Errorf("mod_last: %w", err)
		}
	}
	if err := s.buildBroadcast(); err != nil {
		return fmt.Errorf("mod_broadcast: %w", err)
	}
	if m.Inbox != nil {
		if err := s.buildInbox(); err != nil {
			return fmt.Errorf("mod_inbox: %w", err)
		}
	}
	return nil
}

// Carbons returns mod_carboncopy, or nil when it is not enabled.
func (s *Server) Carbons() *carbons.Module { return s.carbons }

// Accounts returns the account service (used by the CLI and tests).
func (s *Server) Accounts() *auth.Accounts { return s.accounts }

// Metrics returns the metrics registry.
func (s *Server) Metrics() *metrics.Registry { return s.metrics }

// Router returns the routing table.
func (s *Server) Router() *router.Router { return s.router }

// C2SAddrs returns the bound client listener addresses (after Start).
func (s *Server) C2SAddrs() []net.Addr {
	var out []net.Addr
	for _, l := range s.c2s {
		out = append(out, l.Addr())
	}
	return out
}

// Start opens the listeners.
func (s *Server) Start(ctx context.Context) error {
	var pres c2s.Presence
	if s.cfg.Modules.Presence != nil {
		s.presence = presence.New(s.router, s.hooks)
		pres = s.presence
	}
	mechs := mechanisms(s.cfg.Auth.SASLMechanisms)
	for i, lc := range s.cfg.Listen.C2S {
		opts := c2s.Options{
			Addr:                 net.JoinHostPort(lc.IPAddress, strconv.Itoa(lc.Port)),
			MaxStanzaSize:        int(lc.MaxStanzaSize),
			StateTimeout:         time.Duration(lc.StateTimeout) * time.Millisecond,
			Mechanisms:           mechs,
			AllowPlainWithoutTLS: s.cfg.Auth.AllowPlainWithoutTLS,
			MaxConnections:       int(lc.MaxConnections),
		}
		if sh, ok := s.cfg.Shaper[lc.Shaper]; ok && lc.Shaper != "none" {
			opts.BytesPerSecond = sh.MaxRate
		}
		if lc.TLS != nil {
			tc, err := s.tlsConfig(lc.TLS)
			if err != nil {
				s.stopListeners(ctx)
				return fmt.Errorf("listen.c2s[%d].tls: %w", i, err)
			}
			opts.TLSMode, opts.TLSConfig = lc.TLS.Mode, tc
			if opts.TLSMode == "" {
				opts.TLSMode = c2s.TLSStartTLS
			}
		}
		l := c2s.New(opts, c2s.Deps{Log: s.log, Domains: s.cfg.Hosts(), Auth: authenticator{s.accounts.Store()},
			Router: s.router, Hooks: s.hooks, Presence: pres, Metrics: s.core})
		if err := l.Start(ctx); err != nil {
			s.stopListeners(ctx)
			return fmt.Errorf("listen.c2s[%d]: %w", i, err)
		}
		s.c2s = append(s.c2s, l)
	}
	if err := s.startHTTP(ctx); err != nil {
		s.stopListeners(ctx)
		return err
	}
	if err := s.startBroadcast(ctx); err != nil {
		s.stopListeners(ctx)
		return err
	}
	s.ready.Store(true)
	s.log.Info("gander started", "version", Version, "hosts", s.cfg.Hosts(), "database", s.db.Dialect)
	return nil
}

// mechanisms maps MongooseIM's sasl_mechanisms names to the mechanisms
// Gander implements; unimplemented ones are skipped.
func mechanisms(cfg []string) []string {
	if len(cfg) == 0 {
		return []string{auth.MechSCRAMSHA256, auth.MechSCRAMSHA1, auth.MechPLAIN}
	}
	var out []string
	for _, m := range cfg {
		switch m {
		case "scram_sha256":
			out = append(out, auth.MechSCRAMSHA256)
		case "scram_sha1":
			out = append(out, auth.MechSCRAMSHA1)
		case "plain":
			out = append(out, auth.MechPLAIN)
		}
	}
	return out
}

func (s *Server) tlsConfig(t *config.TLS) (*tls.Config, error) {
	cert, key := t.CertFile, t.KeyFile
	if cert == "" {
		var err error
		if cert, key, err = ensureSelfSigned(s.opts.DataDir, s.cfg.Hosts()); err != nil {
			return nil, err
		}
		s.log.Info("using a self-signed certificate", "certfile", cert)
	}
	if key == "" {
		key = cert
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func (s *Server) startHTTP(ctx context.Context) error {
	for i, h := range s.cfg.Listen.HTTP {
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "not found", http.StatusNotFound)
		})
		for _, g := range h.Handlers.GraphQL {
			if err := s.mountGraphQL(mux, g); err != nil {
				return fmt.Errorf("listen.http[%d].handlers.mongoose_graphql_handler: %w", i, err)
			}
		}
		for _, p := range h.Handlers.Prometheus {
			s.mountPrometheus(mux, p)
		}
		s.mountHealth(mux)
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(h.IPAddress, strconv.Itoa(h.Port)))
		if err != nil {
			return fmt.Errorf("listen.http[%d]: %w", i, err)
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
		s.http = append(s.http, srv)
		s.httpLn = append(s.httpLn, ln)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("http listener failed", "addr", ln.Addr().String(), "err", err)
			}
		}()
		s.log.Info("http listening", "addr", ln.Addr().String())
	}
	return nil
}

func (s *Server) stopListeners(ctx context.Context) {
	s.ready.Store(false)
	for _, h := range s.http {
		h.Shutdown(ctx)
	}
	s.http = nil
	for _, l := range s.c2s {
		l.Stop(ctx)
	}
	s.c2s = nil
}

// Stop closes every stream with system-shutdown, drains the IQ workers and
// closes the database, bounded by ctx.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Server) stop(ctx context.Context) error {
	s.stopBroadcast(ctx)
	s.stopListeners(ctx)
	if s.carbons != nil {
		s.carbons.Stop()
	}
	s.iq.Close()
	s.stopMuc()
	s.stopMucLight()
	if err := s.stopLast(ctx); err != nil {
		s.log.Error("mod_last: stop", "err", err)
	}
	if err := s.stopInbox(ctx); err != nil {
		s.log.Error("mod_inbox: stop", "err", err)
	}
	var err error
	if s.opts.DB == nil {
		err = s.db.Close()
	}
	s.log.Info("gander stopped")
	return err
}

// ensureSelfSigned returns a certificate and key in dataDir, creating a
// self-signed pair for hosts the first time.
func ensureSelfSigned(dataDir string, hosts []string) (string, string, error) {
	cert := filepath.Join(dataDir, "selfsigned.pem")
	key := filepath.Join(dataDir, "selfsigned.key")
	if _, err := os.Stat(cert); err == nil {
		return cert, key, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", "", err
	}
	certPEM, keyPEM, err := selfSigned(hosts)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(cert, certPEM, 0o644); err != nil {
		return "", "", err
	}
	return cert, key, nil
}
