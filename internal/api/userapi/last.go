package userapi

import (
	"github.com/gander-xmpp/gander/internal/api"
)

// LastUserQuery is the last category of queries.
type LastUserQuery struct{}

// LastUserMutation is the last category of mutations.
type LastUserMutation struct{}

// requireLast gates the last category on mod_last for the caller's own
// domain (spec/last.md §6.3).
func (r *Resolver) requireLast(domain string) error {
	if r.deps.Last == nil {
		return api.NewError("deps_not_loaded", "Some of the required modules are not loaded", "not_loaded_modules", []string{"mod_last"})
	}
	return api.RequireModules(r.deps, domain, "mod_last")
}
