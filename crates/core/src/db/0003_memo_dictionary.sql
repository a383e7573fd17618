-- Ledger memos dictionary-coded (see db/ledger.rs `MemoDict`): the few memos that most entries
-- repeat ("카드 결제", "발주 3건 출고", ...) are kept once in `memos`, and an entry keeps the
-- memo's number. The dictionary holds at most 4096 memos; any other memo stays in the entry
-- as text. The column `memo` has no declared type (no affinity), so a number stays a number
-- and a text (even one that looks like a number) stays a text: its type tells them apart.

CREATE TABLE memos (
    n    INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);

CREATE TABLE ledger_v3 (
    uid     BLOB PRIMARY KEY,         -- the entry id, packed
    account INTEGER NOT NULL,         -- balances.n
    at      INTEGER NOT NULL,         -- milliseconds since 1970 (UTC)
    kind    INTEGER NOT NULL,         -- 1 order, 2 payment, 3 refund, 4 adjustment
    amount  INTEGER NOT NULL,
    ref_id  TEXT,
    memo    NOT NULL,                 -- memos.n (an integer), or the memo itself (a text)
    at_text TEXT                      -- the time as sent, only when not canonical RFC 3339 ms
) WITHOUT ROWID;

-- The existing entries' memos, the most repeated first, up to the dictionary's size.
INSERT INTO memos (text)
    SELECT memo FROM ledger GROUP BY memo ORDER BY count(*) DESC, memo LIMIT 4096;

INSERT INTO ledger_v3 (uid, account, at, kind, amount, ref_id, memo, at_text)
    SELECT l.uid, l.account, l.at, l.kind, l.amount, l.ref_id,
           coalesce((SELECT m.n FROM memos m WHERE m.text = CAST(l.memo AS TEXT)), CAST(l.memo AS TEXT)),
           l.at_text
    FROM ledger l ORDER BY l.uid;

DROP TABLE ledger;
ALTER TABLE ledger_v3 RENAME TO ledger;
