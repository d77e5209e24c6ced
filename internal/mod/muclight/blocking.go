package muclight

import (
	"context"

	"github.com/gander-xmpp/gander/internal/jid"
)

// Blocking lists and the addition filter they feed
// (docs/modules/mod_muc_light.md).

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
