-- Issue 16: each rep has a short number series within its merchant (R01, R02, ...): the device
-- numbers the orders it signs from it (PO-20261203-R01-0001). Existing reps get theirs in the
-- order they were created; new reps get the next one when they are created.
ALTER TABLE reps ADD COLUMN series TEXT NOT NULL DEFAULT '';
UPDATE reps SET series = 'R' || lpad(x.n::text, 2, '0')
FROM (
    SELECT merchant_id, id, row_number() OVER (PARTITION BY merchant_id ORDER BY created_at, id) AS n
    FROM reps
) x
WHERE reps.merchant_id = x.merchant_id AND reps.id = x.id;
CREATE UNIQUE INDEX reps_series ON reps (merchant_id, series) WHERE series <> '';
