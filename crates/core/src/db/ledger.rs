//! The device's compact ledger: entries keyed by an integer account key and a millisecond time,
//! ids packed into 17-24 byte blobs, and the balance of every account kept in `balances`
//! as entries are applied (so a search hit's balance is one row read, not a sum).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use fieldpay_protocol::records::{LedgerEntry, LedgerKind};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{CoreError, CoreResult};

/// Packs a server id of the form `prefix_<32 lowercase hex>` (prefix: 1 to 8 ASCII letters or
/// digits) into a blob: the prefix bytes then the 16 bytes of the hex. Any other id is kept as
/// text. [`unpack_id`] gives the id back exactly.
pub fn pack_id(id: &str) -> Value {
    if let Some((prefix, hex_part)) = id.split_once('_') {
        let prefix_ok =
            (1..=8).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_alphanumeric());
        let hex_ok = hex_part.len() == 32
            && hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if prefix_ok && hex_ok {
            let mut blob = Vec::with_capacity(prefix.len() + 16);
            blob.extend_from_slice(prefix.as_bytes());
            let mut raw = [0u8; 16];
            if hex::decode_to_slice(hex_part, &mut raw).is_ok() {
                blob.extend_from_slice(&raw);
                return Value::Blob(blob);
            }
        }
    }
    Value::Text(id.to_string())
}

/// The id [`pack_id`] packed.
pub fn unpack_id(v: ValueRef<'_>) -> CoreResult<String> {
    match v {
        ValueRef::Text(t) => Ok(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) if b.len() > 16 => {
            let (prefix, raw) = b.split_at(b.len() - 16);
            Ok(format!(
                "{}_{}",
                String::from_utf8_lossy(prefix),
                hex::encode(raw)
            ))
        }
        _ => Err(CoreError::Corrupt("packed id".into())),
    }
}

/// [`unpack_id`] for a row mapper.
pub fn unpack_id_sql(v: ValueRef<'_>) -> rusqlite::Result<String> {
    unpack_id(v)
        .map_err(|_| rusqlite::Error::InvalidColumnType(0, "packed id".into(), v.data_type()))
}

/// A time kept in a TEXT column: canonical RFC 3339 milliseconds (`ts`) as an 8-byte
/// big-endian blob of the milliseconds, anything else as the text itself.
pub fn pack_time_blob(at: &str) -> Value {
    match pack_time(at) {
        (ms, None) => Value::Blob(ms.to_be_bytes().to_vec()),
        _ => Value::Text(at.to_string()),
    }
}

/// The time [`pack_time_blob`] packed.
pub fn unpack_time_blob(v: ValueRef<'_>) -> rusqlite::Result<String> {
    match v {
        ValueRef::Blob(b) if b.len() == 8 => {
            let ms = i64::from_be_bytes(b.try_into().unwrap_or_default());
            Ok(unpack_time(ms, None))
        }
        ValueRef::Text(t) => Ok(String::from_utf8_lossy(t).into_owned()),
        other => Err(rusqlite::Error::InvalidColumnType(
            0,
            "packed time".into(),
            other.data_type(),
        )),
    }
}

fn kind_code(k: LedgerKind) -> i64 {
    match k {
        LedgerKind::Order => 1,
        LedgerKind::Payment => 2,
        LedgerKind::Refund => 3,
        LedgerKind::Adjustment => 4,
        LedgerKind::Collection => 5,
        LedgerKind::CollectionVoid => 6,
        LedgerKind::Return => 7,
    }
}

fn kind_of(code: i64) -> CoreResult<LedgerKind> {
    Ok(match code {
        1 => LedgerKind::Order,
        2 => LedgerKind::Payment,
        3 => LedgerKind::Refund,
        4 => LedgerKind::Adjustment,
        5 => LedgerKind::Collection,
        6 => LedgerKind::CollectionVoid,
        7 => LedgerKind::Return,
        _ => return Err(CoreError::Corrupt("ledger kind".into())),
    })
}

/// The entry's time as milliseconds, and the text as sent when formatting the milliseconds
/// back (`ts`) would not give it exactly. An unreadable time sorts first (0).
fn pack_time(at: &str) -> (i64, Option<&str>) {
    if let Some(ms) = canonical_ms(at) {
        return (ms, None);
    }
    match DateTime::parse_from_rfc3339(at) {
        Ok(t) => {
            let ms = t.with_timezone(&Utc).timestamp_millis();
            // Compared with what the milliseconds give back (a leap second, `:60`, does not
            // survive them).
            if unpack_time(ms, None) == at {
                (ms, None)
            } else {
                (ms, Some(at))
            }
        }
        Err(_) => (0, Some(at)),
    }
}

/// The milliseconds of a time in the canonical form `YYYY-MM-DDTHH:MM:SS.mmmZ` (what `ts`
/// writes), read without parsing in general nor formatting back; None for any other text
/// (then [`pack_time`] takes the general way).
fn canonical_ms(at: &str) -> Option<i64> {
    let b = at.as_bytes();
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let (h, m, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let t = date.and_hms_milli_opt(h, m, sec, num(20, 23)?)?;
    Some(t.and_utc().timestamp_millis())
}

fn unpack_time(ms: i64, text: Option<String>) -> String {
    match text {
        Some(t) => t,
        None => DateTime::<Utc>::from_timestamp_millis(ms)
            .map(super::ts)
            .unwrap_or_default(),
    }
}

/// The index of an account's entries by time. A first sync drops it while the ledger loads
/// (each page would otherwise rewrite most of its pages) and makes it again at the end;
/// [`ensure_indexes`] also makes it when a database is opened.
const ACCOUNT_INDEX: &str = "CREATE INDEX IF NOT EXISTS ledger_account ON ledger (account, at)";

/// Makes the ledger's indexes that are missing.
pub fn ensure_indexes(c: &Connection) -> CoreResult<()> {
    c.execute_batch(ACCOUNT_INDEX)?;
    Ok(())
}

/// Drops the by-account index (see [`ACCOUNT_INDEX`]).
pub fn drop_account_index(c: &Connection) -> CoreResult<()> {
    c.execute_batch("DROP INDEX IF EXISTS ledger_account")?;
    Ok(())
}

pub fn is_empty(c: &Connection) -> CoreResult<bool> {
    Ok(!c.query_row("SELECT EXISTS (SELECT 1 FROM ledger)", [], |r| r.get(0))?)
}

/// Writes ledger entries inside one transaction and keeps the balances: account keys are
/// looked up once per account, and each account's balance is updated once, by [`finish`].
///
/// [`finish`]: LedgerWriter::finish
#[derive(Default)]
pub struct LedgerWriter<'a> {
    keys: HashMap<String, i64>,
    delta: HashMap<i64, i64>,
    memos: MemoDict,
    /// Memos written as text, never coded (the version-2 table of migration 2).
    literal_memos: bool,
    /// While the ledger loads without its by-account index (a first sync: see [`BulkLoad`]).
    bulk: Option<&'a mut BulkLoad>,
}

/// What a first sync keeps in memory from one page to the next while the ledger loads without
/// its by-account index (a ledger that was empty when the sync began).
///
/// - The hashed ids of every entry written: an id not in the set is certainly new; one in it
///   (sent again, a hash collision, or written by a page that was rolled back) is looked up in
///   the table. The set may hold ids the table does not (a rolled-back page) but never lacks
///   one it holds.
/// - The accounts' integer keys (keys are never deleted), so each account is looked up once
///   in the sync instead of once per page: with 20,000 changes a page and 200k accounts, most
///   entries of a page belong to an account the page has not met yet. Keys made by a page that
///   did not commit are forgotten before the next page ([`BulkLoad::begin_page`]).
///
/// About 35 MB for a million entries of 200k accounts.
#[derive(Default)]
pub struct BulkLoad {
    ids: BulkIds,
    keys: HashMap<String, i64>,
    /// False while a page is being written: its keys are trusted once it commits.
    keys_committed: bool,
}

impl BulkLoad {
    /// Before a page: the keys of a page that did not commit (an error, a crash of the
    /// thread) are dropped.
    pub fn begin_page(&mut self) {
        if !self.keys_committed {
            self.keys.clear();
        }
        self.keys_committed = false;
    }

    /// After the page committed.
    pub fn page_committed(&mut self) {
        self.keys_committed = true;
    }
}

#[derive(Default)]
struct BulkIds(HashSet<u64>);

impl BulkIds {
    /// False when `uid` may already be in the ledger; records it.
    fn insert_new(&mut self, uid: &Value) -> bool {
        // SipHash with fixed keys: the same id gives the same number in every run.
        let mut h = std::hash::DefaultHasher::new();
        match uid {
            Value::Blob(b) => (0u8, b).hash(&mut h),
            Value::Text(t) => (1u8, t).hash(&mut h),
            other => (2u8, format!("{other:?}")).hash(&mut h),
        }
        self.0.insert(h.finish())
    }
}

/// How many memos the dictionary holds at most (see `0003_memo_dictionary.sql`); the memos
/// of later new kinds stay in their entries as text.
pub const MEMO_DICT_MAX: i64 = 4096;

/// The memo dictionary as one transaction uses it: the memos looked up so far and their
/// numbers (`None`: kept as text).
#[derive(Default)]
struct MemoDict {
    known: HashMap<String, Option<i64>>,
    size: Option<i64>,
}

impl MemoDict {
    /// What the ledger's `memo` column keeps for `memo`: the memo's number in `memos` (added
    /// there when new and the dictionary is not full), or the memo itself.
    fn code(&mut self, c: &Connection, memo: &str) -> CoreResult<Value> {
        let n = match self.known.get(memo) {
            Some(n) => *n,
            None => {
                let found: Option<i64> = c
                    .prepare_cached("SELECT n FROM memos WHERE text = ?1")?
                    .query_row([memo], |r| r.get(0))
                    .optional()?;
                let n = match found {
                    Some(n) => Some(n),
                    None => {
                        let size = match self.size {
                            Some(size) => size,
                            None => c
                                .prepare_cached("SELECT count(*) FROM memos")?
                                .query_row([], |r| r.get(0))?,
                        };
                        if size < MEMO_DICT_MAX {
                            c.prepare_cached("INSERT INTO memos (text) VALUES (?1)")?
                                .execute([memo])?;
                            self.size = Some(size + 1);
                            Some(c.last_insert_rowid())
                        } else {
                            self.size = Some(size);
                            None
                        }
                    }
                };
                self.known.insert(memo.to_string(), n);
                n
            }
        };
        Ok(match n {
            Some(n) => Value::Integer(n),
            None => Value::Text(memo.to_string()),
        })
    }
}

/// The memo of a ledger row, as an expression of a `SELECT ... FROM ledger`.
const MEMO_SQL: &str = "CASE WHEN typeof(memo) = 'integer'
    THEN (SELECT m.text FROM memos m WHERE m.n = ledger.memo) ELSE memo END";

fn find_key(c: &Connection, account_id: &str) -> CoreResult<Option<i64>> {
    Ok(
        c.prepare_cached("SELECT n FROM account_keys WHERE id = ?1")?
            .query_row([pack_id(account_id)], |r| r.get(0))
            .optional()?,
    )
}

/// The integer key of an account (made, with a zero balance, when first seen), inside the
/// caller's transaction.
pub fn account_key(c: &Connection, account_id: &str) -> CoreResult<i64> {
    if let Some(n) = find_key(c, account_id)? {
        return Ok(n);
    }
    c.prepare_cached("INSERT INTO balances (balance) VALUES (0)")?
        .execute([])?;
    let n = c.last_insert_rowid();
    c.prepare_cached("INSERT INTO account_keys (id, n) VALUES (?1, ?2)")?
        .execute(params![pack_id(account_id), n])?;
    Ok(n)
}

impl<'a> LedgerWriter<'a> {
    /// A writer for a ledger loading without its by-account index (see [`BulkLoad`]).
    pub fn bulk(load: &'a mut BulkLoad) -> Self {
        LedgerWriter {
            bulk: Some(load),
            ..LedgerWriter::default()
        }
    }

    fn key(&mut self, c: &Connection, account_id: &str) -> CoreResult<i64> {
        let keys = match self.bulk.as_deref_mut() {
            Some(load) => &mut load.keys,
            None => &mut self.keys,
        };
        if let Some(n) = keys.get(account_id) {
            return Ok(*n);
        }
        let n = account_key(c, account_id)?;
        keys.insert(account_id.to_string(), n);
        Ok(n)
    }

    /// Inserts the entry, or replaces the same entry sent again (same id, account and time: the
    /// server's ledger is append-only, so an entry never moves to another account or time; a
    /// changed copy replaces its memo, kind, amount and reference, and the balance moves by
    /// the difference). The entry is found through the by-account index, or known new from
    /// [`BulkLoad`] while that index is dropped.
    pub fn put(&mut self, c: &Connection, l: &LedgerEntry) -> CoreResult<()> {
        let account = self.key(c, &l.account_id)?;
        let (at, at_text) = pack_time(&l.at);
        let uid = pack_id(&l.id);
        let memo = if self.literal_memos {
            Value::Text(l.memo.clone())
        } else {
            self.memos.code(c, &l.memo)?
        };
        let known_new = self
            .bulk
            .as_deref_mut()
            .is_some_and(|load| load.ids.insert_new(&uid));
        let old_amount: Option<i64> = if known_new {
            None
        } else {
            c.prepare_cached(
                "SELECT amount FROM ledger WHERE account = ?1 AND at = ?2 AND uid = ?3",
            )?
            .query_row(params![account, at, uid], |r| r.get(0))
            .optional()?
        };
        let args = params![
            account,
            at,
            uid,
            kind_code(l.kind),
            l.amount,
            l.ref_id,
            memo,
            at_text
        ];
        match old_amount {
            None => {
                c.prepare_cached(
                    "INSERT INTO ledger (account, at, uid, kind, amount, ref_id, memo, at_text)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(args)?;
            }
            Some(old_amount) => {
                c.prepare_cached(
                    "UPDATE ledger SET kind = ?4, amount = ?5, ref_id = ?6, memo = ?7, at_text = ?8
                     WHERE account = ?1 AND at = ?2 AND uid = ?3",
                )?
                .execute(args)?;
                *self.delta.entry(account).or_default() -= old_amount;
            }
        }
        *self.delta.entry(account).or_default() += l.amount;
        Ok(())
    }

    /// Adds what the entries changed to the accounts' balances.
    pub fn finish(self, c: &Connection) -> CoreResult<()> {
        let mut st = c.prepare_cached("UPDATE balances SET balance = balance + ?2 WHERE n = ?1")?;
        for (n, d) in self.delta {
            if d != 0 {
                st.execute(params![n, d])?;
            }
        }
        Ok(())
    }
}

/// Deletes an account's entries (an account the device no longer keeps); its balance
/// becomes 0. Nothing to do for an account whose entries never came.
pub fn forget(c: &Connection, account_id: &str) -> CoreResult<()> {
    let Some(n) = find_key(c, account_id)? else {
        return Ok(());
    };
    c.prepare_cached("DELETE FROM ledger WHERE account = ?1")?
        .execute([n])?;
    c.prepare_cached("UPDATE balances SET balance = 0 WHERE n = ?1")?
        .execute([n])?;
    Ok(())
}

/// The balance of an account (0 when it has no entries).
pub fn balance(c: &Connection, account_id: &str) -> CoreResult<i64> {
    let Some(n) = find_key(c, account_id)? else {
        return Ok(0);
    };
    Ok(
        c.prepare_cached("SELECT balance FROM balances WHERE n = ?1")?
            .query_row([n], |r| r.get(0))
            .optional()?
            .unwrap_or(0),
    )
}

/// What this device collected from an account that the ledger does not show yet: the
/// collections not voided, not refused, whose `collection` entry has not arrived.
pub fn pending_collected(c: &Connection, account_id: &str) -> CoreResult<i64> {
    let key = find_key(c, account_id)?.unwrap_or(-1);
    Ok(c
        .prepare_cached(
            "SELECT COALESCE(SUM(x.amount), 0) FROM collections x
             WHERE x.account_id = ?1 AND x.voided = 0 AND x.sync_state != 'rejected'
               AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.account = ?2 AND l.kind = 5 AND l.ref_id = x.id)",
        )?
        .query_row(params![account_id, key], |r| r.get(0))?)
}

/// The newest `limit` entries of an account, newest first.
pub fn entries(c: &Connection, account_id: &str, limit: u32) -> CoreResult<Vec<LedgerEntry>> {
    let Some(account) = find_key(c, account_id)? else {
        return Ok(Vec::new());
    };
    let mut st = c.prepare_cached(&format!(
        "SELECT at, uid, kind, amount, ref_id, {MEMO_SQL}, at_text FROM ledger
         WHERE account = ?1 ORDER BY at DESC, uid DESC LIMIT ?2"
    ))?;
    let mut rows = st.query(params![account, limit])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(LedgerEntry {
            id: unpack_id(r.get_ref(1)?)?,
            account_id: account_id.to_string(),
            kind: kind_of(r.get(2)?)?,
            amount: r.get(3)?,
            ref_id: r.get(4)?,
            memo: r.get(5)?,
            at: unpack_time(r.get(0)?, r.get(6)?),
        });
    }
    Ok(out)
}

/// Migration 2: copies the entries of the old `ledger` table into `ledger_v2` (making the
/// account keys and balances on the way), then puts `ledger_v2` in its place.
pub fn migrate_v2(c: &Connection) -> CoreResult<()> {
    let old: Vec<LedgerEntry> = {
        let mut st =
            c.prepare("SELECT id, account_id, kind, amount, ref_id, memo, at FROM ledger")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut v = Vec::new();
        for row in rows {
            let (id, account_id, kind, amount, ref_id, memo, at) = row?;
            v.push(LedgerEntry {
                id,
                account_id,
                kind: LedgerKind::parse(&kind)
                    .ok_or_else(|| CoreError::Corrupt("ledger kind".into()))?,
                amount,
                ref_id,
                memo,
                at,
            });
        }
        v
    };
    c.execute_batch("DROP TABLE ledger; ALTER TABLE ledger_v2 RENAME TO ledger;")?;
    ensure_indexes(c)?;
    // Accounts: ids and times packed in place (see `Db::put_account`).
    let accounts: Vec<fieldpay_protocol::records::Account> = {
        let mut st = c.prepare(&format!("SELECT {} FROM accounts", super::ACCOUNT_COLS))?;
        let rows = st.query_map([], |r| {
            Ok(fieldpay_protocol::records::Account {
                id: r.get(0)?,
                code: r.get(1)?,
                name: r.get(2)?,
                owner_name: r.get(3)?,
                business_number: r.get(4)?,
                phone: r.get(5)?,
                address: r.get(6)?,
                credit_limit: r.get(7)?,
                closed: r.get(8)?,
                rep_id: r.get(9)?,
                updated_at: r.get(10)?,
            })
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    c.execute_batch("DELETE FROM accounts")?;
    for a in &accounts {
        super::put_account(c, a)?;
    }
    // The table of version 2 keeps memos as text (migration 3 codes them).
    // The version-1 table's ids are unique and `ledger_v2` starts empty.
    let mut load = BulkLoad::default();
    let mut w = LedgerWriter {
        literal_memos: true,
        ..LedgerWriter::bulk(&mut load)
    };
    for e in &old {
        w.put(c, e)?;
    }
    w.finish(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_pack_and_unpack_exactly() {
        for id in [
            "le_01a21c4c33b274108fe41196a70ae0df",
            "acc_01a21c4c33ae739fae01f4e4397e9d28",
            "0192b3c4-5d6e-7f80-9a0b-1c2d3e4f5a6b",
            "le_01A21C4C33B274108FE41196A70AE0DF",
            "le_01a21c4c33b274108fe41196a70ae0d",
            "toolongprefix_01a21c4c33b274108fe41196a70ae0df",
            "_01a21c4c33b274108fe41196a70ae0df",
            "x",
            "",
        ] {
            let v = pack_id(id);
            let back = unpack_id(ValueRef::from(&v)).unwrap();
            assert_eq!(back, id);
        }
        assert!(matches!(
            pack_id("le_01a21c4c33b274108fe41196a70ae0df"),
            Value::Blob(b) if b.len() == 18
        ));
    }

    #[test]
    fn times_pack_and_unpack_exactly() {
        for at in [
            "2026-11-27T09:18:05.746Z",
            "2026-11-27T09:18:05Z",
            "2026-11-27T18:18:05.746+09:00",
            "not a time",
        ] {
            let (ms, text) = pack_time(at);
            assert_eq!(unpack_time(ms, text.map(str::to_string)), at);
        }
        assert_eq!(pack_time("2026-11-27T09:18:05.746Z").1, None);
        // The canonical fast path agrees with the general parse, and leaves odd texts to it.
        for at in [
            "2026-11-27T09:18:05.746Z",
            "1970-01-01T00:00:00.000Z",
            "1969-12-31T23:59:59.999Z",
            "0001-01-01T00:00:00.000Z",
            "9999-12-31T23:59:59.999Z",
            "2024-02-29T12:00:00.001Z",
        ] {
            let general = DateTime::parse_from_rfc3339(at).unwrap().timestamp_millis();
            assert_eq!(canonical_ms(at), Some(general), "{at}");
            assert_eq!(unpack_time(general, None), at);
        }
        for at in [
            "2023-02-29T12:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-11-27T24:00:00.000Z",
            "2026-11-27T23:60:00.000Z",
            "2026-11-27T23:59:60.000Z",
            "2026-11-27t09:18:05.746Z",
            "2026-11-27T09:18:05.746z",
            "2026-11-27T09:18:05.7460",
            "+026-11-27T09:18:05.746Z",
            "2026-11-27T09:18:05,746Z",
            "2026-11-27T09:18:05.74Z",
        ] {
            assert_eq!(canonical_ms(at), None, "{at}");
            let (ms, text) = pack_time(at);
            assert_eq!(unpack_time(ms, text.map(str::to_string)), at);
        }
        assert_eq!(
            pack_time("2026-11-27T18:18:05.746+09:00").0,
            pack_time("2026-11-27T09:18:05.746Z").0
        );
    }
}
