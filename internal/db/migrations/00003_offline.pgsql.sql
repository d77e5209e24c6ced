-- Offline messages, PostgreSQL version: see 00003_offline.sqlite.sql. The two
-- differ only in how id is generated; a sequence never reuses ids.

-- +goose Up
CREATE TABLE offline_message (
    id        BIGSERIAL PRIMARY KEY,
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
