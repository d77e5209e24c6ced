-- Offline messages. The id is the dialect's generated key (AutoID in
-- internal/db/dialect.go), which never reuses the id of a deleted message, so
-- a delivery acknowledged "up to id N" never covers a message stored later.

-- +goose Up
CREATE TABLE offline_message (
    id        {{.AutoID}},
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
