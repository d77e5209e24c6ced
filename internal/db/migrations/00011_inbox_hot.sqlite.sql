-- mod_inbox: drop the index on ts (see 00011_inbox_hot.pgsql.sql): every
-- message write changes ts, so the index cost a delete and an insert per
-- entry write; the inbox query reads one user's entries through the
-- primary key and sorts them.

-- +goose Up
DROP INDEX i_inbox_ts;

-- +goose Down
CREATE INDEX i_inbox_ts ON inbox (lserver, luser, ts);
