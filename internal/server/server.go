// Package server is Gander's composition root: it reads the configuration
// and builds the database, accounts, router, features and listeners in
// order, each by constructor, and starts and stops them.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/c2s"
	"github.com/gander-xmpp/gander/internal/cluster"
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
	"github.com/gander-xmpp/gander/internal/mod/mam"
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
	// DataDir holds the embedded database and the generated certificate;
	// "" means general.data_dir.
	DataDir string
	Log     *slog.Logger
	// DB, when set, is used instead of opening the configured database
	// (tests inject an isolated one); the server then does not close it.
	DB *db.DB
	// MustExist makes New fail with ErrNoDatabase instead of creating a
	// new embedded database file (`gander register` without --create).
	MustExist bool
}

// ErrNoDatabase is returned by New with Options.MustExist when the
// embedded database file does not exist yet.
var ErrNoDatabase = errors.New("no database")

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
	started  time.Time   // when New ran: the uptime XEP-0012 reports for the server
	ready    atomic.Bool // listeners up (readiness)

	// The features the admin API and tests reach; nil when disabled.
	presence  *presence.Module
	mucLight  *muclight.Module
	muc       *muc.Module
	last      *last.Module
	broadcast *broadcast.Module
	inbox     *inbox.Module
	carbons   *carbons.Module
	mam       *mam.Module

	// cluster is this node's cluster membership, nil on a single node.
	cluster *cluster.Node

	c2s  []*c2s.Listener
	http []*httpListener

	// life lists every long-lived component once, in start order; Stop
	// stops them in reverse (lifecycle.go).
	life lifecycle

	stopOnce sync.Once
	stopErr  error
}

// New builds every component from cfg, in the order they start; it opens
// the database (running migrations) but registers nothing with the core
// and accepts no connections until Start.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Server, error) {
	if err := Validate(cfg); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, opts: opts, log: opts.Log, started: time.Now()}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.life.log = s.log
	if s.opts.DataDir == "" {
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
		if dbc.Driver == db.SQLite && opts.MustExist {
			if _, err := os.Stat(dbc.Path); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s", ErrNoDatabase, dbc.Path)
			}
		}
		if s.db, err = db.Open(ctx, dbc, s.log); err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
	}
	s.life.addRunning("database", database{s.db, opts.DB == nil})
	s.metrics = metrics.New()
	registerRuntimeMetrics(s.metrics)
	s.hooks = &hooks.Hooks{}
	s.core = newCoreMetrics(s.metrics, cfg.Hosts(), mechanisms(cfg.Auth.SASLMechanisms))
	s.core.hook(s.hooks)
	s.db.SetObserver(s.core.observeDB)
	s.iq = iq.NewRegistry(s.log)
	s.iq.SetMetrics(s.metrics)
	s.life.add("iq", s.iq)
	store := auth.NewSQLStore(s.db)
	s.accounts = auth.NewAccounts(store, cfg.Auth.Password.ScramIterations, s.hooks)
	s.router = router.New(s.log, cfg.Hosts(), s.hooks, s.iq, store, s.core)
	err := s.buildCluster()
	if err == nil {
		err = s.buildModules()
	}
	if err == nil {
		err = s.buildBroadcast()
	}
	if err == nil {
		err = s.buildListeners()
	}
	if err == nil && s.broadcast != nil {
		// mod_broadcast is built with the features (the admin API drives
		// it) but comes last in the lifecycle: it starts once the
		// listeners are up and stops first, so that no job runs while
		// sessions close.
		s.life.add("mod_broadcast", s.broadcast)
	}
	if err != nil {
		s.life.stop(context.WithoutCancel(ctx))
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
		Username: conn.Username, Password: conn.Password, MaxConns: workers,
		StatementTimeout: time.Duration(conn.QueryTimeout) * time.Millisecond}, nil
}

// database is the database as a component: opened by New, closed by Stop
// unless it was injected (Options.DB).
type database struct {
	db    *db.DB
	owned bool
}

func (d database) Start(context.Context) error { return nil }

func (d database) Stop(context.Context) error {
	if !d.owned {
		return nil
	}
	return d.db.Close()
}

// builder builds the features, keeping the first error.
type builder struct {
	s   *Server
	err error
}

// feature builds one feature from its configuration section and adds it to
// the lifecycle under its MongooseIM name. A nil section (the module is not
// enabled), or an earlier error, builds nothing.
func feature[C any, M Component](b *builder, name string, cfg *C, build func(C) (M, error)) M {
	var zero M
	if cfg == nil || b.err != nil {
		return zero
	}
	m, err := build(*cfg)
	if err != nil {
		b.err = fmt.Errorf("%s: %w", name, err)
		return zero
	}
	b.s.life.add(name, m)
	return m
}

// buildModules creates the enabled features in dependency order: the order
// in which they register their hooks (ties in a hook chain run in that
// order) and the reverse of the order in which they stop.
func (s *Server) buildModules() error {
	m := s.cfg.Modules
	b := &builder{s: s}
	feature(b, "mod_roster", m.Roster, func(c config.ModRoster) (*roster.Module, error) {
		return roster.New(roster.Deps{Log: s.log, Store: roster.NewSQLStore(s.db), Router: s.router, Hooks: s.hooks, IQ: s.iq}, c)
	})
	feature(b, "mod_offline", m.Offline, func(c config.ModOffline) (*offline.Module, error) {
		return offline.New(offline.Deps{Log: s.log, Store: offline.NewSQLStore(s.db), Router: s.router, Hooks: s.hooks, Metrics: s.core}, c)
	})
	feature(b, "mod_disco", m.Disco, func(c config.ModDisco) (*disco.Module, error) {
		return disco.New(disco.Deps{IQ: s.iq, Hooks: s.hooks}, c)
	})
	s.mucLight = feature(b, "mod_muc_light", m.MucLight, s.newMucLight)
	s.muc = feature(b, "mod_muc", m.Muc, func(c config.ModMuc) (*muc.Module, error) {
		return muc.New(muc.Deps{Log: s.log, Router: s.router, Hooks: s.hooks, Metrics: s.metrics, Domains: s.cfg.Hosts()}, c)
	})
	s.mam = feature(b, "mod_mam", m.Mam, s.newMam)
	feature(b, "mod_ping", m.Ping, func(c config.ModPing) (*ping.Module, error) {
		return ping.New(ping.Deps{IQ: s.iq}, c)
	})
	feature(b, "mod_version", m.Version, func(c config.ModVersion) (*version.Module, error) {
		return version.New(version.Deps{IQ: s.iq, Name: "Gander", Version: Version}, c)
	})
	s.carbons = feature(b, "mod_carboncopy", m.CarbonCopy, func(c config.ModCarbonCopy) (*carbons.Module, error) {
		return carbons.New(carbons.Deps{Log: s.log, Sessions: s.router, Hooks: s.hooks, IQ: s.iq, Metrics: s.metrics}, c)
	})
	s.last = feature(b, "mod_last", m.Last, s.newLast)
	s.inbox = feature(b, "mod_inbox", m.Inbox, s.newInbox)
	s.presence = feature(b, "mod_presence", m.Presence, func(c config.ModPresence) (*presence.Module, error) {
		return presence.New(presence.Deps{Router: s.router, Hooks: s.hooks}, c)
	})
	return b.err
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
		if a := l.Addr(); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// buildListeners creates the client and HTTP listeners; they bind their
// ports at Start.
func (s *Server) buildListeners() error {
	var pres c2s.Presence
	if s.presence != nil {
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
		opts.BytesPerSecond = s.cfg.ListenerShaper(lc)
		if lc.TLS != nil {
			tc, err := s.tlsConfig(lc.TLS)
			if err != nil {
				return fmt.Errorf("listen.c2s[%d].tls: %w", i, err)
			}
			opts.TLSMode, opts.TLSConfig = lc.TLS.Mode, tc
			if opts.TLSMode == "" {
				opts.TLSMode = c2s.TLSStartTLS
			}
		}
		l := c2s.New(opts, c2s.Deps{Log: s.log, Domains: s.cfg.Hosts(), Auth: authenticator{s.accounts.Store()},
			Router: s.router, Hooks: s.hooks, Presence: pres, Metrics: s.core})
		s.c2s = append(s.c2s, l)
		s.life.add(fmt.Sprintf("listen.c2s[%d]", i), l)
	}
	return s.buildHTTP()
}

// Start starts every component in order: the core, the features (which
// register their hooks, IQ handlers and services), then the listeners.
func (s *Server) Start(ctx context.Context) error {
	if err := s.life.start(ctx); err != nil {
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

// Stop stops every component in the reverse order of their start: the
// listeners first (every stream gets system-shutdown), then the features
// (draining their writers), the IQ registry and the database, bounded by
// ctx.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.ready.Store(false)
		s.stopErr = s.life.stop(ctx)
		s.log.Info("gander stopped")
	})
	return s.stopErr
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
