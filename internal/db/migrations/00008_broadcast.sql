-- Admin broadcasts (docs/modules/mod_broadcast.md). Job ids are the
-- dialect's generated key (AutoID in internal/db/dialect.go). Timestamps are
-- microseconds since the Unix epoch, taken from the database clock.

-- +goose Up
CREATE TABLE broadcast_jobs (
    id               {{.AutoID}},
    name             TEXT    NOT NULL,
    domain           TEXT    NOT NULL,
    host_type        TEXT    NOT NULL,
    sender           TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    message_rate     INTEGER NOT NULL,
    recipient_group  TEXT    NOT NULL CHECK (recipient_group IN ('all_users_in_domain')),
    recipient_count  INTEGER NOT NULL,
    execution_state  TEXT    NOT NULL DEFAULT 'running'
        CHECK (execution_state IN ('running', 'finished', 'abort_error', 'abort_admin')),
    abortion_reason  TEXT,
    -- The node that owned the job last; kept after the ownership record is
    -- gone so that finished jobs still show it.
    last_owner_node  TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    started_at       BIGINT,
    stopped_at       BIGINT
);
CREATE INDEX i_broadcast_jobs_domain ON broadcast_jobs (domain, id);
CREATE INDEX i_broadcast_jobs_host_type_state ON broadcast_jobs (host_type, execution_state);
CREATE INDEX i_broadcast_jobs_domain_state ON broadcast_jobs (domain, execution_state);
-- At most one running job per domain, enforced by the database itself
-- so concurrent starts on different nodes cannot both win.
CREATE UNIQUE INDEX u_broadcast_jobs_running_domain ON broadcast_jobs (domain)
    WHERE execution_state = 'running';

CREATE TABLE broadcast_ownership (
    job_id     BIGINT NOT NULL PRIMARY KEY REFERENCES broadcast_jobs (id) ON DELETE CASCADE,
    owner_node TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX i_broadcast_ownership_owner ON broadcast_ownership (owner_node);
CREATE INDEX i_broadcast_ownership_expires ON broadcast_ownership (expires_at);

CREATE TABLE broadcast_worker_state (
    job_id               BIGINT  NOT NULL PRIMARY KEY REFERENCES broadcast_jobs (id) ON DELETE CASCADE,
    cursor               TEXT,
    recipients_processed INTEGER NOT NULL DEFAULT 0,
    finished             BOOLEAN NOT NULL DEFAULT FALSE
);

-- Live nodes (two live nodes may not share a name). A node writes
-- its row at start with a random instance id, refreshes heartbeat_at while it
-- runs and deletes the row when it stops.
CREATE TABLE node_heartbeat (
    node_name    TEXT   NOT NULL PRIMARY KEY,
    instance     TEXT   NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE node_heartbeat;
DROP TABLE broadcast_worker_state;
DROP TABLE broadcast_ownership;
DROP TABLE broadcast_jobs;
