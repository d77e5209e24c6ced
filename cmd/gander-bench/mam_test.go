package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/server/servertest"
)

// TestMamLoadAndQueries: mam-load fills a real server's PostgreSQL archive
// (the measured conversations interleaved with the others), and the mam
// scenario's queries get the last page of each measured conversation with
// its count, over XMPP.
func TestMamLoadAndQueries(t *testing.T) {
	dbc := dbtest.Empty(t, db.PostgreSQL)
	d, err := db.Open(context.Background(), dbc, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	cfg, err := config.Parse([]byte(config.WithoutModules(config.DefaultTOML, "mod_muc_light", "mod_inbox", "mod_broadcast")+
		"\n[modules.mod_mam]\n[modules.mod_mam.pm]\n"), "test.toml")
	require.NoError(t, err)
	srv := servertest.Start(t, cfg, d)
	ctx := context.Background()
	for i := 1; i <= 20; i++ {
		_, err := srv.Accounts().Register(ctx, "localhost", fmt.Sprintf("bench%d", i), "benchpass")
		require.NoError(t, err)
	}

	var out, errb bytes.Buffer
	code := run([]string{"mam-load", "--pg-dsn", dbc.DSN, "--owners", "20", "--peers", "3", "--peer-rows", "5",
		"--measured", "5", "--measured-rows", "100"}, &out, &errb)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	require.Contains(t, out.String(), "mam-load: 800 rows")
	var n, measured, spread int
	require.NoError(t, d.SQL.QueryRow("SELECT COUNT(*) FROM mam_message").Scan(&n))
	require.Equal(t, 20*3*5+5*100, n)
	require.NoError(t, d.SQL.QueryRow("SELECT COUNT(*) FROM mam_message WHERE remote_bare_jid = 'measured@localhost'").Scan(&measured))
	require.Equal(t, 500, measured)
	// Interleaved: between the first and the last measured row of bench1
	// lie rows of other conversations.
	require.NoError(t, d.SQL.QueryRow(`SELECT COUNT(*) FROM mam_message m, (SELECT MIN(id) lo, MAX(id) hi FROM mam_message
		WHERE remote_bare_jid = 'measured@localhost' AND user_id = (SELECT id FROM mam_server_user WHERE user_name = 'bench1')) b
		WHERE m.id BETWEEN b.lo AND b.hi AND m.remote_bare_jid <> 'measured@localhost'`).Scan(&spread))
	require.Positive(t, spread)

	m := runJSON(t, "mam", "--server", srv.Addr, "--users", "5", "--mam-queries", "20", "--mam-concurrency", "2", "--quiet")
	mm := m["mam"].(map[string]any)
	require.EqualValues(t, 20, mm["queries"])
	require.EqualValues(t, 20, mm["answers"])
	require.EqualValues(t, 50, mm["rows"])
	require.Greater(t, mm["p99_ms"].(float64), 0.0)

	code = run([]string{"mam-load", "--pg-dsn", "postgres://postgres@db.example.com/x"}, &out, &errb)
	require.Equal(t, 2, code, "a database that is not on loopback is refused")
}
