package server

import (
	"context"

	"github.com/gander-xmpp/gander/internal/mod/muclight"
)

// buildMucLight creates mod_muc_light (spec/muclight.md) on every served
// domain, with SQL storage for backend "rdbms" and the in-memory store for
// "mnesia".
func (s *Server) buildMucLight() {
	opts := s.cfg.Modules.MucLight
	var store muclight.Store = muclight.NewMemStore()
	if opts.Backend == "rdbms" {
		store = muclight.NewSQLStore(s.db)
	}
	s.mucLight = muclight.New(context.Background(), muclight.Deps{Log: s.log, Store: store, Router: s.router,
		Hooks: s.hooks, Accounts: s.accounts.Store(), Metrics: s.metrics}, *opts, s.cfg.Hosts())
}

// MucLight returns the MUC Light service API, or nil when mod_muc_light is
// not enabled (for the GraphQL resolvers and tests).
func (s *Server) MucLight() *muclight.Module { return s.mucLight }

// stopMucLight unregisters mod_muc_light's services and waits for its
// cache's background reads (before the database closes).
func (s *Server) stopMucLight() {
	if s.mucLight != nil {
		s.mucLight.Stop()
	}
}
