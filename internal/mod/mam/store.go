package mam

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gander-xmpp/gander/internal/db"
)

// Kind says which archive table a row lives in.
type Kind uint8

// Archive kinds.
const (
	// KindPM is a user's archive of one-to-one messages (mam_message).
	KindPM Kind = iota
	// KindMuc is a room's archive (mam_muc_message).
	KindMuc
)

// String is the kind's metric name part: "pm" or "muc".
func (k Kind) String() string {
	if k == KindMuc {
		return "muc"
	}
	return "pm"
}

// Row is one archived message.
type Row struct {
	// ID is the archive id (ids.go).
	ID int64
	// Remote is the peer's bare JID in a user's archive; the author's real
	// bare JID in a room's archive ("" for room events).
	Remote string
	// Resource is the peer's resource in a user's archive; the author's
	// nick in a room's archive.
	Resource string
	// Out is true for a message the owner sent (user archives).
	Out bool
	// From is the source JID: the sender's full JID, room/nick in rooms.
	From string
	// OriginID is the message's <origin-id/> (XEP-0359), "" for none.
	OriginID string
	// Groupchat marks a groupchat copy kept by pm.archive_groupchats.
	Groupchat bool
	// Message is the stanza's XML text as archived.
	Message string
	// Search is the text full-text search matches (searchText).
	Search string
}

// Item is a row queued for one archive.
type Item struct {
	Owner int64
	Row   Row
}

// Filter selects rows of one archive; the fields combine (AND). Id
// bounds are archive ids; 0 means no bound.
type Filter struct {
	// With is a bare JID: the peer (user archives) or the author (rooms).
	With string
	// Resource, with With, is the peer's resource (user archives) or, in
	// room archives, the author's nick (With is then the room's JID and
	// does not restrict).
	Resource string
	// Min and Max are inclusive bounds, After and Before exclusive ones.
	Min, Max      int64
	After, Before int64
	// IDs, when not nil, keeps only these ids.
	IDs []int64
	// Words must all occur in the search text.
	Words []string
	// NoGroupchat leaves out groupchat copies.
	NoGroupchat bool
}

// Retraction names the row a retraction tombstones (docs/modules/mod_mam.md,
// "Retraction"): the newest row of the archive with the remote JID and
// direction (rooms: the author) and the origin id, or the row with the
// archive id.
type Retraction struct {
	Remote   string
	Out      bool
	OriginID string
	ID       int64
}

// Prefs are an archive's preferences (XEP-0441): the default ("always",
// "never" or "roster") and the JIDs always and never archived.
type Prefs struct {
	Default string
	Always  []string
	Never   []string
}

// Store is the archive's storage (SQLStore implements it). It is safe for
// concurrent use.
type Store interface {
	// OwnerID returns the numeric id of the archive of server/user (a user
	// or a room), creating it when create is set; 0 when there is none.
	OwnerID(ctx context.Context, server, user string, create bool) (int64, error)
	// Insert writes rows, in as few statements as it can; a row already
	// stored (same owner and id) is skipped, so that a retry is harmless.
	Insert(ctx context.Context, kind Kind, items []Item) error
	// Select returns up to limit rows of the filter, skipping offset,
	// in ascending id order or, with desc, descending.
	Select(ctx context.Context, kind Kind, owner int64, f Filter, desc bool, limit, offset int) ([]Row, error)
	// Count counts the rows of the filter.
	Count(ctx context.Context, kind Kind, owner int64, f Filter) (int, error)
	// Bounds returns the smallest and the largest id of an archive, 0 and
	// 0 when it is empty.
	Bounds(ctx context.Context, kind Kind, owner int64) (first, last int64, err error)
	// Retract rewrites the message of the row r names with tombstone(old
	// message) and empties its search text; it reports whether there was
	// such a row.
	Retract(ctx context.Context, kind Kind, owner int64, r Retraction, tombstone func(old string) string) (bool, error)
	// RemoveArchive deletes an archive: its rows, preferences and id.
	RemoveArchive(ctx context.Context, kind Kind, owner int64) error
	// RemoveDomain deletes the archives of the owners of the given
	// servers (a domain and its room services), at most limit rows per
	// statement (0: no limit).
	RemoveDomain(ctx context.Context, servers []string, limit int) error
	// Prefs returns an archive's stored preferences; ok is false when none
	// are stored.
	Prefs(ctx context.Context, owner int64) (p Prefs, ok bool, err error)
	// SetPrefs replaces an archive's preferences.
	SetPrefs(ctx context.Context, owner int64, p Prefs) error
}

// SQLStore keeps the archives in SQLite or PostgreSQL (migration
// 00013_mam.sql).
type SQLStore struct {
	db *db.DB
}

// NewSQLStore returns a store over the migrated database d.
func NewSQLStore(d *db.DB) *SQLStore { return &SQLStore{db: d} }

// table names a kind's table and its owner column.
func table(k Kind) (name, owner string) {
	if k == KindMuc {
		return "mam_muc_message", "room_id"
	}
	return "mam_message", "user_id"
}

// OwnerID implements Store.
func (s *SQLStore) OwnerID(ctx context.Context, server, user string, create bool) (int64, error) {
	const q = "SELECT id FROM mam_server_user WHERE server = ? AND user_name = ?"
	var id int64
	err := s.db.QueryRowContext(ctx, q, server, user).Scan(&id)
	switch {
	case err == nil:
		return id, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("mam: owner id: %w", err)
	case !create:
		return 0, nil
	}
	if _, err := s.db.ExecContext(ctx, "INSERT INTO mam_server_user (server, user_name) VALUES (?, ?) ON CONFLICT DO NOTHING", server, user); err != nil {
		return 0, fmt.Errorf("mam: owner id: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, q, server, user).Scan(&id); err != nil {
		return 0, fmt.Errorf("mam: owner id: %w", err)
	}
	return id, nil
}

// maxInsertRows caps the rows of one INSERT (SQLite allows 32766
// parameters; a pm row has 10).
const maxInsertRows = 500

// Insert implements Store: one multi-row INSERT per maxInsertRows rows,
// in one transaction when there are more.
func (s *SQLStore) Insert(ctx context.Context, kind Kind, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	if len(items) <= maxInsertRows {
		_, err := s.db.ExecContext(ctx, insertSQL(kind, len(items)), insertArgs(kind, items)...)
		return wrap("insert", err)
	}
	return wrap("insert", s.db.InTx(ctx, func(tx *db.Tx) error {
		for len(items) > 0 {
			n := min(len(items), maxInsertRows)
			if _, err := tx.ExecContext(ctx, insertSQL(kind, n), insertArgs(kind, items[:n])...); err != nil {
				return err
			}
			items = items[n:]
		}
		return nil
	}))
}

func insertSQL(kind Kind, n int) string {
	var b strings.Builder
	var row string
	if kind == KindMuc {
		b.WriteString("INSERT INTO mam_muc_message (room_id, id, sender, nick_name, origin_id, message, search_body) VALUES ")
		row = "(?, ?, ?, ?, ?, ?, ?)"
	} else {
		b.WriteString("INSERT INTO mam_message (user_id, id, remote_bare_jid, remote_resource, direction, from_jid, origin_id, is_groupchat, message, search_body) VALUES ")
		row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	}
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ON CONFLICT DO NOTHING")
	return b.String()
}

func insertArgs(kind Kind, items []Item) []any {
	args := make([]any, 0, len(items)*10)
	for _, it := range items {
		r := it.Row
		var origin any
		if r.OriginID != "" {
			origin = r.OriginID
		}
		if kind == KindMuc {
			args = append(args, it.Owner, r.ID, r.Remote, r.Resource, origin, r.Message, r.Search)
			continue
		}
		dir := "I"
		if r.Out {
			dir = "O"
		}
		args = append(args, it.Owner, r.ID, r.Remote, r.Resource, dir, r.From, origin, r.Groupchat, r.Message, r.Search)
	}
	return args
}

// where renders the filter's conditions on owner's rows.
func where(kind Kind, owner int64, f Filter) (string, []any) {
	_, oc := table(kind)
	var b strings.Builder
	args := []any{owner}
	b.WriteString(" WHERE " + oc + " = ?")
	add := func(cond string, v any) {
		b.WriteString(" AND " + cond)
		args = append(args, v)
	}
	switch {
	case kind == KindPM && f.With != "":
		add("remote_bare_jid = ?", f.With)
		if f.Resource != "" {
			add("remote_resource = ?", f.Resource)
		}
	case kind == KindMuc && f.Resource != "":
		add("nick_name = ?", f.Resource)
	case kind == KindMuc && f.With != "":
		add("sender = ?", f.With)
	}
	if f.Min != 0 {
		add("id >= ?", f.Min)
	}
	if f.Max != 0 {
		add("id <= ?", f.Max)
	}
	if f.After != 0 {
		add("id > ?", f.After)
	}
	if f.Before != 0 {
		add("id < ?", f.Before)
	}
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			b.WriteString(" AND 1 = 0")
		} else {
			b.WriteString(" AND id IN (?" + strings.Repeat(", ?", len(f.IDs)-1) + ")")
			for _, id := range f.IDs {
				args = append(args, id)
			}
		}
	}
	for _, w := range f.Words {
		// Words are letters and digits only (words()): nothing to escape.
		add("search_body LIKE ?", "%"+w+"%")
	}
	if f.NoGroupchat && kind == KindPM {
		add("is_groupchat = ?", false)
	}
	return b.String(), args
}

// selectSQL is Select's statement.
func selectSQL(kind Kind, owner int64, f Filter, desc bool, limit, offset int) (string, []any) {
	t, _ := table(kind)
	cond, args := where(kind, owner, f)
	cols := "id, remote_bare_jid, remote_resource, direction, from_jid, origin_id, is_groupchat, message"
	if kind == KindMuc {
		cols = "id, sender, nick_name, origin_id, message"
	}
	q := "SELECT " + cols + " FROM " + t + cond + " ORDER BY id"
	if desc {
		q += " DESC"
	}
	q += " LIMIT ?"
	args = append(args, limit)
	if offset > 0 {
		q += " OFFSET ?"
		args = append(args, offset)
	}
	return q, args
}

// countSQL is Count's statement.
func countSQL(kind Kind, owner int64, f Filter) (string, []any) {
	t, _ := table(kind)
	cond, args := where(kind, owner, f)
	return "SELECT COUNT(*) FROM " + t + cond, args
}

// Select implements Store.
func (s *SQLStore) Select(ctx context.Context, kind Kind, owner int64, f Filter, desc bool, limit, offset int) ([]Row, error) {
	q, args := selectSQL(kind, owner, f, desc, limit, offset)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("select", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var origin sql.NullString
		if kind == KindMuc {
			err = rows.Scan(&r.ID, &r.Remote, &r.Resource, &origin, &r.Message)
		} else {
			var dir string
			err = rows.Scan(&r.ID, &r.Remote, &r.Resource, &dir, &r.From, &origin, &r.Groupchat, &r.Message)
			r.Out = dir == "O"
		}
		if err != nil {
			return nil, wrap("select", err)
		}
		r.OriginID = origin.String
		out = append(out, r)
	}
	return out, wrap("select", rows.Err())
}

// Count implements Store.
func (s *SQLStore) Count(ctx context.Context, kind Kind, owner int64, f Filter) (int, error) {
	q, args := countSQL(kind, owner, f)
	var n int
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, wrap("count", err)
}

// Bounds implements Store.
func (s *SQLStore) Bounds(ctx context.Context, kind Kind, owner int64) (int64, int64, error) {
	t, oc := table(kind)
	var first, last sql.NullInt64
	err := s.db.QueryRowContext(ctx, "SELECT MIN(id), MAX(id) FROM "+t+" WHERE "+oc+" = ?", owner).Scan(&first, &last)
	return first.Int64, last.Int64, wrap("bounds", err)
}

// Retract implements Store, in one transaction.
func (s *SQLStore) Retract(ctx context.Context, kind Kind, owner int64, r Retraction, tombstone func(string) string) (bool, error) {
	t, oc := table(kind)
	var q string
	args := []any{owner}
	switch {
	case kind == KindMuc:
		q = "SELECT id, message FROM mam_muc_message WHERE room_id = ? AND sender = ?"
		args = append(args, r.Remote)
	default:
		q = "SELECT id, message FROM mam_message WHERE user_id = ? AND remote_bare_jid = ? AND direction = ?"
		dir := "I"
		if r.Out {
			dir = "O"
		}
		args = append(args, r.Remote, dir)
	}
	if r.ID != 0 {
		q += " AND id = ?"
		args = append(args, r.ID)
	} else {
		q += " AND origin_id = ? ORDER BY id DESC LIMIT 1"
		args = append(args, r.OriginID)
	}
	found := false
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var id int64
		var msg string
		err := tx.QueryRowContext(ctx, q, args...).Scan(&id, &msg)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		_, err = tx.ExecContext(ctx, "UPDATE "+t+" SET message = ?, search_body = '' WHERE "+oc+" = ? AND id = ?", tombstone(msg), owner, id)
		return err
	})
	return found, wrap("retract", err)
}

// RemoveArchive implements Store, in one transaction.
func (s *SQLStore) RemoveArchive(ctx context.Context, kind Kind, owner int64) error {
	t, oc := table(kind)
	return wrap("remove archive", s.db.InTx(ctx, func(tx *db.Tx) error {
		for _, q := range []string{"DELETE FROM " + t + " WHERE " + oc + " = ?", "DELETE FROM mam_config WHERE user_id = ?",
			"DELETE FROM mam_server_user WHERE id = ?"} {
			if _, err := tx.ExecContext(ctx, q, owner); err != nil {
				return err
			}
		}
		return nil
	}))
}

// RemoveDomain implements Store: the rows first, limit at a time, then
// the preferences and the owners.
func (s *SQLStore) RemoveDomain(ctx context.Context, servers []string, limit int) error {
	if len(servers) == 0 {
		return nil
	}
	in := "(?" + strings.Repeat(", ?", len(servers)-1) + ")"
	owners := "SELECT id FROM mam_server_user WHERE server IN " + in
	args := make([]any, len(servers))
	for i, sv := range servers {
		args[i] = sv
	}
	for _, k := range []Kind{KindPM, KindMuc} {
		t, oc := table(k)
		if limit <= 0 {
			if _, err := s.db.ExecContext(ctx, "DELETE FROM "+t+" WHERE "+oc+" IN ("+owners+")", args...); err != nil {
				return wrap("remove domain", err)
			}
			continue
		}
		q := "DELETE FROM " + t + " WHERE (" + oc + ", id) IN (SELECT " + oc + ", id FROM " + t + " WHERE " + oc + " IN (" + owners + ") LIMIT ?)"
		for {
			n, err := db.RowsAffected(s.db.ExecContext(ctx, q, append(args, limit)...))
			if err != nil {
				return wrap("remove domain", err)
			}
			if n < int64(limit) {
				break
			}
		}
	}
	for _, q := range []string{"DELETE FROM mam_config WHERE user_id IN (" + owners + ")", "DELETE FROM mam_server_user WHERE server IN " + in} {
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			return wrap("remove domain", err)
		}
	}
	return nil
}

// Behaviour codes of mam_config.
const (
	prefAlways = "A"
	prefNever  = "N"
	prefRoster = "R"
)

// Prefs implements Store.
func (s *SQLStore) Prefs(ctx context.Context, owner int64) (Prefs, bool, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT remote_jid, behaviour FROM mam_config WHERE user_id = ? ORDER BY remote_jid", owner)
	if err != nil {
		return Prefs{}, false, wrap("prefs", err)
	}
	defer rows.Close()
	var p Prefs
	ok := false
	for rows.Next() {
		var j, b string
		if err := rows.Scan(&j, &b); err != nil {
			return Prefs{}, false, wrap("prefs", err)
		}
		ok = true
		switch {
		case j == "":
			p.Default = map[string]string{prefAlways: "always", prefNever: "never", prefRoster: "roster"}[b]
		case b == prefAlways:
			p.Always = append(p.Always, j)
		case b == prefNever:
			p.Never = append(p.Never, j)
		}
	}
	if err := rows.Err(); err != nil {
		return Prefs{}, false, wrap("prefs", err)
	}
	if ok && p.Default == "" {
		p.Default = "always"
	}
	return p, ok, nil
}

// SetPrefs implements Store, in one transaction.
func (s *SQLStore) SetPrefs(ctx context.Context, owner int64, p Prefs) error {
	code := map[string]string{"always": prefAlways, "never": prefNever, "roster": prefRoster}[p.Default]
	if code == "" {
		code = prefAlways
	}
	return wrap("set prefs", s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM mam_config WHERE user_id = ?", owner); err != nil {
			return err
		}
		ins := "INSERT INTO mam_config (user_id, remote_jid, behaviour) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
		if _, err := tx.ExecContext(ctx, ins, owner, "", code); err != nil {
			return err
		}
		for _, l := range []struct {
			jids []string
			code string
		}{{p.Always, prefAlways}, {p.Never, prefNever}} {
			for _, j := range l.jids {
				if _, err := tx.ExecContext(ctx, ins, owner, j, l.code); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("mam: %s: %w", op, err)
}
