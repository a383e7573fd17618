-- One quota row per scope (`phone:<digits>` or `merchant:<id>`) holding its current hour and
-- count, instead of one row per scope and hour: a text counts with one upsert (a new hour
-- starts the count again), no DELETE of earlier hours, and no row kept for every phone ever
-- billed. The latest hour of each scope is kept.
CREATE TABLE text_quota_by_scope (
    scope  TEXT PRIMARY KEY,
    hour   TEXT NOT NULL,
    count  BIGINT NOT NULL
);
INSERT INTO text_quota_by_scope (scope, hour, count)
    SELECT DISTINCT ON (scope) scope, hour, count FROM text_quota ORDER BY scope, hour DESC;
DROP TABLE text_quota;
ALTER TABLE text_quota_by_scope RENAME TO text_quota;
