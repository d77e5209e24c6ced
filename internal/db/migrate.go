package db

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"path"
	"slices"
	"testing/fstest"
	"text/template"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationFiles holds the schema, one file per step. Each file is a
// text/template executed with the dialect's schemaDialect (schemaFor in
// dialect.go), so a step that differs between SQLite and PostgreSQL (a
// generated key, a storage option) is still written once; goose reads the
// rendered text. Goose records only version numbers, so a database migrated
// when the steps were separate files per dialect stays valid.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// renderMigrations returns the migration files rendered for dialect, named
// as in the migrations folder.
func renderMigrations(dialect string) (fstest.MapFS, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	data := schemaFor(dialect)
	out := fstest.MapFS{}
	for _, name := range names {
		src, err := fs.ReadFile(migrationFiles, name)
		if err != nil {
			return nil, err
		}
		tmpl, err := template.New(path.Base(name)).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, data); err != nil {
			return nil, err
		}
		out[path.Base(name)] = &fstest.MapFile{Data: b.Bytes(), Mode: 0o444}
	}
	return out, nil
}

// migrate applies the embedded migrations not yet applied.
func (d *DB) migrate(ctx context.Context, log *slog.Logger) error {
	fsys, err := renderMigrations(d.Dialect)
	if err != nil {
		return fmt.Errorf("db: migrations: %w", err)
	}
	opts := []goose.ProviderOption{
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

// MigrationsDigest returns a digest of the embedded migrations rendered for
// dialect: two builds with the same digest create the same schema. The test
// helpers (internal/db/dbtest) name their template databases by it.
func MigrationsDigest(dialect string) (string, error) {
	fsys, err := renderMigrations(dialect)
	if err != nil {
		return "", fmt.Errorf("db: migrations: %w", err)
	}
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(fsys)) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(fsys[name].Data))
		h.Write(fsys[name].Data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
