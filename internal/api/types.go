package api

// The category objects carry no data of their own: every field has a
// resolver. They are bound in gqlgen.yml so that gqlgen does not generate
// models with fields for them.

// AccountAdminQuery is the account category of queries.
type AccountAdminQuery struct{}

// AccountAdminMutation is the account category of mutations.
type AccountAdminMutation struct{}

// DomainAdminQuery is the domain category of queries.
type DomainAdminQuery struct{}

// DomainAdminMutation is the domain category of mutations.
type DomainAdminMutation struct{}

// SessionAdminQuery is the session category of queries.
type SessionAdminQuery struct{}

// SessionAdminMutation is the session category of mutations.
type SessionAdminMutation struct{}

// StanzaAdminMutation is the stanza category of mutations.
type StanzaAdminMutation struct{}

// StanzaAdminQuery is the stanza category of queries.
type StanzaAdminQuery struct{}

// ServerAdminQuery is the server category of queries.
type ServerAdminQuery struct{}

// MUCLightAdminQuery is the muc_light category of queries.
type MUCLightAdminQuery struct{}

// MUCLightAdminMutation is the muc_light category of mutations.
type MUCLightAdminMutation struct{}
