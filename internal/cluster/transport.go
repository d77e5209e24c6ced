package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Subjects all start with gander.<cluster name>. (docs/cluster.md,
// "Transport"); a node name inside a subject is hex-encoded, so that it
// holds no '.', '*', '>' or whitespace.
type subjects struct {
	prefix string
}

// state is where a node publishes heartbeats, table changes and its
// departure, in order.
func (s subjects) state(node string) string {
	return s.prefix + "state." + hex.EncodeToString([]byte(node))
}

// stateAll matches the state subjects of every node.
func (s subjects) stateAll() string { return s.prefix + "state.*" }

// control is where a node answers requests (ping, snapshot, name check).
func (s subjects) control(node string) string {
	return s.prefix + "ctl." + hex.EncodeToString([]byte(node))
}

// routeUser is the user name of route connections authenticated by
// cluster.secret.
const routeUser = "gander"

// embedded is this node's NATS server (embedded mode).
type embedded struct {
	srv  *server.Server
	opts *server.Options
	user *url.Userinfo
}

// startEmbedded starts a NATS server with no client port and a route
// listener on listen ("host:port"; port 0 picks a free one).
func startEmbedded(cfg *Config, instance string, log *slog.Logger) (*embedded, error) {
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen %q: bad port", cfg.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, fmt.Errorf("cluster: token: %w", err)
	}
	opts := &server.Options{
		// NATS refuses a route between two servers of one name; the
		// instance id lets two processes claiming one node name meet, so
		// that the starting one finds the live one and refuses to run.
		ServerName: cfg.NodeName + "#" + instance,
		// The node talks to its server in-process. nats-server starts its
		// routes only once the client listener is up (with DontListen it
		// never does), so a client port exists: on loopback, on a random
		// port, open only to a random token that never leaves the process.
		Host:            "127.0.0.1",
		Port:            server.RANDOM_PORT,
		Authorization:   hex.EncodeToString(tok[:]),
		NoSigs:          true,
		NoSystemAccount: true,
		MaxPayload:      int32(cfg.MaxPayload),
		Cluster: server.ClusterOpts{
			Name:      cfg.ClusterName,
			Host:      host,
			Port:      port,
			Advertise: cfg.Advertise,
			// One route connection per pair of nodes: every forward to a
			// node travels one ordered path (RFC 6120 §10.1 order).
			PoolSize: -1,
		},
	}
	e := &embedded{opts: opts}
	if cfg.Secret != "" {
		opts.Cluster.Username = routeUser
		opts.Cluster.Password = cfg.Secret
		e.user = url.UserPassword(routeUser, cfg.Secret)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: embedded NATS server: %w", err)
	}
	srv.SetLoggerV2(natsLogger{log.With("component", "nats")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("cluster: embedded NATS server did not start (route listener %s)", cfg.Listen)
	}
	e.srv = srv
	return e, nil
}

// routeAddr is the bound route listener address.
func (e *embedded) routeAddr() string {
	if a := e.srv.ClusterAddr(); a != nil {
		return a.String()
	}
	return ""
}

// setRoutes makes the server solicit routes to exactly addrs.
func (e *embedded) setRoutes(addrs []string) error {
	opts := e.opts.Clone()
	opts.Routes = nil
	for _, a := range addrs {
		opts.Routes = append(opts.Routes, &url.URL{Scheme: "nats-route", Host: a, User: e.user})
	}
	if err := e.srv.ReloadOptions(opts); err != nil {
		return fmt.Errorf("cluster: routes: %w", err)
	}
	e.opts = opts
	return nil
}

func (e *embedded) shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// natsLogger sends the embedded server's log lines to slog: notices at
// debug level (route connects are frequent and normal), warnings and
// errors as such.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Errorf(format string, v ...any)  { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l natsLogger) Debugf(format string, v ...any)  {}
func (l natsLogger) Tracef(format string, v ...any)  {}

// connect opens this node's NATS connection: in-process to the embedded
// server, or to the external deployment.
func connect(cfg *Config, e *embedded, log *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(cfg.NodeName),
		// This node never needs its own publications back.
		nats.NoEcho(),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Warn("cluster: NATS error", "subject", subj, "err", err)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("cluster: NATS connection lost", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("cluster: NATS reconnected", "url", c.ConnectedUrlRedacted()) }),
		nats.NoCallbacksAfterClientClose(),
	}
	if e != nil {
		opts = append(opts, nats.InProcessServer(e.srv), nats.Token(e.opts.Authorization))
		nc, err := nats.Connect("", opts...)
		if err != nil {
			return nil, fmt.Errorf("cluster: connect to the embedded NATS server: %w", err)
		}
		return nc, nil
	}
	opts = append(opts, nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	nc, err := nats.Connect(strings.Join(cfg.NATSURLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS: %w", err)
	}
	return nc, nil
}
