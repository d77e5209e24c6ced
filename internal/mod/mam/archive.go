package mam

import (
	"context"
	"strings"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Archiving (docs/modules/mod_mam.md, "What is archived", "Stanza-ids"):
// a message a local user sends goes into the sender's archive before it is
// routed; a message routed to a local account into the recipient's, before
// delivery or offline storage, and the delivered copy gets the
// recipient's <stanza-id/>; a room message into the room's archive before
// the room sends its copies, whose stanza-id is the archive id.

// stanzaIDElement is <stanza-id by='by' id='id'/> (XEP-0359).
func stanzaIDElement(by jid.JID, id int64) *xmlstream.Element {
	return xmlstream.New(nsSID, "stanza-id", "by", by.String(), "id", EncodeID(id))
}

// withoutForgedID returns el without the <stanza-id/> elements claiming to
// be by (XEP-0359 §3: a client's forgery), el itself when there are none.
func withoutForgedID(el *xmlstream.Element, by jid.JID) *xmlstream.Element {
	forged := false
	for _, c := range el.Elements() {
		if c.Space == nsSID && c.Local == "stanza-id" && c.Attr("by") == by.String() {
			forged = true
			break
		}
	}
	if !forged {
		return el
	}
	out := &xmlstream.Element{Space: el.Space, Local: el.Local, Attrs: el.Attrs}
	for _, n := range el.Children {
		if c, ok := n.(*xmlstream.Element); ok && c.Space == nsSID && c.Local == "stanza-id" && c.Attr("by") == by.String() {
			continue
		}
		out.Children = append(out.Children, n)
	}
	return out
}

// appended returns a copy of el with c as its last child (el's children
// are shared, not changed).
func appended(el *xmlstream.Element, c *xmlstream.Element) *xmlstream.Element {
	return &xmlstream.Element{Space: el.Space, Local: el.Local, Attrs: el.Attrs,
		Children: append(el.Children[:len(el.Children):len(el.Children)], c)}
}

// serialized is the stored form of a message a local user sent, kept for
// the recipient's side of the same message (routed stanzas are not
// changed, so the same element serialises the same way).
type serialized struct {
	el          *xmlstream.Element
	xml, search string
}

// remoteBare is the remote bare JID as rows keep it.
func remoteBare(j jid.JID) string { return strings.ToLower(j.Bare().String()) }

// userSent is the outgoing path: a local user's session (or the admin
// API on its behalf) sends a message.
func (m *Module) userSent(ctx context.Context, ev *hooks.StanzaEvent) bool {
	p := m.pm
	el := ev.Stanza
	if ev.To.IsZero() || ev.From.IsZero() || !p.rules.archivable(el) {
		return false
	}
	owner := ev.From.Bare()
	oid, err := m.ownerID(ctx, owner, true, true)
	if err != nil {
		m.log.Warn("mam: archive owner", "owner", owner.String(), "err", err)
	}
	if oid == 0 || !p.keep(ctx, oid, owner, ev.To) {
		return false
	}
	if kind, target := retractionOf(el); kind != "" {
		p.retract(ctx, oid, owner, owner.Domain(), kind, target, Retraction{Remote: remoteBare(ev.To), Out: true})
	}
	id := m.ids.next()
	row := Row{ID: id, Remote: remoteBare(ev.To), Resource: ev.To.Resource(), Out: true, From: ev.From.String(),
		OriginID: originID(el), Message: el.String()}
	if p.opts.FullTextSearch {
		row.Search = searchText(el)
	}
	// The recipient's side, when local, archives the same element: its
	// serialisation is kept for it.
	m.lastSent.Store(&serialized{el: el, xml: row.Message, search: row.Search})
	if !p.w.write(ctx, oid, owner.Domain(), row) {
		return false
	}
	ev.ArchiveID = EncodeID(id)
	if !p.opts.NoStanzaIDElement {
		ev.SentStanzaID = stanzaIDElement(owner, id)
	}
	return false
}

// localMessage is the incoming path: a message routed to a local user's
// JID. The delivered copy gets the recipient's stanza-id.
func (m *Module) localMessage(ctx context.Context, ev *hooks.StanzaEvent) bool {
	p := m.pm
	el := ev.Stanza
	groupchat := el.Attr("type") == "groupchat"
	if ev.From.IsZero() || groupchat && !p.archiveGroupchats {
		return false
	}
	owner := ev.To.Bare()
	from := ev.From
	if attr := el.Attr("from"); from.Resource() == "" && strings.Contains(attr, "/") {
		// The routing address may lack the resource the stanza names (a
		// room relays private messages from its bare JID).
		if a, err := jid.Parse(attr); err == nil && a.Bare() == from.Bare() {
			from = a
		}
	}
	if from.Bare() == owner {
		// A message to oneself: the outgoing row is the only one.
		return false
	}
	r := rules{groupchat: p.archiveGroupchats, markers: p.rules.markers}
	if !r.archivable(el) || !m.r.IsLocal(owner.Domain()) {
		return false
	}
	oid, err := m.ownerID(ctx, owner, true, true)
	if err != nil {
		m.log.Warn("mam: archive owner", "owner", owner.String(), "err", err)
	}
	if oid == 0 {
		return false
	}
	clean := withoutForgedID(el, owner)
	ev.Stanza = clean
	if !p.keep(ctx, oid, owner, from) {
		return false
	}
	if kind, target := retractionOf(el); kind != "" {
		p.retract(ctx, oid, owner, owner.Domain(), kind, target, Retraction{Remote: remoteBare(from)})
	}
	id := int64(0)
	if p.sameIDForPeers && ev.ArchiveID != "" {
		id, _ = DecodeID(ev.ArchiveID)
	}
	if id == 0 {
		id = m.ids.next()
	}
	row := Row{ID: id, Remote: remoteBare(from), Resource: from.Resource(), From: from.String(),
		OriginID: originID(el), Groupchat: groupchat}
	if s := m.lastSent.Load(); s != nil && s.el == clean {
		// Both sides are the pm part: the same full_text_search.
		row.Message, row.Search = s.xml, s.search
	} else {
		row.Message = clean.String()
		if p.opts.FullTextSearch {
			row.Search = searchText(el)
		}
	}
	if p.w.write(ctx, oid, owner.Domain(), row) && !p.opts.NoStanzaIDElement {
		ev.Stanza = appended(clean, stanzaIDElement(owner, id))
	}
	return false
}

// groupchatCopy archives a room's groupchat copy in a member's own archive
// (pm.archive_groupchats; MUC Light, whose copies do not pass
// LocalMessage).
func (m *Module) groupchatCopy(ctx context.Context, member, room jid.JID, el *xmlstream.Element) {
	p := m.pm
	r := rules{groupchat: true, markers: p.rules.markers}
	member = member.Bare()
	if !m.r.IsLocal(member.Domain()) || !r.archivable(el) {
		return
	}
	oid, err := m.ownerID(ctx, member, true, true)
	if err != nil || oid == 0 || !p.keep(ctx, oid, member, room) {
		return
	}
	from, _ := jid.Parse(el.Attr("from"))
	row := Row{ID: m.ids.next(), Remote: remoteBare(room), Resource: from.Resource(), From: el.Attr("from"),
		OriginID: originID(el), Groupchat: true, Message: el.String()}
	if p.opts.FullTextSearch {
		row.Search = searchText(el)
	}
	p.w.write(ctx, oid, member.Domain(), row)
}

// lightMessage archives a MUC Light user message in each member's own
// archive (pm.archive_groupchats).
func (m *Module) lightMessage(ctx context.Context, ev *hooks.LightMessage) bool {
	for _, u := range ev.Members {
		m.groupchatCopy(ctx, u, ev.Room, ev.Stanza.WithAttr("to", u.String()))
	}
	return false
}

// lightEvent archives a MUC Light notification in the member's own
// archive (pm.archive_groupchats).
func (m *Module) lightEvent(ctx context.Context, ev *hooks.GroupchatDelivery) bool {
	m.groupchatCopy(ctx, ev.To, ev.Room, ev.Stanza)
	return false
}

// roomMessage is a room's archive filter: an archivable message or event
// of an archived room is stored once and its id becomes the room's
// stanza-id.
func (m *Module) roomMessage(ctx context.Context, ev *hooks.RoomMessage) bool {
	p := m.muc
	host := m.roomHost(ev.Room.Domain())
	if host == "" || !p.rules.archivable(ev.Stanza) {
		return false
	}
	room := ev.Room.Bare()
	oid, err := m.ownerID(ctx, room, true, false)
	if err != nil || oid == 0 {
		m.log.Warn("mam: room archive", "room", room.String(), "err", err)
		return false
	}
	author := ev.Sender
	if author.IsZero() {
		author = room
	}
	if !p.keep(ctx, oid, room, author) {
		return false
	}
	sender := ""
	if !ev.Sender.IsZero() {
		sender = remoteBare(ev.Sender)
	}
	if kind, target := retractionOf(ev.Stanza); kind != "" && sender != "" {
		p.retract(ctx, oid, room, host, kind, target, Retraction{Remote: sender})
	}
	id := m.ids.next()
	row := Row{ID: id, Remote: sender, Resource: ev.Nick, From: ev.Stanza.Attr("from"), OriginID: originID(ev.Stanza),
		Message: ev.Stanza.String()}
	if p.opts.FullTextSearch {
		row.Search = searchText(ev.Stanza)
	}
	if p.w.write(ctx, oid, host, row) && !p.opts.NoStanzaIDElement {
		ev.ID = EncodeID(id)
	}
	return false
}

// userRemoved deletes a removed account's archive: its rows, those still
// queued included, and its preferences. Rows in other archives stay.
func (m *Module) userRemoved(ctx context.Context, ev *hooks.UserEvent) bool {
	m.removeArchive(ctx, m.pm, ev.User.Bare(), ev.User.Domain())
	return false
}

// roomDestroyed deletes a destroyed room's archive (forget-room).
func (m *Module) roomDestroyed(ctx context.Context, ev *hooks.RoomDestroyed) bool {
	if host := m.roomHost(ev.Room.Domain()); host != "" {
		m.removeArchive(ctx, m.muc, ev.Room.Bare(), host)
	}
	return false
}

func (m *Module) removeArchive(ctx context.Context, p *part, owner jid.JID, host string) {
	oid, err := m.ownerID(ctx, owner, false, false)
	m.owners.forget(owner)
	if err != nil || oid == 0 {
		if err != nil {
			m.log.Error("mam: archive removal", "owner", owner.String(), "err", err)
		}
		return
	}
	// Queued rows are written first, so that the removal deletes them
	// too and none reappears.
	if err := p.w.sync(ctx, oid); err != nil {
		m.log.Warn("mam: archive removal: writer not settled", "owner", owner.String(), "err", err)
	}
	if err := m.store.RemoveArchive(ctx, p.kind, oid); err != nil {
		m.log.Error("mam: archive removal", "owner", owner.String(), "err", err)
		return
	}
	m.prefs.forget(oid)
	p.met.removed.WithLabelValues(host).Inc()
}

// RemoveDomain deletes the archives of a removed domain and of its room
// service, delete_domain_limit rows per statement, queued rows included.
func (m *Module) RemoveDomain(ctx context.Context, domain string) error {
	servers := []string{domain}
	for svc, host := range m.services {
		if host == domain {
			servers = append(servers, svc)
		}
	}
	if err := m.Sync(ctx); err != nil {
		return err
	}
	limit := 0
	for _, p := range m.parts() {
		if l := int(p.opts.DeleteDomainLimit); l > 0 && (limit == 0 || l < limit) {
			limit = l
		}
	}
	err := m.store.RemoveDomain(ctx, servers, limit)
	for _, s := range servers {
		m.owners.forgetServer(s)
	}
	m.prefs.clear()
	return err
}
