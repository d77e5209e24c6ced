package muclight

import (
	"context"
	"errors"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
)

// The occupant-list read path: through the cache_affs cache (cache.go) when
// it is configured, refreshed in the background near expiry.

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
		ctx, cancel := context.WithTimeout(m.bg, refreshTimeout)
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
