package muclight

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/gander-xmpp/gander/internal/jid"
)

// MemStore is the in-memory store (backend = "mnesia", spec/muclight.md
// §5.3): nothing survives a restart, and each node of a cluster has its own
// rooms. It is safe for concurrent use; one mutex serialises every change.
type MemStore struct {
	mu    sync.Mutex
	rooms map[jid.JID]*Room
	user  map[jid.JID]map[jid.JID]bool // user -> rooms
	block map[jid.JID]map[BlockItem]bool
}

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore {
	return &MemStore{rooms: map[jid.JID]*Room{}, user: map[jid.JID]map[jid.JID]bool{}, block: map[jid.JID]map[BlockItem]bool{}}
}

func copyRoom(r *Room) *Room {
	return &Room{JID: r.JID, Version: r.Version, Config: maps.Clone(r.Config), Occupants: slices.Clone(r.Occupants)}
}

func (s *MemStore) index(r *Room, add bool) {
	for _, o := range r.Occupants {
		if add {
			if s.user[o.User] == nil {
				s.user[o.User] = map[jid.JID]bool{}
			}
			s.user[o.User][r.JID] = true
		} else {
			delete(s.user[o.User], r.JID)
			if len(s.user[o.User]) == 0 {
				delete(s.user, o.User)
			}
		}
	}
}

// Create implements Store.
func (s *MemStore) Create(_ context.Context, r *Room) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rooms[r.JID]; ok {
		return ErrRoomExists
	}
	c := copyRoom(r)
	sortOccupants(c.Occupants)
	s.rooms[r.JID] = c
	s.index(c, true)
	return nil
}

// Get implements Store.
func (s *MemStore) Get(_ context.Context, room jid.JID) (*Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[room]
	if !ok {
		return nil, ErrRoomNotFound
	}
	return copyRoom(r), nil
}

// Occupants implements Store.
func (s *MemStore) Occupants(_ context.Context, room jid.JID) (*Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[room]
	if !ok {
		return nil, ErrRoomNotFound
	}
	return &Room{JID: r.JID, Version: r.Version, Occupants: slices.Clone(r.Occupants)}, nil
}

// SetConfig implements Store.
func (s *MemStore) SetConfig(_ context.Context, room jid.JID, fields []KV, version string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[room]
	if !ok {
		return "", ErrRoomNotFound
	}
	prev := r.Version
	for _, kv := range fields {
		r.Config[kv.Key] = kv.Value
	}
	r.Version = version
	return prev, nil
}

// ChangeOccupants implements Store.
func (s *MemStore) ChangeOccupants(_ context.Context, room jid.JID, fn ChangeFunc) (*Room, *Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[room]
	if !ok {
		return nil, nil, ErrRoomNotFound
	}
	next, ver, err := fn(r.Version, slices.Clone(r.Occupants))
	if err != nil {
		return nil, nil, err
	}
	sortOccupants(next)
	before := &Room{JID: room, Version: r.Version, Occupants: r.Occupants}
	s.index(r, false)
	if len(next) == 0 {
		delete(s.rooms, room)
	} else {
		r.Occupants, r.Version = next, ver
		s.index(r, true)
	}
	return before, &Room{JID: room, Version: ver, Occupants: slices.Clone(next)}, nil
}

// Destroy implements Store.
func (s *MemStore) Destroy(_ context.Context, room jid.JID) (*Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[room]
	if !ok {
		return nil, ErrRoomNotFound
	}
	s.index(r, false)
	delete(s.rooms, room)
	return r, nil
}

// UserRooms implements Store.
func (s *MemStore) UserRooms(_ context.Context, user jid.JID) ([]*Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Room
	for rj := range s.user[user] {
		r := s.rooms[rj]
		out = append(out, &Room{JID: r.JID, Version: r.Version, Config: maps.Clone(r.Config)})
	}
	sortRooms(out)
	return out, nil
}

// CountUserRooms implements Store.
func (s *MemStore) CountUserRooms(_ context.Context, user jid.JID) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.user[user]), nil
}

// Blocklist implements Store.
func (s *MemStore) Blocklist(_ context.Context, user jid.JID) ([]BlockItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []BlockItem
	for it := range s.block[user] {
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b BlockItem) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		return compareStrings(a.Target.String(), b.Target.String())
	})
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SetBlocklist implements Store.
func (s *MemStore) SetBlocklist(_ context.Context, user jid.JID, items []BlockItem) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		key := BlockItem{Kind: it.Kind, Target: it.Target, Deny: true}
		if it.Deny {
			if s.block[user] == nil {
				s.block[user] = map[BlockItem]bool{}
			}
			s.block[user][key] = true
		} else {
			delete(s.block[user], key)
		}
	}
	return nil
}

// RemoveBlocklist implements Store.
func (s *MemStore) RemoveBlocklist(_ context.Context, user jid.JID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.block, user)
	return nil
}

// Counts implements Store.
func (s *MemStore) Counts(context.Context) (int, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.rooms {
		n += len(r.Occupants)
	}
	return len(s.rooms), n, nil
}

// RemoveDomain implements Store (D12: the in-memory store cleans up too).
func (s *MemStore) RemoveDomain(_ context.Context, service, domain string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for rj, r := range s.rooms {
		if rj.Domain() == service {
			s.index(r, false)
			delete(s.rooms, rj)
			continue
		}
		kept := r.Occupants[:0]
		for _, o := range r.Occupants {
			if o.User.Domain() != domain {
				kept = append(kept, o)
			}
		}
		s.index(r, false)
		r.Occupants = kept
		if len(kept) == 0 {
			delete(s.rooms, rj)
			continue
		}
		s.index(r, true)
	}
	for u := range s.block {
		if u.Domain() == domain {
			delete(s.block, u)
		}
	}
	return nil
}

// DomainRooms implements Store.
func (s *MemStore) DomainRooms(_ context.Context, service string) ([]RoomSummary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RoomSummary
	for rj, r := range s.rooms {
		if rj.Domain() == service {
			out = append(out, RoomSummary{Room: &Room{JID: rj, Version: r.Version, Config: maps.Clone(r.Config)}, Users: len(r.Occupants)})
		}
	}
	slices.SortFunc(out, func(a, b RoomSummary) int { return compareStrings(a.Room.JID.Local(), b.Room.JID.Local()) })
	return out, nil
}
