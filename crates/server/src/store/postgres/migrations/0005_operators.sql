-- Operators and onboarding (issue 14): merchant profile and status, named API keys with their
-- last use, one-time rep passwords, operator tokens, the audit log. The virtual_numbers table
-- is the one source of truth of a merchant's pool: the copy in the settings JSON goes.
ALTER TABLE merchants ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'suspended'));
ALTER TABLE merchants ADD COLUMN representative TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN address TEXT NOT NULL DEFAULT '';
UPDATE merchants SET settings = (settings::jsonb - 'number_pool')::text
    WHERE settings::jsonb ? 'number_pool';

ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;

ALTER TABLE reps ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE operator_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    merchant_id TEXT REFERENCES merchants (id),
    detail      TEXT NOT NULL
);
CREATE INDEX audit_log_merchant ON audit_log (merchant_id, id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
