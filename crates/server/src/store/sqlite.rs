//! SQLite implementation of [`Store`]: one writer connection (transactions are serialised, so
//! the checks inside a transaction see no interleaving) and a few readers, all in WAL mode.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use fieldpay_protocol::charge::{
    Charge, ChargeEvent, ChargeKind, ChargeList, ChargeOrigin, ChargeStatus, Orderer, PaymentInfo,
};
use fieldpay_protocol::phone::Phone;
use fieldpay_protocol::records::{
    Account, AccountPrice, LedgerEntry, LedgerKind, Order, OrderLine, OrderStatus, OrderTotals,
    Product, SignatureEvidence,
};
use fieldpay_protocol::settlement::{SettlementReport, SettlementRow};
use fieldpay_protocol::sync::{Change, ChangeData, MutationOutcome, SyncPage};
use fieldpay_protocol::ErrorCode;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::*;
use crate::clock::{kst, ts};
use crate::domain::{CreditPolicy, Merchant, MerchantSettings};
use crate::ids::new_id;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_changes_cursor.sql")),
];
const READERS: usize = 4;
/// The largest pull page (changes).
pub const MAX_PULL_PAGE: u32 = 20_000;

pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Merchants by id (read on every charge request).
    merchants: Cache<Merchant>,
    /// Live API keys by key hash: (key id, merchant id) (read on every API request).
    api_keys: Cache<(String, String)>,
}

/// How long a cached merchant or API key is trusted without reading the database again. Every
/// change made through this store (settings, key revocation) drops the entry at once; the
/// limit only bounds how long a change made by another process (another server on the same
/// file, a tool editing the database) goes unseen.
const CACHE_TTL: Duration = Duration::from_secs(10);
const CACHE_MAX: usize = 10_000;

/// A small read-through cache of rows that change rarely. `generation` closes the race
/// between a reader that read the row before a change committed and the change's invalidation:
/// an entry read under an older generation is not stored.
struct Cache<T> {
    inner: Mutex<Entries<T>>,
}

/// The generation and the entries with the time each was read.
type Entries<T> = (u64, HashMap<String, (T, Instant)>);

impl<T: Clone> Cache<T> {
    fn new() -> Self {
        Cache {
            inner: Mutex::new((0, HashMap::new())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &str) -> Option<T> {
        let g = self.lock();
        g.1.get(key)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(v, _)| v.clone())
    }

    fn generation(&self) -> u64 {
        self.lock().0
    }

    fn put(&self, generation: u64, key: &str, value: T) {
        let mut g = self.lock();
        if g.0 != generation {
            return;
        }
        if g.1.len() >= CACHE_MAX {
            g.1.clear();
        }
        g.1.insert(key.to_string(), (value, Instant::now()));
    }

    /// Drops the entries `stale` picks (after the change that made them stale committed).
    fn invalidate(&self, stale: impl Fn(&str, &T) -> bool) {
        let mut g = self.lock();
        g.0 += 1;
        g.1.retain(|k, (v, _)| !stale(k, v));
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // WAL + NORMAL: a commit is in the WAL file (the OS's page cache) before it is answered,
    // so a crash of the process loses nothing committed; only a power cut or kernel crash
    // may lose the last commits (the database stays consistent). The fsyncs happen at
    // checkpoints.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock rolls the open transaction back (Transaction's Drop), so
    // the connection is still consistent: take it back from a poisoned mutex.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SqliteStore {
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open(path)?;
            configure(&r)?;
            readers.push(Mutex::new(r));
        }
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            merchants: Cache::new(),
            api_keys: Cache::new(),
        })
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let conn = lock(&self.readers[i]);
        f(&conn)
    }

    /// The schema version after migrations.
    pub fn schema_version(&self) -> StoreResult<i64> {
        self.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
    }
}

fn migrate(conn: &Connection) -> StoreResult<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (version, sql) in MIGRATIONS {
        if *version > current {
            conn.execute_batch(&format!(
                "BEGIN IMMEDIATE; {sql}\nPRAGMA user_version = {version}; COMMIT;"
            ))
            .inspect_err(|_| {
                let _ = conn.execute_batch("ROLLBACK");
            })?;
        }
    }
    Ok(())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn rejected(code: ErrorCode, msg: impl Into<String>) -> StoreError {
    StoreError::rejected(code, msg)
}

fn display_phone(digits: &str) -> String {
    Phone::parse(digits)
        .map(|p| p.display())
        .unwrap_or_else(|_| digits.to_string())
}

fn changed(tx: &Transaction<'_>, merchant_id: &str, entity: &str, id: &str) -> StoreResult<()> {
    tx.prepare_cached(
        "DELETE FROM changes WHERE merchant_id = ?1 AND entity = ?2 AND entity_id = ?3",
    )?
    .execute(params![merchant_id, entity, id])?;
    tx.prepare_cached("INSERT INTO changes (merchant_id, entity, entity_id) VALUES (?1, ?2, ?3)")?
        .execute(params![merchant_id, entity, id])?;
    Ok(())
}

fn apply_effects(
    tx: &Transaction<'_>,
    merchant_id: &str,
    charge_id: Option<&str>,
    effects: &Effects,
    now: &str,
) -> StoreResult<()> {
    for sms in &effects.sms {
        tx.prepare_cached(
            "INSERT INTO sms_messages (merchant_id, to_phone, kind, body, charge_id, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
        )?
        .execute(params![merchant_id, sms.to, sms.kind, sms.body, charge_id, now])?;
    }
    for w in &effects.webhooks {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO webhook_deliveries
               (id, merchant_id, event_type, payload, url, status, attempts, next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6)",
        )?
        .execute(params![w.id, merchant_id, w.event_type, w.payload, w.url, now])?;
    }
    Ok(())
}

// ---------------------------------------------------------------- row mapping

fn merchant_from_row(r: &Row<'_>) -> rusqlite::Result<(String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn to_merchant(
    (id, code, name, settings): (String, String, String, String),
) -> StoreResult<Merchant> {
    let settings: MerchantSettings =
        serde_json::from_str(&settings).map_err(|e| corrupt(&format!("merchant settings: {e}")))?;
    Ok(Merchant {
        id,
        code,
        name,
        settings,
    })
}

fn query_merchant(c: &Connection, sql: &str, arg: &str) -> StoreResult<Option<Merchant>> {
    let row = c
        .prepare_cached(sql)?
        .query_row([arg], merchant_from_row)
        .optional()?;
    row.map(to_merchant).transpose()
}

fn rep_from_row(r: &Row<'_>) -> rusqlite::Result<RepRecord> {
    Ok(RepRecord {
        id: r.get(0)?,
        merchant_id: r.get(1)?,
        login: r.get(2)?,
        name: r.get(3)?,
        password_hash: r.get(4)?,
        active: r.get::<_, i64>(5)? != 0,
    })
}

const REP_COLS: &str = "id, merchant_id, login, name, password_hash, active";

const ACCOUNT_COLS: &str = "id, code, name, owner_name, business_number, phone, address, credit_limit, closed, rep_id, updated_at";

fn account_from_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    account_from_row_at(r, 0)
}

/// An account from the columns `ACCOUNT_COLS` starting at column `i`.
fn account_from_row_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(i)?,
        code: r.get(i + 1)?,
        name: r.get(i + 2)?,
        owner_name: r.get(i + 3)?,
        business_number: r.get(i + 4)?,
        phone: r.get(i + 5)?,
        address: r.get(i + 6)?,
        credit_limit: r.get(i + 7)?,
        closed: r.get::<_, i64>(i + 8)? != 0,
        rep_id: r.get(i + 9)?,
        updated_at: r.get(i + 10)?,
    })
}

const PRODUCT_COLS: &str = "id, code, name, unit_price, unit, active, updated_at";

fn product_from_row(r: &Row<'_>) -> rusqlite::Result<Product> {
    product_from_row_at(r, 0)
}

/// A product from the columns `PRODUCT_COLS` starting at column `i`.
fn product_from_row_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Product> {
    Ok(Product {
        id: r.get(i)?,
        code: r.get(i + 1)?,
        name: r.get(i + 2)?,
        unit_price: r.get(i + 3)?,
        unit: r.get(i + 4)?,
        active: r.get::<_, i64>(i + 5)? != 0,
        updated_at: r.get(i + 6)?,
    })
}

const ORDER_COLS: &str = "id, number, account_id, rep_id, status, lines, supply, vat, total, memo, signature, signature_png IS NOT NULL, pdf IS NOT NULL, reject_reason, created_at, updated_at";

fn load_order(c: &Connection, merchant_id: &str, id: &str) -> StoreResult<Option<Order>> {
    let row = c
        .query_row(
            &format!("SELECT {ORDER_COLS} FROM orders WHERE merchant_id = ?1 AND id = ?2"),
            params![merchant_id, id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    (
                        r.get::<_, i64>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, i64>(8)?,
                    ),
                    r.get::<_, String>(9)?,
                    r.get::<_, Option<String>>(10)?,
                    (r.get::<_, bool>(11)?, r.get::<_, bool>(12)?),
                    r.get::<_, Option<String>>(13)?,
                    (r.get::<_, String>(14)?, r.get::<_, String>(15)?),
                ))
            },
        )
        .optional()?;
    let Some((
        id,
        number,
        account_id,
        rep_id,
        status,
        lines,
        (supply, vat, total),
        memo,
        signature,
        (has_png, has_pdf),
        reject_reason,
        (created_at, updated_at),
    )) = row
    else {
        return Ok(None);
    };
    let lines: Vec<OrderLine> =
        serde_json::from_str(&lines).map_err(|e| corrupt(&format!("order lines: {e}")))?;
    let signature: Option<SignatureEvidence> = signature
        .map(|s| serde_json::from_str(&s))
        .transpose()
        .map_err(|e| corrupt(&format!("order signature: {e}")))?;
    Ok(Some(Order {
        id,
        number,
        account_id,
        rep_id,
        status: OrderStatus::parse(&status).ok_or_else(|| corrupt("order status"))?,
        lines,
        totals: OrderTotals { supply, vat, total },
        memo,
        signature,
        has_signature_image: has_png,
        has_pdf,
        reject_reason,
        created_at,
        updated_at,
    }))
}

const CHARGE_COLS: &str = "id, merchant_id, rep_id, origin, kind, status, amount, goods_name, payer_phone, payer_name, orderer_name, orderer_phone, order_ref, account_id, installments, virtual_number, bound, created_at, expires_at, decline_reason, receipt_token, approving";

struct ChargeRow {
    id: String,
    merchant_id: String,
    rep_id: Option<String>,
    origin: String,
    kind: String,
    status: String,
    amount: i64,
    goods_name: String,
    payer_phone: String,
    payer_name: Option<String>,
    orderer_name: Option<String>,
    orderer_phone: Option<String>,
    order_ref: Option<String>,
    account_id: Option<String>,
    installments: bool,
    virtual_number: String,
    bound: bool,
    created_at: String,
    expires_at: String,
    decline_reason: Option<String>,
    receipt_token: Option<String>,
    approving: bool,
}

fn charge_row(r: &Row<'_>) -> rusqlite::Result<ChargeRow> {
    Ok(ChargeRow {
        id: r.get(0)?,
        merchant_id: r.get(1)?,
        rep_id: r.get(2)?,
        origin: r.get(3)?,
        kind: r.get(4)?,
        status: r.get(5)?,
        amount: r.get(6)?,
        goods_name: r.get(7)?,
        payer_phone: r.get(8)?,
        payer_name: r.get(9)?,
        orderer_name: r.get(10)?,
        orderer_phone: r.get(11)?,
        order_ref: r.get(12)?,
        account_id: r.get(13)?,
        installments: r.get(14)?,
        virtual_number: r.get(15)?,
        bound: r.get(16)?,
        created_at: r.get(17)?,
        expires_at: r.get(18)?,
        decline_reason: r.get(19)?,
        receipt_token: r.get(20)?,
        approving: r.get(21)?,
    })
}

fn payment_info(c: &Connection, charge_id: &str) -> StoreResult<Option<(PaymentInfo, String)>> {
    Ok(c.prepare_cached(
        "SELECT approval_number, issuer_code, issuer_name, masked_card, installment_months, amount,
                approved_at, refunded_at, acquirer_code
         FROM payments WHERE charge_id = ?1",
    )?
    .query_row([charge_id], |r| {
        Ok((
            PaymentInfo {
                approval_number: r.get(0)?,
                issuer_code: r.get(1)?,
                issuer_name: r.get(2)?,
                masked_card: r.get(3)?,
                installment_months: r.get(4)?,
                amount: r.get(5)?,
                approved_at: r.get(6)?,
                refunded_at: r.get(7)?,
                receipt_url: None,
            },
            r.get(8)?,
        ))
    })
    .optional()?)
}

fn build_charge(c: &Connection, row: ChargeRow) -> StoreResult<ChargeRecord> {
    let mut stmt = c.prepare_cached(
        "SELECT status, at, detail FROM charge_events WHERE charge_id = ?1 ORDER BY id",
    )?;
    let events = stmt
        .query_map([&row.id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?
        .map(|e| {
            let (s, at, detail) = e?;
            Ok(ChargeEvent {
                status: ChargeStatus::parse(&s).ok_or_else(|| corrupt("event status"))?,
                at,
                detail,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let payment = payment_info(c, &row.id)?;
    let (payment, acquirer_code) = match payment {
        Some((p, a)) => (Some(p), Some(a)),
        None => (None, None),
    };
    let orderer = match (row.orderer_name, row.orderer_phone) {
        (Some(name), Some(phone)) => Some(Orderer {
            name,
            phone: display_phone(&phone),
        }),
        _ => None,
    };
    let third_party = orderer
        .as_ref()
        .is_some_and(|o| o.phone != display_phone(&row.payer_phone));
    let charge = Charge {
        id: row.id,
        status: ChargeStatus::parse(&row.status).ok_or_else(|| corrupt("charge status"))?,
        kind: ChargeKind::parse(&row.kind).ok_or_else(|| corrupt("charge kind"))?,
        origin: ChargeOrigin::parse(&row.origin).ok_or_else(|| corrupt("charge origin"))?,
        amount: row.amount,
        goods_name: row.goods_name,
        payer_phone: display_phone(&row.payer_phone),
        payer_name: row.payer_name,
        orderer,
        third_party,
        order_ref: row.order_ref,
        account_id: row.account_id,
        rep_id: row.rep_id,
        installments: row.installments,
        virtual_number: row.bound.then(|| display_phone(&row.virtual_number)),
        created_at: row.created_at,
        expires_at: row.expires_at,
        events,
        payment,
        decline_reason: row.decline_reason,
    };
    Ok(ChargeRecord {
        charge,
        merchant_id: row.merchant_id,
        virtual_number: row.virtual_number,
        payer_phone: row.payer_phone,
        bound: row.bound,
        approving: row.approving,
        receipt_token: row.receipt_token,
        acquirer_code,
    })
}

fn load_charge(
    c: &Connection,
    where_sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> StoreResult<Option<ChargeRecord>> {
    let row = c
        .prepare_cached(&format!(
            "SELECT {CHARGE_COLS} FROM charges WHERE {where_sql}"
        ))?
        .query_row(args, charge_row)
        .optional()?;
    row.map(|r| build_charge(c, r)).transpose()
}

fn charge_by_id(c: &Connection, id: &str) -> StoreResult<ChargeRecord> {
    load_charge(c, "id = ?1", &[&id])?
        .ok_or_else(|| rejected(ErrorCode::NotFound, "charge not found"))
}

fn add_event(
    tx: &Transaction<'_>,
    charge_id: &str,
    status: ChargeStatus,
    detail: Option<&str>,
    now: &str,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO charge_events (charge_id, status, at, detail) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![charge_id, status.as_str(), now, detail])?;
    Ok(())
}

/// Sets status (and writes the event, change-log row and effects) in one go.
fn transition(
    tx: &Transaction<'_>,
    charge_id: &str,
    status: ChargeStatus,
    detail: Option<&str>,
    now: &str,
    compose: Compose<'_>,
) -> StoreResult<ChargeRecord> {
    tx.prepare_cached("UPDATE charges SET status = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![charge_id, status.as_str(), now])?;
    add_event(tx, charge_id, status, detail, now)?;
    let rec = charge_by_id(tx, charge_id)?;
    changed(tx, &rec.merchant_id, "charge", charge_id)?;
    apply_effects(tx, &rec.merchant_id, Some(charge_id), &compose(&rec), now)?;
    Ok(rec)
}

/// Creates one charge inside `tx` (see [`Store::create_charge`]).
fn insert_charge(
    tx: &Transaction<'_>,
    new: &NewCharge,
    now: &str,
    compose: Compose<'_>,
) -> StoreResult<(ChargeRecord, bool)> {
    let req = &new.request;

    if let Some(key) = &new.idempotency_key {
        let prior: Option<(String, Option<String>)> = tx
                    .prepare_cached(
                        "SELECT id, request_hash FROM charges WHERE merchant_id = ?1 AND idempotency_key = ?2",
                    )?
                    .query_row(
                        params![new.merchant_id, key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
        if let Some((id, hash)) = prior {
            if hash != new.request_hash {
                return Err(rejected(
                    ErrorCode::IdempotencyConflict,
                    "this Idempotency-Key was used with a different request",
                ));
            }
            return Ok((charge_by_id(tx, &id)?, false));
        }
    }
    let owner: Option<String> = tx
        .prepare_cached("SELECT merchant_id FROM charges WHERE id = ?1")?
        .query_row([&new.id], |r| r.get(0))
        .optional()?;
    match owner {
        Some(m) if m == new.merchant_id => return Ok((charge_by_id(tx, &new.id)?, false)),
        Some(_) => {
            return Err(rejected(
                ErrorCode::InvalidField,
                "charge id is already taken",
            ))
        }
        None => {}
    }
    if let Some(acc) = &req.account_id {
        let closed: Option<bool> = tx
            .prepare_cached("SELECT closed FROM accounts WHERE merchant_id = ?1 AND id = ?2")?
            .query_row(params![new.merchant_id, acc], |r| r.get(0))
            .optional()?;
        match closed {
            None => {
                return Err(rejected(
                    ErrorCode::NotFound,
                    "account_id: account not found",
                ))
            }
            Some(true) => return Err(rejected(ErrorCode::AccountClosed, "account is closed")),
            Some(false) => {}
        }
    }
    let payer = req.payer_phone.digits();
    let number: Option<String> = tx
                .prepare_cached(
                    "SELECT v.number FROM virtual_numbers v WHERE v.merchant_id = ?1 AND NOT EXISTS (
                        SELECT 1 FROM charges c WHERE c.bound = 1 AND c.virtual_number = v.number AND c.payer_phone = ?2)
                     ORDER BY v.position LIMIT 1",
                )?
                .query_row(
                    params![new.merchant_id, payer],
                    |r| r.get(0),
                )
                .optional()?;
    let Some(number) = number else {
        return Err(rejected(
                    ErrorCode::NumberPoolExhausted,
                    "every virtual number is already in use for this payer phone; wait for a pending charge to end",
                ));
    };
    let (orderer_name, orderer_phone) = match &req.orderer {
        Some((n, p)) => (Some(n.as_str()), Some(p.digits())),
        None => (None, None),
    };
    tx.prepare_cached(
                "INSERT INTO charges (id, merchant_id, rep_id, api_key_id, origin, kind, status, amount, goods_name, payer_phone,
                    payer_name, orderer_name, orderer_phone, order_ref, account_id, installments, virtual_number, bound,
                    created_at, expires_at, idempotency_key, request_hash, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'requested', ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 1, ?17, ?18, ?19, ?20, ?17)",
            )?
            .execute(params![
                    new.id, new.merchant_id, new.rep_id, new.api_key_id, new.origin.as_str(), req.kind.as_str(), req.amount.get(),
                    req.goods_name, payer, req.payer_name, orderer_name, orderer_phone, req.order_ref, req.account_id,
                    req.installments, number, now, ts(new.expires_at), new.idempotency_key, new.request_hash
                ])?;
    add_event(tx, &new.id, ChargeStatus::Requested, None, now)?;
    changed(tx, &new.merchant_id, "charge", &new.id)?;
    let rec = charge_by_id(tx, &new.id)?;
    apply_effects(tx, &new.merchant_id, Some(&new.id), &compose(&rec), now)?;
    Ok((rec, true))
}

/// Marks one text sent (or its attempt failed); a sent bill moves its charge to sms_sent (if
/// it is still at requested). Returns the charge of a sent bill.
fn mark_one_sms(
    tx: &Transaction<'_>,
    id: i64,
    sent: bool,
    now: &str,
) -> StoreResult<Option<ChargeRecord>> {
    if !sent {
        tx.prepare_cached(
            "UPDATE sms_messages SET attempts = attempts + 1, status = CASE WHEN attempts + 1 >= 10 THEN 'failed' ELSE status END WHERE id = ?1",
        )?
        .execute([id])?;
        return Ok(None);
    }
    tx.prepare_cached(
        "UPDATE sms_messages SET status = 'sent', attempts = attempts + 1, sent_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    let charge: Option<(String, String)> = tx
        .prepare_cached(
            "SELECT c.id, c.status FROM sms_messages s JOIN charges c ON c.id = s.charge_id WHERE s.id = ?1 AND s.kind = 'bill'",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match charge {
        Some((cid, status)) if status == "requested" => Ok(Some(transition(
            tx,
            &cid,
            ChargeStatus::SmsSent,
            None,
            now,
            &|_| Effects::default(),
        )?)),
        Some((cid, _)) => Ok(Some(charge_by_id(tx, &cid)?)),
        None => Ok(None),
    }
}

fn sum_balance(c: &Connection, account_id: &str) -> StoreResult<i64> {
    Ok(c.query_row(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE account_id = ?1",
        [account_id],
        |r| r.get(0),
    )?)
}

fn insert_ledger(tx: &Transaction<'_>, merchant_id: &str, e: &NewLedger) -> StoreResult<String> {
    let id = new_id("le");
    tx.execute(
        "INSERT INTO ledger (id, merchant_id, account_id, kind, amount, ref_id, memo, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            merchant_id,
            e.account_id,
            e.kind.as_str(),
            e.amount,
            e.ref_id,
            e.memo,
            ts(e.at)
        ],
    )?;
    changed(tx, merchant_id, "ledger", &id)?;
    Ok(id)
}

fn next_counter(tx: &Transaction<'_>, name: &str) -> StoreResult<i64> {
    tx.execute(
        "INSERT INTO counters (name, value) VALUES (?1, 1)
         ON CONFLICT (name) DO UPDATE SET value = value + 1",
        [name],
    )?;
    Ok(
        tx.query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
            r.get(0)
        })?,
    )
}

fn account_exists(c: &Connection, merchant_id: &str, account_id: &str) -> StoreResult<bool> {
    Ok(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE merchant_id = ?1 AND id = ?2)",
        params![merchant_id, account_id],
        |r| r.get(0),
    )?)
}

fn settlement_rows(
    c: &Connection,
    merchant_id: &str,
    key_sql: &str,
    name_sql: &str,
    from: &str,
    to: &str,
) -> StoreResult<Vec<SettlementRow>> {
    let sql = format!(
        "SELECT key, MAX(name), SUM(ac), SUM(aa), SUM(rc), SUM(ra) FROM (
            SELECT {key_sql} AS key, {name_sql} AS name, 1 AS ac, p.amount AS aa, 0 AS rc, 0 AS ra
              FROM payments p WHERE p.merchant_id = ?1 AND p.approved_at >= ?2 AND p.approved_at < ?3
            UNION ALL
            SELECT {key_sql}, {name_sql}, 0, 0, 1, p.amount
              FROM payments p WHERE p.merchant_id = ?1 AND p.refunded_at >= ?2 AND p.refunded_at < ?3
         ) GROUP BY key ORDER BY key"
    );
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt
        .query_map(params![merchant_id, from, to], |r| {
            let aa: i64 = r.get(3)?;
            let ra: i64 = r.get(5)?;
            Ok(SettlementRow {
                key: r.get(0)?,
                name: r.get(1)?,
                approved_count: r.get::<_, i64>(2)? as u64,
                approved_amount: aa,
                refunded_count: r.get::<_, i64>(4)? as u64,
                refunded_amount: ra,
                net_amount: aa - ra,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn price_lines(
    tx: &Transaction<'_>,
    merchant_id: &str,
    draft: &OrderDraft,
) -> StoreResult<Vec<OrderLine>> {
    if draft.lines.is_empty() {
        return Err(rejected(
            ErrorCode::InvalidField,
            "lines: an order needs at least one line",
        ));
    }
    if draft.lines.len() > 500 {
        return Err(rejected(
            ErrorCode::InvalidField,
            "lines: at most 500 lines",
        ));
    }
    let mut out = Vec::with_capacity(draft.lines.len());
    for (i, l) in draft.lines.iter().enumerate() {
        if !(1..=100_000).contains(&l.quantity) {
            return Err(rejected(
                ErrorCode::InvalidField,
                format!("lines[{i}].quantity: must be between 1 and 100000"),
            ));
        }
        let product = tx
            .query_row(
                &format!("SELECT {PRODUCT_COLS} FROM products WHERE merchant_id = ?1 AND id = ?2"),
                params![merchant_id, l.product_id],
                product_from_row,
            )
            .optional()?
            .ok_or_else(|| {
                rejected(
                    ErrorCode::InvalidField,
                    format!("lines[{i}].product_id: no such product"),
                )
            })?;
        if !product.active {
            return Err(rejected(
                ErrorCode::InvalidField,
                format!("lines[{i}]: product {} is no longer sold", product.code),
            ));
        }
        let unit_price = match l.unit_price {
            Some(p) if (0..=fieldpay_protocol::money::MAX_AMOUNT_KRW).contains(&p) => p,
            Some(_) => {
                return Err(rejected(ErrorCode::InvalidAmount, format!("lines[{i}].unit_price: out of range")))
            }
            None => tx
                .query_row(
                    "SELECT unit_price FROM account_prices WHERE account_id = ?1 AND product_id = ?2",
                    params![draft.account_id, product.id],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(product.unit_price),
        };
        out.push(OrderLine {
            product_id: product.id,
            product_code: product.code,
            product_name: product.name,
            quantity: l.quantity,
            unit_price,
            line_total: l.quantity * unit_price,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------- the trait

impl Store for SqliteStore {
    fn create_merchant(
        &self,
        code: &str,
        name: &str,
        settings: &MerchantSettings,
    ) -> StoreResult<Merchant> {
        let id = new_id("m");
        let json = serde_json::to_string(settings).map_err(|e| corrupt(&e.to_string()))?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO merchants (id, code, name, settings, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, code, name, json, ts(Utc::now())],
            )?;
            for (i, n) in settings.number_pool.iter().enumerate() {
                tx.execute(
                    "INSERT INTO virtual_numbers (number, merchant_id, position) VALUES (?1, ?2, ?3)",
                    params![n, id, i as i64],
                )?;
            }
            Ok(())
        })?;
        Ok(Merchant {
            id,
            code: code.into(),
            name: name.into(),
            settings: settings.clone(),
        })
    }

    fn update_merchant_settings(
        &self,
        merchant_id: &str,
        settings: &MerchantSettings,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(settings).map_err(|e| corrupt(&e.to_string()))?;
        self.write(|tx| {
            tx.execute("UPDATE merchants SET settings = ?2 WHERE id = ?1", params![merchant_id, json])?;
            tx.execute("DELETE FROM virtual_numbers WHERE merchant_id = ?1", [merchant_id])?;
            for (i, n) in settings.number_pool.iter().enumerate() {
                tx.execute(
                    "INSERT INTO virtual_numbers (number, merchant_id, position) VALUES (?1, ?2, ?3)",
                    params![n, merchant_id, i as i64],
                )?;
            }
            Ok(())
        })?;
        self.merchants.invalidate(|id, _| id == merchant_id);
        Ok(())
    }

    fn merchant(&self, merchant_id: &str) -> StoreResult<Option<Merchant>> {
        if let Some(m) = self.merchants.get(merchant_id) {
            return Ok(Some(m));
        }
        let generation = self.merchants.generation();
        let found = self.read(|c| {
            query_merchant(
                c,
                "SELECT id, code, name, settings FROM merchants WHERE id = ?1",
                merchant_id,
            )
        })?;
        if let Some(m) = &found {
            self.merchants.put(generation, merchant_id, m.clone());
        }
        Ok(found)
    }

    fn cached_merchant(&self, merchant_id: &str) -> Option<Merchant> {
        self.merchants.get(merchant_id)
    }

    fn merchant_by_code(&self, code: &str) -> StoreResult<Option<Merchant>> {
        self.read(|c| {
            query_merchant(
                c,
                "SELECT id, code, name, settings FROM merchants WHERE code = ?1",
                code,
            )
        })
    }

    fn merchant_by_number(&self, number: &str) -> StoreResult<Option<Merchant>> {
        self.read(|c| {
            query_merchant(
                c,
                "SELECT m.id, m.code, m.name, m.settings FROM merchants m
                 JOIN virtual_numbers v ON v.merchant_id = m.id WHERE v.number = ?1",
                number,
            )
        })
    }

    fn create_rep(
        &self,
        merchant_id: &str,
        login: &str,
        name: &str,
        password_hash: &str,
    ) -> StoreResult<String> {
        let id = new_id("rep");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO reps (id, merchant_id, login, name, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, merchant_id, login, name, password_hash, ts(Utc::now())],
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    fn rep_by_login(&self, merchant_id: &str, login: &str) -> StoreResult<Option<RepRecord>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {REP_COLS} FROM reps WHERE merchant_id = ?1 AND login = ?2"),
                params![merchant_id, login],
                rep_from_row,
            )
            .optional()?)
        })
    }

    fn rep(&self, rep_id: &str) -> StoreResult<Option<RepRecord>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {REP_COLS} FROM reps WHERE id = ?1"),
                [rep_id],
                rep_from_row,
            )
            .optional()?)
        })
    }

    fn create_api_key(
        &self,
        merchant_id: &str,
        key_hash: &str,
        prefix: &str,
    ) -> StoreResult<String> {
        let id = new_id("key");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO api_keys (id, merchant_id, key_hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, merchant_id, key_hash, prefix, ts(Utc::now())],
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    fn api_key(&self, key_hash: &str) -> StoreResult<Option<(String, String)>> {
        if let Some(k) = self.api_keys.get(key_hash) {
            return Ok(Some(k));
        }
        let generation = self.api_keys.generation();
        let found: Option<(String, String)> = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT id, merchant_id FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([key_hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
        })?;
        // Only live keys are kept: unknown keys (guesses) must not fill the memory.
        if let Some(k) = &found {
            self.api_keys.put(generation, key_hash, k.clone());
        }
        Ok(found)
    }

    fn cached_api_key(&self, key_hash: &str) -> Option<(String, String)> {
        self.api_keys.get(key_hash)
    }

    fn revoke_api_key(&self, merchant_id: &str, key_id: &str) -> StoreResult<bool> {
        let revoked = self.write(|tx| {
            Ok(tx.execute(
                "UPDATE api_keys SET revoked_at = ?3 WHERE id = ?1 AND merchant_id = ?2 AND revoked_at IS NULL",
                params![key_id, merchant_id, ts(Utc::now())],
            )? > 0)
        })?;
        self.api_keys.invalidate(|_, (id, _)| id == key_id);
        Ok(revoked)
    }

    fn insert_token(
        &self,
        token_hash: &str,
        kind: &str,
        rep: &RepRecord,
        device: Option<&str>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO tokens (token_hash, kind, rep_id, merchant_id, device, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![token_hash, kind, rep.id, rep.merchant_id, device, ts(expires_at), ts(Utc::now())],
            )?;
            Ok(())
        })
    }

    fn token(
        &self,
        token_hash: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RepRecord>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT {} FROM tokens t JOIN reps r ON r.id = t.rep_id
                     WHERE t.token_hash = ?1 AND t.kind = ?2 AND t.revoked = 0 AND t.expires_at > ?3 AND r.active = 1",
                    REP_COLS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ")
                ),
                params![token_hash, kind, ts(now)],
                rep_from_row,
            )
            .optional()?)
        })
    }

    fn rotate_refresh(
        &self,
        old_hash: &str,
        new_hash: &str,
        rep: &RepRecord,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE tokens SET revoked = 1 WHERE token_hash = ?1 AND kind = 'refresh' AND revoked = 0",
                [old_hash],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO tokens (token_hash, kind, rep_id, merchant_id, device, expires_at, created_at)
                 VALUES (?1, 'refresh', ?2, ?3, NULL, ?4, ?5)",
                params![new_hash, rep.id, rep.merchant_id, ts(expires_at), ts(Utc::now())],
            )?;
            Ok(true)
        })
    }

    fn upsert_accounts(&self, merchant_id: &str, rows: &[NewAccount]) -> StoreResult<usize> {
        let now = ts(Utc::now());
        self.write(|tx| {
            for a in rows {
                let rep_id: Option<String> = match &a.rep_login {
                    None => None,
                    Some(login) => Some(
                        tx.query_row(
                            "SELECT id FROM reps WHERE merchant_id = ?1 AND login = ?2",
                            params![merchant_id, login],
                            |r| r.get(0),
                        )
                        .optional()?
                        .ok_or_else(|| rejected(ErrorCode::InvalidField, format!("rep {login} does not exist")))?,
                    ),
                };
                let existing: Option<String> = tx
                    .query_row(
                        "SELECT id FROM accounts WHERE merchant_id = ?1 AND code = ?2",
                        params![merchant_id, a.code],
                        |r| r.get(0),
                    )
                    .optional()?;
                let id = existing.unwrap_or_else(|| new_id("acc"));
                tx.execute(
                    "INSERT INTO accounts (id, merchant_id, code, name, owner_name, business_number, phone, address, credit_limit, rep_id, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, owner_name = excluded.owner_name,
                        business_number = excluded.business_number, phone = excluded.phone, address = excluded.address,
                        credit_limit = excluded.credit_limit, rep_id = excluded.rep_id, updated_at = excluded.updated_at",
                    params![id, merchant_id, a.code, a.name, a.owner_name, a.business_number, a.phone, a.address, a.credit_limit, rep_id, now],
                )?;
                changed(tx, merchant_id, "account", &id)?;
            }
            Ok(rows.len())
        })
    }

    fn upsert_products(&self, merchant_id: &str, rows: &[NewProduct]) -> StoreResult<usize> {
        let now = ts(Utc::now());
        self.write(|tx| {
            for p in rows {
                let existing: Option<String> = tx
                    .query_row(
                        "SELECT id FROM products WHERE merchant_id = ?1 AND code = ?2",
                        params![merchant_id, p.code],
                        |r| r.get(0),
                    )
                    .optional()?;
                let id = existing.unwrap_or_else(|| new_id("prd"));
                tx.execute(
                    "INSERT INTO products (id, merchant_id, code, name, unit_price, unit, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, unit_price = excluded.unit_price,
                        unit = excluded.unit, updated_at = excluded.updated_at",
                    params![id, merchant_id, p.code, p.name, p.unit_price, p.unit, now],
                )?;
                changed(tx, merchant_id, "product", &id)?;
            }
            Ok(rows.len())
        })
    }

    fn set_account_price(
        &self,
        merchant_id: &str,
        account_id: &str,
        product_id: &str,
        unit_price: i64,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO account_prices (merchant_id, account_id, product_id, unit_price) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account_id, product_id) DO UPDATE SET unit_price = excluded.unit_price",
                params![merchant_id, account_id, product_id, unit_price],
            )?;
            changed(tx, merchant_id, "account_price", &format!("{account_id}:{product_id}"))
        })
    }

    fn accounts(&self, merchant_id: &str) -> StoreResult<Vec<Account>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = ?1 ORDER BY code"
            ))?;
            let rows = stmt
                .query_map([merchant_id], account_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn account(&self, merchant_id: &str, account_id: &str) -> StoreResult<Option<Account>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = ?1 AND id = ?2"),
                params![merchant_id, account_id],
                account_from_row,
            )
            .optional()?)
        })
    }

    fn products(&self, merchant_id: &str) -> StoreResult<Vec<Product>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {PRODUCT_COLS} FROM products WHERE merchant_id = ?1 ORDER BY code"
            ))?;
            let rows = stmt
                .query_map([merchant_id], product_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn add_ledger(&self, merchant_id: &str, entry: &NewLedger) -> StoreResult<String> {
        self.write(|tx| {
            if !account_exists(tx, merchant_id, &entry.account_id)? {
                return Err(rejected(ErrorCode::NotFound, "account not found"));
            }
            insert_ledger(tx, merchant_id, entry)
        })
    }

    fn add_ledger_batch(&self, merchant_id: &str, entries: &[NewLedger]) -> StoreResult<usize> {
        self.write(|tx| {
            let mut known = std::collections::HashSet::new();
            let mut insert = tx.prepare_cached(
                "INSERT INTO ledger (id, merchant_id, account_id, kind, amount, ref_id, memo, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            // A new id has no earlier change row to replace (see `changed`).
            let mut change = tx.prepare_cached(
                "INSERT INTO changes (merchant_id, entity, entity_id) VALUES (?1, 'ledger', ?2)",
            )?;
            let mut exists = tx.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM accounts WHERE merchant_id = ?1 AND id = ?2)",
            )?;
            for e in entries {
                if !known.contains(e.account_id.as_str()) {
                    if !exists.query_row(params![merchant_id, e.account_id], |r| r.get(0))? {
                        return Err(rejected(
                            ErrorCode::NotFound,
                            format!("account {} not found", e.account_id),
                        ));
                    }
                    known.insert(e.account_id.as_str());
                }
                let id = new_id("le");
                insert.execute(params![
                    id,
                    merchant_id,
                    e.account_id,
                    e.kind.as_str(),
                    e.amount,
                    e.ref_id,
                    e.memo,
                    ts(e.at)
                ])?;
                change.execute(params![merchant_id, id])?;
            }
            Ok(entries.len())
        })
    }

    fn balance(&self, merchant_id: &str, account_id: &str) -> StoreResult<i64> {
        self.read(|c| {
            if !account_exists(c, merchant_id, account_id)? {
                return Err(rejected(ErrorCode::NotFound, "account not found"));
            }
            sum_balance(c, account_id)
        })
    }

    fn upsert_order(
        &self,
        merchant_id: &str,
        rep_id: Option<&str>,
        draft: &OrderDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Order> {
        let now = ts(now);
        self.write(|tx| {
            if !account_exists(tx, merchant_id, &draft.account_id)? {
                return Err(rejected(ErrorCode::NotFound, "account not found"));
            }
            let existing: Option<(String, String)> = tx
                .query_row("SELECT merchant_id, status FROM orders WHERE id = ?1", [&draft.order_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            match existing.as_ref().map(|(m, s)| (m.as_str(), s.as_str())) {
                Some((m, _)) if m != merchant_id => return Err(rejected(ErrorCode::InvalidField, "order_id is already taken")),
                Some((_, "draft")) | Some((_, "signed")) | Some((_, "rejected")) | None => {}
                Some((_, s)) => return Err(rejected(ErrorCode::InvalidState, format!("order is {s} and can no longer change"))),
            }
            let lines = price_lines(tx, merchant_id, draft)?;
            let supply: i64 = lines.iter().map(|l| l.line_total).sum();
            let totals = OrderTotals::from_supply(supply);
            if totals.total > fieldpay_protocol::money::MAX_AMOUNT_KRW {
                return Err(rejected(ErrorCode::InvalidAmount, "order total is over 100,000,000 won"));
            }
            let lines_json = serde_json::to_string(&lines).map_err(|e| corrupt(&e.to_string()))?;
            tx.execute(
                "INSERT INTO orders (id, merchant_id, account_id, rep_id, status, lines, supply, vat, total, memo, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'draft', ?5, ?6, ?7, ?8, ?9, ?10, ?10)
                 ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, status = 'draft', lines = excluded.lines,
                    supply = excluded.supply, vat = excluded.vat, total = excluded.total, memo = excluded.memo,
                    signature = NULL, signature_png = NULL, pdf = NULL, evidence_hash = NULL, reject_reason = NULL,
                    updated_at = excluded.updated_at",
                params![draft.order_id, merchant_id, draft.account_id, rep_id, lines_json, totals.supply, totals.vat, totals.total, draft.memo, now],
            )?;
            changed(tx, merchant_id, "order", &draft.order_id)?;
            load_order(tx, merchant_id, &draft.order_id)?.ok_or_else(|| corrupt("order vanished"))
        })
    }

    fn sign_order(
        &self,
        merchant_id: &str,
        order_id: &str,
        evidence: &SignatureEvidence,
        png: &[u8],
        pdf: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> StoreResult<Order> {
        let now = ts(now);
        self.write(|tx| {
            let order = load_order(tx, merchant_id, order_id)?.ok_or_else(|| rejected(ErrorCode::NotFound, "order not found"))?;
            match order.status {
                OrderStatus::Draft | OrderStatus::Signed | OrderStatus::Rejected => {}
                s => return Err(rejected(ErrorCode::InvalidState, format!("order is {} and cannot be signed again", s.as_str()))),
            }
            let ev = serde_json::to_string(evidence).map_err(|e| corrupt(&e.to_string()))?;
            tx.execute(
                "UPDATE orders SET status = 'signed', signature = ?3, signature_png = ?4, pdf = ?5, evidence_hash = ?6,
                    reject_reason = NULL, updated_at = ?7 WHERE merchant_id = ?1 AND id = ?2",
                params![merchant_id, order_id, ev, png, pdf, evidence.content_hash, now],
            )?;
            changed(tx, merchant_id, "order", order_id)?;
            load_order(tx, merchant_id, order_id)?.ok_or_else(|| corrupt("order vanished"))
        })
    }

    fn submit_order(
        &self,
        merchant_id: &str,
        order_id: &str,
        now_t: DateTime<Utc>,
    ) -> StoreResult<Order> {
        let now = ts(now_t);
        let merchant = self
            .merchant(merchant_id)?
            .ok_or_else(|| rejected(ErrorCode::NotFound, "merchant not found"))?;
        // The rejection is stored (so the device sees it after a pull) and also returned.
        let outcome = self.write(|tx| {
            let order = load_order(tx, merchant_id, order_id)?.ok_or_else(|| rejected(ErrorCode::NotFound, "order not found"))?;
            match order.status {
                OrderStatus::Registered => return Ok(Ok(order)),
                OrderStatus::Canceled => return Err(rejected(ErrorCode::InvalidState, "order is canceled")),
                _ => {}
            }
            let account = tx
                .query_row(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = ?1 AND id = ?2"), params![merchant_id, order.account_id], account_from_row)
                .optional()?
                .ok_or_else(|| rejected(ErrorCode::NotFound, "account not found"))?;
            let refuse = |code: ErrorCode, msg: String| -> StoreResult<Result<Order, AppError>> {
                tx.execute(
                    "UPDATE orders SET status = 'rejected', reject_reason = ?3, updated_at = ?4 WHERE merchant_id = ?1 AND id = ?2",
                    params![merchant_id, order_id, msg, now],
                )?;
                changed(tx, merchant_id, "order", order_id)?;
                Ok(Err(AppError::new(code, msg)))
            };
            if account.closed {
                return refuse(ErrorCode::AccountClosed, format!("{} 거래처는 거래가 종료되었습니다 (account closed)", account.name));
            }
            let balance = sum_balance(tx, &account.id)?;
            let mut memo = String::new();
            if balance + order.totals.total > account.credit_limit {
                let msg = format!(
                    "여신 한도 초과: 미수금 {} + 주문 {} > 한도 {} (credit limit exceeded)",
                    fieldpay_protocol::money::format_krw(balance),
                    fieldpay_protocol::money::format_krw(order.totals.total),
                    fieldpay_protocol::money::format_krw(account.credit_limit)
                );
                match merchant.settings.credit_policy {
                    CreditPolicy::Block => return refuse(ErrorCode::CreditLimitExceeded, msg),
                    CreditPolicy::Warn => memo = msg,
                }
            }
            let day = now_t.with_timezone(&kst()).format("%Y%m%d").to_string();
            let n = next_counter(tx, &format!("order:{merchant_id}:{day}"))?;
            let number = format!("PO-{day}-{n:04}");
            tx.execute(
                "UPDATE orders SET status = 'registered', number = ?3, reject_reason = NULL, updated_at = ?4 WHERE merchant_id = ?1 AND id = ?2",
                params![merchant_id, order_id, number, now],
            )?;
            let memo = if memo.is_empty() { format!("주문 {number}") } else { format!("주문 {number} ({memo})") };
            insert_ledger(tx, merchant_id, &NewLedger { account_id: account.id.clone(), kind: LedgerKind::Order, amount: order.totals.total, ref_id: Some(order_id.into()), memo, at: now_t })?;
            changed(tx, merchant_id, "order", order_id)?;
            Ok(Ok(load_order(tx, merchant_id, order_id)?.ok_or_else(|| corrupt("order vanished"))?))
        })?;
        outcome.map_err(StoreError::Rejected)
    }

    fn order(&self, merchant_id: &str, order_id: &str) -> StoreResult<Option<Order>> {
        self.read(|c| load_order(c, merchant_id, order_id))
    }

    fn order_pdf(&self, merchant_id: &str, order_id: &str) -> StoreResult<Option<Vec<u8>>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT pdf FROM orders WHERE merchant_id = ?1 AND id = ?2",
                params![merchant_id, order_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
        })
    }

    fn create_charge(
        &self,
        new: &NewCharge,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<(ChargeRecord, bool)> {
        let now = ts(now);
        self.write(|tx| insert_charge(tx, new, &now, compose))
    }

    fn create_charges(
        &self,
        batch: &[NewCharge],
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<Vec<StoreResult<(ChargeRecord, bool)>>> {
        let now = ts(now);
        self.write(|tx| {
            let mut out = Vec::with_capacity(batch.len());
            for new in batch {
                // Each charge in its own savepoint: one that fails leaves no trace and does not
                // disturb the others; all of them commit (and are answered) together.
                tx.execute_batch("SAVEPOINT one_charge")?;
                match insert_charge(tx, new, &now, compose) {
                    Ok(done) => {
                        tx.execute_batch("RELEASE one_charge")?;
                        out.push(Ok(done));
                    }
                    Err(e) => {
                        if tx.is_autocommit() {
                            // SQLite rolled the whole transaction back (I/O error, disk full):
                            // nothing of the batch is kept, every request gets the error.
                            return Err(e);
                        }
                        tx.execute_batch("ROLLBACK TO one_charge; RELEASE one_charge")?;
                        out.push(Err(e));
                    }
                }
            }
            Ok(out)
        })
    }

    fn charge(&self, merchant_id: &str, charge_id: &str) -> StoreResult<Option<ChargeRecord>> {
        self.read(|c| {
            load_charge(
                c,
                "merchant_id = ?1 AND id = ?2",
                &[&merchant_id, &charge_id],
            )
        })
    }

    fn charge_any(&self, charge_id: &str) -> StoreResult<Option<ChargeRecord>> {
        self.read(|c| load_charge(c, "id = ?1", &[&charge_id]))
    }

    fn list_charges(&self, merchant_id: &str, f: &ChargeFilter) -> StoreResult<ChargeList> {
        let limit = f.limit.clamp(1, 200);
        self.read(|c| {
            let mut sql = format!("SELECT {CHARGE_COLS} FROM charges WHERE merchant_id = ?1");
            let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(merchant_id.to_string())];
            let mut add = |clause: &str, v: String| {
                args.push(Box::new(v));
                sql.push_str(&format!(" AND {clause} ?{}", args.len()));
            };
            if let Some(s) = f.status {
                add("status =", s.as_str().into());
            }
            if let Some(a) = &f.account_id {
                add("account_id =", a.clone());
            }
            if let Some(r) = &f.rep_id {
                add("rep_id =", r.clone());
            }
            if let Some(p) = &f.payer_phone {
                add("payer_phone =", p.clone());
            }
            if let Some(t) = &f.created_from {
                add("created_at >=", t.clone());
            }
            if let Some(t) = &f.created_to {
                add("created_at <", t.clone());
            }
            if let Some(a) = &f.after {
                add("id <", a.clone());
            }
            sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", limit + 1));
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map(
                    rusqlite::params_from_iter(args.iter().map(|b| b.as_ref())),
                    charge_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let more = rows.len() > limit as usize;
            let mut items = Vec::with_capacity(rows.len());
            for r in rows.into_iter().take(limit as usize) {
                items.push(build_charge(c, r)?.charge);
            }
            let next = if more {
                items.last().map(|c| c.id.clone())
            } else {
                None
            };
            Ok(ChargeList { items, next })
        })
    }

    fn charge_by_binding(
        &self,
        number: &str,
        caller: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ChargeRecord>> {
        self.read(|c| {
            load_charge(
                c,
                "bound = 1 AND virtual_number = ?1 AND payer_phone = ?2 AND expires_at > ?3",
                &[&number, &caller, &ts(now)],
            )
        })
    }

    fn record_status(
        &self,
        charge_id: &str,
        status: ChargeStatus,
        detail: Option<&str>,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord> {
        let now = ts(now);
        self.write(|tx| {
            let rec = charge_by_id(tx, charge_id)?;
            if !rec.bound || !rec.charge.status.is_pending() {
                return Err(rejected(
                    ErrorCode::InvalidState,
                    format!("charge is {}", rec.charge.status),
                ));
            }
            if matches!(status, ChargeStatus::Declined) {
                tx.execute(
                    "UPDATE charges SET decline_reason = ?2 WHERE id = ?1",
                    params![charge_id, detail],
                )?;
            }
            transition(tx, charge_id, status, detail, &now, compose)
        })
    }

    fn cancel_charge(
        &self,
        merchant_id: &str,
        charge_id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord> {
        let now = ts(now);
        self.write(|tx| {
            let rec = load_charge(
                tx,
                "merchant_id = ?1 AND id = ?2",
                &[&merchant_id, &charge_id],
            )?
            .ok_or_else(|| rejected(ErrorCode::NotFound, "charge not found"))?;
            if rec.charge.status == ChargeStatus::Canceled {
                return Ok(rec);
            }
            if !rec.bound || !rec.charge.status.is_pending() {
                return Err(rejected(
                    ErrorCode::InvalidState,
                    format!(
                        "a {} charge cannot be canceled; refund an approved one",
                        rec.charge.status
                    ),
                ));
            }
            if rec.approving {
                return Err(rejected(
                    ErrorCode::InvalidState,
                    "the payer is paying right now; try again in a minute",
                ));
            }
            tx.execute("UPDATE charges SET bound = 0 WHERE id = ?1", [charge_id])?;
            transition(tx, charge_id, ChargeStatus::Canceled, reason, &now, compose)
        })
    }

    fn begin_approval(&self, charge_id: &str, now: DateTime<Utc>) -> StoreResult<ChargeRecord> {
        let now = ts(now);
        self.write(|tx| {
            let rec = charge_by_id(tx, charge_id)?;
            if rec.charge.status == ChargeStatus::Approved || rec.charge.payment.is_some() {
                return Err(rejected(ErrorCode::InvalidState, "charge is already paid"));
            }
            if !rec.bound || !rec.charge.status.is_pending() {
                return Err(rejected(
                    ErrorCode::InvalidState,
                    format!("charge is {}", rec.charge.status),
                ));
            }
            if rec.approving {
                return Err(rejected(
                    ErrorCode::InvalidState,
                    "another approval of this charge is in progress",
                ));
            }
            tx.execute(
                "UPDATE charges SET approving = 1 WHERE id = ?1",
                [charge_id],
            )?;
            transition(
                tx,
                charge_id,
                ChargeStatus::CardEntered,
                None,
                &now,
                &|_| Effects::default(),
            )
        })
    }

    fn record_approval(
        &self,
        charge_id: &str,
        p: &NewPayment,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord> {
        let now_s = ts(now);
        self.write(|tx| {
            let rec = charge_by_id(tx, charge_id)?;
            if rec.charge.payment.is_some() {
                return Ok(rec);
            }
            tx.execute(
                "INSERT INTO payments (charge_id, merchant_id, rep_id, connector, approval_number, issuer_code, issuer_name,
                    acquirer_code, masked_card, installment_months, amount, approved_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    charge_id, rec.merchant_id, rec.charge.rep_id, p.connector, p.approval_number, p.issuer_code, p.issuer_name,
                    p.acquirer_code, p.masked_card, p.installment_months, p.amount, ts(p.approved_at)
                ],
            )?;
            tx.execute(
                "UPDATE charges SET approving = 0, bound = 0, receipt_token = ?2, decline_reason = NULL WHERE id = ?1",
                params![charge_id, p.receipt_token],
            )?;
            if let Some(acc) = &rec.charge.account_id {
                if account_exists(tx, &rec.merchant_id, acc)? {
                    let memo = format!("ARS 카드 결제 승인 {}", p.approval_number);
                    insert_ledger(tx, &rec.merchant_id, &NewLedger { account_id: acc.clone(), kind: LedgerKind::Payment, amount: -p.amount, ref_id: Some(charge_id.into()), memo, at: now })?;
                }
            }
            transition(tx, charge_id, ChargeStatus::Approved, Some(&p.approval_number), &now_s, compose)
        })
    }

    fn end_approval(
        &self,
        charge_id: &str,
        declined: Option<&str>,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord> {
        let now = ts(now);
        self.write(|tx| {
            let rec = charge_by_id(tx, charge_id)?;
            tx.execute(
                "UPDATE charges SET approving = 0 WHERE id = ?1",
                [charge_id],
            )?;
            if rec.charge.payment.is_some() || !rec.charge.status.is_pending() {
                return charge_by_id(tx, charge_id);
            }
            match declined {
                Some(reason) => {
                    tx.execute(
                        "UPDATE charges SET decline_reason = ?2 WHERE id = ?1",
                        params![charge_id, reason],
                    )?;
                    transition(
                        tx,
                        charge_id,
                        ChargeStatus::Declined,
                        Some(reason),
                        &now,
                        compose,
                    )
                }
                None => {
                    // Nothing was charged: back to waiting for the payer (the last pre-card step).
                    transition(
                        tx,
                        charge_id,
                        ChargeStatus::Verified,
                        Some("approval_failed"),
                        &now,
                        compose,
                    )
                }
            }
        })
    }

    fn approvals_in_flight(&self, before: Option<DateTime<Utc>>) -> StoreResult<Vec<ChargeRecord>> {
        let before = before.map(ts).unwrap_or_else(|| "9999".into());
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {CHARGE_COLS} FROM charges WHERE approving = 1 AND updated_at < ?1"
            ))?;
            let rows = stmt
                .query_map([before], charge_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(|r| build_charge(c, r)).collect()
        })
    }

    fn begin_refund(&self, merchant_id: &str, charge_id: &str) -> StoreResult<ChargeRecord> {
        self.read(|c| {
            let rec = load_charge(
                c,
                "merchant_id = ?1 AND id = ?2",
                &[&merchant_id, &charge_id],
            )?
            .ok_or_else(|| rejected(ErrorCode::NotFound, "charge not found"))?;
            match rec.charge.status {
                ChargeStatus::Approved | ChargeStatus::Refunded => Ok(rec),
                s => Err(rejected(
                    ErrorCode::InvalidState,
                    format!("only an approved charge can be refunded; this one is {s}"),
                )),
            }
        })
    }

    fn record_refund(
        &self,
        charge_id: &str,
        reason: Option<&str>,
        now_t: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord> {
        let now = ts(now_t);
        self.write(|tx| {
            let rec = charge_by_id(tx, charge_id)?;
            if rec.charge.status == ChargeStatus::Refunded {
                return Ok(rec);
            }
            let Some(payment) = &rec.charge.payment else {
                return Err(rejected(ErrorCode::InvalidState, "charge has no payment"));
            };
            tx.execute(
                "UPDATE payments SET refunded_at = ?2, refund_reason = ?3 WHERE charge_id = ?1",
                params![charge_id, now, reason],
            )?;
            if let Some(acc) = &rec.charge.account_id {
                if account_exists(tx, &rec.merchant_id, acc)? {
                    let memo = format!("ARS 카드 결제 취소 {}", payment.approval_number);
                    insert_ledger(
                        tx,
                        &rec.merchant_id,
                        &NewLedger {
                            account_id: acc.clone(),
                            kind: LedgerKind::Refund,
                            amount: payment.amount,
                            ref_id: Some(charge_id.into()),
                            memo,
                            at: now_t,
                        },
                    )?;
                }
            }
            transition(tx, charge_id, ChargeStatus::Refunded, reason, &now, compose)
        })
    }

    fn expire_due(
        &self,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<Vec<ChargeRecord>> {
        let now = ts(now);
        // Most passes find nothing: look on a reader first, without taking the writer.
        let due: bool = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM charges WHERE bound = 1 AND approving = 0 AND expires_at <= ?1)",
            )?
            .query_row([&now], |r| r.get(0))?)
        })?;
        if !due {
            return Ok(Vec::new());
        }
        self.write(|tx| {
            let ids: Vec<String> = {
                let mut stmt = tx.prepare("SELECT id FROM charges WHERE bound = 1 AND approving = 0 AND expires_at <= ?1 LIMIT 500")?;
                let rows = stmt.query_map([&now], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
                rows
            };
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                tx.execute("UPDATE charges SET bound = 0 WHERE id = ?1", [&id])?;
                out.push(transition(tx, &id, ChargeStatus::Expired, None, &now, compose)?);
            }
            Ok(out)
        })
    }

    fn payment(&self, charge_id: &str) -> StoreResult<Option<PaymentInfo>> {
        self.read(|c| Ok(payment_info(c, charge_id)?.map(|(p, _)| p)))
    }

    fn receipt(&self, token: &str) -> StoreResult<Option<ChargeRecord>> {
        self.read(|c| load_charge(c, "receipt_token = ?1", &[&token]))
    }

    fn save_registered_card(&self, merchant_id: &str, card: &RegisteredCard) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO registered_cards (id, merchant_id, payer_phone, token, issuer_code, issuer_name, last4, masked_card, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (merchant_id, payer_phone) DO UPDATE SET token = excluded.token, issuer_code = excluded.issuer_code,
                    issuer_name = excluded.issuer_name, last4 = excluded.last4, masked_card = excluded.masked_card",
                params![new_id("rc"), merchant_id, card.payer_phone, card.token, card.issuer_code, card.issuer_name, card.last4, card.masked_card, ts(Utc::now())],
            )?;
            Ok(())
        })
    }

    fn registered_card(
        &self,
        merchant_id: &str,
        payer_phone: &str,
    ) -> StoreResult<Option<RegisteredCard>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT payer_phone, token, issuer_code, issuer_name, last4, masked_card FROM registered_cards
                 WHERE merchant_id = ?1 AND payer_phone = ?2",
                params![merchant_id, payer_phone],
                |r| {
                    Ok(RegisteredCard {
                        payer_phone: r.get(0)?,
                        token: r.get(1)?,
                        issuer_code: r.get(2)?,
                        issuer_name: r.get(3)?,
                        last4: r.get(4)?,
                        masked_card: r.get(5)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn enqueue_sms(
        &self,
        merchant_id: &str,
        charge_id: Option<&str>,
        sms: &NewSms,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = ts(now);
        self.write(|tx| {
            let fx = Effects {
                sms: vec![sms.clone()],
                webhooks: Vec::new(),
            };
            apply_effects(tx, merchant_id, charge_id, &fx, &now)
        })
    }

    fn pending_sms(&self, limit: u32) -> StoreResult<Vec<SmsRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, merchant_id, to_phone, kind, body, charge_id, status, created_at FROM sms_messages
                 WHERE status = 'pending' ORDER BY id LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], sms_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn mark_sms(&self, id: i64, sent: bool, now: DateTime<Utc>) -> StoreResult<()> {
        self.mark_sms_batch(&[(id, sent)], now).map(|_| ())
    }

    fn mark_sms_batch(
        &self,
        marks: &[(i64, bool)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ChargeRecord>> {
        let now = ts(now);
        self.write(|tx| {
            let mut bills = Vec::new();
            for &(id, sent) in marks {
                if let Some(rec) = mark_one_sms(tx, id, sent, &now)? {
                    bills.push(rec);
                }
            }
            Ok(bills)
        })
    }

    fn sms_for_phone(&self, phone: &str, limit: u32) -> StoreResult<Vec<SmsRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, merchant_id, to_phone, kind, body, charge_id, status, created_at FROM sms_messages
                 WHERE to_phone = ?1 AND status = 'sent' ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![phone, limit], sms_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn save_call(&self, call: &CallSessionRecord, now: DateTime<Utc>) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO call_sessions (call_id, adapter, merchant_id, charge_id, dialled, caller, checkpoint, trace, outcome, started_at, updated_at, ended_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (call_id) DO UPDATE SET merchant_id = excluded.merchant_id, charge_id = excluded.charge_id,
                    checkpoint = excluded.checkpoint, trace = excluded.trace, outcome = excluded.outcome,
                    updated_at = excluded.updated_at, ended_at = excluded.ended_at",
                params![
                    call.call_id, call.adapter, call.merchant_id, call.charge_id, call.dialled, call.caller, call.checkpoint,
                    call.trace, call.outcome, call.started_at, ts(now), call.ended_at
                ],
            )?;
            Ok(())
        })
    }

    fn call(&self, call_id: &str) -> StoreResult<Option<CallSessionRecord>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT call_id, adapter, merchant_id, charge_id, dialled, caller, checkpoint, trace, outcome, started_at, ended_at
                 FROM call_sessions WHERE call_id = ?1",
                [call_id],
                |r| {
                    Ok(CallSessionRecord {
                        call_id: r.get(0)?,
                        adapter: r.get(1)?,
                        merchant_id: r.get(2)?,
                        charge_id: r.get(3)?,
                        dialled: r.get(4)?,
                        caller: r.get(5)?,
                        checkpoint: r.get(6)?,
                        trace: r.get(7)?,
                        outcome: r.get(8)?,
                        started_at: r.get(9)?,
                        ended_at: r.get(10)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn due_webhooks(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<WebhookRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {WEBHOOK_COLS} FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?1
                 ORDER BY next_attempt_at LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![ts(now), limit], webhook_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn record_webhook_attempt(
        &self,
        id: &str,
        attempt: &WebhookAttempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = ts(now);
        self.write(|tx| {
            match attempt {
                WebhookAttempt::Delivered { status } => tx.execute(
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = ?2,
                        last_error = NULL, delivered_at = ?3 WHERE id = ?1",
                    params![id, status, now],
                )?,
                WebhookAttempt::Failed { status, error, retry_at } => tx.execute(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?2, last_error = ?3,
                        status = ?4, next_attempt_at = ?5 WHERE id = ?1",
                    params![
                        id,
                        status,
                        error,
                        if retry_at.is_some() { "pending" } else { "failed" },
                        retry_at.map(ts).unwrap_or(now)
                    ],
                )?,
            };
            Ok(())
        })
    }

    fn webhooks(&self, merchant_id: &str, limit: u32) -> StoreResult<Vec<WebhookRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {WEBHOOK_COLS} FROM webhook_deliveries WHERE merchant_id = ?1 ORDER BY created_at DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![merchant_id, limit], webhook_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn pull(&self, merchant_id: &str, cursor: i64, limit: u32) -> StoreResult<SyncPage> {
        let limit = limit.clamp(1, MAX_PULL_PAGE);
        self.read(|c| {
            // One read transaction: the page is a consistent snapshot.
            c.execute_batch("BEGIN")?;
            let result = pull_page(c, merchant_id, cursor, limit);
            c.execute_batch("COMMIT")?;
            result
        })
    }

    fn mutation_result(
        &self,
        merchant_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<MutationOutcome>> {
        self.read(|c| {
            let json: Option<String> = c
                .query_row(
                    "SELECT result FROM mutations WHERE merchant_id = ?1 AND client_id = ?2",
                    params![merchant_id, client_id],
                    |r| r.get(0),
                )
                .optional()?;
            json.map(|j| {
                serde_json::from_str(&j).map_err(|e| corrupt(&format!("mutation result: {e}")))
            })
            .transpose()
        })
    }

    fn mutation_results(
        &self,
        merchant_id: &str,
        client_ids: &[String],
    ) -> StoreResult<HashMap<String, MutationOutcome>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT result FROM mutations WHERE merchant_id = ?1 AND client_id = ?2",
            )?;
            let mut found = HashMap::new();
            for id in client_ids {
                let json: Option<String> = stmt
                    .query_row(params![merchant_id, id], |r| r.get(0))
                    .optional()?;
                if let Some(j) = json {
                    let o = serde_json::from_str(&j)
                        .map_err(|e| corrupt(&format!("mutation result: {e}")))?;
                    found.insert(id.clone(), o);
                }
            }
            Ok(found)
        })
    }

    fn save_mutation_results(
        &self,
        merchant_id: &str,
        rep_id: &str,
        results: &[(String, MutationOutcome)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MutationOutcome>> {
        let jsons = results
            .iter()
            .map(|(_, o)| serde_json::to_string(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt(&e.to_string()))?;
        let now = ts(now);
        self.write(|tx| {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO mutations (merchant_id, client_id, rep_id, result, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut kept = tx.prepare_cached(
                "SELECT result FROM mutations WHERE merchant_id = ?1 AND client_id = ?2",
            )?;
            let mut out = Vec::with_capacity(results.len());
            for ((client_id, outcome), json) in results.iter().zip(&jsons) {
                if insert.execute(params![merchant_id, client_id, rep_id, json, now])? > 0 {
                    out.push(outcome.clone());
                } else {
                    // Saved before (a concurrent retry): answer what was kept.
                    let first: String =
                        kept.query_row(params![merchant_id, client_id], |r| r.get(0))?;
                    out.push(
                        serde_json::from_str(&first)
                            .map_err(|e| corrupt(&format!("mutation result: {e}")))?,
                    );
                }
            }
            Ok(out)
        })
    }

    fn save_mutation_result(
        &self,
        merchant_id: &str,
        client_id: &str,
        rep_id: &str,
        outcome: &MutationOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(outcome).map_err(|e| corrupt(&e.to_string()))?;
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO mutations (merchant_id, client_id, rep_id, result, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![merchant_id, client_id, rep_id, json, ts(now)],
            )?;
            Ok(())
        })
    }

    fn settlement(&self, merchant_id: &str, date: NaiveDate) -> StoreResult<SettlementReport> {
        let start = kst()
            .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
            .single()
            .ok_or_else(|| corrupt("date"))?
            .with_timezone(&Utc);
        let end = start + chrono::Duration::days(1);
        let (from, to) = (ts(start), ts(end));
        self.read(|c| {
            let by_card_company =
                settlement_rows(c, merchant_id, "p.issuer_code", "p.issuer_name", &from, &to)?;
            let by_rep = settlement_rows(
                c,
                merchant_id,
                "COALESCE(p.rep_id, 'api')",
                "COALESCE((SELECT name FROM reps r WHERE r.id = p.rep_id), 'API')",
                &from,
                &to,
            )?;
            let mut total = SettlementRow {
                key: "total".into(),
                name: "합계".into(),
                ..Default::default()
            };
            for r in &by_card_company {
                total.approved_count += r.approved_count;
                total.approved_amount += r.approved_amount;
                total.refunded_count += r.refunded_count;
                total.refunded_amount += r.refunded_amount;
                total.net_amount += r.net_amount;
            }
            Ok(SettlementReport {
                date: date.format("%Y-%m-%d").to_string(),
                by_card_company,
                by_rep,
                total,
            })
        })
    }
}

const WEBHOOK_COLS: &str = "id, merchant_id, event_type, payload, url, status, attempts, next_attempt_at, last_status, last_error, created_at";

/// One pull page: the change rows after `cursor`, then the records of the page's accounts,
/// products and ledger entries each read with one join over the page's `seq` range (the bulk
/// of a first sync), and the few other entities one by one. Records deleted since their change
/// was logged are left out.
fn pull_page(c: &Connection, merchant_id: &str, cursor: i64, limit: u32) -> StoreResult<SyncPage> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, entity, entity_id FROM changes WHERE merchant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let mut rows = stmt
        .query_map(params![merchant_id, cursor, limit + 1], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let Some(last) = rows.last().map(|r| r.0) else {
        return Ok(SyncPage {
            changes: Vec::new(),
            cursor,
            has_more,
        });
    };
    let range = params![merchant_id, cursor, last];
    let mut changes: Vec<Change> = Vec::with_capacity(rows.len());
    let count = |entity: &str| rows.iter().filter(|(_, e, _)| e == entity).count();
    if count("account") > 0 {
        let mut st = c.prepare_cached(&format!(
            "SELECT c.seq, {} FROM changes c JOIN accounts a ON a.id = c.entity_id AND a.merchant_id = c.merchant_id
             WHERE c.merchant_id = ?1 AND c.seq > ?2 AND c.seq <= ?3 AND c.entity = 'account'",
            prefixed("a", ACCOUNT_COLS)
        ))?;
        let found = st.query_map(range, |r| {
            Ok(Change {
                seq: r.get(0)?,
                data: ChangeData::Account(account_from_row_at(r, 1)?),
            })
        })?;
        for ch in found {
            changes.push(ch?);
        }
    }
    if count("product") > 0 {
        let mut st = c.prepare_cached(&format!(
            "SELECT c.seq, {} FROM changes c JOIN products p ON p.id = c.entity_id AND p.merchant_id = c.merchant_id
             WHERE c.merchant_id = ?1 AND c.seq > ?2 AND c.seq <= ?3 AND c.entity = 'product'",
            prefixed("p", PRODUCT_COLS)
        ))?;
        let found = st.query_map(range, |r| {
            Ok(Change {
                seq: r.get(0)?,
                data: ChangeData::Product(product_from_row_at(r, 1)?),
            })
        })?;
        for ch in found {
            changes.push(ch?);
        }
    }
    if count("ledger") > 0 {
        let mut st = c.prepare_cached(
            "SELECT c.seq, l.id, l.account_id, l.kind, l.amount, l.ref_id, l.memo, l.at
             FROM changes c JOIN ledger l ON l.id = c.entity_id AND l.merchant_id = c.merchant_id
             WHERE c.merchant_id = ?1 AND c.seq > ?2 AND c.seq <= ?3 AND c.entity = 'ledger'",
        )?;
        let mut found = st.query(range)?;
        while let Some(r) = found.next()? {
            let kind: String = r.get(3)?;
            changes.push(Change {
                seq: r.get(0)?,
                data: ChangeData::Ledger(LedgerEntry {
                    id: r.get(1)?,
                    account_id: r.get(2)?,
                    kind: LedgerKind::parse(&kind).ok_or_else(|| corrupt("ledger kind"))?,
                    amount: r.get(4)?,
                    ref_id: r.get(5)?,
                    memo: r.get(6)?,
                    at: r.get(7)?,
                }),
            });
        }
    }
    for (seq, entity, id) in rows {
        let data = match entity.as_str() {
            "account" | "product" | "ledger" => continue,
            "account_price" => {
                let (acc, prd) = id
                    .split_once(':')
                    .ok_or_else(|| corrupt("account_price id"))?;
                c.prepare_cached(
                    "SELECT unit_price FROM account_prices WHERE merchant_id = ?1 AND account_id = ?2 AND product_id = ?3",
                )?
                .query_row(params![merchant_id, acc, prd], |r| r.get(0))
                .optional()?
                .map(|unit_price| ChangeData::AccountPrice(AccountPrice { account_id: acc.into(), product_id: prd.into(), unit_price }))
            }
            "order" => load_order(c, merchant_id, &id)?.map(ChangeData::Order),
            "charge" => load_charge(c, "merchant_id = ?1 AND id = ?2", &[&merchant_id, &id])?
                .map(|r| ChangeData::Charge(r.charge)),
            other => return Err(corrupt(&format!("change entity {other}"))),
        };
        if let Some(data) = data {
            changes.push(Change { seq, data });
        }
    }
    changes.sort_unstable_by_key(|ch| ch.seq);
    Ok(SyncPage {
        changes,
        cursor: last,
        has_more,
    })
}

fn prefixed(alias: &str, cols: &str) -> String {
    cols.split(", ")
        .map(|col| format!("{alias}.{col}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn webhook_from_row(r: &Row<'_>) -> rusqlite::Result<WebhookRecord> {
    Ok(WebhookRecord {
        id: r.get(0)?,
        merchant_id: r.get(1)?,
        event_type: r.get(2)?,
        payload: r.get(3)?,
        url: r.get(4)?,
        status: r.get(5)?,
        attempts: r.get(6)?,
        next_attempt_at: r.get(7)?,
        last_status: r.get(8)?,
        last_error: r.get(9)?,
        created_at: r.get(10)?,
    })
}

fn sms_from_row(r: &Row<'_>) -> rusqlite::Result<SmsRecord> {
    Ok(SmsRecord {
        id: r.get(0)?,
        merchant_id: r.get(1)?,
        to: r.get(2)?,
        kind: r.get(3)?,
        body: r.get(4)?,
        charge_id: r.get(5)?,
        status: r.get(6)?,
        created_at: r.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_batch_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let m = store
            .create_merchant("m", "상사", &MerchantSettings::default())
            .unwrap();
        let account = |code: &str| NewAccount {
            code: code.into(),
            name: "익수제약".into(),
            owner_name: "김민수".into(),
            business_number: "1234567891".into(),
            phone: "01012345678".into(),
            address: "서울".into(),
            credit_limit: 1_000_000,
            rep_login: None,
        };
        store
            .upsert_accounts(&m.id, &[account("A1"), account("A2")])
            .unwrap();
        let ids: Vec<String> = store
            .accounts(&m.id)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        let entry = |account_id: &str, amount: i64| NewLedger {
            account_id: account_id.into(),
            kind: LedgerKind::Adjustment,
            amount,
            ref_id: None,
            memo: "이월".into(),
            at: Utc::now(),
        };
        let batch = [
            entry(&ids[0], 1_000),
            entry(&ids[0], -300),
            entry(&ids[1], 50),
        ];
        assert_eq!(store.add_ledger_batch(&m.id, &batch).unwrap(), 3);
        assert_eq!(store.balance(&m.id, &ids[0]).unwrap(), 700);
        assert_eq!(store.balance(&m.id, &ids[1]).unwrap(), 50);
        let page = store.pull(&m.id, 0, 100).unwrap();
        let ledger = page
            .changes
            .iter()
            .filter(|c| matches!(c.data, ChangeData::Ledger(_)))
            .count();
        assert_eq!(ledger, 3);

        // One unknown account: nothing of the batch is written.
        let bad = [entry(&ids[1], 10), entry("acc_nope", 10)];
        assert!(matches!(
            store.add_ledger_batch(&m.id, &bad),
            Err(StoreError::Rejected(_))
        ));
        assert_eq!(store.balance(&m.id, &ids[1]).unwrap(), 50);
        assert_eq!(
            store.pull(&m.id, page.cursor, 100).unwrap().changes.len(),
            0
        );
    }

    fn charge_to(id: &str, merchant_id: &str, payer: &str, key: Option<&str>) -> NewCharge {
        let body: fieldpay_protocol::charge::CreateCharge = serde_json::from_value(
            serde_json::json!({ "amount": 12_000, "goods_name": "감기약", "payer_phone": payer }),
        )
        .unwrap();
        NewCharge {
            id: id.into(),
            merchant_id: merchant_id.into(),
            rep_id: None,
            api_key_id: None,
            origin: ChargeOrigin::Api,
            request: ChargeRequest::parse(&body).unwrap(),
            expires_at: Utc::now() + chrono::Duration::minutes(60),
            idempotency_key: key.map(str::to_string),
            request_hash: key.map(|_| "h1".to_string()),
        }
    }

    fn count(store: &SqliteStore, sql: &str) -> i64 {
        store
            .read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .unwrap()
    }

    #[test]
    fn group_commit_keeps_each_charge_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let settings = MerchantSettings {
            number_pool: vec!["16000001".into(), "16000002".into()],
            ..MerchantSettings::default()
        };
        let m = store.create_merchant("m", "상사", &settings).unwrap();
        let bill = |rec: &ChargeRecord| Effects {
            sms: vec![NewSms {
                to: rec.payer_phone.clone(),
                kind: "bill",
                body: format!("bill {}", rec.charge.id),
            }],
            webhooks: Vec::new(),
        };
        let mut on_account = charge_to("ch_bad_account", &m.id, "010-3000-0009", None);
        on_account.request.account_id = Some("acc_nope".into());
        let mut reused_key = charge_to("ch_conflict", &m.id, "010-3000-0008", Some("k1"));
        reused_key.request_hash = Some("h2".into());
        let batch = [
            charge_to("ch_a", &m.id, "010-3000-0001", Some("k1")),
            on_account,
            charge_to("ch_b", &m.id, "010-3000-0001", None),
            // The payer has both numbers now: refused, the others unaffected.
            charge_to("ch_c", &m.id, "010-3000-0001", None),
            // The same idempotency key and request: the first charge again.
            charge_to("ch_a_retry", &m.id, "010-3000-0001", Some("k1")),
            reused_key,
            // The same charge id: the first answer again.
            charge_to("ch_b", &m.id, "010-3000-0001", None),
            charge_to("ch_d", &m.id, "010-3000-0002", None),
        ];
        let out = store.create_charges(&batch, Utc::now(), &bill).unwrap();
        let code = |r: &StoreResult<(ChargeRecord, bool)>| match r {
            Err(StoreError::Rejected(e)) => Some(e.code),
            _ => None,
        };
        let created = |r: &StoreResult<(ChargeRecord, bool)>| {
            let (rec, new) = r.as_ref().unwrap();
            (rec.charge.id.clone(), *new)
        };
        assert_eq!(created(&out[0]), ("ch_a".into(), true));
        assert_eq!(code(&out[1]), Some(ErrorCode::NotFound));
        assert_eq!(created(&out[2]), ("ch_b".into(), true));
        assert_eq!(code(&out[3]), Some(ErrorCode::NumberPoolExhausted));
        assert_eq!(created(&out[4]), ("ch_a".into(), false));
        assert_eq!(code(&out[5]), Some(ErrorCode::IdempotencyConflict));
        assert_eq!(created(&out[6]), ("ch_b".into(), false));
        assert_eq!(created(&out[7]), ("ch_d".into(), true));
        let numbers: Vec<String> = [&out[0], &out[2]]
            .iter()
            .map(|r| r.as_ref().unwrap().0.virtual_number.clone())
            .collect();
        assert_ne!(numbers[0], numbers[1], "never two charges on one binding");

        // The refused ones left nothing: no charge, event, change, text.
        assert_eq!(count(&store, "SELECT COUNT(*) FROM charges"), 3);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM charge_events"), 3);
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM changes WHERE entity = 'charge'"
            ),
            3
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM sms_messages"), 3);

        // Marking the texts in one batch moves every charge to sms_sent.
        let ids: Vec<(i64, bool)> = store
            .pending_sms(10)
            .unwrap()
            .iter()
            .map(|s| (s.id, true))
            .collect();
        let bills = store.mark_sms_batch(&ids, Utc::now()).unwrap();
        assert_eq!(bills.len(), 3);
        assert!(bills
            .iter()
            .all(|b| b.charge.status == ChargeStatus::SmsSent));
        assert!(store.pending_sms(10).unwrap().is_empty());
    }

    #[test]
    fn a_revoked_api_key_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let m = store
            .create_merchant("m", "상사", &MerchantSettings::default())
            .unwrap();
        let other = store
            .create_merchant("o", "타사", &MerchantSettings::default())
            .unwrap();
        let key_id = store.create_api_key(&m.id, "hash-1", "fpk_abcd").unwrap();
        store.create_api_key(&m.id, "hash-2", "fpk_efgh").unwrap();
        assert_eq!(store.cached_api_key("hash-1"), None, "not read yet");
        let live = Some((key_id.clone(), m.id.clone()));
        assert_eq!(store.api_key("hash-1").unwrap(), live);
        assert_eq!(store.cached_api_key("hash-1"), live, "kept in memory");
        assert!(store.api_key("hash-2").unwrap().is_some());
        assert_eq!(store.api_key("hash-x").unwrap(), None);

        // Another merchant cannot revoke it.
        assert!(!store.revoke_api_key(&other.id, &key_id).unwrap());
        assert_eq!(store.api_key("hash-1").unwrap(), live);
        assert!(store.revoke_api_key(&m.id, &key_id).unwrap());
        assert_eq!(store.cached_api_key("hash-1"), None);
        assert_eq!(store.api_key("hash-1").unwrap(), None);
        assert!(
            store.api_key("hash-2").unwrap().is_some(),
            "the other key lives"
        );
        assert!(!store.revoke_api_key(&m.id, &key_id).unwrap(), "once");

        // A reader that looked the key up before the revocation committed does not put it
        // back into the cache afterwards.
        let generation = store.api_keys.generation();
        store.api_keys.invalidate(|_, _| false);
        store
            .api_keys
            .put(generation, "hash-1", (key_id.clone(), m.id.clone()));
        assert_eq!(store.cached_api_key("hash-1"), None);
    }

    #[test]
    fn merchant_settings_changes_are_seen_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let m = store
            .create_merchant("m", "상사", &MerchantSettings::default())
            .unwrap();
        assert_eq!(store.merchant(&m.id).unwrap().unwrap(), m);
        assert_eq!(store.cached_merchant(&m.id).unwrap(), m);
        let mut settings = m.settings.clone();
        settings.number_pool = vec!["16000009".into()];
        store.update_merchant_settings(&m.id, &settings).unwrap();
        assert_eq!(store.cached_merchant(&m.id), None);
        assert_eq!(store.merchant(&m.id).unwrap().unwrap().settings, settings);
    }
}
