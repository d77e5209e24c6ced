package muclight

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/jid"
)

// ChangeFunc computes a room's new occupant list and version from the
// current ones, inside the storage transaction. It must be pure (no I/O):
// it may run while other writers wait. Returning an error aborts the change.
type ChangeFunc func(version string, occupants []Occupant) (next []Occupant, version2 string, err error)

// Store is the storage the module needs (spec/muclight.md §5). Rooms and
// users are bare JIDs; occupant lists are returned sorted by user. Every
// method is safe for concurrent use; changes to one room are serialised.
type Store interface {
	// Create stores a new room, or returns ErrRoomExists.
	Create(ctx context.Context, r *Room) error
	// Get returns a room (config as stored, possibly missing fields added
	// to the schema later) or ErrRoomNotFound.
	Get(ctx context.Context, room jid.JID) (*Room, error)
	// Occupants returns a room's version and occupants (no config), or
	// ErrRoomNotFound; the hot path of every room message.
	Occupants(ctx context.Context, room jid.JID) (*Room, error)
	// SetConfig upserts the fields and sets version; it returns the
	// previous version.
	SetConfig(ctx context.Context, room jid.JID, fields []KV, version string) (string, error)
	// ChangeOccupants applies fn to the room's list in one transaction; an
	// empty result list deletes the room. It returns the list and version
	// before and after.
	ChangeOccupants(ctx context.Context, room jid.JID, fn ChangeFunc) (before, after *Room, err error)
	// Destroy deletes the room and returns it as it was.
	Destroy(ctx context.Context, room jid.JID) (*Room, error)
	// UserRooms returns the rooms user occupies (without occupants),
	// sorted by (room localpart, room domain).
	UserRooms(ctx context.Context, user jid.JID) ([]*Room, error)
	// CountUserRooms returns the number of rooms user occupies.
	CountUserRooms(ctx context.Context, user jid.JID) (int, error)
	// Blocklist returns the user's deny items.
	Blocklist(ctx context.Context, user jid.JID) ([]BlockItem, error)
	// SetBlocklist stores deny items and deletes allow items.
	SetBlocklist(ctx context.Context, user jid.JID, items []BlockItem) error
	// RemoveBlocklist deletes the user's blocklist.
	RemoveBlocklist(ctx context.Context, user jid.JID) error
	// Counts returns the number of rooms and of occupant entries.
	Counts(ctx context.Context) (rooms, occupants int, err error)
	// DomainRooms returns every room of a MUC Light domain with its
	// config and its number of occupants (Occupants left nil), sorted by
	// localpart.
	DomainRooms(ctx context.Context, service string) ([]RoomSummary, error)
	// RemoveDomain deletes the rooms of MUC Light domain service, and the
	// occupant entries and blocklists of users of domain; rooms left
	// without occupants are deleted too (§10.8).
	RemoveDomain(ctx context.Context, service, domain string) error
}

// RoomSummary is a room with its number of occupants.
type RoomSummary struct {
	Room  *Room
	Users int
}

// SQLStore keeps rooms in the muc_light_* tables of SQLite or PostgreSQL.
// It is safe for concurrent use.
type SQLStore struct {
	db *db.DB
}

// NewSQLStore returns a store over a migrated database.
func NewSQLStore(d *db.DB) *SQLStore { return &SQLStore{db: d} }

func isUniqueViolation(err error) bool {
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint") || strings.Contains(s, "23505") || strings.Contains(s, "duplicate key")
}

// Create implements Store.
func (s *SQLStore) Create(ctx context.Context, r *Room) error {
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, "INSERT INTO muc_light_rooms (luser, lserver, version) VALUES (?, ?, ?) RETURNING id",
			r.JID.Local(), r.JID.Domain(), r.Version).Scan(&id)
		if err != nil {
			if isUniqueViolation(err) {
				return ErrRoomExists
			}
			return err
		}
		for _, o := range r.Occupants {
			if _, err := tx.ExecContext(ctx, "INSERT INTO muc_light_occupants (room_id, luser, lserver, aff) VALUES (?, ?, ?, ?)",
				id, o.User.Local(), o.User.Domain(), int(o.Aff)); err != nil {
				return err
			}
		}
		for k, v := range r.Config {
			if _, err := tx.ExecContext(ctx, "INSERT INTO muc_light_config (room_id, opt, val) VALUES (?, ?, ?)", id, k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrRoomExists) {
		return fmt.Errorf("muclight: create: %w", err)
	}
	return err
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func loadOccupants(ctx context.Context, q querier, id int64) ([]Occupant, error) {
	rows, err := q.QueryContext(ctx, "SELECT luser, lserver, aff FROM muc_light_occupants WHERE room_id = ?", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Occupant
	for rows.Next() {
		var u, d string
		var aff int
		if err := rows.Scan(&u, &d, &aff); err != nil {
			return nil, err
		}
		j, err := jid.New(u, d, "")
		if err != nil {
			continue
		}
		out = append(out, Occupant{User: j, Aff: Aff(aff)})
	}
	sortOccupants(out)
	return out, rows.Err()
}

func sortOccupants(o []Occupant) {
	slices.SortFunc(o, func(a, b Occupant) int { return compareUsers(a.User, b.User) })
}

func loadConfig(ctx context.Context, q querier, id int64) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT opt, val FROM muc_light_config WHERE room_id = ?", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

func roomID(ctx context.Context, q querier, room jid.JID) (int64, string, error) {
	var id int64
	var ver string
	err := q.QueryRowContext(ctx, "SELECT id, version FROM muc_light_rooms WHERE lserver = ? AND luser = ?",
		room.Domain(), room.Local()).Scan(&id, &ver)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", ErrRoomNotFound
	}
	return id, ver, err
}

// lock takes the room's row lock for the rest of the transaction (a no-op
// update, portable between SQLite and PostgreSQL) so that concurrent
// changes of one room are serialised.
func lock(ctx context.Context, tx *db.Tx, room jid.JID) error {
	n, err := db.RowsAffected(tx.ExecContext(ctx, "UPDATE muc_light_rooms SET version = version WHERE lserver = ? AND luser = ?",
		room.Domain(), room.Local()))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrRoomNotFound
	}
	return nil
}

func wrap(op string, err error) error {
	if err == nil || errors.Is(err, ErrRoomNotFound) || errors.Is(err, ErrRoomExists) {
		return err
	}
	var br *BadRequestError
	var ve *ValidationError
	if errors.As(err, &br) || errors.As(err, &ve) || errors.Is(err, ErrMaxOccupants) {
		return err
	}
	return fmt.Errorf("muclight: %s: %w", op, err)
}

// Get implements Store. The three reads run in one transaction, so they
// see one consistent snapshot (§5.2).
func (s *SQLStore) Get(ctx context.Context, room jid.JID) (*Room, error) {
	var r *Room
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		r, err = getTx(ctx, tx, room)
		return err
	})
	return r, wrap("get", err)
}

func getTx(ctx context.Context, tx querier, room jid.JID) (*Room, error) {
	id, ver, err := roomID(ctx, tx, room)
	if err != nil {
		return nil, err
	}
	r := &Room{JID: room, Version: ver}
	if r.Occupants, err = loadOccupants(ctx, tx, id); err != nil {
		return nil, err
	}
	if r.Config, err = loadConfig(ctx, tx, id); err != nil {
		return nil, err
	}
	return r, nil
}

// Occupants implements Store with one query, outside any transaction.
func (s *SQLStore) Occupants(ctx context.Context, room jid.JID) (*Room, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.version, o.luser, o.lserver, o.aff FROM muc_light_rooms r
		LEFT JOIN muc_light_occupants o ON o.room_id = r.id WHERE r.lserver = ? AND r.luser = ?`, room.Domain(), room.Local())
	if err != nil {
		return nil, wrap("occupants", err)
	}
	defer rows.Close()
	var r *Room
	for rows.Next() {
		var ver string
		var u, d sql.NullString
		var aff sql.NullInt64
		if err := rows.Scan(&ver, &u, &d, &aff); err != nil {
			return nil, wrap("occupants", err)
		}
		if r == nil {
			r = &Room{JID: room, Version: ver}
		}
		if !u.Valid {
			continue
		}
		if j, err := jid.New(u.String, d.String, ""); err == nil {
			r.Occupants = append(r.Occupants, Occupant{User: j, Aff: Aff(aff.Int64)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("occupants", err)
	}
	if r == nil {
		return nil, ErrRoomNotFound
	}
	sortOccupants(r.Occupants)
	return r, nil
}

// SetConfig implements Store; every field is an upsert (D8).
func (s *SQLStore) SetConfig(ctx context.Context, room jid.JID, fields []KV, version string) (string, error) {
	var prev string
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := lock(ctx, tx, room); err != nil {
			return err
		}
		id, ver, err := roomID(ctx, tx, room)
		if err != nil {
			return err
		}
		prev = ver
		for _, kv := range fields {
			if _, err := tx.ExecContext(ctx, `INSERT INTO muc_light_config (room_id, opt, val) VALUES (?, ?, ?)
				ON CONFLICT (room_id, opt) DO UPDATE SET val = excluded.val`, id, kv.Key, kv.Value); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE muc_light_rooms SET version = ? WHERE id = ?", version, id)
		return err
	})
	return prev, wrap("set config", err)
}

// ChangeOccupants implements Store.
func (s *SQLStore) ChangeOccupants(ctx context.Context, room jid.JID, fn ChangeFunc) (before, after *Room, err error) {
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := lock(ctx, tx, room); err != nil {
			return err
		}
		id, ver, err := roomID(ctx, tx, room)
		if err != nil {
			return err
		}
		cur, err := loadOccupants(ctx, tx, id)
		if err != nil {
			return err
		}
		next, ver2, err := fn(ver, slices.Clone(cur))
		if err != nil {
			return err
		}
		sortOccupants(next)
		before = &Room{JID: room, Version: ver, Occupants: cur}
		after = &Room{JID: room, Version: ver2, Occupants: next}
		if len(next) == 0 {
			_, err := tx.ExecContext(ctx, "DELETE FROM muc_light_rooms WHERE id = ?", id)
			return err
		}
		old := map[jid.JID]Aff{}
		for _, o := range cur {
			old[o.User] = o.Aff
		}
		for _, o := range next {
			a, ok := old[o.User]
			delete(old, o.User)
			switch {
			case !ok:
				_, err = tx.ExecContext(ctx, "INSERT INTO muc_light_occupants (room_id, luser, lserver, aff) VALUES (?, ?, ?, ?)",
					id, o.User.Local(), o.User.Domain(), int(o.Aff))
			case a != o.Aff:
				_, err = tx.ExecContext(ctx, "UPDATE muc_light_occupants SET aff = ? WHERE room_id = ? AND lserver = ? AND luser = ?",
					int(o.Aff), id, o.User.Domain(), o.User.Local())
			}
			if err != nil {
				return err
			}
		}
		for u := range old {
			if _, err := tx.ExecContext(ctx, "DELETE FROM muc_light_occupants WHERE room_id = ? AND lserver = ? AND luser = ?",
				id, u.Domain(), u.Local()); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE muc_light_rooms SET version = ? WHERE id = ?", ver2, id)
		return err
	})
	if err != nil {
		return nil, nil, wrap("change occupants", err)
	}
	return before, after, nil
}

// Destroy implements Store.
func (s *SQLStore) Destroy(ctx context.Context, room jid.JID) (*Room, error) {
	var r *Room
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := lock(ctx, tx, room); err != nil {
			return err
		}
		var err error
		if r, err = getTx(ctx, tx, room); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM muc_light_rooms WHERE lserver = ? AND luser = ?", room.Domain(), room.Local())
		return err
	})
	return r, wrap("destroy", err)
}

// UserRooms implements Store.
func (s *SQLStore) UserRooms(ctx context.Context, user jid.JID) ([]*Room, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.id, r.luser, r.lserver, r.version FROM muc_light_occupants o
		JOIN muc_light_rooms r ON r.id = o.room_id WHERE o.lserver = ? AND o.luser = ?`, user.Domain(), user.Local())
	if err != nil {
		return nil, wrap("user rooms", err)
	}
	var out []*Room
	var ids []int64
	for rows.Next() {
		var id int64
		var l, d, v string
		if err := rows.Scan(&id, &l, &d, &v); err != nil {
			rows.Close()
			return nil, wrap("user rooms", err)
		}
		j, err := jid.New(l, d, "")
		if err != nil {
			continue
		}
		out = append(out, &Room{JID: j, Version: v})
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("user rooms", err)
	}
	for i, r := range out {
		if r.Config, err = loadConfig(ctx, s.db, ids[i]); err != nil {
			return nil, wrap("user rooms", err)
		}
	}
	sortRooms(out)
	return out, nil
}

func sortRooms(rs []*Room) {
	slices.SortFunc(rs, func(a, b *Room) int { return compareUsers(a.JID, b.JID) })
}

// CountUserRooms implements Store, from the (lserver, luser) index.
func (s *SQLStore) CountUserRooms(ctx context.Context, user jid.JID) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM muc_light_occupants WHERE lserver = ? AND luser = ?",
		user.Domain(), user.Local()).Scan(&n)
	return n, wrap("count rooms", err)
}

// Blocklist implements Store.
func (s *SQLStore) Blocklist(ctx context.Context, user jid.JID) ([]BlockItem, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT what, who FROM muc_light_blocking WHERE lserver = ? AND luser = ? ORDER BY what, who",
		user.Domain(), user.Local())
	if err != nil {
		return nil, wrap("blocklist", err)
	}
	defer rows.Close()
	var out []BlockItem
	for rows.Next() {
		var k int
		var who string
		if err := rows.Scan(&k, &who); err != nil {
			return nil, wrap("blocklist", err)
		}
		t, err := jid.Parse(who)
		if err != nil {
			continue
		}
		out = append(out, BlockItem{Kind: BlockKind(k), Target: t, Deny: true})
	}
	return out, wrap("blocklist", rows.Err())
}

// SetBlocklist implements Store; a repeated deny is stored once (D9).
func (s *SQLStore) SetBlocklist(ctx context.Context, user jid.JID, items []BlockItem) error {
	return wrap("set blocklist", s.db.InTx(ctx, func(tx *db.Tx) error {
		for _, it := range items {
			var err error
			if it.Deny {
				_, err = tx.ExecContext(ctx, `INSERT INTO muc_light_blocking (luser, lserver, what, who) VALUES (?, ?, ?, ?)
					ON CONFLICT DO NOTHING`, user.Local(), user.Domain(), int(it.Kind), it.Target.String())
			} else {
				_, err = tx.ExecContext(ctx, "DELETE FROM muc_light_blocking WHERE lserver = ? AND luser = ? AND what = ? AND who = ?",
					user.Domain(), user.Local(), int(it.Kind), it.Target.String())
			}
			if err != nil {
				return err
			}
		}
		return nil
	}))
}

// RemoveBlocklist implements Store.
func (s *SQLStore) RemoveBlocklist(ctx context.Context, user jid.JID) error {
	_, err := s.db.ExecContext(ctx, "DELETE FROM muc_light_blocking WHERE lserver = ? AND luser = ?", user.Domain(), user.Local())
	return wrap("remove blocklist", err)
}

// Counts implements Store.
func (s *SQLStore) Counts(ctx context.Context) (int, int, error) {
	var r, o int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM muc_light_rooms").Scan(&r); err != nil {
		return 0, 0, wrap("counts", err)
	}
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM muc_light_occupants").Scan(&o); err != nil {
		return 0, 0, wrap("counts", err)
	}
	return r, o, nil
}

// RemoveDomain implements Store in one transaction.
func (s *SQLStore) RemoveDomain(ctx context.Context, service, domain string) error {
	return wrap("remove domain", s.db.InTx(ctx, func(tx *db.Tx) error {
		for _, q := range []struct {
			sql string
			arg string
		}{
			{"DELETE FROM muc_light_rooms WHERE lserver = ?", service},
			{"DELETE FROM muc_light_occupants WHERE lserver = ?", domain},
			{"DELETE FROM muc_light_blocking WHERE lserver = ?", domain},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.arg); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM muc_light_rooms WHERE NOT EXISTS
			(SELECT 1 FROM muc_light_occupants o WHERE o.room_id = muc_light_rooms.id)`)
		return err
	}))
}

// DomainRooms implements Store with two queries.
func (s *SQLStore) DomainRooms(ctx context.Context, service string) ([]RoomSummary, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.luser, r.version, c.opt, c.val FROM muc_light_rooms r
		LEFT JOIN muc_light_config c ON c.room_id = r.id WHERE r.lserver = ?`, service)
	if err != nil {
		return nil, wrap("domain rooms", err)
	}
	byLocal := map[string]*Room{}
	for rows.Next() {
		var l, v string
		var k, val sql.NullString
		if err := rows.Scan(&l, &v, &k, &val); err != nil {
			rows.Close()
			return nil, wrap("domain rooms", err)
		}
		r := byLocal[l]
		if r == nil {
			j, err := jid.New(l, service, "")
			if err != nil {
				continue
			}
			r = &Room{JID: j, Version: v, Config: map[string]string{}}
			byLocal[l] = r
		}
		if k.Valid {
			r.Config[k.String] = val.String
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("domain rooms", err)
	}
	counts := map[string]int{}
	rows, err = s.db.QueryContext(ctx, `SELECT r.luser, COUNT(o.room_id) FROM muc_light_rooms r
		LEFT JOIN muc_light_occupants o ON o.room_id = r.id WHERE r.lserver = ? GROUP BY r.luser`, service)
	if err != nil {
		return nil, wrap("domain rooms", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		var n int
		if err := rows.Scan(&l, &n); err != nil {
			return nil, wrap("domain rooms", err)
		}
		counts[l] = n
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("domain rooms", err)
	}
	out := make([]RoomSummary, 0, len(byLocal))
	for l, r := range byLocal {
		out = append(out, RoomSummary{Room: r, Users: counts[l]})
	}
	slices.SortFunc(out, func(a, b RoomSummary) int { return strings.Compare(a.Room.JID.Local(), b.Room.JID.Local()) })
	return out, nil
}
