-- Picking a charge's virtual number reads the merchant's numbers in pool order and stops at
-- the first one not bound to the payer. Without this index it scanned every merchant's
-- numbers, probed each for a binding and sorted them: on every charge, and growing with the
-- number of merchants (PostgreSQL has had this index from its first migration).
CREATE INDEX virtual_numbers_merchant ON virtual_numbers (merchant_id, position);
