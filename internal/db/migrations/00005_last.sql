-- Last activity (XEP-0012, docs/modules/mod_last.md): one record per account, the
-- Unix time in seconds of the last "went unavailable" event and its status
-- text. The (server, seconds) index serves "count active users" and the
-- old-user queries, which scan one domain by time.

-- +goose Up
CREATE TABLE last (
    server   TEXT   NOT NULL,
    username TEXT   NOT NULL,
    seconds  BIGINT NOT NULL,
    state    TEXT   NOT NULL,
    PRIMARY KEY (server, username)
);
CREATE INDEX i_last_server_seconds ON last (server, seconds);

-- +goose Down
DROP TABLE last;
