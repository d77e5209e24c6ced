package db_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		name, query, sqlite, pgsql string
	}{
		{"none", "SELECT 1", "SELECT 1", "SELECT 1"},
		{"several", "SELECT a FROM t WHERE b = ? AND c IN (?, ?)",
			"SELECT a FROM t WHERE b = ? AND c IN (?, ?)",
			"SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"},
		{"more than nine", "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
			"VALUES (?,?,?,?,?,?,?,?,?,?,?)",
			"VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"},
		{"quoted", `SELECT '?', "a?b", ? FROM t WHERE x = 'it''s ?' AND y = ?`,
			`SELECT '?', "a?b", ? FROM t WHERE x = 'it''s ?' AND y = ?`,
			`SELECT '?', "a?b", $1 FROM t WHERE x = 'it''s ?' AND y = $2`},
	}
	sqlite := &db.DB{Dialect: db.SQLite}
	pgsql := &db.DB{Dialect: db.PostgreSQL}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.sqlite, sqlite.Rebind(tt.query))
			require.Equal(t, tt.pgsql, pgsql.Rebind(tt.query))
		})
	}
}

func TestOpenRejectsUnknownDriver(t *testing.T) {
	_, err := db.Open(context.Background(), db.Config{Driver: "mysql"}, nil)
	require.ErrorContains(t, err, "unknown driver")
}

func TestSchema(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for _, table := range []string{"users", "rosterusers", "rostergroups", "roster_version", "offline_message"} {
			var n int
			require.NoError(t, d.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n), table)
			require.Zero(t, n, table)
		}
		requireGeneratedIDs(t, d)
		// The subscription column only takes RFC 6121 values.
		_, err := d.ExecContext(ctx, `INSERT INTO rosterusers (server, username, jid, subscription) VALUES (?, ?, ?, ?)`,
			"s", "u", "c@s", "sideways")
		require.Error(t, err)
		// Groups belong to an item: foreign keys are enforced on both.
		_, err = d.ExecContext(ctx, `INSERT INTO rostergroups (server, username, jid, grp) VALUES (?, ?, ?, ?)`,
			"s", "u", "nobody@s", "g")
		require.Error(t, err)
	})
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	cfg := db.Config{Driver: db.SQLite, Path: filepath.Join(t.TempDir(), "sub", "dir", "g.db")}
	d, err := db.Open(ctx, cfg, nil)
	require.NoError(t, err)
	_, err = d.ExecContext(ctx, "INSERT INTO roster_version (server, username, version) VALUES (?, ?, ?)", "s", "u", "1")
	require.NoError(t, err)
	require.NoError(t, d.Close())

	d, err = db.Open(ctx, cfg, nil)
	require.NoError(t, err)
	defer d.Close()
	var v string
	require.NoError(t, d.QueryRowContext(ctx, "SELECT version FROM roster_version WHERE server = ? AND username = ?", "s", "u").Scan(&v))
	require.Equal(t, "1", v)
}

func TestSQLitePragmas(t *testing.T) {
	d := dbtest.Open(t, db.SQLite)
	ctx := context.Background()
	// Check every connection of the pool, not just the first.
	conns := make([]interface{ Close() error }, 0, 4)
	for range 4 {
		c, err := d.SQL.Conn(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "1",
		} {
			var got string
			require.NoError(t, c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got), pragma)
			require.Equal(t, want, got, pragma)
		}
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
}

var errRollback = errors.New("roll back")

func TestInTx(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		put := func(tx *db.Tx, v string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO roster_version (server, username, version) VALUES (?, ?, ?)
				ON CONFLICT (server, username) DO UPDATE SET version = excluded.version`, "s", "u", v)
			return err
		}
		get := func() string {
			var v string
			err := d.QueryRowContext(ctx, "SELECT version FROM roster_version WHERE server = ? AND username = ?", "s", "u").Scan(&v)
			require.NoError(t, err)
			return v
		}
		require.NoError(t, d.InTx(ctx, func(tx *db.Tx) error { return put(tx, "a") }))
		require.Equal(t, "a", get())

		err := d.InTx(ctx, func(tx *db.Tx) error {
			require.NoError(t, put(tx, "b"))
			var v string
			require.NoError(t, tx.QueryRowContext(ctx, "SELECT version FROM roster_version WHERE username = ?", "u").Scan(&v))
			require.Equal(t, "b", v, "a transaction sees its own writes")
			return errRollback
		})
		require.ErrorIs(t, err, errRollback)
		require.Equal(t, "a", get())

		require.Panics(t, func() {
			_ = d.InTx(ctx, func(tx *db.Tx) error {
				require.NoError(t, put(tx, "c"))
				panic("boom")
			})
		})
		require.Equal(t, "a", get())
	})
}

// TestConcurrentWriters checks that concurrent read-modify-write
// transactions neither fail with SQLITE_BUSY nor lose updates.
func TestConcurrentWriters(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		_, err := d.ExecContext(ctx, "INSERT INTO roster_version (server, username, version) VALUES (?, ?, ?)", "s", "u", "0")
		require.NoError(t, err)
		const workers, rounds = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*rounds)
		for w := range workers {
			wg.Go(func() {
				for r := range rounds {
					errs <- d.InTx(ctx, func(tx *db.Tx) error {
						// A relative UPDATE is atomic on both backends, so
						// a lost update would show in the final count.
						if _, err := tx.ExecContext(ctx,
							"UPDATE roster_version SET version = CAST(CAST(version AS INTEGER) + 1 AS TEXT) WHERE server = ? AND username = ?",
							"s", "u"); err != nil {
							return err
						}
						var n int
						if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM roster_version").Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, "INSERT INTO roster_version (server, username, version) VALUES (?, ?, ?)",
							"s", fmt.Sprintf("w%d-%d", w, r), "x")
						return err
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		var v string
		require.NoError(t, d.QueryRowContext(ctx, "SELECT version FROM roster_version WHERE username = ?", "u").Scan(&v))
		require.Equal(t, fmt.Sprint(workers*rounds), v)
	})
}

func TestCollateBinary(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		names := []string{"b", "B", "a_b", "ab", "a", "Z", "é"}
		for _, n := range names {
			_, err := d.ExecContext(ctx, "INSERT INTO roster_version (server, username, version) VALUES (?, ?, ?)", "s", n, "1")
			require.NoError(t, err)
		}
		got := column[string](t)(d.QueryContext(ctx, "SELECT username FROM roster_version ORDER BY "+d.CollateBinary("username")))
		require.Equal(t, []string{"B", "Z", "a", "a_b", "ab", "b", "é"}, got)
	})
}
