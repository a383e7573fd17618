-- Issue 16: each rep has a short number series within its merchant (R01, R02, ...): the device
-- numbers the orders it signs from it (PO-20261203-R01-0001). Existing reps get theirs in the
-- order they were created; new reps get the next one when they are created.
ALTER TABLE reps ADD COLUMN series TEXT NOT NULL DEFAULT '';
UPDATE reps SET series = 'R' || printf('%02d', (
    SELECT COUNT(*) FROM reps r2
    WHERE r2.merchant_id = reps.merchant_id
      AND (r2.created_at < reps.created_at OR (r2.created_at = reps.created_at AND r2.id <= reps.id))
));
CREATE UNIQUE INDEX reps_series ON reps (merchant_id, series) WHERE series <> '';
