// Package inbox is mod_inbox (spec/inbox.md): a server-side list of each
// local user's conversations, kept up to date from one-to-one messages,
// MUC Light traffic and chat markers, and queried with a data form plus
// RSM. Storage is SQL; writes are synchronous (backend "rdbms").
package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gander-xmpp/gander/internal/batch"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Namespaces (spec/inbox.md §1).
const (
	NS             = "erlang-solutions.com:xmpp:inbox:0"
	NSConversation = NS + "#conversation"
	nsData         = "jabber:x:data"
	nsRSM          = "http://jabber.org/protocol/rsm"
	nsForward      = "urn:xmpp:forward:0"
	nsMarkers      = "urn:xmpp:chat-markers:0"
	nsHints        = "urn:xmpp:hints"
	nsMLAff        = "urn:xmpp:muclight:0#affiliations"
	nsFasten       = "urn:xmpp:fasten:0"
)

// Store is the storage the module needs (SQLStore implements it).
type Store interface {
	Upsert(ctx context.Context, o Owner, u Upsert) (bool, error)
	ResetUnread(ctx context.Context, o Owner, remote string, msgID *string, ts int64) error
	Get(ctx context.Context, o Owner, remote string) (Entry, error)
	Props(ctx context.Context, o Owner, remote string) (Props, error)
	Lookup(ctx context.Context, o Owner, p Params) ([]Entry, error)
	SetProps(ctx context.Context, o Owner, remote string, p SetProps) (Props, error)
	Remove(ctx context.Context, o Owner, remote string) error
	MoveToBin(ctx context.Context, o Owner, remote string) error
	RemoveUser(ctx context.Context, o Owner) error
	EmptyUserBin(ctx context.Context, o Owner, before int64) (int, error)
	EmptyGlobalBin(ctx context.Context, before int64) (int, error)
	EmptyDomainBin(ctx context.Context, domain string, before int64) (int, error)
	BatchStore
}

// Router routes stanzas and tells local domains.
type Router interface {
	Route(ctx context.Context, from, to jid.JID, el *xmlstream.Element)
	IsLocal(domain string) bool
}

// Accounts tells whether a stored account exists.
type Accounts interface {
	UserExists(ctx context.Context, server, username string) (bool, error)
}

// Deps are the module's collaborators.
type Deps struct {
	Log      *slog.Logger
	Store    Store
	Router   Router
	Hooks    *hooks.Hooks
	IQ       *iq.Registry
	Accounts Accounts
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Metrics, when set, receives the backend call metrics.
	Metrics *metrics.Registry
	// Async, when set, selects the rdbms_async backend: message writes,
	// resets and removals go through an internal/batch writer with these
	// options (spec/inbox.md §10.2).
	Async *batch.Options
	// LightService reports whether a domain is a MUC Light service; with
	// rdbms_async the writes of such rooms' entries are queued per room
	// (roomlog.go), and without it MUC Light messages do not update the
	// inbox (the server sets it whenever mod_muc_light runs).
	LightService func(domain string) bool
}

// Module is mod_inbox. It is safe for concurrent use.
type Module struct {
	log      *slog.Logger
	store    Store
	r        Router
	hooks    *hooks.Hooks
	iq       *iq.Registry
	accounts Accounts
	opts     config.ModInbox
	now      func() time.Time
	lastTS   atomic.Int64
	ids      atomic.Uint64
	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
	async    *asyncWriter // nil with the synchronous backend
	light    func(domain string) bool
	// notArchived and users spare the per-message reads of the entry's box
	// and of the account (see cache.go).
	notArchived notArchived
	users       existing
}

// New creates the module, registers its IQ handlers and hooks and starts
// the bin cleaner.
func New(d Deps, opts config.ModInbox, policy iq.Policy) (*Module, error) {
	m := &Module{log: d.Log, store: d.Store, r: d.Router, hooks: d.Hooks, iq: d.IQ, accounts: d.Accounts,
		opts: opts, now: d.Now, stop: make(chan struct{}), light: d.LightService}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if d.Metrics != nil {
		m.store = newMeteredStore(d.Store, d.Metrics)
	}
	if d.Async != nil {
		m.async = newAsyncWriter(m.store, *d.Async)
	}
	if err := d.IQ.Register(iq.SessionManager, NS, m.handleInbox, policy); err != nil {
		return nil, err
	}
	if err := d.IQ.Register(iq.SessionManager, NSConversation, m.handleConversation, policy); err != nil {
		d.IQ.Unregister(iq.SessionManager, NS)
		return nil, err
	}
	h := d.Hooks
	h.DiscoFeatures.Add(50, "mod_inbox", func(_ context.Context, ev *hooks.DiscoFeatures) bool {
		ev.Features = append(ev.Features, NS)
		return false
	})
	h.UserSentMessage.Add(60, "mod_inbox", m.userSent)
	h.LocalMessage.Add(60, "mod_inbox", m.localMessage)
	h.UserRemoved.Add(50, "mod_inbox", m.userRemoved)
	if opts.HasGroupchat("muclight") {
		h.GroupchatDelivered.Add(50, "mod_inbox", m.groupchatDelivered)
		switch {
		case m.async == nil:
			h.LightMessageSent.Add(50, "mod_inbox", m.lightMessage)
		case m.light != nil:
			h.LightMessageSent.Add(50, "mod_inbox", m.lightMessageAsync)
		}
		h.RoomDestroyed.Add(50, "mod_inbox", m.roomDestroyed)
	}
	if opts.HasGroupchat("muc") {
		h.MucGroupchatBroadcast.Add(50, "mod_inbox", m.mucBroadcast)
	}
	m.wg.Add(1)
	go m.cleaner(time.Duration(opts.BinCleanAfter) * time.Hour)
	return m, nil
}

// Stop unregisters the module, stops the bin cleaner and drains the
// asynchronous writer (bounded by ctx).
func (m *Module) Stop(ctx context.Context) error {
	m.stopOnce.Do(func() {
		m.iq.Unregister(iq.SessionManager, NS)
		m.iq.Unregister(iq.SessionManager, NSConversation)
		for _, c := range []interface{ Remove(string) }{&m.hooks.DiscoFeatures, &m.hooks.UserSentMessage,
			&m.hooks.LocalMessage, &m.hooks.UserRemoved, &m.hooks.GroupchatDelivered, &m.hooks.LightMessageSent, &m.hooks.RoomDestroyed,
			&m.hooks.MucGroupchatBroadcast} {
			c.Remove("mod_inbox")
		}
		close(m.stop)
	})
	m.wg.Wait()
	if m.async != nil {
		return m.async.w.Stop(ctx)
	}
	return nil
}

// Sync waits until every asynchronous write queued so far reached storage
// (a no-op with the synchronous backend).
func (m *Module) Sync(ctx context.Context) error {
	if m.async == nil {
		return nil
	}
	return m.async.w.Sync(ctx)
}

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

// cleaner purges bin entries older than bin_ttl days every period (§11).
func (m *Module) cleaner(period time.Duration) {
	defer m.wg.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.CleanBin(context.Background())
		}
	}
}

// CleanBin runs the periodic bin cleaner once and returns the number of
// entries removed (errors are logged and count as 0).
func (m *Module) CleanBin(ctx context.Context) int {
	before := m.now().Add(-time.Duration(m.opts.BinTTL) * 24 * time.Hour).UnixMicro()
	n, err := m.store.EmptyGlobalBin(ctx, before)
	if err != nil {
		m.log.Error("inbox: bin cleaner", "err", err)
		return 0
	}
	return n
}

// timestamp returns the current time in µs, strictly greater than any
// value returned before, so that two writes never share a timestamp.
func (m *Module) timestamp() int64 {
	now := m.now().UnixMicro()
	for {
		last := m.lastTS.Load()
		next := max(now, last+1)
		if m.lastTS.CompareAndSwap(last, next) {
			return next
		}
	}
}

func owner(u jid.JID) Owner { return Owner{LServer: u.Domain(), LUser: u.Local()} }

// remoteKey normalises a JID into an entry key (§2): the bare JID,
// lower-cased.
func remoteKey(j jid.JID) string { return strings.ToLower(j.Bare().String()) }

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

// classify applies the global filter of §8.2 (rules 1-4) and reports
// whether the message is considered, and whether it carries a chat marker.
func classify(el *xmlstream.Element) (ok, marker bool) {
	switch el.Attr("type") {
	case "", "normal", "chat", "groupchat":
	default:
		return false, false
	}
	wanted := false
	for _, c := range el.Elements() {
		switch {
		case c.Local == "result", c.Local == "delay":
			return false, false
		case c.Space == nsHints && c.Local == "no-store":
			return false, false
		case c.Space == NSConversation:
			return false, false
		case c.Local == "body" && c.Space == el.Space:
			wanted = true
		case c.Space == nsHints && c.Local == "store":
			wanted = true
		case c.Space == nsMarkers && (c.Local == "received" || c.Local == "displayed" || c.Local == "acknowledged") && c.Attr("id") != "":
			wanted, marker = true, true
		case c.Space == nsFasten && c.Local == "apply-to" && c.Attr("id") != "" && isRetract(c):
			wanted = true
		}
	}
	return wanted, marker
}

func isRetract(applyTo *xmlstream.Element) bool {
	for _, c := range applyTo.Elements() {
		if c.Local == "retract" && (c.Space == "urn:xmpp:message-retract:0" || c.Space == "urn:esl:message-retract-by-stanza-id:0") {
			return true
		}
	}
	return false
}

// resetMarkerID returns the id of the first configured reset marker the
// message carries (§8.6: matched by element name only).
func (m *Module) resetMarkerID(el *xmlstream.Element) (string, bool) {
	for _, name := range m.opts.ResetMarkers {
		for _, c := range el.Elements() {
			if c.Local == name {
				return c.Attr("id"), true
			}
		}
	}
	return "", false
}

// userSent is the outgoing path (§8.3, §8.4): a local user's session sends
// a message.
func (m *Module) userSent(ctx context.Context, ev *hooks.StanzaEvent) bool {
	el := ev.Stanza
	ok, marker := classify(el)
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
	ok, marker := classify(el)
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
// notifyFrom is the owner as it appears in the routed stanza.
func (m *Module) write(ctx context.Context, notifyFrom, ownerJID jid.JID, remote string, el *xmlstream.Element, ts int64, count int, incr bool) {
	o := owner(ownerJID)
	key := taskKey{o, remote}
	epoch := m.notArchived.epoch.Load()
	known := m.notArchived.known(key)
	var prev Props
	var perr error
	if !known {
		prev, perr = m.store.Props(ctx, o, remote)
	}
	var changed bool
	var err error
	if m.async != nil {
		kind := kSet
		if incr {
			kind = kInc
		}
		err = m.put(ctx, key, task{kind: kind, count: count, msgID: el.Attr("id"), msg: el, ts: ts, box: "inbox"})
		changed = true // the previous box read decides the notification (§10.5)
	} else {
		changed, err = m.store.Upsert(ctx, o, Upsert{Remote: remote, MsgID: el.Attr("id"), Content: el.String(),
			Timestamp: ts, Count: count, Incr: incr, Box: "inbox"})
	}
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

// lightMessageAsync is lightMessage with rdbms_async: the message is
// queued once on the room's log. When the room is listed as known (cache.go)
// at the message's version, that is all; otherwise lightQueue checks each
// member first. This runs deep in the sending session's stack: it is kept
// small, the rare work being in lightQueue.
func (m *Module) lightMessageAsync(ctx context.Context, ev *hooks.LightMessage) bool {
	ok, marker := classify(ev.Stanza)
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
// written: existing local accounts. For entries not known to be out of the
// archive it reads the previous properties, for the auto-unarchive
// notification (§8.7) that lightWritten sends.
func (m *Module) lightMembers(ctx context.Context, ev *hooks.LightMessage, room string) []lightMember {
	out := make([]lightMember, 0, len(ev.Members))
	for _, u := range ev.Members {
		u = u.Bare()
		k := taskKey{owner(u), room}
		mb := lightMember{u: u, known: m.notArchived.known(k)}
		if !mb.known && !m.exists(ctx, u) {
			continue
		}
		if !mb.known {
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
	ok, marker := classify(ev.Stanza)
	if !ok || marker {
		return false
	}
	room, sender := remoteKey(ev.Room), ev.Sender.Bare()
	epoch := m.notArchived.epoch.Load()
	members := m.lightMembers(ctx, ev, room)
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

// lightQueue queues a message of a room not listed as known (rdbms_async):
// each member is checked as lightMembers does, and the room is listed for
// the next messages.
func (m *Module) lightQueue(ctx context.Context, ev *hooks.LightMessage, room string) {
	sender := ev.Sender.Bare()
	epoch := m.notArchived.epoch.Load()
	members := m.lightMembers(ctx, ev, room)
	jids := make([]jid.JID, len(members))
	for i, mb := range members {
		jids[i] = mb.u
	}
	if err := m.async.w.Put(ctx, lightKey(room), newRun(jids, ev.Stanza, sender, m.timestamp())); err != nil {
		m.log.Error("inbox: write", "room", room, "err", err)
		return
	}
	m.lightWritten(ctx, room, sender, members, epoch)
	m.notArchived.rememberRoom(room, ev.Version, jids, epoch)
}

// groupchatDelivered is the MUC Light incoming path (§8.4) for the room's
// notifications (affiliation changes); user messages go through
// lightMessage.
func (m *Module) groupchatDelivered(ctx context.Context, ev *hooks.GroupchatDelivery) bool {
	el := ev.Stanza
	ok, marker := classify(el)
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

func (m *Module) userRemoved(ctx context.Context, ev *hooks.UserEvent) bool {
	// Forget first: a key known not archived stands for an existing
	// account on the MUC Light path; and again after the purge, for writes
	// that raced with it.
	m.users.forget(ev.User.Bare())
	m.notArchived.forgetOwner(owner(ev.User))
	defer m.notArchived.forgetOwner(owner(ev.User))
	if m.async != nil {
		// Queued writes must not recreate entries after the purge.
		if err := m.async.w.Sync(ctx); err != nil {
			m.log.Warn("inbox: user removal: writer not settled", "user", ev.User.String(), "err", err)
		}
	}
	if err := m.store.RemoveUser(ctx, owner(ev.User)); err != nil {
		m.log.Error("inbox: user removal", "user", ev.User.String(), "err", err)
	}
	return false
}

// newID returns a fresh stanza id in the reference's clock-derived shape.
func (m *Module) newID() string {
	now := m.now()
	us := now.UnixMicro()
	return fmt.Sprintf("%d-%d-%d-%d", us/1e12, (us/1e6)%1e6, us%1e6, m.ids.Add(1))
}

// stamp formats µs as RFC 3339 UTC with exactly 6 fractional digits.
func stamp(us int64) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z")
}

// muteValue is the wire value of muted_until at the time now (§2).
func muteValue(mutedUntil, now int64) string {
	if mutedUntil == 0 || mutedUntil < now {
		return "0"
	}
	return stamp(mutedUntil)
}

// propsElement appends read, box, archive and mute to parent.
func (m *Module) propsElement(parent *xmlstream.Element, p Props) *xmlstream.Element {
	ns := parent.Space
	parent.Append(
		xmlstream.New(ns, "read").AppendText(boolText(p.UnreadCount == 0)),
		xmlstream.New(ns, "box").AppendText(p.Box),
		xmlstream.New(ns, "archive").AppendText(boolText(p.Box == "archive")),
		xmlstream.New(ns, "mute").AppendText(muteValue(p.MutedUntil, m.now().UnixMicro())),
	)
	return parent
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// validBox reports whether b is a configured box.
func (m *Module) validBox(b string) bool { return slices.Contains(m.opts.AllBoxes(), b) }
