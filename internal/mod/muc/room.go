package muc

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Affiliations (XEP-0045 §5.2). "none" is never stored.
const (
	affOwner   = "owner"
	affAdmin   = "admin"
	affMember  = "member"
	affOutcast = "outcast"
	affNone    = "none"
)

// rank orders affiliations for permission checks.
func rank(aff string) int {
	switch aff {
	case affOwner:
		return 4
	case affAdmin:
		return 3
	case affMember:
		return 2
	case affNone:
		return 1
	}
	return 0 // outcast
}

// roleOf is the role an occupant with aff gets (XEP-0045 §5.1 defaults for
// an open, unmoderated room): owners and admins moderate, everybody else
// participates.
func roleOf(aff string) string {
	if aff == affOwner || aff == affAdmin {
		return "moderator"
	}
	return "participant"
}

// occupant is one full JID in the room under a nickname.
type occupant struct {
	jid  jid.JID
	nick string
	// pres holds the children of the occupant's last presence to forward
	// (show, status, priority, ...), without the MUC extensions.
	pres []xmlstream.Node
}

// histEntry is one message kept for replay on join.
type histEntry struct {
	el   *xmlstream.Element // the broadcast copy, without to
	at   time.Time
	size int
}

// out is one stanza to route once the room's state lock is released, or
// a broadcast to report to the MucGroupchatBroadcast hook.
type out struct {
	to   jid.JID
	el   *xmlstream.Element
	hook *hooks.MucGroupchatBroadcast
}

// Room is one classic MUC room, kept in memory. mu guards the state;
// sendMu serialises the routing of queued stanzas so that every occupant
// sees the room's stanzas in the order the state changed (LOCKS.md).
type Room struct {
	jid jid.JID

	mu          sync.Mutex
	locked      bool               // created, waiting for the owner's form (§10.1)
	affs        map[jid.JID]string // bare JID -> owner/admin/member/outcast
	occupants   map[string]*occupant
	byJID       map[jid.JID]string // full JID -> nick
	history     []histEntry
	historySize int
	subject     string
	subjectFrom string // nick of the last subject change, "" for none
	outq        []out  // see queue.go
	maxQueue    int
	m           *queueMetrics

	sendMu sync.Mutex
}

// queueMetrics are the module's metrics of the rooms' outgoing queues.
type queueMetrics struct {
	queued  prometheus.Gauge   // mod_muc_room_queue_length: stanzas waiting, all rooms
	dropped prometheus.Counter // mod_muc_room_queue_dropped_count: stanzas refused
}

func newRoom(j jid.JID, historySize, maxQueue int, m *queueMetrics) *Room {
	return &Room{jid: j, affs: map[jid.JID]string{}, occupants: map[string]*occupant{},
		byJID: map[jid.JID]string{}, historySize: historySize, maxQueue: maxQueue, m: m}
}

// affiliation returns u's affiliation ("none" when not listed).
func (r *Room) affiliation(u jid.JID) string {
	if a, ok := r.affs[u.Bare()]; ok {
		return a
	}
	return affNone
}

// canJoin applies the entry rules of XEP-0045 §7.2 for full under nick.
func (r *Room) canJoin(full jid.JID, nick string) error {
	aff := r.affiliation(full)
	if aff == affOutcast {
		return ErrBanned
	}
	if o, ok := r.occupants[nick]; ok && o.jid != full {
		return ErrNickConflict
	}
	if r.locked && aff != affOwner {
		return ErrLocked
	}
	return nil
}

// add enters full as nick; canJoin must have accepted it.
func (r *Room) add(full jid.JID, nick string, pres []xmlstream.Node) *occupant {
	o := &occupant{jid: full, nick: nick, pres: pres}
	r.occupants[nick] = o
	r.byJID[full] = nick
	return o
}

// remove takes full out of the room and returns its occupant, or nil.
func (r *Room) remove(full jid.JID) *occupant {
	nick, ok := r.byJID[full]
	if !ok {
		return nil
	}
	o := r.occupants[nick]
	delete(r.byJID, full)
	delete(r.occupants, nick)
	return o
}

// occupantOf returns the occupant of full, or nil.
func (r *Room) occupantOf(full jid.JID) *occupant {
	if nick, ok := r.byJID[full]; ok {
		return r.occupants[nick]
	}
	return nil
}

// sortedOccupants lists the occupants by nickname (stable output).
func (r *Room) sortedOccupants() []*occupant {
	out := make([]*occupant, 0, len(r.occupants))
	for _, o := range r.occupants {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b *occupant) int {
		switch {
		case a.nick < b.nick:
			return -1
		case a.nick > b.nick:
			return 1
		}
		return 0
	})
	return out
}

// affChange is one requested affiliation change.
type affChange struct {
	user jid.JID // bare
	aff  string
}

// checkAffChanges validates a muc#admin change list by actor (XEP-0045 §9
// and §10): owners may set any affiliation; admins may only move users
// between member, none and outcast, and never act on owners or admins.
// The list is applied all or nothing; at least one owner must remain.
func (r *Room) checkAffChanges(actor jid.JID, changes []affChange) error {
	actorAff := r.affiliation(actor)
	if actorAff != affOwner && actorAff != affAdmin {
		return ErrForbidden
	}
	after := map[jid.JID]string{}
	for u, a := range r.affs {
		after[u] = a
	}
	for _, c := range changes {
		if rank(c.aff) == 0 && c.aff != affOutcast {
			return ErrBadRequest
		}
		cur := r.affiliation(c.user)
		if actorAff == affAdmin {
			if c.aff == affOwner || c.aff == affAdmin {
				return ErrForbidden
			}
			if cur == affOwner || cur == affAdmin {
				return ErrNotAllowed
			}
		}
		if c.aff == affNone {
			delete(after, c.user)
		} else {
			after[c.user] = c.aff
		}
	}
	for _, a := range after {
		if a == affOwner {
			return nil
		}
	}
	return ErrLastOwner
}

// applyAffChanges stores checked changes and returns those that changed
// something.
func (r *Room) applyAffChanges(changes []affChange) []affChange {
	var done []affChange
	for _, c := range changes {
		if r.affiliation(c.user) == c.aff {
			continue
		}
		if c.aff == affNone {
			delete(r.affs, c.user)
		} else {
			r.affs[c.user] = c.aff
		}
		done = append(done, c)
	}
	return done
}

// affList returns the users with affiliation aff, sorted.
func (r *Room) affList(aff string) []jid.JID {
	var out []jid.JID
	for u, a := range r.affs {
		if a == aff {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b jid.JID) int {
		switch {
		case a.String() < b.String():
			return -1
		case a.String() > b.String():
			return 1
		}
		return 0
	})
	return out
}

// hookAffiliations is the affiliation list as the hook reports it.
func (r *Room) hookAffiliations() []hooks.MucAffiliation {
	out := make([]hooks.MucAffiliation, 0, len(r.affs))
	for u, a := range r.affs {
		out = append(out, hooks.MucAffiliation{User: u, Affiliation: a})
	}
	return out
}

// remember adds a broadcast message to the history, dropping the oldest
// beyond historySize.
func (r *Room) remember(el *xmlstream.Element, at time.Time) {
	if r.historySize <= 0 {
		return
	}
	r.history = append(r.history, histEntry{el: el, at: at, size: len(el.String())})
	if n := len(r.history) - r.historySize; n > 0 {
		r.history = slices.Delete(r.history, 0, n)
	}
}

// historyReq is a join's <history/> element (XEP-0045 §7.2.13); a negative
// field means absent.
type historyReq struct {
	maxChars, maxStanzas int
	since                time.Time
}

func parseHistory(h *xmlstream.Element, now time.Time) historyReq {
	q := historyReq{maxChars: -1, maxStanzas: -1}
	if h == nil {
		return q
	}
	if n, err := strconv.Atoi(h.Attr("maxchars")); err == nil && n >= 0 {
		q.maxChars = n
	}
	if n, err := strconv.Atoi(h.Attr("maxstanzas")); err == nil && n >= 0 {
		q.maxStanzas = n
	}
	if n, err := strconv.Atoi(h.Attr("seconds")); err == nil && n >= 0 {
		q.since = now.Add(-time.Duration(n) * time.Second)
	}
	if t, err := time.Parse(time.RFC3339, h.Attr("since")); err == nil && t.After(q.since) {
		q.since = t
	}
	return q
}

// selectHistory returns the history entries a join asked for: the newest
// ones within every given limit, oldest first. maxchars counts the
// serialised stanza, as XEP-0045 §7.2.13 suggests.
func (r *Room) selectHistory(q historyReq) []histEntry {
	start := len(r.history)
	chars := 0
	for i := len(r.history) - 1; i >= 0; i-- {
		h := r.history[i]
		if q.maxStanzas >= 0 && len(r.history)-i > q.maxStanzas {
			break
		}
		if !q.since.IsZero() && h.at.Before(q.since) {
			break
		}
		if q.maxChars >= 0 && chars+h.size > q.maxChars {
			break
		}
		chars += h.size
		start = i
	}
	return r.history[start:]
}

// nickJID is room/nick.
func nickJID(room jid.JID, nick string) jid.JID {
	j, _ := room.WithResource(nick)
	return j
}

// presenceChildren keeps the children of a client presence that are
// forwarded to the room (everything but the MUC extensions).
func presenceChildren(el *xmlstream.Element) []xmlstream.Node {
	var out []xmlstream.Node
	for _, c := range el.Elements() {
		if c.Space == NS || c.Space == NSUser {
			continue
		}
		out = append(out, c)
	}
	return out
}

// occupantPresence builds o's presence as sent to a recipient: the
// forwarded children and an x of muc#user with the item and status codes.
// The real JID is shown to moderators only (a semi-anonymous room) and to
// the occupant itself.
func (r *Room) occupantPresence(o *occupant, aff, role string, toModerator bool, typ string, codes ...string) *xmlstream.Element {
	p := xmlstream.New(stanza.NSClient, "presence", "from", nickJID(r.jid, o.nick).String())
	if typ != "" {
		p.SetAttr("type", typ)
	}
	p.Append(o.pres...)
	x := xmlstream.New(NSUser, "x")
	item := xmlstream.New(NSUser, "item", "affiliation", aff, "role", role)
	if toModerator {
		item.SetAttr("jid", o.jid.String())
	}
	x.Append(item)
	for _, c := range codes {
		x.Append(xmlstream.New(NSUser, "status", "code", c))
	}
	return p.Append(x)
}

// isModerator reports whether the occupant o has the moderator role.
func (r *Room) isModerator(o *occupant) bool { return roleOf(r.affiliation(o.jid)) == "moderator" }

// broadcastPresence queues o's presence to every occupant; o's own copy
// comes last and carries status 110 and the extra codes.
func (r *Room) broadcastPresence(o *occupant, typ string, codes ...string) {
	aff := r.affiliation(o.jid)
	role := roleOf(aff)
	if typ == "unavailable" {
		role = "none"
	}
	for _, other := range r.sortedOccupants() {
		if other == o {
			continue
		}
		r.queue(other.jid, r.occupantPresence(o, aff, role, r.isModerator(other), typ))
	}
	if len(codes) == 0 {
		codes = []string{"110"}
	}
	r.queue(o.jid, r.occupantPresence(o, aff, role, true, typ, codes...))
}
