package server

import (
	"context"

	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/last"
)

// newLast creates mod_last (spec/last.md) from [modules.mod_last]: SQL
// storage behind a batch writer for backend "rdbms", memory otherwise.
func (s *Server) newLast(c config.ModLast) (*last.Module, error) {
	var store last.Store = last.NewMemStore()
	if c.Backend == "rdbms" {
		store = last.NewSQLStore(s.db)
	}
	return last.New(last.Deps{Log: s.log, Store: store, Router: s.router, Hooks: s.hooks, IQ: s.iq,
		Accounts: lastAccounts{s.accounts}, Metrics: s.metrics, Started: s.started}, c)
}

// Last returns mod_last's service API, or nil when the module is not
// enabled.
func (s *Server) Last() *last.Module { return s.last }

// lastService returns mod_last's service API for the GraphQL last
// category. When mod_last is not enabled it is the service over the rdbms
// table alone: the resolvers gate every domain-bound field with
// deps_not_loaded, and the global listOldUsers / removeOldUsers still
// answer (records left by an earlier rdbms configuration count).
func (s *Server) lastService() *last.Module {
	if s.last != nil {
		return s.last
	}
	return last.NewService(last.Deps{Log: s.log, Store: last.NewSQLStore(s.db), Router: s.router,
		Accounts: lastAccounts{s.accounts}})
}

// lastAccounts adapts the account service to last.Accounts.
type lastAccounts struct{ a *auth.Accounts }

func (l lastAccounts) UserExists(ctx context.Context, server, username string) (bool, error) {
	return l.a.Store().UserExists(ctx, server, username)
}

func (l lastAccounts) ListUsers(ctx context.Context, server string) ([]string, error) {
	return l.a.Store().ListUsers(ctx, server, 0, 0)
}

func (l lastAccounts) RemoveUser(ctx context.Context, user jid.JID) error {
	return l.a.Remove(ctx, user)
}
