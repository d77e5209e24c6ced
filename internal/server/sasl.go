package server

import (
	"errors"

	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/c2s"
)

// authenticator adapts the auth package to the c2s, which does not import
// storage (ARCHITECTURE.md: the core imports no database code).
type authenticator struct {
	lookup auth.CredentialLookup
}

func (a authenticator) NewExchange(mech, server string) (c2s.Exchange, error) {
	return auth.NewExchange(mech, server, a.lookup)
}

// Condition maps auth errors to SASL failure conditions (RFC 6120 §6.5).
func (authenticator) Condition(err error) string {
	switch {
	case errors.Is(err, auth.ErrMalformedRequest):
		return "malformed-request"
	case errors.Is(err, auth.ErrInvalidAuthzid):
		return "invalid-authzid"
	case errors.Is(err, auth.ErrTemporaryFailure):
		return "temporary-auth-failure"
	case errors.Is(err, auth.ErrInvalidMechanism):
		return "invalid-mechanism"
	default:
		return "not-authorized"
	}
}
