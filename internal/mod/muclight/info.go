package muclight

import (
	"context"
	"slices"
	"strings"

	"github.com/gander-xmpp/gander/internal/jid"
)

// RoomInfo is a room as administrators see it (the GraphQL muc_light
// category, docs/api.md): its configuration by the fields' internal keys.
type RoomInfo struct {
	JID jid.JID
	// Name and Subject are the roomname and subject fields, nil when the
	// configuration schema lacks them.
	Name, Subject *string
	// Config holds every schema field by internal key, sorted by key.
	Config []KV
	// Occupants are sorted by user.
	Occupants []Occupant
}

// RoomInfo returns room with its full configuration and occupants. A
// non-zero requester must be an occupant (ErrNotOccupant); a zero one is
// an administrator.
func (m *Module) RoomInfo(ctx context.Context, room, requester jid.JID) (*RoomInfo, error) {
	r, err := m.GetRoom(ctx, room, requester)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]string, len(m.schema.fields))
	for _, f := range m.schema.fields {
		v, ok := r.Config[f.Name]
		if !ok {
			v = f.Default
		}
		byKey[f.Key] = v // a later field of the same internal key wins, as in byInternal
	}
	info := &RoomInfo{JID: r.JID, Occupants: r.Occupants, Config: make([]KV, 0, len(byKey))}
	for k, v := range byKey {
		info.Config = append(info.Config, KV{Key: k, Value: v})
	}
	slices.SortFunc(info.Config, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
	if v, ok := m.schema.byInternal(r.Config, "roomname"); ok {
		info.Name = &v
	}
	if v, ok := m.schema.byInternal(r.Config, "subject"); ok {
		info.Subject = &v
	}
	return info, nil
}
