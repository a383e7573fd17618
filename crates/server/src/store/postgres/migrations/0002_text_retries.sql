-- Failed texts are tried again later with growing delays (sms::RETRY_SCHEDULE): a text is not
-- claimed before next_attempt_at; last_error is the provider's reason of the last failed
-- attempt (never a secret, never card data); provider_id is the provider's message id of the
-- sent text.
ALTER TABLE sms_messages ADD COLUMN next_attempt_at TEXT;
ALTER TABLE sms_messages ADD COLUMN last_error TEXT;
ALTER TABLE sms_messages ADD COLUMN provider TEXT;
ALTER TABLE sms_messages ADD COLUMN provider_id TEXT;

-- A charge event is a status transition ('status') or something that happened to the charge
-- without changing its status: 'text_failed' (a text about it was given up; detail says which
-- and why).
ALTER TABLE charge_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'status';
