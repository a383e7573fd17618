-- A rep's role: a plain rep acts on its own records; a manager also refunds and reads every
-- rep's records and the webhook log.
ALTER TABLE reps ADD COLUMN role TEXT NOT NULL DEFAULT 'rep' CHECK (role IN ('rep', 'manager'));
