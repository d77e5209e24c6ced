package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/wait"
)

// TestMain fails the package if a goroutine outlives the tests: every
// node, embedded server and loop must end on Stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// nats.go's global timer pool and the server's shared helpers.
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*Server).handleSignals.func1"),
	)
}

func randomName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// testLog logs warnings and errors into the test's output
// (GANDER_TEST_LOG=debug: everything).
func testLog(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("GANDER_TEST_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

// recorder records the events a node raises.
type recorder struct {
	mu        sync.Mutex
	down      []Member
	droppedBy map[string][]Entry
	cleaned   []Member
	conflicts []Entry
	removed   []Entry
}

func (r *recorder) events() Events {
	return Events{
		NodeDown: func(_ context.Context, m Member, dropped []Entry) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.down = append(r.down, m)
			if r.droppedBy == nil {
				r.droppedBy = map[string][]Entry{}
			}
			r.droppedBy[m.Instance] = dropped
		},
		Cleanup: func(_ context.Context, m Member, _ []Entry) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.cleaned = append(r.cleaned, m)
		},
		Conflict: func(e Entry) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.conflicts = append(r.conflicts, e)
		},
		Removed: func(e Entry) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.removed = append(r.removed, e)
		},
	}
}

func (r *recorder) snapshot() (down, cleaned []Member, conflicts []Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Member(nil), r.down...), append([]Member(nil), r.cleaned...), append([]Entry(nil), r.conflicts...)
}

// testNode is a node started for a test with its recorder.
type testNode struct {
	*Node
	rec *recorder
	reg *metrics.Registry
}

// nodeOpts are the variable parts of a test node.
type nodeOpts struct {
	name, cluster string
	disc          Discovery
	listen        string // default 127.0.0.1:0
	advertise     string
	natsURLs      []string
	secret        string
	timeout       time.Duration // default 2 s
}

func startNode(t testing.TB, o nodeOpts) *testNode {
	t.Helper()
	n, err := newTestNode(t, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatalf("start %s: %v", o.name, err)
	}
	t.Cleanup(func() { _ = n.Stop(context.Background()) })
	return n
}

func newTestNode(t testing.TB, o nodeOpts) (*testNode, error) {
	if o.listen == "" && o.natsURLs == nil {
		o.listen = "127.0.0.1:0"
	}
	if o.timeout == 0 {
		o.timeout = 2 * time.Second
	}
	reg := metrics.New()
	n, err := New(Config{NodeName: o.name, ClusterName: o.cluster, Listen: o.listen, Advertise: o.advertise,
		NATSURLs: o.natsURLs, Secret: o.secret, NodeTimeout: o.timeout, Discovery: o.disc, Log: testLog(t),
		Metrics: reg, ProbeInterval: time.Hour})
	if err != nil {
		return nil, err
	}
	rec := &recorder{}
	n.Handle(rec.events())
	return &testNode{Node: n, rec: rec, reg: reg}, nil
}

// crash ends the node as SIGKILL would: no departure, no discovery
// cleanup, the transport gone at once.
func (n *testNode) crash() {
	n.stopOnce.Do(func() {
		n.active.Store(false)
		n.cancel()
		n.wg.Wait()
		n.closeTransport()
	})
}

// pgDiscovery returns rdbms discovery on a fresh PostgreSQL database for
// the cluster named cluster, and the database.
func pgDB(t testing.TB) *db.DB {
	return dbtest.Open(t, db.PostgreSQL)
}

func bindTestSession(t testing.TB, n *testNode, full string) Entry {
	t.Helper()
	j, err := jid.Parse(full)
	if err != nil {
		t.Fatal(err)
	}
	return n.Table().Bind(Entry{JID: j, SID: randomName(n.Name() + "-"), Available: true, ConnType: "c2s", IP: "127.0.0.1", Port: 5000})
}

// statusIs checks a node's view of the membership.
func statusIs(n *testNode, available, joined, discovered, unavailable []string) error {
	st := n.Status()
	check := func(what string, got, want []string) error {
		if fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
			return fmt.Errorf("%s: %s = %v, want %v", n.Name(), what, got, want)
		}
		return nil
	}
	for _, c := range []struct {
		what      string
		got, want []string
	}{{"available", st.AvailableNodes, available}, {"joined", st.JoinedNodes, joined},
		{"discovered", st.DiscoveredNodes, discovered}, {"unavailable", st.UnavailableNodes, unavailable}} {
		if c.want == nil {
			continue
		}
		if err := check(c.what, c.got, c.want); err != nil {
			return err
		}
	}
	return nil
}

// proxy is a TCP proxy that can cut every connection through it and
// refuse new ones (a netsplit), then let them through again.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) setTarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut, target := p.cut, p.target
		p.mu.Unlock()
		if cut || target == "" {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// setCut cuts (true) or restores (false) the path.
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	p.cut = cut
	var conns []net.Conn
	if cut {
		for c := range p.conns {
			conns = append(conns, c)
		}
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.setCut(true)
	p.wg.Wait()
}

// waitFormed waits until every node lists all of nodes as available,
// joined and discovered, and none as unavailable.
func waitFormed(t testing.TB, nodes ...*testNode) {
	t.Helper()
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name())
	}
	sort.Strings(names)
	wait.Until(t, 5*time.Second, func() error {
		for _, n := range nodes {
			if err := statusIs(n, names, names, names, []string{}); err != nil {
				return err
			}
		}
		return nil
	})
}

// waitCount waits until every node's table holds want sessions.
func waitCount(t testing.TB, want int, nodes ...*testNode) {
	t.Helper()
	wait.Until(t, time.Second, func() error {
		for _, n := range nodes {
			if got := n.Table().Count(); got != want {
				return fmt.Errorf("%s has %d sessions, want %d", n.Name(), got, want)
			}
		}
		return nil
	})
}
