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
// and returns how many went (spec/inbox.md §12). The caller checks that
// the user exists.
func (m *Module) FlushUserBin(ctx context.Context, user jid.JID, days int) (int, error) {
	return m.store.EmptyUserBin(ctx, owner(user), m.binBefore(days))
}

// FlushDomainBin is FlushUserBin for every user of domain.
func (m *Module) FlushDomainBin(ctx context.Context, domain string, days int) (int, error) {
	return m.store.EmptyDomainBin(ctx, domain, m.binBefore(days))
}

// FlushGlobalBin is FlushUserBin for every user the database holds.
func (m *Module) FlushGlobalBin(ctx context.Context, days int) (int, error) {
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
