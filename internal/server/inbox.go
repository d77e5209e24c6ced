package server

import (
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/mod/inbox"
)

// newInbox creates mod_inbox (spec/inbox.md) from [modules.mod_inbox].
func (s *Server) newInbox(c config.ModInbox) (*inbox.Module, error) {
	d := inbox.Deps{Log: s.log, Store: inbox.NewSQLStore(s.db), Router: s.router, Hooks: s.hooks,
		IQ: s.iq, Accounts: s.accounts.Store(), Metrics: s.metrics}
	if s.mucLight != nil {
		d.LightService = s.mucLight.IsService
	}
	return inbox.New(d, c)
}

// Inbox returns mod_inbox's service API, or nil when the module is not
// enabled.
func (s *Server) Inbox() *inbox.Module { return s.inbox }
