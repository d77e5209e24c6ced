package dbtest

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
)

func TestWithDatabase(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://u:p@h:5433/postgres?sslmode=disable", "postgres://u:p@h:5433/gander_t_x?sslmode=disable"},
		{"postgresql://h/", "postgresql://h/gander_t_x"},
		{"host=h user=u dbname=postgres", "host=h user=u dbname=postgres dbname=gander_t_x"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, withDatabase(tt.dsn, "gander_t_x"))
	}
}

func TestUnreachablePostgresSkips(t *testing.T) {
	t.Setenv(EnvPostgresDSN, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	t.Setenv(EnvPostgresRequired, "")
	var skipped bool
	t.Run("pgsql", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Open(t, "pgsql")
	})
	require.True(t, skipped, "an unreachable PostgreSQL is skipped unless required")
}

// TestOpenGivesIsolatedMigratedCopies: every Open is a migrated database of
// its own, copied from the template, whatever the other copies hold.
func TestOpenGivesIsolatedMigratedCopies(t *testing.T) {
	for _, driver := range Drivers() {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			a, b := Open(t, driver), Open(t, driver)
			_, err := a.ExecContext(ctx, `INSERT INTO roster_version (server, username, version) VALUES (?, ?, ?)`, "s", "u", "1")
			require.NoError(t, err)
			for d, want := range map[*db.DB]int{a: 1, b: 0, Open(t, driver): 0} {
				var n int
				require.NoError(t, d.QueryRowContext(ctx, `SELECT COUNT(*) FROM roster_version`).Scan(&n))
				require.Equal(t, want, n)
			}
		})
	}
}

// TestEmptyHasNoSchema: Empty is a database without tables, for tests of
// the migrations themselves.
func TestEmptyHasNoSchema(t *testing.T) {
	ctx := context.Background()
	cfg := Empty(t, db.PostgreSQL)
	d, err := sql.Open("pgx", cfg.DSN)
	require.NoError(t, err)
	defer d.Close()
	var n int
	require.NoError(t, d.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n))
	require.Zero(t, n)
	require.NoFileExists(t, Empty(t, db.SQLite).Path)
}

func TestTestDSN(t *testing.T) {
	require.Equal(t, "postgres://h/d?sslmode=disable&synchronous_commit=off", testDSN("postgres://h/d?sslmode=disable"))
	require.Equal(t, "host=h dbname=d synchronous_commit=off", testDSN("host=h dbname=d"))
}
