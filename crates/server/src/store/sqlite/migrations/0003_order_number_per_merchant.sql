-- Order numbers are per merchant (each merchant's day counter starts at 0001): the number is
-- unique within a merchant, not across all of them. SQLite cannot drop a column constraint,
-- so the table is rebuilt with the same columns.
CREATE TABLE orders_new (
    id             TEXT PRIMARY KEY,
    merchant_id    TEXT NOT NULL REFERENCES merchants(id),
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    rep_id         TEXT REFERENCES reps(id),
    number         TEXT,
    status         TEXT NOT NULL,
    lines          TEXT NOT NULL,         -- JSON [OrderLine]
    supply         INTEGER NOT NULL,
    vat            INTEGER NOT NULL,
    total          INTEGER NOT NULL,
    memo           TEXT NOT NULL DEFAULT '',
    signature      TEXT,                  -- JSON SignatureEvidence
    signature_png  BLOB,
    pdf            BLOB,
    evidence_hash  TEXT,
    reject_reason  TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (merchant_id, number)
);
INSERT INTO orders_new SELECT id, merchant_id, account_id, rep_id, number, status, lines, supply,
    vat, total, memo, signature, signature_png, pdf, evidence_hash, reject_reason, created_at,
    updated_at FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_account ON orders (merchant_id, account_id);
