// Package servertest starts real Gander servers for tests, in-process: the
// end-to-end tests of internal/server and the tests of the commands
// (cmd/gander, cmd/gander-bench) use it alike. A server listens on random
// loopback ports, uses cheap SCRAM iterations, logs to the test's output and
// is stopped when the test ends. Main is the TestMain of such packages.
//
// See docs/architecture.md, "Tests".
package servertest

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/server"
)

// Admin credentials of the admin endpoint WithAdminAPI configures.
const (
	AdminUser     = "admin"
	AdminPassword = "secret"
)

// NodeName is the node name of Config: a fixed one, whatever the machine's
// hostname (the default is gander@<hostname>), so that tests can check it in
// API messages.
const NodeName = "gander@localhost"

// Server is a Gander server started for one test.
type Server struct {
	*server.Server
	// Addr is the address of the first c2s listener.
	Addr string
}

// Config returns the default configuration as tests start it: node name
// NodeName and no HTTP listener (add one, or call WithAdminAPI).
func Config() *config.Config {
	cfg := config.Default()
	cfg.Listen.HTTP = nil
	cfg.General.NodeName = NodeName
	return cfg
}

// WithAdminAPI sets cfg's HTTP listeners to one on 127.0.0.1 with the admin
// GraphQL endpoint at /api/graphql, credentials AdminUser and AdminPassword,
// and returns cfg. Server.AdminURL is its address.
func WithAdminAPI(cfg *config.Config) *config.Config {
	cfg.Listen.HTTP = []config.HTTP{{IPAddress: "127.0.0.1", Handlers: config.Handlers{GraphQL: []config.GraphQLHandler{
		{Host: "_", Path: "/api/graphql", SchemaEndpoint: "admin", Username: AdminUser, Password: AdminPassword}}}}}
	return cfg
}

// AdminURL is the URL of the admin endpoint of a server started with
// WithAdminAPI.
func (s *Server) AdminURL() string {
	return "http://" + s.HTTPAddrs()[0].String() + "/api/graphql"
}

// Start starts a server with cfg (nil: Config()) on the database d (nil: the
// one cfg names, by default the embedded SQLite file in a temporary data
// directory) and stops it when the test ends. Every c2s and HTTP listener
// moves to port 0 (a random free port) and passwords get 4096 SCRAM
// iterations (cheap, and still accepted by every client library). Log lines
// of level warning and above go to the test's output; all levels with the
// environment variable GANDER_TEST_LOG set.
func Start(t testing.TB, cfg *config.Config, d *db.DB) *Server {
	t.Helper()
	if cfg == nil {
		cfg = Config()
	}
	for i := range cfg.Listen.C2S {
		cfg.Listen.C2S[i].Port = 0
	}
	for i := range cfg.Listen.HTTP {
		cfg.Listen.HTTP[i].Port = 0
	}
	cfg.Auth.Password.ScramIterations = 4096
	ctx := context.Background()
	srv, err := server.New(ctx, cfg, server.Options{DataDir: t.TempDir(), Log: Logger(t), DB: d})
	if err != nil {
		t.Fatalf("servertest: new server: %v", err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("servertest: start server: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(sctx); err != nil {
			t.Errorf("servertest: stop server: %v", err)
		}
	})
	s := &Server{Server: srv}
	if addrs := srv.C2SAddrs(); len(addrs) > 0 {
		s.Addr = addrs[0].String()
	}
	return s
}

// Logger returns a logger that writes to t's output: warnings and above, all
// levels with GANDER_TEST_LOG set. Lines logged after the test's cleanups
// began to end (by a goroutine that outlived its server) are dropped, since
// a finished test has no output.
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("GANDER_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	w := &testOutput{w: t.Output()}
	// Cleanups run last-registered first: this one runs after those
	// registered later, such as the server's stop.
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// testOutput passes writes to a test's output until it is closed.
type testOutput struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (o *testOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return len(p), nil
	}
	return o.w.Write(p)
}

func (o *testOutput) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
}

// heavyTurn admits one heavy test at a time (see Heavy).
var heavyTurn = make(chan struct{}, 1)

// Heavy makes t wait until no other heavy test of this process runs, and
// keeps the turn until t ends. Heavy tests put thousands of stanzas or
// hundreds of connections through a server, or pace work by the clock
// (broadcast rates, leases), with waits sized for a server that has most of
// the machine to itself; run among other tests on a busy machine they miss
// those waits. Such a test does not call t.Parallel, so go test runs it
// alone, before the parallel tests; Heavy, called in each of its subtests,
// keeps the subtests that dbtest.ForEach runs in parallel one at a time too.
func Heavy(t testing.TB) {
	t.Helper()
	heavyTurn <- struct{}{}
	t.Cleanup(func() { <-heavyTurn })
}

// Main is the TestMain of a package of end-to-end tests. Such tests spend
// most of their time waiting on sockets and databases, not on the CPU, so
// unless -test.parallel is given it lets 4 × GOMAXPROCS tests that call
// t.Parallel run at once (go test's default is GOMAXPROCS). It then runs the
// tests and fails the package if any goroutine outlives them (goleak): every
// listener, session, writer and worker a server starts must end on Stop.
func Main(m *testing.M, opts ...goleak.Option) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		if err := flag.Set("test.parallel", fmt.Sprint(4*runtime.GOMAXPROCS(0))); err != nil {
			fmt.Fprintln(os.Stderr, "servertest:", err)
			os.Exit(2)
		}
	}
	goleak.VerifyTestMain(m, opts...)
}
