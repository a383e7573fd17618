-- Returns (issue 16, 반품서): an order is a purchase order or a return; a return may name the
-- order it takes goods back from. A registered return's total comes off the receivables with
-- a ledger entry of its own kind.
ALTER TABLE orders ADD COLUMN kind TEXT NOT NULL DEFAULT 'purchase' CHECK (kind IN ('purchase', 'return'));
ALTER TABLE orders ADD COLUMN original_order_id TEXT;
CREATE INDEX orders_original ON orders (merchant_id, original_order_id) WHERE original_order_id IS NOT NULL;

ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check
    CHECK (kind IN ('order', 'payment', 'refund', 'adjustment', 'collection', 'collection_void', 'return'));
