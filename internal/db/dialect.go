package db

// This file holds every difference between SQLite and PostgreSQL that the
// rest of Gander would otherwise have to know about, the schema's included:
// the migration files ask schemaFor for what differs.

import (
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// schemaDialect is what a migration file may ask of the dialect it is
// rendered for (see renderMigrations).
type schemaDialect struct {
	// PostgreSQL is true on PostgreSQL and false on SQLite, for a step that
	// only one of them has ({{if .PostgreSQL}}...{{end}}).
	PostgreSQL bool
	// AutoID is the type and constraint of a generated 64-bit primary key
	// that never hands out the id of a deleted row again: a sequence on
	// PostgreSQL, AUTOINCREMENT on SQLite (whose plain INTEGER PRIMARY KEY
	// reuses the largest id after a delete).
	AutoID string
}

// schemaFor returns the schemaDialect of dialect.
func schemaFor(dialect string) schemaDialect {
	if dialect == PostgreSQL {
		return schemaDialect{PostgreSQL: true, AutoID: "BIGSERIAL PRIMARY KEY"}
	}
	return schemaDialect{AutoID: "INTEGER PRIMARY KEY AUTOINCREMENT"}
}

// Rebind rewrites the ? placeholders of query into the dialect's form: $1,
// $2, ... for PostgreSQL, unchanged for SQLite. A ? inside a single-quoted
// string literal or a double-quoted identifier is left alone.
func (d *DB) Rebind(query string) string {
	if d.Dialect != PostgreSQL || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte // the quote character we are inside of, or 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			// A doubled quote inside a literal toggles out and straight back in.
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// CollateBinary returns expr with a collation that orders strings byte by
// byte, the same on both backends. Use it in ORDER BY where the order is
// visible to users (paging through accounts): SQLite compares bytes by
// default, but PostgreSQL uses the database's locale, which differs between
// installations.
func (d *DB) CollateBinary(expr string) string {
	if d.Dialect == PostgreSQL {
		return expr + ` COLLATE "C"`
	}
	return expr
}

// sqliteMaxConns is the size of the SQLite connection pool.
//
// SQLite allows one writer at a time; in WAL mode readers never wait for it.
// Every connection starts its transactions with BEGIN IMMEDIATE
// (_txlock=immediate), so a transaction takes the write lock when it begins
// and, if another connection holds it, waits in SQLite's busy handler for up
// to busy_timeout. The failure that busy_timeout cannot cure -- a deferred
// transaction that read and then tries to write while another connection has
// written meanwhile (SQLITE_BUSY_SNAPSHOT) -- therefore cannot happen, and
// autocommit statements simply wait their turn. A few connections keep reads
// concurrent with the writer and let a caller read while it iterates rows of
// another query; a pool of one would serialise every read behind every write
// and deadlock such a caller.
const sqliteMaxConns = 4

// sqliteBusyTimeoutMS is how long a statement waits for the write lock before
// failing with SQLITE_BUSY.
const sqliteBusyTimeoutMS = 5000

func openSQLite(cfg Config) (*sql.DB, string, error) {
	if cfg.Path == "" {
		return nil, "", fmt.Errorf("db: sqlite: no database path configured")
	}
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, "", fmt.Errorf("db: sqlite: create directory: %w", err)
		}
	}
	q := url.Values{}
	// busy_timeout is applied first by the driver whatever the order here.
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeoutMS))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL is durable across application crashes in WAL mode; a power
	// loss may lose the last transactions but never corrupts the file.
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + filepath.ToSlash(cfg.Path) + "?" + q.Encode()
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, "", fmt.Errorf("db: sqlite: %w", err)
	}
	sqlDB.SetMaxOpenConns(sqliteMaxConns)
	sqlDB.SetMaxIdleConns(sqliteMaxConns)
	// Idle connections are cheap and keep their prepared state; never
	// recycle them.
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	return sqlDB, cfg.Path, nil
}

func openPostgres(cfg Config) (*sql.DB, string, error) {
	dsn := cfg.DSN
	if dsn == "" {
		dsn = postgresURL(cfg)
	}
	connCfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The error may quote the DSN, password included; keep it out.
		return nil, "", fmt.Errorf("db: pgsql: invalid connection settings")
	}
	where := fmt.Sprintf("%s/%s", net.JoinHostPort(connCfg.Host, strconv.Itoa(int(connCfg.Port))), connCfg.Database)
	sqlDB := stdlib.OpenDB(*connCfg)
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	return sqlDB, where, nil
}

// postgresURL builds a connection URL from the separate fields of cfg.
func postgresURL(cfg Config) string {
	host := cfg.Host
	if host == "" {
		host = "localhost"
	}
	port := cfg.Port
	if port == 0 {
		port = 5432
	}
	u := url.URL{
		Scheme: "postgres",
		Host:   net.JoinHostPort(host, strconv.Itoa(port)),
		Path:   "/" + cfg.Database,
	}
	switch {
	case cfg.Username != "" && cfg.Password != "":
		u.User = url.UserPassword(cfg.Username, cfg.Password)
	case cfg.Username != "":
		u.User = url.User(cfg.Username)
	}
	if cfg.StatementTimeout > 0 {
		// A run-time parameter of the session: the server cancels a
		// statement that runs longer.
		u.RawQuery = url.Values{"statement_timeout": {strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)}}.Encode()
	}
	return u.String()
}

// NowMicros returns an SQL expression for the database clock's current time
// in microseconds since the Unix epoch, the unit of Gander's timestamp
// columns. Features that must agree on time across nodes (leases, job
// timestamps) use the database clock rather than each node's own. SQLite's
// clock has millisecond resolution.
func (d *DB) NowMicros() string {
	if d.Dialect == PostgreSQL {
		return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
	}
	return "CAST(unixepoch('subsec') * 1000000 AS INTEGER)"
}
