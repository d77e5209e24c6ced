package muclight

import (
	"context"
	"errors"
	"slices"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Affiliation changes, their notifications, and the removal of a deleted
// account from its rooms (docs/modules/mod_muc_light.md).

func userItem(ns string, o Occupant) *xmlstream.Element {
	return xmlstream.New(ns, "user", "affiliation", o.Aff.String()).AppendText(o.User.String())
}

func affChanges(os []Occupant) []hooks.AffiliationChange {
	out := make([]hooks.AffiliationChange, len(os))
	for i, o := range os {
		out[i] = hooks.AffiliationChange{User: o.User, Affiliation: o.Aff.String()}
	}
	return out
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
				return false, errCannotChangeAff
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
	// The occupants who stay get the change list, with the archive's
	// stanza-id when the room's archive keeps the change: the archived
	// copy has the version and the change list, the prev-version is
	// inserted first after archiving (§10.5 Step E, §12). A room that
	// the change emptied is gone, archive included.
	var shared *xmlstream.Element
	sid := ""
	if len(after.Occupants) > 0 {
		ax := xmlstream.New(NSAffiliations, "x")
		ax.Append(xmlstream.New(NSAffiliations, "version").AppendText(after.Version))
		for _, c := range changes {
			ax.Append(userItem(NSAffiliations, c))
		}
		arch := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "id", id, "from", room.String())
		sid = m.archive(ctx, room, jid.JID{}, arch.Append(ax, xmlstream.New(stanza.NSClient, "body")))
		shared = xmlstream.New(NSAffiliations, "x")
		shared.Append(xmlstream.New(NSAffiliations, "prev-version").AppendText(before.Version))
		shared.Append(ax.Children...)
	}
	for _, u := range users {
		x := xmlstream.New(NSAffiliations, "x")
		aff, now := is[u]
		switch {
		case was[u] && now:
			msg := notification(id, room, u, shared)
			if sid != "" {
				msg.Append(stanzaID(room, sid))
			}
			m.deliver(ctx, room, jid.JID{}, u, msg)
			continue
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
