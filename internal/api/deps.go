// Package api serves Gander's GraphQL admin API over HTTP
// (spec/server.md §2): the admin schema on the "admin" and "domain_admin"
// endpoints, with HTTP Basic authentication, the protection rules of
// @protected, category switches and the reference's error format.
//
// The resolvers call the services directly: the features' own service APIs
// (internal/mod/...) and the core's, through small interfaces declared here
// and next to each category, which internal/server fills with the
// components it built. A feature's errors carry their GraphQL code
// (codedError) and are reported as they are. Features never import this
// package.
package api

import (
	"context"
	"log/slog"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Accounts is the account service (internal/auth). Implementations must be
// safe for concurrent use. Errors are auth's sentinels (ErrUserExists,
// ErrUserNotFound, ErrBadPassword, ErrInvalidUser), possibly wrapped.
type Accounts interface {
	Register(ctx context.Context, domain, username, password string) (jid.JID, error)
	Remove(ctx context.Context, user jid.JID) error
	SetPassword(ctx context.Context, user jid.JID, password string) error
	CheckPassword(ctx context.Context, user jid.JID, password string) (bool, error)
	UserExists(ctx context.Context, server, username string) (bool, error)
	ListUsers(ctx context.Context, server string, limit, offset int) ([]string, error)
	CountUsers(ctx context.Context, server string) (int, error)
}

// Router routes stanzas. Implementations must be safe for concurrent use.
type Router interface {
	// RouteFromUser routes el as if from's client had sent it: the same
	// hooks as the c2s path (user_send: mod_inbox's outgoing write), then
	// routing.
	RouteFromUser(ctx context.Context, from, to jid.JID, el *xmlstream.Element)
	IsLocal(domain string) bool
	Domains() []string
}

// DomainAdmins keeps the passwords of domain administrators. It is nil
// when [services.service_domain_db] is not configured.
type DomainAdmins interface {
	SetPassword(ctx context.Context, domain, password string) error
	DeletePassword(ctx context.Context, domain string) error
	// CheckPassword reports whether password is the domain's admin
	// password; false when none is set.
	CheckPassword(ctx context.Context, domain, password string) (bool, error)
}

// Deps are the services the admin API drives.
type Deps struct {
	Log      *slog.Logger
	Accounts Accounts
	Sessions Sessions
	// Presence is mod_presence, nil when the module is not enabled.
	Presence     Presence
	Router       Router
	DomainAdmins DomainAdmins
	// Last is mod_last's service (the last category); nil leaves the
	// category's fields failing with deps_not_loaded.
	Last Last
	// Broadcasts is mod_broadcast's service (the broadcast category); nil
	// leaves the category's fields failing with deps_not_loaded (or
	// domain_not_found for unknown domains).
	Broadcasts Broadcasts
	// Inbox is mod_inbox's bin service (the inbox category); nil leaves
	// the category's fields failing with deps_not_loaded.
	Inbox Inbox
	// Node is the node name shown in messages (general.node_name).
	Node string
	// Version is the server version.
	Version string
	// MaxUsersPerDomain caps accounts per domain; 0 means no cap.
	MaxUsersPerDomain int
	// ModuleEnabled reports whether a module (e.g. "mod_inbox") runs for a
	// host type; nil means none does. Used for module gating.
	ModuleEnabled func(hostType, module string) bool
	// Subdomain returns the served domain of a subdomain of it (e.g. the
	// MUC Light domain muclight.<domain>), or ""; nil means none. A
	// domain admin may use its domain's subdomains, and gating uses the
	// served domain.
	Subdomain func(domain string) string
	// MucLight is mod_muc_light, nil when the module is not enabled.
	MucLight MucLight
	// Mam is mod_mam, nil when the module is not enabled.
	Mam Mam
}
