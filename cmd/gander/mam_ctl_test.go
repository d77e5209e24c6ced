package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
)

// TestCtlMam: the archive's operations come to gander ctl from the schema
// (stanza getLastMessages, muc_light getRoomMessages).
func TestCtlMam(t *testing.T) {
	t.Parallel()
	parsed, err := config.Parse([]byte(config.DefaultTOML+"\n[modules.mod_mam]\n[modules.mod_mam.pm]\n[modules.mod_mam.muc]\nhost = \"muclight.@HOST@\"\n"), "t.toml")
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Modules.Mam = parsed.Modules.Mam
	flags, srv := ctlServerWith(t, cfg)
	ctx := context.Background()
	for _, u := range []string{"alice", "bob"} {
		_, err := srv.Accounts().Register(ctx, "localhost", u, "pw")
		require.NoError(t, err)
	}
	code, _, out := runCtl(t, flags, "stanza", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "getLastMessages")
	code, _, out = runCtl(t, flags, "muc_light", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "getRoomMessages")

	for _, body := range []string{"first", "second"} {
		code, _, out = runCtl(t, flags, "stanza", "sendMessage", "--from", "alice@localhost", "--to", "bob@localhost", "--body", body)
		require.Equal(t, 0, code, out)
	}
	code, m, out := runCtl(t, flags, "stanza", "getLastMessages", "--caller", "bob@localhost", "--limit", "1")
	require.Equal(t, 0, code, out)
	p := m["data"].(map[string]any)["stanza"].(map[string]any)["getLastMessages"].(map[string]any)
	require.EqualValues(t, 1, p["limit"])
	ss := p["stanzas"].([]any)
	require.Len(t, ss, 1)
	s := ss[0].(map[string]any)
	require.Equal(t, "alice@localhost", s["sender"])
	require.Contains(t, s["stanza"], "<body>second</body>")
	require.Len(t, s["stanza_id"], 12)
	code, m, out = runCtl(t, flags, "stanza", "getLastMessages", "--caller", "nobody@localhost")
	require.Equal(t, 1, code, out)
	require.Equal(t, "unknown_user", m["errors"].([]any)[0].(map[string]any)["extensions"].(map[string]any)["code"])

	code, _, out = runCtl(t, flags, "muc_light", "createRoom", "--mucDomain", "muclight.localhost", "--owner", "alice@localhost", "--id", "den")
	require.Equal(t, 0, code, out)
	code, _, out = runCtl(t, flags, "muc_light", "sendMessageToRoom", "--room", "den@muclight.localhost", "--from", "alice@localhost", "--body", "in the den")
	require.Equal(t, 0, code, out)
	code, m, out = runCtl(t, flags, "muc_light", "getRoomMessages", "--room", "den@muclight.localhost", "--pageSize", "1")
	require.Equal(t, 0, code, out)
	p = m["data"].(map[string]any)["muc_light"].(map[string]any)["getRoomMessages"].(map[string]any)
	ss = p["stanzas"].([]any)
	require.Len(t, ss, 1)
	require.Equal(t, "den@muclight.localhost/alice@localhost", ss[0].(map[string]any)["sender"])
	require.Contains(t, ss[0].(map[string]any)["stanza"], "in the den")
}
