package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
)

// TestCtlInbox runs gander ctl inbox flushUserBin, flushDomainBin and
// flushGlobalBin against a server with rdbms_async, where MUC Light kicks
// (done with gander ctl muc_light) move room entries to the bin.
func TestCtlInbox(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(config.WithoutModules(config.DefaultTOML, "mod_muc_light", "mod_inbox")+"\n[modules.mod_muc_light]\n[modules.mod_inbox]\nbackend = \"rdbms_async\"\n"), "test.toml")
	require.NoError(t, err)
	flags, srv := ctlServerWith(t, cfg)
	ctx := context.Background()

	code, _, out := runCtl(t, flags, "inbox", "--help")
	require.Equal(t, 0, code, out)
	for _, op := range []string{"flushUserBin", "flushDomainBin", "flushGlobalBin"} {
		require.Contains(t, out, op)
	}
	for _, u := range []string{"alice", "bob", "kate", "mike"} {
		_, err := srv.Accounts().Register(ctx, "localhost", u, "pw")
		require.NoError(t, err)
	}
	ok := func(args ...string) any {
		t.Helper()
		code, m, out := runCtl(t, flags, args...)
		require.Equal(t, 0, code, out)
		require.Nil(t, m["errors"], out)
		return m["data"].(map[string]any)[args[0]].(map[string]any)[args[1]]
	}
	// Room r1 with bob, kate and mike, r2 with kate; kicks put entries
	// in the bin (asynchronous removal, spec/inbox.md §10.2).
	for _, room := range []string{"r1", "r2"} {
		ok("muc_light", "createRoom", "--mucDomain", "muclight.localhost", "--owner", "alice@localhost", "--id", room)
	}
	for _, u := range []string{"bob", "kate", "mike"} {
		ok("muc_light", "inviteUser", "--room", "r1@muclight.localhost", "--sender", "alice@localhost", "--recipient", u+"@localhost")
	}
	ok("muc_light", "inviteUser", "--room", "r2@muclight.localhost", "--sender", "alice@localhost", "--recipient", "kate@localhost")
	ok("muc_light", "sendMessageToRoom", "--room", "r1@muclight.localhost", "--from", "alice@localhost", "--body", "hello")
	for _, u := range []string{"bob", "kate", "mike"} {
		ok("muc_light", "kickUser", "--room", "r1@muclight.localhost", "--user", u+"@localhost")
	}
	require.NoError(t, srv.Inbox().Sync(ctx))

	require.EqualValues(t, 1, ok("inbox", "flushUserBin", "--user", "bob@localhost"))
	require.EqualValues(t, 0, ok("inbox", "flushUserBin", "--user", "bob@localhost"))
	code, m, out := runCtl(t, flags, "inbox", "flushUserBin", "--user", "zed@localhost")
	require.Equal(t, 1, code, out)
	require.Equal(t, "user_does_not_exist", m["errors"].([]any)[0].(map[string]any)["extensions"].(map[string]any)["code"])

	require.EqualValues(t, 0, ok("inbox", "flushDomainBin", "--domain", "localhost", "--days", "1"), "fresh entries are kept")
	require.EqualValues(t, 2, ok("inbox", "flushDomainBin", "--domain", "localhost"))
	code, m, out = runCtl(t, flags, "inbox", "flushDomainBin", "--domain", "example.org")
	require.Equal(t, 1, code, out)
	require.Equal(t, "domain_not_found", m["errors"].([]any)[0].(map[string]any)["extensions"].(map[string]any)["code"])

	ok("muc_light", "kickUser", "--room", "r2@muclight.localhost", "--user", "kate@localhost")
	require.NoError(t, srv.Inbox().Sync(ctx))
	require.EqualValues(t, 0, ok("inbox", "flushGlobalBin", "--hostType", "localhost", "--days", "1"))
	require.EqualValues(t, 1, ok("inbox", "flushGlobalBin", "--hostType", "localhost"))
	require.EqualValues(t, 0, ok("inbox", "flushGlobalBin", "--hostType", "localhost"))
}
