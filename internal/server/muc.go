package server

import (
	"github.com/gander-xmpp/gander/internal/mod/muc"
)

// buildMuc creates mod_muc (classic MUC, docs/modules/mod_muc.md) on every
// served domain. Rooms are kept in memory.
func (s *Server) buildMuc() {
	s.muc = muc.New(muc.Deps{Log: s.log, Router: s.router, Hooks: s.hooks, Metrics: s.metrics},
		*s.cfg.Modules.Muc, s.cfg.Hosts())
}

// Muc returns the classic MUC service, or nil when mod_muc is not enabled.
func (s *Server) Muc() *muc.Module { return s.muc }

// stopMuc unregisters mod_muc's services.
func (s *Server) stopMuc() {
	if s.muc != nil {
		s.muc.Stop()
	}
}
