-- Smaller keys for the two biggest tables (a 200k-account device after its first sync:
-- 133.8 MB -> 113.1 MB, BENCHMARKS.md row 2).
--
-- The ledger gets an integer row key in arrival order. Its by-account index then carries that
-- key (3 bytes) instead of the packed entry id (18 bytes): about half the index's size. An
-- entry sent again is found through that index by its account, time and id (see
-- db/ledger.rs `LedgerWriter::put`): the server's ledger is append-only, so an entry's
-- account and time never change. Entries keep their arrival order, so a sync still appends
-- them at the end of the table's B-tree.
--
-- Accounts are kept by their id alone (WITHOUT ROWID): one B-tree instead of the table and
-- its index of ids.
--
-- The by-account index (`ledger_account`) is made again when the database is opened
-- (db/ledger.rs `ensure_indexes`).

CREATE TABLE ledger_v7 (
    n       INTEGER PRIMARY KEY,      -- arrival order
    uid     BLOB NOT NULL,            -- the entry id, packed
    account INTEGER NOT NULL,         -- balances.n
    at      INTEGER NOT NULL,         -- milliseconds since 1970 (UTC)
    kind    INTEGER NOT NULL,         -- 1 order, 2 payment, 3 refund, 4 adjustment, ...
    amount  INTEGER NOT NULL,
    ref_id  TEXT,
    memo    NOT NULL,                 -- memos.n (an integer), or the memo itself (a text)
    at_text TEXT                      -- the time as sent, only when not canonical RFC 3339 ms
);
INSERT INTO ledger_v7 (uid, account, at, kind, amount, ref_id, memo, at_text)
    SELECT uid, account, at, kind, amount, ref_id, memo, at_text FROM ledger ORDER BY uid;
DROP TABLE ledger;
ALTER TABLE ledger_v7 RENAME TO ledger;

CREATE TABLE accounts_v7 (
    id              TEXT PRIMARY KEY NOT NULL,  -- packed (db/ledger.rs `pack_id`)
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    owner_name      TEXT NOT NULL,
    business_number TEXT NOT NULL,
    phone           TEXT NOT NULL,
    address         TEXT NOT NULL,
    credit_limit    INTEGER NOT NULL,
    closed          INTEGER NOT NULL,
    rep_id          TEXT,
    updated_at      TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO accounts_v7 (id, code, name, owner_name, business_number, phone, address,
                         credit_limit, closed, rep_id, updated_at)
    SELECT id, code, name, owner_name, business_number, phone, address,
           credit_limit, closed, rep_id, updated_at
    FROM accounts ORDER BY id;
DROP TABLE accounts;
ALTER TABLE accounts_v7 RENAME TO accounts;
