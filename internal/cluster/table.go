package cluster

import (
	"sort"
	"sync"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
)

// maxPending bounds the changes buffered for one owner while its snapshot
// is being fetched. Past it the buffer is dropped: the snapshot fetched
// next covers what it held.
const maxPending = 100_000

// Table is the replicated session table (docs/cluster.md, "The session
// table"): every node holds every session of the cluster. Each entry is
// owned by the node instance where the session is bound; only the owner
// changes it, and publishes each change with its own sequence number. The
// other nodes apply the changes in sequence order, and fetch a snapshot of
// an owner when they join, find a gap, or see that their copy disagrees
// with the owner's heartbeat.
//
// Lookups read only local memory and are safe for concurrent use.
type Table struct {
	node, instance string

	// ownMu serialises this node's own changes, so that sequence numbers
	// are published in order. It is taken before mu, never after.
	ownMu   sync.Mutex
	ownSeq  uint64
	publish func(msg []byte) // set by the Node; called with ownMu held

	mu     sync.RWMutex
	bySID  map[string]*Entry
	byBare map[jid.JID][]*Entry
	owners map[string]*owner // by instance id, this node's own included

	// onConflict is called (without locks) for a session of this node
	// that a newer entry with the same full JID, owned elsewhere, replaces.
	onConflict func(Entry)
	// onRemoved is called (without locks) for every entry of another node
	// that leaves the table.
	onRemoved func(Entry)
	// now is the clock of bind times (tests replace it).
	now func() time.Time
}

// owner is what the table knows about one owner instance.
type owner struct {
	node, instance string
	seq            uint64              // last change applied
	sids           map[string]struct{} // its entries
	synced         bool                // holds its snapshot and every change since
	fetching       bool                // a snapshot request is under way
	pending        []change            // changes received while not synced
}

// change is one entry insert/update (put) or delete, with its sequence
// number.
type change struct {
	seq   uint64
	del   bool
	entry Entry  // put
	sid   string // del
}

func newTable(node, instance string) *Table {
	t := &Table{node: node, instance: instance, bySID: map[string]*Entry{}, byBare: map[jid.JID][]*Entry{},
		owners: map[string]*owner{}, now: time.Now, publish: func([]byte) {}}
	t.owners[instance] = &owner{node: node, instance: instance, sids: map[string]struct{}{}, synced: true}
	return t
}

// --- this node's own entries ---

// Bind inserts a session of this node and publishes it. e.Node, Instance
// and BindTime are filled in: the bind time is now, or just after the
// newest entry of the same full JID in the replica. It returns the stored
// entry.
func (t *Table) Bind(e Entry) Entry {
	t.ownMu.Lock()
	defer t.ownMu.Unlock()
	e.Node, e.Instance = t.node, t.instance
	t.mu.Lock()
	e.BindTime = t.now().UnixMicro()
	for _, o := range t.byBare[e.JID.Bare()] {
		if o.JID == e.JID && o.BindTime >= e.BindTime {
			e.BindTime = o.BindTime + 1
		}
	}
	t.insertLocked(&e)
	seq := t.nextSeqLocked()
	t.mu.Unlock()
	t.publish(t.encodePut(seq, &e))
	return e
}

// Update changes the entry sid of this node with fn and publishes the
// result; false when there is no such entry. fn must not change the JID,
// SID or owner (changes to them are undone).
func (t *Table) Update(sid string, fn func(*Entry)) bool {
	return t.changeOwn(sid, func(cur *Entry) func(uint64) []byte {
		e := *cur
		fn(&e)
		e.JID, e.SID, e.Node, e.Instance, e.BindTime = cur.JID, cur.SID, cur.Node, cur.Instance, cur.BindTime
		*cur = e
		return func(seq uint64) []byte { return t.encodePut(seq, &e) }
	})
}

// Unbind deletes the entry sid of this node and publishes the deletion;
// false when there is no such entry.
func (t *Table) Unbind(sid string) bool {
	return t.changeOwn(sid, func(cur *Entry) func(uint64) []byte {
		t.removeLocked(cur)
		return func(seq uint64) []byte {
			e := newEncoder(kindDel, t.node, t.instance, len(sid)+10)
			e.uvarint(seq)
			e.str(sid)
			return e.b
		}
	})
}

// changeOwn applies a change to this node's entry sid with the locks held,
// numbers it, and publishes the message that the change's encoder returns
// for that number.
func (t *Table) changeOwn(sid string, apply func(cur *Entry) (encode func(seq uint64) []byte)) bool {
	t.ownMu.Lock()
	defer t.ownMu.Unlock()
	t.mu.Lock()
	cur, ok := t.bySID[sid]
	if !ok || cur.Instance != t.instance {
		t.mu.Unlock()
		return false
	}
	encode := apply(cur)
	seq := t.nextSeqLocked()
	t.mu.Unlock()
	t.publish(encode(seq))
	return true
}

// nextSeqLocked numbers a change of this node's own entries; ownMu and mu
// are held.
func (t *Table) nextSeqLocked() uint64 {
	t.ownSeq++
	t.owners[t.instance].seq = t.ownSeq
	return t.ownSeq
}

func (t *Table) encodePut(seq uint64, x *Entry) []byte {
	e := newEncoder(kindPut, t.node, t.instance, 160)
	e.uvarint(seq)
	e.entry(x)
	return e.b
}

// ownSummary returns this node's sequence number and entry count, for
// heartbeats.
func (t *Table) ownSummary() (seq uint64, count int) {
	t.ownMu.Lock()
	defer t.ownMu.Unlock()
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.ownSeq, len(t.owners[t.instance].sids)
}

// ownSnapshot returns this node's entries and the sequence number they are
// current at.
func (t *Table) ownSnapshot() (uint64, []Entry) {
	t.ownMu.Lock()
	defer t.ownMu.Unlock()
	t.mu.RLock()
	defer t.mu.RUnlock()
	o := t.owners[t.instance]
	out := make([]Entry, 0, len(o.sids))
	for sid := range o.sids {
		out = append(out, *t.bySID[sid])
	}
	return t.ownSeq, out
}

// --- the replica ---

func (t *Table) insertLocked(e *Entry) {
	o := t.owners[e.Instance]
	if o == nil {
		o = &owner{node: e.Node, instance: e.Instance, sids: map[string]struct{}{}}
		t.owners[e.Instance] = o
	}
	if old, ok := t.bySID[e.SID]; ok {
		*old = *e
		return
	}
	t.bySID[e.SID] = e
	o.sids[e.SID] = struct{}{}
	b := e.JID.Bare()
	t.byBare[b] = append(t.byBare[b], e)
}

func (t *Table) removeLocked(e *Entry) {
	delete(t.bySID, e.SID)
	if o := t.owners[e.Instance]; o != nil {
		delete(o.sids, e.SID)
	}
	b := e.JID.Bare()
	list := t.byBare[b]
	for i, x := range list {
		if x == e {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(t.byBare, b)
	} else {
		t.byBare[b] = list
	}
}

// conflictsLocked returns this node's entries that e replaces: same full
// JID, older.
func (t *Table) conflictsLocked(e *Entry) []Entry {
	if e.Instance == t.instance {
		return nil
	}
	var out []Entry
	for _, x := range t.byBare[e.JID.Bare()] {
		if x.JID == e.JID && x.Instance == t.instance && e.newer(x) {
			out = append(out, *x)
		}
	}
	return out
}

// notify runs the callbacks for what a change did, without locks held.
func (t *Table) notify(conflicts, removed []Entry) {
	if t.onConflict != nil {
		for _, c := range conflicts {
			t.onConflict(c)
		}
	}
	if t.onRemoved != nil {
		for _, r := range removed {
			t.onRemoved(r)
		}
	}
}

// applyChange applies a change published by another owner. It reports
// whether the owner's snapshot must be fetched (a gap, or a first change
// from an owner not synced yet that is not being fetched).
func (t *Table) applyChange(node, instance string, c change) (needFetch bool) {
	if instance == t.instance {
		return false
	}
	var conflicts, removed []Entry
	t.mu.Lock()
	o := t.owners[instance]
	if o == nil {
		o = &owner{node: node, instance: instance, sids: map[string]struct{}{}}
		t.owners[instance] = o
	}
	switch {
	case !o.synced:
		if len(o.pending) >= maxPending {
			o.pending = nil
		}
		o.pending = append(o.pending, c)
		needFetch = !o.fetching
	case c.seq <= o.seq:
		// Already in the snapshot.
	case c.seq == o.seq+1:
		conflicts, removed = t.applyLocked(o, c)
	default:
		// A gap: a change was lost (a slow consumer on the transport).
		o.synced = false
		o.pending = append(o.pending[:0], c)
		needFetch = !o.fetching
	}
	t.mu.Unlock()
	t.notify(conflicts, removed)
	return needFetch
}

func (t *Table) applyLocked(o *owner, c change) (conflicts, removed []Entry) {
	o.seq = c.seq
	if c.del {
		if x, ok := t.bySID[c.sid]; ok && x.Instance == o.instance {
			removed = append(removed, *x)
			t.removeLocked(x)
		}
		return nil, removed
	}
	e := c.entry
	if e.Instance != o.instance {
		return nil, nil
	}
	t.insertLocked(&e)
	return t.conflictsLocked(&e), nil
}

// beginFetch marks a snapshot of instance as under way; false if one
// already is, or the owner is this node.
func (t *Table) beginFetch(node, instance string) bool {
	if instance == t.instance {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.owners[instance]
	if o == nil {
		o = &owner{node: node, instance: instance, sids: map[string]struct{}{}}
		t.owners[instance] = o
	}
	if o.fetching {
		return false
	}
	o.fetching = true
	return true
}

// fetchFailed ends a snapshot request that got no answer.
func (t *Table) fetchFailed(instance string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if o := t.owners[instance]; o != nil {
		o.fetching = false
	}
}

// applySnapshot replaces the entries of an owner with a snapshot current at
// seq, then applies the changes buffered meanwhile. It reports whether a
// new snapshot is needed at once (the buffered changes have a gap).
func (t *Table) applySnapshot(instance string, seq uint64, entries []Entry) (needFetch bool) {
	t.mu.Lock()
	o := t.owners[instance]
	if o == nil || !o.fetching {
		// The owner was declared down while the snapshot travelled.
		t.mu.Unlock()
		return false
	}
	o.fetching = false
	keep := map[string]bool{}
	var conflicts, removed []Entry
	for i := range entries {
		e := entries[i]
		if e.Instance != instance {
			continue
		}
		keep[e.SID] = true
		t.insertLocked(&e)
		conflicts = append(conflicts, t.conflictsLocked(&e)...)
	}
	for sid := range o.sids {
		if !keep[sid] {
			x := t.bySID[sid]
			removed = append(removed, *x)
			t.removeLocked(x)
		}
	}
	o.seq, o.synced = seq, true
	pending := o.pending
	o.pending = nil
	sort.Slice(pending, func(i, j int) bool { return pending[i].seq < pending[j].seq })
	for _, c := range pending {
		if c.seq <= o.seq {
			continue
		}
		if c.seq != o.seq+1 {
			o.synced = false
			needFetch = true
			break
		}
		cs, rs := t.applyLocked(o, c)
		conflicts, removed = append(conflicts, cs...), append(removed, rs...)
	}
	t.mu.Unlock()
	t.notify(conflicts, removed)
	return needFetch
}

// dropOwner removes every entry of instance (its node is down) and forgets
// its state, so that it is fetched afresh if it comes back. It returns the
// removed entries.
func (t *Table) dropOwner(instance string) []Entry {
	if instance == t.instance {
		return nil
	}
	t.mu.Lock()
	o := t.owners[instance]
	if o == nil {
		t.mu.Unlock()
		return nil
	}
	removed := make([]Entry, 0, len(o.sids))
	for sid := range o.sids {
		x := t.bySID[sid]
		removed = append(removed, *x)
		t.removeLocked(x)
	}
	delete(t.owners, instance)
	t.mu.Unlock()
	t.notify(nil, removed)
	return removed
}

// ownerStatus tells whether the replica of instance is synced, and its
// sequence number and entry count.
func (t *Table) ownerStatus(instance string) (synced, fetching bool, seq uint64, count int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	o := t.owners[instance]
	if o == nil {
		return false, false, 0, 0
	}
	return o.synced, o.fetching, o.seq, len(o.sids)
}

// syncedInstances lists the other owners whose replica is synced, for
// heartbeats (a peer counts this node as joined once it holds its
// snapshot).
func (t *Table) syncedInstances() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []string
	for inst, o := range t.owners {
		if inst != t.instance && o.synced {
			out = append(out, inst)
		}
	}
	return out
}

// --- lookups ---

// Lookup returns the entry routing uses for a full JID: the newest of
// those with that JID.
func (t *Table) Lookup(full jid.JID) (Entry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var best *Entry
	for _, x := range t.byBare[full.Bare()] {
		if x.JID == full && (best == nil || x.newer(best)) {
			best = x
		}
	}
	if best == nil {
		return Entry{}, false
	}
	return *best, true
}

// Get returns the entry with session id sid.
func (t *Table) Get(sid string) (Entry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	x, ok := t.bySID[sid]
	if !ok {
		return Entry{}, false
	}
	return *x, true
}

// Bare returns the sessions of a bare JID, one per resource (the newest),
// sorted by resource.
func (t *Table) Bare(bare jid.JID) []Entry {
	t.mu.RLock()
	list := t.byBare[bare.Bare()]
	out := make([]Entry, 0, len(list))
	for _, x := range list {
		out = appendNewest(out, x)
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].JID.Resource() < out[j].JID.Resource() })
	return out
}

// appendNewest adds x to out unless out has a newer entry of the same full
// JID, which x otherwise replaces.
func appendNewest(out []Entry, x *Entry) []Entry {
	for i := range out {
		if out[i].JID == x.JID {
			if x.newer(&out[i]) {
				out[i] = *x
			}
			return out
		}
	}
	return append(out, *x)
}

// All returns every entry, sorted by JID then bind time.
func (t *Table) All() []Entry {
	t.mu.RLock()
	out := make([]Entry, 0, len(t.bySID))
	for _, x := range t.bySID {
		out = append(out, *x)
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].JID.String(), out[j].JID.String()
		if a != b {
			return a < b
		}
		return out[i].BindTime < out[j].BindTime
	})
	return out
}

// Count returns the number of sessions in the cluster.
func (t *Table) Count() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.bySID)
}

// UniqueUsers returns the number of distinct bare JIDs with a session.
func (t *Table) UniqueUsers() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byBare)
}
