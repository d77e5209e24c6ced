-- mod_inbox: let the message upserts be HOT updates (heap-only tuples) on
-- PostgreSQL, and spare SQLite an index write per entry write.
-- Every message rewrites its entries' ts, so with an index on ts every
-- update added a new entry to each of the table's indexes and left the old
-- row version for VACUUM: with a busy room the table and its indexes grew by
-- one row version per member per flush, and every upsert and inbox query
-- walked the dead versions until VACUUM ran. Without the index, an update
-- that keeps the box (nearly all of them) is HOT: the new version goes on
-- the same page and the old ones are pruned in place, with no index work.
-- The inbox query reads one user's entries through the primary key
-- (lserver, luser, ...) and sorts them; the bin cleaner uses i_inbox_bin.
-- The free space per page (fillfactor) is what HOT needs to stay on the
-- page; SQLite has no such setting.

-- +goose Up
DROP INDEX i_inbox_ts;
{{- if .PostgreSQL}}
ALTER TABLE inbox SET (fillfactor = 50);
{{- end}}

-- +goose Down
{{- if .PostgreSQL}}
ALTER TABLE inbox RESET (fillfactor);
{{- end}}
CREATE INDEX i_inbox_ts ON inbox (lserver, luser, ts);
