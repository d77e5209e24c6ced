package inbox

import (
	"context"
	"strings"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
)

// MUC Light: room messages are written for every member at once, room
// notifications (affiliation changes) per member, and a destroyed room's
// entries removed.

// lightMessageAsync is lightMessage with rdbms_async: the message is
// queued once on the room's log. When the room is listed (cache.go) at the
// message's version, that is all; otherwise lightQueue checks each
// member's account first. The previous boxes of the members' entries are
// read by the flush (checkArchive). This runs deep in the sending
// session's stack: it is kept small, the rare work being in lightQueue.
func (m *Module) lightMessageAsync(ctx context.Context, ev *hooks.LightMessage) bool {
	ok, marker := allRules.classify(ev.Stanza)
	if !ok || marker {
		return false
	}
	room := remoteKey(ev.Room)
	members, ok := m.notArchived.room(room, ev.Version)
	if !ok {
		m.lightQueue(ctx, ev, room)
		return false
	}
	if err := m.async.w.Put(ctx, lightKey(room), newRun(members, ev.Stanza, ev.Sender.Bare(), m.timestamp())); err != nil {
		m.log.Error("inbox: write", "room", room, "err", err)
	}
	return false
}

// lightMember is one member a MUC Light message is written for: a local
// account, with its entry's previous properties when the entry was not
// known to be out of the archive (cache.go).
type lightMember struct {
	u     jid.JID
	known bool
	prev  Props
	perr  error
}

// lightMembers returns the members of a room message whose entries are
// written: existing local accounts. With readProps (rdbms), for entries not
// known to be out of the archive it reads the previous properties, for the
// auto-unarchive notification (§8.7) that lightWritten sends.
func (m *Module) lightMembers(ctx context.Context, ev *hooks.LightMessage, room string, readProps bool) []lightMember {
	out := make([]lightMember, 0, len(ev.Members))
	for _, u := range ev.Members {
		u = u.Bare()
		k := taskKey{owner(u), room}
		mb := lightMember{u: u, known: m.notArchived.known(k)}
		if !mb.known && !m.exists(ctx, u) {
			continue
		}
		if !mb.known && readProps {
			mb.prev, mb.perr = m.store.Props(ctx, k.Owner, room)
		}
		out = append(out, mb)
	}
	return out
}

// lightWritten follows the write of a room message for members: entries
// not known before are remembered (unless a property set ran since epoch)
// and those that left the archive are notified.
func (m *Module) lightWritten(ctx context.Context, room string, sender jid.JID, members []lightMember, epoch uint64) {
	for _, mb := range members {
		if mb.known {
			continue
		}
		m.notArchived.remember(taskKey{owner(mb.u), room}, epoch)
		if mb.perr == nil && mb.prev.Box == "archive" {
			unread := 0
			if mb.u != sender {
				unread = mb.prev.UnreadCount + 1
			}
			m.unarchived(ctx, mb.u, mb.u, room, mb.prev, unread)
		}
	}
}

// lightMessage is the MUC Light incoming path for user messages (§8.4)
// with the synchronous backend, once per message for all its members: the
// sender's entry gets the message with count 0, every other member's an
// increment of 1, each write with its own timestamp. The entries are
// written before the message is routed, with one multi-row statement per
// kind of write (the sender's absolute write, the others' increments)
// instead of one statement per member.
func (m *Module) lightMessage(ctx context.Context, ev *hooks.LightMessage) bool {
	ok, marker := allRules.classify(ev.Stanza)
	if !ok || marker {
		return false
	}
	room, sender := remoteKey(ev.Room), ev.Sender.Bare()
	epoch := m.notArchived.epoch.Load()
	members := m.lightMembers(ctx, ev, room, true)
	if len(members) == 0 {
		return false
	}
	rows := make([]OwnedUpsert, 0, len(members))
	copies := storedCopies{}
	for _, mb := range members {
		count := 1
		if mb.u == sender {
			count = 0
		}
		rows = append(rows, OwnedUpsert{owner(mb.u), Upsert{Remote: room, MsgID: ev.Stanza.Attr("id"),
			Content: copies.copyTo(ev.Stanza, mb.u.String()), Timestamp: m.timestamp(), Count: count, Incr: count == 1, Box: "inbox"}})
	}
	if err := m.store.UpsertMany(ctx, rows); err != nil {
		m.log.Error("inbox: write", "room", room, "err", err)
		return false
	}
	m.lightWritten(ctx, room, sender, members, epoch)
	return false
}

// lightQueue queues a message of a room not listed (rdbms_async): each
// member's account is checked as lightMembers does, and the room is listed
// for the next messages.
func (m *Module) lightQueue(ctx context.Context, ev *hooks.LightMessage, room string) {
	epoch := m.notArchived.epoch.Load()
	members := m.lightMembers(ctx, ev, room, false)
	jids := make([]jid.JID, len(members))
	for i, mb := range members {
		jids[i] = mb.u
	}
	if err := m.async.w.Put(ctx, lightKey(room), newRun(jids, ev.Stanza, ev.Sender.Bare(), m.timestamp())); err != nil {
		m.log.Error("inbox: write", "room", room, "err", err)
		return
	}
	m.notArchived.rememberRoom(room, ev.Version, jids, epoch)
}

// groupchatDelivered is the MUC Light incoming path (§8.4) for the room's
// notifications (affiliation changes); user messages go through
// lightMessage.
func (m *Module) groupchatDelivered(ctx context.Context, ev *hooks.GroupchatDelivery) bool {
	el := ev.Stanza
	ok, marker := allRules.classify(el)
	if !ok || marker {
		return false
	}
	member := ev.To.Bare()
	if !m.exists(ctx, member) {
		return false
	}
	room := remoteKey(ev.Room)
	x := el.Child(nsMLAff, "x")
	if x == nil {
		return false
	}
	for _, u := range x.Elements() {
		if u.Local != "user" {
			continue
		}
		uj, err := jid.Parse(strings.TrimSpace(u.Text()))
		if err != nil || uj.Bare() != member {
			continue
		}
		switch u.Attr("affiliation") {
		case "member", "owner":
			if m.opts.AffChanges {
				m.write(ctx, member, member, room, el, m.timestamp(), 1, true)
			}
		case "none":
			if m.opts.AffChanges {
				m.write(ctx, member, member, room, el, m.timestamp(), 1, true)
			}
			if m.opts.RemoveOnKicked {
				m.remove(ctx, member, room)
			}
		}
		break
	}
	return false
}

// roomDestroyed removes every member's entry for the room (§8.4).
func (m *Module) roomDestroyed(ctx context.Context, ev *hooks.RoomDestroyed) bool {
	if !m.opts.RemoveOnKicked {
		return false
	}
	room := remoteKey(ev.Room)
	for _, u := range ev.Occupants {
		if m.r.IsLocal(u.Domain()) {
			m.remove(ctx, u.Bare(), room)
		}
	}
	return false
}
