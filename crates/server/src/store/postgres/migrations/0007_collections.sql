-- Collections other than card (issue 16: 현금·계좌이체·어음 수금). The device chooses the id;
-- it is unique per merchant. A void never deletes: it marks the row and books an offsetting
-- ledger entry.
CREATE TABLE collections (
    merchant_id  TEXT NOT NULL,
    id           TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    rep_id       TEXT,
    method       TEXT NOT NULL CHECK (method IN ('cash', 'transfer', 'note')),
    amount       BIGINT NOT NULL CHECK (amount > 0),
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
    FOREIGN KEY (merchant_id, account_id) REFERENCES accounts (merchant_id, id),
    CHECK ((method = 'note') = (note_number IS NOT NULL))
);
CREATE INDEX collections_account ON collections (merchant_id, account_id, recorded_at);

-- The ledger takes two more kinds: a collection and a void's offset.
ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check
    CHECK (kind IN ('order', 'payment', 'refund', 'adjustment', 'collection', 'collection_void'));
