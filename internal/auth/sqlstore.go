package auth

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gander-xmpp/gander/internal/db"
)

// SQLStore keeps accounts in the users table of an SQL database, SQLite or
// PostgreSQL. Accounts are keyed by (server, username); both are stored as
// given, so callers pass the normalised (nodeprep'd) forms. An SQLStore is
// safe for concurrent use.
type SQLStore struct {
	db *db.DB
}

// NewSQLStore returns a store over d, which must be migrated (db.Open does
// that).
func NewSQLStore(d *db.DB) *SQLStore {
	return &SQLStore{db: d}
}

// CreateUser adds an account with credentials c. It returns ErrUserExists if
// the account exists, also when another caller created it at the same time.
func (s *SQLStore) CreateUser(ctx context.Context, server, username string, c Credentials, createdAt time.Time) error {
	// ON CONFLICT DO NOTHING makes the database arbitrate concurrent creates
	// without our having to recognise each driver's unique-violation error:
	// the loser affects no row.
	args := append([]any{server, username}, credentialArgs(c)...)
	args = append(args, createdAt.UnixMicro())
	n, err := db.RowsAffected(s.db.ExecContext(ctx, `INSERT INTO users
		(server, username, salt, iterations, sha1_stored_key, sha1_server_key, sha256_stored_key, sha256_server_key, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (server, username) DO NOTHING`, args...))
	if err != nil {
		return fmt.Errorf("auth: create user: %w", err)
	}
	if n == 0 {
		return ErrUserExists
	}
	return nil
}

// Credentials returns the credentials of an account, or ErrUserNotFound.
func (s *SQLStore) Credentials(ctx context.Context, server, username string) (Credentials, error) {
	var (
		c    Credentials
		keys [5]string
	)
	err := s.db.QueryRowContext(ctx, `SELECT salt, iterations, sha1_stored_key, sha1_server_key, sha256_stored_key, sha256_server_key
		FROM users WHERE server = ? AND username = ?`, server, username).
		Scan(&keys[0], &c.Iterations, &keys[1], &keys[2], &keys[3], &keys[4])
	if errors.Is(err, sql.ErrNoRows) {
		return Credentials{}, ErrUserNotFound
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("auth: read credentials: %w", err)
	}
	for i, dst := range []*[]byte{&c.Salt, &c.SHA1StoredKey, &c.SHA1ServerKey, &c.SHA256StoredKey, &c.SHA256ServerKey} {
		if *dst, err = decodeKey(keys[i]); err != nil {
			return Credentials{}, fmt.Errorf("auth: stored credentials of %s@%s: %w", username, server, err)
		}
	}
	return c, nil
}

// SetCredentials replaces the credentials of an account (a password change),
// or returns ErrUserNotFound.
func (s *SQLStore) SetCredentials(ctx context.Context, server, username string, c Credentials) error {
	n, err := db.RowsAffected(s.db.ExecContext(ctx, `UPDATE users SET
		salt = ?, iterations = ?, sha1_stored_key = ?, sha1_server_key = ?, sha256_stored_key = ?, sha256_server_key = ?
		WHERE server = ? AND username = ?`,
		append(credentialArgs(c), server, username)...))
	if err != nil {
		return fmt.Errorf("auth: set credentials: %w", err)
	}
	if n == 0 {
		return ErrUserNotFound
	}
	return nil
}

// RemoveUser deletes an account, or returns ErrUserNotFound. The data that
// features keep for the user is theirs to remove.
func (s *SQLStore) RemoveUser(ctx context.Context, server, username string) error {
	n, err := db.RowsAffected(s.db.ExecContext(ctx,
		"DELETE FROM users WHERE server = ? AND username = ?", server, username))
	if err != nil {
		return fmt.Errorf("auth: remove user: %w", err)
	}
	if n == 0 {
		return ErrUserNotFound
	}
	return nil
}

// UserExists reports whether an account exists.
func (s *SQLStore) UserExists(ctx context.Context, server, username string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx,
		"SELECT 1 FROM users WHERE server = ? AND username = ?", server, username).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: user exists: %w", err)
	}
	return true, nil
}

// ListUsers returns the usernames of server sorted byte-wise, skipping the
// first offset and returning at most limit of them; limit <= 0 means all.
func (s *SQLStore) ListUsers(ctx context.Context, server string, limit, offset int) ([]string, error) {
	lim := int64(limit)
	if limit <= 0 {
		// SQLite cannot OFFSET without a LIMIT, PostgreSQL rejects LIMIT -1.
		lim = math.MaxInt64
	}
	rows, err := s.db.QueryContext(ctx, "SELECT username FROM users WHERE server = ? ORDER BY "+
		s.db.CollateBinary("username")+" LIMIT ? OFFSET ?", server, lim, int64(max(offset, 0)))
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	defer rows.Close()
	var users []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("auth: list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	return users, nil
}

// CountUsers returns the number of accounts of server.
func (s *SQLStore) CountUsers(ctx context.Context, server string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE server = ?", server).Scan(&n); err != nil {
		return 0, fmt.Errorf("auth: count users: %w", err)
	}
	return n, nil
}

// CreatedAt returns when an account was created, in UTC and to the
// microsecond, or ErrUserNotFound.
func (s *SQLStore) CreatedAt(ctx context.Context, server, username string) (time.Time, error) {
	var us int64
	err := s.db.QueryRowContext(ctx,
		"SELECT created_at FROM users WHERE server = ? AND username = ?", server, username).Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, ErrUserNotFound
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("auth: created at: %w", err)
	}
	return db.MicrosToTime(us), nil
}

// credentialArgs returns the query arguments for the salt, iterations and
// key columns, in table order.
func credentialArgs(c Credentials) []any {
	enc := base64.StdEncoding.EncodeToString
	return []any{enc(c.Salt), c.Iterations,
		enc(c.SHA1StoredKey), enc(c.SHA1ServerKey), enc(c.SHA256StoredKey), enc(c.SHA256ServerKey)}
}

// decodeKey decodes a base64 column; an empty column is a nil key.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// NewUser is one account for CreateUsers.
type NewUser struct {
	Username    string
	Credentials Credentials
}

// CreateUsers adds the accounts in one transaction and returns the usernames
// it created; accounts that already exist are left as they are and not
// returned. It is the bulk form of CreateUser for provisioning many accounts
// at once (gander register --count).
func (s *SQLStore) CreateUsers(ctx context.Context, server string, users []NewUser, createdAt time.Time) ([]string, error) {
	var created []string
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		created = created[:0]
		for _, u := range users {
			args := append([]any{server, u.Username}, credentialArgs(u.Credentials)...)
			args = append(args, createdAt.UnixMicro())
			n, err := db.RowsAffected(tx.ExecContext(ctx, `INSERT INTO users
				(server, username, salt, iterations, sha1_stored_key, sha1_server_key, sha256_stored_key, sha256_server_key, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (server, username) DO NOTHING`, args...))
			if err != nil {
				return fmt.Errorf("auth: create user %s: %w", u.Username, err)
			}
			if n > 0 {
				created = append(created, u.Username)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}
