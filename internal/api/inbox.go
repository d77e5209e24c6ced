package api

import (
	"context"

	"github.com/gander-xmpp/gander/internal/jid"
)

// InboxAdminMutation is the inbox category of mutations.
type InboxAdminMutation struct{}

// Inbox is mod_inbox's bin service (spec/inbox.md §12) as the API drives
// it. days <= 0 means every bin entry; otherwise entries older than days
// days go. Each method returns the number of entries deleted. The
// resolvers check domains, users and host types first. Implementations
// must be safe for concurrent use.
type Inbox interface {
	FlushUserBin(ctx context.Context, user jid.JID, days int) (int, error)
	FlushDomainBin(ctx context.Context, domain string, days int) (int, error)
	FlushGlobalBin(ctx context.Context, hostType string, days int) (int, error)
}

// requireInbox gates a field of the inbox category on mod_inbox for
// domain's host type; unknown domains skip the check (the resolver
// reports domain_not_found). Without a service every field is
// deps_not_loaded.
func (r *Resolver) requireInbox(domain string) error {
	if r.deps.Inbox == nil {
		return notLoaded([]string{"mod_inbox"}, nil)
	}
	return r.requireModules(domain, "mod_inbox")
}

// daysArg turns an optional PosInt into the service's argument.
func daysArg(d *int) int {
	if d == nil {
		return 0
	}
	return *d
}

// FlushUserBin checks user and flushes its bin (the user schema's
// flushBin passes the caller).
func FlushUserBin(ctx context.Context, d Deps, user jid.JID, n *int) (*int, error) {
	r := Resolver{deps: d}
	return r.flushUserBin(ctx, user, n)
}

func (r *Resolver) flushUserBin(ctx context.Context, user jid.JID, n *int) (*int, error) {
	if err := r.requireInbox(user.Domain()); err != nil {
		return nil, err
	}
	if !r.deps.Router.IsLocal(user.Domain()) {
		return nil, apiErr("domain_not_found", "Domain not found", "domain", user.Domain())
	}
	ok, err := r.deps.Accounts.UserExists(ctx, user.Domain(), user.Local())
	if err != nil {
		return nil, err
	}
	if !ok || user.Local() == "" {
		return nil, apiErr("user_does_not_exist", "User "+user.Bare().String()+" does not exist", "user", user.String())
	}
	c, err := r.deps.Inbox.FlushUserBin(ctx, user.Bare(), daysArg(n))
	if err != nil {
		return nil, err
	}
	return &c, nil
}
