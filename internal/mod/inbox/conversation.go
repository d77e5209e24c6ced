package inbox

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// handleConversation serves the #conversation namespace (§7).
func (m *Module) handleConversation(ctx context.Context, r iq.Request) *xmlstream.Element {
	if !ownRequest(r) {
		return stanza.IQErrorReply(r.IQ, stanza.Error{Condition: stanza.ServiceUnavailable})
	}
	p := r.Payload
	switch {
	case r.IQ.Attr("type") == "get":
		remote, _, ok := parseJIDAttr(p.Attr("jid"))
		if !ok {
			return m.propsFormReply(r.IQ, p)
		}
		return m.getEntry(ctx, r, remote)
	case p.Local == "reset":
		return m.reset(ctx, r)
	case p.Local == "query":
		return m.setProps(ctx, r)
	}
	return errorReply(r.IQ, badRequest("bad-request"))
}

// settleTimeout bounds how long a conversation IQ waits for the
// asynchronous writes of its entry.
const settleTimeout = 5 * time.Second

// settle waits, with rdbms_async, until the writes of k queued so far
// reached storage (with those of the other conversations of its worker),
// so that reading or changing an entry's properties sees every message
// that arrived before the request. It gives up after settleTimeout (the
// database is then failing and the request answers with what is stored).
func (m *Module) settle(ctx context.Context, k taskKey) {
	if m.async == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	qk, _ := m.queueKey(k)
	if err := m.async.w.SyncKey(ctx, qk); err != nil {
		m.log.Warn("inbox: pending writes not settled", "owner", k.Owner.LUser+"@"+k.Owner.LServer, "remote", k.Remote, "err", err)
	}
}

// propsFormReply answers a get with no valid jid with the property form
// (§7.1).
func (m *Module) propsFormReply(in, p *xmlstream.Element) *xmlstream.Element {
	x := xmlstream.New(nsData, "x", "type", "form")
	x.Append(hidden(NSConversation),
		listField("box", "all", append([]string{"all"}, m.opts.AllBoxes()...), nil),
		field("archive", "boolean", "false"),
		field("read", "boolean", "false"),
		field("mute", "text-single", "0"))
	return echo(in, p, x)
}

// getEntry answers a get with a jid (§7.2).
func (m *Module) getEntry(ctx context.Context, r iq.Request, remote string) *xmlstream.Element {
	m.settle(ctx, taskKey{owner(r.From), remote})
	e, err := m.store.Get(ctx, owner(r.From), remote)
	if errors.Is(err, ErrNotFound) {
		return errorReply(r.IQ, &reqError{stanza.ItemNotFound, "Entry not found"})
	}
	if err != nil {
		m.log.Error("inbox: get entry", "user", r.From.String(), "err", err)
		return internalError(r.IQ)
	}
	q := xmlstream.New(NSConversation, "query", "jid", remote)
	if r.Payload.Attr("complete") == "true" {
		fwd := xmlstream.New(nsForward, "forwarded")
		fwd.Append(xmlstream.New(stanza.NSDelay, "delay", "stamp", stamp(e.Timestamp)))
		if inner := parseContent(e.Content); inner != nil {
			fwd.Append(inner)
		}
		q.Append(fwd)
	}
	m.propsElement(q, Props{Box: e.Box, MutedUntil: e.MutedUntil, UnreadCount: e.UnreadCount})
	return stanza.IQResult(r.IQ).Append(q)
}

// reset is the deprecated reset IQ (§7.4).
func (m *Module) reset(ctx context.Context, r iq.Request) *xmlstream.Element {
	j := r.Payload.Attr("jid")
	if j == "" {
		return errorReply(r.IQ, badRequest("jid-required"))
	}
	remote, _, ok := parseJIDAttr(j)
	if !ok {
		return errorReply(r.IQ, badRequest("invalid-jid"))
	}
	if err := m.resetUnread(ctx, owner(r.From), remote, nil, m.timestamp()); err != nil {
		m.log.Error("inbox: reset", "user", r.From.String(), "err", err)
		return internalError(r.IQ)
	}
	return stanza.IQResult(r.IQ).Append(xmlstream.New(NSConversation, "reset"))
}

// setProps changes an entry's properties (§7.3), notifies the owner's
// resources and answers with an empty result.
func (m *Module) setProps(ctx context.Context, r iq.Request) *xmlstream.Element {
	p := r.Payload
	j := p.Attr("jid")
	if j == "" {
		return errorReply(r.IQ, badRequest("jid-required"))
	}
	remote, _, ok := parseJIDAttr(j)
	if !ok {
		return errorReply(r.IQ, badRequest("invalid-jid"))
	}
	var req SetProps
	n := 0
	for _, c := range p.Children {
		el, isEl := c.(*xmlstream.Element)
		if !isEl {
			if t, _ := c.(xmlstream.Text); isBlank(string(t)) {
				continue
			}
			return errorReply(r.IQ, badRequest("bad-request"))
		}
		n++
		if len(el.Children) != 1 {
			return errorReply(r.IQ, badRequest("bad-request"))
		}
		t, isText := el.Children[0].(xmlstream.Text)
		if !isText {
			return errorReply(r.IQ, badRequest("bad-request"))
		}
		v := string(t)
		switch el.Local {
		case "box":
			if v == "all" || !m.validBox(v) {
				return errorReply(r.IQ, badRequest("invalid-box"))
			}
			req.Box = &v
		case "archive":
			var b string
			switch v {
			case "true":
				b = "archive"
			case "false":
				b = "inbox"
			default:
				return errorReply(r.IQ, badRequest("bad-request"))
			}
			if req.Box == nil {
				req.Box = &b
			}
		case "read":
			if v != "true" && v != "false" {
				return errorReply(r.IQ, badRequest("bad-request"))
			}
			b := v == "true"
			req.Read = &b
		case "mute":
			secs, err := strconv.ParseInt(v, 10, 64)
			if err != nil || secs < 0 || secs > 1<<40 {
				return errorReply(r.IQ, badRequest("bad-request"))
			}
			var until int64
			if secs > 0 {
				until = m.now().UnixMicro() + secs*1_000_000
			}
			req.MutedUntil = &until
		default:
			return errorReply(r.IQ, badRequest("bad-request"))
		}
	}
	if n == 0 {
		return errorReply(r.IQ, badRequest("no-property"))
	}
	m.settle(ctx, taskKey{owner(r.From), remote})
	props, err := m.store.SetProps(ctx, owner(r.From), remote, req)
	if req.Box != nil {
		m.notArchived.changed(taskKey{owner(r.From), remote})
	}
	if errors.Is(err, ErrNotFound) {
		return errorReply(r.IQ, badRequest("item-not-found"))
	}
	if err != nil {
		m.log.Error("inbox: set properties", "user", r.From.String(), "err", err)
		return internalError(r.IQ)
	}
	queryID := p.Attr("queryid")
	if queryID == "" {
		queryID = r.IQ.Attr("id")
	}
	x := m.propsElement(xmlstream.New(NSConversation, "x", "jid", remote, "queryid", queryID), props)
	bare := r.From.Bare()
	msg := xmlstream.New(stanza.NSClient, "message", "id", r.IQ.Attr("id"), "from", r.From.String(), "to", bare.String())
	m.r.Route(ctx, r.From, bare, msg.Append(x))
	return stanza.IQResult(r.IQ)
}

func isBlank(s string) bool {
	for _, c := range s {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
