package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/broadcast"
	"github.com/gander-xmpp/gander/internal/wait"
)

// pgProxy is a TCP proxy in front of PostgreSQL that a test can cut (all
// connections dropped, new ones refused) and restore: the database "goes
// away" for the server without touching the real one.
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &pgProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *pgProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *pgProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// TestBroadcastSafetyModeWhenDatabaseGoesAway cuts the node's connection
// to PostgreSQL in the middle of a job: the node enters safety mode (the
// worker pauses, new jobs are refused), and when the database is back it
// resumes the job and finishes it.
func TestBroadcastSafetyModeWhenDatabaseGoesAway(t *testing.T) {
	t.Parallel()
	direct := dbtest.Open(t, db.PostgreSQL)
	var name string
	require.NoError(t, direct.QueryRowContext(t.Context(), `SELECT current_database()`).Scan(&name))
	base := os.Getenv(dbtest.EnvPostgresDSN)
	if base == "" {
		base = dbtest.DefaultPostgresDSN
	}
	u, err := url.Parse(base)
	require.NoError(t, err)
	proxy := newPGProxy(t, u.Host)
	u.Host, u.Path = proxy.ln.Addr().String(), "/"+name
	viaProxy, err := db.Open(t.Context(), db.Config{Driver: db.PostgreSQL, DSN: u.String(), MaxConns: 4}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { viaProxy.Close() })

	s := startServer(t, viaProxy, withBroadcast("gander@a", 10))
	var names []string
	for i := range 300 {
		names = append(names, fmt.Sprintf("u%04d", i))
	}
	s.addAccounts(t, names)
	ctx := context.Background()
	id, err := s.Broadcast().StartBroadcast(ctx, broadcast.StartRequest{Name: "outage", Domain: "localhost",
		Body: "b", Sender: jid.MustParse("u0000@localhost"), MessageRate: 10})
	require.NoError(t, err)
	processed := testutil.ToFloat64 // shorthand
	metric := s.Metrics().Spiral("mod_broadcast_recipients_processed", "count", "host_type").WithLabelValues("localhost")
	wait.Until(t, 5*time.Second, func() error {
		if n := processed(metric); n < 2 {
			return fmt.Errorf("%v recipients processed", n)
		}
		return nil
	})

	proxy.cut()
	// The next lease sync (at most 2/3 × 10 s away) fails: safety mode.
	waitSafetyMode(t, s, true, 20*time.Second)
	wait.Until(t, 5*time.Second, func() error {
		if st := s.Broadcast().WorkerStates()[id]; st != "paused" {
			return fmt.Errorf("worker %s", st)
		}
		return nil
	})
	_, err = s.Broadcast().StartBroadcast(ctx, broadcast.StartRequest{Name: "x", Domain: "localhost",
		Body: "b", Sender: jid.MustParse("u0000@localhost"), MessageRate: 10})
	require.ErrorIs(t, err, broadcast.ErrTemporarilyUnavailable)
	paused := processed(metric)
	// Nothing goes out while paused, checked across two more sync cycles
	// of the node: each begins a transaction that fails, and they run a
	// safety interval apart (min(30 s, lease/10) = 1 s, ten send periods at
	// 10 msg/s). The node's own retries are the clock, not a sleep.
	failedBegins := s.Metrics().Spiral("rdbms_query", "error_count", "function").WithLabelValues("begin")
	since := processed(failedBegins)
	wait.Until(t, 10*time.Second, func() error {
		if n := processed(failedBegins) - since; n < 2 {
			return fmt.Errorf("%v failed sync cycles since the pause, want 2", n)
		}
		return nil
	})
	require.Equal(t, paused, processed(metric), "a paused worker sends nothing")
	require.Equal(t, "paused", s.Broadcast().WorkerStates()[id])

	proxy.restore()
	waitSafetyMode(t, s, false, 10*time.Second)
	wait.Until(t, 10*time.Second, func() error {
		if n := processed(metric); n <= paused {
			return fmt.Errorf("%v recipients processed, as when paused", n)
		}
		return nil
	})
	// Finish quickly: abort is not what we test, so let it run at its rate
	// only until we see it going again, then check the job is healthy.
	j, err := s.Broadcast().GetBroadcast(ctx, "localhost", id)
	require.NoError(t, err)
	require.Equal(t, broadcast.StateRunning, j.State)
	require.Equal(t, "gander@a", j.OwnerNode)
	_, err = s.Broadcast().AbortBroadcast(ctx, "localhost", id)
	require.NoError(t, err)
}
