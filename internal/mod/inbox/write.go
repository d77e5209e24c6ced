package inbox

import (
	"context"
	"strings"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// One-to-one messages and the entry writes every path shares: the outgoing
// and incoming hooks, the upsert (synchronous or queued on the asynchronous
// writer), the auto-unarchive notification and removals.

// queueKey is the key the asynchronous writer queues k's writes under:
// the room's for an entry of a MUC Light room, k itself otherwise.
func (m *Module) queueKey(k taskKey) (taskKey, bool) {
	if m.light != nil {
		if i := strings.LastIndexByte(k.Remote, '@'); i >= 0 && m.light(k.Remote[i+1:]) {
			return lightKey(k.Remote), true
		}
	}
	return k, false
}

// put queues t for entry k on the asynchronous writer.
func (m *Module) put(ctx context.Context, k taskKey, t task) error {
	if qk, room := m.queueKey(k); room {
		return m.async.w.Put(ctx, qk, newMemberSeg(k.Owner, t))
	}
	return m.async.w.Put(ctx, k, t)
}

// resetUnread resets o's entry for remote (conditionally on msgID unless
// nil), synchronously or through the asynchronous writer.
func (m *Module) resetUnread(ctx context.Context, o Owner, remote string, msgID *string, ts int64) error {
	if m.async != nil {
		return m.put(ctx, taskKey{o, remote}, task{kind: kReset, resetMsg: msgID, ts: ts})
	}
	return m.store.ResetUnread(ctx, o, remote, msgID, ts)
}

// exists reports whether u is a stored local account.
func (m *Module) exists(ctx context.Context, u jid.JID) bool {
	if !m.r.IsLocal(u.Domain()) || u.Local() == "" {
		return false
	}
	if m.accounts == nil {
		return true
	}
	u = u.Bare()
	if m.users.known(u) {
		return true
	}
	ok, err := m.accounts.UserExists(ctx, u.Domain(), u.Local())
	if err != nil {
		m.log.Warn("inbox: account lookup", "user", u.String(), "err", err)
		return false
	}
	if ok {
		m.users.remember(u)
	}
	return ok
}

// userSent is the outgoing path (§8.3, §8.4): a local user's session sends
// a message.
func (m *Module) userSent(ctx context.Context, ev *hooks.StanzaEvent) bool {
	el := ev.Stanza
	ok, marker := allRules.classify(el)
	if !ok || ev.To.IsZero() {
		return false
	}
	// A marker or a groupchat message (its entries are written by the room
	// hooks) only matters here as a reset marker: every room message passes
	// this hook, and returns before the account lookup.
	id, reset := m.resetMarkerID(el)
	write := !marker && el.Attr("type") != "groupchat"
	if !reset && !write || !m.exists(ctx, ev.From) {
		return false
	}
	o, remote := owner(ev.From), remoteKey(ev.To)
	ts := m.timestamp()
	if reset {
		if err := m.resetUnread(ctx, o, remote, &id, ts); err != nil {
			m.log.Error("inbox: marker reset", "owner", ev.From.Bare().String(), "err", err)
		}
	}
	if !write {
		return false
	}
	m.write(ctx, ev.From, ev.From.Bare(), remote, el, ts, 0, false)
	return false
}

// localMessage is the incoming one-to-one path (§8.3).
func (m *Module) localMessage(ctx context.Context, ev *hooks.StanzaEvent) bool {
	el := ev.Stanza
	if el.Attr("type") == "groupchat" {
		// MUC Light copies arrive through GroupchatDelivered and classic
		// MUC broadcasts through MucGroupchatBroadcast (§8.5): the copies
		// routed to present occupants are never counted here.
		return false
	}
	ok, marker := allRules.classify(el)
	if !ok || marker || ev.From.IsZero() {
		return false
	}
	to := ev.To.Bare()
	if ev.From.Bare() == to {
		// A message to oneself: the outgoing write (count 0) wins, as the
		// strict timestamp guard of the reference makes it (§8.3).
		return false
	}
	if !m.exists(ctx, to) {
		return false
	}
	m.write(ctx, ev.To, to, remoteKey(ev.From), el, m.timestamp(), 1, true)
	return false
}

// write upserts a message into ownerJID's entry for remote and sends the
// auto-unarchive notification when the entry left the archive (§8.7).
// notifyFrom is the owner as it appears in the routed stanza. With
// rdbms_async the write is queued, and the flush that stores it reads the
// previous box and notifies (checkArchive).
func (m *Module) write(ctx context.Context, notifyFrom, ownerJID jid.JID, remote string, el *xmlstream.Element, ts int64, count int, incr bool) {
	o := owner(ownerJID)
	key := taskKey{o, remote}
	if m.async != nil {
		// The previous box is read by the flush that stores the write,
		// not here on the sender's goroutine (checkArchive).
		kind := kSet
		if incr {
			kind = kInc
		}
		t := task{kind: kind, count: count, msgID: el.Attr("id"), msg: el, ts: ts, box: "inbox", notify: notifyFrom}
		if err := m.put(ctx, key, t); err != nil {
			m.log.Error("inbox: write", "owner", ownerJID.String(), "remote", remote, "err", err)
		}
		return
	}
	epoch := m.notArchived.epoch.Load()
	known := m.notArchived.known(key)
	var prev Props
	var perr error
	if !known {
		prev, perr = m.store.Props(ctx, o, remote)
	}
	changed, err := m.store.Upsert(ctx, o, Upsert{Remote: remote, MsgID: el.Attr("id"), Content: el.String(),
		Timestamp: ts, Count: count, Incr: incr, Box: "inbox"})
	if err != nil {
		m.log.Error("inbox: write", "owner", ownerJID.String(), "remote", remote, "err", err)
		return
	}
	if !changed {
		m.log.Debug("inbox: write ignored (older timestamp)", "owner", ownerJID.String(), "remote", remote)
		return
	}
	if known {
		// A known key needs no remembering: only a property set forgets
		// it, and then the epoch check would refuse this write's remember.
		return
	}
	m.notArchived.remember(key, epoch)
	if perr == nil && prev.Box == "archive" {
		unread := 0
		if incr {
			unread = prev.UnreadCount + count
		}
		m.unarchived(ctx, notifyFrom, ownerJID, remote, prev, unread)
	}
}

// unarchived sends the automatic un-archive notification (§8.7): the entry
// of ownerJID for remote, whose properties were prev, is back in the inbox
// with unread messages.
func (m *Module) unarchived(ctx context.Context, notifyFrom, ownerJID jid.JID, remote string, prev Props, unread int) {
	x := m.propsElement(xmlstream.New(NSConversation, "x", "jid", remote), Props{Box: "inbox", MutedUntil: prev.MutedUntil, UnreadCount: unread})
	msg := xmlstream.New(stanza.NSClient, "message", "id", m.newID(), "from", notifyFrom.String(), "to", ownerJID.String())
	msg.Append(x)
	m.r.Route(ctx, notifyFrom, ownerJID, msg)
}

// written is a message write of a flush: an entry key and its task.
type written struct {
	k taskKey
	t task
}

// checkArchive is the auto-unarchive check of rdbms_async (§8.7, §10.5),
// run by a flush on the writer's goroutine before it stores its message
// writes ws: the previous properties of the entries not known to be out of
// the archive are read in one statement per maxRows entries. The returned
// function, nil when there is nothing to do, runs once the writes are
// stored: it remembers those entries (unless a property set ran since) and
// notifies the owners of the archived ones. A failed read only costs the
// notifications, as with rdbms.
func (m *Module) checkArchive(ctx context.Context, ws []written) func(context.Context) {
	epoch := m.notArchived.epoch.Load()
	var check []written
	var keys []EntryKey
	for _, w := range ws {
		if !m.notArchived.known(w.k) {
			check = append(check, w)
			keys = append(keys, EntryKey(w.k))
		}
	}
	if len(check) == 0 {
		return nil
	}
	archived, err := m.store.ArchivedMany(ctx, keys)
	if err != nil {
		m.log.Warn("inbox: flush: reading previous boxes", "entries", len(keys), "err", err)
	}
	return func(ctx context.Context) {
		for _, w := range check {
			m.notArchived.remember(w.k, epoch)
			prev, ok := archived[EntryKey(w.k)]
			if !ok || w.t.box == "bin" {
				// A write merged with a removal goes to the bin, not
				// back to the inbox.
				continue
			}
			u, err := jid.New(w.k.Owner.LUser, w.k.Owner.LServer, "")
			if err != nil {
				continue
			}
			unread := w.t.count
			if w.t.kind == kInc {
				unread += prev.UnreadCount
			}
			from := w.t.notify
			if from.IsZero() {
				from = u
			}
			m.unarchived(ctx, from, u, w.k.Remote, prev, unread)
		}
	}
}

func (m *Module) remove(ctx context.Context, u jid.JID, remote string) {
	var err error
	if m.async != nil {
		// Asynchronous removal moves the entry to the bin (§10.2).
		err = m.put(ctx, taskKey{owner(u), remote}, task{kind: kRemove})
	} else {
		err = m.store.Remove(ctx, owner(u), remote)
	}
	if err != nil {
		m.log.Error("inbox: remove entry", "owner", u.String(), "remote", remote, "err", err)
	}
}
