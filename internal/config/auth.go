package config

import (
	"fmt"
	"slices"
	"strings"
)

// authMethods are MongooseIM's auth methods.
func authMethods() []string {
	return []string{"internal", "rdbms", "anonymous", "dummy", "external", "http", "jwt", "ldap", "pki"}
}

// Auth is the [auth] section (spec/server.md §5.3).
type Auth struct {
	// Methods are the auth methods in order of use. Default: the methods
	// whose tables are present, alphabetically. Gander implements
	// "internal" and "rdbms".
	Methods []string `toml:"methods"`
	// SASLMechanisms are the offered mechanisms, in order. Default
	// ["scram_sha256", "scram_sha1", "plain"]. All of MongooseIM's names
	// are accepted; Gander implements scram_sha256, scram_sha1 and plain
	// and does not offer the others.
	SASLMechanisms []string `toml:"sasl_mechanisms"`
	// Password controls how passwords are stored.
	Password Password `toml:"password"`
	// RDBMS enables the rdbms method (pool "default") when non-nil.
	RDBMS *AuthRDBMS `toml:"rdbms"`
	// Internal enables the internal (in-memory) method when non-nil.
	Internal *AuthInternal `toml:"internal"`
	// MaxUsersPerDomain caps accounts per domain (Unlimited = no cap).
	MaxUsersPerDomain Limit `toml:"max_users_per_domain"`
	// AllowPlainWithoutTLS (Gander) offers PLAIN on unencrypted streams
	// (default false).
	AllowPlainWithoutTLS bool `toml:"allow_plain_without_tls"`
}

// Password is [auth.password].
type Password struct {
	// Format is "scram" (default) or "plain".
	Format string `toml:"format"`
	// Hash lists the SCRAM hashes stored; default all of "sha", "sha224",
	// "sha256", "sha384", "sha512".
	Hash []string `toml:"hash"`
	// ScramIterations is the PBKDF2 iteration count (default 10000).
	ScramIterations int `toml:"scram_iterations"`
}

// AuthRDBMS is [auth.rdbms].
type AuthRDBMS struct {
	// UsersNumberEstimate counts users from table statistics.
	UsersNumberEstimate bool `toml:"users_number_estimate"`
}

// AuthInternal is [auth.internal]; it has no options.
type AuthInternal struct{}

// saslMechanisms lists every name MongooseIM accepts.
func saslMechanisms() []string {
	return []string{"scram_sha512_plus", "scram_sha384_plus", "scram_sha256_plus",
		"scram_sha224_plus", "scram_sha1_plus", "scram_sha512", "scram_sha384",
		"scram_sha256", "scram_sha224", "scram_sha1", "plain", "anonymous", "oauth",
		"external"}
}

// ImplementedSASLMechanisms returns the mechanisms Gander implements, in
// preference order; the others in Auth.SASLMechanisms are ignored.
func ImplementedSASLMechanisms() []string {
	return []string{"scram_sha256", "scram_sha1", "plain"}
}

func (a *Auth) check(c *checker, key string) {
	if len(a.Methods) == 0 && !c.ix.has(key+".methods") {
		// spec/server.md §5.3: default = configured methods, alphabetically.
		if a.Internal != nil {
			a.Methods = append(a.Methods, "internal")
		}
		if a.RDBMS != nil {
			a.Methods = append(a.Methods, "rdbms")
		}
		if len(a.Methods) == 0 {
			// Gander has one method; a server nobody can log in to is not
			// what a file without [auth] asks for.
			a.Methods = []string{"rdbms"}
		}
	} else if len(a.Methods) == 0 {
		c.errorf(key+".methods", `must not be empty (nobody could log in): Gander implements "rdbms"`)
	}
	c.listOf(key+".methods", a.Methods, authMethods()...)
	for i, m := range a.Methods {
		if m != "rdbms" && slicesContain(authMethods(), m) {
			c.notImplemented(fmt.Sprintf("%s.methods[%d]", key, i), "the "+m+" auth method", `Gander implements "rdbms"`)
		}
	}
	if slices.Contains(a.Methods, "rdbms") && a.RDBMS == nil {
		a.RDBMS = &AuthRDBMS{}
	}
	if slices.Contains(a.Methods, "internal") && a.Internal == nil {
		a.Internal = &AuthInternal{}
	}
	if len(a.SASLMechanisms) == 0 && !c.ix.has(key+".sasl_mechanisms") {
		a.SASLMechanisms = ImplementedSASLMechanisms()
	}
	c.listOf(key+".sasl_mechanisms", a.SASLMechanisms, saslMechanisms()...)
	for i, m := range a.SASLMechanisms {
		if slicesContain(saslMechanisms(), m) && !slicesContain(ImplementedSASLMechanisms(), m) {
			c.notImplemented(fmt.Sprintf("%s.sasl_mechanisms[%d]", key, i), "the SASL mechanism "+m,
				"Gander implements "+strings.Join(ImplementedSASLMechanisms(), ", "))
		}
	}
	c.oneOf(key+".password.format", &a.Password.Format, "scram", "scram", "plain")
	if len(a.Password.Hash) == 0 && !c.ix.has(key+".password.hash") {
		a.Password.Hash = []string{"sha", "sha224", "sha256", "sha384", "sha512"}
	}
	c.listOf(key+".password.hash", a.Password.Hash, "sha", "sha224", "sha256", "sha384", "sha512")
	c.intDefault(key+".password.scram_iterations", &a.Password.ScramIterations, 10000, 1)
	c.checkLimit(key+".max_users_per_domain", a.MaxUsersPerDomain)
}
