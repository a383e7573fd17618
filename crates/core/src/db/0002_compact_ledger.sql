-- Compact ledger and per-account balances (see db/ledger.rs). The rows of the old `ledger`
-- table are copied over by the migration code, then it is dropped.

-- An integer key for every account the ledger refers to (an entry may arrive before its
-- account), and the account's balance: the sum of its ledger amounts, kept up to date in the
-- transaction that applies each entry.
CREATE TABLE account_keys (
    n       INTEGER PRIMARY KEY,
    id      BLOB NOT NULL UNIQUE,     -- the account id, packed (db/ledger.rs `pack_id`)
    balance INTEGER NOT NULL DEFAULT 0
);

-- Ledger entries clustered by account and time (what the account screen reads). The server's
-- entries are immutable, so (account, at, uid) identifies an entry that is sent again.
CREATE TABLE ledger_v2 (
    account INTEGER NOT NULL,         -- account_keys.n
    at      INTEGER NOT NULL,         -- milliseconds since 1970 (UTC)
    uid     BLOB NOT NULL,            -- the entry id, packed
    kind    INTEGER NOT NULL,         -- 1 order, 2 payment, 3 refund, 4 adjustment
    amount  INTEGER NOT NULL,
    ref_id  TEXT,
    memo    TEXT NOT NULL,
    at_text TEXT,                     -- the time as sent, only when not canonical RFC 3339 ms
    PRIMARY KEY (account, at, uid)
) WITHOUT ROWID;
