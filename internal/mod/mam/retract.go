package mam

import (
	"context"
	"strings"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Retraction (XEP-0424 over XEP-0422 fastening; docs/modules/mod_mam.md,
// "Retraction"): a retraction message is archived like any message, and,
// with message_retraction on, the row it names becomes a tombstone on each
// side: the newest row between the same sender and recipient (rooms: by
// the same author) whose <origin-id/> equals <apply-to id/>, or, with
// <retract xmlns='urn:esl:message-retract-by-stanza-id:0'/>, the row whose
// archive id it is. The tombstone keeps the message's attributes and holds
// one <retracted/> child in the retraction's namespace, stamped with the
// time of the retraction, with the <origin-id/> (or <stanza-id/>) it named.

// retract tombstones the row of owner's archive (oid) that a retraction of
// kind naming target asks for; r says which peer and direction.
func (p *part) retract(ctx context.Context, oid int64, owner jid.JID, host, kind, target string, r Retraction) {
	if !p.opts.MessageRetraction {
		return
	}
	var named *xmlstream.Element
	if kind == nsRetractByID {
		id, ok := DecodeID(target)
		if !ok {
			return
		}
		r.ID = id
		named = xmlstream.New(nsSID, "stanza-id", "id", EncodeID(id), "by", owner.String())
	} else {
		r.OriginID = target
		named = xmlstream.New(nsSID, "origin-id", "id", target)
	}
	// The row may still be queued.
	if err := p.w.sync(ctx, oid); err != nil {
		p.m.log.Warn("mam: retraction: writer not settled", "owner", owner.String(), "err", err)
	}
	when := stamp(p.m.now().UnixMicro())
	tombstone := func(old string) string {
		t := xmlstream.New("jabber:client", "message")
		if el, err := parseStanza(old); err == nil {
			t = &xmlstream.Element{Space: el.Space, Local: el.Local, Attrs: el.Attrs}
		}
		t.Append(xmlstream.New(kind, "retracted", "stamp", when).Append(named))
		return t.String()
	}
	if _, err := p.m.store.Retract(ctx, p.kind, oid, r, tombstone); err != nil {
		p.m.log.Error("mam: retraction", "owner", owner.String(), "target", target, "err", err)
	}
}

// streamPrefix opens a jabber:client stream around a stored stanza, so
// that it parses as it was received.
const streamPrefix = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`

// parseStanza parses a stored stanza.
func parseStanza(s string) (*xmlstream.Element, error) {
	d := xmlstream.NewDecoder(strings.NewReader(streamPrefix+s), 0)
	if _, err := d.Header(); err != nil {
		return nil, err
	}
	return d.Next()
}
