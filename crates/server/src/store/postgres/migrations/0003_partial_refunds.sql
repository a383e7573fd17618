-- Refunds of a payment, whole or partial, each once: claimed (pending) before the card network
-- is asked, then done (or failed: the network refunded nothing). n numbers a payment's
-- refunds from 1; the connector's idempotency key of refund n is `{attempt key}-r{n}`.
CREATE TABLE refunds (
    merchant_id  TEXT NOT NULL,
    charge_id    TEXT NOT NULL,
    n            BIGINT NOT NULL CHECK (n > 0),
    amount       BIGINT NOT NULL CHECK (amount > 0),
    reason       TEXT,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    requested_at TEXT NOT NULL,
    refunded_at  TEXT,
    PRIMARY KEY (merchant_id, charge_id, n),
    FOREIGN KEY (merchant_id, charge_id) REFERENCES payments (merchant_id, charge_id)
);
-- One refund of a payment in progress at a time.
CREATE UNIQUE INDEX refunds_one_pending ON refunds (merchant_id, charge_id) WHERE state = 'pending';
CREATE INDEX refunds_day ON refunds (merchant_id, refunded_at) WHERE state = 'done';
-- The whole refunds made before: refund 1 of their payment.
INSERT INTO refunds (merchant_id, charge_id, n, amount, reason, state, requested_at, refunded_at)
    SELECT merchant_id, charge_id, 1, amount, refund_reason, 'done', refunded_at, refunded_at
    FROM payments WHERE refunded_at IS NOT NULL;
