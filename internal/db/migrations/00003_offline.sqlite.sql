-- Offline messages, SQLite version: see 00003_offline.pgsql.sql. The two
-- differ only in how id is generated. AUTOINCREMENT keeps ids of deleted
-- messages from being reused, so a delivery acknowledged "up to id N" never
-- covers a message stored later.

-- +goose Up
CREATE TABLE offline_message (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    server    TEXT    NOT NULL,
    username  TEXT    NOT NULL,
    timestamp BIGINT  NOT NULL,
    from_jid  TEXT    NOT NULL,
    packet    TEXT    NOT NULL,
    expire    BIGINT
);
CREATE INDEX i_offline_message_user ON offline_message (server, username, id);
CREATE INDEX i_offline_message_expire ON offline_message (expire);

-- +goose Down
DROP TABLE offline_message;
