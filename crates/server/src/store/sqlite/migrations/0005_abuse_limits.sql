-- Limits against card testing and text-message abuse.
--
-- Declined approval attempts per charge (a charge takes a bounded number of declined cards),
-- and the payer phone index that counts declines per caller across charges.
ALTER TABLE charges ADD COLUMN declines INTEGER NOT NULL DEFAULT 0;
CREATE INDEX charges_payer ON charges (payer_phone, created_at);

-- Bills texted per payer phone and per merchant in each clock hour (text-message abuse):
-- `scope` is `phone:<digits>` or `merchant:<id>`, `hour` the UTC hour `YYYY-MM-DDTHH`.
CREATE TABLE text_quota (
    scope  TEXT NOT NULL,
    hour   TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (scope, hour)
) WITHOUT ROWID;
