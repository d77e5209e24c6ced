// Package dbtest gives tests fresh, migrated databases of both kinds, so that
// every storage test runs the same code against real SQLite and real
// PostgreSQL.
//
// Migrations run once, into a template, and every test gets a copy of it:
//   - SQLite databases are files in the test's temporary directory, copies of
//     a file this test process migrated first.
//   - PostgreSQL databases are created for each test on the server named by
//     the environment variable GANDER_TEST_PG_DSN (default
//     DefaultPostgresDSN), as a database gander_t_<random> copied with
//     CREATE DATABASE ... TEMPLATE from gander_tmpl_<digest>, and dropped when
//     the test ends. The template is built once per schema (the digest is
//     db.MigrationsDigest) and kept on the server for the next run; a template
//     a day old is dropped by the next run that builds another one. The role
//     in the DSN must be allowed to create databases. Test databases commit
//     without waiting for the disk (synchronous_commit = off): they need no
//     durability across a crash of the server.
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
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	var cfg db.Config
	switch driver {
	case db.SQLite:
		data, err := sqliteTemplate()
		if err != nil {
			t.Fatalf("dbtest: SQLite template: %v", err)
		}
		cfg = db.Config{Driver: db.SQLite, Path: filepath.Join(t.TempDir(), "gander.db")}
		if err := os.WriteFile(cfg.Path, data, 0o600); err != nil {
			t.Fatalf("dbtest: copy the SQLite template: %v", err)
		}
	case db.PostgreSQL:
		cfg = db.Config{Driver: db.PostgreSQL, DSN: createPostgresDatabase(t, true)}
	default:
		t.Fatalf("dbtest: unknown driver %q", driver)
	}
	return open(t, cfg)
}

// Empty returns the configuration of a fresh database of the given driver
// with nothing in it, not even the schema (for tests of the migrations);
// it is removed when the test ends.
func Empty(t testing.TB, driver string) db.Config {
	t.Helper()
	switch driver {
	case db.SQLite:
		return db.Config{Driver: db.SQLite, Path: filepath.Join(t.TempDir(), "gander.db")}
	case db.PostgreSQL:
		return db.Config{Driver: db.PostgreSQL, DSN: createPostgresDatabase(t, false)}
	}
	t.Fatalf("dbtest: unknown driver %q", driver)
	return db.Config{}
}

// open opens cfg for t and closes it when t ends.
func open(t testing.TB, cfg db.Config) *db.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := db.Open(ctx, cfg, log)
	if err != nil {
		t.Fatalf("dbtest: open %s database: %v", cfg.Driver, err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("dbtest: close %s database: %v", cfg.Driver, err)
		}
	})
	return d
}

// ForEach runs fn as one subtest per driver, named after it ("sqlite",
// "pgsql"), each with its own fresh database. The subtests run in parallel
// with each other (t.Parallel), so fn must not share unsynchronised state
// between them, and the caller's test ends only when both have.
func ForEach(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, driver := range Drivers() {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, driver))
		})
	}
}

// templates caches, for this test process, the migrated SQLite file and the
// name of the PostgreSQL template database of each server.
var templates struct {
	sqliteOnce sync.Once
	sqlite     []byte
	sqliteErr  error

	mu       sync.Mutex
	postgres map[string]string // server DSN -> template database name
}

// sqliteTemplate returns the content of a migrated SQLite database file,
// migrating one the first time.
func sqliteTemplate() ([]byte, error) {
	templates.sqliteOnce.Do(func() {
		templates.sqlite, templates.sqliteErr = migrateSQLite()
	})
	return templates.sqlite, templates.sqliteErr
}

func migrateSQLite() ([]byte, error) {
	dir, err := os.MkdirTemp("", "gander-dbtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := db.Open(ctx, db.Config{Driver: db.SQLite, Path: path}, nil)
	if err != nil {
		return nil, err
	}
	// The last connection to close checkpoints the write-ahead log into
	// the file and removes it, so the file alone is the whole database.
	if err := d.Close(); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return nil, fmt.Errorf("%s-wal still holds %d bytes after close", path, fi.Size())
	}
	return os.ReadFile(path)
}

// createPostgresDatabase creates a database for t, a copy of the migrated
// template if migrated is true and an empty one otherwise, arranges for it to
// be dropped when t ends, and returns a DSN for it.
func createPostgresDatabase(t testing.TB, migrated bool) string {
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	create := func() error {
		if !migrated {
			// The name is ours and made of [a-z0-9_]; no quoting needed.
			_, err := admin.ExecContext(ctx, "CREATE DATABASE "+name)
			return err
		}
		tmpl, err := postgresTemplate(ctx, admin, serverDSN)
		if err != nil {
			return fmt.Errorf("template: %w", err)
		}
		_, err = admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl)
		return err
	}
	err = create()
	var pgErr *pgconn.PgError
	if migrated && errors.As(err, &pgErr) && pgErr.Code == "3D000" {
		// Another run dropped the template as stale: build it again.
		forgetPostgresTemplate(serverDSN)
		err = create()
	}
	if err != nil {
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
	return testDSN(withDatabase(serverDSN, name))
}

// templatePrefix begins the name of every template database; the rest is
// the start of the schema's digest.
const templatePrefix = "gander_tmpl_"

// staleTemplate is the age at which another schema's template is dropped.
const staleTemplate = 24 * time.Hour

// postgresTemplate returns the name of the migrated template database on the
// server of serverDSN, building it if this schema has none yet. Test
// processes running at the same time may both build it: each migrates a
// database of its own and renames it to the template's name, and the one
// that loses the rename drops its copy.
func postgresTemplate(ctx context.Context, admin *sql.DB, serverDSN string) (string, error) {
	templates.mu.Lock()
	defer templates.mu.Unlock()
	if name, ok := templates.postgres[serverDSN]; ok {
		return name, nil
	}
	digest, err := db.MigrationsDigest(db.PostgreSQL)
	if err != nil {
		return "", err
	}
	name := templatePrefix + digest[:16]
	var exists bool
	if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if err := buildPostgresTemplate(ctx, admin, serverDSN, name); err != nil {
			return "", err
		}
		dropStaleTemplates(ctx, admin, name)
	}
	if templates.postgres == nil {
		templates.postgres = map[string]string{}
	}
	templates.postgres[serverDSN] = name
	return name, nil
}

// forgetPostgresTemplate makes the next postgresTemplate look again.
func forgetPostgresTemplate(serverDSN string) {
	templates.mu.Lock()
	defer templates.mu.Unlock()
	delete(templates.postgres, serverDSN)
}

func buildPostgresTemplate(ctx context.Context, admin *sql.DB, serverDSN, name string) error {
	building := name + "_" + randomHex(4)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		return err
	}
	d, err := db.Open(ctx, db.Config{Driver: db.PostgreSQL, DSN: testDSN(withDatabase(serverDSN, building))}, nil)
	if err == nil {
		err = d.Close()
	}
	if err == nil {
		_, err = admin.ExecContext(ctx, "COMMENT ON DATABASE "+building+" IS '"+time.Now().UTC().Format(time.RFC3339)+"'")
	}
	if err == nil {
		_, err = admin.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+name)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: another process won
			err = nil
		}
	}
	// Gone if renamed; the loser's or a failed build's copy otherwise.
	_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)")
	return err
}

// dropStaleTemplates drops the templates of other schemas built more than
// staleTemplate ago (their comment holds the time); errors are ignored, as
// another run may be dropping or using one.
func dropStaleTemplates(ctx context.Context, admin *sql.DB, keep string) {
	rows, err := admin.QueryContext(ctx, `SELECT datname, COALESCE(shobj_description(oid, 'pg_database'), '')
		FROM pg_database WHERE starts_with(datname, $1) AND datname <> $2`, templatePrefix, keep)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var name, built string
		if rows.Scan(&name, &built) != nil {
			continue
		}
		if at, err := time.Parse(time.RFC3339, built); err == nil && time.Since(at) > staleTemplate &&
			strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == "" {
			stale = append(stale, name)
		}
	}
	_ = rows.Close()
	for _, name := range stale {
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
	}
}

// testDSN adds the settings of test databases to dsn: commits do not wait
// for the disk.
func testDSN(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("synchronous_commit", "off")
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " synchronous_commit=off"
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
