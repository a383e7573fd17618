-- Declined approval attempts per charge (a charge takes a bounded number of declined cards),
-- and the payer phone index that counts declines per caller across charges.
ALTER TABLE charges ADD COLUMN declines INTEGER NOT NULL DEFAULT 0;
CREATE INDEX charges_payer ON charges (payer_phone, created_at);
