// Package offline keeps messages for users who are not online, and hands
// them over when the user next becomes available (XEP-0160).
package offline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gander-xmpp/gander/internal/db"
)

// Message is one stored stanza.
type Message struct {
	// ID is assigned by the store; it grows with every message stored, so
	// it orders messages and is never reused.
	ID int64
	// From is the sender's full JID.
	From string
	// Packet is the serialised <message/> element, UTF-8 XML.
	Packet []byte
	// Stored is when the message was stored, with microsecond precision.
	// Store uses the current time if it is zero.
	Stored time.Time
	// Expire is when the message stops being delivered; zero means never.
	Expire time.Time
}

// SQLStore keeps offline messages in the offline_message table of an SQL
// database, SQLite or PostgreSQL, keyed by (server, username). It is safe for
// concurrent use.
type SQLStore struct {
	db  *db.DB
	now func() time.Time // tests replace it
}

// NewSQLStore returns a store over d, which must be migrated (db.Open does
// that).
func NewSQLStore(d *db.DB) *SQLStore {
	return &SQLStore{db: d, now: time.Now}
}

// Store adds m to the user's offline messages; m.ID is ignored. If the user
// already has limit or more unexpired messages it stores nothing and returns
// ErrLimitReached; limit <= 0 means no limit.
//
// On SQLite the limit is exact. On PostgreSQL two messages stored at the
// same moment may both pass the check, overshooting the limit by the number
// of concurrent writers; a limit is a guard against abuse, not an
// invariant, so that is tolerated rather than serialising every store.
func (s *SQLStore) Store(ctx context.Context, server, username string, m Message, limit int) error {
	now := s.now()
	stored := m.Stored
	if stored.IsZero() {
		stored = now
	}
	var expire sql.NullInt64
	if !m.Expire.IsZero() {
		expire = sql.NullInt64{Int64: m.Expire.UnixMicro(), Valid: true}
	}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if limit > 0 {
			n, err := count(ctx, tx, server, username, now)
			if err != nil {
				return err
			}
			if n >= limit {
				return ErrLimitReached
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO offline_message (server, username, timestamp, from_jid, packet, expire)
			VALUES (?, ?, ?, ?, ?, ?)`, server, username, stored.UnixMicro(), m.From, string(m.Packet), expire)
		return err
	})
	if err != nil && !errors.Is(err, ErrLimitReached) {
		return fmt.Errorf("offline: store: %w", err)
	}
	return err
}

// Count returns the number of the user's unexpired messages.
func (s *SQLStore) Count(ctx context.Context, server, username string) (int, error) {
	n, err := count(ctx, s.db, server, username, s.now())
	if err != nil {
		return 0, fmt.Errorf("offline: count: %w", err)
	}
	return n, nil
}

// queryRower is what count needs of a DB or a Tx.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// notExpired is the condition of messages still to be delivered at ?.
const notExpired = "(expire IS NULL OR expire > ?)"

func count(ctx context.Context, q queryRower, server, username string, now time.Time) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM offline_message WHERE server = ? AND username = ? AND "+notExpired,
		server, username, now.UnixMicro()).Scan(&n)
	return n, err
}

// Fetch returns the user's unexpired messages, oldest first. It does not
// remove them: call Delete with the ID of the last one delivered.
func (s *SQLStore) Fetch(ctx context.Context, server, username string) ([]Message, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, from_jid, packet, timestamp, expire FROM offline_message
		WHERE server = ? AND username = ? AND `+notExpired+` ORDER BY id`, server, username, s.now().UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("offline: fetch: %w", err)
	}
	defer rows.Close()
	var msgs []Message
	for rows.Next() {
		var (
			m      Message
			packet string
			stored int64
			expire sql.NullInt64
		)
		if err := rows.Scan(&m.ID, &m.From, &packet, &stored, &expire); err != nil {
			return nil, fmt.Errorf("offline: fetch: %w", err)
		}
		m.Packet = []byte(packet)
		m.Stored = db.MicrosToTime(stored)
		if expire.Valid {
			m.Expire = db.MicrosToTime(expire.Int64)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("offline: fetch: %w", err)
	}
	return msgs, nil
}

// Delete removes the user's messages with IDs up to and including upToID,
// once they have been delivered. Messages stored since the Fetch have higher
// IDs and stay.
func (s *SQLStore) Delete(ctx context.Context, server, username string, upToID int64) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM offline_message WHERE server = ? AND username = ? AND id <= ?",
		server, username, upToID); err != nil {
		return fmt.Errorf("offline: delete: %w", err)
	}
	return nil
}

// RemoveUser removes all of the user's messages.
func (s *SQLStore) RemoveUser(ctx context.Context, server, username string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM offline_message WHERE server = ? AND username = ?",
		server, username); err != nil {
		return fmt.Errorf("offline: remove user: %w", err)
	}
	return nil
}

// RemoveExpired removes the messages of all users that expired at or before
// now, and returns how many it removed.
func (s *SQLStore) RemoveExpired(ctx context.Context, now time.Time) (int64, error) {
	n, err := db.RowsAffected(s.db.ExecContext(ctx,
		"DELETE FROM offline_message WHERE expire IS NOT NULL AND expire <= ?", now.UnixMicro()))
	if err != nil {
		return 0, fmt.Errorf("offline: remove expired: %w", err)
	}
	return n, nil
}
