package api

import (
	"context"

	"github.com/gander-xmpp/gander/internal/jid"
)

// InboxAdminMutation is the inbox category of mutations.
type InboxAdminMutation struct{}

// Inbox is mod_inbox's bin service (*inbox.Module) as the inbox category
// calls it: days <= 0 means every bin entry, otherwise entries older than
// days days go; each method returns the number of entries deleted. Its
// errors for unknown domains, users and host types are *inbox.Error
// values (coded).
type Inbox interface {
	FlushUserBin(ctx context.Context, user jid.JID, days int) (int, error)
	FlushDomainBin(ctx context.Context, domain string, days int) (int, error)
	FlushGlobalBin(ctx context.Context, hostType string, days int) (int, error)
}

// RequireInbox gates a field of the inbox category on mod_inbox for
// domain's host type; unknown domains skip the check (the service reports
// domain_not_found). Without a service every field is deps_not_loaded.
func RequireInbox(d Deps, domain string) error {
	if d.Inbox == nil {
		return notLoaded([]string{"mod_inbox"}, nil)
	}
	return RequireModules(d, domain, "mod_inbox")
}

// count is a service's count as a field's result.
func count(n int, err error) (*int, error) {
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// Count is count for the user schema's resolvers.
func Count(n int, err error) (*int, error) { return count(n, err) }
