package server

import (
	"hash/fnv"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/mod/mam"
)

// newMam creates mod_mam (docs/modules/mod_mam.md) from [modules.mod_mam].
func (s *Server) newMam(c config.ModMam) (*mam.Module, error) {
	return mam.New(mam.Deps{Log: s.log, Store: mam.NewSQLStore(s.db), Router: s.router, Hooks: s.hooks, IQ: s.iq,
		Accounts: s.accounts.Store(), Domains: s.cfg.Hosts(), Node: s.mamNode(), Metrics: s.metrics}, c)
}

// mamNode is this node's number in archive ids: 0 on a single node; in a
// cluster a hash of the node name (docs/modules/mod_mam.md, "Ids").
func (s *Server) mamNode() uint8 {
	if s.cluster == nil {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(s.cluster.Name()))
	return uint8(h.Sum32())
}

// Mam returns mod_mam's service API, or nil when the module is not
// enabled.
func (s *Server) Mam() *mam.Module { return s.mam }
