package inbox

import (
	"context"
	"time"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/jid"
)

// binBefore is the cut-off of a bin flush: now minus days days (µs); days
// <= 0 means now, every entry.
func (m *Module) binBefore(days int) int64 {
	return m.now().Add(-time.Duration(max(days, 0)) * 24 * time.Hour).UnixMicro()
}

// FlushUserBin deletes user's bin entries older than days days (0: all)
// and returns how many went (spec/inbox.md §12). The user's domain must be
// served (ErrDomainNotFound) and the account exist (ErrUserNotFound).
func (m *Module) FlushUserBin(ctx context.Context, user jid.JID, days int) (int, error) {
	if !m.r.IsLocal(user.Domain()) {
		return 0, &Error{Code: ErrDomainNotFound.Code, Message: ErrDomainNotFound.Message, Key: "domain", Value: user.Domain()}
	}
	ok := user.Local() != ""
	if ok && m.accounts != nil {
		var err error
		if ok, err = m.accounts.UserExists(ctx, user.Domain(), user.Local()); err != nil {
			return 0, err
		}
	}
	if !ok {
		return 0, &Error{Code: ErrUserNotFound.Code, Message: "User " + user.Bare().String() + " does not exist", Key: "user", Value: user.String()}
	}
	return m.store.EmptyUserBin(ctx, owner(user.Bare()), m.binBefore(days))
}

// FlushDomainBin is FlushUserBin for every user of a served domain
// (ErrDomainNotFound).
func (m *Module) FlushDomainBin(ctx context.Context, domain string, days int) (int, error) {
	if !m.r.IsLocal(domain) {
		return 0, &Error{Code: ErrDomainNotFound.Code, Message: ErrDomainNotFound.Message, Key: "domain", Value: domain}
	}
	return m.store.EmptyDomainBin(ctx, domain, m.binBefore(days))
}

// FlushGlobalBin is FlushUserBin for every user of a host type
// (ErrHostTypeNotFound); each static domain is its own host type. The
// host types share the database, as the reference's host types sharing an
// rdbms pool do, so every bin entry it holds goes.
func (m *Module) FlushGlobalBin(ctx context.Context, hostType string, days int) (int, error) {
	if !m.r.IsLocal(hostType) {
		return 0, &Error{Code: ErrHostTypeNotFound.Code, Message: ErrHostTypeNotFound.Message, Key: "host_type", Value: hostType}
	}
	return m.store.EmptyGlobalBin(ctx, m.binBefore(days))
}

// EmptyDomainBin deletes the bin entries of domain's users older than
// before (µs).
func (s *SQLStore) EmptyDomainBin(ctx context.Context, domain string, before int64) (int, error) {
	n, err := db.RowsAffected(s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM inbox
WHERE lserver = ? AND box = 'bin' AND ts < ?`), domain, before))
	return int(n), err
}

func (m *meteredStore) EmptyDomainBin(ctx context.Context, domain string, before int64) (int, error) {
	defer m.observe(domain, "empty_domain_bin", time.Now())
	return m.s.EmptyDomainBin(ctx, domain, before)
}
