-- Sign-in sessions as token families: a sign-in starts a family; each refresh token rotates
-- within it, and each access token belongs to it. Revoking the family (sign-out, a rotated
-- refresh token presented again, the rep deactivated) ends every token of the session.
CREATE TABLE token_families (
    id           TEXT PRIMARY KEY,        -- fam_...
    rep_id       TEXT NOT NULL REFERENCES reps(id),
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    device       TEXT,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    revoked_why  TEXT CHECK (revoked_why IN ('logout', 'reuse', 'deactivated')),
    -- 1, 2, 3, ... in the order families were revoked: running servers follow it to end the
    -- revoked sessions' live streams (any process may revoke).
    revoked_seq  INTEGER UNIQUE
);
CREATE INDEX token_families_rep ON token_families (rep_id);

-- The tokens table gains its family and, for a refresh token, when it was rotated (used);
-- the per-token `revoked` flag goes (a token dies with its family). SQLite cannot add a
-- NOT NULL reference to existing rows, so the table is rebuilt.
CREATE TABLE tokens_new (
    token_hash  TEXT PRIMARY KEY,         -- SHA-256 hex
    kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    family_id   TEXT NOT NULL REFERENCES token_families(id),
    rep_id      TEXT NOT NULL REFERENCES reps(id),
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    device      TEXT,
    expires_at  TEXT NOT NULL,
    rotated_at  TEXT,                     -- refresh tokens: when exchanged for the next one
    created_at  TEXT NOT NULL
);
-- Each live refresh token of version 3 becomes a session of its own. Version 3's used
-- refresh tokens are dropped, and so are its access tokens (15 minutes at most): a device
-- refreshes once.
INSERT INTO token_families (id, rep_id, merchant_id, device, created_at)
    SELECT 'fam_' || substr(token_hash, 1, 32), rep_id, merchant_id, device, created_at
    FROM tokens WHERE kind = 'refresh' AND revoked = 0;
INSERT INTO tokens_new (token_hash, kind, family_id, rep_id, merchant_id, device, expires_at, created_at)
    SELECT token_hash, kind, 'fam_' || substr(token_hash, 1, 32), rep_id, merchant_id, device,
           expires_at, created_at
    FROM tokens WHERE kind = 'refresh' AND revoked = 0;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE INDEX tokens_family ON tokens (family_id);
