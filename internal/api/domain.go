package api

// domainAdmins checks that domain-admin passwords can be kept (spec/server.md
// §2.3 and §2.5: they need [services.service_domain_db]) and that domain
// exists.
func (r *Resolver) domainAdmins(domain string) error {
	if r.deps.DomainAdmins == nil {
		return notLoaded(nil, []string{"service_domain_db"})
	}
	if !r.deps.Router.IsLocal(domain) {
		return apiErr("domain_not_found", "Given domain does not exist", "domain", domain)
	}
	return nil
}
