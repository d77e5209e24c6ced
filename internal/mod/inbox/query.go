package inbox

import (
	"context"
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// reqError is a handler-generated error: condition and text.
type reqError struct {
	cond stanza.Condition
	text string
}

func (e *reqError) Error() string { return string(e.cond) + ": " + e.text }

func badRequest(text string) *reqError { return &reqError{stanza.BadRequest, text} }

// errorReply answers iq with an error holding only the <error> element
// (spec/inbox.md §5.2: the query is not echoed; <text> has no xml:lang).
func errorReply(in *xmlstream.Element, e *reqError) *xmlstream.Element {
	r := stanza.IQResult(in)
	r.SetAttr("type", "error")
	el := stanza.Error{Condition: e.cond}.Element()
	el.Append(xmlstream.New(stanza.NSStanzas, "text").AppendText(e.text))
	return r.Append(el)
}

// internalError is the generic 500 answer, the original child echoed.
func internalError(in *xmlstream.Element) *xmlstream.Element {
	return stanza.IQErrorReply(in, stanza.Error{Condition: stanza.InternalServerError, Text: "The server could not process the IQ stanza"})
}

// ownRequest reports whether r addresses the sender's own bare JID (the
// session-manager component also sees IQs to other users' bare JIDs).
func ownRequest(r iq.Request) bool { return r.To.Bare() == r.From.Bare() }

func (m *Module) handleInbox(ctx context.Context, r iq.Request) *xmlstream.Element {
	if !ownRequest(r) {
		return stanza.IQErrorReply(r.IQ, stanza.Error{Condition: stanza.ServiceUnavailable})
	}
	p := r.Payload
	switch r.IQ.Attr("type") {
	case "get":
		return m.formReply(r.IQ, p)
	case "set":
		if p.Local == "empty-bin" {
			n, err := m.store.EmptyUserBin(ctx, owner(r.From), m.now().UnixMicro())
			if err != nil {
				m.log.Error("inbox: empty bin", "user", r.From.String(), "err", err)
				return internalError(r.IQ)
			}
			res := stanza.IQResult(r.IQ)
			res.Append(xmlstream.New(NS, "empty-bin").Append(xmlstream.New(NS, "num").AppendText(strconv.Itoa(n))))
			return res
		}
		return m.query(ctx, r)
	}
	return nil
}

// formReply repeats the request's child with the query form (§5.1).
func (m *Module) formReply(in, p *xmlstream.Element) *xmlstream.Element {
	x := xmlstream.New(nsData, "x", "type", "form")
	x.Append(hidden(NS),
		xmlstream.New(nsData, "field", "var", "start", "type", "text-single"),
		xmlstream.New(nsData, "field", "var", "end", "type", "text-single"),
		field("hidden_read", "text-single", "false"),
		listField("order", "desc", []string{"asc", "desc"}, map[string]string{"asc": "Ascending by timestamp", "desc": "Descending by timestamp"}),
		listField("box", "all", append([]string{"all"}, m.opts.AllBoxes()...), nil),
		field("archive", "boolean", "false"),
	)
	return echo(in, p, x)
}

// echo returns a result holding p's name and attributes with child as its
// only content.
func echo(in, p, child *xmlstream.Element) *xmlstream.Element {
	c := &xmlstream.Element{Space: p.Space, Local: p.Local, Attrs: append([]xmlstream.Attr(nil), p.Attrs...)}
	c.Append(child)
	return stanza.IQResult(in).Append(c)
}

func hidden(ns string) *xmlstream.Element {
	return field("FORM_TYPE", "hidden", ns)
}

func field(v, typ, value string) *xmlstream.Element {
	f := xmlstream.New(nsData, "field", "var", v, "type", typ)
	return f.Append(xmlstream.New(nsData, "value").AppendText(value))
}

func listField(v, def string, opts []string, labels map[string]string) *xmlstream.Element {
	f := field(v, "list-single", def)
	for _, o := range opts {
		l := o
		if labels != nil {
			l = labels[o]
		}
		f.Append(xmlstream.New(nsData, "option", "label", l).Append(xmlstream.New(nsData, "value").AppendText(o)))
	}
	return f
}

// parseTime parses an XEP-0082 date-time into µs.
func parseTime(s string) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return t.UnixMicro(), true
}

// parseForm reads the query form's fields into p (§5.2.1).
func (m *Module) parseForm(x *xmlstream.Element, p *Params) *reqError {
	type fv struct {
		name   string
		values []string
	}
	var fields []fv
	for _, f := range x.Elements() {
		if f.Local != "field" || f.Attr("var") == "" {
			continue
		}
		var vs []string
		for _, v := range f.Elements() {
			if v.Local == "value" {
				vs = append(vs, v.Text())
			}
		}
		fields = append(fields, fv{f.Attr("var"), vs})
	}
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].name < fields[j].name })
	invalid := func(f, v string) *reqError {
		return badRequest("Invalid inbox form field value, field=" + f + ", value=" + v)
	}
	var boxGiven bool
	for _, f := range fields {
		if len(f.values) != 1 {
			return badRequest("bad-request")
		}
		v := f.values[0]
		switch f.name {
		case "FORM_TYPE":
		case "start", "end":
			us, ok := parseTime(v)
			if !ok {
				return invalid(f.name, v)
			}
			if f.name == "start" {
				p.Start = &us
			} else {
				p.End = &us
			}
		case "order":
			switch v {
			case "asc":
				p.Asc = true
			case "desc":
				p.Asc = false
			default:
				return invalid(f.name, v)
			}
		case "hidden_read":
			switch v {
			case "true", "false":
				p.HiddenRead = v == "true"
			default:
				return invalid(f.name, v)
			}
		case "box":
			if v != "all" && !m.validBox(v) {
				return invalid(f.name, v)
			}
			b := v
			p.Box, boxGiven = &b, true
		case "archive":
			var b string
			switch v {
			case "true":
				b = "archive"
			case "false":
				b = "inbox"
			default:
				return invalid(f.name, v)
			}
			if !boxGiven {
				p.Box = &b
			}
		default:
			return badRequest("Unknown inbox form field=" + f.name + ", value=" + v)
		}
	}
	return nil
}

// rsm is a parsed RSM <set>.
type rsm struct {
	present  bool
	hasMax   bool
	max      int
	dir      string
	id       string
	index    bool
	badMax   bool
	badIndex bool
}

// intPrefix parses the leading integer of s ("10abc" is 10).
func intPrefix(s string) (int, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, false
	}
	n, err := strconv.Atoi(s[:j])
	return n, err == nil
}

func parseRSM(q *xmlstream.Element) rsm {
	var r rsm
	var set *xmlstream.Element
	for _, c := range q.Elements() {
		if c.Local == "set" {
			set = c
			break
		}
	}
	if set == nil {
		return r
	}
	r.present = true
	for _, c := range set.Elements() {
		if len(c.Attrs) > 0 {
			continue
		}
		switch c.Local {
		case "max":
			n, ok := intPrefix(c.Text())
			r.max, r.hasMax, r.badMax = n, ok, !ok
		case "before", "after":
			r.dir, r.id = c.Local, c.Text()
		case "index":
			_, ok := intPrefix(c.Text())
			r.index, r.badIndex = ok, !ok
		}
	}
	return r
}

// decodeCursor splits "<µs>/<base64 jid>".
func decodeCursor(s string) (int64, string, bool) {
	l, rest, ok := strings.Cut(s, "/")
	if !ok {
		return 0, "", false
	}
	ts, err := strconv.ParseInt(l, 10, 64)
	if err != nil || ts < 0 {
		return 0, "", false
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return 0, "", false
	}
	return ts, string(b), true
}

func cursor(e Entry) string {
	return strconv.FormatInt(e.Timestamp, 10) + "/" + base64.StdEncoding.EncodeToString([]byte(e.Remote))
}

// query answers an inbox query (§5.2-5.6).
func (m *Module) query(ctx context.Context, r iq.Request) *xmlstream.Element {
	q := r.Payload
	p := Params{Limit: -1}
	if x := q.Child(nsData, "x"); x != nil {
		if e := m.parseForm(x, &p); e != nil {
			return errorReply(r.IQ, e)
		}
	}
	rs := parseRSM(q)
	limit := int(m.opts.MaxResultLimit)
	switch {
	case rs.badMax && limit == 0, rs.hasMax && rs.max < 0, rs.badIndex:
		return errorReply(r.IQ, badRequest("bad-request"))
	case rs.index:
		return errorReply(r.IQ, &reqError{stanza.FeatureNotImplemented, "Inbox does not expose a total count and indexes"})
	}
	max := -1
	if rs.hasMax {
		max = rs.max
	}
	if limit > 0 && (max < 0 || max > limit) {
		max = limit
		rs.hasMax = true
	}
	var curTS int64
	var curJID string
	if rs.id != "" {
		var ok bool
		if curTS, curJID, ok = decodeCursor(rs.id); !ok {
			return errorReply(r.IQ, badRequest("bad-request"))
		}
	}
	var entries []Entry
	var err error
	if max != 0 {
		entries, err = m.lookupRSM(ctx, owner(r.From), p, rs, max, curTS, curJID)
		if err != nil {
			m.log.Error("inbox: lookup", "user", r.From.String(), "err", err)
			return internalError(r.IQ)
		}
	}
	queryID := q.Attr("queryid")
	if queryID == "" {
		queryID = r.IQ.Attr("id")
	}
	ownerBare := r.From.Bare()
	now := m.now().UnixMicro()
	unread, active := 0, 0
	for _, e := range entries {
		unread += e.UnreadCount
		if e.UnreadCount > 0 {
			active++
		}
		res := xmlstream.New(NS, "result", "unread", strconv.Itoa(e.UnreadCount), "queryid", queryID)
		fwd := xmlstream.New(nsForward, "forwarded")
		fwd.Append(xmlstream.New(stanza.NSDelay, "delay", "stamp", stamp(e.Timestamp)))
		if inner := parseContent(e.Content); inner != nil {
			fwd.Append(inner)
		}
		res.Append(fwd)
		res.Append(
			xmlstream.New(NS, "read").AppendText(boolText(e.UnreadCount == 0)),
			xmlstream.New(NS, "box").AppendText(e.Box),
			xmlstream.New(NS, "archive").AppendText(boolText(e.Box == "archive")),
			xmlstream.New(NS, "mute").AppendText(muteValue(e.MutedUntil, now)),
		)
		msg := xmlstream.New(stanza.NSClient, "message", "id", m.newID(), "from", ownerBare.String(), "to", r.From.String())
		m.r.Route(ctx, ownerBare, r.From, msg.Append(res))
	}
	set := xmlstream.New(nsRSM, "set")
	if len(entries) > 0 {
		set.Append(xmlstream.New(nsRSM, "first").AppendText(cursor(entries[0])),
			xmlstream.New(nsRSM, "last").AppendText(cursor(entries[len(entries)-1])))
	}
	fin := xmlstream.New(NS, "fin")
	fin.Append(set,
		xmlstream.New(NS, "active-conversations").AppendText(strconv.Itoa(active)),
		xmlstream.New(NS, "count").AppendText(strconv.Itoa(len(entries))),
		xmlstream.New(NS, "unread-messages").AppendText(strconv.Itoa(unread)))
	return stanza.IQResult(r.IQ).Append(fin)
}

// lookupRSM runs the lookup the RSM table of §5.3 prescribes.
func (m *Module) lookupRSM(ctx context.Context, o Owner, p Params, rs rsm, max int, curTS int64, curJID string) ([]Entry, error) {
	formStart := p.Start
	reverse := false
	dropCursor := false
	matchTS := curTS
	p.Limit = max
	switch {
	case !rs.present || (rs.dir == "" && rs.hasMax):
		// P, limit M.
	case rs.dir == "":
		reverse = p.Asc
	case rs.dir == "before" && rs.id == "":
		p.Asc, p.Start = true, nil
		reverse = true
	case rs.dir == "after" && rs.id == "":
		p.End = nil
		reverse = p.Asc
	case rs.dir == "after":
		p.End = &curTS
		if max >= 0 {
			p.Limit = max + 1
		}
		dropCursor = true
		if p.Asc {
			// Compat: the match uses the form's start, and the list is
			// reversed.
			matchTS = -1
			if formStart != nil {
				matchTS = *formStart
			}
			reverse = true
		}
	case rs.dir == "before":
		p.Asc, p.Start = true, &curTS
		if max >= 0 {
			p.Limit = max + 1
		}
		dropCursor, reverse = true, true
	}
	entries, err := m.store.Lookup(ctx, o, p)
	if err != nil {
		return nil, err
	}
	if dropCursor {
		for i, e := range entries {
			if e.Remote == curJID && e.Timestamp == matchTS {
				entries = entries[i+1:]
				break
			}
		}
	}
	if reverse {
		for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
			entries[i], entries[j] = entries[j], entries[i]
		}
	}
	return entries, nil
}

// parseContent decodes a stored stanza; nil when it does not parse.
func parseContent(s string) *xmlstream.Element {
	d := xmlstream.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`+s), 0)
	if _, err := d.Header(); err != nil {
		return nil
	}
	el, err := d.Next()
	if err != nil {
		return nil
	}
	return el
}

// parseJIDAttr parses a jid attribute into the normalised bare key.
func parseJIDAttr(s string) (string, jid.JID, bool) {
	j, err := jid.Parse(s)
	if err != nil || j.Domain() == "" {
		return "", jid.JID{}, false
	}
	return remoteKey(j), j.Bare(), true
}
