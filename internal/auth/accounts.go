package auth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
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
	j, err := accountJID(username, domain)
	if err != nil {
		return jid.JID{}, err
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

// accountJID is the bare JID of a new account, refused with
// ErrInvalidUser when it does not normalise or has no localpart.
func accountJID(username, domain string) (jid.JID, error) {
	j, err := jid.New(username, domain, "")
	if err != nil || j.Local() == "" {
		return jid.JID{}, fmt.Errorf("invalid JID %s@%s: %w", username, domain, errors.Join(err, ErrInvalidUser))
	}
	return j, nil
}

// BulkBatch is how many accounts RegisterMany writes per transaction.
const BulkBatch = 1000

// RegisterMany creates domain accounts for every username with the same
// password, for provisioning test and benchmark users. The credentials (one
// salt per account, PBKDF2 for SHA-1 and SHA-256) are derived on workers
// goroutines (0 = one per CPU) and written BulkBatch accounts per
// transaction. Existing accounts are skipped, not changed; UserRegistered
// runs for each account created. It returns how many were created and how
// many existed.
func (a *Accounts) RegisterMany(ctx context.Context, domain string, usernames []string, password string, workers int) (created, existed int, err error) {
	if password == "" {
		return 0, 0, ErrBadPassword
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jids := make([]jid.JID, len(usernames))
	for i, u := range usernames {
		j, err := accountJID(u, domain)
		if err != nil {
			return 0, 0, err
		}
		jids[i] = j
	}
	for start := 0; start < len(jids); start += BulkBatch {
		batch := jids[start:min(start+BulkBatch, len(jids))]
		users, err := a.deriveAll(batch, password, workers)
		if err != nil {
			return created, existed, err
		}
		names, err := a.store.CreateUsers(ctx, batch[0].Domain(), users, time.Now())
		if err != nil {
			return created, existed, err
		}
		created += len(names)
		existed += len(batch) - len(names)
		if a.hooks != nil {
			for _, n := range names {
				j, _ := jid.New(n, batch[0].Domain(), "")
				a.hooks.UserRegistered.Run(ctx, &hooks.UserEvent{User: j})
			}
		}
	}
	return created, existed, nil
}

// deriveAll derives fresh credentials for each JID on workers goroutines.
func (a *Accounts) deriveAll(jids []jid.JID, password string, workers int) ([]NewUser, error) {
	users := make([]NewUser, len(jids))
	errs := make([]error, len(jids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(jids)) {
		wg.Go(func() {
			for i := range next {
				c, err := NewCredentials(password, a.iterations)
				users[i], errs[i] = NewUser{Username: jids[i].Local(), Credentials: c}, err
			}
		})
	}
	for i := range jids {
		next <- i
	}
	close(next)
	wg.Wait()
	return users, errors.Join(errs...)
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

// UserExists reports whether the account exists.
func (a *Accounts) UserExists(ctx context.Context, server, username string) (bool, error) {
	return a.store.UserExists(ctx, server, username)
}

// ListUsers returns the usernames of server sorted byte-wise, skipping the
// first offset and returning at most limit of them; limit <= 0 means all.
func (a *Accounts) ListUsers(ctx context.Context, server string, limit, offset int) ([]string, error) {
	return a.store.ListUsers(ctx, server, limit, offset)
}

// CountUsers returns the number of accounts of server.
func (a *Accounts) CountUsers(ctx context.Context, server string) (int, error) {
	return a.store.CountUsers(ctx, server)
}
