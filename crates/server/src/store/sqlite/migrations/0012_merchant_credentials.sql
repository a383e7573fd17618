-- Merchants' own connector credentials, sealed (AES-256-GCM, key from the settings).
CREATE TABLE merchant_credentials (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    kind        TEXT NOT NULL CHECK (kind IN ('card', 'sms')),
    provider    TEXT NOT NULL,
    nonce       BLOB NOT NULL,
    ciphertext  BLOB NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (merchant_id, kind)
);
