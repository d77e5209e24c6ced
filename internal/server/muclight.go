package server

import (
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/mod/muclight"
)

// newMucLight creates mod_muc_light (spec/muclight.md) on every served
// domain, with SQL storage for backend "rdbms" and the in-memory store for
// "mnesia".
func (s *Server) newMucLight(c config.ModMucLight) (*muclight.Module, error) {
	var store muclight.Store = muclight.NewMemStore()
	if c.Backend == "rdbms" {
		store = muclight.NewSQLStore(s.db)
	}
	return muclight.New(muclight.Deps{Log: s.log, Store: store, Router: s.router, Hooks: s.hooks,
		Accounts: s.accounts.Store(), Metrics: s.metrics, Domains: s.cfg.Hosts()}, c)
}

// MucLight returns the MUC Light service API, or nil when mod_muc_light is
// not enabled (for the GraphQL resolvers and tests).
func (s *Server) MucLight() *muclight.Module { return s.mucLight }
