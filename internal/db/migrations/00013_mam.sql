-- mod_mam, the message archive (docs/modules/mod_mam.md). Archive owners,
-- users and rooms alike, get a numeric id in mam_server_user (the
-- dialect's generated key, never reused: a re-registered account starts
-- with a new, empty archive). Row ids are archive ids, (µs << 8) | node;
-- messages are the stanzas' XML text; search_body is the lower-cased body
-- that full-text search matches.
--
-- The indexes serve every query from one owner's rows (TestMamIndexes
-- checks the plans on PostgreSQL): the primary keys the queries by id and
-- the room queries, (user_id, remote_bare_jid, id) the queries of one
-- conversation (the last 50 messages: a backward scan, no sort), the
-- origin_id indexes the retractions.

-- +goose Up
CREATE TABLE mam_server_user (
    id        {{.AutoID}},
    server    TEXT NOT NULL,
    user_name TEXT NOT NULL,
    UNIQUE (server, user_name)
);

CREATE TABLE mam_message (
    user_id         BIGINT  NOT NULL,
    id              BIGINT  NOT NULL,
    remote_bare_jid TEXT    NOT NULL,
    remote_resource TEXT    NOT NULL,
    -- 'I' incoming, 'O' outgoing
    direction       CHAR(1) NOT NULL,
    from_jid        TEXT    NOT NULL,
    origin_id       TEXT,
    is_groupchat    BOOLEAN NOT NULL,
    message         TEXT    NOT NULL,
    search_body     TEXT    NOT NULL,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX i_mam_message_remote ON mam_message (user_id, remote_bare_jid, id);
CREATE INDEX i_mam_message_origin ON mam_message (user_id, remote_bare_jid, origin_id)
    WHERE origin_id IS NOT NULL;

CREATE TABLE mam_muc_message (
    room_id     BIGINT NOT NULL,
    id          BIGINT NOT NULL,
    -- the author's real bare JID, '' for room events
    sender      TEXT   NOT NULL,
    nick_name   TEXT   NOT NULL,
    origin_id   TEXT,
    message     TEXT   NOT NULL,
    search_body TEXT   NOT NULL,
    PRIMARY KEY (room_id, id)
);
CREATE INDEX i_mam_muc_message_origin ON mam_muc_message (room_id, sender, origin_id)
    WHERE origin_id IS NOT NULL;

-- Preferences (XEP-0441): remote_jid '' holds the default; behaviour
-- 'A' always, 'N' never, 'R' roster.
CREATE TABLE mam_config (
    user_id    BIGINT       NOT NULL,
    remote_jid TEXT         NOT NULL,
    behaviour  CHAR(1)      NOT NULL,
    PRIMARY KEY (user_id, remote_jid)
);

-- +goose Down
DROP TABLE mam_config;
DROP TABLE mam_muc_message;
DROP TABLE mam_message;
DROP TABLE mam_server_user;
