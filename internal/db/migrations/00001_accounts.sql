-- Accounts. Binary SCRAM keys are base64 text so that the column type is the
-- same on both backends; timestamps are microseconds since the Unix epoch.

-- +goose Up
CREATE TABLE users (
    server            TEXT    NOT NULL,
    username          TEXT    NOT NULL,
    salt              TEXT    NOT NULL,
    iterations        INTEGER NOT NULL,
    sha1_stored_key   TEXT    NOT NULL,
    sha1_server_key   TEXT    NOT NULL,
    sha256_stored_key TEXT    NOT NULL,
    sha256_server_key TEXT    NOT NULL,
    created_at        BIGINT  NOT NULL,
    PRIMARY KEY (server, username)
);

-- +goose Down
DROP TABLE users;
