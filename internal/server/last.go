package server

import (
	"context"

	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/batch"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/last"
)

// lastWriterOptions are the batch writer settings of mod_last's rdbms
// backend (docs/modules/mod_last.md): one writer for the node, at most 4
// upserts in flight, up to 100 rows each, 4 x 10000 pending users.
func lastWriterOptions() batch.Options {
	return batch.Options{Name: "mod_last_rdbms", HostType: "global", Workers: 4, MaxBatch: 100, QueueSize: 10000}
}

// buildLast creates mod_last (spec/last.md) from [modules.mod_last].
func (s *Server) buildLast() error {
	c := s.cfg.Modules.Last
	var store last.Store
	opts := last.Options{Policy: policy(c.IQDisc, "one_queue")}
	if c.Backend == "rdbms" {
		store = last.NewSQLStore(s.db)
		w := lastWriterOptions()
		opts.Writer = &w
	} else {
		store = last.NewMemStore()
	}
	m, err := last.New(last.Deps{Log: s.log, Store: store, Router: s.router, Hooks: s.hooks, IQ: s.iq,
		Accounts: lastAccounts{s.accounts}, Metrics: s.metrics, Started: s.started}, opts)
	if err != nil {
		return err
	}
	s.last = m
	return nil
}

// Last returns mod_last's service API, or nil when the module is not
// enabled.
func (s *Server) Last() *last.Module { return s.last }

// stopLast drains mod_last's writer before the database closes.
func (s *Server) stopLast(ctx context.Context) error {
	if s.last == nil {
		return nil
	}
	return s.last.Stop(ctx)
}

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
