-- An Idempotency-Key belongs to the caller that used it (an API key or a rep), not to the
-- whole merchant: two callers choosing the same key make two charges.
DROP INDEX charges_idempotency;
CREATE UNIQUE INDEX charges_idempotency
    ON charges (merchant_id, COALESCE(api_key_id, rep_id, ''), idempotency_key)
    WHERE idempotency_key IS NOT NULL;
