package server

import (
	"context"

	"github.com/gander-xmpp/gander/internal/api"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/inbox"
)

// apiInbox is mod_inbox's bin service as the GraphQL inbox category sees
// it (spec/inbox.md §12).
type apiInbox struct{ m *inbox.Module }

// inboxService returns the service the API drives, nil (deps_not_loaded)
// when mod_inbox is not enabled.
func (s *Server) inboxService() api.Inbox {
	if s.inbox == nil {
		return nil
	}
	return apiInbox{s.inbox}
}

func (i apiInbox) FlushUserBin(ctx context.Context, user jid.JID, days int) (int, error) {
	return i.m.FlushUserBin(ctx, user, days)
}

func (i apiInbox) FlushDomainBin(ctx context.Context, domain string, days int) (int, error) {
	return i.m.FlushDomainBin(ctx, domain, days)
}

// FlushGlobalBin flushes every bin entry of the database: the host types
// (one per static domain) share it, as the reference's host types sharing
// an rdbms pool do.
func (i apiInbox) FlushGlobalBin(ctx context.Context, _ string, days int) (int, error) {
	return i.m.FlushGlobalBin(ctx, days)
}
