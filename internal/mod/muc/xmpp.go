package muc

import (
	"context"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Room features announced in disco#info (XEP-0045 §6.4): rooms are public,
// open, unmoderated, semi-anonymous, without password and temporary (in
// memory, they end with the server).
var roomFeatures = []string{NS, "muc_public", "muc_open", "muc_unmoderated", "muc_semianonymous",
	"muc_unsecured", "muc_temporary", stanza.NSDiscoInfo}

// serviceStanza answers stanzas to the service domain itself.
func (m *Module) serviceStanza(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	switch el.Local {
	case "iq":
		p := stanza.Payload(el)
		get := el.Attr("type") == "get"
		switch {
		case p == nil:
			m.replyError(ctx, from, to, el, stanza.Error{Condition: stanza.BadRequest})
		case get && p.Space == stanza.NSDiscoInfo && p.Local == "query":
			q := xmlstream.New(stanza.NSDiscoInfo, "query")
			q.Append(xmlstream.New(stanza.NSDiscoInfo, "identity", "category", "conference", "type", "text", "name", "Chatrooms"))
			for _, f := range []string{NS, stanza.NSDiscoInfo, stanza.NSDiscoItems} {
				q.Append(xmlstream.New(stanza.NSDiscoInfo, "feature", "var", f))
			}
			m.replyResult(ctx, from, to, el, q)
		case get && p.Space == stanza.NSDiscoItems && p.Local == "query":
			q := xmlstream.New(stanza.NSDiscoItems, "query")
			for _, r := range m.sortedRooms(to.Domain()) {
				q.Append(xmlstream.New(stanza.NSDiscoItems, "item", "jid", r.jid.String(), "name", r.jid.Local()))
			}
			m.replyResult(ctx, from, to, el, q)
		default:
			m.replyError(ctx, from, to, el, toStanzaError(ErrNotImplemented))
		}
	case "message":
		m.replyError(ctx, from, to, el, toStanzaError(ErrNotImplemented))
	}
}

// sortedRooms lists the unlocked rooms of a service domain by JID.
func (m *Module) sortedRooms(domain string) []*Room {
	var out []*Room
	for _, r := range m.allRooms() {
		if r.jid.Domain() != domain {
			continue
		}
		r.mu.Lock()
		locked := r.locked
		r.mu.Unlock()
		if !locked {
			out = append(out, r)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].jid.String() < out[j-1].jid.String(); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (m *Module) replyResult(ctx context.Context, from, to jid.JID, iq, payload *xmlstream.Element) {
	r := xmlstream.New(stanza.NSClient, "iq", "type", "result", "id", iq.Attr("id"), "from", to.String(), "to", from.String())
	if payload != nil {
		r.Append(payload)
	}
	m.r.Route(ctx, to, from, r)
}

// roomIQ answers IQs to a room or an occupant.
func (m *Module) roomIQ(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	r, _ := m.room(to.Bare(), false)
	if r == nil {
		m.replyError(ctx, from, to, el, toStanzaError(ErrNoRoom))
		return
	}
	p := stanza.Payload(el)
	if p == nil {
		m.replyError(ctx, from, to, el, stanza.Error{Condition: stanza.BadRequest})
		return
	}
	if !to.IsBare() {
		// IQs to occupants (XEP-0045 §7.7 vCard and the like) are not
		// relayed yet.
		m.replyError(ctx, from, to, el, toStanzaError(ErrNotImplemented))
		return
	}
	get := el.Attr("type") == "get"
	var res *xmlstream.Element
	var err error
	switch {
	case get && p.Space == stanza.NSDiscoInfo && p.Local == "query":
		res = xmlstream.New(stanza.NSDiscoInfo, "query")
		res.Append(xmlstream.New(stanza.NSDiscoInfo, "identity", "category", "conference", "type", "text", "name", r.jid.Local()))
		features := roomFeatures
		if m.hooks.RoomDiscoFeatures.Len() > 0 {
			ev := &hooks.DiscoFeatures{Domain: r.jid.Domain(), Features: append([]string(nil), roomFeatures...)}
			m.hooks.RoomDiscoFeatures.Run(ctx, ev)
			features = ev.Features
		}
		for _, f := range features {
			res.Append(xmlstream.New(stanza.NSDiscoInfo, "feature", "var", f))
		}
	case get && p.Space == stanza.NSDiscoItems && p.Local == "query":
		// XEP-0045 §6.5 lets a room hide its occupants; Gander does.
		res = xmlstream.New(stanza.NSDiscoItems, "query")
	case p.Space == NSOwner && p.Local == "query":
		res, err = m.ownerIQ(r, from, get, p)
	case p.Space == NSAdmin && p.Local == "query" && get:
		res, err = m.adminGet(r, from, p)
	case p.Space == NSAdmin && p.Local == "query":
		err = m.adminSet(ctx, r, from, p)
		if err == nil {
			res = nil
		}
	default:
		if m.hooks.RoomIQ.Len() > 0 {
			// Other namespaces (the room's archive) are handled by hook;
			// users allowed to enter may read the room's history.
			r.mu.Lock()
			aff := r.affiliation(from)
			r.mu.Unlock()
			ev := &hooks.RoomIQ{Room: r.jid, From: from, IQ: el, Payload: p, CanRead: aff != affOutcast, Owner: aff == affOwner}
			if m.hooks.RoomIQ.Run(ctx, ev); ev.Handled {
				return
			}
		}
		err = ErrNotImplemented
	}
	if err != nil {
		m.replyError(ctx, from, to, el, toStanzaError(err))
		return
	}
	m.replyResult(ctx, from, to, el, res)
}

// ownerIQ is the muc#owner namespace (XEP-0045 §10.1-§10.2): the owner
// gets a configuration form and submits it (an empty submit makes an
// instant room) or cancels it. Submitted fields are accepted and ignored:
// rooms have a fixed configuration for now. Destruction is not supported.
func (m *Module) ownerIQ(r *Room, from jid.JID, get bool, q *xmlstream.Element) (*xmlstream.Element, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.affiliation(from) != affOwner {
		return nil, ErrForbidden
	}
	if get {
		res := xmlstream.New(NSOwner, "query")
		x := xmlstream.New(nsData, "x", "type", "form")
		x.Append(xmlstream.New(nsData, "title").AppendText("Configuration of room " + r.jid.String()))
		x.Append(xmlstream.New(nsData, "instructions").AppendText("This service does not support room configuration yet; submit the form to unlock the room."))
		x.Append(xmlstream.New(nsData, "field", "type", "hidden", "var", "FORM_TYPE").
			Append(xmlstream.New(nsData, "value").AppendText(NS + "#roomconfig")))
		return res.Append(x), nil
	}
	els := q.Elements()
	if len(els) != 1 {
		return nil, ErrBadRequest
	}
	switch x := els[0]; {
	case x.Space == nsData && x.Local == "x" && x.Attr("type") == "submit":
		r.locked = false
	case x.Space == nsData && x.Local == "x" && x.Attr("type") == "cancel":
		// The room stays as it is (locked if it was).
	case x.Space == NSOwner && x.Local == "destroy":
		return nil, ErrNotImplemented
	default:
		return nil, ErrBadRequest
	}
	return nil, nil
}

// adminGet returns the list of one affiliation (XEP-0045 §9.5, §9.8,
// §10.5, §10.8); owners and admins may read every list. Role lists are
// not supported.
func (m *Module) adminGet(r *Room, from jid.JID, q *xmlstream.Element) (*xmlstream.Element, error) {
	items := q.Elements()
	if len(items) != 1 || items[0].Local != "item" {
		return nil, ErrBadRequest
	}
	aff := items[0].Attr("affiliation")
	if aff == "" {
		if items[0].Attr("role") != "" {
			return nil, ErrNotImplemented
		}
		return nil, ErrBadRequest
	}
	if aff != affOwner && aff != affAdmin && aff != affMember && aff != affOutcast {
		return nil, ErrBadRequest
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.affiliation(from); a != affOwner && a != affAdmin {
		return nil, ErrForbidden
	}
	res := xmlstream.New(NSAdmin, "query")
	for _, u := range r.affList(aff) {
		res.Append(xmlstream.New(NSAdmin, "item", "affiliation", aff, "jid", u.String()))
	}
	return res, nil
}

// adminSet changes affiliations (XEP-0045 §9-§10), all items or none.
// Occupants whose affiliation changed get a new presence broadcast; new
// outcasts are removed with status 301. Role changes (kick, voice) are not
// supported.
func (m *Module) adminSet(ctx context.Context, r *Room, from jid.JID, q *xmlstream.Element) error {
	items := q.Elements()
	if len(items) == 0 {
		return ErrBadRequest
	}
	r.mu.Lock()
	var changes []affChange
	for _, it := range items {
		aff := it.Attr("affiliation")
		if it.Local != "item" || (aff == "" && it.Attr("role") == "") {
			r.mu.Unlock()
			return ErrBadRequest
		}
		if aff == "" {
			r.mu.Unlock()
			return ErrNotImplemented
		}
		var u jid.JID
		if s := it.Attr("jid"); s != "" {
			j, err := jid.Parse(s)
			if err != nil {
				r.mu.Unlock()
				return ErrBadRequest
			}
			u = j.Bare()
		} else if o := r.occupants[it.Attr("nick")]; o != nil && it.Attr("nick") != "" {
			u = o.jid.Bare()
		} else {
			r.mu.Unlock()
			return ErrBadRequest
		}
		changes = append(changes, affChange{user: u, aff: aff})
	}
	if err := r.checkAffChanges(from, changes); err != nil {
		r.mu.Unlock()
		return err
	}
	kicked := 0
	for _, c := range r.applyAffChanges(changes) {
		for _, o := range r.sortedOccupants() {
			if o.jid.Bare() != c.user {
				continue
			}
			if c.aff == affOutcast {
				for _, other := range r.sortedOccupants() {
					codes := []string{"301"}
					if other == o {
						codes = []string{"110", "301"}
					}
					r.queue(other.jid, r.occupantPresence(o, affOutcast, "none", other == o || r.isModerator(other), "unavailable", codes...))
				}
				r.remove(o.jid)
				kicked++
				continue
			}
			r.broadcastPresence(o, "")
		}
	}
	r.mu.Unlock()
	m.mOccupants.Sub(float64(kicked))
	m.flush(ctx, r)
	return nil
}
