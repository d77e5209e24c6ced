// Package userapi is the user GraphQL schema (schema_endpoint = "user"):
// what an XMPP account may do for itself, authenticated with its own bare
// JID and password (spec/server.md §2.3). The transport, authentication,
// protection rules and error format are internal/api's.
package userapi

import (
	"context"

	"github.com/gander-xmpp/gander/internal/api"
	"github.com/gander-xmpp/gander/internal/jid"
)

//go:generate go tool gqlgen generate --config gqlgen.yml

// NewHandler returns the handler of a user endpoint.
func NewHandler(opts api.Options, deps api.Deps) *api.Handler {
	opts.Endpoint = api.EndpointUser
	return api.NewSchemaHandler(opts, deps, NewExecutableSchema(Config{Resolvers: &Resolver{deps: deps, allowed: opts.AllowedCategories}}))
}

// Resolver is the root of the user schema's resolvers.
type Resolver struct {
	deps    api.Deps
	allowed []string
}

// AccountUserMutation is the account category of mutations.
type AccountUserMutation struct{}

// SessionUserQuery is the session category of queries.
type SessionUserQuery struct{}

// StanzaUserMutation is the stanza category of mutations.
type StanzaUserMutation struct{}

// StanzaUserQuery is the stanza category of queries.
type StanzaUserQuery struct{}

func category[T any](r *Resolver, name string) (*T, error) {
	if !api.CategoryAllowed(r.allowed, name) {
		return nil, api.NewError("category_disabled", "Category disabled", "category", name)
	}
	return new(T), nil
}

// me is the authenticated account; the categories are @protected, so the
// request was refused before execution if there is none.
func (r *Resolver) me(ctx context.Context) jid.JID {
	me, _ := api.UserFrom(ctx)
	return me
}

// MUCLightUserQuery is the muc_light category of queries.
type MUCLightUserQuery struct{}

// MUCLightUserMutation is the muc_light category of mutations.
type MUCLightUserMutation struct{}

func (r *Resolver) mucLight() api.MucLightAPI { return api.NewMucLightAPI(r.deps) }
