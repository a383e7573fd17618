-- FieldPay server schema on PostgreSQL, version 1: the same records as the SQLite schema
-- (its versions 1 to 7), laid out for sharding by merchant.
--
-- Times are UTC RFC 3339 text with milliseconds ("...Z"), as in SQLite: both stores compare
-- and return them alike. No table has a column for card number, expiry, birth date or card
-- password.
--
-- Tenant tables carry `merchant_id`, their keys and every unique constraint include it, and
-- their references name it: a sharded layout (Citus) distributes them by `merchant_id`
-- without a rewrite. Ids are random and checked free across merchants inside the
-- (serializable) transaction that takes them; the plain indexes on `id` serve the lookups
-- made before the merchant is known (a charge by id from a call, a text by id). The routing tables read before the merchant is known (merchants,
-- virtual numbers, API keys, sign-in tokens, calls, text quotas per phone, job leases) are
-- small and would be reference tables.

-- ---------------------------------------------------------------- routing tables

CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL,            -- JSON: MerchantSettings
    created_at  TEXT NOT NULL
);

CREATE TABLE virtual_numbers (
    number      TEXT PRIMARY KEY,         -- national digits, e.g. 16000012
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    position    BIGINT NOT NULL
);
CREATE INDEX virtual_numbers_merchant ON virtual_numbers (merchant_id, position);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    key_hash    TEXT NOT NULL UNIQUE,     -- SHA-256 hex of the whole key
    prefix      TEXT NOT NULL,            -- first characters, to tell keys apart
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- ---------------------------------------------------------------- reps and sessions

CREATE TABLE reps (
    merchant_id   TEXT NOT NULL REFERENCES merchants(id),
    id            TEXT NOT NULL,
    login         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,          -- argon2id PHC string
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    role          TEXT NOT NULL DEFAULT 'rep' CHECK (role IN ('rep', 'manager')),
    created_at    TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, login)
);
CREATE INDEX reps_id ON reps (id);

-- Sign-in sessions as token families (see the SQLite schema's version 4).
CREATE TABLE token_families (
    id           TEXT PRIMARY KEY,        -- fam_...
    merchant_id  TEXT NOT NULL,
    rep_id       TEXT NOT NULL,
    device       TEXT,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    revoked_why  TEXT CHECK (revoked_why IN ('logout', 'reuse', 'deactivated')),
    -- 1, 2, 3, ... in the order families were revoked: running servers follow it to end the
    -- revoked sessions' live streams (any instance may revoke). Taken from a counter row in
    -- the revoking transaction, so numbers become visible in order.
    revoked_seq  BIGINT UNIQUE,
    FOREIGN KEY (merchant_id, rep_id) REFERENCES reps (merchant_id, id)
);
CREATE INDEX token_families_rep ON token_families (merchant_id, rep_id);

CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,         -- SHA-256 hex
    kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    family_id   TEXT NOT NULL REFERENCES token_families(id),
    merchant_id TEXT NOT NULL,
    rep_id      TEXT NOT NULL,
    device      TEXT,
    expires_at  TEXT NOT NULL,
    rotated_at  TEXT,                     -- refresh tokens: when exchanged for the next one
    created_at  TEXT NOT NULL,
    FOREIGN KEY (merchant_id, rep_id) REFERENCES reps (merchant_id, id)
);
CREATE INDEX tokens_family ON tokens (family_id);

-- ---------------------------------------------------------------- records

CREATE TABLE accounts (
    merchant_id     TEXT NOT NULL REFERENCES merchants(id),
    id              TEXT NOT NULL,
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    owner_name      TEXT NOT NULL,
    business_number TEXT NOT NULL,
    phone           TEXT NOT NULL,
    address         TEXT NOT NULL,
    credit_limit    BIGINT NOT NULL CHECK (credit_limit >= 0),
    closed          BOOLEAN NOT NULL DEFAULT FALSE,
    rep_id          TEXT,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, code),
    FOREIGN KEY (merchant_id, rep_id) REFERENCES reps (merchant_id, id)
);

CREATE TABLE products (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id          TEXT NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    unit_price  BIGINT NOT NULL CHECK (unit_price >= 0),
    unit        TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, code)
);

CREATE TABLE account_prices (
    merchant_id TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    product_id  TEXT NOT NULL,
    unit_price  BIGINT NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (merchant_id, account_id, product_id),
    FOREIGN KEY (merchant_id, account_id) REFERENCES accounts (merchant_id, id),
    FOREIGN KEY (merchant_id, product_id) REFERENCES products (merchant_id, id)
);

-- Append-only receivables ledger; the balance is the sum of amounts.
CREATE TABLE ledger (
    merchant_id TEXT NOT NULL,
    id          TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('order', 'payment', 'refund', 'adjustment')),
    amount      BIGINT NOT NULL,
    ref_id      TEXT,
    memo        TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, account_id) REFERENCES accounts (merchant_id, id)
);
CREATE INDEX ledger_account ON ledger (merchant_id, account_id, at);
-- One entry per (kind, source): a payment or refund is booked once however often it is told.
CREATE UNIQUE INDEX ledger_once ON ledger (merchant_id, kind, ref_id) WHERE ref_id IS NOT NULL;

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

CREATE TABLE orders (
    merchant_id    TEXT NOT NULL,
    id             TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    rep_id         TEXT,
    number         TEXT,
    status         TEXT NOT NULL,
    lines          TEXT NOT NULL,         -- JSON [OrderLine]
    supply         BIGINT NOT NULL,
    vat            BIGINT NOT NULL,
    total          BIGINT NOT NULL,
    memo           TEXT NOT NULL DEFAULT '',
    signature      TEXT,                  -- JSON SignatureEvidence
    signature_png  BYTEA,
    pdf            BYTEA,
    evidence_hash  TEXT,
    reject_reason  TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, number),
    FOREIGN KEY (merchant_id, account_id) REFERENCES accounts (merchant_id, id),
    FOREIGN KEY (merchant_id, rep_id) REFERENCES reps (merchant_id, id)
);
CREATE INDEX orders_account ON orders (merchant_id, account_id);
-- An order id (chosen by the device) names one order across merchants, as in SQLite.
CREATE INDEX orders_id ON orders (id);

-- Per-merchant counters (order numbers of a day, ...).
CREATE TABLE counters (
    merchant_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, name)
);

-- ---------------------------------------------------------------- charges

CREATE TABLE charges (
    merchant_id     TEXT NOT NULL REFERENCES merchants(id),
    id              TEXT NOT NULL,
    rep_id          TEXT,
    api_key_id      TEXT,
    origin          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    goods_name      TEXT NOT NULL,
    payer_phone     TEXT NOT NULL,        -- national digits
    payer_name      TEXT,
    orderer_name    TEXT,
    orderer_phone   TEXT,
    order_ref       TEXT,
    account_id      TEXT,
    installments    BIGINT NOT NULL,
    virtual_number  TEXT NOT NULL,        -- national digits
    bound           BOOLEAN NOT NULL DEFAULT TRUE,  -- while (virtual_number, payer_phone) is reserved
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    decline_reason  TEXT,
    receipt_token   TEXT,
    idempotency_key TEXT,
    request_hash    TEXT,
    approving       BOOLEAN NOT NULL DEFAULT FALSE, -- while an approval request is in flight
    approving_owner TEXT,                 -- the instance making it
    declines        BIGINT NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, receipt_token)
);
CREATE INDEX charges_id ON charges (id);
CREATE INDEX charges_receipt ON charges (receipt_token) WHERE receipt_token IS NOT NULL;
-- A virtual number belongs to one merchant: its binding to a payer phone is unique.
CREATE UNIQUE INDEX charges_binding ON charges (merchant_id, virtual_number, payer_phone) WHERE bound;
CREATE INDEX charges_binding_lookup ON charges (virtual_number, payer_phone) WHERE bound;
-- An Idempotency-Key belongs to the caller that used it (an API key or a rep).
CREATE UNIQUE INDEX charges_idempotency
    ON charges (merchant_id, COALESCE(api_key_id, rep_id, ''), idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX charges_merchant ON charges (merchant_id, created_at);
-- The merchant's charges newest id first, paged by id (ids compare byte by byte, as in SQLite).
CREATE INDEX charges_list ON charges (merchant_id, id COLLATE "C");
CREATE INDEX charges_expiry ON charges (expires_at) WHERE bound;
CREATE INDEX charges_approving ON charges (updated_at) WHERE approving;
CREATE INDEX charges_payer ON charges (payer_phone, created_at);

CREATE TABLE charge_events (
    merchant_id TEXT NOT NULL,
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    charge_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    at          TEXT NOT NULL,
    detail      TEXT,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, charge_id) REFERENCES charges (merchant_id, id)
);
CREATE INDEX charge_events_charge ON charge_events (merchant_id, charge_id, id);

CREATE TABLE payments (
    merchant_id        TEXT NOT NULL,
    charge_id          TEXT NOT NULL,
    rep_id             TEXT,
    connector          TEXT NOT NULL,
    approval_number    TEXT NOT NULL,
    issuer_code        TEXT NOT NULL,
    issuer_name        TEXT NOT NULL,
    acquirer_code      TEXT NOT NULL,
    masked_card        TEXT NOT NULL,     -- first 6 and last 4 only
    installment_months BIGINT NOT NULL,
    amount             BIGINT NOT NULL,
    approved_at        TEXT NOT NULL,
    refunded_at        TEXT,
    refund_reason      TEXT,
    PRIMARY KEY (merchant_id, charge_id),
    FOREIGN KEY (merchant_id, charge_id) REFERENCES charges (merchant_id, id)
);
CREATE INDEX payments_day ON payments (merchant_id, approved_at);

-- Cards registered for auto-pay: only the network's token and what may be shown.
CREATE TABLE registered_cards (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id          TEXT NOT NULL,
    payer_phone TEXT NOT NULL,
    token       TEXT NOT NULL,
    issuer_code TEXT NOT NULL,
    issuer_name TEXT NOT NULL,
    last4       TEXT NOT NULL,
    masked_card TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, payer_phone)
);

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
    ended_at    TEXT,
    owner       TEXT,                     -- the instance holding the call (instance_id)
    owner_url   TEXT                      -- where other instances reach it (internal_url)
);

-- ---------------------------------------------------------------- outboxes

CREATE TABLE sms_messages (
    merchant_id TEXT NOT NULL,
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    to_phone    TEXT NOT NULL,
    kind        TEXT NOT NULL,            -- bill | slip | notice
    body        TEXT NOT NULL,
    charge_id   TEXT,
    status      TEXT NOT NULL,            -- pending | sent | failed
    attempts    BIGINT NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    -- Held by a sender until this time (another instance does not take it meanwhile).
    claimed_until TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX sms_id ON sms_messages (id);
CREATE INDEX sms_to ON sms_messages (to_phone, id);
CREATE INDEX sms_pending ON sms_messages (id) WHERE status = 'pending';

CREATE TABLE webhook_deliveries (
    merchant_id     TEXT NOT NULL,
    id              TEXT NOT NULL,        -- the webhook-id header: one per event
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    url             TEXT NOT NULL,
    status          TEXT NOT NULL,        -- pending | delivered | failed
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    -- Held by a sender until this time: one delivery of a merchant at a time, any instance.
    claimed_until   TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX webhook_claimed ON webhook_deliveries (merchant_id) WHERE status = 'pending' AND claimed_until IS NOT NULL;
CREATE INDEX webhook_id ON webhook_deliveries (id);
CREATE INDEX webhook_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

-- Bills texted per payer phone and per merchant in each clock hour: `scope` is
-- `phone:<digits>` or `merchant:<id>`, `hour` the UTC hour `YYYY-MM-DDTHH`.
CREATE TABLE text_quota (
    scope  TEXT NOT NULL,
    hour   TEXT NOT NULL,
    count  BIGINT NOT NULL,
    PRIMARY KEY (scope, hour)
);

-- ---------------------------------------------------------------- device sync

-- The last change number given out per merchant. A transaction that logs a change takes the
-- next number by updating this row, and holds the row until it commits: a merchant's change
-- numbers become visible in the order they were given, so a pull that has read up to N never
-- later finds a change numbered below N committed behind its back.
CREATE TABLE change_counters (
    merchant_id TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL
);

-- One row per changed record, newest wins (the row is renumbered on each change).
CREATE TABLE changes (
    merchant_id TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, entity, entity_id),
    UNIQUE (merchant_id, seq)
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

-- ---------------------------------------------------------------- coordination

-- Counters that belong to no merchant: `revocations`, the last position of the revocation
-- order of token families (the revoking transaction updates the row and holds it until it
-- commits, so positions become visible in order).
CREATE TABLE global_counters (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);

-- Work one instance at a time does (periodic jobs, a merchant's device pushes); timed by the
-- database's clock.
CREATE TABLE leases (
    name    TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    until   TIMESTAMPTZ NOT NULL
);

-- Rate-limit counts (sign-in attempts per address and per account): the instant, in
-- milliseconds since the epoch, from which the key's next attempt is free.
CREATE TABLE rate_limits (
    key        TEXT PRIMARY KEY,
    next_free  BIGINT NOT NULL
);
