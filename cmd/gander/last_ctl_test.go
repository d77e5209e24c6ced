package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
)

// TestCtlLast: the last category comes to gander ctl from the schema.
func TestCtlLast(t *testing.T) {
	t.Parallel()
	flags := []string{"ctl", "--url", "http://127.0.0.1:1/api/graphql"}
	code, _, out := runCtl(t, flags, "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "last")
	code, _, out = runCtl(t, flags, "last", "--help")
	require.Equal(t, 0, code)
	for _, cmd := range []string{"getLast", "setLast", "countActiveUsers", "listOldUsers", "removeOldUsers"} {
		require.Contains(t, out, cmd)
	}

	cfg := config.Default()
	cfg.Modules.Last = &config.ModLast{Backend: "rdbms"}
	flags, srv := ctlServerWith(t, cfg)
	ctx := context.Background()
	_, err := srv.Accounts().Register(ctx, "localhost", "alice", "pw")
	require.NoError(t, err)

	want := map[string]any{"user": "alice@localhost", "timestamp": "2022-04-17T12:58:30.000000Z", "status": "First status"}
	code, m, out := runCtl(t, flags, "last", "setLast", "--user", "alice@localhost", "--timestamp", "2022-04-17T12:58:30Z", "--status", "First status")
	require.Equal(t, 0, code, out)
	require.Equal(t, want, m["data"].(map[string]any)["last"].(map[string]any)["setLast"])
	code, m, out = runCtl(t, flags, "last", "getLast", "--user", "alice@localhost")
	require.Equal(t, 0, code, out)
	require.Equal(t, want, m["data"].(map[string]any)["last"].(map[string]any)["getLast"])
	code, m, out = runCtl(t, flags, "last", "listOldUsers", "--domain", "localhost", "--timestamp", "2023-01-01T00:00:00Z")
	require.Equal(t, 0, code, out)
	require.Equal(t, []any{map[string]any{"jid": "alice@localhost", "timestamp": "2022-04-17T12:58:30.000000Z"}},
		m["data"].(map[string]any)["last"].(map[string]any)["listOldUsers"])
	code, m, out = runCtl(t, flags, "last", "getLast", "--user", "bob@localhost")
	require.Equal(t, 1, code, out)
	require.Equal(t, "user_does_not_exist", m["errors"].([]any)[0].(map[string]any)["extensions"].(map[string]any)["code"])
}
