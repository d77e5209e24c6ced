package muclight

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// This file is the service API: every operation of spec/muclight.md §10 as
// a Go method. The XMPP handlers (xmpp.go) call the same methods with the
// request's id, so notifications are identical whichever way an operation
// comes in (D5). An empty id means "generate one" (§5.4).

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

// joinable is the addition filter of §10.9 for a target T who is not an
// occupant of room: false means T is silently dropped.
func (m *Module) joinable(ctx context.Context, requester, target, room jid.JID) (bool, error) {
	if target == requester {
		return true, nil
	}
	if m.opts.Blocking {
		items, err := m.store.Blocklist(ctx, target)
		if err != nil {
			return false, err
		}
		for _, it := range items {
			if (it.Kind == BlockUser && it.Target == requester) || (it.Kind == BlockRoom && room.Local() != "" && it.Target == room) {
				return false, nil
			}
		}
	}
	if lim := int(m.opts.RoomsPerUser); m.limit(lim) {
		n, err := m.store.CountUserRooms(ctx, target)
		if err != nil {
			return false, err
		}
		if n >= lim {
			return false, nil
		}
	}
	return true, nil
}

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

func userItem(ns string, o Occupant) *xmlstream.Element {
	return xmlstream.New(ns, "user", "affiliation", o.Aff.String()).AppendText(o.User.String())
}

// notification builds a room system message with an empty body.
func notification(id string, room, to jid.JID, xs ...*xmlstream.Element) *xmlstream.Element {
	msg := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "id", id, "from", room.String(), "to", to.String())
	for _, x := range xs {
		msg.Append(x)
	}
	return msg.Append(xmlstream.New(stanza.NSClient, "body"))
}

func affChanges(os []Occupant) []hooks.AffiliationChange {
	out := make([]hooks.AffiliationChange, len(os))
	for i, o := range os {
		out[i] = hooks.AffiliationChange{User: o.User, Affiliation: o.Aff.String()}
	}
	return out
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

// occupants returns the version and occupants, checking membership.
func (m *Module) occupants(ctx context.Context, room, requester jid.JID) (*Room, error) {
	r, err := m.cachedOccupants(ctx, room.Bare())
	if err != nil {
		return nil, err
	}
	if !requester.IsZero() && r.Aff(requester.Bare()) == AffNone {
		return nil, ErrNotOccupant
	}
	return r, nil
}

// cachedOccupants reads the occupant list through the cache, if any.
func (m *Module) cachedOccupants(ctx context.Context, room jid.JID) (*Room, error) {
	if m.cache == nil {
		return m.store.Occupants(ctx, room)
	}
	if r, ok, refresh := m.cache.get(room); ok {
		m.m.cacheHit.Inc()
		if refresh {
			m.refreshRoom(room)
		}
		return r, nil
	}
	m.m.cacheMiss.Inc()
	gen := m.cache.generation()
	r, err := m.store.Occupants(ctx, room)
	if err != nil {
		return nil, err
	}
	m.cache.fill(r, gen)
	return r, nil
}

// refreshTimeout bounds a background refresh of a cached list.
const refreshTimeout = 10 * time.Second

// refreshRoom reads room's occupant list again in the background, for the
// cache (see affCache). A room gone from storage is dropped, so the next
// message reads storage and gets the room's error.
func (m *Module) refreshRoom(room jid.JID) {
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()
	if m.stopped {
		return
	}
	m.m.cacheRefresh.Inc()
	gen := m.cache.generation()
	m.refreshes.Add(1)
	go func() {
		defer m.refreshes.Done()
		ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
		defer cancel()
		r, err := m.store.Occupants(ctx, room)
		switch {
		case errors.Is(err, ErrRoomNotFound):
			m.cache.drop(room)
		case err != nil:
			m.log.Warn("muclight: cache refresh", "room", room.String(), "err", err)
			m.cache.refreshFailed(room)
		case !m.cache.fill(r, gen):
			m.cache.refreshFailed(room)
		}
	}()
}

// cacheUpdate refreshes (r non-empty) or drops the cached list of room.
func (m *Module) cacheUpdate(room jid.JID, r *Room) {
	if m.cache == nil {
		return
	}
	if r == nil || len(r.Occupants) == 0 {
		m.cache.drop(room)
		return
	}
	m.cache.put(r)
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
		return "", nil, ErrNotAllowed
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
	base := notification(id, r.JID, r.JID, x)
	for _, o := range r.Occupants {
		m.deliver(ctx, r.JID, jid.JID{}, o.User, copyTo(base, o.User))
	}
	return ver, fields, nil
}

// ChangeAffiliations applies an affiliation change as actor (§10.5): adds
// (owner or member), removals (none), promotions and demotions, and a
// self-leave. It reports whether anything changed (filtered-out or empty
// requests change nothing and notify nobody).
func (m *Module) ChangeAffiliations(ctx context.Context, room, actor jid.JID, items []Occupant, id string) (bool, error) {
	actor = actor.Bare()
	r, err := m.GetRoom(ctx, room, actor)
	if err != nil {
		return false, err
	}
	if r.Aff(actor) == AffMember {
		invite := m.permission(r.Config, "all_can_invite", m.opts.AllCanInvite)
		for _, it := range items {
			leave := it.User == actor && it.Aff == AffNone
			add := invite && it.Aff == AffMember && r.Aff(it.User) != AffOwner
			if !leave && !add {
				return false, ErrNotAllowed
			}
		}
	}
	var kept []Occupant
	for _, it := range items {
		if r.Aff(it.User) == AffNone && it.User != actor {
			ok, err := m.joinable(ctx, actor, it.User, r.JID)
			if err != nil {
				return false, err
			}
			if !ok {
				continue
			}
		}
		kept = append(kept, it)
	}
	if len(kept) == 0 {
		return false, nil
	}
	return true, m.applyAffs(ctx, r.JID, actor, kept, m.opts.PromoteOnLastOwnerLeave, true, id)
}

// applyAffs runs Step D in storage and Step E notifications.
func (m *Module) applyAffs(ctx context.Context, room, actor jid.JID, items []Occupant, promote, limits bool, id string) error {
	var changes []Occupant
	ver := m.ids.next()
	before, after, err := m.store.ChangeOccupants(ctx, room, func(v string, cur []Occupant) ([]Occupant, string, error) {
		next, ch, err := m.change(cur, items, promote)
		if err != nil {
			return nil, "", err
		}
		if lim := int(m.opts.MaxOccupants); limits && m.limit(lim) && len(next) > lim {
			return nil, "", ErrMaxOccupants
		}
		changes = ch
		if ver == v {
			ver = m.ids.next()
		}
		return next, ver, nil
	})
	if errors.Is(err, ErrRoomNotFound) {
		m.cacheUpdate(room, nil)
	}
	if err != nil {
		return err
	}
	m.cacheUpdate(room, after)
	m.m.affChanges.Inc()
	m.m.occupants.Add(float64(len(after.Occupants) - len(before.Occupants)))
	slices.SortFunc(changes, func(a, b Occupant) int { return compareUsers(a.User, b.User) })
	destroyed := len(after.Occupants) == 0
	ev := &hooks.RoomAffiliations{Room: room, Actor: actor, PrevVersion: before.Version, Version: after.Version,
		Changes: affChanges(changes), Occupants: affChanges(after.Occupants)}
	if destroyed {
		ev.Version = ""
		m.forget(ctx, before)
	}
	m.hooks.RoomAffiliationsChanged.Run(ctx, ev)
	m.notifyAffs(ctx, before, after, changes, m.id(id))
	return nil
}

// forget runs forget-room for a deleted room (§9).
func (m *Module) forget(ctx context.Context, r *Room) {
	m.m.destroyed.Inc()
	m.m.rooms.Dec()
	users := make([]jid.JID, len(r.Occupants))
	for i, o := range r.Occupants {
		users[i] = o.User
	}
	m.hooks.RoomDestroyed.Run(ctx, &hooks.RoomDestroyed{Room: r.JID, Occupants: users})
}

// notifyAffs sends the three notification shapes of §10.5 Step E.
func (m *Module) notifyAffs(ctx context.Context, before, after *Room, changes []Occupant, id string) {
	was := map[jid.JID]bool{}
	for _, o := range before.Occupants {
		was[o.User] = true
	}
	is := map[jid.JID]Aff{}
	for _, o := range after.Occupants {
		is[o.User] = o.Aff
	}
	var users []jid.JID
	for _, o := range before.Occupants {
		users = append(users, o.User)
	}
	for _, o := range after.Occupants {
		if !was[o.User] {
			users = append(users, o.User)
		}
	}
	slices.SortFunc(users, compareUsers)
	room := after.JID
	var shared *xmlstream.Element
	for _, u := range users {
		x := xmlstream.New(NSAffiliations, "x")
		aff, now := is[u]
		switch {
		case was[u] && now:
			if shared == nil {
				shared = xmlstream.New(NSAffiliations, "x")
				shared.Append(xmlstream.New(NSAffiliations, "prev-version").AppendText(before.Version))
				shared.Append(xmlstream.New(NSAffiliations, "version").AppendText(after.Version))
				for _, c := range changes {
					shared.Append(userItem(NSAffiliations, c))
				}
			}
			x = shared
		case now:
			x.Append(xmlstream.New(NSAffiliations, "version").AppendText(after.Version))
			x.Append(userItem(NSAffiliations, Occupant{User: u, Aff: aff}))
		default:
			x.Append(userItem(NSAffiliations, Occupant{User: u, Aff: AffNone}))
		}
		m.deliver(ctx, room, jid.JID{}, u, notification(id, room, u, x))
	}
}

// change computes the new list and the change list (§10.5 Step D).
func (m *Module) change(cur, items []Occupant, promote bool) ([]Occupant, []Occupant, error) {
	curAff := map[jid.JID]Aff{}
	hasOwner := false
	for _, o := range cur {
		curAff[o.User] = o.Aff
		hasOwner = hasOwner || o.Aff == AffOwner
	}
	seen := map[jid.JID]bool{}
	for _, it := range items {
		if seen[it.User] {
			return nil, nil, badRequest("Cannot change affiliation for the same user twice in the same request")
		}
		seen[it.User] = true
	}
	for _, it := range items {
		if curAff[it.User] == it.Aff {
			return nil, nil, badRequest("Meaningless change")
		}
	}
	next := map[jid.JID]Aff{}
	for u, a := range curAff {
		next[u] = a
	}
	promoted := map[jid.JID]bool{}
	for _, it := range items {
		if it.Aff == AffOwner {
			if !hasOwner {
				return nil, nil, badRequest("Ownerless room")
			}
			promoted[it.User] = true
		}
		if it.Aff == AffNone {
			delete(next, it.User)
		} else {
			next[it.User] = it.Aff
		}
	}
	changes := slices.Clone(items)
	if hasOwner {
		var owners []jid.JID
		for u, a := range next {
			if a == AffOwner {
				owners = append(owners, u)
			}
		}
		if !m.opts.AllowMultipleOwners && len(owners) > 1 {
			var old []jid.JID
			for _, u := range owners {
				if !promoted[u] {
					old = append(old, u)
				}
			}
			if len(owners) != 2 || len(old) != 1 {
				return nil, nil, badRequest("Failed to demote old owner")
			}
			next[old[0]] = AffMember
			changes = append(changes, Occupant{User: old[0], Aff: AffMember})
		}
		if len(owners) == 0 && len(next) > 0 {
			if !promote {
				return nil, nil, badRequest("Cannot remove the last owner")
			}
			changes = m.pickOwner(next, curAff, items, seen, changes)
		}
	}
	out := make([]Occupant, 0, len(next))
	for u, a := range next {
		out = append(out, Occupant{User: u, Aff: a})
	}
	sortOccupants(out)
	return out, changes, nil
}

// pickOwner promotes a new owner when none is left (§10.5 Step D.4).
func (m *Module) pickOwner(next, cur map[jid.JID]Aff, items []Occupant, touched map[jid.JID]bool, changes []Occupant) []Occupant {
	var untouched []jid.JID
	for u, a := range next {
		if a == AffMember && !touched[u] {
			untouched = append(untouched, u)
		}
	}
	if len(untouched) > 0 {
		slices.SortFunc(untouched, compareUsers)
		next[untouched[0]] = AffOwner
		return append(changes, Occupant{User: untouched[0], Aff: AffOwner})
	}
	for _, it := range items {
		if _, was := cur[it.User]; !was && it.Aff == AffMember {
			next[it.User] = AffOwner
			for i := range changes {
				if changes[i].User == it.User {
					changes[i].Aff = AffOwner
				}
			}
			return changes
		}
	}
	for _, it := range items {
		if cur[it.User] == AffOwner && it.Aff == AffMember {
			next[it.User] = AffOwner
			return slices.DeleteFunc(changes, func(c Occupant) bool { return c.User == it.User })
		}
	}
	return changes
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
			return ErrNotAllowed
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

// SendMessage sends a groupchat message with a body from sender to the
// room and returns its id.
func (m *Module) SendMessage(ctx context.Context, room, sender jid.JID, id, body string) (string, error) {
	id = m.id(id)
	return id, m.sendMessage(ctx, room, sender, id, []xmlstream.Node{xmlstream.New(stanza.NSClient, "body").AppendText(body)})
}

// sendMessage fans a message out to every occupant, sender included, with
// one stanza-id shared by every copy (§10.1).
func (m *Module) sendMessage(ctx context.Context, room, sender jid.JID, id string, children []xmlstream.Node) error {
	sender = sender.Bare()
	r, err := m.occupants(ctx, room, sender)
	if err != nil {
		return err
	}
	m.m.messages.Inc()
	from, err := r.JID.WithResource(sender.String())
	if err != nil {
		return badRequest("Uncategorized bad request")
	}
	base := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "id", id, "from", from.String())
	for _, c := range children {
		// XEP-0359 §3: a stanza-id claiming to be the room's is the
		// client's forgery; drop it.
		if el, ok := c.(*xmlstream.Element); ok && el.Space == NSStanzaID && el.Local == "stanza-id" && el.Attr("by") == r.JID.String() {
			continue
		}
		base.Append(c)
	}
	base.Append(xmlstream.New(NSStanzaID, "stanza-id", "by", r.JID.String(), "id", m.ids.next()))
	if m.hooks.LightMessageSent.Len() > 0 {
		m.hooks.LightMessageSent.Run(ctx, &hooks.LightMessage{Room: r.JID, Sender: sender, Stanza: base, Members: r.memberJIDs(), Version: r.Version})
	}
	for _, o := range r.Occupants {
		m.deliver(ctx, r.JID, sender, o.User, copyTo(base, o.User))
	}
	return nil
}

// Blocklist returns user's blocklist (§10.9).
func (m *Module) Blocklist(ctx context.Context, user jid.JID) ([]BlockItem, error) {
	if !m.opts.Blocking {
		return nil, ErrBlockingDisabled
	}
	return m.store.Blocklist(ctx, user.Bare())
}

// SetBlocklist stores deny items and deletes allow items of user's list.
func (m *Module) SetBlocklist(ctx context.Context, user jid.JID, items []BlockItem) error {
	if !m.opts.Blocking {
		return ErrBlockingDisabled
	}
	for _, it := range items {
		if it.Target.Local() == "" || it.Target.Domain() == "" {
			return badRequest("")
		}
	}
	return m.store.SetBlocklist(ctx, user.Bare(), items)
}

// userRemoved removes a deleted account from its rooms (§10.8, D11) and
// deletes its blocklist.
func (m *Module) userRemoved(ctx context.Context, ev *hooks.UserEvent) bool {
	user := ev.User.Bare()
	if err := m.store.RemoveBlocklist(ctx, user); err != nil {
		m.log.Error("muclight: blocklist removal", "user", user.String(), "err", err)
	}
	rooms, err := m.store.UserRooms(ctx, user)
	if err != nil {
		m.log.Error("muclight: rooms of removed user", "user", user.String(), "err", err)
		return false
	}
	id := m.ids.next()
	for _, r := range rooms {
		if err := m.applyAffs(ctx, r.JID, user, []Occupant{{User: user, Aff: AffNone}}, true, false, id); err != nil {
			m.log.Error("muclight: removing user from room", "user", user.String(), "room", r.JID.String(), "err", err)
		}
	}
	return false
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
