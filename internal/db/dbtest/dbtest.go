// Package dbtest gives tests fresh, migrated databases of both kinds, so that
// every storage test runs the same code against real SQLite and real
// PostgreSQL.
//
// SQLite databases are files in the test's temporary directory. PostgreSQL
// databases are created for each test on the server named by the environment
// variable GANDER_TEST_PG_DSN (default DefaultPostgresDSN), as a database
// gander_t_<random>, and dropped when the test ends; the role in the DSN must
// be allowed to create databases.
//
// When that server cannot be reached, PostgreSQL tests are skipped with a
// message saying so, which keeps "go test ./..." usable on a laptop without
// PostgreSQL. CI sets GANDER_TEST_PG_REQUIRED=1, which turns the skip into a
// test failure, so that a broken PostgreSQL setup can never pass silently.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gander-xmpp/gander/internal/db"
)

// DefaultPostgresDSN is the PostgreSQL server used when GANDER_TEST_PG_DSN is
// not set.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Environment variables read by this package.
const (
	// EnvPostgresDSN names the PostgreSQL server (any database on it) in
	// which test databases are created.
	EnvPostgresDSN = "GANDER_TEST_PG_DSN"
	// EnvPostgresRequired, set to 1, makes an unreachable PostgreSQL a test
	// failure instead of a skip.
	EnvPostgresRequired = "GANDER_TEST_PG_REQUIRED"
)

// Drivers returns the drivers every storage test runs against.
func Drivers() []string {
	return []string{db.SQLite, db.PostgreSQL}
}

// Open returns a fresh, isolated, migrated database of the given driver,
// closed and removed when the test ends.
func Open(t testing.TB, driver string) *db.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var cfg db.Config
	switch driver {
	case db.SQLite:
		cfg = db.Config{Driver: db.SQLite, Path: filepath.Join(t.TempDir(), "gander.db")}
	case db.PostgreSQL:
		cfg = db.Config{Driver: db.PostgreSQL, DSN: createPostgresDatabase(t)}
	default:
		t.Fatalf("dbtest: unknown driver %q", driver)
	}
	d, err := db.Open(ctx, cfg, log)
	if err != nil {
		t.Fatalf("dbtest: open %s database: %v", driver, err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("dbtest: close %s database: %v", driver, err)
		}
	})
	return d
}

// ForEach runs fn as one subtest per driver, named after it ("sqlite",
// "pgsql"), each with its own fresh database.
func ForEach(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, driver := range Drivers() {
		t.Run(driver, func(t *testing.T) {
			fn(t, Open(t, driver))
		})
	}
}

// createPostgresDatabase creates an empty database for t, arranges for it to
// be dropped when t ends, and returns a DSN for it.
func createPostgresDatabase(t testing.TB) string {
	t.Helper()
	serverDSN := os.Getenv(EnvPostgresDSN)
	if serverDSN == "" {
		serverDSN = DefaultPostgresDSN
	}
	admin, err := connectAdmin(serverDSN)
	if err != nil {
		if os.Getenv(EnvPostgresRequired) == "1" {
			t.Fatalf("dbtest: PostgreSQL IS REQUIRED (%s=1) BUT UNREACHABLE at %s=%q: %v",
				EnvPostgresRequired, EnvPostgresDSN, redact(serverDSN), err)
		}
		t.Skipf("dbtest: skipping PostgreSQL test: server unreachable at %s=%q (%v); set %s=1 to make this a failure",
			EnvPostgresDSN, redact(serverDSN), err, EnvPostgresRequired)
	}
	name := "gander_t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The name is ours and made of [a-z0-9_]; no quoting needed.
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		t.Fatalf("dbtest: create PostgreSQL database %s: %v", name, err)
	}
	// Registered before Open registers the pool's Close, so it runs after it.
	t.Cleanup(func() {
		defer func() { _ = admin.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop PostgreSQL database %s: %v", name, err)
		}
	})
	return withDatabase(serverDSN, name)
}

// connectAdmin opens and pings a single connection pool to the server.
func connectAdmin(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 5*time.Second {
		cfg.ConnectTimeout = 5 * time.Second
	}
	admin := stdlib.OpenDB(*cfg)
	admin.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		return nil, err
	}
	return admin, nil
}

// withDatabase returns dsn with its database replaced by name. It accepts
// both the URL and the key=value forms.
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	// In the key=value form a later key overrides an earlier one.
	return dsn + " dbname=" + name
}

// redact hides the password of a URL DSN for messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
