-- Compact ledger and per-account balances (see db/ledger.rs). The rows of the old `ledger`
-- table are copied over by the migration code, then it is dropped.

-- The balance of every account the ledger refers to (an entry may arrive before its account):
-- the sum of its ledger amounts, kept up to date in the transaction that applies each entry.
-- `n` is the account's integer key in the ledger.
CREATE TABLE balances (
    n       INTEGER PRIMARY KEY,
    balance INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE account_keys (
    id BLOB PRIMARY KEY,              -- the account id, packed (db/ledger.rs `pack_id`)
    n  INTEGER NOT NULL               -- balances.n
) WITHOUT ROWID;

-- Entries by id: the server's ids grow with time (UUIDv7), so the entries of a sync are
-- appended at the end of the table's B-tree rather than written all over it.
CREATE TABLE ledger_v2 (
    uid     BLOB PRIMARY KEY,         -- the entry id, packed
    account INTEGER NOT NULL,         -- balances.n
    at      INTEGER NOT NULL,         -- milliseconds since 1970 (UTC)
    kind    INTEGER NOT NULL,         -- 1 order, 2 payment, 3 refund, 4 adjustment
    amount  INTEGER NOT NULL,
    ref_id  TEXT,
    memo    TEXT NOT NULL,
    at_text TEXT                      -- the time as sent, only when not canonical RFC 3339 ms
) WITHOUT ROWID;
