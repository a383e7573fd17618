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

UPDATE changes c SET audience = COALESCE(a.rep_id, '*')
FROM accounts a WHERE c.entity = 'account' AND a.merchant_id = c.merchant_id AND a.id = c.entity_id;
UPDATE changes c SET audience = COALESCE(a.rep_id, '*')
FROM ledger l JOIN accounts a ON a.merchant_id = l.merchant_id AND a.id = l.account_id
WHERE c.entity = 'ledger' AND l.merchant_id = c.merchant_id AND l.id = c.entity_id;
UPDATE changes c SET audience = COALESCE(a.rep_id, '*')
FROM accounts a WHERE c.entity = 'account_price' AND a.merchant_id = c.merchant_id
  AND a.id = split_part(c.entity_id, ':', 1);
UPDATE changes SET audience = '-' WHERE entity IN ('order', 'charge', 'collection');
UPDATE changes c SET audience = o.rep_id
FROM orders o WHERE c.entity = 'order' AND o.merchant_id = c.merchant_id AND o.id = c.entity_id
  AND o.rep_id IS NOT NULL;
UPDATE changes c SET audience = x.rep_id
FROM charges x WHERE c.entity = 'charge' AND x.merchant_id = c.merchant_id AND x.id = c.entity_id
  AND x.rep_id IS NOT NULL;
UPDATE changes c SET audience = x.rep_id
FROM collections x WHERE c.entity = 'collection' AND x.merchant_id = c.merchant_id
  AND x.id = c.entity_id AND x.rep_id IS NOT NULL;

CREATE INDEX changes_audience ON changes (merchant_id, audience, seq);
