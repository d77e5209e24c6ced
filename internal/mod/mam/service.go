package mam

import (
	"context"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// The service API the GraphQL stanza and muc_light categories call
// (docs/api.md): the newest messages of a user's or a room's archive.
// The resolvers check the caller, the user and the room; these methods
// only read the archive (after its queued rows are written).

// Message is an archived message as the API shows it.
type Message struct {
	// Sender is the source JID: the sender's full JID, room/nick in rooms.
	Sender string
	// Time is the archiving time (the id's).
	Time time.Time
	// StanzaID is the archive id.
	StanzaID string
	// Stanza is the stored message.
	Stanza *xmlstream.Element
}

// LastMessages returns the newest messages of user's archive, oldest
// first: at most limit, and at most max_result_limit (the effective limit
// is returned too); with, when set, keeps the messages exchanged with that
// JID (bare: any resource); before, when not zero, keeps those archived
// at or before it. ErrNoArchive when the one-to-one archive is off.
func (m *Module) LastMessages(ctx context.Context, user jid.JID, with *jid.JID, limit int, before time.Time) ([]Message, int, error) {
	if m.pm == nil {
		return nil, 0, ErrNoArchive
	}
	q := Query{Max: limit, Index: -1, Backward: true, Simple: true}
	if with != nil {
		q.Filter.With, q.Filter.Resource = remoteBare(*with), with.Resource()
	}
	return m.pm.newest(ctx, user.Bare(), user.Domain(), q, before)
}

// RoomMessages returns the newest messages of an archived room, oldest
// first: a page of pageSize (0: default_result_limit; at most
// max_result_limit, the effective size is returned too) archived at or
// before before (zero: now). ErrNoArchive when the room archive is off.
func (m *Module) RoomMessages(ctx context.Context, room jid.JID, pageSize int, before time.Time) ([]Message, int, error) {
	if m.muc == nil {
		return nil, 0, ErrNoArchive
	}
	q := Query{Max: -1, Index: -1, Backward: true, Simple: true}
	if pageSize > 0 {
		q.Max = pageSize
	}
	host := m.roomHost(room.Domain())
	if host == "" {
		host = room.Domain()
	}
	return m.muc.newest(ctx, room.Bare(), host, q, before)
}

func (p *part) newest(ctx context.Context, archive jid.JID, host string, q Query, before time.Time) ([]Message, int, error) {
	if !before.IsZero() {
		q.Filter.Max = lastID(before.UnixMicro())
	}
	owner, err := p.m.ownerID(ctx, archive, false, false)
	if err != nil {
		return nil, 0, err
	}
	page, err := p.lookup(ctx, owner, host, q)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Message, 0, len(page.Rows))
	for _, r := range page.Rows {
		st, err := parseStanza(r.Message)
		if err != nil {
			p.m.log.Error("mam: stored message does not parse", "archive", archive.String(), "id", EncodeID(r.ID), "err", err)
			continue
		}
		src := r.From
		if src == "" {
			src = st.Attr("from")
		}
		out = append(out, Message{Sender: src, Time: idTime(r.ID), StanzaID: EncodeID(r.ID), Stanza: st})
	}
	return out, p.pageSize(q), nil
}
