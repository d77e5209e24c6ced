package api

import "context"

//go:generate go tool gqlgen generate --config gqlgen.yml

// Resolver is the root of the admin schema's resolvers; it holds the
// services the API drives.
type Resolver struct {
	deps    Deps
	allowed []string // allowed_categories; nil means all
}

// category returns the category object when the category is enabled on
// this endpoint, else the category_disabled error (spec/server.md §2.6).
func category[T any](r *Resolver, name string) (*T, error) {
	if !allowed(r.allowed, name) {
		return nil, apiErr("category_disabled", "Category disabled", "category", name)
	}
	return new(T), nil
}

// domainAdminOf returns the domain of a domain-admin caller, or "".
func domainAdminOf(ctx context.Context) string {
	if c := callerFrom(ctx); c.kind == EndpointDomainAdmin {
		return c.domain
	}
	return ""
}

// deref is *p, or def for nil (an optional argument).
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// Deref is deref for the user schema's resolvers.
func Deref[T any](p *T, def T) T { return deref(p, def) }
