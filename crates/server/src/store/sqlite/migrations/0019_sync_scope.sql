-- Sync scope (issue 17): a plain rep's device syncs the catalogue, the accounts assigned to
-- that rep or to no one (with their ledgers and prices) and the rep's own orders, charges and
-- collections; a manager's device syncs everything. Each change row names its audience:
--   '*'     every device of the merchant (products, unassigned accounts and their records);
--   '-'     merchant-wide devices only (orders and charges of API clients);
--   rep id  that rep's devices (and merchant-wide ones).
-- A rep's pull reads its rows through `changes_audience` instead of the whole log. An account
-- moved between reps is logged again (with its ledger and prices) for the new audience, and
-- an `account_moved` row (`account_id:old_rep_id`) tells the old rep's devices to drop it.
ALTER TABLE changes ADD COLUMN audience TEXT NOT NULL DEFAULT '*';

UPDATE changes SET audience = COALESCE(
    (SELECT a.rep_id FROM accounts a WHERE a.merchant_id = changes.merchant_id AND a.id = changes.entity_id), '*')
WHERE entity = 'account';
UPDATE changes SET audience = COALESCE(
    (SELECT a.rep_id FROM ledger l JOIN accounts a ON a.id = l.account_id
     WHERE l.merchant_id = changes.merchant_id AND l.id = changes.entity_id), '*')
WHERE entity = 'ledger';
UPDATE changes SET audience = COALESCE(
    (SELECT a.rep_id FROM accounts a WHERE a.merchant_id = changes.merchant_id
       AND a.id = substr(changes.entity_id, 1, instr(changes.entity_id, ':') - 1)), '*')
WHERE entity = 'account_price';
UPDATE changes SET audience = COALESCE(
    (SELECT o.rep_id FROM orders o WHERE o.merchant_id = changes.merchant_id AND o.id = changes.entity_id), '-')
WHERE entity = 'order';
UPDATE changes SET audience = COALESCE(
    (SELECT c.rep_id FROM charges c WHERE c.merchant_id = changes.merchant_id AND c.id = changes.entity_id), '-')
WHERE entity = 'charge';
UPDATE changes SET audience = COALESCE(
    (SELECT c.rep_id FROM collections c WHERE c.merchant_id = changes.merchant_id AND c.id = changes.entity_id), '-')
WHERE entity = 'collection';

CREATE INDEX changes_audience ON changes (merchant_id, audience, seq);
