package server

import (
	"context"
	"errors"
	"time"

	"github.com/gander-xmpp/gander/internal/api"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/last"
)

// apiLast is mod_last's service API as the GraphQL last category sees it
// (spec/last.md §6). When mod_last is not enabled it is a service over the
// rdbms table alone: the resolvers gate every domain-bound field with
// deps_not_loaded, and the global listOldUsers / removeOldUsers still
// answer (records left by an earlier rdbms configuration count).
type apiLast struct{ m *last.Module }

// lastService returns the service the API drives.
func (s *Server) lastService() api.Last {
	if s.last != nil {
		return apiLast{s.last}
	}
	return apiLast{last.NewService(last.Deps{Log: s.log, Store: last.NewSQLStore(s.db), Router: s.router,
		Accounts: lastAccounts{s.accounts}})}
}

// lastErr turns the service's validation errors into API errors.
func lastErr(err error) error {
	var e *last.Error
	if errors.As(err, &e) {
		return api.NewError(e.Code, e.Message, e.Key, e.Value)
	}
	return err
}

func activity(a last.Activity) api.LastActivity {
	return api.LastActivity{User: a.User, Timestamp: api.MicroTime{Time: a.Timestamp}, Status: a.Status}
}

func oldUsers(old []last.OldUser, err error) ([]api.OldUser, error) {
	if err != nil {
		return nil, lastErr(err)
	}
	out := make([]api.OldUser, len(old))
	for i, o := range old {
		out[i].JID = o.JID
		if o.Timestamp != nil {
			out[i].Timestamp = &api.MicroTime{Time: *o.Timestamp}
		}
	}
	return out, nil
}

func (l apiLast) GetLast(ctx context.Context, user jid.JID) (api.LastActivity, error) {
	a, err := l.m.GetLast(ctx, user.String())
	if err != nil {
		return api.LastActivity{}, lastErr(err)
	}
	return activity(a), nil
}

func (l apiLast) GetLastAs(ctx context.Context, requester, user jid.JID) (api.LastActivity, error) {
	a, err := l.m.GetLastAs(ctx, requester, user.String())
	if err != nil {
		return api.LastActivity{}, lastErr(err)
	}
	return activity(a), nil
}

func (l apiLast) SetLast(ctx context.Context, user jid.JID, at *time.Time, status string) (api.LastActivity, error) {
	var t time.Time // zero: now
	if at != nil {
		// Microseconds truncated to whole seconds (spec/last.md §6.1).
		t = time.Unix(at.Unix(), 0)
	}
	a, err := l.m.SetLast(ctx, user.String(), t, status)
	if err != nil {
		return api.LastActivity{}, lastErr(err)
	}
	return activity(a), nil
}

func (l apiLast) CountActiveUsers(ctx context.Context, domain string, since *time.Time) (int, error) {
	var t time.Time
	if since != nil {
		t = time.Unix(since.Unix(), 0)
	}
	n, err := l.m.CountActiveUsers(ctx, domain, t)
	return n, lastErr(err)
}

func (l apiLast) ListOldUsers(ctx context.Context, domain string, before time.Time) ([]api.OldUser, error) {
	return oldUsers(l.m.ListOldUsers(ctx, domain, time.Unix(before.Unix(), 0)))
}

func (l apiLast) RemoveOldUsers(ctx context.Context, domain string, before time.Time) ([]api.OldUser, error) {
	return oldUsers(l.m.RemoveOldUsers(ctx, domain, time.Unix(before.Unix(), 0)))
}
