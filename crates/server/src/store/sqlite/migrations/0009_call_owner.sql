-- A call's owner: the server instance holding it in memory, and where other instances reach
-- it (to forward the call's next carrier request there).
ALTER TABLE call_sessions ADD COLUMN owner TEXT;
ALTER TABLE call_sessions ADD COLUMN owner_url TEXT;
