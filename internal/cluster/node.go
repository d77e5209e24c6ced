// Package cluster lets several Gander nodes serve one XMPP service
// (docs/cluster.md). Nodes carry messages to each other over NATS (core
// publish/subscribe and request/reply; by default each node embeds a NATS
// server and the embedded servers form a NATS cluster through routes), find
// each other through the shared database or a node list file, decide
// liveness from heartbeats, and each keeps a full replica of the cluster's
// session table, so that the delivery path never waits for another node.
//
// Nothing here knows XMPP routing rules: the router sees remote sessions
// through the table, and the composition root connects the events of this
// package (a node down, a session conflict) to the features.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gander-xmpp/gander/internal/metrics"
)

// Timing of the membership protocol (docs/cluster.md, "Node lifecycle").
const (
	heartbeatInterval = time.Second
	discoveryInterval = 5 * time.Second
	// identityWait bounds the wait for routes before the node-name check.
	identityWait = 2 * time.Second
	// snapshotTimeout bounds one snapshot transfer.
	snapshotTimeout = 5 * time.Second
	// snapshotChunk is the largest snapshot part sent in one message.
	snapshotChunk = 256 << 10
)

// Config configures a Node.
type Config struct {
	// NodeName is general.node_name.
	NodeName string
	// ClusterName is internal_databases.cets.cluster_name.
	ClusterName string
	// Listen is the route listener of the embedded NATS server,
	// "host:port"; port 0 picks a free port (tests). Unused with NATSURLs.
	Listen string
	// Advertise is the route address other nodes use; "" means the bound
	// Listen address.
	Advertise string
	// NATSURLs, when set, name an external NATS deployment: no embedded
	// server runs.
	NATSURLs []string
	// Secret authenticates route connections.
	Secret string
	// NodeTimeout is how long a silent node stays available.
	NodeTimeout time.Duration
	// MaxPayload is the largest NATS message (embedded mode).
	MaxPayload int
	// Discovery finds the nodes.
	Discovery Discovery
	// Log receives the node's log lines.
	Log *slog.Logger
	// Metrics is the registry of the cluster metrics (docs/metrics.md).
	Metrics *metrics.Registry
	// ProbeInterval is how often the cets_info and sm_*_sessions_count
	// gauges are refreshed.
	ProbeInterval time.Duration
}

// Events connects the cluster to the rest of the server. Every function
// may be nil; they are called without locks held, from the cluster's own
// goroutines, and must not block for long.
type Events struct {
	// NodeDown runs on every surviving node when a node instance is
	// declared down, after its sessions left the table (docs/cluster.md,
	// "Node cleanup", steps 1 and 2).
	NodeDown func(ctx context.Context, m Member, dropped []Entry)
	// Cleanup runs on one survivor only, the cleaner, for the same node
	// (steps 3 and 4: unavailable presence, last activity).
	Cleanup func(ctx context.Context, m Member, dropped []Entry)
	// Conflict runs for a session of this node that a newer session with
	// the same full JID on another node replaces: close it with
	// <conflict/>.
	Conflict func(e Entry)
	// Removed runs for every session of another node that leaves the
	// table (logout, kick, conflict, node down).
	Removed func(e Entry)
}

// Node is this process's membership in the cluster.
type Node struct {
	cfg      Config
	log      *slog.Logger
	self     Member
	started  int64 // µs since the epoch
	subj     subjects
	table    *Table
	events   Events
	metrics  *nodeMetrics
	emb      *embedded
	nc       *nats.Conn
	subs     []*nats.Subscription
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	active   atomic.Bool // heartbeats are out and control requests answered
	// connected is set while nc may be used for publishing.
	connected atomic.Bool

	mu             sync.Mutex
	peers          map[string]*peer // by node name, self excluded
	discovered     []Member
	discoveryWorks bool
	routes         []string
	cleanups       map[string]*cleanup // by instance
	nameConflict   string              // instance of another live node with our name
}

// peer is another node as this node sees it.
type peer struct {
	Member
	started   int64
	lastHeard time.Time
	available bool
	holdsUs   bool // its last heartbeat says it holds our snapshot
	seen      bool // was available once (metric labels exist)
}

// cleanup is a node instance whose cleanup (steps 3 and 4) the cleaner has
// not announced yet.
type cleanup struct {
	m       Member
	dropped []Entry
	cleaner string
	running bool
}

// New prepares a node; Start joins the cluster.
func New(cfg Config) (*Node, error) {
	if cfg.NodeName == "" || cfg.ClusterName == "" || cfg.Discovery == nil {
		return nil, errors.New("cluster: node name, cluster name and discovery are required")
	}
	if cfg.NodeTimeout < time.Second {
		cfg.NodeTimeout = 5 * time.Second
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = 15 * time.Second
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 1 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("cluster: instance id: %w", err)
	}
	n := &Node{
		cfg:      cfg,
		log:      cfg.Log.With("component", "cluster"),
		self:     Member{Name: cfg.NodeName, Instance: hex.EncodeToString(id[:])},
		subj:     subjects{prefix: "gander." + cfg.ClusterName + "."},
		peers:    map[string]*peer{},
		cleanups: map[string]*cleanup{},
	}
	n.started = time.Now().UnixMicro()
	n.table = newTable(n.self.Name, n.self.Instance)
	n.table.publish = n.publishState
	n.metrics = newNodeMetrics(cfg.Metrics)
	return n, nil
}

// Handle sets the event handlers; call it before Start.
func (n *Node) Handle(ev Events) {
	n.events = ev
	n.table.onConflict = ev.Conflict
	n.table.onRemoved = ev.Removed
}

// Table returns the replicated session table.
func (n *Node) Table() *Table { return n.table }

// Name returns this node's name.
func (n *Node) Name() string { return n.self.Name }

// Instance returns this process's instance id.
func (n *Node) Instance() string { return n.self.Instance }

// ClusterName returns the cluster's name.
func (n *Node) ClusterName() string { return n.cfg.ClusterName }

// ErrNameInUse is returned by Start when a live node of the cluster already
// uses this node's name.
var ErrNameInUse = errors.New("cluster: a live node of the cluster already uses this node name")

// Start joins the cluster (docs/cluster.md, "Start and join"): it starts the
// transport, registers with discovery and adds routes, refuses to run
// under a name a live node uses, starts heartbeats, waits (at most the node
// timeout) for the discovered nodes and their snapshots. The caller opens
// its client listeners after Start returns.
func (n *Node) Start(ctx context.Context) (err error) {
	if len(n.cfg.NATSURLs) == 0 {
		if n.emb, err = startEmbedded(&n.cfg, n.self.Instance, n.log); err != nil {
			return err
		}
		if n.cfg.Advertise == "" {
			n.cfg.Advertise = n.emb.routeAddr()
		}
		n.self.Addr = n.cfg.Advertise
	}
	defer func() {
		if err != nil {
			n.closeTransport()
		}
	}()
	if n.nc, err = connect(&n.cfg, n.emb, n.log); err != nil {
		return err
	}
	n.connected.Store(true)
	if err := n.subscribe(n.subj.stateAll(), n.onState); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	defer func() {
		if err != nil {
			cancel()
			n.wg.Wait()
		}
	}()
	n.refreshDiscovery(ctx)
	begin := time.Now()
	// Wait for the routes (heartbeats from every discovered node) before
	// asking whether our name is in use.
	n.waitPeers(ctx, begin.Add(min(identityWait, n.cfg.NodeTimeout)), false)
	if err := n.checkIdentity(ctx); err != nil {
		return err
	}
	if err := n.subscribe(n.subj.control(n.self.Name), n.onControl); err != nil {
		return err
	}
	n.active.Store(true)
	n.heartbeat()
	n.goLoop(runCtx, heartbeatInterval, n.heartbeat)
	n.goLoop(runCtx, heartbeatInterval, func() { n.ping(runCtx) })
	n.goLoop(runCtx, n.cfg.NodeTimeout/20, n.sweep)
	n.goLoop(runCtx, discoveryInterval, func() { n.refreshDiscovery(runCtx) })
	n.probe()
	n.goLoop(runCtx, n.cfg.ProbeInterval, n.probe)
	// Steps 3-4: the discovered nodes' heartbeats and snapshots. A node not
	// heard from by the node timeout delays nothing further; a snapshot
	// still travelling from a node that was heard is waited for (at most
	// one snapshot timeout more), so that the listeners open on a full
	// table.
	n.waitPeers(ctx, begin.Add(n.cfg.NodeTimeout), true)
	n.waitFetches(ctx, time.Now().Add(snapshotTimeout))
	n.log.Info("cluster joined", "node", n.self.Name, "instance", n.self.Instance, "cluster", n.cfg.ClusterName,
		"available", n.availableNames(), "route", n.self.Addr, "sessions", n.table.Count())
	return nil
}

func (n *Node) subscribe(subject string, fn nats.MsgHandler) error {
	s, err := n.nc.Subscribe(subject, fn)
	if err != nil {
		return fmt.Errorf("cluster: subscribe %s: %w", subject, err)
	}
	// A node behind on its subscriptions loses messages rather than
	// memory; the table notices the gap and fetches a snapshot.
	_ = s.SetPendingLimits(1<<20, 256<<20)
	n.subs = append(n.subs, s)
	return nil
}

// goLoop runs fn every interval until ctx ends.
func (n *Node) goLoop(ctx context.Context, interval time.Duration, fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// waitPeers waits until every discovered node is available (and, with
// synced, its snapshot applied), or until the deadline or ctx.
func (n *Node) waitPeers(ctx context.Context, deadline time.Time, synced bool) {
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if n.peersReady(synced) {
			return
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// waitFetches waits until no snapshot of an available peer is under way.
func (n *Node) waitFetches(ctx context.Context, deadline time.Time) {
	busy := func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, p := range n.peers {
			if _, fetching, _, _ := n.table.ownerStatus(p.Instance); p.available && fetching {
				return true
			}
		}
		return false
	}
	for busy() && time.Now().Before(deadline) && ctx.Err() == nil {
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

func (n *Node) peersReady(synced bool) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nameConflict != "" {
		return true
	}
	for _, m := range n.discovered {
		if m.Name == n.self.Name {
			if m.Instance != "" && m.Instance != n.self.Instance && !synced {
				// Another registration of this name: wait for its
				// heartbeat (or the deadline) before the name check.
				return false
			}
			continue
		}
		p := n.peers[m.Name]
		if p == nil || !p.available {
			return false
		}
		if synced {
			if ok, _, _, _ := n.table.ownerStatus(p.Instance); !ok {
				return false
			}
		}
	}
	if synced {
		for _, p := range n.peers {
			if ok, _, _, _ := n.table.ownerStatus(p.Instance); p.available && !ok {
				return false
			}
		}
	}
	return true
}

// checkIdentity refuses a name that a live instance uses: one heard in a
// heartbeat, or one that answers on the name's control subject.
func (n *Node) checkIdentity(ctx context.Context) error {
	n.mu.Lock()
	other := n.nameConflict
	n.mu.Unlock()
	if other == "" {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		msg, err := n.nc.RequestWithContext(rctx, n.subj.control(n.self.Name), newEncoder(kindWhoAmI, n.self.Name, n.self.Instance, 0).b)
		if err == nil {
			if h, _, derr := decodeHeader(msg.Data); derr == nil && h.Kind == kindIAm && h.Instance != n.self.Instance {
				other = h.Instance
			}
		}
	}
	if other != "" {
		return fmt.Errorf("%w: general.node_name %q is used by a live node (instance %s) of cluster %q", ErrNameInUse, n.self.Name, other, n.cfg.ClusterName)
	}
	return nil
}

// Stop leaves the cluster: it announces the departure (the caller closed
// its sessions first, so the table deletions are already out), deletes
// this node's discovery registration and stops the transport.
func (n *Node) Stop(ctx context.Context) error {
	n.stopOnce.Do(func() {
		if n.active.Swap(false) {
			n.publishState(newEncoder(kindBye, n.self.Name, n.self.Instance, 0).b)
			if n.nc != nil {
				_ = n.nc.FlushTimeout(time.Second)
			}
			if err := n.cfg.Discovery.Remove(ctx, n.self.Name); err != nil {
				n.log.Warn("cluster: discovery: remove own registration", "err", err)
			}
		}
		if n.cancel != nil {
			n.cancel()
		}
		n.wg.Wait()
		n.closeTransport()
		n.log.Info("cluster left", "node", n.self.Name)
	})
	return nil
}

func (n *Node) closeTransport() {
	n.connected.Store(false)
	for _, s := range n.subs {
		_ = s.Unsubscribe()
	}
	n.subs = nil
	if n.nc != nil {
		n.nc.Close()
	}
	if n.emb != nil {
		n.emb.shutdown()
	}
}

// publishState publishes on this node's state subject (heartbeats, table
// changes, departure): one subject, so that peers see them in order.
func (n *Node) publishState(msg []byte) {
	if !n.connected.Load() {
		return // before Start or after Stop: peers fetch a snapshot
	}
	if err := n.nc.Publish(n.subj.state(n.self.Name), msg); err != nil {
		n.log.Debug("cluster: publish", "err", err)
	}
}

// --- discovery and routes ---

func (n *Node) refreshDiscovery(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, discoveryInterval)
	defer cancel()
	start := time.Now()
	members, err := n.cfg.Discovery.Refresh(rctx, n.self)
	n.metrics.discovery(time.Since(start), err)
	n.mu.Lock()
	n.discoveryWorks = err == nil
	if err != nil {
		n.mu.Unlock()
		n.log.Warn("cluster: discovery failed", "err", err)
		return
	}
	n.discovered = members
	var addrs []string
	for _, m := range members {
		// A registration of this node's name at another address may be a
		// live twin: routed to, so that the name check finds it.
		twin := m.Name == n.self.Name && m.Instance != n.self.Instance && m.Addr != n.self.Addr
		if (m.Name != n.self.Name || twin) && m.Addr != "" {
			addrs = append(addrs, m.Addr)
		}
	}
	sort.Strings(addrs)
	addrs = slices.Compact(addrs)
	changed := n.emb != nil && !slices.Equal(addrs, n.routes)
	if changed {
		n.routes = addrs
	}
	n.mu.Unlock()
	if changed {
		if err := n.emb.setRoutes(addrs); err != nil {
			n.log.Warn("cluster: set routes", "err", err)
		}
	}
}

// --- heartbeats and membership ---

func (n *Node) heartbeat() {
	seq, count := n.table.ownSummary()
	synced := n.table.syncedInstances()
	e := newEncoder(kindHeartbeat, n.self.Name, n.self.Instance, 64+len(synced)*20)
	e.varint(n.started)
	e.str(n.self.Addr)
	e.uvarint(seq)
	e.uvarint(uint64(count))
	e.uvarint(uint64(len(synced)))
	for _, s := range synced {
		e.str(s)
	}
	n.publishState(e.b)
}

// onState handles the state subject of every node: heartbeats, table
// changes, departures. One subscription delivers them in the order each
// node published them.
func (n *Node) onState(msg *nats.Msg) {
	h, d, err := decodeHeader(msg.Data)
	if err != nil {
		n.metrics.corrupt.Inc()
		return
	}
	if h.Node == n.self.Name {
		if h.Instance != n.self.Instance && h.Kind == kindHeartbeat {
			if !n.active.Load() {
				// Starting: Start refuses to run under this name.
				n.mu.Lock()
				n.nameConflict = h.Instance
				n.mu.Unlock()
			} else {
				n.log.Error("cluster: another live node uses this node's name", "node", h.Node, "instance", h.Instance)
			}
		}
		return
	}
	switch h.Kind {
	case kindHeartbeat:
		n.onHeartbeat(h, d)
	case kindPut:
		seq := d.uvarint()
		e := d.entry()
		if d.end() != nil || e.Instance != h.Instance {
			n.metrics.corrupt.Inc()
			return
		}
		if n.table.applyChange(h.Node, h.Instance, change{seq: seq, entry: e}) {
			n.maybeFetch(h.Node, h.Instance)
		}
	case kindDel:
		seq, sid := d.uvarint(), d.str()
		if d.end() != nil {
			n.metrics.corrupt.Inc()
			return
		}
		if n.table.applyChange(h.Node, h.Instance, change{seq: seq, del: true, sid: sid}) {
			n.maybeFetch(h.Node, h.Instance)
		}
	case kindBye:
		n.log.Info("cluster: node left", "node", h.Node, "instance", h.Instance)
		if n.markDown(h.Node, h.Instance) {
			n.down(h.Node, h.Instance, "left")
		} else {
			n.table.dropOwner(h.Instance)
		}
	case kindCleaned:
		inst := d.str()
		n.mu.Lock()
		delete(n.cleanups, inst)
		n.mu.Unlock()
	}
}

func (n *Node) onHeartbeat(h header, d *decoder) {
	started, addr, seq, count := d.varint(), d.str(), d.uvarint(), d.uvarint()
	k := d.count(1)
	holdsUs := false
	for i := 0; i < k; i++ {
		if d.str() == n.self.Instance {
			holdsUs = true
		}
	}
	if d.end() != nil {
		n.metrics.corrupt.Inc()
		return
	}
	n.mu.Lock()
	p := n.peers[h.Node]
	var restarted string
	if p == nil {
		p = &peer{Member: Member{Name: h.Node}}
		n.peers[h.Node] = p
	}
	if p.Instance != h.Instance {
		if p.available {
			restarted = p.Instance
		}
		p.Instance, p.available = h.Instance, false
	}
	p.Addr, p.started, p.lastHeard, p.holdsUs = addr, started, time.Now(), holdsUs
	cameUp := !p.available
	p.available = true
	first := !p.seen
	p.seen = true
	n.mu.Unlock()
	if restarted != "" {
		n.log.Info("cluster: node restarted", "node", h.Node, "old_instance", restarted, "instance", h.Instance)
		n.down(h.Node, restarted, "restarted")
	}
	if first {
		n.metrics.peerSeen(h.Node)
	}
	if cameUp {
		n.log.Info("cluster: node available", "node", h.Node, "instance", h.Instance, "route", addr)
		// Answer a newcomer at once rather than at our next tick, so
		// that it sees us (and we count as joined) without waiting.
		if n.active.Load() {
			n.heartbeat()
		}
	}
	// Anti-entropy: a replica behind the owner's own count fetches a
	// snapshot. Changes and heartbeats arrive in publication order, so an
	// owner sequence number ahead of ours means a change was lost.
	synced, fetching, mySeq, myCount := n.table.ownerStatus(h.Instance)
	switch {
	case fetching:
	case !synced, seq > mySeq, seq == mySeq && count != uint64(myCount):
		if synced {
			n.log.Info("cluster: session table out of step, fetching a snapshot", "node", h.Node, "seq", seq, "have_seq", mySeq, "count", count, "have_count", myCount)
		}
		n.maybeFetch(h.Node, h.Instance)
	}
}

// sweep declares down the nodes not heard for the node timeout.
func (n *Node) sweep() {
	now := time.Now()
	var dead []Member
	n.mu.Lock()
	for _, p := range n.peers {
		if p.available && now.Sub(p.lastHeard) > n.cfg.NodeTimeout {
			p.available = false
			dead = append(dead, p.Member)
		}
	}
	n.mu.Unlock()
	for _, m := range dead {
		n.log.Warn("cluster: node down: no heartbeat", "node", m.Name, "instance", m.Instance, "timeout", n.cfg.NodeTimeout)
		n.down(m.Name, m.Instance, "timeout")
	}
}

// markDown makes a peer instance unavailable; false if it was not
// available (nothing to clean up).
func (n *Node) markDown(name, instance string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.peers[name]
	if p == nil || p.Instance != instance || !p.available {
		return false
	}
	p.available = false
	return true
}

// down runs this node's part of the cleanup of a node instance that was
// just made unavailable (docs/cluster.md, "Node cleanup").
func (n *Node) down(name, instance, reason string) {
	start := time.Now()
	dropped := n.table.dropOwner(instance)
	m := Member{Name: name, Instance: instance}
	if n.events.NodeDown != nil {
		n.events.NodeDown(context.Background(), m, dropped)
	}
	n.metrics.cleanup(time.Since(start))
	n.mu.Lock()
	n.cleanups[instance] = &cleanup{m: m, dropped: dropped}
	n.mu.Unlock()
	n.log.Info("cluster: node cleaned up", "node", name, "instance", instance, "reason", reason, "sessions", len(dropped), "took", time.Since(start))
	n.runCleanups()
}

// runCleanups runs the pending cleanups whose cleaner (the available node
// whose name sorts first) is now this node.
func (n *Node) runCleanups() {
	n.mu.Lock()
	cleaner := n.self.Name
	for _, p := range n.peers {
		if p.available && p.Name < cleaner {
			cleaner = p.Name
		}
	}
	var mine []*cleanup
	for _, c := range n.cleanups {
		c.cleaner = cleaner
		if cleaner == n.self.Name && !c.running {
			c.running = true
			mine = append(mine, c)
		}
	}
	n.mu.Unlock()
	for _, c := range mine {
		if n.events.Cleanup != nil && len(c.dropped) > 0 {
			n.events.Cleanup(context.Background(), c.m, c.dropped)
		}
		n.mu.Lock()
		delete(n.cleanups, c.m.Instance)
		n.mu.Unlock()
		e := newEncoder(kindCleaned, n.self.Name, n.self.Instance, len(c.m.Instance)+2)
		e.str(c.m.Instance)
		n.publishState(e.b)
	}
}

// maybeFetch starts fetching the snapshot of an owner unless one is under
// way.
func (n *Node) maybeFetch(node, instance string) {
	if !n.table.beginFetch(node, instance) {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			seq, entries, err := n.fetchSnapshot(node, instance)
			if err != nil {
				n.table.fetchFailed(instance)
				n.log.Debug("cluster: snapshot", "node", node, "err", err)
				return
			}
			if !n.table.applySnapshot(instance, seq, entries) {
				n.log.Debug("cluster: snapshot applied", "node", node, "sessions", len(entries), "seq", seq)
				if n.active.Load() {
					// Tell the owner at once that we hold its sessions.
					n.heartbeat()
				}
				return
			}
			if !n.table.beginFetch(node, instance) {
				return
			}
		}
	}()
}

// fetchSnapshot asks an owner for its entries: the answer comes in chunks
// on a private inbox, the last one marked.
func (n *Node) fetchSnapshot(node, instance string) (uint64, []Entry, error) {
	inbox := n.nc.NewRespInbox()
	sub, err := n.nc.SubscribeSync(inbox)
	if err != nil {
		return 0, nil, err
	}
	defer sub.Unsubscribe()
	req := newEncoder(kindSnapReq, n.self.Name, n.self.Instance, len(instance)+2)
	req.str(instance)
	if err := n.nc.PublishRequest(n.subj.control(node), inbox, req.b); err != nil {
		return 0, nil, err
	}
	deadline := time.Now().Add(snapshotTimeout)
	var out []Entry
	for {
		msg, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			return 0, nil, err
		}
		h, d, err := decodeHeader(msg.Data)
		if err != nil || h.Kind != kindSnapChunk || h.Instance != instance {
			if len(msg.Data) == 0 {
				return 0, nil, nats.ErrNoResponders
			}
			return 0, nil, errCorrupt
		}
		seq, last := d.uvarint(), d.bool()
		k := d.count(10)
		for i := 0; i < k; i++ {
			out = append(out, d.entry())
		}
		if err := d.end(); err != nil {
			return 0, nil, err
		}
		if last {
			return seq, out, nil
		}
	}
}

// --- control requests ---

func (n *Node) onControl(msg *nats.Msg) {
	h, d, err := decodeHeader(msg.Data)
	if err != nil {
		n.metrics.corrupt.Inc()
		return
	}
	switch h.Kind {
	case kindPing:
		_ = msg.Respond(newEncoder(kindPong, n.self.Name, n.self.Instance, 0).b)
	case kindWhoAmI:
		if h.Instance != n.self.Instance {
			n.log.Warn("cluster: a node with this node's name is starting; it will refuse to run", "instance", h.Instance)
			_ = msg.Respond(newEncoder(kindIAm, n.self.Name, n.self.Instance, 0).b)
		}
	case kindSnapReq:
		want := d.str()
		if d.end() != nil || want != n.self.Instance {
			// A request for an earlier instance of this node: say nothing,
			// the asker times out and learns of the restart by heartbeat.
			return
		}
		n.sendSnapshot(msg.Reply)
	}
}

func (n *Node) sendSnapshot(reply string) {
	seq, entries := n.table.ownSnapshot()
	for {
		body := &encoder{}
		k := 0
		for k < len(entries) && len(body.b) < snapshotChunk {
			body.entry(&entries[k])
			k++
		}
		last := k == len(entries)
		e := newEncoder(kindSnapChunk, n.self.Name, n.self.Instance, len(body.b)+16)
		e.uvarint(seq)
		e.bool(last)
		e.uvarint(uint64(k))
		e.b = append(e.b, body.b...)
		if err := n.nc.Publish(reply, e.b); err != nil {
			n.log.Warn("cluster: send snapshot", "err", err)
			return
		}
		if last {
			return
		}
		entries = entries[k:]
	}
}

func (n *Node) ping(ctx context.Context) {
	n.mu.Lock()
	var targets []string
	for _, p := range n.peers {
		if p.available {
			targets = append(targets, p.Name)
		}
	}
	n.mu.Unlock()
	for _, name := range targets {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			rctx, cancel := context.WithTimeout(ctx, heartbeatInterval)
			defer cancel()
			start := time.Now()
			if _, err := n.nc.RequestWithContext(rctx, n.subj.control(name), newEncoder(kindPing, n.self.Name, n.self.Instance, 0).b); err == nil {
				n.metrics.rtt(name, time.Since(start))
			}
		}()
	}
}

// --- membership views ---

// Status is the membership as this node sees it (the cets systemInfo of
// docs/cluster.md, "Admin API"). Node lists are sorted.
type Status struct {
	AvailableNodes   []string
	UnavailableNodes []string
	JoinedNodes      []string
	DiscoveredNodes  []string
	DiscoveryWorks   bool
}

// Status returns the current membership.
func (n *Node) Status() Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := Status{DiscoveryWorks: n.discoveryWorks}
	avail := map[string]bool{n.self.Name: true}
	st.AvailableNodes = []string{n.self.Name}
	st.JoinedNodes = []string{n.self.Name}
	for _, p := range n.peers {
		if !p.available {
			continue
		}
		avail[p.Name] = true
		st.AvailableNodes = append(st.AvailableNodes, p.Name)
		if synced, _, _, _ := n.table.ownerStatus(p.Instance); synced && p.holdsUs {
			st.JoinedNodes = append(st.JoinedNodes, p.Name)
		}
	}
	seen := map[string]bool{}
	for _, m := range n.discovered {
		if seen[m.Name] {
			continue
		}
		seen[m.Name] = true
		st.DiscoveredNodes = append(st.DiscoveredNodes, m.Name)
		if !avail[m.Name] {
			st.UnavailableNodes = append(st.UnavailableNodes, m.Name)
		}
	}
	for _, l := range [][]string{st.AvailableNodes, st.UnavailableNodes, st.JoinedNodes, st.DiscoveredNodes} {
		sort.Strings(l)
	}
	return st
}

func (n *Node) availableNames() []string { return n.Status().AvailableNodes }

// RouteAddr returns the advertised route address ("" with an external
// NATS).
func (n *Node) RouteAddr() string { return n.self.Addr }
