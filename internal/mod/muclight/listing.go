package muclight

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gander-xmpp/gander/internal/jid"
)

// RoomSummary is one room of a domain listing: its JID, stored
// configuration (schema field names) and number of occupants.
type RoomSummary struct {
	JID       jid.JID
	Config    map[string]string
	Occupants int
}

// RoomLister lists the rooms of a MUC Light domain; both stores implement
// it (it is separate from Store so that other Store implementations keep
// compiling).
type RoomLister interface {
	DomainRooms(ctx context.Context, domain string) ([]RoomSummary, error)
}

// DomainRooms implements RoomLister with two queries.
func (s *SQLStore) DomainRooms(ctx context.Context, domain string) ([]RoomSummary, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.id, r.luser, COUNT(o.room_id) FROM muc_light_rooms r
		LEFT JOIN muc_light_occupants o ON o.room_id = r.id WHERE r.lserver = ? GROUP BY r.id, r.luser`, domain)
	if err != nil {
		return nil, wrap("domain rooms", err)
	}
	byID := map[int64]*RoomSummary{}
	var ids []int64
	for rows.Next() {
		var id int64
		var local string
		var n int
		if err := rows.Scan(&id, &local, &n); err != nil {
			rows.Close()
			return nil, wrap("domain rooms", err)
		}
		j, err := jid.New(local, domain, "")
		if err != nil {
			continue
		}
		byID[id] = &RoomSummary{JID: j, Config: map[string]string{}, Occupants: n}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("domain rooms", err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT c.room_id, c.opt, c.val FROM muc_light_config c
		JOIN muc_light_rooms r ON r.id = c.room_id WHERE r.lserver = ?`, domain)
	if err != nil {
		return nil, wrap("domain rooms", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return nil, wrap("domain rooms", err)
		}
		if r := byID[id]; r != nil {
			r.Config[k] = v
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("domain rooms", err)
	}
	out := make([]RoomSummary, 0, len(ids))
	for _, id := range ids {
		out = append(out, *byID[id])
	}
	return out, nil
}

// DomainRooms implements RoomLister.
func (s *MemStore) DomainRooms(_ context.Context, domain string) ([]RoomSummary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RoomSummary
	for j, r := range s.rooms {
		if j.Domain() == domain {
			cfg := map[string]string{}
			for k, v := range r.Config {
				cfg[k] = v
			}
			out = append(out, RoomSummary{JID: j, Config: cfg, Occupants: len(r.Occupants)})
		}
	}
	return out, nil
}

// ListRooms returns a page of the rooms of a MUC Light domain (spec
// §15.4 listRooms): rooms with occupants whose localpart or roomname
// contains filter (case-insensitive; "" = all), ordered by localpart,
// after the localpart after (exclusive, "" = from the start), at most limit
// of them; total counts all matching rooms and more says whether rooms
// follow the page. Config in the summaries has every schema field.
func (m *Module) ListRooms(ctx context.Context, domain, filter, after string, limit int) (page []RoomSummary, total int, more bool, err error) {
	if !m.IsService(domain) {
		return nil, 0, false, ErrNoService
	}
	l, ok := m.store.(RoomLister)
	if !ok {
		return nil, 0, false, errors.New("muclight: the store cannot list rooms")
	}
	all, err := l.DomainRooms(ctx, domain)
	if err != nil {
		return nil, 0, false, err
	}
	filter = strings.ToLower(filter)
	var match []RoomSummary
	for _, r := range all {
		if r.Occupants == 0 {
			continue
		}
		r.Config = m.schema.fill(r.Config)
		name, _ := m.schema.byInternal(r.Config, "roomname")
		if filter != "" && !strings.Contains(strings.ToLower(r.JID.Local()), filter) && !strings.Contains(strings.ToLower(name), filter) {
			continue
		}
		match = append(match, r)
	}
	slices.SortFunc(match, func(a, b RoomSummary) int { return strings.Compare(a.JID.Local(), b.JID.Local()) })
	total = len(match)
	start := 0
	if after != "" {
		start, _ = slices.BinarySearchFunc(match, after, func(r RoomSummary, a string) int { return strings.Compare(r.JID.Local(), a) })
		if start < len(match) && match[start].JID.Local() == after {
			start++
		}
	}
	page = match[start:]
	if limit > 0 && len(page) > limit {
		page, more = page[:limit], true
	}
	return page, total, more, nil
}
