-- Collections other than card (issue 16: 현금·계좌이체·어음 수금). The device chooses the id;
-- it is unique per merchant. A void never deletes: it marks the row and books an offsetting
-- ledger entry.
CREATE TABLE collections (
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    id           TEXT NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    rep_id       TEXT REFERENCES reps(id),
    method       TEXT NOT NULL CHECK (method IN ('cash', 'transfer', 'note')),
    amount       INTEGER NOT NULL CHECK (amount > 0),
    memo         TEXT NOT NULL DEFAULT '',
    note_number  TEXT,
    note_bank    TEXT,
    note_due     TEXT,
    collected_at TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    void_reason  TEXT,
    voided_at    TEXT,
    voided_by    TEXT,
    PRIMARY KEY (merchant_id, id),
    CHECK ((method = 'note') = (note_number IS NOT NULL))
);
CREATE INDEX collections_account ON collections (merchant_id, account_id, recorded_at);

-- The ledger takes two more kinds (a collection, a void's offset). SQLite cannot change a
-- column's CHECK, so the table is rebuilt with the same rows, indexes and append-only
-- triggers; its one-entry-per-source index now includes the merchant.
DROP TRIGGER ledger_no_update;
DROP TRIGGER ledger_no_delete;
CREATE TABLE ledger_new (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    kind        TEXT NOT NULL CHECK (kind IN ('order', 'payment', 'refund', 'adjustment', 'collection', 'collection_void')),
    amount      INTEGER NOT NULL,
    ref_id      TEXT,
    memo        TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
INSERT INTO ledger_new SELECT id, merchant_id, account_id, kind, amount, ref_id, memo, at FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_new RENAME TO ledger;
CREATE INDEX ledger_account ON ledger (account_id, at);
CREATE UNIQUE INDEX ledger_once ON ledger (merchant_id, kind, ref_id) WHERE ref_id IS NOT NULL;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
