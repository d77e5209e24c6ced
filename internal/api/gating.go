package api

import "strings"

// requireModules implements module gating (spec/server.md §2.5) for a field
// whose host type is that of domain: when a module is not running there
// the field fails with deps_not_loaded. An unknown domain skips the check,
// so the resolver reports domain_not_found itself. Categories added by
// later features call it first, e.g. r.requireModules(domain, "mod_inbox").
func (r *Resolver) requireModules(domain string, modules ...string) error {
	if r.deps.Router == nil || !r.deps.Router.IsLocal(domain) {
		return nil
	}
	var missing []string
	for _, m := range modules {
		if r.deps.ModuleEnabled == nil || !r.deps.ModuleEnabled(domain, m) {
			missing = append(missing, m)
		}
	}
	return notLoaded(missing, nil)
}

// notLoaded builds the deps_not_loaded error for missing modules and
// services, or returns nil when nothing is missing.
func notLoaded(modules, services []string) error {
	var kinds []string
	e := &Error{Code: "deps_not_loaded", Ext: map[string]any{}}
	if len(modules) > 0 {
		kinds = append(kinds, "modules")
		e.Ext["not_loaded_modules"] = modules
	}
	if len(services) > 0 {
		kinds = append(kinds, "services")
		e.Ext["not_loaded_services"] = services
	}
	if len(kinds) == 0 {
		return nil
	}
	e.Message = "Some of the required " + strings.Join(kinds, " and ") + " are not loaded"
	return e
}
