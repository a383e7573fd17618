-- Several senders (server instances) on one outbox: a text or a webhook delivery being sent is
-- claimed until a time, so no other sender takes it meanwhile; a crashed sender's claim runs
-- out and the row is taken again.
ALTER TABLE sms_messages ADD COLUMN claimed_until TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until TEXT;

-- Work one instance at a time does (periodic jobs, a merchant's device pushes).
CREATE TABLE leases (
    name    TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    until   TEXT NOT NULL
) WITHOUT ROWID;

-- Rate-limit counts (sign-in attempts per address and per account): the instant, in
-- milliseconds since the epoch, from which the key's next attempt is free.
CREATE TABLE rate_limits (
    key        TEXT PRIMARY KEY,
    next_free  INTEGER NOT NULL
) WITHOUT ROWID;

-- The instance that made an approval in flight: another instance resolves it as soon as that
-- one is gone (its lease ran out), not only once it is old.
ALTER TABLE charges ADD COLUMN approving_owner TEXT;
