-- Collections (현금·계좌이체·어음 수금): recorded here (queued until the server has them) or
-- pulled. `data` is the protocol Collection as JSON.
CREATE TABLE collections (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    method       TEXT NOT NULL,
    amount       INTEGER NOT NULL,
    voided       INTEGER NOT NULL,
    collected_at TEXT NOT NULL,
    data         TEXT NOT NULL,
    sync_state   TEXT NOT NULL
);
CREATE INDEX collections_account ON collections (account_id, collected_at);
CREATE INDEX collections_day ON collections (collected_at);
