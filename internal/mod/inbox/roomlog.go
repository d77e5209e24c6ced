package inbox

import (
	"fmt"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// With rdbms_async, every write of a MUC Light room's entries (one entry
// per member) is queued under one key, the room's (lightKey), as a roomLog:
// the room's pending writes in arrival order. A message costs one queue
// operation whatever the room's size, instead of one per member, and the
// per-member writes are only worked out when the log is flushed.
//
// The log is a list of segments. A run is a sequence of consecutive room
// messages sent to the same member list: it keeps the number of messages,
// the newest one, and for each member who sent some of them the position
// of its newest own message. A member segment is one write of one member's
// entry that is not a room message (a marker or IQ reset, a removal, an
// affiliation-change message). Because every write of the room's entries
// goes through the same log, the order of the writes of each entry is kept,
// exactly as with one key per entry.
//
// At flush (expand) each member's writes are worked out from the log in
// order and merged with the rules of spec/inbox.md §10.4: a run gives a
// member who sent none of its n messages INC(n), and a member whose newest
// own message is the i-th SET(n-i) (its own message sets 0, the later ones
// add up: rules 15 and 18), both carrying the run's newest message. That is
// the result of putting the run's per-member writes one by one.
type roomLog struct {
	segs []roomSeg
}

// roomSeg is a run (members set) or a member segment (owner set).
type roomSeg struct {
	// Run.
	members []jid.JID // bare JIDs of the local, existing members
	n       int       // messages in the run
	last    *xmlstream.Element
	ts      int64 // timestamp of the newest message
	// own is the position (1-based) of each sender's newest message, in
	// order of first message (a slice rather than a map: few members of a
	// room write in one flush interval, and the message path stays shallow
	// on the session goroutine's stack).
	own []ownPos

	// Member segment.
	owner Owner
	t     task
}

// ownPos is a sender's newest message in a run.
type ownPos struct {
	u   jid.JID
	pos int
}

// lightKey is the queue key of a MUC Light room's log: the room's entry
// key with no owner.
func lightKey(room string) taskKey { return taskKey{Remote: room} }

// newRun is the log of one room message.
func newRun(members []jid.JID, el *xmlstream.Element, sender jid.JID, ts int64) task {
	return task{log: &roomLog{segs: []roomSeg{{members: members, n: 1, last: el, ts: ts, own: []ownPos{{sender, 1}}}}}}
}

// sameMembers reports whether two member lists are equal (usually they are
// the same slice, from the room cache).
func sameMembers(a, b []jid.JID) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// newMemberSeg is the log of one write of o's entry.
func newMemberSeg(o Owner, t task) task {
	return task{log: &roomLog{segs: []roomSeg{{owner: o, t: t}}}}
}

func (s *roomSeg) isRun() bool { return s.n > 0 }

// ownPos is the position of u's newest own message in the run, 0 for none.
func (s *roomSeg) ownPos(u jid.JID) int {
	for _, o := range s.own {
		if o.u == u {
			return o.pos
		}
	}
	return 0
}

// setOwn records that u sent the run's newest message.
func (s *roomSeg) setOwn(u jid.JID) {
	for i := range s.own {
		if s.own[i].u == u {
			s.own[i].pos = s.n
			return
		}
	}
	s.own = append(s.own, ownPos{u, s.n})
}

// appendLog adds the newer log nw to l, extending l's last run when nw
// starts with a run to the same members.
func (l *roomLog) appendLog(nw *roomLog) {
	for i := range nw.segs {
		l.add(&nw.segs[i])
	}
}

// add appends segment s, extending the last run when s is one message to
// the same members.
func (l *roomLog) add(s *roomSeg) {
	if k := len(l.segs) - 1; k >= 0 && s.n == 1 && l.segs[k].isRun() && sameMembers(l.segs[k].members, s.members) {
		r := &l.segs[k]
		r.n++
		r.setOwn(s.own[0].u)
		r.last, r.ts = s.last, s.ts
		return
	}
	l.segs = append(l.segs, *s)
}

// derive is the write a run makes to member u's entry.
func (s *roomSeg) derive(u jid.JID) task {
	t := task{kind: kInc, count: s.n, msgID: s.last.Attr("id"), msg: s.last, to: u.String(), ts: s.ts, box: "inbox", notify: u}
	if i := s.ownPos(u); i > 0 {
		t.kind, t.count = kSet, s.n-i
	}
	return t
}

// entryWrites is one pending write per entry, in the order the entries
// were first written; a later write of an entry is merged into its pending
// one with aggregate.
type entryWrites struct {
	order []taskKey
	byKey map[taskKey]task
}

func newEntryWrites(n int) *entryWrites {
	return &entryWrites{order: make([]taskKey, 0, n), byKey: make(map[taskKey]task, n)}
}

// add merges t into k's pending write. A merge error keeps the older write,
// as the writer does (§10.3).
func (w *entryWrites) add(k taskKey, t task) error {
	old, ok := w.byKey[k]
	if !ok {
		w.order = append(w.order, k)
		w.byKey[k] = t
		return nil
	}
	nt, err := aggregate(old, t)
	if err != nil {
		return fmt.Errorf("inbox: %s@%s, %s: %w", k.Owner.LUser, k.Owner.LServer, k.Remote, err)
	}
	w.byKey[k] = nt
	return nil
}

// expand adds the per-entry writes of a room's log to w, in order, and
// returns the merge errors (for logging).
func (l *roomLog) expand(room string, w *entryWrites) []error {
	var errs []error
	add := func(k taskKey, t task) {
		if err := w.add(k, t); err != nil {
			errs = append(errs, err)
		}
	}
	for i := range l.segs {
		s := &l.segs[i]
		if !s.isRun() {
			add(taskKey{s.owner, room}, s.t)
			continue
		}
		for _, u := range s.members {
			add(taskKey{owner(u), room}, s.derive(u))
		}
	}
	return errs
}
