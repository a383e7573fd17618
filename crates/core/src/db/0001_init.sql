-- The device's database: its merchant's records (pulled), local drafts, the outbox and the
-- sync state. Times are UTC RFC 3339.

CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    owner_name      TEXT NOT NULL,
    business_number TEXT NOT NULL,
    phone           TEXT NOT NULL,
    address         TEXT NOT NULL,
    credit_limit    INTEGER NOT NULL,
    closed          INTEGER NOT NULL,
    rep_id          TEXT,
    updated_at      TEXT NOT NULL
);

CREATE TABLE products (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    name       TEXT NOT NULL,
    unit_price INTEGER NOT NULL,
    unit       TEXT NOT NULL,
    active     INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE account_prices (
    account_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    unit_price INTEGER NOT NULL,
    PRIMARY KEY (account_id, product_id)
);

CREATE TABLE ledger (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    ref_id     TEXT,
    memo       TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX ledger_account ON ledger (account_id, at);

-- Orders: pulled from the server or made here. `data` is the protocol Order as JSON.
-- sync_state: 'local' (draft, not pushed), 'queued' (in the outbox), 'synced', 'rejected'.
CREATE TABLE orders (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL,
    status        TEXT NOT NULL,
    total         INTEGER NOT NULL,
    data          TEXT NOT NULL,
    signature_png BLOB,
    pdf           BLOB,
    sync_state    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX orders_account ON orders (account_id, updated_at);

-- Charges: `data` is the protocol Charge as JSON.
CREATE TABLE charges (
    id          TEXT PRIMARY KEY,
    account_id  TEXT,
    status      TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    data        TEXT NOT NULL,
    sync_state  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX charges_account ON charges (account_id, updated_at);

-- Everything the rep did, in order, until the server has answered it.
-- state: 'pending' | 'rejected' (kept for the rep to fix or discard) | 'done'.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id       TEXT NOT NULL UNIQUE,
    entity_id       TEXT NOT NULL,
    op              TEXT NOT NULL,            -- JSON protocol MutationKind
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    error_code      TEXT,
    error_message   TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX outbox_pending ON outbox (state, seq);
CREATE INDEX outbox_entity ON outbox (entity_id, state);

CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
