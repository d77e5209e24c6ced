-- Rosters (RFC 6121 §2). A contact's groups go with it: deleting a roster
-- item deletes its groups (foreign keys are on for SQLite too).

-- +goose Up
CREATE TABLE rosterusers (
    server            TEXT    NOT NULL,
    username          TEXT    NOT NULL,
    jid               TEXT    NOT NULL,
    name              TEXT    NOT NULL DEFAULT '',
    subscription      TEXT    NOT NULL DEFAULT 'none'
        CHECK (subscription IN ('none', 'to', 'from', 'both')),
    pending_out       BOOLEAN NOT NULL DEFAULT FALSE,
    pending_in        BOOLEAN NOT NULL DEFAULT FALSE,
    -- The status text of the pending inbound subscription request, kept to
    -- be shown again when the user next logs in (RFC 6121 §3.1.3).
    pending_in_status TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (server, username, jid)
);

CREATE TABLE rostergroups (
    server   TEXT NOT NULL,
    username TEXT NOT NULL,
    jid      TEXT NOT NULL,
    grp      TEXT NOT NULL,
    PRIMARY KEY (server, username, jid, grp),
    FOREIGN KEY (server, username, jid)
        REFERENCES rosterusers (server, username, jid) ON DELETE CASCADE
);

-- Roster versioning (RFC 6121 §2.6): the user's current version string.
CREATE TABLE roster_version (
    server   TEXT NOT NULL,
    username TEXT NOT NULL,
    version  TEXT NOT NULL,
    PRIMARY KEY (server, username)
);

-- +goose Down
DROP TABLE roster_version;
DROP TABLE rostergroups;
DROP TABLE rosterusers;
