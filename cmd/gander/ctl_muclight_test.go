package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/server"
)

// TestCtlMucLight: the muc_light category comes to gander ctl from the
// schema, with list and input-object arguments as JSON.
func TestCtlMucLight(t *testing.T) {
	cfg, err := config.Parse([]byte(config.DefaultTOML+"\n[modules.mod_muc_light]\n"), "test.toml")
	require.NoError(t, err)
	cfg.Listen.C2S[0].Port = 0
	cfg.Auth.Password.ScramIterations = 4096
	cfg.Listen.HTTP = []config.HTTP{{IPAddress: "127.0.0.1", Handlers: config.Handlers{GraphQL: []config.GraphQLHandler{
		{Host: "_", Path: "/api/graphql", SchemaEndpoint: "admin", Username: "admin", Password: "secret"}}}}}
	ctx := context.Background()
	srv, err := server.New(ctx, cfg, server.Options{DataDir: t.TempDir(), Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, srv.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Stop(sctx)
	})
	flags := []string{"ctl", "--url", "http://" + srv.HTTPAddrs()[0].String() + "/api/graphql", "--user", "admin", "--password", "secret"}

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
