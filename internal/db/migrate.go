package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationFiles holds the schema. Files named NNNNN_name.sql apply to both
// dialects; NNNNN_name.sqlite.sql and NNNNN_name.pgsql.sql are the two
// versions of one step that cannot be written portably, and share a version
// number.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationSuffix is the file-name suffix of the migrations that only apply
// to dialect.
func migrationSuffix(dialect string) string {
	return "." + dialect + ".sql"
}

// foreignMigrations lists the migration files of other dialects than
// d.Dialect, for goose to skip.
func (d *DB) foreignMigrations(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var skip []string
	for _, name := range names {
		for _, other := range []string{SQLite, PostgreSQL} {
			if other != d.Dialect && strings.HasSuffix(name, migrationSuffix(other)) {
				skip = append(skip, name)
			}
		}
	}
	return skip, nil
}

// migrate applies the embedded migrations not yet applied.
func (d *DB) migrate(ctx context.Context, log *slog.Logger) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("db: migrations: %w", err)
	}
	skip, err := d.foreignMigrations(fsys)
	if err != nil {
		return fmt.Errorf("db: migrations: %w", err)
	}
	opts := []goose.ProviderOption{
		goose.WithExcludeNames(skip),
		// Only our embedded files count; nothing registered elsewhere in the
		// binary may slip into our schema.
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(log.With("component", "goose")),
	}
	dialect := goose.DialectSQLite3
	if d.Dialect == PostgreSQL {
		dialect = goose.DialectPostgres
		// Cluster nodes starting together must not migrate at the same
		// time; an advisory lock held for the session serialises them.
		// SQLite needs nothing: only one process opens the file.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("db: migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, d.SQL, fsys, opts...)
	if err != nil {
		return fmt.Errorf("db: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	for _, r := range results {
		log.Info("database migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("db: schema version: %w", err)
	}
	log.Info("database schema up to date", "version", v, "applied_now", len(results))
	return nil
}
