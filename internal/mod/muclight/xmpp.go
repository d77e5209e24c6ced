package muclight

import (
	"context"
	"strconv"
	"strings"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// errParse marks a request body that cannot be parsed.
var errParse = badRequest("Uncategorized bad request")

// handle is the router service of every MUC Light domain (spec/muclight.md
// §6). It runs on the sender's routing path.
func (m *Module) handle(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	typ := el.Attr("type")
	// Step 0 (D6): never answer an error or a result.
	if typ == "error" || (el.Local == "iq" && typ == "result") {
		return
	}
	if !to.IsBare() {
		m.replyError(ctx, from, to, el, stanza.Error{Condition: stanza.BadRequest, Text: "Resource expected to be empty"})
		return
	}
	switch el.Local {
	case "message":
		if typ != "groupchat" || to.Local() == "" {
			m.replyError(ctx, from, to, el, stanza.Error{Condition: stanza.BadRequest, Text: "Uncategorized bad request"})
			return
		}
		if err := m.sendMessage(ctx, to, from, m.id(el.Attr("id")), el.Children); err != nil {
			m.replyError(ctx, from, to, el, toStanzaError(err, false))
		}
	case "iq":
		if typ != "get" && typ != "set" {
			m.replyError(ctx, from, to, el, stanza.Error{Condition: stanza.BadRequest, Text: "Unknown IQ format"})
			return
		}
		m.handleIQ(ctx, from, to, el)
	default:
		m.replyError(ctx, from, to, el, stanza.Error{Condition: stanza.BadRequest, Text: "Failed to decode unknown format"})
	}
}

// replyError answers el with its attributes kept, from and to swapped, its
// children removed and one <error/> (§6).
func (m *Module) replyError(ctx context.Context, from, to jid.JID, el *xmlstream.Element, e stanza.Error) {
	r := &xmlstream.Element{Space: el.Space, Local: el.Local}
	for _, a := range el.Attrs {
		if a.Space == "" && (a.Local == "to" || a.Local == "from" || a.Local == "type") {
			continue
		}
		r.Attrs = append(r.Attrs, a)
	}
	r.SetAttr("from", to.String())
	r.SetAttr("to", from.String())
	r.SetAttr("type", "error")
	r.Append(e.Element())
	m.r.Route(ctx, to, from, r)
}

func (m *Module) replyResult(ctx context.Context, from, to jid.JID, iq *xmlstream.Element, payload *xmlstream.Element) {
	r := xmlstream.New(stanza.NSClient, "iq", "type", "result", "id", iq.Attr("id"), "from", to.String(), "to", from.String())
	if payload != nil {
		r.Append(payload)
	}
	m.r.Route(ctx, to, from, r)
}

func (m *Module) handleIQ(ctx context.Context, from, to jid.JID, iq *xmlstream.Element) {
	p := stanza.Payload(iq)
	if p == nil {
		m.replyError(ctx, from, to, iq, stanza.Error{Condition: stanza.BadRequest, Text: "Unknown IQ format"})
		return
	}
	get := iq.Attr("type") == "get"
	isRoom := to.Local() != ""
	user := from.Bare()
	fail := func(err error, create bool) { m.replyError(ctx, from, to, iq, toStanzaError(err, create)) }
	roomOnly := func() bool {
		if !isRoom {
			fail(errParse, false)
		}
		return isRoom
	}
	switch {
	case p.Space == stanza.NSDiscoInfo && get:
		q := m.discoInfo(p)
		if isRoom {
			m.roomFeatures(ctx, to, q)
		}
		m.replyResult(ctx, from, to, iq, q)
	case p.Space == stanza.NSDiscoItems && get:
		res, err := m.discoItems(ctx, user, p)
		if err != nil {
			fail(err, false)
			return
		}
		m.replyResult(ctx, from, to, iq, res)
	case p.Space == NSBlocking && get:
		items, err := m.Blocklist(ctx, user)
		if err != nil {
			fail(err, false)
			return
		}
		q := xmlstream.New(NSBlocking, "query")
		for _, it := range items {
			name := "user"
			if it.Kind == BlockRoom {
				name = "room"
			}
			q.Append(xmlstream.New(NSBlocking, name, "action", "deny").AppendText(it.Target.String()))
		}
		m.replyResult(ctx, from, to, iq, q)
	case p.Space == NSBlocking:
		items, err := parseBlocking(p)
		if err == nil {
			err = m.SetBlocklist(ctx, user, items)
		}
		if err != nil {
			fail(err, false)
			return
		}
		m.replyResult(ctx, from, to, iq, nil)
	case p.Space == NSCreate && !get:
		req := CreateRequest{Creator: user, Room: to, ID: iq.Attr("id")}
		var err error
		if req.Config, req.Occupants, err = parseCreate(p); err != nil {
			fail(err, true)
			return
		}
		if _, err := m.CreateRoom(ctx, req); err != nil {
			fail(err, true)
			return
		}
		m.replyResult(ctx, from, to, iq, nil)
	case p.Space == NSConfiguration && get, p.Space == NSAffiliations && get, p.Space == NSInfo && get:
		if roomOnly() {
			m.getState(ctx, from, to, iq, p)
		}
	case p.Space == NSConfiguration:
		if !roomOnly() {
			return
		}
		kvs, err := parseConfig(p)
		if err == nil {
			_, _, err = m.ChangeConfig(ctx, to, user, kvs, iq.Attr("id"))
		}
		if err != nil {
			fail(err, false)
			return
		}
		m.replyResult(ctx, from, to, iq, nil)
	case p.Space == NSAffiliations:
		if !roomOnly() {
			return
		}
		items, err := parseUsers(p, true)
		if err == nil {
			_, err = m.ChangeAffiliations(ctx, to, user, items, iq.Attr("id"))
		}
		if err != nil {
			fail(err, false)
			return
		}
		m.replyResult(ctx, from, to, iq, nil)
	case p.Space == NSDestroy && !get:
		if !roomOnly() {
			return
		}
		if err := m.Destroy(ctx, to, user, iq.Attr("id")); err != nil {
			fail(err, false)
			return
		}
		m.replyResult(ctx, from, to, iq, nil)
	default:
		if m.roomIQ(ctx, from, to, iq, p) {
			return
		}
		m.replyError(ctx, from, to, iq, stanza.Error{Condition: stanza.FeatureNotImplemented, Text: "mod_muc_iq returns error"})
	}
}

// getState answers config, affiliations and info gets (§10.2).
func (m *Module) getState(ctx context.Context, from, to jid.JID, iq, p *xmlstream.Element) {
	r, err := m.GetRoom(ctx, to, from)
	if err != nil {
		m.replyError(ctx, from, to, iq, toStanzaError(err, false))
		return
	}
	if v := p.ChildText("", "version"); v != "" && v == r.Version {
		m.replyResult(ctx, from, to, iq, nil)
		return
	}
	q := xmlstream.New(p.Space, "query")
	q.Append(xmlstream.New(p.Space, "version").AppendText(r.Version))
	cfg := func(parent *xmlstream.Element, ns string) {
		for _, f := range m.schema.fields {
			parent.Append(xmlstream.New(ns, f.Name).AppendText(r.Config[f.Name]))
		}
	}
	users := func(parent *xmlstream.Element, ns string) {
		for _, o := range r.Occupants {
			parent.Append(userItem(ns, o))
		}
	}
	switch p.Space {
	case NSConfiguration:
		cfg(q, NSConfiguration)
	case NSAffiliations:
		users(q, NSAffiliations)
	case NSInfo:
		c := xmlstream.New(NSInfo, "configuration")
		cfg(c, NSInfo)
		o := xmlstream.New(NSInfo, "occupants")
		users(o, NSInfo)
		q.Append(c, o)
	}
	m.replyResult(ctx, from, to, iq, q)
}

// onlyText returns the text of an element whose children are exactly one
// text node.
func onlyText(el *xmlstream.Element) (string, bool) {
	if len(el.Children) != 1 {
		return "", false
	}
	t, ok := el.Children[0].(xmlstream.Text)
	return string(t), ok
}

// parseConfig reads a config container (§4.3): elements without text or
// with element children are skipped (Q6); <version> is an error.
func parseConfig(c *xmlstream.Element) ([]KV, error) {
	var out []KV
	for _, f := range c.Elements() {
		if f.Local == "version" {
			return nil, errParse
		}
		if v, ok := onlyText(f); ok {
			out = append(out, KV{Key: f.Local, Value: v})
		}
	}
	return out, nil
}

// parseUsers reads <user affiliation='…'>jid</user> items.
func parseUsers(c *xmlstream.Element, allowNone bool) ([]Occupant, error) {
	var out []Occupant
	for _, u := range c.Elements() {
		if u.Local != "user" {
			return nil, errParse
		}
		aff, ok := ParseAff(u.Attr("affiliation"))
		if !ok || (!allowNone && aff == AffNone) {
			return nil, errParse
		}
		txt, ok := onlyText(u)
		if !ok {
			return nil, errParse
		}
		j, err := jid.Parse(strings.TrimSpace(txt))
		if err != nil || j.Local() == "" {
			return nil, errParse
		}
		out = append(out, Occupant{User: j.Bare(), Aff: aff})
	}
	return out, nil
}

func parseCreate(q *xmlstream.Element) ([]KV, []Occupant, error) {
	var kvs []KV
	var occs []Occupant
	for _, c := range q.Elements() {
		var err error
		switch c.Local {
		case "configuration":
			kvs, err = parseConfig(c)
		case "occupants":
			occs, err = parseUsers(c, true)
		default:
			err = errParse
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return kvs, occs, nil
}

func parseBlocking(q *xmlstream.Element) ([]BlockItem, error) {
	var out []BlockItem
	for _, c := range q.Elements() {
		var it BlockItem
		switch c.Local {
		case "room":
			it.Kind = BlockRoom
		case "user":
			it.Kind = BlockUser
		default:
			return nil, errParse
		}
		switch c.Attr("action") {
		case "deny":
			it.Deny = true
		case "allow":
		default:
			return nil, errParse
		}
		j, err := jid.Parse(strings.TrimSpace(c.Text()))
		if err != nil {
			return nil, errParse
		}
		if j.Local() == "" {
			return nil, badRequest("")
		}
		it.Target = j.Bare()
		out = append(out, it)
	}
	return out, nil
}

// discoInfo is the identity and features of the service and rooms (§7.2).
func (m *Module) discoInfo(p *xmlstream.Element) *xmlstream.Element {
	q := xmlstream.New(stanza.NSDiscoInfo, "query")
	q.Append(xmlstream.New(stanza.NSDiscoInfo, "identity", "category", "conference", "type", "text", "name", "MUC Light"))
	q.Append(xmlstream.New(stanza.NSDiscoInfo, "feature", "var", NS))
	return q
}

// discoItems lists the requester's rooms with RSM paging (§7.3, D7).
func (m *Module) discoItems(ctx context.Context, user jid.JID, p *xmlstream.Element) (*xmlstream.Element, error) {
	rooms, err := m.UserRooms(ctx, user)
	if err != nil {
		return nil, err
	}
	q := xmlstream.New(stanza.NSDiscoItems, "query")
	set := p.Child(NSRSM, "set")
	perPage := int(m.opts.RoomsPerPage)
	max := -1 // unlimited
	if set == nil && perPage == 0 {
		for _, r := range rooms {
			q.Append(m.discoItem(r))
		}
		return q, nil
	}
	// The effective max: the client's, capped by rooms_per_page (§7.3).
	if set == nil {
		max = perPage
	} else if ms := set.Child(NSRSM, "max"); ms != nil {
		n, err := strconv.Atoi(strings.TrimSpace(ms.Text()))
		if err != nil || n < 0 {
			return nil, errRSM
		}
		max = n
		if perPage > 0 && n > perPage {
			max = perPage
		}
	} else if perPage > 0 {
		max = perPage
	}
	total := len(rooms)
	countOnly := func() *xmlstream.Element {
		q.Append(xmlstream.New(NSRSM, "set").Append(xmlstream.New(NSRSM, "count").AppendText(strconv.Itoa(total))))
		return q
	}
	if max == 0 {
		return countOnly(), nil
	}
	index := func(j string) int {
		for i, r := range rooms {
			if r.JID.String() == j {
				return i
			}
		}
		return -1
	}
	start, end := 0, total
	if set != nil {
		before, after, idx := set.Child(NSRSM, "before"), set.Child(NSRSM, "after"), set.Child(NSRSM, "index")
		switch {
		case before != nil && strings.TrimSpace(before.Text()) == "":
			if max > 0 {
				start = total - max
			}
			start = max0(start)
		case before != nil:
			i := index(strings.TrimSpace(before.Text()))
			if i < 0 {
				return nil, errRSM
			}
			end = i
			if max > 0 {
				start = max0(i - max)
			}
		case after != nil:
			i := index(strings.TrimSpace(after.Text()))
			if i < 0 {
				return nil, errRSM
			}
			start = i + 1
		case idx != nil:
			n, err := strconv.Atoi(strings.TrimSpace(idx.Text()))
			if err != nil || n < 0 || n >= total {
				return nil, errRSM
			}
			start = n
		}
	}
	if total == 0 && (set == nil || (set.Child(NSRSM, "after") == nil && set.Child(NSRSM, "before") == nil && set.Child(NSRSM, "index") == nil)) {
		return q, nil
	}
	if max > 0 && start+max < end {
		end = start + max
	}
	if start >= end {
		return countOnly(), nil
	}
	page := rooms[start:end]
	rs := xmlstream.New(NSRSM, "set")
	rs.Append(xmlstream.New(NSRSM, "first", "index", strconv.Itoa(start)).AppendText(page[0].JID.String()))
	rs.Append(xmlstream.New(NSRSM, "last").AppendText(page[len(page)-1].JID.String()))
	rs.Append(xmlstream.New(NSRSM, "count").AppendText(strconv.Itoa(total)))
	q.Append(rs)
	for _, r := range page {
		q.Append(m.discoItem(r))
	}
	return q, nil
}

// errRSM is an invalid RSM request or unknown cursor: item-not-found.
var errRSM = ErrRoomNotFound

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

func (m *Module) discoItem(r *Room) *xmlstream.Element {
	return xmlstream.New(stanza.NSDiscoItems, "item", "jid", r.JID.String(), "name", m.roomName(r), "version", r.Version)
}
