-- Visits (방문 기록) made on this device: the protocol Visit as JSON, its check-in time (UTC
-- RFC 3339, sorts as text) and where it stands with the server. (4 and 5 are kept for other
-- changes of issue 16.)
CREATE TABLE visits (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL,
    checked_in_at TEXT NOT NULL,
    data          TEXT NOT NULL,
    sync_state    TEXT NOT NULL
);
CREATE INDEX visits_at ON visits (checked_in_at);
CREATE INDEX visits_account ON visits (account_id, checked_in_at);
