package auth

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/gander-xmpp/gander/internal/db"
)

// DomainAdminStore keeps the passwords of domain administrators
// (admin@<domain> on the domain_admin GraphQL endpoint, spec/server.md
// §2.3) in the domain_admins table, as salted SCRAM-SHA-256 keys. It is
// safe for concurrent use.
type DomainAdminStore struct {
	db         *db.DB
	iterations int
}

// NewDomainAdminStore returns the store; iterations is the PBKDF2 count
// for new passwords.
func NewDomainAdminStore(d *db.DB, iterations int) *DomainAdminStore {
	return &DomainAdminStore{db: d, iterations: iterations}
}

// SetPassword sets or replaces the domain's admin password.
func (s *DomainAdminStore) SetPassword(ctx context.Context, domain, password string) error {
	if password == "" {
		return ErrBadPassword
	}
	c, err := NewCredentials(password, s.iterations)
	if err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString
	_, err = s.db.ExecContext(ctx, `INSERT INTO domain_admins (domain, salt, iterations, stored_key, server_key)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (domain) DO UPDATE SET salt = excluded.salt, iterations = excluded.iterations,
			stored_key = excluded.stored_key, server_key = excluded.server_key`,
		domain, enc(c.Salt), c.Iterations, enc(c.SHA256StoredKey), enc(c.SHA256ServerKey))
	if err != nil {
		return fmt.Errorf("auth: set domain password: %w", err)
	}
	return nil
}

// DeletePassword removes the domain's admin password; deleting a missing
// one is not an error.
func (s *DomainAdminStore) DeletePassword(ctx context.Context, domain string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM domain_admins WHERE domain = ?", domain); err != nil {
		return fmt.Errorf("auth: delete domain password: %w", err)
	}
	return nil
}

// CheckPassword reports whether password is the domain's admin password;
// false when the domain has none.
func (s *DomainAdminStore) CheckPassword(ctx context.Context, domain, password string) (bool, error) {
	var salt, stored string
	var iters int
	err := s.db.QueryRowContext(ctx, "SELECT salt, iterations, stored_key FROM domain_admins WHERE domain = ?", domain).
		Scan(&salt, &iters, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: read domain password: %w", err)
	}
	saltB, err1 := decodeKey(salt)
	storedB, err2 := decodeKey(stored)
	if err := errors.Join(err1, err2); err != nil {
		return false, fmt.Errorf("auth: stored domain password of %s: %w", domain, err)
	}
	d, err := DeriveCredentials(password, saltB, iters)
	if err != nil {
		return false, nil
	}
	return subtle.ConstantTimeCompare(d.SHA256StoredKey, storedB) == 1, nil
}
