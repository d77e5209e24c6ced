-- +goose Up
-- mod_inbox (docs/modules/mod_inbox.md): one entry per (owner, remote bare JID).
-- Timestamps are microseconds since the Unix epoch; content is the
-- serialised XML of the last message.
CREATE TABLE inbox (
    lserver         VARCHAR(250) NOT NULL,
    luser           VARCHAR(250) NOT NULL,
    remote_bare_jid VARCHAR(250) NOT NULL,
    msg_id          VARCHAR(250),
    box             VARCHAR(64)  NOT NULL DEFAULT 'inbox',
    content         TEXT         NOT NULL,
    ts              BIGINT       NOT NULL,
    muted_until     BIGINT       NOT NULL DEFAULT 0,
    unread_count    INTEGER      NOT NULL,
    PRIMARY KEY (lserver, luser, remote_bare_jid)
);
CREATE INDEX i_inbox_ts ON inbox (lserver, luser, ts);
CREATE INDEX i_inbox_box ON inbox (lserver, luser, box);
CREATE INDEX i_inbox_bin ON inbox (box) WHERE box = 'bin';

-- +goose Down
DROP TABLE inbox;
