-- FieldPay server schema, version 1. Times are UTC RFC 3339 with milliseconds ("...Z").
-- No table has a column for card number, expiry, birth date or card password.

CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL,            -- JSON: MerchantSettings
    created_at  TEXT NOT NULL
);

CREATE TABLE reps (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants(id),
    login         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,          -- argon2id PHC string
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    UNIQUE (merchant_id, login)
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    key_hash    TEXT NOT NULL UNIQUE,     -- SHA-256 hex of the whole key
    prefix      TEXT NOT NULL,            -- first characters, to tell keys apart
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,         -- SHA-256 hex
    kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    rep_id      TEXT NOT NULL REFERENCES reps(id),
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    device      TEXT,
    expires_at  TEXT NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

CREATE TABLE virtual_numbers (
    number      TEXT PRIMARY KEY,         -- national digits, e.g. 16000012
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    position    INTEGER NOT NULL
);

CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants(id),
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    owner_name      TEXT NOT NULL,
    business_number TEXT NOT NULL,
    phone           TEXT NOT NULL,
    address         TEXT NOT NULL,
    credit_limit    INTEGER NOT NULL CHECK (credit_limit >= 0),
    closed          INTEGER NOT NULL DEFAULT 0,
    rep_id          TEXT REFERENCES reps(id),
    updated_at      TEXT NOT NULL,
    UNIQUE (merchant_id, code)
);

CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
    unit        TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT NOT NULL,
    UNIQUE (merchant_id, code)
);

CREATE TABLE account_prices (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    product_id  TEXT NOT NULL REFERENCES products(id),
    unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (account_id, product_id)
);

-- Append-only receivables ledger; the balance is the sum of amounts.
CREATE TABLE ledger (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    kind        TEXT NOT NULL CHECK (kind IN ('order', 'payment', 'refund', 'adjustment')),
    amount      INTEGER NOT NULL,
    ref_id      TEXT,
    memo        TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
CREATE INDEX ledger_account ON ledger (account_id, at);
CREATE UNIQUE INDEX ledger_once ON ledger (kind, ref_id) WHERE ref_id IS NOT NULL;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;

CREATE TABLE orders (
    id             TEXT PRIMARY KEY,
    merchant_id    TEXT NOT NULL REFERENCES merchants(id),
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    rep_id         TEXT REFERENCES reps(id),
    number         TEXT UNIQUE,
    status         TEXT NOT NULL,
    lines          TEXT NOT NULL,         -- JSON [OrderLine]
    supply         INTEGER NOT NULL,
    vat            INTEGER NOT NULL,
    total          INTEGER NOT NULL,
    memo           TEXT NOT NULL DEFAULT '',
    signature      TEXT,                  -- JSON SignatureEvidence
    signature_png  BLOB,
    pdf            BLOB,
    evidence_hash  TEXT,
    reject_reason  TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX orders_account ON orders (merchant_id, account_id);

CREATE TABLE charges (
    id              TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants(id),
    rep_id          TEXT REFERENCES reps(id),
    api_key_id      TEXT,
    origin          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    goods_name      TEXT NOT NULL,
    payer_phone     TEXT NOT NULL,        -- national digits
    payer_name      TEXT,
    orderer_name    TEXT,
    orderer_phone   TEXT,
    order_ref       TEXT,
    account_id      TEXT,
    installments    INTEGER NOT NULL,
    virtual_number  TEXT NOT NULL,        -- national digits
    bound           INTEGER NOT NULL DEFAULT 1,  -- 1 while (virtual_number, payer_phone) is reserved
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    decline_reason  TEXT,
    receipt_token   TEXT UNIQUE,
    idempotency_key TEXT,
    request_hash    TEXT,
    approving       INTEGER NOT NULL DEFAULT 0,  -- 1 while an approval request is in flight
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX charges_binding ON charges (virtual_number, payer_phone) WHERE bound = 1;
CREATE UNIQUE INDEX charges_idempotency ON charges (merchant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX charges_merchant ON charges (merchant_id, created_at);
CREATE INDEX charges_expiry ON charges (expires_at) WHERE bound = 1;

CREATE TABLE charge_events (
    id        INTEGER PRIMARY KEY,
    charge_id TEXT NOT NULL REFERENCES charges(id),
    status    TEXT NOT NULL,
    at        TEXT NOT NULL,
    detail    TEXT
);
CREATE INDEX charge_events_charge ON charge_events (charge_id, id);

CREATE TABLE payments (
    charge_id          TEXT PRIMARY KEY REFERENCES charges(id),
    merchant_id        TEXT NOT NULL REFERENCES merchants(id),
    rep_id             TEXT,
    connector          TEXT NOT NULL,
    approval_number    TEXT NOT NULL,
    issuer_code        TEXT NOT NULL,
    issuer_name        TEXT NOT NULL,
    acquirer_code      TEXT NOT NULL,
    masked_card        TEXT NOT NULL,     -- first 6 and last 4 only
    installment_months INTEGER NOT NULL,
    amount             INTEGER NOT NULL,
    approved_at        TEXT NOT NULL,
    refunded_at        TEXT,
    refund_reason      TEXT
);
CREATE INDEX payments_day ON payments (merchant_id, approved_at);

CREATE TABLE sms_messages (
    id          INTEGER PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    to_phone    TEXT NOT NULL,
    kind        TEXT NOT NULL,            -- bill | slip | notice
    body        TEXT NOT NULL,
    charge_id   TEXT,
    status      TEXT NOT NULL,            -- pending | sent | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    sent_at     TEXT
);
CREATE INDEX sms_to ON sms_messages (to_phone, id);
CREATE INDEX sms_pending ON sms_messages (status) WHERE status = 'pending';

-- One row per phone call; steps and timings, never what was keyed.
CREATE TABLE call_sessions (
    call_id     TEXT PRIMARY KEY,
    adapter     TEXT NOT NULL,
    merchant_id TEXT,
    charge_id   TEXT,
    dialled     TEXT NOT NULL,
    caller      TEXT,
    checkpoint  TEXT NOT NULL,            -- JSON ivr::Checkpoint
    trace       TEXT NOT NULL,            -- JSON [ivr::TraceEntry] with times
    outcome     TEXT,
    started_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    ended_at    TEXT
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,     -- the webhook-id header: one per event
    merchant_id     TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    url             TEXT NOT NULL,
    status          TEXT NOT NULL,        -- pending | delivered | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT
);
CREATE INDEX webhook_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

-- Change log for device sync: one row per changed record, newest wins (older rows of the same
-- record are removed, so a cursor never sees a record twice in one pull).
CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    UNIQUE (merchant_id, entity, entity_id)
);

-- Applied device mutations: the client id is the idempotency key; the first answer is kept.
CREATE TABLE mutations (
    merchant_id TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    rep_id      TEXT NOT NULL,
    result      TEXT NOT NULL,            -- JSON MutationOutcome
    created_at  TEXT NOT NULL,
    PRIMARY KEY (merchant_id, client_id)
);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

-- Cards registered for auto-pay: only the network's token and what may be shown.
CREATE TABLE registered_cards (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    payer_phone TEXT NOT NULL,
    token       TEXT NOT NULL,
    issuer_code TEXT NOT NULL,
    issuer_name TEXT NOT NULL,
    last4       TEXT NOT NULL,
    masked_card TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (merchant_id, payer_phone)
);
