package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
)

// published decodes what a table publishes, as a peer would.
type published struct{ msgs [][]byte }

func (p *published) changes(t *testing.T) []change {
	t.Helper()
	var out []change
	for _, m := range p.msgs {
		h, d, err := decodeHeader(m)
		if err != nil {
			t.Fatal(err)
		}
		c := change{seq: d.uvarint()}
		switch h.Kind {
		case kindPut:
			c.entry = d.entry()
		case kindDel:
			c.del, c.sid = true, d.str()
		}
		if err := d.end(); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	p.msgs = nil
	return out
}

func ownerTable(name string) (*Table, *published) {
	t := newTable(name, name+"-i")
	p := &published{}
	t.publish = func(m []byte) { p.msgs = append(p.msgs, m) }
	return t, p
}

func TestTableReplication(t *testing.T) {
	a, pub := ownerTable("a")
	b, _ := ownerTable("b")
	alice := jid.MustParse("alice@localhost/r")
	a.Bind(Entry{JID: alice, SID: "s1", Available: true, Priority: 1})
	a.Update("s1", func(e *Entry) { e.Priority = 7; e.SID = "hijack" })
	a.Bind(Entry{JID: jid.MustParse("alice@localhost/r2"), SID: "s2"})
	cs := pub.changes(t)
	if len(cs) != 3 || cs[0].seq != 1 || cs[2].seq != 3 || cs[1].entry.SID != "s1" || cs[1].entry.Priority != 7 {
		t.Fatalf("changes = %+v", cs)
	}
	// b has not synced a yet: the changes wait for the snapshot.
	if !b.applyChange("a", "a-i", cs[0]) {
		t.Error("first change from an unknown owner should ask for a snapshot")
	}
	if !b.beginFetch("a", "a-i") || b.beginFetch("a", "a-i") {
		t.Error("beginFetch: want one fetch at a time")
	}
	b.applyChange("a", "a-i", cs[1])
	if b.Count() != 0 {
		t.Error("changes applied before the snapshot")
	}
	// The snapshot is current at seq 1; changes 2 and 3 (one buffered,
	// one arriving later) apply on top.
	if b.applySnapshot("a-i", 1, []Entry{{JID: alice, SID: "s1", Node: "a", Instance: "a-i", Priority: 1}}) {
		t.Error("no gap, but a new snapshot asked for")
	}
	if e, _ := b.Lookup(alice); e.Priority != 7 {
		t.Errorf("after snapshot + buffered change: %+v", e)
	}
	if b.applyChange("a", "a-i", cs[2]) || b.Count() != 2 {
		t.Errorf("count = %d", b.Count())
	}
	// A replayed change is ignored; a gap asks for a snapshot.
	b.applyChange("a", "a-i", cs[2])
	a.Unbind("s2")
	a.Unbind("s1")
	cs = pub.changes(t)
	if !b.applyChange("a", "a-i", cs[1]) {
		t.Error("a gap must ask for a snapshot")
	}
	if synced, _, _, _ := b.ownerStatus("a-i"); synced {
		t.Error("still synced after a gap")
	}
	// Lookups keep answering from the last state until the snapshot.
	if b.Count() != 2 {
		t.Errorf("count = %d", b.Count())
	}
	b.beginFetch("a", "a-i")
	seq, snap := a.ownSnapshot()
	b.applySnapshot("a-i", seq, snap)
	if b.Count() != 0 || b.UniqueUsers() != 0 {
		t.Errorf("after the second snapshot: %d sessions", b.Count())
	}
}

func TestTableBindTimeAndConflicts(t *testing.T) {
	a, _ := ownerTable("a")
	b, _ := ownerTable("b")
	var conflicts, removed []Entry
	a.onConflict = func(e Entry) { conflicts = append(conflicts, e) }
	a.onRemoved = func(e Entry) { removed = append(removed, e) }
	frozen := time.UnixMicro(1_000_000)
	a.now = func() time.Time { return frozen }
	b.now = a.now
	j := jid.MustParse("carol@localhost/phone")
	mine := a.Bind(Entry{JID: j, SID: "a1"})
	// b's replica knows a's entry: its bind is strictly later even with
	// the same clock.
	b.beginFetch("a", "a-i")
	seq, snap := a.ownSnapshot()
	b.applySnapshot("a-i", seq, snap)
	theirs := b.Bind(Entry{JID: j, SID: "b1"})
	if theirs.BindTime <= mine.BindTime {
		t.Fatalf("bind times %d <= %d", theirs.BindTime, mine.BindTime)
	}
	a.beginFetch("b", "b-i")
	seq, snap = b.ownSnapshot()
	a.applySnapshot("b-i", seq, snap)
	if len(conflicts) != 1 || conflicts[0].SID != "a1" {
		t.Errorf("conflicts = %+v", conflicts)
	}
	if e, _ := a.Lookup(j); e.SID != "b1" {
		t.Errorf("a routes to %+v, want b's newer session", e)
	}
	if got := a.Bare(j.Bare()); len(got) != 1 || got[0].SID != "b1" {
		t.Errorf("Bare = %+v, want one entry per resource", got)
	}
	// Equal bind times: the greater node name wins.
	x := Entry{JID: j, SID: "z", Node: "a", BindTime: 5}
	y := Entry{JID: j, SID: "a", Node: "b", BindTime: 5}
	if !y.newer(&x) || x.newer(&y) {
		t.Error("tie not broken by node name")
	}
	dropped := a.dropOwner("b-i")
	if len(dropped) != 1 || len(removed) != 1 || a.Count() != 1 {
		t.Errorf("dropOwner: %+v, removed %+v, count %d", dropped, removed, a.Count())
	}
	// A snapshot that arrives after its owner was dropped is ignored.
	a.beginFetch("b", "b-i")
	a.dropOwner("b-i")
	a.applySnapshot("b-i", seq, snap)
	if a.Count() != 1 {
		t.Errorf("snapshot of a dropped owner applied: %d", a.Count())
	}
}

func TestTablePendingBound(t *testing.T) {
	b, _ := ownerTable("b")
	for i := 1; i <= maxPending+10; i++ {
		b.applyChange("a", "a-i", change{seq: uint64(i), del: true, sid: "x"})
	}
	b.mu.RLock()
	n := len(b.owners["a-i"].pending)
	b.mu.RUnlock()
	if n > maxPending {
		t.Errorf("%d pending changes kept", n)
	}
}

func BenchmarkTableLookup(b *testing.B) {
	tb, _ := ownerTable("a")
	for i := 0; i < 10000; i++ {
		tb.Bind(Entry{JID: jid.MustParse(fmt.Sprintf("u%d@localhost/r", i)), SID: fmt.Sprint(i)})
	}
	j := jid.MustParse("u5000@localhost/r")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := tb.Lookup(j); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkSnapshotDecode(b *testing.B) {
	e := &encoder{}
	for i := 0; i < 1000; i++ {
		x := Entry{JID: jid.MustParse(fmt.Sprintf("user%05d@localhost/resource-%05d", i, i)), SID: fmt.Sprint(i), Node: "n", Instance: "i"}
		e.entry(&x)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := &decoder{b: e.b}
		for k := 0; k < 1000; k++ {
			d.entry()
		}
		if d.err != nil {
			b.Fatal(d.err)
		}
	}
}
