package muc

import (
	"context"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// This file holds what occupants do in a room: enter, change presence,
// leave, send groupchat and private messages. Each handler changes the
// room's state and queues the resulting stanzas under Room.mu, releases it,
// then routes them with flush (queue.go, LOCKS.md).

// presence handles available presence to room/nick: entering (creating
// the room on first entry) or a presence update of an occupant.
func (m *Module) presence(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	nick := to.Resource()
	r, created := m.room(to.Bare(), true)
	r.mu.Lock()
	if r.busy() {
		r.mu.Unlock()
		m.replyError(ctx, from, to, el, toStanzaError(ErrRoomBusy))
		return
	}
	if o := r.occupantOf(from); o != nil {
		if o.nick != nick {
			r.mu.Unlock()
			// Nickname changes (XEP-0045 §7.6) are not supported yet.
			m.replyError(ctx, from, to, el, stanza.Error{Condition: stanza.FeatureNotImplemented, Text: "Nickname changes are not supported"})
			return
		}
		o.pres = presenceChildren(el)
		r.broadcastPresence(o, "")
		r.mu.Unlock()
		m.flush(ctx, r)
		return
	}
	if created {
		// XEP-0045 §10.1.1: the creator owns the new room, which stays
		// locked to others until the owner submits a configuration form.
		r.affs[from.Bare()] = affOwner
		r.locked = true
	}
	if err := r.canJoin(from, nick); err != nil {
		r.mu.Unlock()
		m.replyError(ctx, from, to, el, toStanzaError(err))
		return
	}
	o := r.add(from, nick, presenceChildren(el))
	self := r.isModerator(o)
	// Existing occupants to the newcomer, then the newcomer to everybody
	// (its own copy last, with status 110), history and subject (§7.2.3).
	for _, other := range r.sortedOccupants() {
		if other == o {
			continue
		}
		aff := r.affiliation(other.jid)
		r.queue(from, r.occupantPresence(other, aff, roleOf(aff), self, ""))
	}
	codes := []string{"110"}
	if created {
		codes = append(codes, "201")
	}
	r.broadcastPresence(o, "", codes...)
	var hist *xmlstream.Element
	if x := el.Child(NS, "x"); x != nil {
		hist = x.Child(NS, "history")
	}
	for _, h := range r.selectHistory(parseHistory(hist, m.now())) {
		c := &xmlstream.Element{Space: h.el.Space, Local: h.el.Local, Attrs: h.el.Attrs}
		c.Children = append(append([]xmlstream.Node(nil), h.el.Children...),
			xmlstream.New(stanza.NSDelay, "delay", "from", r.jid.String(), "stamp", h.at.UTC().Format("2006-01-02T15:04:05.000000Z")))
		r.queue(from, c)
	}
	subjFrom := r.jid
	if r.subjectFrom != "" {
		subjFrom = nickJID(r.jid, r.subjectFrom)
	}
	subj := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "from", subjFrom.String(), "id", newID())
	subj.Append(xmlstream.New(stanza.NSClient, "subject").AppendText(r.subject))
	r.queue(from, subj)
	r.mu.Unlock()
	m.mOccupants.Inc()
	m.flush(ctx, r)
}

// leave takes full out of the room at bare (unavailable presence, or the
// session's end when self is false: nobody is left to tell).
func (m *Module) leave(ctx context.Context, full, bare jid.JID, el *xmlstream.Element, self bool) {
	r, _ := m.room(bare, false)
	if r == nil {
		return
	}
	r.mu.Lock()
	o := r.occupantOf(full)
	if o == nil {
		r.mu.Unlock()
		return
	}
	if el != nil {
		o.pres = presenceChildren(el)
	}
	if self {
		r.broadcastPresence(o, "unavailable")
	} else {
		aff := r.affiliation(o.jid)
		for _, other := range r.sortedOccupants() {
			if other != o {
				r.queue(other.jid, r.occupantPresence(o, aff, "none", r.isModerator(other), "unavailable"))
			}
		}
	}
	r.remove(full)
	r.mu.Unlock()
	m.mOccupants.Dec()
	m.flush(ctx, r)
}

// groupchat broadcasts an occupant's message to every occupant, with
// from = room/nick and a stanza-id, keeps it in the history when it has a
// body, and reports it on the MucGroupchatBroadcast hook (spec/inbox.md
// §8.5). A subject child changes the subject (any occupant may, like
// MongooseIM's default allow_change_subj = true).
func (m *Module) groupchat(ctx context.Context, r *Room, from jid.JID, el *xmlstream.Element) error {
	r.mu.Lock()
	o := r.occupantOf(from)
	if o == nil {
		r.mu.Unlock()
		return ErrNotOccupant
	}
	if r.busy() {
		r.mu.Unlock()
		return ErrRoomBusy
	}
	bc := xmlstream.New(el.Space, "message", "type", "groupchat", "from", nickJID(r.jid, o.nick).String())
	for _, a := range el.Attrs {
		switch {
		case a.Space == "" && a.Local == "id":
			bc.SetAttr("id", a.Value)
		case a.Space == xmlstream.NSXML:
			bc.Attrs = append(bc.Attrs, a)
		}
	}
	hasBody := false
	for _, c := range el.Elements() {
		// XEP-0359 §3: a stanza-id claiming to be from the room is removed.
		if c.Space == nsSID && c.Local == "stanza-id" && c.Attr("by") == r.jid.String() {
			continue
		}
		switch {
		case c.Local == "body" && c.Space == el.Space:
			hasBody = true
		case c.Local == "subject" && c.Space == el.Space:
			r.subject = c.Text()
			r.subjectFrom = o.nick
		}
		bc.Append(c)
	}
	// The room's archive (the RoomMessage hook) sees the message before
	// any copy leaves; when it keeps it, its id is the stanza-id.
	sid := ""
	if m.hooks.RoomMessage.Len() > 0 {
		ev := &hooks.RoomMessage{Room: r.jid, Stanza: bc.WithAttr("type", "groupchat"), Sender: from.Bare(), Nick: o.nick}
		m.hooks.RoomMessage.Run(ctx, ev)
		sid = ev.ID
	}
	if sid == "" {
		sid = newID()
	}
	bc.Append(xmlstream.New(nsSID, "stanza-id", "id", sid, "by", r.jid.String()))
	if hasBody {
		r.remember(bc, m.now())
	}
	r.push(out{hook: &hooks.MucGroupchatBroadcast{Room: r.jid, Sender: from.Bare(), Nick: o.nick,
		Stanza: bc, Affiliations: r.hookAffiliations()}})
	for _, other := range r.sortedOccupants() {
		r.queue(other.jid, bc)
	}
	r.mu.Unlock()
	m.mMessages.Inc()
	m.flush(ctx, r)
	return nil
}

// private relays a private message to the occupant called nick (XEP-0045
// §7.5): from room/sender-nick to the occupant's full JID, with an empty
// muc#user x.
func (m *Module) private(ctx context.Context, r *Room, from jid.JID, nick string, el *xmlstream.Element) error {
	r.mu.Lock()
	o := r.occupantOf(from)
	if o == nil {
		r.mu.Unlock()
		return ErrNotOccupant
	}
	target := r.occupants[nick]
	if target == nil {
		r.mu.Unlock()
		return ErrNoNick
	}
	if r.busy() {
		r.mu.Unlock()
		return ErrRoomBusy
	}
	pm := &xmlstream.Element{Space: el.Space, Local: el.Local, Attrs: append([]xmlstream.Attr(nil), el.Attrs...)}
	pm.SetAttr("from", nickJID(r.jid, o.nick).String())
	for _, c := range el.Elements() {
		if c.Space != NSUser {
			pm.Append(c)
		}
	}
	pm.Append(xmlstream.New(NSUser, "x"))
	r.queue(target.jid, pm)
	r.mu.Unlock()
	m.flush(ctx, r)
	return nil
}
