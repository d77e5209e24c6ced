package last

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
)

// This file is the plain Go service API behind the GraphQL `last`
// category (spec/last.md §6). Resolvers parse DateTime and JID scalars,
// check domain-admin permissions and module gating and call these methods;
// an *Error becomes the GraphQL error (Code, Message, Key: Value) as it is.

// NewService returns the service API over d.Store without the module:
// no IQ handlers, hooks, writer or metrics (d.IQ, d.Hooks and d.Metrics
// are not used). The GraphQL layer uses it when mod_last is not enabled,
// for the global listOldUsers and removeOldUsers, which read the storage
// anyway (spec/last.md §6.2).
func NewService(d Deps) *Module {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Module{d: d}
}

// Activity is a LastActivity result.
type Activity struct {
	// User is the JID as given in the request (resource kept).
	User jid.JID
	// Timestamp has whole-second precision, in UTC.
	Timestamp time.Time
	// Status is the status text.
	Status string
}

// OldUser is an OldUser result.
type OldUser struct {
	// JID is the account's bare JID.
	JID jid.JID
	// Timestamp is the stored time, or nil when nothing was ever recorded.
	Timestamp *time.Time
}

// parseUser validates a user argument: a JID with a local part.
func parseUser(user string) (jid.JID, error) {
	j, err := jid.Parse(user)
	if err != nil || j.Local() == "" {
		return jid.JID{}, invalidJID(user)
	}
	return j, nil
}

func (m *Module) checkUser(ctx context.Context, j jid.JID) error {
	ok, err := m.d.Accounts.UserExists(ctx, j.Domain(), j.Local())
	if err != nil {
		return err
	}
	if !ok {
		return userNotFound(j.Local(), j.Domain())
	}
	return nil
}

// GetLast returns the stored last activity of user (admin and user
// getLast). The account must exist (ErrUserNotFound) and have a record
// (ErrLastNotFound); whether the user is online is not consulted.
func (m *Module) GetLast(ctx context.Context, user string) (Activity, error) {
	j, err := parseUser(user)
	if err != nil {
		return Activity{}, err
	}
	if err := m.checkUser(ctx, j); err != nil {
		return Activity{}, err
	}
	rec, ok, err := m.getLast(ctx, keyOf(j))
	if err != nil {
		return Activity{}, err
	}
	if !ok {
		return Activity{}, lastNotFound(j.String())
	}
	return Activity{User: j, Timestamp: time.Unix(rec.Seconds, 0).UTC(), Status: rec.Status}, nil
}

// GetLastAs is GetLast on behalf of requester (the user API's getLast):
// reading someone else's record follows the rule of the XMPP query
// (docs/modules/mod_last.md): the target's roster item for the requester
// must have subscription from or both, otherwise ErrForbidden, whether
// or not the target exists.
func (m *Module) GetLastAs(ctx context.Context, requester jid.JID, user string) (Activity, error) {
	j, err := parseUser(user)
	if err != nil {
		return Activity{}, err
	}
	if !m.allowed(ctx, requester, j) {
		return Activity{}, forbidden(j.Bare().String())
	}
	return m.GetLast(ctx, user)
}

// SetLast stores (at, status) for user whether or not the user is online
// (admin setLast; the user endpoint passes the caller). A zero at means
// now; at is truncated to whole seconds. The account must exist
// (ErrUserNotFound). It returns once the record is in storage.
func (m *Module) SetLast(ctx context.Context, user string, at time.Time, status string) (Activity, error) {
	j, err := parseUser(user)
	if err != nil {
		return Activity{}, err
	}
	if err := m.checkUser(ctx, j); err != nil {
		return Activity{}, err
	}
	if at.IsZero() {
		at = m.d.Now()
	}
	secs := at.Unix()
	if err := m.setLast(ctx, keyOf(j), Record{Seconds: secs, Status: status}); err != nil {
		return Activity{}, err
	}
	if err := m.Sync(ctx); err != nil {
		return Activity{}, err
	}
	return Activity{User: j, Timestamp: time.Unix(secs, 0).UTC(), Status: status}, nil
}

// domain normalises a domain argument (nameprep, lower case) and checks
// that it is served (ErrDomainNotFound).
func (m *Module) domain(domain string) (string, error) {
	j, err := jid.Parse(domain)
	if err != nil || j.Local() != "" || j.Resource() != "" || !m.d.Router.IsLocal(j.Domain()) {
		return "", domainNotFound(domain)
	}
	return j.Domain(), nil
}

// CountActiveUsers returns the number of records of domain stored with a
// time strictly after since (zero: now). Online users without a newer
// record are not counted.
func (m *Module) CountActiveUsers(ctx context.Context, domain string, since time.Time) (int, error) {
	d, err := m.domain(domain)
	if err != nil {
		return 0, err
	}
	if since.IsZero() {
		since = m.d.Now()
	}
	if err := m.Sync(ctx); err != nil {
		return 0, err
	}
	return m.d.Store.CountActive(ctx, d, since.Unix())
}

// ListOldUsers returns the registered accounts of domain (all served
// domains when domain is "") that have no session now and either no
// record or one strictly before before. Results are ordered by domain,
// then username.
func (m *Module) ListOldUsers(ctx context.Context, domain string, before time.Time) ([]OldUser, error) {
	domains := m.d.Router.Domains()
	if domain != "" {
		d, err := m.domain(domain)
		if err != nil {
			return nil, err
		}
		domains = []string{d}
	}
	if err := m.Sync(ctx); err != nil {
		return nil, err
	}
	sort.Strings(domains)
	limit := before.Unix()
	out := []OldUser{}
	for _, d := range domains {
		users, err := m.d.Accounts.ListUsers(ctx, d)
		if err != nil {
			return nil, err
		}
		recs, err := m.d.Store.Domain(ctx, d)
		if err != nil {
			return nil, err
		}
		sort.Strings(users)
		for _, u := range users {
			j, err := jid.New(u, d, "")
			if err != nil {
				continue
			}
			if len(m.d.Router.Sessions(j)) > 0 {
				continue // online users are never old
			}
			rec, ok := recs[u]
			switch {
			case !ok:
				out = append(out, OldUser{JID: j})
			case rec.Seconds < limit:
				t := time.Unix(rec.Seconds, 0).UTC()
				out = append(out, OldUser{JID: j, Timestamp: &t})
			}
		}
	}
	return out, nil
}

// RemoveOldUsers selects like ListOldUsers, removes each selected account
// completely (the removal hooks delete its record among others) and
// returns the selection.
func (m *Module) RemoveOldUsers(ctx context.Context, domain string, before time.Time) ([]OldUser, error) {
	old, err := m.ListOldUsers(ctx, domain, before)
	if err != nil {
		return nil, err
	}
	for _, o := range old {
		if err := m.d.Accounts.RemoveUser(ctx, o.JID); err != nil {
			return nil, err
		}
	}
	return old, m.Sync(ctx)
}

// CleanupSessions records the end of sessions that vanished with a failed
// cluster node (spec/last.md §4.3): every distinct user of sessions gets
// (now, ""). Each session counts as one session_cleanup call; the writes
// are deduplicated and batched by the writer.
func (m *Module) CleanupSessions(ctx context.Context, sessions []jid.JID) error {
	now := m.d.Now().Unix()
	for _, s := range sessions {
		start := time.Now()
		err := m.write(ctx, Write{Key: keyOf(s), Record: Record{Seconds: now}})
		m.observe(s.Domain(), "session_cleanup", start)
		if err != nil {
			return err
		}
	}
	return m.Sync(ctx)
}
