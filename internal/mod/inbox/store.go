package inbox

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/gander-xmpp/gander/internal/db"
)

// Owner names an inbox: the normalised node and domain of a local user.
type Owner struct {
	LServer, LUser string
}

// Entry is one conversation of an inbox (spec/inbox.md §2).
type Entry struct {
	Remote      string // normalised remote bare JID
	MsgID       string
	Box         string
	Content     string // serialised XML of the last message
	Timestamp   int64  // µs since the epoch
	MutedUntil  int64  // µs; 0 = not muted
	UnreadCount int
}

// Props are an entry's user-settable properties.
type Props struct {
	Box         string
	MutedUntil  int64
	UnreadCount int
}

// Upsert is a message write (§3.2 items 1-3).
type Upsert struct {
	Remote    string
	MsgID     string
	Content   string
	Timestamp int64
	// Count is the absolute unread count, or the increment with Incr.
	Count int
	Incr  bool
	// Box is the box hint: "inbox", or "bin" (asynchronous merges only).
	Box string
}

// box is the box hint written: Box, "inbox" when unset.
func (u Upsert) box() string {
	if u.Box == "" {
		return "inbox"
	}
	return u.Box
}

// Params are the filters of an inbox lookup (§5.4).
type Params struct {
	Start, End *int64
	Asc        bool
	HiddenRead bool
	// Box is nil for "every box except bin", "all" for no filter.
	Box   *string
	Limit int // < 0: none
}

// SetProps is a set-properties request (§3.2 item 6); nil fields are left
// alone.
type SetProps struct {
	Read       *bool
	Box        *string
	MutedUntil *int64
}

// ErrNotFound is returned when no entry matched.
var ErrNotFound = errors.New("inbox: entry not found")

// SQLStore keeps entries in the inbox table of SQLite or PostgreSQL.
type SQLStore struct{ db *db.DB }

// NewSQLStore returns a store over the migrated database d.
func NewSQLStore(d *db.DB) *SQLStore { return &SQLStore{db: d} }

// Upsert writes a message to o's entry for u.Remote under the monotonic
// guard; it reports whether a row was created or changed.
func (s *SQLStore) Upsert(ctx context.Context, o Owner, u Upsert) (bool, error) {
	n, err := db.RowsAffected(s.db.ExecContext(ctx, s.db.Rebind(upsertSQL(1, u.Incr)), upsertArgs(nil, o, u)...))
	return n > 0, err
}

// ResetUnread sets the unread count of o's entry for remote to 0 when its
// timestamp is <= ts and, unless msgID is nil, its msg_id equals *msgID.
func (s *SQLStore) ResetUnread(ctx context.Context, o Owner, remote string, msgID *string, ts int64) error {
	q := `UPDATE inbox SET unread_count = 0 WHERE lserver = ? AND luser = ? AND remote_bare_jid = ? AND ts <= ?`
	args := []any{o.LServer, o.LUser, remote, ts}
	if msgID != nil {
		q += ` AND msg_id = ?`
		args = append(args, *msgID)
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(q), args...)
	return err
}

const entryCols = `remote_bare_jid, COALESCE(msg_id, ''), box, content, ts, muted_until, unread_count`

func scanEntry(sc interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	err := sc.Scan(&e.Remote, &e.MsgID, &e.Box, &e.Content, &e.Timestamp, &e.MutedUntil, &e.UnreadCount)
	return e, err
}

// Get reads o's entry for remote; ErrNotFound when there is none.
func (s *SQLStore) Get(ctx context.Context, o Owner, remote string) (Entry, error) {
	e, err := scanEntry(s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT `+entryCols+` FROM inbox
WHERE lserver = ? AND luser = ? AND remote_bare_jid = ?`), o.LServer, o.LUser, remote))
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	return e, err
}

// Lookup returns o's entries passing p, ordered by timestamp then remote
// JID.
func (s *SQLStore) Lookup(ctx context.Context, o Owner, p Params) ([]Entry, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + entryCols + ` FROM inbox WHERE lserver = ? AND luser = ?`)
	args := []any{o.LServer, o.LUser}
	if p.Start != nil {
		b.WriteString(` AND ts >= ?`)
		args = append(args, *p.Start)
	}
	if p.End != nil {
		b.WriteString(` AND ts <= ?`)
		args = append(args, *p.End)
	}
	if p.HiddenRead {
		b.WriteString(` AND unread_count > 0`)
	}
	switch {
	case p.Box == nil:
		b.WriteString(` AND box <> 'bin'`)
	case *p.Box != "all":
		b.WriteString(` AND box = ?`)
		args = append(args, *p.Box)
	}
	dir := " DESC"
	if p.Asc {
		dir = " ASC"
	}
	b.WriteString(` ORDER BY ts` + dir + `, ` + s.db.CollateBinary("remote_bare_jid") + dir)
	if p.Limit >= 0 {
		b.WriteString(` LIMIT ?`)
		args = append(args, p.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(b.String()), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetProps updates o's entry for remote in one transaction and returns the
// properties read back; ErrNotFound when no entry matched.
func (s *SQLStore) SetProps(ctx context.Context, o Owner, remote string, p SetProps) (Props, error) {
	var out Props
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var sets []string
		var args []any
		if p.Read != nil {
			if *p.Read {
				sets = append(sets, "unread_count = 0")
			} else {
				sets = append(sets, "unread_count = CASE WHEN unread_count = 0 THEN 1 ELSE unread_count END")
			}
		}
		if p.Box != nil {
			sets = append(sets, "box = ?")
			args = append(args, *p.Box)
		}
		if p.MutedUntil != nil {
			sets = append(sets, "muted_until = ?")
			args = append(args, *p.MutedUntil)
		}
		if len(sets) > 0 {
			args = append(args, o.LServer, o.LUser, remote)
			if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE inbox SET `+strings.Join(sets, ", ")+
				` WHERE lserver = ? AND luser = ? AND remote_bare_jid = ?`), args...); err != nil {
				return err
			}
		}
		err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT box, muted_until, unread_count FROM inbox
WHERE lserver = ? AND luser = ? AND remote_bare_jid = ?`), o.LServer, o.LUser, remote).Scan(&out.Box, &out.MutedUntil, &out.UnreadCount)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	return out, err
}

// Props reads o's entry's properties; ErrNotFound when there is none.
func (s *SQLStore) Props(ctx context.Context, o Owner, remote string) (Props, error) {
	var p Props
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT box, muted_until, unread_count FROM inbox
WHERE lserver = ? AND luser = ? AND remote_bare_jid = ?`), o.LServer, o.LUser, remote).Scan(&p.Box, &p.MutedUntil, &p.UnreadCount)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

// Remove deletes o's entry for remote.
func (s *SQLStore) Remove(ctx context.Context, o Owner, remote string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM inbox WHERE lserver = ? AND luser = ? AND remote_bare_jid = ?`),
		o.LServer, o.LUser, remote)
	return err
}

// RemoveUser deletes every entry of o.
func (s *SQLStore) RemoveUser(ctx context.Context, o Owner) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM inbox WHERE lserver = ? AND luser = ?`), o.LServer, o.LUser)
	return err
}

// EmptyUserBin deletes o's bin entries older than before (µs) and returns
// how many went.
func (s *SQLStore) EmptyUserBin(ctx context.Context, o Owner, before int64) (int, error) {
	n, err := db.RowsAffected(s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM inbox
WHERE lserver = ? AND luser = ? AND box = 'bin' AND ts < ?`), o.LServer, o.LUser, before))
	return int(n), err
}

// EmptyGlobalBin deletes every bin entry older than before (µs).
func (s *SQLStore) EmptyGlobalBin(ctx context.Context, before int64) (int, error) {
	n, err := db.RowsAffected(s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM inbox WHERE box = 'bin' AND ts < ?`), before))
	return int(n), err
}

// MoveToBin puts o's entry for remote in the bin (asynchronous removal).
func (s *SQLStore) MoveToBin(ctx context.Context, o Owner, remote string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE inbox SET box = 'bin' WHERE lserver = ? AND luser = ? AND remote_bare_jid = ?`),
		o.LServer, o.LUser, remote)
	return err
}
