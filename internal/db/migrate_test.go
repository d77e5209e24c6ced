package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
)

// TestUpgradeFromPerDialectMigrations opens, on each backend, a database that
// Gander migrated when steps 3, 6, 8 and 11 were separate files per dialect
// (testdata/v11.*.dump, schema version 11). Goose records version numbers
// only, so none of those steps may run again; the schema must come out the
// same as a fresh database's, and ids must still be generated.
func TestUpgradeFromPerDialectMigrations(t *testing.T) {
	for _, driver := range dbtest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			old := dbtest.Empty(t, driver)
			dump, err := os.ReadFile("testdata/v11." + driver + ".dump")
			require.NoError(t, err)
			restore(t, old, string(dump))
			before := appliedVersions(t, old)
			require.Equal(t, []int64{0, 1, 2, 3, 4, 5, 6, 8, 10, 11}, before)

			upgraded, err := db.Open(ctx, old, nil)
			require.NoError(t, err, "today's migrations on a version 11 database")
			defer upgraded.Close()
			after := appliedVersions(t, old)
			require.Equal(t, before, after[:len(before)], "no step up to 11 ran again")

			fresh, err := db.Open(ctx, dbtest.Empty(t, driver), nil)
			require.NoError(t, err)
			defer fresh.Close()
			require.Equal(t, schema(t, fresh), schema(t, upgraded))

			requireGeneratedIDs(t, upgraded)
		})
	}
}

// requireGeneratedIDs checks that the database generates the ids of new
// rows (offline_message), one after the other, on both backends.
func requireGeneratedIDs(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	for i := range 2 {
		_, err := d.ExecContext(ctx, `INSERT INTO offline_message (server, username, timestamp, from_jid, packet)
			VALUES (?, ?, ?, ?, ?)`, "s", "u", int64(i), "f", "<message/>")
		require.NoError(t, err)
	}
	var lo, hi int64
	require.NoError(t, d.QueryRowContext(ctx, "SELECT MIN(id), MAX(id) FROM offline_message").Scan(&lo, &hi))
	require.Equal(t, lo+1, hi)
}

// rawOpen opens cfg's database without migrating it.
func rawOpen(t *testing.T, cfg db.Config) *sql.DB {
	t.Helper()
	if cfg.Driver == db.SQLite {
		s, err := sql.Open("sqlite", "file:"+cfg.Path)
		require.NoError(t, err)
		return s
	}
	c, err := pgx.ParseConfig(cfg.DSN)
	require.NoError(t, err)
	return stdlib.OpenDB(*c)
}

// restore runs a dump (several statements) on cfg's database.
func restore(t *testing.T, cfg db.Config, dump string) {
	t.Helper()
	s := rawOpen(t, cfg)
	defer s.Close()
	_, err := s.ExecContext(context.Background(), dump)
	require.NoError(t, err)
}

// appliedVersions lists goose's record of applied steps, in order.
func appliedVersions(t *testing.T, cfg db.Config) []int64 {
	t.Helper()
	s := rawOpen(t, cfg)
	defer s.Close()
	return column[int64](t)(s.QueryContext(context.Background(), `SELECT version_id FROM goose_db_version WHERE is_applied ORDER BY id`))
}

// column returns a function that reads the one column of a query's rows.
func column[T any](t *testing.T) func(*sql.Rows, error) []T {
	return func(rows *sql.Rows, err error) []T {
		t.Helper()
		require.NoError(t, err)
		defer rows.Close()
		var vs []T
		for rows.Next() {
			var v T
			require.NoError(t, rows.Scan(&v))
			vs = append(vs, v)
		}
		require.NoError(t, rows.Err())
		return vs
	}
}

// schema describes d's tables, columns, indexes, constraints and storage
// options as sorted lines, comments and spacing aside.
func schema(t *testing.T, d *db.DB) []string {
	t.Helper()
	var queries []string
	if d.Dialect == db.SQLite {
		queries = []string{`SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_master WHERE name <> 'sqlite_sequence'`}
	} else {
		queries = []string{
			`SELECT table_name, column_name, data_type, is_nullable, COALESCE(column_default, ''), COALESCE(character_maximum_length, 0)
				FROM information_schema.columns WHERE table_schema = 'public'`,
			`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'`,
			`SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
				WHERE connamespace = 'public'::regnamespace`,
			`SELECT relname, relkind::text, COALESCE(array_to_string(reloptions, ','), '') FROM pg_class
				WHERE relnamespace = 'public'::regnamespace`,
			`SELECT sequence_name, data_type, start_value, increment, maximum_value FROM information_schema.sequences
				WHERE sequence_schema = 'public'`,
		}
	}
	comment := regexp.MustCompile(`--[^\n]*`)
	space := regexp.MustCompile(`\s+`)
	var out []string
	for _, q := range queries {
		rows, err := d.SQL.QueryContext(context.Background(), q)
		require.NoError(t, err, q)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			line := fmt.Sprint(vals...)
			line = space.ReplaceAllString(comment.ReplaceAllString(line, ""), " ")
			line = strings.NewReplacer("( ", "(", " )", ")", " ,", ",").Replace(line)
			out = append(out, line)
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
	}
	require.NotEmpty(t, out)
	slices.Sort(out)
	return out
}
