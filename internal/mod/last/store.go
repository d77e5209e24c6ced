package last

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/gander-xmpp/gander/internal/db"
)

// Key names an account: normalised domain and username.
type Key struct {
	Server   string
	Username string
}

// Record is one account's last activity (spec/last.md §3.1).
type Record struct {
	// Seconds is the Unix time, in seconds, of the last activity.
	Seconds int64
	// Status is the status text; it may be empty.
	Status string
}

// Write is one storage write: an upsert of Record, or a deletion.
type Write struct {
	Key    Key
	Record Record
	Delete bool
}

// Store is where the module keeps records. Implementations are safe for
// concurrent use.
type Store interface {
	// Backend is the metric name part: "rdbms" or "mnesia".
	Backend() string
	// Get reads the record of k; ok is false when there is none.
	Get(ctx context.Context, k Key) (r Record, ok bool, err error)
	// Apply performs writes (each key at most once) as one unit.
	Apply(ctx context.Context, ws []Write) error
	// CountActive counts the records of server with Seconds > after.
	CountActive(ctx context.Context, server string, after int64) (int, error)
	// Domain returns every record of server, by username.
	Domain(ctx context.Context, server string) (map[string]Record, error)
	// RemoveDomain deletes every record of server (dynamic domain removal).
	RemoveDomain(ctx context.Context, server string) error
}

// SQLStore keeps records in the last table of SQLite or PostgreSQL.
type SQLStore struct {
	db *db.DB
	// OnStatement, when set, is called once per write statement executed
	// (the disconnect-spike metric).
	OnStatement func()
}

// NewSQLStore returns a store over the migrated database d.
func NewSQLStore(d *db.DB) *SQLStore { return &SQLStore{db: d} }

// Backend implements Store.
func (*SQLStore) Backend() string { return "rdbms" }

// Get implements Store.
func (s *SQLStore) Get(ctx context.Context, k Key) (Record, bool, error) {
	var r Record
	err := s.db.QueryRowContext(ctx, "SELECT seconds, state FROM last WHERE server = ? AND username = ?",
		k.Server, k.Username).Scan(&r.Seconds, &r.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("last: get: %w", err)
	}
	return r, true, nil
}

// maxRowsPerStatement keeps a multi-row upsert well under SQLite's limit of
// bound parameters (4 per row).
const maxRowsPerStatement = 250

// Apply implements Store: deletions in one DELETE, upserts as multi-row
// INSERT ... ON CONFLICT statements, all in one transaction when there is
// more than one statement.
func (s *SQLStore) Apply(ctx context.Context, ws []Write) error {
	var dels, ups []Write
	for _, w := range ws {
		if w.Delete {
			dels = append(dels, w)
		} else {
			ups = append(ups, w)
		}
	}
	var stmts []func(ctx context.Context, ex execer) error
	if len(dels) > 0 {
		stmts = append(stmts, func(ctx context.Context, ex execer) error { return s.delete(ctx, ex, dels) })
	}
	for i := 0; i < len(ups); i += maxRowsPerStatement {
		chunk := ups[i:min(i+maxRowsPerStatement, len(ups))]
		stmts = append(stmts, func(ctx context.Context, ex execer) error { return s.upsert(ctx, ex, chunk) })
	}
	var err error
	switch len(stmts) {
	case 0:
		return nil
	case 1:
		err = stmts[0](ctx, s.db)
	default:
		err = s.db.InTx(ctx, func(tx *db.Tx) error {
			for _, st := range stmts {
				if err := st(ctx, tx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("last: write: %w", err)
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *SQLStore) counted() {
	if s.OnStatement != nil {
		s.OnStatement()
	}
}

func (s *SQLStore) upsert(ctx context.Context, ex execer, ws []Write) error {
	var b strings.Builder
	b.WriteString("INSERT INTO last (server, username, seconds, state) VALUES ")
	args := make([]any, 0, 4*len(ws))
	for i, w := range ws {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?)")
		args = append(args, w.Key.Server, w.Key.Username, w.Record.Seconds, w.Record.Status)
	}
	b.WriteString(" ON CONFLICT (server, username) DO UPDATE SET seconds = excluded.seconds, state = excluded.state")
	s.counted()
	_, err := ex.ExecContext(ctx, b.String(), args...)
	return err
}

func (s *SQLStore) delete(ctx context.Context, ex execer, ws []Write) error {
	var b strings.Builder
	b.WriteString("DELETE FROM last WHERE (server, username) IN (")
	args := make([]any, 0, 2*len(ws))
	for i, w := range ws {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, w.Key.Server, w.Key.Username)
	}
	b.WriteString(")")
	s.counted()
	_, err := ex.ExecContext(ctx, b.String(), args...)
	return err
}

// CountActive implements Store.
func (s *SQLStore) CountActive(ctx context.Context, server string, after int64) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM last WHERE server = ? AND seconds > ?", server, after).Scan(&n); err != nil {
		return 0, fmt.Errorf("last: count active: %w", err)
	}
	return n, nil
}

// Domain implements Store.
func (s *SQLStore) Domain(ctx context.Context, server string) (map[string]Record, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT username, seconds, state FROM last WHERE server = ?", server)
	if err != nil {
		return nil, fmt.Errorf("last: domain: %w", err)
	}
	defer rows.Close()
	out := map[string]Record{}
	for rows.Next() {
		var u string
		var r Record
		if err := rows.Scan(&u, &r.Seconds, &r.Status); err != nil {
			return nil, fmt.Errorf("last: domain: %w", err)
		}
		out[u] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("last: domain: %w", err)
	}
	return out, nil
}

// RemoveDomain implements Store.
func (s *SQLStore) RemoveDomain(ctx context.Context, server string) error {
	s.counted()
	if _, err := s.db.ExecContext(ctx, "DELETE FROM last WHERE server = ?", server); err != nil {
		return fmt.Errorf("last: remove domain: %w", err)
	}
	return nil
}

// MemStore is the backend = "mnesia" store: records in this node's
// memory, lost on restart and not shared with other nodes
// (spec/last.md §3.3).
type MemStore struct {
	mu sync.RWMutex
	m  map[Key]Record
}

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore { return &MemStore{m: map[Key]Record{}} }

// Backend implements Store.
func (*MemStore) Backend() string { return "mnesia" }

// Get implements Store.
func (s *MemStore) Get(_ context.Context, k Key) (Record, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.m[k]
	return r, ok, nil
}

// Apply implements Store.
func (s *MemStore) Apply(_ context.Context, ws []Write) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range ws {
		if w.Delete {
			delete(s.m, w.Key)
		} else {
			s.m[w.Key] = w.Record
		}
	}
	return nil
}

// CountActive implements Store.
func (s *MemStore) CountActive(_ context.Context, server string, after int64) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for k, r := range s.m {
		if k.Server == server && r.Seconds > after {
			n++
		}
	}
	return n, nil
}

// Domain implements Store.
func (s *MemStore) Domain(_ context.Context, server string) (map[string]Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]Record{}
	for k, r := range s.m {
		if k.Server == server {
			out[k.Username] = r
		}
	}
	return out, nil
}

// RemoveDomain implements Store: the internal store keeps the records of
// a removed domain, as the reference's does (spec/last.md §3.3).
func (s *MemStore) RemoveDomain(context.Context, string) error { return nil }
