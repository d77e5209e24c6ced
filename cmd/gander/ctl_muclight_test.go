package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
)

// TestCtlMucLight: the muc_light category comes to gander ctl from the
// schema, with list and input-object arguments as JSON.
func TestCtlMucLight(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(config.WithoutModules(config.DefaultTOML, "mod_muc_light")+"\n[modules.mod_muc_light]\n"), "test.toml")
	require.NoError(t, err)
	flags, _ := ctlServerWith(t, cfg)

	code, _, out := runCtl(t, flags, "muc_light", "--help")
	require.Equal(t, 0, code, out)
	for _, op := range []string{"createRoom", "inviteUser", "kickUser", "sendMessageToRoom", "deleteRoom", "getRoomConfig", "listUserRooms", "setBlockingList"} {
		require.Contains(t, out, op)
	}
	code, _, out = runCtl(t, flags, "account", "registerUser", "--domain", "localhost", "--username", "alice", "--password", "pw")
	require.Equal(t, 0, code, out)
	code, m, out := runCtl(t, flags, "muc_light", "createRoom", "--mucDomain", "muclight.localhost", "--owner", "alice@localhost",
		"--id", "den", "--options", `{"key": "roomname", "value": "The Den"}`)
	require.Equal(t, 0, code, out)
	room := m["data"].(map[string]any)["muc_light"].(map[string]any)["createRoom"].(map[string]any)
	require.Equal(t, "den@muclight.localhost", room["jid"])
	require.Equal(t, "The Den", room["name"])
	code, m, out = runCtl(t, flags, "muc_light", "listUserRooms", "--user", "alice@localhost")
	require.Equal(t, 0, code, out)
	require.Equal(t, []any{"den@muclight.localhost"}, m["data"].(map[string]any)["muc_light"].(map[string]any)["listUserRooms"])
	code, m, out = runCtl(t, flags, "muc_light", "setBlockingList", "--user", "alice@localhost", "--items", `{"entityType": "USER", "entity": "bob@localhost"}`)
	require.Equal(t, 0, code, out)
	require.NotNil(t, m["data"].(map[string]any)["muc_light"].(map[string]any)["setBlockingList"], out)
	code, m, out = runCtl(t, flags, "muc_light", "deleteRoom", "--room", "den@muclight.localhost")
	require.Equal(t, 0, code, out)
	require.Equal(t, "Room deleted successfully", m["data"].(map[string]any)["muc_light"].(map[string]any)["deleteRoom"])
	code, m, out = runCtl(t, flags, "muc_light", "deleteRoom", "--room", "den@muclight.localhost")
	require.Equal(t, 1, code, out)
	require.Equal(t, "room_not_found", m["errors"].([]any)[0].(map[string]any)["extensions"].(map[string]any)["code"])
}
