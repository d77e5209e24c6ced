package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
)

// Accounts creates, checks and removes accounts on top of the SQL store and
// fires the account hooks. It is safe for concurrent use.
type Accounts struct {
	store      *SQLStore
	iterations int
	hooks      *hooks.Hooks
}

// NewAccounts returns the account service; iterations is the PBKDF2 count
// for new credentials.
func NewAccounts(store *SQLStore, iterations int, h *hooks.Hooks) *Accounts {
	return &Accounts{store: store, iterations: iterations, hooks: h}
}

// Store returns the underlying credential store.
func (a *Accounts) Store() *SQLStore { return a.store }

// Register creates user@domain with password. The username is normalised
// as a JID localpart; ErrUserExists and ErrBadPassword are returned as
// such.
func (a *Accounts) Register(ctx context.Context, domain, username, password string) (jid.JID, error) {
	j, err := jid.New(username, domain, "")
	if err != nil || j.Local() == "" {
		return jid.JID{}, fmt.Errorf("invalid JID %s@%s: %w", username, domain, errors.Join(err, ErrInvalidUser))
	}
	if password == "" {
		return jid.JID{}, ErrBadPassword
	}
	c, err := NewCredentials(password, a.iterations)
	if err != nil {
		return jid.JID{}, err
	}
	if err := a.store.CreateUser(ctx, j.Domain(), j.Local(), c, time.Now()); err != nil {
		return jid.JID{}, err
	}
	if a.hooks != nil {
		a.hooks.UserRegistered.Run(ctx, &hooks.UserEvent{User: j})
	}
	return j, nil
}

// Remove deletes the account and fires UserRemoved so features purge the
// user's data.
func (a *Accounts) Remove(ctx context.Context, user jid.JID) error {
	if err := a.store.RemoveUser(ctx, user.Domain(), user.Local()); err != nil {
		return err
	}
	if a.hooks != nil {
		a.hooks.UserRemoved.Run(ctx, &hooks.UserEvent{User: user.Bare()})
	}
	return nil
}

// SetPassword replaces the user's credentials.
func (a *Accounts) SetPassword(ctx context.Context, user jid.JID, password string) error {
	if password == "" {
		return ErrBadPassword
	}
	c, err := NewCredentials(password, a.iterations)
	if err != nil {
		return err
	}
	return a.store.SetCredentials(ctx, user.Domain(), user.Local(), c)
}

// CheckPassword reports whether password is the user's.
func (a *Accounts) CheckPassword(ctx context.Context, user jid.JID, password string) (bool, error) {
	c, err := a.store.Credentials(ctx, user.Domain(), user.Local())
	if err != nil {
		return false, err
	}
	return c.CheckPassword(password), nil
}
