-- Operators and onboarding (issue 14): merchant profile and status, named API keys with their
-- last use, one-time rep passwords, operator tokens, the audit log. The virtual_numbers table
-- is the one source of truth of a merchant's pool: the copy in the settings JSON goes.
ALTER TABLE merchants ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'suspended'));
ALTER TABLE merchants ADD COLUMN representative TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN address TEXT NOT NULL DEFAULT '';
UPDATE merchants SET settings = json_remove(settings, '$.number_pool')
    WHERE json_valid(settings) AND json_type(settings, '$.number_pool') IS NOT NULL;

ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;

ALTER TABLE reps ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

CREATE TABLE operator_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,     -- SHA-256 hex of the whole token
    prefix      TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Who changed what, when. Append-only; never a secret in detail.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    merchant_id TEXT REFERENCES merchants(id),
    detail      TEXT NOT NULL             -- JSON object
);
CREATE INDEX audit_log_merchant ON audit_log (merchant_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
