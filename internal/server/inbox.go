package server

import (
	"context"
	"time"

	"github.com/gander-xmpp/gander/internal/batch"
	"github.com/gander-xmpp/gander/internal/mod/inbox"
)

// buildInbox creates mod_inbox (spec/inbox.md) from [modules.mod_inbox].
// Backend "rdbms_async" puts writes through internal/batch with
// async_writer.pool_size workers (docs/modules/mod_inbox.md).
func (s *Server) buildInbox() error {
	c := s.cfg.Modules.Inbox
	d := inbox.Deps{Log: s.log, Store: inbox.NewSQLStore(s.db), Router: s.router, Hooks: s.hooks,
		IQ: s.iq, Accounts: s.accounts.Store(), Metrics: s.metrics}
	if c.Backend == "rdbms_async" {
		d.Async = &batch.Options{Name: "inbox", HostType: "global", Workers: c.AsyncWriter.PoolSize,
			MaxBatch: c.AsyncWriter.BatchSize, FlushInterval: time.Duration(c.AsyncWriter.FlushInterval) * time.Millisecond,
			QueueSize: 10000, Metrics: s.metrics, Log: s.log}
	}
	if s.mucLight != nil {
		d.LightService = s.mucLight.IsService
	}
	m, err := inbox.New(d, *c, policy(c.IQDisc, "no_queue"))
	if err != nil {
		return err
	}
	s.inbox = m
	return nil
}

// Inbox returns mod_inbox's service API, or nil when the module is not
// enabled.
func (s *Server) Inbox() *inbox.Module { return s.inbox }

// stopInbox stops mod_inbox's bin cleaner and drains its asynchronous
// writer before the database closes.
func (s *Server) stopInbox(ctx context.Context) error {
	if s.inbox == nil {
		return nil
	}
	return s.inbox.Stop(ctx)
}
