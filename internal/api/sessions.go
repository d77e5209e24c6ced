package api

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Sessions is the session table (*router.Router) as the session category
// reads it; router.Session stands for every kind of session. It must be
// safe for concurrent use.
type Sessions interface {
	// AllSessions returns every session.
	AllSessions() []router.Session
	// Sessions returns the sessions of a bare JID, sorted by resource.
	Sessions(bare jid.JID) []router.Session
	// Session returns the session of a full JID, or nil.
	Session(full jid.JID) router.Session
}

// Presence is mod_presence as setPresence drives it: el is processed as if
// the session had sent it. It is nil when the module is not enabled.
type Presence interface {
	FromClient(ctx context.Context, s router.Session, el *xmlstream.Element)
}

// sessions lists the sessions of a domain (all when domain is nil), sorted
// by JID; an unknown domain is domain_not_found.
func (r *Resolver) sessions(domain *string) ([]router.SessionInfo, error) {
	d := ""
	if domain != nil {
		d = *domain
		if !r.deps.Router.IsLocal(d) {
			return nil, apiErr("domain_not_found", "Domain not found", "domain", d)
		}
	}
	var out []router.SessionInfo
	for _, s := range r.deps.Sessions.AllSessions() {
		if d == "" || s.JID().Domain() == d {
			out = append(out, s.Info())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID.String() < out[j].JID.String() })
	return out, nil
}

// UserSessions returns the sessions of a bare JID, sorted by resource.
func UserSessions(d Deps, bare jid.JID) []router.SessionInfo {
	var out []router.SessionInfo
	for _, s := range d.Sessions.Sessions(bare) {
		out = append(out, s.Info())
	}
	return out
}

// Kick closes the session of a full JID, or every session of a bare JID,
// with a policy-violation stream error carrying reason; it returns how
// many sessions it closed.
func Kick(d Deps, user jid.JID, reason string) int {
	var targets []router.Session
	for _, s := range d.Sessions.Sessions(user.Bare()) {
		if user.IsBare() || s.JID() == user {
			targets = append(targets, s)
		}
	}
	for _, s := range targets {
		s.Kick(reason)
	}
	return len(targets)
}

// setPresence processes presence as if the session of the full JID had
// sent it; false means there is no such session.
func (r *Resolver) setPresence(ctx context.Context, full jid.JID, p *xmlstream.Element) bool {
	s := r.deps.Sessions.Session(full)
	if s == nil {
		return false
	}
	if r.deps.Presence != nil {
		r.deps.Presence.FromClient(ctx, s, p)
		return true
	}
	// Without mod_presence only the session's own state changes.
	if p.Attr("type") == "unavailable" {
		s.SetPresence(nil, 0)
	} else {
		s.SetPresence(p, 0)
	}
	return true
}

// SessionOf is a session as the schema shows it.
func SessionOf(d Deps, s router.SessionInfo) *Session {
	conn, prio, node := s.Connection, s.Priority, d.Node
	var ip string
	var port int
	if s.Addr.IsValid() {
		ip, port = s.Addr.Addr().String(), int(s.Addr.Port())
	}
	up := int(time.Since(s.Since) / time.Second)
	return &Session{User: s.JID, Connection: &conn, IP: &ip, Port: &port, Priority: &prio, Node: &node, Uptime: &up}
}

// withStatus matches a session against a status of listUsersWithStatus:
// "available" (or "online") is an available session without <show/>, the
// others are show values.
func withStatus(s router.SessionInfo, status string) bool {
	if !s.Available {
		return false
	}
	switch status {
	case "available", "online":
		return s.Show == ""
	}
	return s.Show == status
}

func lower(s string) string { return strings.ToLower(s) }
