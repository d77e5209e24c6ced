package muclight

import (
	"context"
	"errors"
	"strings"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// The service API: every room operation is a Go method, here (rooms) and
// in affiliations.go, blocking.go and messages.go. The XMPP handlers
// (xmpp.go) and the GraphQL muc_light category call the same methods, the
// XMPP handlers with the request's id, so notifications are identical
// whichever way an operation comes in (docs/modules/mod_muc_light.md). An
// empty id means "generate one".

// CreateRequest describes a room creation (§10.3).
type CreateRequest struct {
	// Creator is the creating user (bare JID).
	Creator jid.JID
	// Room is the room JID, or a bare service domain JID for a
	// server-generated name.
	Room jid.JID
	// Config are initial field values (schema field names).
	Config []KV
	// Occupants are the invited users; the creator must not be listed and
	// affiliations must be owner or member.
	Occupants []Occupant
	// ID is the notifications' id; empty generates one.
	ID string
}

func (m *Module) id(id string) string {
	if id == "" {
		return m.ids.next()
	}
	return id
}

func (m *Module) limit(n int) bool { return n > 0 }

// CreateRoom creates a room, notifies each occupant of its own
// affiliation and returns the stored room (§10.3).
func (m *Module) CreateRoom(ctx context.Context, req CreateRequest) (*Room, error) {
	creator := req.Creator.Bare()
	if !m.IsService(req.Room.Domain()) {
		return nil, ErrNoService
	}
	if lim := int(m.opts.RoomsPerUser); m.limit(lim) {
		n, err := m.store.CountUserRooms(ctx, creator)
		if err != nil {
			return nil, err
		}
		if n >= lim {
			return nil, ErrRoomLimit
		}
	}
	cfg, cfgErr := m.schema.full(req.Config)
	var listed []Occupant
	for _, o := range req.Occupants {
		ok, err := m.joinable(ctx, creator, o.User, req.Room)
		if err != nil {
			return nil, err
		}
		if ok {
			listed = append(listed, o)
		}
	}
	occs, listErr := m.mergeCreation(creator, listed)
	if cfgErr != nil {
		return nil, cfgErr
	}
	if listErr != nil {
		return nil, listErr
	}
	if lim := int(m.opts.MaxOccupants); m.limit(lim) && len(occs) > lim {
		return nil, ErrMaxOccupants
	}
	r := &Room{Version: m.ids.next(), Config: cfg, Occupants: occs}
	if req.Room.Local() != "" {
		r.JID = req.Room.Bare()
		if err := m.store.Create(ctx, r); err != nil {
			return nil, err
		}
	} else {
		var err error
		for range 10 {
			r.JID, err = jid.New(m.ids.next(), req.Room.Domain(), "")
			if err != nil {
				return nil, err
			}
			if err = m.store.Create(ctx, r); !errors.Is(err, ErrRoomExists) {
				break
			}
		}
		if errors.Is(err, ErrRoomExists) {
			return nil, ErrNameExhausted
		}
		if err != nil {
			return nil, err
		}
	}
	sortOccupants(r.Occupants)
	m.cacheUpdate(r.JID, r)
	m.m.created.Inc()
	m.m.rooms.Inc()
	m.m.occupants.Add(float64(len(r.Occupants)))
	id := m.id(req.ID)
	for _, o := range r.Occupants {
		x := xmlstream.New(NSAffiliations, "x")
		x.Append(xmlstream.New(NSAffiliations, "version").AppendText(r.Version))
		x.Append(userItem(NSAffiliations, o))
		m.deliver(ctx, r.JID, jid.JID{}, o.User, notification(id, r.JID, o.User, x))
	}
	if m.hooks.RoomMessage.Len() > 0 {
		// §10.3 (b): the room-created event, every occupant and no
		// version, is offered to the archive; it is sent to nobody.
		x := xmlstream.New(NSAffiliations, "x")
		for _, o := range r.Occupants {
			x.Append(userItem(NSAffiliations, o))
		}
		ev := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "id", id, "from", r.JID.String())
		m.archive(ctx, r.JID, jid.JID{}, ev.Append(x, xmlstream.New(stanza.NSClient, "body")))
	}
	m.hooks.RoomAffiliationsChanged.Run(ctx, &hooks.RoomAffiliations{Room: r.JID, Actor: creator, Version: r.Version,
		Changes: affChanges(r.Occupants), Occupants: affChanges(r.Occupants)})
	return r, nil
}

// mergeCreation applies the owner rules of §10.3 steps 5–6.
func (m *Module) mergeCreation(creator jid.JID, listed []Occupant) ([]Occupant, error) {
	seen := map[jid.JID]bool{}
	var owners []jid.JID
	for _, o := range listed {
		if o.User == creator || o.Aff == AffNone {
			return nil, badRequest("Uncategorized bad request")
		}
		if seen[o.User] {
			return nil, badRequest("Cannot change affiliation for the same user twice in the same request")
		}
		seen[o.User] = true
		if o.Aff == AffOwner {
			owners = append(owners, o.User)
		}
	}
	caff := AffOwner
	switch {
	case m.opts.EqualOccupants && len(owners) > 0:
		return nil, badRequest("Ownerless room")
	case m.opts.EqualOccupants:
		caff = AffMember
	case !m.opts.AllowMultipleOwners && len(owners) > 1:
		return nil, badRequest("Failed to demote old owner")
	case !m.opts.AllowMultipleOwners && len(owners) == 1:
		caff = AffMember
	}
	out := append([]Occupant{{User: creator, Aff: caff}}, listed...)
	sortOccupants(out)
	return out, nil
}

// notification builds a room system message with an empty body.
func notification(id string, room, to jid.JID, xs ...*xmlstream.Element) *xmlstream.Element {
	msg := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "id", id, "from", room.String(), "to", to.String())
	for _, x := range xs {
		msg.Append(x)
	}
	return msg.Append(xmlstream.New(stanza.NSClient, "body"))
}

// GetRoom returns a room with every schema field in its config. A
// non-zero requester must be an occupant (ErrNotOccupant); a zero one is an
// administrator.
func (m *Module) GetRoom(ctx context.Context, room, requester jid.JID) (*Room, error) {
	r, err := m.store.Get(ctx, room.Bare())
	if err != nil {
		return nil, err
	}
	if !requester.IsZero() && r.Aff(requester.Bare()) == AffNone {
		return nil, ErrNotOccupant
	}
	r.Config = m.schema.fill(r.Config)
	return r, nil
}

// permission evaluates all_can_configure / all_can_invite: the room's
// schema field with that internal key if any, else the module option (§3).
func (m *Module) permission(cfg map[string]string, key string, def bool) bool {
	if v, ok := m.schema.byInternal(cfg, key); ok {
		return v == "true"
	}
	return def
}

// ChangeConfig changes configuration fields as actor (§10.4), notifies
// every occupant and returns the new version with the de-duplicated,
// rendered fields that were stored.
func (m *Module) ChangeConfig(ctx context.Context, room, actor jid.JID, kvs []KV, id string) (string, []KV, error) {
	actor = actor.Bare()
	r, err := m.GetRoom(ctx, room, actor)
	if err != nil {
		return "", nil, err
	}
	kvs = dedup(kvs)
	subjectOnly := len(kvs) == 1 && kvs[0].Key == "subject"
	if r.Aff(actor) != AffOwner && !subjectOnly && !m.permission(r.Config, "all_can_configure", m.opts.AllCanConfigure) {
		return "", nil, errCannotConfigure
	}
	fields, err := m.schema.delta(kvs)
	if err != nil {
		return "", nil, err
	}
	ver := m.ids.next()
	prev, err := m.store.SetConfig(ctx, r.JID, fields, ver)
	m.cacheUpdate(r.JID, nil)
	if err != nil {
		return "", nil, err
	}
	m.m.configChanges.Inc()
	id = m.id(id)
	x := xmlstream.New(NSConfiguration, "x")
	x.Append(xmlstream.New(NSConfiguration, "prev-version").AppendText(prev))
	x.Append(xmlstream.New(NSConfiguration, "version").AppendText(ver))
	for _, kv := range fields {
		x.Append(xmlstream.New(NSConfiguration, kv.Key).AppendText(kv.Value))
	}
	base := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "id", id, "from", r.JID.String())
	base.Append(x, xmlstream.New(stanza.NSClient, "body"))
	// §10.4 step 5: the notification is archived (it has a body); the
	// copies carry the archive's stanza-id.
	if sid := m.archive(ctx, r.JID, jid.JID{}, base); sid != "" {
		base = base.WithAttr("id", id).Append(stanzaID(r.JID, sid))
	}
	for _, o := range r.Occupants {
		m.deliver(ctx, r.JID, jid.JID{}, o.User, copyTo(base, o.User))
	}
	return ver, fields, nil
}

// Destroy deletes a room (§10.7). A non-zero actor must be an owner; a
// zero actor is an administrator. Every former occupant gets the
// destruction notification.
func (m *Module) Destroy(ctx context.Context, room, actor jid.JID, id string) error {
	if !actor.IsZero() {
		r, err := m.occupants(ctx, room, actor)
		if err != nil {
			return err
		}
		if r.Aff(actor.Bare()) != AffOwner {
			return errCannotDestroy
		}
	}
	r, err := m.store.Destroy(ctx, room.Bare())
	m.cacheUpdate(room.Bare(), nil)
	if err != nil {
		return err
	}
	m.m.occupants.Sub(float64(len(r.Occupants)))
	m.forget(ctx, r)
	id = m.id(id)
	for _, o := range r.Occupants {
		x := xmlstream.New(NSAffiliations, "x").Append(userItem(NSAffiliations, Occupant{User: o.User, Aff: AffNone}))
		m.deliver(ctx, r.JID, jid.JID{}, o.User, notification(id, r.JID, o.User, xmlstream.New(NSDestroy, "x"), x))
	}
	return nil
}

// UserRooms returns the rooms user occupies on this module's domains,
// sorted by room JID, with their configuration.
func (m *Module) UserRooms(ctx context.Context, user jid.JID) ([]*Room, error) {
	rooms, err := m.store.UserRooms(ctx, user.Bare())
	if err != nil {
		return nil, err
	}
	out := rooms[:0]
	for _, r := range rooms {
		if m.IsService(r.JID.Domain()) {
			r.Config = m.schema.fill(r.Config)
			out = append(out, r)
		}
	}
	return out, nil
}

// RoomDesc describes a room in an administrator's room list. Name and
// Subject are nil when the schema has no roomname / subject field.
type RoomDesc struct {
	JID         jid.JID
	Name        *string
	Subject     *string
	UsersNumber int
}

// ListRooms lists the rooms of a MUC Light domain for administrators
// (spec/muclight.md §15.4 listRooms): ordered by localpart, after is an
// exclusive localpart cursor, filter a case-insensitive substring of the
// localpart or the room name (empty: none), limit <= 0 means 50. It
// returns the page, the number of all matching rooms (ignoring the cursor)
// and whether more rooms follow.
func (m *Module) ListRooms(ctx context.Context, service, filter, after string, limit int) ([]RoomDesc, int, bool, error) {
	if !m.IsService(service) {
		return nil, 0, false, ErrNoService
	}
	if limit <= 0 {
		limit = 50
	}
	all, err := m.store.DomainRooms(ctx, service)
	if err != nil {
		return nil, 0, false, err
	}
	filter = strings.ToLower(filter)
	var page []RoomDesc
	count, more := 0, false
	for _, s := range all {
		if s.Users == 0 {
			continue
		}
		d := RoomDesc{JID: s.Room.JID, UsersNumber: s.Users}
		if v, ok := m.schema.byInternal(s.Room.Config, "roomname"); ok {
			d.Name = &v
		}
		if i, ok := m.schema.byName["subject"]; ok {
			v, ok := s.Room.Config["subject"]
			if !ok {
				v = m.schema.fields[i].Default
			}
			d.Subject = &v
		}
		if filter != "" && !strings.Contains(d.JID.Local(), filter) && (d.Name == nil || !strings.Contains(strings.ToLower(*d.Name), filter)) {
			continue
		}
		count++
		if after != "" && d.JID.Local() <= after {
			continue
		}
		if len(page) < limit {
			page = append(page, d)
		} else {
			more = true
		}
	}
	return page, count, more, nil
}
