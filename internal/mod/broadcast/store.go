package broadcast

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gander-xmpp/gander/internal/db"
)

// State is a job's execution state (spec/broadcast.md §8).
type State string

// The execution states.
const (
	StateRunning    State = "running"
	StateFinished   State = "finished"
	StateAbortError State = "abort_error"
	StateAbortAdmin State = "abort_admin"
)

// RecipientGroupAllUsers is the only recipient group: every account of the
// domain.
const RecipientGroupAllUsers = "all_users_in_domain"

// Job is a broadcast job as the API shows it (spec/broadcast.md §3.1).
// Timestamps are UTC, truncated to the second (§3.4).
type Job struct {
	ID             int64
	Name           string
	Domain         string
	HostType       string
	Sender         string
	Subject        string
	Body           string
	MessageRate    int
	RecipientGroup string
	// OwnerNode is the node holding the lease, or for a job that no longer
	// runs the node that owned it last.
	OwnerNode           string
	RecipientCount      int
	RecipientsProcessed int
	State               State
	// AbortionReason is set for StateAbortError only.
	AbortionReason string
	CreatedAt      time.Time
	// StartedAt and StoppedAt are nil until set.
	StartedAt *time.Time
	StoppedAt *time.Time

	// snapshot is created_at in microseconds: the instant of the
	// recipients snapshot.
	snapshot int64
	// ws is the persisted worker state.
	ws WorkerState
}

// WorkerState is the persisted progress of a job's worker.
type WorkerState struct {
	// Cursor is where the next batch starts; "" before the first one.
	Cursor    string
	Processed int
	Finished  bool
}

// newJob is what creating a job stores.
type newJob struct {
	Name, Domain, HostType, Sender, Subject, Body string
	MessageRate, RecipientCount                   int
}

// errNoJob is returned by the store for a job id that does not exist.
var errNoJob = errors.New("broadcast: no such job")

// SQLStore keeps jobs, ownership leases, worker progress and node
// heartbeats in the SQL database, SQLite or PostgreSQL, and reads the
// recipients from the users table. Every "now" is the database clock
// (spec §3.3). It is safe for concurrent use.
type SQLStore struct {
	db  *db.DB
	now string // SQL expression: database now in microseconds
}

// NewSQLStore returns a store over d, which must be migrated.
func NewSQLStore(d *db.DB) *SQLStore {
	return &SQLStore{db: d, now: d.NowMicros()}
}

const jobColumns = `j.id, j.name, j.domain, j.host_type, j.sender, j.subject, j.body, j.message_rate,
	j.recipient_group, j.recipient_count, j.execution_state, j.abortion_reason,
	COALESCE(o.owner_node, j.last_owner_node), j.created_at, j.started_at, j.stopped_at,
	COALESCE(w.recipients_processed, 0), w.cursor, COALESCE(w.finished, FALSE)
	FROM broadcast_jobs j
	LEFT JOIN broadcast_ownership o ON o.job_id = j.id
	LEFT JOIN broadcast_worker_state w ON w.job_id = j.id`

type scanner interface{ Scan(dest ...any) error }

func scanJob(r scanner) (Job, error) {
	var (
		j                 Job
		reason, cursor    sql.NullString
		started, stopped  sql.NullInt64
		state             string
		processed         int64
		finished          bool
		rate, recipientsN int64
	)
	if err := r.Scan(&j.ID, &j.Name, &j.Domain, &j.HostType, &j.Sender, &j.Subject, &j.Body, &rate,
		&j.RecipientGroup, &recipientsN, &state, &reason, &j.OwnerNode, &j.snapshot, &started, &stopped,
		&processed, &cursor, &finished); err != nil {
		return Job{}, err
	}
	j.MessageRate, j.RecipientCount, j.State = int(rate), int(recipientsN), State(state)
	j.AbortionReason = reason.String
	j.CreatedAt = seconds(j.snapshot)
	if started.Valid {
		t := seconds(started.Int64)
		j.StartedAt = &t
	}
	if stopped.Valid {
		t := seconds(stopped.Int64)
		j.StoppedAt = &t
	}
	j.RecipientsProcessed = int(processed)
	j.ws = WorkerState{Cursor: cursor.String, Processed: int(processed), Finished: finished}
	return j, nil
}

// seconds converts stored microseconds to a UTC time truncated to the
// second (spec §3.4).
func seconds(us int64) time.Time {
	return db.MicrosToTime(us).Truncate(time.Second)
}

// CreateJob inserts a running job created now, its ownership by node for lease and an
// empty worker state, in one transaction, and returns the job's id. A
// running job of the same domain gives ErrRunningJobLimitExceeded; the
// partial unique index on running jobs makes that hold between nodes too
// (spec §5.2).
func (s *SQLStore) CreateJob(ctx context.Context, j newJob, node string, lease time.Duration) (int64, error) {
	var id int64
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		// created_at is the recipients' snapshot instant. It is taken from
		// this node's clock, as account creation times are, so that the
		// snapshot compares like with like (the database clock of SQLite
		// has only millisecond resolution).
		//
		// The conflict target names the partial unique index: a concurrent
		// creator's insert waits for ours and then inserts nothing.
		err := tx.QueryRowContext(ctx, `INSERT INTO broadcast_jobs
			(name, domain, host_type, sender, subject, body, message_rate, recipient_group,
			 recipient_count, execution_state, last_owner_node, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)
			ON CONFLICT (domain) WHERE execution_state = 'running' DO NOTHING
			RETURNING id`,
			j.Name, j.Domain, j.HostType, j.Sender, j.Subject, j.Body, j.MessageRate, RecipientGroupAllUsers,
			j.RecipientCount, node, time.Now().UnixMicro()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrRunningJobLimitExceeded
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO broadcast_ownership (job_id, owner_node, updated_at, expires_at)
			VALUES (?, ?, `+s.now+`, `+s.now+` + ?)`, id, node, lease.Microseconds()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO broadcast_worker_state (job_id) VALUES (?)`, id)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrRunningJobLimitExceeded) {
			return 0, err
		}
		return 0, fmt.Errorf("broadcast: create job: %w", err)
	}
	return id, nil
}

// MarkStarted sets the job's start time (with no state condition).
func (s *SQLStore) MarkStarted(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE broadcast_jobs SET started_at = `+s.now+` WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("broadcast: mark started: %w", err)
	}
	return nil
}

// MarkStopped moves a running job to the terminal state st (with reason for
// abort_error), sets its stop time and deletes its ownership record, in one
// transaction. It reports false when the job was not running (or did not
// exist), in which case nothing changes.
func (s *SQLStore) MarkStopped(ctx context.Context, id int64, st State, reason string) (bool, error) {
	var ok bool
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var r any
		if st == StateAbortError {
			r = reason
		}
		n, err := db.RowsAffected(tx.ExecContext(ctx, `UPDATE broadcast_jobs
			SET execution_state = ?, abortion_reason = ?, stopped_at = `+s.now+`
			WHERE id = ? AND execution_state = 'running'`, string(st), r, id))
		if err != nil || n == 0 {
			return err
		}
		ok = true
		_, err = tx.ExecContext(ctx, `DELETE FROM broadcast_ownership WHERE job_id = ?`, id)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("broadcast: mark %s: %w", st, err)
	}
	return ok, nil
}

// SaveWorkerState persists the worker's progress, but only while the job
// is running and node holds its lease; it reports false otherwise. This is
// how a worker notices, at its next batch, that its job was aborted from
// another node or taken over (spec §10).
func (s *SQLStore) SaveWorkerState(ctx context.Context, id int64, node string, ws WorkerState) (bool, error) {
	var cursor any
	if ws.Cursor != "" {
		cursor = ws.Cursor
	}
	n, err := db.RowsAffected(s.db.ExecContext(ctx, `UPDATE broadcast_worker_state
		SET cursor = ?, recipients_processed = ?, finished = ?
		WHERE job_id = ? AND EXISTS (SELECT 1 FROM broadcast_jobs j JOIN broadcast_ownership o ON o.job_id = j.id
			WHERE j.id = ? AND j.execution_state = 'running' AND o.owner_node = ?)`,
		cursor, ws.Processed, ws.Finished, id, id, node))
	if err != nil {
		return false, fmt.Errorf("broadcast: save worker state: %w", err)
	}
	return n > 0, nil
}

// GetJob returns a job, or errNoJob.
func (s *SQLStore) GetJob(ctx context.Context, id int64) (Job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, `SELECT `+jobColumns+` WHERE j.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, errNoJob
	}
	if err != nil {
		return Job{}, fmt.Errorf("broadcast: get job: %w", err)
	}
	return j, nil
}

func (s *SQLStore) jobs(ctx context.Context, query string, args ...any) ([]Job, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+jobColumns+` `+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// ListJobs returns a domain's jobs, newest (highest id) first, skipping
// offset and returning at most limit.
func (s *SQLStore) ListJobs(ctx context.Context, domain string, limit, offset int) ([]Job, error) {
	js, err := s.jobs(ctx, `WHERE j.domain = ? ORDER BY j.id DESC LIMIT ? OFFSET ?`, domain, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("broadcast: list jobs: %w", err)
	}
	return js, nil
}

// OwnedRunning returns the running jobs of hostType whose lease node holds,
// with their worker state.
func (s *SQLStore) OwnedRunning(ctx context.Context, hostType, node string) ([]Job, error) {
	js, err := s.jobs(ctx, `WHERE j.host_type = ? AND j.execution_state = 'running' AND o.owner_node = ? ORDER BY j.id`,
		hostType, node)
	if err != nil {
		return nil, fmt.Errorf("broadcast: owned running jobs: %w", err)
	}
	return js, nil
}

// TakeExpiredLeases gives node the expired leases of the running jobs of
// hostType and returns their ids (spec §9.1 step 1). One UPDATE does it, so
// two nodes cannot both take a job: the second one's update finds the lease
// no longer expired.
func (s *SQLStore) TakeExpiredLeases(ctx context.Context, hostType, node string, lease time.Duration) ([]int64, error) {
	var ids []int64
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE broadcast_ownership
			SET owner_node = ?, expires_at = `+s.now+` + ?, updated_at = `+s.now+`
			WHERE expires_at < `+s.now+` AND job_id IN
				(SELECT id FROM broadcast_jobs WHERE host_type = ? AND execution_state = 'running')
			RETURNING job_id`, node, lease.Microseconds(), hostType)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE broadcast_jobs SET last_owner_node = ? WHERE id = ?`, node, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("broadcast: take expired leases: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// RenewLeases extends node's leases on the running jobs of hostType to now
// + lease.
func (s *SQLStore) RenewLeases(ctx context.Context, hostType, node string, lease time.Duration) error {
	_, err := s.db.ExecContext(ctx, `UPDATE broadcast_ownership
		SET expires_at = `+s.now+` + ?, updated_at = `+s.now+`
		WHERE owner_node = ? AND job_id IN
			(SELECT id FROM broadcast_jobs WHERE host_type = ? AND execution_state = 'running')`,
		lease.Microseconds(), node, hostType)
	if err != nil {
		return fmt.Errorf("broadcast: renew leases: %w", err)
	}
	return nil
}

// DeleteInactive deletes the job id if it belongs to domain and is not
// running, and reports whether it did. The ownership and worker-state
// records go with it (foreign keys with ON DELETE CASCADE).
func (s *SQLStore) DeleteInactive(ctx context.Context, domain string, id int64) (bool, error) {
	n, err := db.RowsAffected(s.db.ExecContext(ctx,
		`DELETE FROM broadcast_jobs WHERE id = ? AND domain = ? AND execution_state <> 'running'`, id, domain))
	if err != nil {
		return false, fmt.Errorf("broadcast: delete job: %w", err)
	}
	return n > 0, nil
}

// DeleteInactiveByDomain deletes the domain's jobs that are not running and
// returns their ids, ascending.
func (s *SQLStore) DeleteInactiveByDomain(ctx context.Context, domain string) ([]int64, error) {
	ids := []int64{}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		rows, err := tx.QueryContext(ctx,
			`DELETE FROM broadcast_jobs WHERE domain = ? AND execution_state <> 'running' RETURNING id`, domain)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("broadcast: delete inactive jobs: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// LoadRecipients returns the next page of at most limit usernames of
// domain's accounts created at or before snapshot (microseconds), in
// byte-wise username order, after the position cursor ("" for the first
// page), and the cursor of the following page ("" at the end) (spec §6.1).
// The cursor is "<snapshot>$<last username>", so later pages keep the
// snapshot of the first.
func (s *SQLStore) LoadRecipients(ctx context.Context, domain string, snapshot int64, cursor string, limit int) ([]string, string, error) {
	after, hasAfter := "", false
	if cursor != "" {
		snap, last, ok := strings.Cut(cursor, "$")
		t, err := strconv.ParseInt(snap, 10, 64)
		if !ok || err != nil {
			return nil, "", fmt.Errorf("broadcast: bad cursor %q", cursor)
		}
		snapshot, after, hasAfter = t, last, true
	}
	user := s.db.CollateBinary("username")
	q := `SELECT username FROM users WHERE server = ? AND created_at <= ?`
	args := []any{domain, snapshot}
	if hasAfter {
		q += ` AND ` + user + ` > ?`
		args = append(args, after)
	}
	q += ` ORDER BY ` + user + ` LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("broadcast: load recipients: %w", err)
	}
	defer rows.Close()
	var users []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, "", fmt.Errorf("broadcast: load recipients: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("broadcast: load recipients: %w", err)
	}
	if len(users) <= limit {
		return users, "", nil
	}
	users = users[:limit]
	return users, strconv.FormatInt(snapshot, 10) + "$" + users[limit-1], nil
}

// RegisterNode records that the node name is live with instance, and
// refuses (ErrNodeNameInUse) when another instance heartbeated under that
// name less than stale ago.
func (s *SQLStore) RegisterNode(ctx context.Context, name, instance string, stale time.Duration) error {
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		var (
			other string
			ago   int64
		)
		err := tx.QueryRowContext(ctx, `SELECT instance, `+s.now+` - heartbeat_at FROM node_heartbeat WHERE node_name = ?`, name).
			Scan(&other, &ago)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("broadcast: read node heartbeat: %w", err)
		case other != instance && ago < stale.Microseconds():
			return fmt.Errorf("%w: node %q heartbeated %s ago", ErrNodeNameInUse, name,
				(time.Duration(ago) * time.Microsecond).Round(time.Millisecond))
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO node_heartbeat (node_name, instance, started_at, heartbeat_at)
			VALUES (?, ?, `+s.now+`, `+s.now+`)
			ON CONFLICT (node_name) DO UPDATE SET instance = excluded.instance,
				started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`, name, instance)
		if err != nil {
			return fmt.Errorf("broadcast: write node heartbeat: %w", err)
		}
		return nil
	})
}

// Heartbeat refreshes the node's heartbeat; it reports false if the row
// now belongs to another instance (or is gone).
func (s *SQLStore) Heartbeat(ctx context.Context, name, instance string) (bool, error) {
	n, err := db.RowsAffected(s.db.ExecContext(ctx, `UPDATE node_heartbeat SET heartbeat_at = `+s.now+`
		WHERE node_name = ? AND instance = ?`, name, instance))
	if err != nil {
		return false, fmt.Errorf("broadcast: node heartbeat: %w", err)
	}
	return n > 0, nil
}

// UnregisterNode deletes the node's heartbeat row if it is still this
// instance's.
func (s *SQLStore) UnregisterNode(ctx context.Context, name, instance string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM node_heartbeat WHERE node_name = ? AND instance = ?`, name, instance)
	if err != nil {
		return fmt.Errorf("broadcast: remove node heartbeat: %w", err)
	}
	return nil
}
