-- Payment links (issue 15): made through the API, or a signed link stored on its first use
-- (unique per merchant by its signature: paid at most once). `status` is open or canceled;
-- paid and expired are read from the current charge and `expires_at`.
CREATE TABLE payment_links (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants(id),
    source        TEXT NOT NULL CHECK (source IN ('api', 'signed')),
    signature     TEXT,
    mode          TEXT NOT NULL CHECK (mode IN ('shop', 'agent')),
    goods_name    TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    payer_name    TEXT,
    payer_phone   TEXT,
    payer_email   TEXT,
    order_ref     TEXT,
    orderer_name  TEXT,
    orderer_phone TEXT,
    expires_at    TEXT NOT NULL,
    installments  INTEGER NOT NULL,
    status_token  TEXT NOT NULL UNIQUE,
    created_by    TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'canceled')),
    charge_id     TEXT REFERENCES charges(id),
    created_at    TEXT NOT NULL,
    canceled_at   TEXT,
    UNIQUE (merchant_id, signature)
);
CREATE INDEX payment_links_charge ON payment_links (charge_id);
