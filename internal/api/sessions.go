package api

import (
	"strings"
	"time"
)

// sessions lists the sessions of a domain (all when domain is nil); an
// unknown domain is domain_not_found.
func (r *Resolver) sessions(domain *string) ([]SessionInfo, error) {
	d := ""
	if domain != nil {
		d = *domain
		if !r.deps.Router.IsLocal(d) {
			return nil, apiErr("domain_not_found", "Domain not found", "domain", d)
		}
	}
	return r.deps.Sessions.List(d), nil
}

func (r *Resolver) session(s SessionInfo) *Session {
	conn, ip, port, prio, node := s.Connection, s.IP, s.Port, s.Priority, r.deps.Node
	up := int(time.Since(s.Since) / time.Second)
	return &Session{User: s.JID, Connection: &conn, IP: &ip, Port: &port, Priority: &prio, Node: &node, Uptime: &up}
}

// withStatus matches a session against a status of listUsersWithStatus:
// "available" (or "online") is an available session without <show/>, the
// others are show values.
func withStatus(s SessionInfo, status string) bool {
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
