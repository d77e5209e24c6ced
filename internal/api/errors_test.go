package api

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/mod/broadcast"
	"github.com/gander-xmpp/gander/internal/mod/inbox"
	"github.com/gander-xmpp/gander/internal/mod/muclight"
)

// TestAsError checks the one mapping from resolver errors to the GraphQL
// error format: the features' coded errors keep their code and message,
// context keys come from the error and from the resolver, deps_not_loaded
// keeps only its own, and an error without a code is no *Error (a crash).
func TestAsError(t *testing.T) {
	for name, c := range map[string]struct {
		err  error
		want *Error
	}{
		"api error": {withContext(apiErr("no_session", "Given session does not exist", "jid", "a@b/c"), "x", 1),
			&Error{Code: "no_session", Message: "Given session does not exist", Ext: map[string]any{"jid": "a@b/c", "x": 1}}},
		"feature error with resolver context": {withContext(broadcast.ErrRunningJobLimitExceeded, "domain", "localhost", "name", "n"),
			&Error{Code: "running_job_limit_exceeded", Message: "Cannot start new broadcast job: running job limit exceeded",
				Ext: map[string]any{"domain": "localhost", "name": "n"}}},
		"feature error with own context": {&inbox.Error{Code: "domain_not_found", Message: "Domain not found", Key: "domain", Value: "x.org"},
			&Error{Code: "domain_not_found", Message: "Domain not found", Ext: map[string]any{"domain": "x.org"}}},
		"deps_not_loaded keeps its keys": {withContext(fmt.Errorf("wrapped: %w", broadcast.ErrNotLoaded), "domain", "localhost"),
			&Error{Code: "deps_not_loaded", Message: "Some of the required modules are not loaded",
				Ext: map[string]any{"not_loaded_modules": []string{"mod_broadcast"}}}},
		"variant of a sentinel": {withContext(muclight.ErrNotAllowed, "room", "r@muclight.localhost"),
			&Error{Code: "not_allowed", Message: muclight.ErrNotAllowed.Message, Ext: map[string]any{"room": "r@muclight.localhost"}}},
		"validation error": {&muclight.ValidationError{Key: "roomname", Reason: "type_error"},
			&Error{Code: "validation_error", Message: "Validation failed for key: roomname with reason type_error"}},
	} {
		t.Run(name, func(t *testing.T) {
			got, ok := asError(c.err)
			require.True(t, ok)
			require.Equal(t, c.want, got)
		})
	}
	_, ok := asError(withContext(errors.New("database is down"), "domain", "localhost"))
	require.False(t, ok, "an error without a code is a resolver crash")
}
