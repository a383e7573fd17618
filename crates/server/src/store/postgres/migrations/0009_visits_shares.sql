-- Visits (issue 16, 방문 기록): a rep's check-in at a client account, with an optional
-- location and a note, and its check-out. The id is chosen by the device (unique per merchant).
CREATE TABLE visits (
    merchant_id    TEXT NOT NULL REFERENCES merchants(id),
    id             TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    rep_id         TEXT NOT NULL,
    checked_in_at  TEXT NOT NULL,
    checked_out_at TEXT,
    lat            DOUBLE PRECISION,
    lng            DOUBLE PRECISION,
    accuracy_m     DOUBLE PRECISION,
    note           TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    CHECK ((lat IS NULL) = (lng IS NULL)),
    FOREIGN KEY (merchant_id, account_id) REFERENCES accounts (merchant_id, id),
    FOREIGN KEY (merchant_id, rep_id) REFERENCES reps (merchant_id, id)
);
CREATE INDEX visits_day ON visits (merchant_id, checked_in_at);

-- Texts about an order sent by the rep (issue 16, 문자로 보내기): the purchase order's PDF link
-- or a paid charge's receipt link. The id is chosen by the caller (unique per merchant).
CREATE TABLE order_shares (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id          TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('purchase_order', 'receipt')),
    charge_id   TEXT,
    to_phone    TEXT NOT NULL,
    link        TEXT NOT NULL,
    sms_id      BIGINT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, order_id) REFERENCES orders (merchant_id, id)
);
CREATE INDEX order_shares_order ON order_shares (merchant_id, order_id);

-- The public, unguessable link to a signed purchase order's PDF (one per order).
CREATE TABLE document_links (
    token       TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    order_id    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (merchant_id, order_id),
    FOREIGN KEY (merchant_id, order_id) REFERENCES orders (merchant_id, id)
);
