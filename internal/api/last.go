package api

import (
	"context"
	"io"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/last"
)

// LastAdminQuery is the last category of queries.
type LastAdminQuery struct{}

// LastAdminMutation is the last category of mutations.
type LastAdminMutation struct{}

// Last is mod_last's service API (*last.Module) as the last category calls
// it. Its validation errors are *last.Error values (coded, with their
// context key); other errors are failures.
type Last interface {
	GetLast(ctx context.Context, user string) (last.Activity, error)
	// GetLastAs is GetLast for the user requester (the user endpoint):
	// another user's record needs the subscription rule of
	// docs/modules/mod_last.md, otherwise a *last.Error with code
	// forbidden.
	GetLastAs(ctx context.Context, requester jid.JID, user string) (last.Activity, error)
	SetLast(ctx context.Context, user string, at time.Time, status string) (last.Activity, error)
	CountActiveUsers(ctx context.Context, domain string, since time.Time) (int, error)
	ListOldUsers(ctx context.Context, domain string, before time.Time) ([]last.OldUser, error)
	RemoveOldUsers(ctx context.Context, domain string, before time.Time) ([]last.OldUser, error)
}

// MicroTime is a DateTime value that the reference holds as microseconds
// since the epoch: it is always written with six fraction digits
// (2022-04-17T12:58:30.000000Z), even for whole seconds (docs/api.md,
// last category). A plain time.Time DateTime drops the fraction of whole
// seconds.
type MicroTime struct{ time.Time }

// MarshalGQL writes the time as YYYY-MM-DDTHH:MM:SS.ffffffZ.
func (t MicroTime) MarshalGQL(w io.Writer) {
	graphql.MarshalString(t.UTC().Format("2006-01-02T15:04:05.000000Z")).MarshalGQL(w)
}

// UnmarshalGQL parses an RFC 3339 DateTime like the DateTime scalar.
func (t *MicroTime) UnmarshalGQL(v any) error {
	tt, err := UnmarshalDateTime(v)
	if err != nil {
		return err
	}
	t.Time = tt
	return nil
}

// RequireModules implements module gating (docs/api.md) for a field whose
// host type is that of domain; the user schema calls it with the caller's
// domain. It returns the deps_not_loaded error, or nil.
func RequireModules(d Deps, domain string, modules ...string) error {
	r := Resolver{deps: d}
	return r.requireModules(domain, modules...)
}

// RequireLast gates a field of the last category on mod_last for domain's
// host type; "" (the global variants) and unknown domains skip the check.
// Without a service at all (not wired) every field is deps_not_loaded.
func RequireLast(d Deps, domain string) error {
	if d.Last == nil {
		return notLoaded([]string{"mod_last"}, nil)
	}
	if domain == "" {
		return nil
	}
	return RequireModules(d, domain, "mod_last")
}

// LastActivityOf is a user's last activity as the schema shows it.
func LastActivityOf(a last.Activity) *LastActivity {
	return &LastActivity{User: a.User, Timestamp: MicroTime{a.Timestamp}, Status: a.Status}
}

// oldUsers turns a selection into the field's result.
func oldUsers(old []last.OldUser, err error) ([]*OldUser, error) {
	if err != nil {
		return nil, err
	}
	out := make([]*OldUser, len(old))
	for i, o := range old {
		out[i] = &OldUser{Jid: o.JID}
		if o.Timestamp != nil {
			out[i].Timestamp = &MicroTime{*o.Timestamp}
		}
	}
	return out, nil
}

// orZero is *t, or the zero time (the service's "now") for nil.
func OrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
