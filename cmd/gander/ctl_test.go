package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/sasl"
	"mellium.im/xmpp"
	mjid "mellium.im/xmpp/jid"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/server"
	"github.com/gander-xmpp/gander/internal/server/servertest"
)

// ctlServer starts a server on its default configuration; see
// ctlServerWith.
func ctlServer(t *testing.T) (flags []string, c2sAddr string) {
	t.Helper()
	flags, srv := ctlServerWith(t, config.Default())
	return flags, srv.C2SAddrs()[0].String()
}

// ctlServerWith starts a server with cfg on random ports, an admin
// endpoint that requires admin/secret and cheap SCRAM iterations, and
// returns the ctl flags that reach it and the server.
func ctlServerWith(t *testing.T, cfg *config.Config) ([]string, *server.Server) {
	t.Helper()
	srv := servertest.Start(t, servertest.WithAdminAPI(cfg), dbtest.Open(t, db.SQLite))
	return []string{"ctl", "--url", srv.AdminURL(), "--user", servertest.AdminUser, "--password", servertest.AdminPassword}, srv.Server
}

// runCtl runs gander ctl and decodes its JSON output.
func runCtl(t *testing.T, flags []string, args ...string) (int, map[string]any, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append(append([]string{}, flags...), args...), &out, &errb)
	var m map[string]any
	if out.Len() > 0 && strings.HasPrefix(strings.TrimSpace(out.String()), "{") {
		require.NoError(t, json.Unmarshal(out.Bytes(), &m), out.String())
	}
	return code, m, out.String() + errb.String()
}

func TestCtlRegisterLoginListKick(t *testing.T) {
	t.Parallel()
	flags, addr := ctlServer(t)
	code, m, out := runCtl(t, flags, "account", "registerUser", "--domain", "localhost", "--username", "alice", "--password", "secret pw")
	require.Equal(t, 0, code, out)
	require.Equal(t, "alice@localhost", m["data"].(map[string]any)["account"].(map[string]any)["registerUser"].(map[string]any)["jid"])

	// Errors come back as the API's JSON with a non-zero exit code.
	code, m, out = runCtl(t, flags, "account", "registerUser", "--domain", "localhost", "--username", "alice", "--password", "x")
	require.Equal(t, 1, code, out)
	require.Equal(t, "exists", m["errors"].([]any)[0].(map[string]any)["extensions"].(map[string]any)["code"])

	// The user logs in over XMPP with an independent client library.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	sess, err := xmpp.NewClientSession(ctx, mjid.MustParse("alice@localhost"), conn,
		xmpp.StartTLS(&tls.Config{ServerName: "localhost", InsecureSkipVerify: true}),
		xmpp.SASL("", "secret pw", sasl.ScramSha256), xmpp.BindResource())
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- sess.Serve(nil) }()
	t.Cleanup(func() { sess.Close(); conn.Close() })
	full := sess.LocalAddr().String()

	code, m, out = runCtl(t, flags, "session", "listSessions")
	require.Equal(t, 0, code, out)
	list := m["data"].(map[string]any)["session"].(map[string]any)["listSessions"].([]any)
	require.Len(t, list, 1)
	require.Equal(t, full, list[0].(map[string]any)["user"])

	code, m, out = runCtl(t, flags, "session", "kickUser", "--user", full, "--reason", "maintenance")
	require.Equal(t, 0, code, out)
	require.Equal(t, true, m["data"].(map[string]any)["session"].(map[string]any)["kickUser"].(map[string]any)["kicked"])
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the kicked session is still open")
	}
}

func TestCtlHelpAndUsageErrors(t *testing.T) {
	t.Parallel()
	flags := []string{"ctl", "--url", "http://127.0.0.1:1/api/graphql"}
	code, _, out := runCtl(t, flags, "account", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "registerUser")
	require.Contains(t, out, "listUsers")
	code, _, out = runCtl(t, flags, "account", "registerUser", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "--domain")
	require.Contains(t, out, "DomainName! (required)")
	code, _, out = runCtl(t, flags, "--help")
	require.Equal(t, 0, code)
	for _, cat := range []string{"account", "session", "stanza", "domain", "server"} {
		require.Contains(t, out, cat)
	}
	code, _, out = runCtl(t, flags, "account", "registerUser", "--domain", "localhost")
	require.Equal(t, 2, code)
	require.Contains(t, out, "missing --password")
	code, _, out = runCtl(t, flags, "nope", "x")
	require.Equal(t, 2, code)
	require.Contains(t, out, `unknown category "nope"`)
	code, _, out = runCtl(t, flags, "account", "nope")
	require.Equal(t, 2, code)
	require.Contains(t, out, `unknown command "nope"`)
	code, _, out = runCtl(t, flags, "account", "listUsers", "--domain", "localhost", "--limit", "ten")
	require.Equal(t, 2, code)
	require.Contains(t, out, "expected an integer")
}

func TestCtlDocument(t *testing.T) {
	t.Parallel()
	// The generated operation declares every argument as a variable and
	// selects every field of the result.
	flags, _ := ctlServer(t)
	code, m, out := runCtl(t, flags, "server", "status")
	require.Equal(t, 0, code, out)
	st := m["data"].(map[string]any)["server"].(map[string]any)["status"].(map[string]any)
	require.Equal(t, "RUNNING", st["statusCode"])
	require.Contains(t, st, "version")
	code, m, out = runCtl(t, flags, "account", "countUsers", "--domain", "localhost")
	require.Equal(t, 0, code, out)
	require.EqualValues(t, 0, m["data"].(map[string]any)["account"].(map[string]any)["countUsers"])
}

func TestCtlEndpointFromConfig(t *testing.T) {
	t.Parallel()
	ep, err := endpoint(common{}, "", "", "")
	require.NoError(t, err)
	require.Equal(t, ctlEndpoint{url: "http://127.0.0.1:5551/api/graphql"}, ep)

	path := t.TempDir() + "/gander.toml"
	toml := `[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
[[listen.http]]
  port = 5541
  [[listen.http.handlers.mongoose_graphql_handler]]
    host = "_"
    path = "/api/graphql"
    schema_endpoint = "domain_admin"
[[listen.http]]
  ip_address = "0.0.0.0"
  port = 8088
  [[listen.http.handlers.mongoose_graphql_handler]]
    host = "_"
    path = "/admin"
    schema_endpoint = "admin"
    username = "root"
    password = "pw"
`
	require.NoError(t, os.WriteFile(path, []byte(toml), 0o600))
	ep, err = endpoint(common{config: path}, "", "", "")
	require.NoError(t, err)
	require.Equal(t, ctlEndpoint{url: "http://127.0.0.1:8088/admin", user: "root", pass: "pw"}, ep)
	// Flags win over the configuration.
	ep, err = endpoint(common{config: path}, "http://h:1/x", "u", "p")
	require.NoError(t, err)
	require.Equal(t, ctlEndpoint{url: "http://h:1/x", user: "u", pass: "p"}, ep)
}

// TestCtlEnumValues: an enum argument's values are listed in --help, and a
// wrong value is refused with the list, before anything is sent.
func TestCtlEnumValues(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"ctl", "broadcast", "startBroadcast", "--help"}, &out, &errb))
	require.Contains(t, out.String(), "--recipientGroup       BroadcastRecipientGroup! (required): one of ALL_USERS_IN_DOMAIN")
	out.Reset()
	code := run([]string{"ctl", "--url", "http://127.0.0.1:1/unused", "broadcast", "startBroadcast", "--name", "n", "--domain", "localhost",
		"--messageSubject", "s", "--messageBody", "b", "--senderJid", "a@localhost", "--messageRate", "1",
		"--recipientGroup", "everyone"}, &out, &errb)
	require.Equal(t, 2, code)
	require.Contains(t, errb.String(), `--recipientGroup: expected one of ALL_USERS_IN_DOMAIN, got "everyone"`)
}
