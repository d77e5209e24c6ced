package api

import (
	"context"
	"io"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gander-xmpp/gander/internal/jid"
)

// LastAdminQuery is the last category of queries.
type LastAdminQuery struct{}

// LastAdminMutation is the last category of mutations.
type LastAdminMutation struct{}

// Last is mod_last's service (spec/last.md §6) as the API drives it.
// Validation errors are *Error values with the reference's code, message
// and context key; other errors are failures. Implementations must be
// safe for concurrent use.
type Last interface {
	// GetLast returns the stored last activity of user.
	GetLast(ctx context.Context, user jid.JID) (LastActivity, error)
	// GetLastAs is GetLast for the user requester (the user endpoint):
	// another user's record needs the subscription rule of
	// docs/modules/mod_last.md, otherwise an *Error with code forbidden.
	GetLastAs(ctx context.Context, requester, user jid.JID) (LastActivity, error)
	// SetLast stores (at truncated to seconds, status) for user; a nil
	// at means now.
	SetLast(ctx context.Context, user jid.JID, at *time.Time, status string) (LastActivity, error)
	// CountActiveUsers counts the records of domain after since (nil:
	// now).
	CountActiveUsers(ctx context.Context, domain string, since *time.Time) (int, error)
	// ListOldUsers returns the offline accounts of domain ("" for every
	// domain) without a record or with one before before.
	ListOldUsers(ctx context.Context, domain string, before time.Time) ([]OldUser, error)
	// RemoveOldUsers removes what ListOldUsers selects and returns it.
	RemoveOldUsers(ctx context.Context, domain string, before time.Time) ([]OldUser, error)
}

// LastActivity is a user's stored last activity.
type LastActivity struct {
	// User is the JID as given in the request.
	User jid.JID
	// Timestamp has whole-second precision.
	Timestamp MicroTime
	// Status is the stored status text.
	Status string
}

// OldUser is an account without recent activity.
type OldUser struct {
	// JID is the account's bare JID.
	JID jid.JID
	// Timestamp is the stored time, nil when nothing was recorded.
	Timestamp *MicroTime
}

// MicroTime is a DateTime value that the reference holds as microseconds
// since the epoch: it is always written with six fraction digits
// (2022-04-17T12:58:30.000000Z), even for whole seconds (spec/last.md
// §6.1). A plain time.Time DateTime drops the fraction of whole seconds.
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

// RequireModules implements module gating (spec/server.md §2.5) for a
// field whose host type is that of domain; the user schema calls it with
// the caller's domain. It returns the deps_not_loaded error, or nil.
func RequireModules(d Deps, domain string, modules ...string) error {
	r := Resolver{deps: d}
	return r.requireModules(domain, modules...)
}

// requireLast gates a field of the last category on mod_last for domain's
// host type; "" (the global variants) and unknown domains skip the check.
// Without a service at all (not wired) every field is deps_not_loaded.
func (r *Resolver) requireLast(domain string) error {
	if r.deps.Last == nil {
		return notLoaded([]string{"mod_last"}, nil)
	}
	if domain == "" {
		return nil
	}
	return r.requireModules(domain, "mod_last")
}

// oldUsers turns a selection into the field's result.
func oldUsers(old []OldUser, err error) ([]*OldUser, error) {
	if err != nil {
		return nil, err
	}
	out := make([]*OldUser, len(old))
	for i := range old {
		out[i] = &old[i]
	}
	return out, nil
}
