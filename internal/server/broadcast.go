package server

import (
	"context"
	"fmt"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/broadcast"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// buildBroadcast creates mod_broadcast when it is enabled; Validate has
// checked its prerequisites (spec/broadcast.md §1).
func (s *Server) buildBroadcast() error {
	m := s.cfg.Modules.Broadcast
	if m == nil {
		return nil
	}
	domains := map[string]string{}
	for _, h := range s.cfg.Hosts() {
		domains[h] = h // a static host is its own host type
	}
	mod, err := broadcast.New(broadcast.Options{
		Log:       s.log.With("module", "mod_broadcast"),
		Node:      s.cfg.General.NodeName,
		LeaseTime: time.Duration(m.LeaseTime) * time.Second,
		Domains:   domains,
		Store:     broadcast.NewSQLStore(s.db),
		Accounts:  s.accounts.Store(),
		Router:    broadcastRouter{s.router},
		Metrics:   s.metrics,
	})
	if err != nil {
		return fmt.Errorf("mod_broadcast: %w", err)
	}
	s.broadcast = mod
	return nil
}

// Broadcast returns the mod_broadcast service, or nil when the module is
// not enabled (used by the admin API and tests).
func (s *Server) Broadcast() *broadcast.Module { return s.broadcast }

// broadcastRouter routes broadcast messages into normal routing (live
// sessions, offline storage when nobody is online). The router reports
// delivery problems to the sender as stanza errors rather than to the
// caller, so only a failure inside routing counts as a skipped recipient.
type broadcastRouter struct{ r *router.Router }

func (b broadcastRouter) Route(ctx context.Context, from, to jid.JID, el *xmlstream.Element) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("routing failed: %v", p)
		}
	}()
	b.r.Route(ctx, from, to, el)
	return nil
}
