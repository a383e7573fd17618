//! The local store: rusqlite (bundled SQLite, WAL) with versioned migrations. Every local
//! action is written with its outbox row in one transaction; every pulled page is applied in
//! one transaction (a reader never sees half a page).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use fieldpay_protocol::app::{
    ClientSort, LocalCharge, LocalCollection, LocalOrder, LocalVisit, SyncProblem, SyncState,
};
use fieldpay_protocol::charge::{Charge, ChargeStatus};
use fieldpay_protocol::collection::Collection;
use fieldpay_protocol::records::{Account, LedgerEntry, Order, OrderStatus, Product};
use fieldpay_protocol::sync::{
    device_keeps, ChangeData, MutationKind, MutationOutcome, MutationResult, SyncPage,
};
use fieldpay_protocol::visit::Visit;
use fieldpay_protocol::ApiError;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};

pub mod ledger;

/// A migration: its SQL, then (in the same transaction) code that moves data.
type Migration = (i64, &'static str, Option<fn(&Connection) -> CoreResult<()>>);

const MIGRATIONS: &[Migration] = &[
    (1, include_str!("0001_init.sql"), None),
    (
        2,
        include_str!("0002_compact_ledger.sql"),
        Some(ledger::migrate_v2),
    ),
    (3, include_str!("0003_memo_dictionary.sql"), None),
    (4, include_str!("0004_collections.sql"), None),
    (6, include_str!("0006_visits.sql"), None),
    (7, include_str!("0007_smaller_keys.sql"), None),
];

pub use fieldpay_protocol::time::ts;

/// One outbox item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub seq: i64,
    pub client_id: String,
    pub entity_id: String,
    pub op: MutationKind,
    pub attempts: u32,
    pub created_at: String,
}

/// The files of a signed order kept on the device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFiles {
    pub signature_png: Option<Vec<u8>>,
    pub pdf: Option<Vec<u8>>,
}

pub struct Db {
    conn: Mutex<Connection>,
    /// Background checkpoints of the write-ahead log (none for a database in memory).
    checkpointer: Option<Arc<Checkpointer>>,
    /// Between [`Db::begin_bulk_load`] and [`Db::end_bulk_load`].
    bulk: Mutex<Option<ledger::BulkLoad>>,
}

/// Copies the write-ahead log into the database file on a connection and a thread of its own
/// ([`Db::checkpoint_in_background`]), so that the fsyncs of a checkpoint are not paid inside
/// the write that happens to cross SQLite's automatic threshold (every third delta sync of a
/// 200k-account device paid 50-80 ms for it: BENCHMARKS.md, row 3).
struct Checkpointer {
    path: PathBuf,
    /// Opened on first use.
    conn: Mutex<Option<Connection>>,
    /// One checkpoint at a time.
    running: AtomicBool,
}

impl Checkpointer {
    /// A passive checkpoint: copies what no reader still needs and waits for no one.
    fn run(&self) -> CoreResult<()> {
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let c = Connection::open(&self.path)?;
            c.busy_timeout(std::time::Duration::from_secs(10))?;
            *slot = Some(c);
        }
        let c = slot.as_ref().expect("opened above");
        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }
}

fn state_str(s: SyncState) -> &'static str {
    match s {
        SyncState::Local => "local",
        SyncState::Queued => "queued",
        SyncState::Synced => "synced",
        SyncState::Rejected => "rejected",
    }
}

fn parse_state(s: &str) -> SyncState {
    match s {
        "local" => SyncState::Local,
        "queued" => SyncState::Queued,
        "rejected" => SyncState::Rejected,
        _ => SyncState::Synced,
    }
}

fn op_name(op: &MutationKind) -> &'static str {
    match op {
        MutationKind::UpsertOrder { .. } => "upsert_order",
        MutationKind::SignOrder { .. } => "sign_order",
        MutationKind::SubmitOrder { .. } => "submit_order",
        MutationKind::RequestCharge { .. } => "request_charge",
        MutationKind::CancelCharge { .. } => "cancel_charge",
        MutationKind::RecordCollection { .. } => "record_collection",
        MutationKind::CheckIn { .. } => "check_in",
        MutationKind::CheckOut { .. } => "check_out",
    }
}

/// An account from the columns `ACCOUNT_COLS` (ids and time packed: see [`put_account`]).
pub fn account_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: ledger::unpack_id_sql(r.get_ref(0)?)?,
        code: r.get(1)?,
        name: r.get(2)?,
        owner_name: r.get(3)?,
        business_number: r.get(4)?,
        phone: r.get(5)?,
        address: r.get(6)?,
        credit_limit: r.get(7)?,
        closed: r.get(8)?,
        rep_id: match r.get_ref(9)? {
            rusqlite::types::ValueRef::Null => None,
            v => Some(ledger::unpack_id_sql(v)?),
        },
        updated_at: ledger::unpack_time_blob(r.get_ref(10)?)?,
    })
}

/// Writes an account with its id and rep id packed ([`ledger::pack_id`]) and its time packed
/// ([`ledger::pack_time_blob`]): about 70 bytes less per account.
pub(crate) fn put_account(c: &Connection, a: &Account) -> CoreResult<()> {
    c.prepare_cached(&format!("INSERT OR REPLACE INTO accounts ({ACCOUNT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"))?
        .execute(params![
            ledger::pack_id(&a.id),
            a.code,
            a.name,
            a.owner_name,
            a.business_number,
            a.phone,
            a.address,
            a.credit_limit,
            a.closed,
            a.rep_id.as_deref().map(ledger::pack_id),
            ledger::pack_time_blob(&a.updated_at)
        ])?;
    Ok(())
}

/// The device's sync scope as [`Db::set_scope`] set it: `None` never set, `Some(None)` every
/// account, `Some(Some(rep))` that rep's and unassigned ones.
fn scope_of(c: &Connection) -> CoreResult<Option<Option<String>>> {
    let v: Option<String> = c
        .prepare_cached("SELECT value FROM sync_state WHERE key = 'scope'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(v.map(|v| (!v.is_empty()).then_some(v)))
}

/// Drops an account this device no longer keeps, with its prices and ledger (its balance
/// becomes 0); the rep's own orders, charges, collections and visits of it stay.
fn forget_account(c: &Connection, id: &str) -> CoreResult<()> {
    c.prepare_cached("DELETE FROM accounts WHERE id = ?1")?
        .execute([ledger::pack_id(id)])?;
    c.prepare_cached("DELETE FROM account_prices WHERE account_id = ?1")?
        .execute([id])?;
    ledger::forget(c, id)
}

pub const ACCOUNT_COLS: &str = "id, code, name, owner_name, business_number, phone, address, credit_limit, closed, rep_id, updated_at";

fn product_row(r: &Row<'_>) -> rusqlite::Result<Product> {
    Ok(Product {
        id: r.get(0)?,
        code: r.get(1)?,
        name: r.get(2)?,
        unit_price: r.get(3)?,
        unit: r.get(4)?,
        active: r.get(5)?,
        updated_at: r.get(6)?,
    })
}
const PRODUCT_COLS: &str = "id, code, name, unit_price, unit, active, updated_at";

/// The server's answer to one pushed item, inside `tx` (see [`Db::record_result`]).
fn record_one_result(
    tx: &Transaction<'_>,
    client_id: &str,
    outcome: &MutationOutcome,
    now: DateTime<Utc>,
) -> CoreResult<()> {
    let row: Option<(String, String)> = tx
        .query_row(
            "SELECT entity_id, op FROM outbox WHERE client_id = ?1 AND state = 'pending'",
            [client_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((entity_id, _op)) = row else {
        return Ok(()); // answered already
    };
    match outcome {
        MutationOutcome::Applied { .. } => {
            tx.execute(
                "UPDATE outbox SET state = 'done', updated_at = ?2 WHERE client_id = ?1",
                params![client_id, ts(now)],
            )?;
            apply_outcome(tx, outcome)?;
            tx.execute(
                "UPDATE visits SET sync_state = 'synced' WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM outbox WHERE entity_id = ?1 AND state IN ('pending', 'rejected'))",
                [&entity_id],
            )?;
        }
        MutationOutcome::Rejected { error } => {
            tx.execute(
                    "UPDATE outbox SET state = 'rejected', error_code = ?2, error_message = ?3, updated_at = ?4 WHERE client_id = ?1",
                    params![client_id, error.code.as_str(), error.message, ts(now)],
                )?;
            mark_rejected(tx, &entity_id, &error.message)?;
        }
    }
    // Items answered are removed once nothing else about the entity is outstanding.
    tx.execute("DELETE FROM outbox WHERE state = 'done' AND entity_id = ?1 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.entity_id = ?1 AND o.state != 'done')", [entity_id])?;
    Ok(())
}

fn has_pending(tx: &Connection, entity_id: &str) -> rusqlite::Result<bool> {
    tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE entity_id = ?1 AND state IN ('pending', 'rejected'))",
        [entity_id],
        |r| r.get(0),
    )
}

fn put_order(
    tx: &Connection,
    order: &Order,
    state: SyncState,
    png: Option<&[u8]>,
    pdf: Option<&[u8]>,
) -> CoreResult<()> {
    let data = serde_json::to_string(order)?;
    tx.execute(
        "INSERT INTO orders (id, account_id, status, total, data, signature_png, pdf, sync_state, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, status = excluded.status,
            total = excluded.total, data = excluded.data,
            signature_png = COALESCE(excluded.signature_png, orders.signature_png),
            pdf = COALESCE(excluded.pdf, orders.pdf),
            sync_state = excluded.sync_state, updated_at = excluded.updated_at",
        params![order.id, order.account_id, order.status.as_str(), order.totals.total, data, png, pdf, state_str(state), order.updated_at],
    )?;
    Ok(())
}

fn put_charge(tx: &Connection, c: &Charge, state: SyncState) -> CoreResult<()> {
    let data = serde_json::to_string(c)?;
    let updated = c
        .events
        .last()
        .map(|e| e.at.clone())
        .unwrap_or_else(|| c.created_at.clone());
    tx.execute(
        "INSERT INTO charges (id, account_id, status, amount, data, sync_state, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, status = excluded.status,
            amount = excluded.amount, data = excluded.data, sync_state = excluded.sync_state,
            updated_at = excluded.updated_at",
        params![
            c.id,
            c.account_id,
            c.status.as_str(),
            c.amount,
            data,
            state_str(state),
            updated
        ],
    )?;
    Ok(())
}

fn put_collection(tx: &Connection, c: &Collection, state: SyncState) -> CoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO collections (id, account_id, method, amount, voided, collected_at, data, sync_state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, method = excluded.method,
            amount = excluded.amount, voided = excluded.voided, collected_at = excluded.collected_at,
            data = excluded.data, sync_state = excluded.sync_state",
    )?
    .execute(params![
        c.id,
        c.account_id,
        c.method.as_str(),
        c.amount,
        c.voided.is_some(),
        c.collected_at,
        serde_json::to_string(c)?,
        state_str(state)
    ])?;
    Ok(())
}

fn collection_rows(rows: Vec<(String, String)>) -> CoreResult<Vec<LocalCollection>> {
    rows.into_iter()
        .map(|(d, s)| {
            Ok(LocalCollection {
                collection: serde_json::from_str(&d)?,
                sync_state: parse_state(&s),
            })
        })
        .collect()
}

/// Applies the server's answer to a pushed mutation to the local copy.
fn apply_outcome(tx: &Connection, outcome: &MutationOutcome) -> CoreResult<()> {
    if let MutationOutcome::Applied {
        order,
        charge,
        collection,
    } = outcome
    {
        if let Some(c) = collection {
            let state = if has_pending(tx, &c.id)? {
                SyncState::Queued
            } else {
                SyncState::Synced
            };
            put_collection(tx, c, state)?;
        }
        if let Some(o) = order {
            let state = if has_pending(tx, &o.id)? {
                SyncState::Queued
            } else {
                SyncState::Synced
            };
            put_order(tx, o, state, None, None)?;
        }
        if let Some(c) = charge {
            let state = if has_pending(tx, &c.id)? {
                SyncState::Queued
            } else {
                SyncState::Synced
            };
            put_charge(tx, c, state)?;
        }
    }
    Ok(())
}

/// SQLite's automatic checkpoint: 10,000 pages (40 MB of log).
const AUTOCHECKPOINT_PAGES: i64 = 10_000;

impl Db {
    pub fn open(path: &Path) -> CoreResult<Db> {
        let conn = Connection::open(path)?;
        let checkpointer = Checkpointer {
            path: path.to_path_buf(),
            conn: Mutex::new(None),
            running: AtomicBool::new(false),
        };
        Self::init(conn, Some(Arc::new(checkpointer)))
    }

    pub fn open_in_memory() -> CoreResult<Db> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(conn: Connection, checkpointer: Option<Arc<Checkpointer>>) -> CoreResult<Db> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 8 MB of page cache (SQLite's default is 2 MB). A first sync of 200k accounts is as
        // fast as with 32 MB (9.1-9.4 s either way: the ledger loads without its by-account
        // index and appends), and the cache is part of the app's memory at its peak, the
        // search index's build at the sync's end (32 MB: peak 185 MB; 8 MB: 159 MB).
        conn.pragma_update(None, "cache_size", -8192)?;
        // The log is copied into the database by a background checkpoint after each sync
        // (`checkpoint_in_background`); SQLite's own checkpoint, run inside a commit once the
        // log passes this many pages, is only the backstop. At its default (1,000 pages, 4 MB)
        // it ran inside every fourth delta sync of 100 changes (32-49 ms instead of 4-5 ms,
        // BENCHMARKS.md round two, part 7) whenever the background one had not yet let the
        // log start afresh.
        conn.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES)?;
        // A page's statements (accounts, products, prices, ledger, keys, memos, balances,
        // orders, charges, cursor) stay prepared from one page to the next (rusqlite keeps 16).
        conn.set_prepared_statement_cache_capacity(64);
        let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (v, sql, code) in MIGRATIONS {
            if *v > current {
                let run = || -> CoreResult<()> {
                    conn.execute_batch(&format!("BEGIN IMMEDIATE; {sql}"))?;
                    if let Some(code) = code {
                        code(&conn)?;
                    }
                    conn.execute_batch(&format!("PRAGMA user_version = {v}; COMMIT;"))?;
                    Ok(())
                };
                run().inspect_err(|_| {
                    let _ = conn.execute_batch("ROLLBACK");
                })?;
            }
        }
        // A first sync that stopped half-way left the ledger without its by-account index.
        ledger::ensure_indexes(&conn)?;
        Ok(Db {
            conn: Mutex::new(conn),
            checkpointer,
            bulk: Mutex::new(None),
        })
    }

    /// Starts a checkpoint of the write-ahead log on a thread of its own and returns at once
    /// (after a sync: the device is idle then, and the next write starts the log afresh instead
    /// of reaching SQLite's automatic checkpoint, which runs inside that write). Nothing when
    /// one is still running or the database is in memory; the handle is for tests. SQLite's
    /// automatic checkpoint stays as the backstop. A checkpoint cut off by a crash is redone
    /// by SQLite from the log at the next open: nothing is lost.
    pub fn checkpoint_in_background(&self) -> Option<std::thread::JoinHandle<()>> {
        let cp = self.checkpointer.as_ref()?;
        if cp.running.swap(true, Ordering::AcqRel) {
            return None;
        }
        let worker = cp.clone();
        let spawned = std::thread::Builder::new()
            .name("db-checkpoint".into())
            .spawn(move || {
                if let Err(e) = worker.run() {
                    tracing::warn!(error = %e, "background checkpoint failed");
                }
                worker.running.store(false, Ordering::Release);
            });
        match spawned {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start a background checkpoint");
                cp.running.store(false, Ordering::Release);
                None
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> CoreResult<T>) -> CoreResult<T> {
        let mut c = self.lock();
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> CoreResult<T>) -> CoreResult<T> {
        let c = self.lock();
        f(&c)
    }

    // ------------------------------------------------------------ sync state

    pub fn get_state(&self, key: &str) -> CoreResult<Option<String>> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }

    pub fn set_state(&self, key: &str, value: &str) -> CoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sync_state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    pub fn cursor(&self) -> CoreResult<i64> {
        Ok(self
            .get_state("cursor")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Sets which accounts this device keeps (the sync scope, see
    /// [`fieldpay_protocol::sync::device_keeps`]): `Some(rep)` for a plain rep's device,
    /// `None` for a manager's. Narrowed (a device that synced the whole merchant before the
    /// server scoped its pulls, or a manager become a plain rep), the accounts of other reps
    /// are dropped with their ledgers and prices; widened, the cursor goes back to the start
    /// so that the next sync brings every account. Returns how many accounts were dropped.
    pub fn set_scope(&self, rep: Option<&str>) -> CoreResult<usize> {
        self.write(|tx| {
            let old = scope_of(tx)?;
            if old.as_ref().is_some_and(|o| o.as_deref() == rep) {
                return Ok(0);
            }
            tx.prepare_cached(
                "INSERT INTO sync_state (key, value) VALUES ('scope', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([rep.unwrap_or_default()])?;
            let Some(me) = rep else {
                if matches!(old, Some(Some(_))) {
                    tx.execute("DELETE FROM sync_state WHERE key = 'cursor'", [])?;
                }
                return Ok(0);
            };
            let theirs: Vec<String> = tx
                .prepare(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE rep_id IS NOT NULL"))?
                .query_map([], account_row)?
                .filter_map(|a| match a {
                    Ok(a) if !device_keeps(Some(me), &a) => Some(Ok(a.id)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<rusqlite::Result<_>>()?;
            for id in &theirs {
                forget_account(tx, id)?;
            }
            Ok(theirs.len())
        })
    }

    /// Applies one pulled page and moves the cursor, in one transaction. Orders and charges
    /// with local changes still in the outbox keep their local version (the push answer
    /// brings the server's). An account this device does not keep (see [`Db::set_scope`])
    /// is dropped with its ledger and prices.
    pub fn apply_page(&self, page: &SyncPage) -> CoreResult<()> {
        self.apply_page_with(page, &mut |_| {})
    }

    /// [`Db::apply_page`] with a hook called after each change (tests use it to crash in the
    /// middle of a page).
    pub fn apply_page_with(&self, page: &SyncPage, hook: &mut dyn FnMut(usize)) -> CoreResult<()> {
        let mut bulk = self.bulk.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(load) = bulk.as_mut() {
            load.begin_page();
        }
        self.write(|tx| {
            let scope = scope_of(tx)?.flatten();
            let mut ledger = match bulk.as_mut() {
                Some(load) => ledger::LedgerWriter::bulk(load),
                None => ledger::LedgerWriter::default(),
            };
            for (i, change) in page.changes.iter().enumerate() {
                match &change.data {
                    ChangeData::Account(a) if !device_keeps(scope.as_deref(), a) => {
                        forget_account(tx, &a.id)?;
                    }
                    ChangeData::Account(a) => {
                        put_account(tx, a)?;
                    }
                    ChangeData::Product(p) => {
                        tx.prepare_cached(&format!("INSERT OR REPLACE INTO products ({PRODUCT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"))?
                            .execute(params![p.id, p.code, p.name, p.unit_price, p.unit, p.active, p.updated_at])?;
                    }
                    ChangeData::AccountPrice(p) => {
                        tx.prepare_cached("INSERT OR REPLACE INTO account_prices (account_id, product_id, unit_price) VALUES (?1, ?2, ?3)")?
                            .execute(params![p.account_id, p.product_id, p.unit_price])?;
                    }
                    ChangeData::Ledger(l) => ledger.put(tx, l)?,
                    ChangeData::Order(o) => {
                        if !has_pending(tx, &o.id)? {
                            put_order(tx, o, SyncState::Synced, None, None)?;
                        }
                    }
                    ChangeData::Charge(c) => {
                        if !has_pending(tx, &c.id)? {
                            put_charge(tx, c, SyncState::Synced)?;
                        }
                    }
                    ChangeData::Collection(c) => {
                        if !has_pending(tx, &c.id)? {
                            put_collection(tx, c, SyncState::Synced)?;
                        }
                    }
                }
                hook(i);
            }
            ledger.finish(tx)?;
            tx.prepare_cached(
                "INSERT INTO sync_state (key, value) VALUES ('cursor', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([page.cursor.to_string()])?;
            Ok(())
        })?;
        if let Some(load) = bulk.as_mut() {
            load.page_committed();
        }
        Ok(())
    }

    /// Before a first sync of many pages: true (and the ledger's by-account index dropped
    /// until [`Db::end_bulk_load`]) when the ledger is empty.
    pub fn begin_bulk_load(&self) -> CoreResult<bool> {
        let bulk = self.write(|tx| {
            if ledger::is_empty(tx)? {
                ledger::drop_account_index(tx)?;
                Ok(true)
            } else {
                Ok(false)
            }
        })?;
        if bulk {
            *self.bulk.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(ledger::BulkLoad::default());
        }
        Ok(bulk)
    }

    /// Makes the ledger's indexes again (after [`Db::begin_bulk_load`]), then copies the
    /// write-ahead log into the database and truncates it (a first sync leaves a log as big
    /// as its largest transaction otherwise).
    pub fn end_bulk_load(&self) -> CoreResult<()> {
        self.write(|tx| ledger::ensure_indexes(tx))?;
        *self.bulk.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let c = self.lock();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    // ------------------------------------------------------------ records

    /// Every account, by name.
    pub fn accounts(&self) -> CoreResult<Vec<Account>> {
        let mut all: Vec<Account> = self.each_account(|rows| rows.collect())?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// Every account, in no particular order, to `f` as an iterator that reads one row at a
    /// time (the search index is built from it without a list of all accounts in memory: 200k
    /// accounts are about 100 MB as a list). A row that cannot be read ends the iteration,
    /// and its error is the answer.
    pub fn each_account<T>(
        &self,
        f: impl FnOnce(&mut dyn Iterator<Item = Account>) -> T,
    ) -> CoreResult<T> {
        self.read(|c| {
            let mut s = c.prepare(&format!("SELECT {ACCOUNT_COLS} FROM accounts"))?;
            let mut rows = s.query_map([], account_row)?;
            let mut failed = None;
            let mut accounts = std::iter::from_fn(|| match rows.next()? {
                Ok(a) => Some(a),
                Err(e) => {
                    failed = Some(e);
                    None
                }
            });
            let out = f(&mut accounts);
            match failed {
                Some(e) => Err(e.into()),
                None => Ok(out),
            }
        })
    }

    pub fn account(&self, id: &str) -> CoreResult<Option<Account>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = ?1"),
                [ledger::pack_id(id)],
                account_row,
            )
            .optional()?)
        })
    }

    pub fn products(&self) -> CoreResult<Vec<Product>> {
        self.read(|c| {
            let mut s = c.prepare(&format!(
                "SELECT {PRODUCT_COLS} FROM products ORDER BY name"
            ))?;
            let rows = s
                .query_map([], product_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    pub fn product(&self, id: &str) -> CoreResult<Option<Product>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {PRODUCT_COLS} FROM products WHERE id = ?1"),
                [id],
                product_row,
            )
            .optional()?)
        })
    }

    pub fn account_price(&self, account_id: &str, product_id: &str) -> CoreResult<Option<i64>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT unit_price FROM account_prices WHERE account_id = ?1 AND product_id = ?2",
                params![account_id, product_id],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// The receivables balance (sum of the ledger), kept per account as entries are applied.
    pub fn balance(&self, account_id: &str) -> CoreResult<i64> {
        self.read(|c| ledger::balance(c, account_id))
    }

    /// The newest `limit` ledger entries of an account, newest first.
    pub fn ledger(&self, account_id: &str, limit: u32) -> CoreResult<Vec<LedgerEntry>> {
        self.read(|c| ledger::entries(c, account_id, limit))
    }

    /// The accounts of `ids` that exist, in that order, each with its balance: one statement
    /// for the accounts and one for the balances (what a search result list shows).
    /// The client list shown while the search box is empty, `limit` open accounts at most:
    /// - `Recent`: the clients of the latest orders and payments on this device (newest
    ///   first, so today's come first), then those with receivables (largest first);
    /// - `Balance`: those with receivables, largest first;
    /// - `Name`: by name (가나다).
    ///
    /// Each list goes on by name once its own rows run out. Every row comes with its last
    /// order or payment time (UTC RFC 3339) when there is one.
    pub fn client_list(
        &self,
        sort: ClientSort,
        limit: usize,
    ) -> CoreResult<Vec<(Account, i64, Option<String>)>> {
        let limit = limit.clamp(1, 500);
        self.read(|c| {
            let mut ids: Vec<String> = Vec::with_capacity(limit);
            let mut seen = std::collections::HashSet::new();
            let mut push = |ids: &mut Vec<String>, id: String| {
                if ids.len() < limit && seen.insert(id.clone()) {
                    ids.push(id);
                }
            };
            let open = |id: &str| -> CoreResult<bool> {
                let mut st = c.prepare_cached("SELECT closed FROM accounts WHERE id = ?1")?;
                let closed: Option<bool> = st
                    .query_row([ledger::pack_id(id)], |r| r.get(0))
                    .optional()?;
                Ok(closed == Some(false))
            };
            if sort == ClientSort::Recent {
                let mut st = c.prepare_cached(
                    "SELECT account_id, MAX(updated_at) AS last FROM (
                         SELECT account_id, updated_at FROM orders
                         UNION ALL
                         SELECT account_id, updated_at FROM charges WHERE account_id IS NOT NULL)
                     GROUP BY account_id ORDER BY last DESC",
                )?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    if ids.len() >= limit {
                        break;
                    }
                    let id: String = r.get(0)?;
                    if open(&id)? {
                        push(&mut ids, id);
                    }
                }
            }
            if matches!(sort, ClientSort::Recent | ClientSort::Balance) && ids.len() < limit {
                let mut st = c.prepare_cached(
                    "SELECT k.id FROM balances b JOIN account_keys k ON k.n = b.n
                     WHERE b.balance > 0 ORDER BY b.balance DESC",
                )?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    if ids.len() >= limit {
                        break;
                    }
                    let id = ledger::unpack_id(r.get_ref(0)?)?;
                    if open(&id)? {
                        push(&mut ids, id);
                    }
                }
            }
            if ids.len() < limit {
                let mut st = c.prepare_cached(
                    "SELECT id FROM accounts WHERE closed = 0 ORDER BY name, code LIMIT ?1",
                )?;
                let want = (limit + ids.len()) as i64;
                let mut rows = st.query([want])?;
                while let Some(r) = rows.next()? {
                    push(&mut ids, ledger::unpack_id(r.get_ref(0)?)?);
                }
            }
            let mut last = Vec::with_capacity(ids.len());
            let mut st = c.prepare_cached(
                "SELECT MAX(t) FROM (
                     SELECT MAX(updated_at) AS t FROM orders WHERE account_id = ?1
                     UNION ALL
                     SELECT MAX(updated_at) FROM charges WHERE account_id = ?1)",
            )?;
            for id in &ids {
                last.push(st.query_row([id], |r| r.get::<_, Option<String>>(0))?);
            }
            Ok((ids, last))
        })
        .and_then(|(ids, last)| {
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let mut times: std::collections::HashMap<&str, Option<String>> =
                refs.iter().copied().zip(last).collect();
            Ok(self
                .account_summaries(&refs)?
                .into_iter()
                .map(|(a, balance)| {
                    let t = times.get_mut(a.id.as_str()).and_then(Option::take);
                    (a, balance, t)
                })
                .collect())
        })
    }

    /// The products a client usually orders: from its signed and registered orders on this
    /// device, the most often ordered first (then the largest quantity), `limit` at most, each
    /// with how many orders had it.
    pub fn usual_products(&self, account_id: &str, limit: usize) -> CoreResult<Vec<(String, u32)>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT json_extract(l.value, '$.product_id') AS pid, COUNT(DISTINCT o.id) AS n,
                        SUM(json_extract(l.value, '$.quantity')) AS qty
                 FROM orders o, json_each(o.data, '$.lines') l
                 WHERE o.account_id = ?1 AND o.status IN ('signed', 'registered')
                   AND COALESCE(json_extract(o.data, '$.kind'), 'purchase') = 'purchase'
                 GROUP BY pid ORDER BY n DESC, qty DESC, pid LIMIT ?2",
            )?;
            let rows = st.query_map(params![account_id, limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    pub fn account_summaries(&self, ids: &[&str]) -> CoreResult<Vec<(Account, i64)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|c| {
            // Fixed-size statements (cached): ids in chunks of 50, unused slots NULL.
            const CHUNK: usize = 50;
            let marks = (1..=CHUNK)
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut accounts: std::collections::HashMap<String, Account> =
                std::collections::HashMap::with_capacity(ids.len());
            let mut balances: std::collections::HashMap<Vec<u8>, i64> =
                std::collections::HashMap::with_capacity(ids.len());
            for chunk in ids.chunks(CHUNK) {
                let mut args: Vec<rusqlite::types::Value> =
                    chunk.iter().map(|id| ledger::pack_id(id)).collect();
                args.resize(CHUNK, rusqlite::types::Value::Null);
                let mut st = c.prepare_cached(&format!(
                    "SELECT {ACCOUNT_COLS} FROM accounts WHERE id IN ({marks})"
                ))?;
                for a in st.query_map(rusqlite::params_from_iter(args.iter()), account_row)? {
                    let a = a?;
                    accounts.insert(a.id.clone(), a);
                }
                let mut args: Vec<rusqlite::types::Value> =
                    chunk.iter().map(|id| ledger::pack_id(id)).collect();
                args.resize(CHUNK, rusqlite::types::Value::Null);
                let mut st = c.prepare_cached(&format!(
                    "SELECT k.id, b.balance FROM account_keys k JOIN balances b ON b.n = k.n WHERE k.id IN ({marks})"
                ))?;
                let mut rows = st.query(rusqlite::params_from_iter(args.iter()))?;
                while let Some(r) = rows.next()? {
                    let key = match r.get_ref(0)? {
                        rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
                        rusqlite::types::ValueRef::Text(t) => t.to_vec(),
                        _ => continue,
                    };
                    balances.insert(key, r.get(1)?);
                }
            }
            Ok(ids
                .iter()
                .filter_map(|id| {
                    let a = accounts.remove(*id)?;
                    let key = match ledger::pack_id(id) {
                        rusqlite::types::Value::Blob(b) => b,
                        rusqlite::types::Value::Text(t) => t.into_bytes(),
                        _ => Vec::new(),
                    };
                    let balance = balances.get(&key).copied().unwrap_or(0);
                    Some((a, balance))
                })
                .collect())
        })
    }

    /// Orders of this device not yet registered by the server (they count against the credit
    /// limit until the server's ledger has them). Returns do not count (nor lower it before
    /// the server accepts them).
    pub fn pending_order_total(&self, account_id: &str, except: Option<&str>) -> CoreResult<i64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT COALESCE(SUM(total), 0) FROM orders WHERE account_id = ?1 AND sync_state IN ('queued')
                 AND status NOT IN ('registered', 'rejected', 'canceled') AND id != COALESCE(?2, '')
                 AND COALESCE(json_extract(data, '$.kind'), 'purchase') = 'purchase'",
                params![account_id, except],
                |r| r.get(0),
            )?)
        })
    }

    /// Timestamps of the last activity (order or charge) per account, for search ranking.
    pub fn recent_activity(&self) -> CoreResult<Vec<(String, String)>> {
        self.read(|c| {
            let mut s = c.prepare(
                "SELECT account_id, MAX(updated_at) FROM (
                    SELECT account_id, updated_at FROM orders UNION ALL
                    SELECT account_id, updated_at FROM charges WHERE account_id IS NOT NULL
                 ) GROUP BY account_id",
            )?;
            let rows = s
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    // ------------------------------------------------------------ orders

    pub fn order(&self, id: &str) -> CoreResult<Option<LocalOrder>> {
        self.read(|c| {
            let row: Option<(String, String)> = c
                .query_row(
                    "SELECT data, sync_state FROM orders WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            row.map(|(d, s)| {
                Ok(LocalOrder {
                    order: serde_json::from_str(&d)?,
                    sync_state: parse_state(&s),
                })
            })
            .transpose()
        })
    }

    pub fn order_files(&self, id: &str) -> CoreResult<OrderFiles> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT signature_png, pdf FROM orders WHERE id = ?1",
                [id],
                |r| {
                    Ok(OrderFiles {
                        signature_png: r.get(0)?,
                        pdf: r.get(1)?,
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
        })
    }

    pub fn orders(&self, account_id: Option<&str>, limit: u32) -> CoreResult<Vec<LocalOrder>> {
        self.read(|c| {
            let mut s = c.prepare("SELECT data, sync_state FROM orders WHERE (?1 IS NULL OR account_id = ?1) ORDER BY updated_at DESC LIMIT ?2")?;
            let rows = s.query_map(params![account_id, limit], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(|(d, st)| Ok(LocalOrder { order: serde_json::from_str(&d)?, sync_state: parse_state(&st) })).collect()
        })
    }

    /// The returns on this device that name `original_id` as their original order.
    pub fn returns_of(&self, original_id: &str) -> CoreResult<Vec<LocalOrder>> {
        self.read(|c| {
            let mut s = c.prepare(
                "SELECT data, sync_state FROM orders WHERE json_extract(data, '$.original_order_id') = ?1",
            )?;
            let rows = s.query_map([original_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(|(d, st)| Ok(LocalOrder { order: serde_json::from_str(&d)?, sync_state: parse_state(&st) })).collect()
        })
    }

    /// Saves a draft on this device only (nothing is sent).
    pub fn save_draft(&self, order: &Order) -> CoreResult<()> {
        self.write(|tx| {
            if has_pending(tx, &order.id)? {
                return Err(CoreError::invalid(
                    fieldpay_protocol::ErrorCode::InvalidState,
                    "this order is already being sent",
                ));
            }
            put_order(tx, order, SyncState::Local, None, None)
        })
    }

    /// Reserves the next number of a series on a day (`prefix` as
    /// [`fieldpay_protocol::numbering::number_prefix`] makes it, `PO-20261203-R01-`): one past
    /// the highest this device knows — what it reserved before and any order it holds with
    /// such a number (its own, or pulled from the server after a reinstall) — in one
    /// transaction, so a number is never given twice (a signing that fails leaves a gap).
    pub fn reserve_number(&self, prefix: &str) -> CoreResult<u32> {
        let key = format!("series:{prefix}");
        self.write(|tx| {
            let reserved: u32 = tx
                .query_row("SELECT value FROM sync_state WHERE key = ?1", [&key], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            // Counters have four digits: the highest number sorts last as text.
            let held: Option<String> = tx.query_row(
                "SELECT MAX(json_extract(data, '$.number')) FROM orders
                 WHERE substr(json_extract(data, '$.number'), 1, length(?1)) = ?1",
                [prefix],
                |r| r.get(0),
            )?;
            let held: u32 = held
                .and_then(|n| n.strip_prefix(prefix).and_then(|c| c.parse().ok()))
                .unwrap_or(0);
            let next = reserved.max(held) + 1;
            if next > fieldpay_protocol::numbering::MAX_COUNTER {
                return Err(CoreError::invalid(
                    fieldpay_protocol::ErrorCode::InvalidState,
                    format!("{prefix}: 오늘 번호를 모두 썼습니다 (no numbers left in this series today)"),
                ));
            }
            tx.execute(
                "INSERT INTO sync_state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, next.to_string()],
            )?;
            Ok(next)
        })
    }

    /// Writes the order's local state and queues its mutations, in one transaction.
    pub fn queue_order(
        &self,
        order: &Order,
        png: Option<&[u8]>,
        pdf: Option<&[u8]>,
        ops: &[(String, MutationKind)],
        now: DateTime<Utc>,
    ) -> CoreResult<()> {
        self.write(|tx| {
            put_order(tx, order, SyncState::Queued, png, pdf)?;
            for (client_id, op) in ops {
                enqueue(tx, client_id, &order.id, op, now)?;
            }
            Ok(())
        })
    }

    // ------------------------------------------------------------ charges

    pub fn charge(&self, id: &str) -> CoreResult<Option<LocalCharge>> {
        self.read(|c| {
            let row: Option<(String, String)> = c
                .query_row(
                    "SELECT data, sync_state FROM charges WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            row.map(|(d, s)| {
                Ok(LocalCharge {
                    charge: serde_json::from_str(&d)?,
                    sync_state: parse_state(&s),
                })
            })
            .transpose()
        })
    }

    pub fn charges(&self, account_id: Option<&str>, limit: u32) -> CoreResult<Vec<LocalCharge>> {
        self.read(|c| {
            let mut s = c.prepare("SELECT data, sync_state FROM charges WHERE (?1 IS NULL OR account_id = ?1) ORDER BY updated_at DESC LIMIT ?2")?;
            let rows = s.query_map(params![account_id, limit], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(|(d, st)| Ok(LocalCharge { charge: serde_json::from_str(&d)?, sync_state: parse_state(&st) })).collect()
        })
    }

    /// Writes a charge's local state and queues its mutation in one transaction.
    pub fn queue_charge(
        &self,
        charge: &Charge,
        client_id: &str,
        op: &MutationKind,
        now: DateTime<Utc>,
    ) -> CoreResult<()> {
        self.write(|tx| {
            put_charge(tx, charge, SyncState::Queued)?;
            enqueue(tx, client_id, &charge.id, op, now)
        })
    }

    /// A live status update (server-sent event or push answer) for a charge we know.
    pub fn update_charge(&self, charge: &Charge) -> CoreResult<()> {
        self.write(|tx| {
            let state = if has_pending(tx, &charge.id)? {
                SyncState::Queued
            } else {
                SyncState::Synced
            };
            put_charge(tx, charge, state)
        })
    }

    // ------------------------------------------------------------ collections

    /// Writes a collection recorded here and queues its mutation, in one transaction.
    pub fn queue_collection(
        &self,
        c: &Collection,
        client_id: &str,
        op: &MutationKind,
        now: DateTime<Utc>,
    ) -> CoreResult<()> {
        self.write(|tx| {
            put_collection(tx, c, SyncState::Queued)?;
            enqueue(tx, client_id, &c.id, op, now)
        })
    }

    /// A collection as the server answered it (a void by the manager).
    pub fn update_collection(&self, c: &Collection) -> CoreResult<()> {
        self.write(|tx| {
            let state = if has_pending(tx, &c.id)? {
                SyncState::Queued
            } else {
                SyncState::Synced
            };
            put_collection(tx, c, state)
        })
    }

    pub fn collection(&self, id: &str) -> CoreResult<Option<LocalCollection>> {
        self.read(|c| {
            let row: Option<(String, String)> = c
                .query_row(
                    "SELECT data, sync_state FROM collections WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(collection_rows(row.into_iter().collect())?.pop())
        })
    }

    /// The collections of an account (all when None), newest first.
    pub fn collections(
        &self,
        account_id: Option<&str>,
        limit: u32,
    ) -> CoreResult<Vec<LocalCollection>> {
        self.read(|c| {
            let mut s = c.prepare_cached(
                "SELECT data, sync_state FROM collections WHERE (?1 IS NULL OR account_id = ?1)
                 ORDER BY collected_at DESC, id DESC LIMIT ?2",
            )?;
            let rows = s
                .query_map(params![account_id, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            collection_rows(rows)
        })
    }

    /// Collected here and not yet in the server's ledger (see [`ledger::pending_collected`]).
    pub fn pending_collected(&self, account_id: &str) -> CoreResult<i64> {
        self.read(|c| ledger::pending_collected(c, account_id))
    }

    // ------------------------------------------------------------ visits

    pub fn visit(&self, id: &str) -> CoreResult<Option<LocalVisit>> {
        self.read(|c| {
            let row: Option<(String, String)> = c
                .query_row(
                    "SELECT data, sync_state FROM visits WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            row.map(|(d, s)| {
                Ok(LocalVisit {
                    visit: serde_json::from_str(&d)?,
                    sync_state: parse_state(&s),
                })
            })
            .transpose()
        })
    }

    /// Visits checked in within `[from, to)` (stored times), oldest first.
    pub fn visits_between(&self, from: &str, to: &str) -> CoreResult<Vec<LocalVisit>> {
        self.read(|c| {
            let mut s = c.prepare("SELECT data, sync_state FROM visits WHERE checked_in_at >= ?1 AND checked_in_at < ?2 ORDER BY checked_in_at, id")?;
            let rows = s.query_map(params![from, to], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(|(d, st)| Ok(LocalVisit { visit: serde_json::from_str(&d)?, sync_state: parse_state(&st) })).collect()
        })
    }

    /// A client account's latest visits, newest first.
    pub fn account_visits(&self, account_id: &str, limit: u32) -> CoreResult<Vec<LocalVisit>> {
        self.read(|c| {
            let mut s = c.prepare("SELECT data, sync_state FROM visits WHERE account_id = ?1 ORDER BY checked_in_at DESC, id DESC LIMIT ?2")?;
            let rows = s.query_map(params![account_id, limit], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(|(d, st)| Ok(LocalVisit { visit: serde_json::from_str(&d)?, sync_state: parse_state(&st) })).collect()
        })
    }

    /// Writes a visit's local state and queues its mutation in one transaction.
    pub fn queue_visit(
        &self,
        visit: &Visit,
        client_id: &str,
        op: &MutationKind,
        now: DateTime<Utc>,
    ) -> CoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO visits (id, account_id, checked_in_at, data, sync_state) VALUES (?1, ?2, ?3, ?4, 'queued')
                 ON CONFLICT (id) DO UPDATE SET data = excluded.data, sync_state = 'queued'",
                params![visit.id, visit.account_id, visit.checked_in_at, serde_json::to_string(visit)?],
            )?;
            enqueue(tx, client_id, &visit.id, op, now)
        })
    }

    /// Clients with purchase orders made within `[from, to)` (stored times): (account id,
    /// orders, total), by their first order of the period.
    pub fn order_clients_between(
        &self,
        from: &str,
        to: &str,
    ) -> CoreResult<Vec<(String, u32, i64)>> {
        self.read(|c| {
            let mut s = c.prepare(
                "SELECT account_id, COUNT(*), COALESCE(SUM(total), 0) FROM orders
                 WHERE json_extract(data, '$.created_at') >= ?1 AND json_extract(data, '$.created_at') < ?2
                   AND status IN ('signed', 'registered')
                   AND COALESCE(json_extract(data, '$.kind'), 'purchase') = 'purchase'
                 GROUP BY account_id ORDER BY MIN(json_extract(data, '$.created_at'))",
            )?;
            let rows = s
                .query_map(params![from, to], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, i64>(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    // ------------------------------------------------------------ outbox

    /// Pending items in creation order.
    pub fn pending(&self, limit: u32) -> CoreResult<Vec<OutboxItem>> {
        self.read(|c| {
            let mut s = c.prepare("SELECT seq, client_id, entity_id, op, attempts, created_at FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT ?1")?;
            let rows = s
                .query_map([limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, u32>(4)?, r.get::<_, String>(5)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(seq, client_id, entity_id, op, attempts, created_at)| Ok(OutboxItem { seq, client_id, entity_id, op: serde_json::from_str(&op)?, attempts, created_at }))
                .collect()
        })
    }

    pub fn queued_count(&self) -> CoreResult<u64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    pub fn note_attempt(&self, client_ids: &[String]) -> CoreResult<()> {
        self.write(|tx| {
            for id in client_ids {
                tx.execute(
                    "UPDATE outbox SET attempts = attempts + 1 WHERE client_id = ?1",
                    [id],
                )?;
            }
            Ok(())
        })
    }

    /// Records the server's answers to a push (applied: done and the server's copy stored;
    /// rejected: kept as a sync problem and the record marked), all in one transaction.
    pub fn record_results(&self, results: &[MutationResult], now: DateTime<Utc>) -> CoreResult<()> {
        self.write(|tx| {
            for r in results {
                record_one_result(tx, &r.client_id, &r.outcome, now)?;
            }
            Ok(())
        })
    }

    pub fn problems(&self) -> CoreResult<Vec<SyncProblem>> {
        self.read(|c| {
            let mut s = c.prepare("SELECT client_id, entity_id, op, error_code, error_message, created_at FROM outbox WHERE state = 'rejected' ORDER BY seq")?;
            let rows = s
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, Option<String>>(4)?, r.get::<_, String>(5)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(client_id, entity_id, op, code, message, created_at)| {
                    let op: MutationKind = serde_json::from_str(&op)?;
                    let code = code
                        .and_then(|c| serde_json::from_value(serde_json::Value::String(c)).ok())
                        .unwrap_or(fieldpay_protocol::ErrorCode::Internal);
                    Ok(SyncProblem { client_id, entity_id, action: op_name(&op).into(), error: ApiError::new(code, message.unwrap_or_default()), created_at })
                })
                .collect()
        })
    }

    /// Sends a refused item again, under a new client id (the server keeps its first answer
    /// to the old one), optionally changed (after the rep fixed what the server refused).
    pub fn retry_problem(
        &self,
        client_id: &str,
        new_client_id: &str,
        changed: Option<&MutationKind>,
        now: DateTime<Utc>,
    ) -> CoreResult<()> {
        self.write(|tx| {
            let row: Option<(String, String)> = tx
                .query_row("SELECT entity_id, op FROM outbox WHERE client_id = ?1 AND state = 'rejected'", [client_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((entity, op)) = row else {
                return Err(CoreError::NotFound("sync problem"));
            };
            let op = match changed {
                Some(c) => serde_json::to_string(c)?,
                None => op,
            };
            tx.execute(
                "UPDATE outbox SET client_id = ?2, op = ?3, state = 'pending', attempts = 0, error_code = NULL, error_message = NULL, updated_at = ?4 WHERE client_id = ?1",
                params![client_id, new_client_id, op, ts(now)],
            )?;
            tx.execute("UPDATE orders SET sync_state = 'queued' WHERE id = ?1", [&entity])?;
            tx.execute("UPDATE charges SET sync_state = 'queued' WHERE id = ?1", [&entity])?;
            tx.execute("UPDATE collections SET sync_state = 'queued' WHERE id = ?1", [&entity])?;
            tx.execute("UPDATE visits SET sync_state = 'queued' WHERE id = ?1", [&entity])?;
            Ok(())
        })
    }

    /// Drops a refused item; the local record falls back (a draft order, a dropped charge).
    pub fn discard_problem(&self, client_id: &str) -> CoreResult<()> {
        self.write(|tx| {
            let row: Option<(String, String)> = tx.query_row("SELECT entity_id, op FROM outbox WHERE client_id = ?1 AND state = 'rejected'", [client_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
            let Some((entity, op)) = row else {
                return Err(CoreError::NotFound("sync problem"));
            };
            let op: MutationKind = serde_json::from_str(&op)?;
            tx.execute("DELETE FROM outbox WHERE client_id = ?1", [client_id])?;
            if !has_pending(tx, &entity)? {
                tx.execute("UPDATE orders SET sync_state = 'local' WHERE id = ?1 AND sync_state = 'rejected'", [&entity])?;
                tx.execute("DELETE FROM charges WHERE id = ?1 AND sync_state = 'rejected' AND status = 'queued'", [&entity])?;
                // A refused collection never reached the ledger: it goes.
                tx.execute("DELETE FROM collections WHERE id = ?1 AND sync_state = 'rejected'", [&entity])?;
                // A refused check-in is dropped; a refused check-out leaves the visit open.
                match op {
                    MutationKind::CheckIn { .. } => {
                        tx.execute("DELETE FROM visits WHERE id = ?1 AND sync_state = 'rejected'", [&entity])?;
                    }
                    MutationKind::CheckOut { .. } => {
                        tx.execute("UPDATE visits SET sync_state = 'synced', data = json_remove(data, '$.checked_out_at') WHERE id = ?1 AND sync_state = 'rejected'", [&entity])?;
                    }
                    _ => {}
                }
            }
            Ok(())
        })
    }

    /// Takes back a charge request that was never sent (no push attempt): the request leaves
    /// the outbox and the local charge is marked canceled, all in one transaction. Returns
    /// false (and changes nothing) when the request may have reached the server.
    pub fn withdraw_unsent_charge(&self, charge: &Charge) -> CoreResult<bool> {
        self.write(|tx| {
            let sent: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM outbox WHERE entity_id = ?1 AND (attempts > 0 OR state != 'pending'))",
                [&charge.id],
                |r| r.get(0),
            )?;
            let queued: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM outbox WHERE entity_id = ?1)", [&charge.id], |r| r.get(0))?;
            if sent || !queued {
                return Ok(false);
            }
            tx.execute("DELETE FROM outbox WHERE entity_id = ?1", [&charge.id])?;
            put_charge(tx, charge, SyncState::Local)?;
            Ok(true)
        })
    }
}

fn enqueue(
    tx: &Transaction<'_>,
    client_id: &str,
    entity_id: &str,
    op: &MutationKind,
    now: DateTime<Utc>,
) -> CoreResult<()> {
    tx.execute(
        "INSERT INTO outbox (client_id, entity_id, op, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![client_id, entity_id, serde_json::to_string(op)?, ts(now)],
    )?;
    Ok(())
}

fn mark_rejected(tx: &Transaction<'_>, entity_id: &str, reason: &str) -> CoreResult<()> {
    tx.execute(
        "UPDATE collections SET sync_state = 'rejected' WHERE id = ?1",
        [entity_id],
    )?;
    let row: Option<String> = tx
        .query_row("SELECT data FROM orders WHERE id = ?1", [entity_id], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(d) = row {
        let mut o: Order = serde_json::from_str(&d)?;
        o.status = OrderStatus::Rejected;
        o.reject_reason = Some(reason.to_string());
        tx.execute("UPDATE orders SET status = 'rejected', data = ?2, sync_state = 'rejected' WHERE id = ?1", params![entity_id, serde_json::to_string(&o)?])?;
    }
    tx.execute(
        "UPDATE visits SET sync_state = 'rejected' WHERE id = ?1",
        [entity_id],
    )?;
    let row: Option<String> = tx
        .query_row("SELECT data FROM charges WHERE id = ?1", [entity_id], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(d) = row {
        let mut c: Charge = serde_json::from_str(&d)?;
        if c.status == ChargeStatus::Queued {
            c.decline_reason = Some(reason.to_string());
        }
        tx.execute(
            "UPDATE charges SET data = ?2, sync_state = 'rejected' WHERE id = ?1",
            params![entity_id, serde_json::to_string(&c)?],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
