-- Returns (issue 16, 반품서): an order is a purchase order or a return; a return may name the
-- order it takes goods back from. A registered return's total comes off the receivables with
-- a ledger entry of its own kind.
ALTER TABLE orders ADD COLUMN kind TEXT NOT NULL DEFAULT 'purchase' CHECK (kind IN ('purchase', 'return'));
ALTER TABLE orders ADD COLUMN original_order_id TEXT;
CREATE INDEX orders_original ON orders (merchant_id, original_order_id) WHERE original_order_id IS NOT NULL;

-- The ledger takes one more kind. SQLite cannot change a column's CHECK, so the table is
-- rebuilt with the same rows, indexes and append-only triggers (as in 0015).
DROP TRIGGER ledger_no_update;
DROP TRIGGER ledger_no_delete;
CREATE TABLE ledger_new (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    kind        TEXT NOT NULL CHECK (kind IN ('order', 'payment', 'refund', 'adjustment', 'collection', 'collection_void', 'return')),
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
