package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/sasl"
	"mellium.im/xmpp"
	mjid "mellium.im/xmpp/jid"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/server/servertest"
)

// loginAs logs user@localhost in over c2s with SCRAM-SHA-1 through an
// independent client library and closes the session.
func loginAs(t *testing.T, addr, user, password string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	sess, err := xmpp.NewClientSession(ctx, mjid.MustParse(user+"@localhost"), conn,
		xmpp.StartTLS(&tls.Config{ServerName: "localhost", InsecureSkipVerify: true}),
		xmpp.SASL("", password, sasl.ScramSha1), xmpp.BindResource())
	if err != nil {
		return err
	}
	return sess.Close()
}

// TestRegisterBulk creates accounts in bulk on both databases, runs it again
// over an overlapping range (existing accounts are skipped), and logs some
// of them in over XMPP.
func TestRegisterBulk(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		srv := servertest.Start(t, nil, d)
		ctx := context.Background()

		var out, errb bytes.Buffer
		code := registerMany(ctx, srv.Accounts(), "localhost", "bench", 1, 30, "benchpass", 3, &out, &errb)
		require.Equal(t, 0, code, errb.String())
		require.Contains(t, out.String(), "Registered 30 accounts bench1..bench30@localhost (0 already existed)")

		out.Reset()
		code = registerMany(ctx, srv.Accounts(), "localhost", "bench", 21, 20, "other", 0, &out, &errb)
		require.Equal(t, 0, code, errb.String())
		require.Contains(t, out.String(), "Registered 10 accounts bench21..bench40@localhost (10 already existed)")

		n, err := srv.Accounts().Store().CountUsers(ctx, "localhost")
		require.NoError(t, err)
		require.Equal(t, 40, n)

		addr := srv.C2SAddrs()[0].String()
		require.NoError(t, loginAs(t, addr, "bench1", "benchpass"))
		require.NoError(t, loginAs(t, addr, "bench30", "benchpass"))
		require.Error(t, loginAs(t, addr, "bench25", "other"), "an existing account keeps its password")
		require.NoError(t, loginAs(t, addr, "bench40", "other"))
	})
}

// TestRegisterBulkCommand runs the command line's bulk mode on the embedded
// database and checks its usage errors.
func TestRegisterBulkCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "gander.toml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(config.DefaultTOML+"\n[auth.password]\n  scram_iterations = 4096\n"), 0o600))
	var out, errb bytes.Buffer
	code := run([]string{"register", "--config", cfgFile, "--data-dir", dir, "--create", "--prefix", "u", "--count", "12", "--first", "5", "--password", "pw"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	require.Contains(t, out.String(), "Registered 12 accounts u5..u16@localhost (0 already existed)")

	for _, args := range [][]string{
		{"register", "--data-dir", dir, "--prefix", "u", "--password", "pw"},
		{"register", "--data-dir", dir, "--count", "3", "--password", "pw"},
		{"register", "--data-dir", dir, "--prefix", "u", "--count", "3", "--username", "x", "--password", "pw"},
		{"register", "--data-dir", dir, "--prefix", "u", "--count", "3"},
	} {
		errb.Reset()
		require.Equal(t, 2, run(args, &out, &errb), args)
		require.Contains(t, errb.String(), "gander register:", args)
	}
}
