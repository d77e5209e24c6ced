// Package db opens Gander's SQL database, SQLite (embedded, the default) or
// PostgreSQL (shared by the nodes of a cluster), applies the embedded schema
// migrations, and runs queries and transactions the same way on both.
//
// Queries are written once, with ? placeholders, in SQL that both backends
// accept; Rebind turns them into PostgreSQL's $1, $2, ... form. What cannot be
// written portably lives in dialect.go, the schema's differences included,
// and nowhere else.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Dialect names, as used in Config.Driver and DB.Dialect.
const (
	// SQLite is the embedded database (modernc.org/sqlite, no cgo).
	SQLite = "sqlite"
	// PostgreSQL is the server database (pgx through database/sql).
	PostgreSQL = "pgsql"
)

// DefaultMaxConns is the connection pool size used when Config.MaxConns is
// not set, for PostgreSQL.
const DefaultMaxConns = 10

// Config selects and locates the database.
type Config struct {
	// Driver is "sqlite" or "pgsql".
	Driver string
	// Path is the SQLite database file. Missing parent directories are created.
	Path string

	// Host, Port, Database, Username and Password locate a PostgreSQL
	// database. Port defaults to 5432 and Host to localhost.
	Host     string
	Port     int
	Database string
	Username string
	Password string
	// MaxConns is the PostgreSQL pool size (default DefaultMaxConns). SQLite
	// ignores it; see openSQLite for the pool it uses.
	MaxConns int
	// DSN, if set, is a pgx connection string (URL or key=value form) used
	// instead of Host, Port, Database, Username and Password.
	DSN string
	// StatementTimeout, if positive, makes PostgreSQL cancel a statement
	// that runs longer (query_timeout, docs/configuration.md).
	StatementTimeout time.Duration
}

// DB is an open, migrated database. It is safe for concurrent use.
type DB struct {
	// SQL is the underlying pool. Prefer the rebinding methods of DB; a query
	// run on SQL directly must already be in the dialect's placeholder form.
	SQL *sql.DB
	// Dialect is SQLite or PostgreSQL.
	Dialect string

	observer atomic.Pointer[Observer]
}

// Observer is told of every call made through DB and Tx: the function
// ("exec", "query", "query_row", "begin", "commit"), how long it took and
// whether it failed. It must be safe for concurrent use and fast.
type Observer func(function string, took time.Duration, failed bool)

// SetObserver installs o (nil removes it); used for the backend metrics.
func (d *DB) SetObserver(o Observer) {
	if o == nil {
		d.observer.Store(nil)
		return
	}
	d.observer.Store(&o)
}

func (d *DB) observe(function string, start time.Time, err error) {
	if o := d.observer.Load(); o != nil {
		(*o)(function, time.Since(start), err != nil)
	}
}

// Open opens the database cfg describes, checks that it answers, and applies
// every embedded migration not yet applied. It logs what it opened and which
// migrations it ran. A nil log discards the messages.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		sqlDB *sql.DB
		where string
		err   error
	)
	switch cfg.Driver {
	case SQLite:
		sqlDB, where, err = openSQLite(cfg)
	case PostgreSQL:
		sqlDB, where, err = openPostgres(cfg)
	default:
		return nil, fmt.Errorf("db: unknown driver %q (want %q or %q)", cfg.Driver, SQLite, PostgreSQL)
	}
	if err != nil {
		return nil, err
	}
	d := &DB{SQL: sqlDB, Dialect: cfg.Driver}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("db: connect to %s %s: %w", cfg.Driver, where, err)
	}
	log.Info("database opened", "driver", cfg.Driver, "location", where)
	if err := d.migrate(ctx, log); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the pool. Queries running at the time may fail.
func (d *DB) Close() error {
	return d.SQL.Close()
}

// ExecContext runs a statement that returns no rows, after Rebind.
func (d *DB) ExecContext(ctx context.Context, query string, args ...any) (res sql.Result, err error) {
	start := time.Now()
	defer func() { d.observe("exec", start, err) }()
	return d.SQL.ExecContext(ctx, d.Rebind(query), args...)
}

// QueryContext runs a query that returns rows, after Rebind. The caller must
// close the rows.
func (d *DB) QueryContext(ctx context.Context, query string, args ...any) (rows *sql.Rows, err error) {
	start := time.Now()
	defer func() { d.observe("query", start, err) }()
	return d.SQL.QueryContext(ctx, d.Rebind(query), args...)
}

// QueryRowContext runs a query that returns at most one row, after Rebind.
func (d *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	start := time.Now()
	row := d.SQL.QueryRowContext(ctx, d.Rebind(query), args...)
	d.observe("query_row", start, row.Err())
	return row
}

// Tx is a transaction started by InTx. Its methods rebind like those of DB.
// A Tx belongs to the goroutine running the InTx callback and must not be
// used after the callback returns.
type Tx struct {
	tx *sql.Tx
	db *DB
}

// ExecContext runs a statement that returns no rows in the transaction.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (res sql.Result, err error) {
	start := time.Now()
	defer func() { t.db.observe("exec", start, err) }()
	return t.tx.ExecContext(ctx, t.db.Rebind(query), args...)
}

// QueryContext runs a query that returns rows in the transaction. The rows
// must be closed before the next statement of the transaction runs.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (rows *sql.Rows, err error) {
	start := time.Now()
	defer func() { t.db.observe("query", start, err) }()
	return t.tx.QueryContext(ctx, t.db.Rebind(query), args...)
}

// QueryRowContext runs a query that returns at most one row in the
// transaction.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	start := time.Now()
	row := t.tx.QueryRowContext(ctx, t.db.Rebind(query), args...)
	t.db.observe("query_row", start, row.Err())
	return row
}

// InTx runs fn in a transaction, committing it if fn returns nil and rolling
// it back otherwise (also when fn panics, after which the panic goes on).
// fn must use only tx, never d: on SQLite every transaction holds the write
// lock from its start, so a write through d would wait for it.
//
// fn may run while other writers wait, so keep it short and free of network
// calls.
func (d *DB) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	start := time.Now()
	sqlTx, err := d.SQL.BeginTx(ctx, nil)
	d.observe("begin", start, err)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(&Tx{tx: sqlTx, db: d}); err != nil {
		return err
	}
	start = time.Now()
	err = sqlTx.Commit()
	d.observe("commit", start, err)
	if err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	committed = true
	return nil
}

// RowsAffected returns res.RowsAffected, wrapping the error of a failed
// statement or of a driver that cannot count. It lets callers write
// n, err := db.RowsAffected(d.ExecContext(...)).
func RowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("db: rows affected: %w", err)
	}
	return n, nil
}

// MicrosToTime converts a stored timestamp (microseconds since the Unix epoch)
// to a UTC time.
func MicrosToTime(us int64) time.Time {
	return time.UnixMicro(us).UTC()
}
