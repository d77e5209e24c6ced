package mam

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// The archive's IQs (XEP-0313 §4, §6, §7; XEP-0441): queries and their
// form, preferences and metadata, on a user's bare JID (the user's own
// archive only) and on an archived room's JID (its members).

// iqError counts an IQ answered with an error and builds the answer.
func (p *part) iqError(req *xmlstream.Element, host string, err error) *xmlstream.Element {
	p.met.droppedIQ.WithLabelValues(host).Inc()
	return stanza.IQErrorReply(req, toStanzaError(err))
}

// handleUserIQ answers the IQs on a user's bare JID.
func (m *Module) handleUserIQ(ctx context.Context, req iq.Request) *xmlstream.Element {
	p := m.pm
	owner := req.To.Bare()
	host := owner.Domain()
	if req.From.Bare() != owner {
		return p.iqError(req.IQ, host, errNotAllowed)
	}
	return p.archiveIQ(ctx, req.IQ, req.Payload, owner, req.From, host, true)
}

// roomIQ answers the archive IQs on an archived room's JID (the RoomIQ
// hook): members may read, owners may also set preferences.
func (m *Module) roomIQ(ctx context.Context, ev *hooks.RoomIQ) bool {
	if ev.Payload.Space != NS2 && ev.Payload.Space != NS1 {
		return false
	}
	host := m.roomHost(ev.Room.Domain())
	if host == "" {
		return false
	}
	ev.Handled = true
	p := m.muc
	var res *xmlstream.Element
	if !ev.CanRead {
		res = p.iqError(ev.IQ, host, errRoomNotAllow)
	} else {
		res = p.archiveIQ(ctx, ev.IQ, ev.Payload, ev.Room.Bare(), ev.From, host, ev.Owner)
	}
	res.SetAttr("from", ev.Room.Bare().String())
	res.SetAttr("to", ev.From.String())
	m.r.Route(ctx, ev.Room.Bare(), ev.From, res)
	return true
}

// archiveIQ answers an IQ on archive (a user's or a room's bare JID) from
// requester; maySet allows changing the preferences.
func (p *part) archiveIQ(ctx context.Context, req, q *xmlstream.Element, archive, requester jid.JID, host string, maySet bool) *xmlstream.Element {
	get := req.Attr("type") == "get"
	switch {
	case q.Local == "query" && get:
		return stanza.IQResult(req).Append(xmlstream.New(q.Space, "query").Append(p.form(q.Space)))
	case q.Local == "query":
		return p.queryIQ(ctx, req, q, archive, requester, host)
	case q.Local == "prefs":
		return p.prefsIQ(ctx, req, q, archive, host, maySet)
	case q.Local == "metadata" && get:
		return p.metadataIQ(ctx, req, q, archive, host)
	}
	return p.iqError(req, host, badRequest("Unknown request"))
}

// form is the query form (XEP-0313 §6.1): the fields a query may use.
func (p *part) form(ns string) *xmlstream.Element {
	x := xmlstream.New(nsData, "x", "type", "form")
	x.Append(xmlstream.New(nsData, "field", "var", "FORM_TYPE", "type", "hidden").
		Append(xmlstream.New(nsData, "value").AppendText(ns)))
	field := func(name, typ string) *xmlstream.Element {
		f := xmlstream.New(nsData, "field", "var", name, "type", typ)
		x.Append(f)
		return f
	}
	field("with", "jid-single")
	field("start", "text-single")
	field("end", "text-single")
	if ns == NS2 {
		field("before-id", "text-single")
		field("after-id", "text-single")
		field("include-groupchat", "boolean")
		field("ids", "list-multi").Append(xmlstream.New(nsValidate, "validate", "datatype", "xs:string").
			Append(xmlstream.New(nsValidate, "open")))
	}
	if p.opts.FullTextSearch {
		field("{urn:xmpp:fulltext:0}fulltext", "text-single")
	}
	return x
}

// queryIQ runs a query: the result messages go to the requester first,
// then the IQ result with <fin/> is returned.
func (p *part) queryIQ(ctx context.Context, req, q *xmlstream.Element, archive, requester jid.JID, host string) *xmlstream.Element {
	m := p.m
	qq, err := p.parseQuery(q)
	if err != nil {
		return p.iqError(req, host, err)
	}
	owner, err := m.ownerID(ctx, archive, false, false)
	if err != nil {
		return p.iqError(req, host, err)
	}
	page, err := p.lookup(ctx, owner, host, qq)
	if err != nil {
		return p.iqError(req, host, err)
	}
	for _, r := range page.Rows {
		msg := p.resultMessage(q.Space, archive, requester, qq.QueryID, r)
		if msg == nil {
			continue
		}
		if !m.send(ctx, archive, requester, msg) {
			return p.iqError(req, host, stanza.Error{Condition: stanza.ResourceConstraint, Text: "Too many results queued for the client"})
		}
	}
	return stanza.IQResult(req).Append(finElement(q.Space, qq, page))
}

// send delivers a result message to the requester's session (on this node),
// else through the router.
func (m *Module) send(ctx context.Context, from, to jid.JID, msg *xmlstream.Element) bool {
	if s := m.r.Session(to); s != nil {
		return s.Send(msg)
	}
	m.r.Route(ctx, from, to, msg)
	return true
}

// resultMessage is one result (XEP-0313 §4.2): from the archive's JID, a
// fresh id, the row's archive id, the stored stanza forwarded with a delay
// derived from the id, from = the source JID. nil when the stored stanza
// does not parse (logged).
func (p *part) resultMessage(ns string, archive, requester jid.JID, queryID string, r Row) *xmlstream.Element {
	inner, err := parseStanza(r.Message)
	if err != nil {
		p.m.log.Error("mam: stored message does not parse", "archive", archive.String(), "id", EncodeID(r.ID), "err", err)
		return nil
	}
	src := r.From
	if src == "" {
		src = inner.Attr("from")
	}
	if src != "" {
		inner = inner.WithAttr("from", src)
	}
	delay := xmlstream.New(stanza.NSDelay, "delay", "stamp", stamp(idMicros(r.ID)))
	if src != "" {
		delay.SetAttr("from", src)
	}
	res := xmlstream.New(ns, "result")
	if queryID != "" {
		res.SetAttr("queryid", queryID)
	}
	res.SetAttr("id", EncodeID(r.ID))
	res.Append(xmlstream.New(nsForward, "forwarded").Append(delay, inner))
	msg := xmlstream.New(stanza.NSClient, "message", "from", archive.String(), "to", requester.String(), "id", p.m.resultID())
	return msg.Append(res)
}

// finElement is the query's <fin/> (XEP-0313 §4.3): complete, and the RSM
// <first/> (with its index), <last/> and <count/>.
func finElement(ns string, q Query, page Page) *xmlstream.Element {
	fin := xmlstream.New(ns, "fin")
	if page.Complete {
		fin.SetAttr("complete", "true")
	}
	set := xmlstream.New(nsRSM, "set")
	if n := len(page.Rows); n > 0 {
		first := xmlstream.New(nsRSM, "first").AppendText(EncodeID(page.Rows[0].ID))
		if !q.Simple {
			first.SetAttr("index", strconv.Itoa(page.Index))
		}
		set.Append(first, xmlstream.New(nsRSM, "last").AppendText(EncodeID(page.Rows[n-1].ID)))
	}
	if !q.Simple {
		set.Append(xmlstream.New(nsRSM, "count").AppendText(strconv.Itoa(page.Count)))
	}
	return fin.Append(set)
}

// metadataIQ answers <metadata/> (XEP-0313 §7.1): the first and the last
// row of the archive, or nothing for an empty one.
func (p *part) metadataIQ(ctx context.Context, req, q *xmlstream.Element, archive jid.JID, host string) *xmlstream.Element {
	m := p.m
	md := xmlstream.New(q.Space, "metadata")
	owner, err := m.ownerID(ctx, archive, false, false)
	if err != nil {
		return p.iqError(req, host, err)
	}
	if owner != 0 {
		if err := p.w.sync(ctx, owner); err != nil {
			return p.iqError(req, host, err)
		}
		first, last, err := m.store.Bounds(ctx, p.kind, owner)
		if err != nil {
			return p.iqError(req, host, err)
		}
		if first != 0 {
			md.Append(xmlstream.New(q.Space, "start", "id", EncodeID(first), "timestamp", stamp(idMicros(first))),
				xmlstream.New(q.Space, "end", "id", EncodeID(last), "timestamp", stamp(idMicros(last))))
		}
	}
	return stanza.IQResult(req).Append(md)
}

// resultID returns a fresh message id for a result.
func (m *Module) resultID() string {
	return m.resultPrefix + strconv.FormatInt(m.resultSeq.Add(1), 36)
}

// newResultPrefix is a random prefix that keeps result ids unique across
// restarts and nodes.
func newResultPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}
