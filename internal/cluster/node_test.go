package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/wait"
)

// TestTwoNodesJoin: two nodes on one database form a cluster; sessions
// bound before the second node starts are in its table when Start
// returns, and later changes reach the other node quickly.
func TestTwoNodesJoin(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	cl := randomName("c")
	a := startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	early := bindTestSession(t, a, "alice@localhost/ra")
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	// Start returns once the snapshot is in.
	if got, ok := b.Table().Lookup(early.JID); !ok || got.SID != early.SID || got.Node != "a@127.0.0.1" || !got.Available {
		t.Fatalf("b's table after Start: %+v %v", got, ok)
	}
	both := []string{"a@127.0.0.1", "b@127.0.0.1"}
	wait.Until(t, 5*time.Second, func() error {
		for _, n := range []*testNode{a, b} {
			if err := statusIs(n, both, both, both, []string{}); err != nil {
				return err
			}
			if !n.Status().DiscoveryWorks {
				return fmt.Errorf("%s: discovery does not work", n.Name())
			}
		}
		return nil
	})
	start := time.Now()
	e := bindTestSession(t, b, "bob@localhost/rb")
	wait.Until(t, time.Second, func() error {
		if got, ok := a.Table().Lookup(e.JID); !ok || got.SID != e.SID {
			return errors.New("bob's session not on a")
		}
		return nil
	})
	t.Logf("a bind on b reached a in %v", time.Since(start))
	b.Table().Update(e.SID, func(x *Entry) { x.Priority, x.Show, x.Status, x.Carbons = 5, "away", "lunch", true })
	wait.Until(t, time.Second, func() error {
		got, _ := a.Table().Lookup(e.JID)
		if got.Priority != 5 || got.Show != "away" || got.Status != "lunch" || !got.Carbons {
			return fmt.Errorf("update not on a: %+v", got)
		}
		return nil
	})
	if got := a.Table().Bare(jid.MustParse("bob@localhost")); len(got) != 1 || got[0].Node != "b@127.0.0.1" {
		t.Errorf("a: bob's sessions = %+v", got)
	}
	b.Table().Unbind(e.SID)
	wait.Until(t, time.Second, func() error {
		if _, ok := a.Table().Lookup(e.JID); ok {
			return errors.New("bob's session still on a")
		}
		return nil
	})
	if a.Table().Count() != 1 || b.Table().Count() != 1 || a.Table().UniqueUsers() != 1 {
		t.Errorf("counts: a %d b %d", a.Table().Count(), b.Table().Count())
	}
}

// TestNodeCrash: a node that stops without a word is declared down after
// the node timeout; its sessions leave every table, every survivor runs
// the NodeDown event and only the cleaner (the first name) runs Cleanup.
func TestNodeCrash(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	cl := randomName("c")
	a := startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	c := startNode(t, nodeOpts{name: "c@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	waitFormed(t, a, b, c)
	all := []string{"a@127.0.0.1", "b@127.0.0.1", "c@127.0.0.1"}
	s1 := bindTestSession(t, c, "carol@localhost/r1")
	bindTestSession(t, c, "carol@localhost/r2")
	waitCount(t, 2, a, b)
	cInstance := c.Instance()
	crashed := time.Now()
	c.crash()
	wait.Until(t, 2*time.Second+2*time.Second, func() error {
		for _, n := range []*testNode{a, b} {
			if n.Table().Count() != 0 {
				return fmt.Errorf("%s still has %d sessions", n.Name(), n.Table().Count())
			}
			if err := statusIs(n, all[:2], nil, all, all[2:]); err != nil {
				return err
			}
		}
		return nil
	})
	// The timeout runs from the last heartbeat, at most a heartbeat
	// interval before the crash.
	took := time.Since(crashed)
	if took < 2*time.Second-heartbeatInterval-100*time.Millisecond {
		t.Errorf("declared down %v after the crash, before the node timeout could pass", took)
	}
	wait.Until(t, time.Second, func() error {
		downA, cleanedA, _ := a.rec.snapshot()
		downB, cleanedB, _ := b.rec.snapshot()
		if len(downA) != 1 || len(downB) != 1 || downA[0].Instance != cInstance {
			return fmt.Errorf("NodeDown: a %v b %v", downA, downB)
		}
		if len(cleanedA) != 1 || len(cleanedB) != 0 {
			return fmt.Errorf("Cleanup: a %v b %v, want the cleaner a only", cleanedA, cleanedB)
		}
		return nil
	})
	a.rec.mu.Lock()
	dropped := a.rec.droppedBy[cInstance]
	a.rec.mu.Unlock()
	if len(dropped) != 2 || (dropped[0].SID != s1.SID && dropped[1].SID != s1.SID) {
		t.Errorf("dropped = %+v", dropped)
	}
	if v := testutil.ToFloat64(a.metrics.cleanupCount); v != 1 {
		t.Errorf("cluster_node_cleanup_count = %v", v)
	}
}

// TestCleanerDiesFirst: when the cleaner goes down before announcing that
// it cleaned up, the next cleaner runs the cleanup.
func TestCleanerDiesFirst(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	cl := randomName("c")
	a, err := newTestNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	if err != nil {
		t.Fatal(err)
	}
	// a, the cleaner, starts its cleanup of c and never finishes it.
	started, release := make(chan struct{}), make(chan struct{})
	ev := a.rec.events()
	ev.Cleanup = func(context.Context, Member, []Entry) {
		close(started)
		<-release
	}
	a.Handle(ev)
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	c := startNode(t, nodeOpts{name: "c@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	all := []string{"a@127.0.0.1", "b@127.0.0.1", "c@127.0.0.1"}
	wait.Until(t, 5*time.Second, func() error { return statusIs(b, all, all, nil, nil) })
	bindTestSession(t, c, "carol@localhost/r1")
	wait.Until(t, time.Second, func() error {
		if b.Table().Count() != 1 {
			return errors.New("not replicated")
		}
		return nil
	})
	c.crash()
	<-started
	// a dies in the middle of its cleanup: nothing more leaves it.
	a.closeTransport()
	close(release)
	a.crash()
	wait.Until(t, 5*time.Second, func() error {
		_, cleaned, _ := b.rec.snapshot()
		if len(cleaned) != 1 || cleaned[0].Name != "c@127.0.0.1" {
			return fmt.Errorf("b cleaned %v, want c", cleaned)
		}
		return nil
	})
}

// TestGracefulLeave: a stopping node announces its departure; the others
// declare it down at once, well before the node timeout, and its
// discovery row is gone.
func TestGracefulLeave(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	cl := randomName("c")
	a := startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl), timeout: 10 * time.Second})
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl), timeout: 10 * time.Second})
	bindTestSession(t, b, "bob@localhost/r")
	wait.Until(t, 5*time.Second, func() error {
		if a.Table().Count() != 1 {
			return errors.New("not replicated")
		}
		return statusIs(a, []string{"a@127.0.0.1", "b@127.0.0.1"}, nil, nil, nil)
	})
	start := time.Now()
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, 2*time.Second, func() error {
		if err := statusIs(a, []string{"a@127.0.0.1"}, []string{"a@127.0.0.1"}, nil, nil); err != nil {
			return err
		}
		if a.Table().Count() != 0 {
			return errors.New("b's session still listed")
		}
		return nil
	})
	t.Logf("leave seen in %v", time.Since(start))
	members, err := NewSQLDiscovery(d, cl).Refresh(context.Background(), Member{Name: "probe", Instance: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.Name == "b@127.0.0.1" {
			t.Errorf("b's discovery row survived its stop")
		}
	}
}

// TestNameInUse: a node whose name a live node of its cluster uses refuses
// to start, naming general.node_name.
func TestNameInUse(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	cl := randomName("c")
	startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	dup, err := newTestNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	if err != nil {
		t.Fatal(err)
	}
	err = dup.Start(context.Background())
	if !errors.Is(err, ErrNameInUse) || !strings.Contains(err.Error(), "general.node_name") {
		t.Fatalf("Start = %v, want ErrNameInUse naming general.node_name", err)
	}
}

// TestClusterNameIsolation: nodes of another cluster on the same database
// are neither discovered nor available.
func TestClusterNameIsolation(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	c1, c2 := randomName("c"), randomName("c")
	a := startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: c1, disc: NewSQLDiscovery(d, c1)})
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: c2, disc: NewSQLDiscovery(d, c2)})
	bindTestSession(t, b, "bob@localhost/r")
	// A heartbeat round trip on each side is the barrier.
	for _, n := range []*testNode{a, b} {
		n.refreshDiscovery(context.Background())
		if err := statusIs(n, []string{n.Name()}, []string{n.Name()}, []string{n.Name()}, []string{}); err != nil {
			t.Error(err)
		}
	}
	if a.Table().Count() != 0 {
		t.Error("a sees b's session")
	}
}

// TestExternalNATS: nodes that share an external NATS server (127.0.0.1:4222)
// form a cluster without embedded servers.
func TestExternalNATS(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	cl := randomName("c")
	url := []string{"nats://127.0.0.1:4222"}
	a := startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl), natsURLs: url})
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl), natsURLs: url})
	if a.emb != nil || a.RouteAddr() != "" {
		t.Errorf("embedded server with nats_url: %v %q", a.emb, a.RouteAddr())
	}
	both := []string{"a@127.0.0.1", "b@127.0.0.1"}
	wait.Until(t, 5*time.Second, func() error { return statusIs(a, both, both, both, []string{}) })
	e := bindTestSession(t, a, "alice@localhost/r")
	wait.Until(t, time.Second, func() error {
		if _, ok := b.Table().Lookup(e.JID); !ok {
			return errors.New("not replicated")
		}
		return nil
	})
}

// TestRouteSecret: a node with the wrong secret is refused by the routes
// and never becomes available.
func TestRouteSecret(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	cl := randomName("c")
	a := startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl), secret: "right"})
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl), secret: "wrong"})
	c := startNode(t, nodeOpts{name: "c@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl), secret: "right"})
	ac := []string{"a@127.0.0.1", "c@127.0.0.1"}
	wait.Until(t, 5*time.Second, func() error { return statusIs(a, ac, ac, nil, nil) })
	for _, n := range []*testNode{a, c} {
		n.refreshDiscovery(context.Background())
		if err := statusIs(n, ac, nil, nil, []string{"b@127.0.0.1"}); err != nil {
			t.Error(err)
		}
	}
	if err := statusIs(b, []string{"b@127.0.0.1"}, nil, nil, nil); err != nil {
		t.Error(err)
	}
}

// TestThirdNodeLate: a node started late gets every existing session when
// Start returns, and the others list it.
func TestThirdNodeLate(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	cl := randomName("c")
	a := startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	for i := 0; i < 50; i++ {
		bindTestSession(t, a, fmt.Sprintf("u%d@localhost/a", i))
		bindTestSession(t, b, fmt.Sprintf("u%d@localhost/b", i))
	}
	c := startNode(t, nodeOpts{name: "c@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	if got := c.Table().Count(); got != 100 {
		t.Fatalf("c has %d sessions after Start, want 100", got)
	}
	waitFormed(t, a, b, c)
	e := bindTestSession(t, c, "late@localhost/c")
	wait.Until(t, time.Second, func() error {
		for _, n := range []*testNode{a, b} {
			if _, ok := n.Table().Lookup(e.JID); !ok {
				return fmt.Errorf("%s lacks c's session", n.Name())
			}
		}
		return nil
	})
}

// TestLargeSnapshot: a snapshot bigger than one chunk arrives whole.
func TestLargeSnapshot(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	cl := randomName("c")
	a := startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	for i := 0; i < 5000; i++ {
		j := jid.MustParse(fmt.Sprintf("user%05d@localhost/resource-%05d", i, i))
		a.Table().Bind(Entry{JID: j, SID: fmt.Sprintf("sid-%d", i), Status: strings.Repeat("s", 40)})
	}
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	if got := b.Table().Count(); got != 5000 {
		t.Fatalf("b has %d sessions after Start, want 5000", got)
	}
}

// TestNetsplitHeal cuts the route between two nodes with a TCP proxy:
// each side declares the other down and drops its sessions; a full JID
// is bound on both sides meanwhile. After the heal both tables hold every
// session again and the older of the two sessions is in conflict.
func TestNetsplitHeal(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	cl := randomName("c")
	// Each node is reached only through its own proxy.
	pa, pb := newProxy(t, ""), newProxy(t, "")
	a := startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl), advertise: pa.addr()})
	pa.setTarget(a.emb.routeAddr())
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl), advertise: pb.addr()})
	pb.setTarget(b.emb.routeAddr())
	both := []string{"a@127.0.0.1", "b@127.0.0.1"}
	wait.Until(t, 5*time.Second, func() error {
		for _, n := range []*testNode{a, b} {
			if err := statusIs(n, both, both, nil, nil); err != nil {
				return err
			}
		}
		return nil
	})
	bindTestSession(t, a, "alice@localhost/home")
	bindTestSession(t, b, "bob@localhost/home")
	wait.Until(t, time.Second, func() error {
		if a.Table().Count() != 2 || b.Table().Count() != 2 {
			return errors.New("not replicated")
		}
		return nil
	})
	pa.setCut(true)
	pb.setCut(true)
	wait.Until(t, 2*time.Second+2*time.Second, func() error {
		for _, n := range []*testNode{a, b} {
			if n.Table().Count() != 1 {
				return fmt.Errorf("%s has %d sessions during the split", n.Name(), n.Table().Count())
			}
			if len(n.Status().AvailableNodes) != 1 {
				return fmt.Errorf("%s: available %v", n.Name(), n.Status().AvailableNodes)
			}
		}
		return nil
	})
	// Both sides keep serving: the same full JID bound on each, b's later.
	older := bindTestSession(t, a, "carol@localhost/phone")
	newer := bindTestSession(t, b, "carol@localhost/phone")
	if newer.BindTime <= older.BindTime {
		newer = b.Table().Bind(Entry{JID: newer.JID, SID: newer.SID + "x"})
	}
	healed := time.Now()
	pa.setCut(false)
	pb.setCut(false)
	wait.Until(t, 7*time.Second, func() error {
		for _, n := range []*testNode{a, b} {
			if err := statusIs(n, both, both, nil, nil); err != nil {
				return err
			}
			if got, ok := n.Table().Lookup(newer.JID); !ok || got.SID != newer.SID {
				return fmt.Errorf("%s routes carol to %+v", n.Name(), got)
			}
			if n.Table().Count() < 4 {
				return fmt.Errorf("%s has %d sessions", n.Name(), n.Table().Count())
			}
		}
		_, _, conflicts := a.rec.snapshot()
		if len(conflicts) != 1 || conflicts[0].SID != older.SID {
			return fmt.Errorf("a's conflicts: %+v", conflicts)
		}
		return nil
	})
	t.Logf("healed in %v", time.Since(healed))
	if _, _, c := b.rec.snapshot(); len(c) != 0 {
		t.Errorf("b's newer session was put in conflict: %+v", c)
	}
}

// TestFileDiscovery: nodes listed in a node list file find each other;
// a missing file makes discoveryWorks false.
func TestFileDiscovery(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	list := filepath.Join(dir, "nodes.txt")
	pa, pb := newProxy(t, ""), newProxy(t, "")
	content := fmt.Sprintf("# two nodes\n\na@127.0.0.1 %s\nb@127.0.0.1   %s\n", pa.addr(), pb.addr())
	if err := os.WriteFile(list, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cl := randomName("c")
	a := startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewFileDiscovery(list, ""), advertise: pa.addr()})
	pa.setTarget(a.emb.routeAddr())
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: cl, disc: NewFileDiscovery(list, ""), advertise: pb.addr()})
	pb.setTarget(b.emb.routeAddr())
	both := []string{"a@127.0.0.1", "b@127.0.0.1"}
	wait.Until(t, 5*time.Second, func() error { return statusIs(a, both, both, both, []string{}) })
	missing := startNode(t, nodeOpts{name: "m@127.0.0.1", cluster: randomName("c"), disc: NewFileDiscovery(filepath.Join(dir, "none.txt"), "")})
	if missing.Status().DiscoveryWorks {
		t.Error("discoveryWorks with a missing node list file")
	}
}

func TestParseNodeList(t *testing.T) {
	got, err := parseNodeList([]byte("# c\n\n  n1@host1  \nn2@10.0.0.2 10.0.0.2:7000\nn1@host1\n"), "6222")
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{{Name: "n1@host1", Addr: "host1:6222"}, {Name: "n2@10.0.0.2", Addr: "10.0.0.2:7000"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"a b c\n", "n1 nohostport\n"} {
		if _, err := parseNodeList([]byte(bad), "6222"); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestMetrics: the cets_info gauges and the session counts follow the
// membership; per-peer series exist at 0 once a peer is seen.
func TestMetrics(t *testing.T) {
	t.Parallel()
	d := pgDB(t)
	cl := randomName("c")
	a := startNode(t, nodeOpts{name: "a@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	b := startNode(t, nodeOpts{name: "b@127.0.0.1", cluster: cl, disc: NewSQLDiscovery(d, cl)})
	bindTestSession(t, b, "bob@localhost/r1")
	bindTestSession(t, b, "bob@localhost/r2")
	both := []string{"a@127.0.0.1", "b@127.0.0.1"}
	wait.Until(t, 5*time.Second, func() error {
		if a.Table().Count() != 2 {
			return errors.New("not replicated")
		}
		return statusIs(a, both, both, both, nil)
	})
	wait.Until(t, 3*time.Second, func() error {
		if n := histogramCount(t, a, "cluster_rtt_time", "b@127.0.0.1"); n == 0 {
			return errors.New("no cluster_rtt_time observation for b")
		}
		return nil
	})
	a.probe()
	want := `
# HELP cets_info_available_nodes Event: cets_info, Metric: available_nodes
# TYPE cets_info_available_nodes gauge
cets_info_available_nodes 2
# HELP cets_info_conflict_nodes Event: cets_info, Metric: conflict_nodes
# TYPE cets_info_conflict_nodes gauge
cets_info_conflict_nodes 0
# HELP cets_info_discovered_nodes Event: cets_info, Metric: discovered_nodes
# TYPE cets_info_discovered_nodes gauge
cets_info_discovered_nodes 2
# HELP cets_info_discovery_works Event: cets_info, Metric: discovery_works
# TYPE cets_info_discovery_works gauge
cets_info_discovery_works 1
# HELP cets_info_joined_nodes Event: cets_info, Metric: joined_nodes
# TYPE cets_info_joined_nodes gauge
cets_info_joined_nodes 2
# HELP cets_info_unavailable_nodes Event: cets_info, Metric: unavailable_nodes
# TYPE cets_info_unavailable_nodes gauge
cets_info_unavailable_nodes 0
# HELP cluster_forward_failed_count Event: cluster_forward_failed, Metric: count
# TYPE cluster_forward_failed_count counter
cluster_forward_failed_count{node="b@127.0.0.1",reason="buffer_full"} 0
cluster_forward_failed_count{node="b@127.0.0.1",reason="not_connected"} 0
cluster_forward_failed_count{node="b@127.0.0.1",reason="session_gone"} 0
cluster_forward_failed_count{node="b@127.0.0.1",reason="too_large"} 0
# HELP sm_total_sessions_count Event: sm_total_sessions, Metric: count
# TYPE sm_total_sessions_count gauge
sm_total_sessions_count 2
# HELP sm_unique_sessions_count Event: sm_unique_sessions, Metric: count
# TYPE sm_unique_sessions_count gauge
sm_unique_sessions_count 1
`
	if err := testutil.GatherAndCompare(a.reg.Prometheus(), strings.NewReader(want),
		"cets_info_available_nodes", "cets_info_conflict_nodes", "cets_info_discovered_nodes", "cets_info_discovery_works",
		"cets_info_joined_nodes", "cets_info_unavailable_nodes", "cluster_forward_failed_count",
		"sm_total_sessions_count", "sm_unique_sessions_count"); err != nil {
		t.Error(err)
	}
}

// histogramCount returns the sample count of a histogram series whose node
// label is node.
func histogramCount(t testing.TB, n *testNode, name, node string) uint64 {
	t.Helper()
	fams, err := n.reg.Prometheus().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "node" && l.GetValue() == node {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}
