-- One quota row per scope (`phone:<digits>` or `merchant:<id>`) holding its current hour and
-- count, instead of one row per scope and hour. A text counts with one upsert (a new hour
-- starts the count again) where it took an upsert and, at the scope's first text of an hour,
-- a DELETE of the earlier hours (for a payer phone that was nearly every bill); and the
-- table no longer keeps a row for every phone ever billed (a phone's old hours went only
-- when the same phone was billed again). The latest hour of each scope is kept.
CREATE TABLE text_quota_by_scope (
    scope  TEXT PRIMARY KEY,
    hour   TEXT NOT NULL,
    count  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO text_quota_by_scope (scope, hour, count)
    SELECT scope, hour, count FROM text_quota t
    WHERE hour = (SELECT MAX(hour) FROM text_quota u WHERE u.scope = t.scope);
DROP TABLE text_quota;
ALTER TABLE text_quota_by_scope RENAME TO text_quota;
