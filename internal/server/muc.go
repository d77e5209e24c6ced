package server

import (
	"github.com/gander-xmpp/gander/internal/mod/muc"
)

// Muc returns the classic MUC service (docs/modules/mod_muc.md), or nil
// when mod_muc is not enabled.
func (s *Server) Muc() *muc.Module { return s.muc }
