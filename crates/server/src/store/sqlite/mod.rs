//! SQLite implementation of the store traits: one writer connection (transactions are
//! serialised, so the checks inside a transaction see no interleaving) and a few readers, all
//! in WAL mode. One file per aggregate; this one holds the connections, the migrations, the
//! caches and the helpers every aggregate uses (the change log, the outbox rows).

mod admin;
mod charges;
mod checkpoint;
mod collections;
mod credentials;
mod leases;
mod limits;
mod links;
mod merchants;
mod orders;
mod outbox;
mod records;
mod settlement;
mod shares;
mod sync;
#[cfg(test)]
mod tests;
mod visits;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use fieldpay_protocol::ErrorCode;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::domain::Merchant;
use crate::store::cache::Cache;
use crate::store::outbox::quota_refusal;
use crate::store::{ApiKeyOwner, Effects, StoreError, StoreResult};

impl crate::store::Store for SqliteStore {}

/// A constraint that refused a write means the request conflicts with what is stored (an id
/// or number taken, a record that does not exist): a typed refusal of that one request, with
/// nothing written — not a fault of the server. Other database errors are faults.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            let conflict = matches!(
                f.extended_code,
                ffi::SQLITE_CONSTRAINT_UNIQUE
                    | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    | ffi::SQLITE_CONSTRAINT_FOREIGNKEY
                    | ffi::SQLITE_CONSTRAINT_NOTNULL
                    | ffi::SQLITE_CONSTRAINT_CHECK
            );
            if conflict {
                tracing::warn!(error = %e, "write refused by a constraint");
                return StoreError::rejected(
                    ErrorCode::Conflict,
                    "the request conflicts with stored data; nothing was changed",
                );
            }
        }
        StoreError::Db(Box::new(e))
    }
}

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_changes_cursor.sql")),
    (
        3,
        include_str!("migrations/0003_order_number_per_merchant.sql"),
    ),
    (4, include_str!("migrations/0004_token_families.sql")),
    (5, include_str!("migrations/0005_abuse_limits.sql")),
    (6, include_str!("migrations/0006_rep_roles.sql")),
    (
        7,
        include_str!("migrations/0007_idempotency_per_caller.sql"),
    ),
    (8, include_str!("migrations/0008_several_instances.sql")),
    (9, include_str!("migrations/0009_call_owner.sql")),
    (10, include_str!("migrations/0010_text_retries.sql")),
    (11, include_str!("migrations/0011_partial_refunds.sql")),
    (12, include_str!("migrations/0012_merchant_credentials.sql")),
    (13, include_str!("migrations/0013_operators.sql")),
    (14, include_str!("migrations/0014_payment_links.sql")),
    (15, include_str!("migrations/0015_collections.sql")),
    (16, include_str!("migrations/0016_rep_series.sql")),
    (17, include_str!("migrations/0017_visits_shares.sql")),
    (18, include_str!("migrations/0018_returns.sql")),
    (19, include_str!("migrations/0019_sync_scope.sql")),
    (20, include_str!("migrations/0020_numbers_by_merchant.sql")),
    (21, include_str!("migrations/0021_text_quota_per_scope.sql")),
];
const READERS: usize = 4;

pub struct SqliteStore {
    /// Shared with the checkpointer (which holds it only weakly).
    writer: Arc<Mutex<Connection>>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Merchants by id (read on every charge request).
    merchants: Cache<Arc<Merchant>>,
    /// Live API keys by key hash (read on every API request).
    api_keys: Cache<ApiKeyOwner>,
    /// Last, so that it stops after the writer and readers closed: its connection is then the
    /// last one, whose close checkpoints the rest of the log and removes it.
    _checkpointer: checkpoint::Checkpointer,
}

/// How long a cached merchant or API key is trusted without reading the database again. Every
/// change made through this store (settings, key revocation) drops the entry at once; the
/// limit only bounds how long a change made by another process (another server on the same
/// file, a tool editing the database) goes unseen.
const CACHE_TTL: Duration = Duration::from_secs(10);

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // WAL + NORMAL: a commit is in the WAL file (the OS's page cache) before it is answered,
    // so a crash of the process loses nothing committed; only a power cut or kernel crash
    // may lose the last commits (the database stays consistent). The fsyncs happen at
    // checkpoints.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Statement journals (savepoints: a guarded charge group runs each charge in one) and
    // sorts stay in memory: with the default, a savepoint that touched more than 64 KiB of
    // pages opened, wrote and deleted a temporary file for every charge (seen in a profile of
    // row 12).
    conn.pragma_update(None, "temp_store", "MEMORY")?;
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
        let writer = Arc::new(Mutex::new(writer));
        // The log is checkpointed by a thread of its own, woken by the writer's commits.
        let checkpointer = checkpoint::Checkpointer::start(path, &writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open(path)?;
            configure(&r)?;
            readers.push(Mutex::new(r));
        }
        Ok(SqliteStore {
            writer,
            readers,
            next_reader: AtomicUsize::new(0),
            merchants: Cache::new(CACHE_TTL),
            api_keys: Cache::new(CACHE_TTL),
            _checkpointer: checkpointer,
        })
    }

    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// [`write`](Self::write) for work that may find part way that it has to be done another
    /// way: `first` giving None rolls its transaction back and `then` runs in a new one, under
    /// the same hold of the writer.
    pub(super) fn write_or_redo<T>(
        &self,
        first: impl FnOnce(&Transaction<'_>) -> StoreResult<Option<T>>,
        then: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if let Some(out) = first(&tx)? {
            tx.commit()?;
            return Ok(out);
        }
        tx.rollback()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = then(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    pub(super) fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
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

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::corrupt(what)
}

pub(super) fn rejected(code: ErrorCode, msg: impl Into<String>) -> StoreError {
    StoreError::rejected(code, msg)
}

/// Records that a record changed: its row of the change log moves to the log's end (a new
/// `seq`; `INSERT OR REPLACE` drops the record's earlier row in the same statement), for the
/// devices [`audience_sql`] says.
pub(super) fn changed(
    tx: &Transaction<'_>,
    merchant_id: &str,
    entity: &str,
    id: &str,
) -> StoreResult<()> {
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO changes (merchant_id, entity, entity_id, audience) VALUES (?1, ?2, ?3, {})",
        audience_sql(entity)?
    ))?
    .execute(params![merchant_id, entity, id])?;
    Ok(())
}

/// Which devices a change of `entity` is for (the `audience` column of migration 0019), as
/// an SQL expression of the merchant (`?1`) and the record's id (`?3`), read after the record
/// was written.
pub(super) fn audience_sql(entity: &str) -> StoreResult<&'static str> {
    Ok(match entity {
        "product" => "'*'",
        "account" => {
            "COALESCE((SELECT rep_id FROM accounts WHERE merchant_id = ?1 AND id = ?3), '*')"
        }
        "ledger" => {
            "COALESCE((SELECT a.rep_id FROM ledger l JOIN accounts a ON a.id = l.account_id
                        WHERE l.merchant_id = ?1 AND l.id = ?3), '*')"
        }
        "account_price" => {
            "COALESCE((SELECT rep_id FROM accounts WHERE merchant_id = ?1
                        AND id = substr(?3, 1, instr(?3, ':') - 1)), '*')"
        }
        // `account_id:old_rep_id`: the devices of the rep the account was taken from.
        ACCOUNT_MOVED => "COALESCE(NULLIF(substr(?3, instr(?3, ':') + 1), ''), '*')",
        "order" => "COALESCE((SELECT rep_id FROM orders WHERE merchant_id = ?1 AND id = ?3), '-')",
        "charge" => {
            "COALESCE((SELECT rep_id FROM charges WHERE merchant_id = ?1 AND id = ?3), '-')"
        }
        "collection" => {
            "COALESCE((SELECT rep_id FROM collections WHERE merchant_id = ?1 AND id = ?3), '-')"
        }
        other => return Err(corrupt(&format!("change entity {other}"))),
    })
}

pub(super) use crate::store::sync::ACCOUNT_MOVED;

/// After an account's rep changed from `old_rep`: its ledger and prices are logged again (for
/// the new rep's devices, which have not had them) and an [`ACCOUNT_MOVED`] row is written
/// for the old rep's devices.
pub(super) fn account_moved(
    tx: &Transaction<'_>,
    merchant_id: &str,
    account_id: &str,
    old_rep: Option<&str>,
) -> StoreResult<()> {
    let ledger: Vec<String> = tx
        .prepare_cached("SELECT id FROM ledger WHERE merchant_id = ?1 AND account_id = ?2")?
        .query_map(params![merchant_id, account_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in ledger {
        changed(tx, merchant_id, "ledger", &id)?;
    }
    let prices: Vec<String> = tx
        .prepare_cached(
            "SELECT product_id FROM account_prices WHERE merchant_id = ?1 AND account_id = ?2",
        )?
        .query_map(params![merchant_id, account_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for product in prices {
        changed(
            tx,
            merchant_id,
            "account_price",
            &format!("{account_id}:{product}"),
        )?;
    }
    changed(
        tx,
        merchant_id,
        ACCOUNT_MOVED,
        &format!("{account_id}:{}", old_rep.unwrap_or_default()),
    )
}

/// Counts one text against the quota of `scope` for the clock hour of `now` (a stored time),
/// refusing it past `limit`; the scope's first text of a later hour starts its count again
/// (a text stamped with an earlier hour, from an instance whose clock lags, counts in the
/// scope's current one). The count is part of the caller's transaction. A refusal writes nothing (the count is raised
/// only while it is under the limit), so a change refused here before its other writes
/// leaves no trace without a savepoint of its own (charge creation counts on this, see
/// `charges::create_group`).
fn take_text_quota(
    tx: &Transaction<'_>,
    scope: &str,
    limit: Option<u32>,
    now: &str,
) -> StoreResult<()> {
    if limit == Some(0) {
        return Err(quota_refusal(scope));
    }
    let hour = quota_hour(now);
    let counted: Option<u32> = tx
        .prepare_cached(
            "INSERT INTO text_quota (scope, hour, count) VALUES (?1, ?2, 1)
             ON CONFLICT (scope) DO UPDATE
                 SET count = CASE WHEN excluded.hour > hour THEN 1 ELSE count + 1 END,
                     hour = max(hour, excluded.hour)
                 WHERE excluded.hour > hour OR ?3 IS NULL OR count < ?3
             RETURNING count",
        )?
        .query_row(params![scope, hour, limit], |r| r.get(0))
        .optional()?;
    match counted {
        Some(_) => Ok(()),
        None => Err(quota_refusal(scope)),
    }
}

/// The clock hour of a stored time (`2026-12-05T10`), the key of the texts' hourly quotas.
fn quota_hour(now: &str) -> &str {
    &now[..13.min(now.len())]
}

/// A merchant's hourly text count while a group of charges is created (see [`GroupQuotas`]).
struct MerchantHour {
    hour: String,
    count: u32,
    /// Counted in this group: written back at its end.
    counted: bool,
}

/// The texts' quotas of a group of charges created in one transaction. A payer phone's hour is
/// counted in the store text by text, as [`take_quotas`] does (each bill of a group nearly
/// always goes to a phone of its own); a merchant's hour, the same row for every charge of the
/// group, is read once, counted in memory and written once by [`GroupQuotas::write`] before
/// the group commits, instead of an upsert of that row for every charge (BENCHMARKS.md, round
/// two, part 8). The merchant's limit is checked before the payer's hour is counted, so a
/// charge refused by either writes nothing. Only for a transaction in which nothing else
/// counts a merchant's texts (charge creation counts nothing but its own charges' bills).
#[derive(Default)]
pub(super) struct GroupQuotas {
    merchants: std::collections::HashMap<String, MerchantHour>,
    /// The merchant scopes the charge being created counted, for [`GroupQuotas::undo_charge`].
    this_charge: Vec<String>,
}

impl GroupQuotas {
    /// Starts the next charge of the group.
    pub(super) fn begin_charge(&mut self) {
        self.this_charge.clear();
    }

    /// Counts the texts of one charge's `effects`, refusing the charge (and writing nothing)
    /// past the payer's or the merchant's limit; with both used up, the payer's refusal is
    /// given, as [`take_quotas`] gives it.
    pub(super) fn take(
        &mut self,
        tx: &Transaction<'_>,
        merchant_id: &str,
        effects: &Effects,
        now: &str,
    ) -> StoreResult<()> {
        let hour = quota_hour(now);
        for sms in &effects.sms {
            let Some(q) = &sms.quota else { continue };
            let scope = format!("merchant:{merchant_id}");
            let merchant = match self.merchants.entry(scope.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let (hour, count) = stored_quota(tx, &scope)?.unwrap_or_default();
                    e.insert(MerchantHour {
                        hour,
                        count,
                        counted: false,
                    })
                }
            };
            // A later hour starts the count again; an earlier one (a lagging clock) counts in
            // the stored hour, as `take_text_quota` does.
            if merchant.hour.as_str() < hour {
                merchant.hour = hour.to_string();
                merchant.count = 0;
            }
            let phone = format!("phone:{}", sms.to);
            if q.per_merchant_per_hour.is_some_and(|l| merchant.count >= l) {
                return Err(quota_refusal(
                    if phone_used_up(tx, &phone, q.per_phone_per_hour, hour)? {
                        &phone
                    } else {
                        &scope
                    },
                ));
            }
            take_text_quota(tx, &phone, Some(q.per_phone_per_hour), now)?;
            if let Some(merchant) = self.merchants.get_mut(&scope) {
                merchant.count += 1;
                merchant.counted = true;
            }
            self.this_charge.push(scope);
        }
        Ok(())
    }

    /// Forgets what the charge begun last counted: it failed, and its writes (the payer's
    /// count among them) were undone.
    pub(super) fn undo_charge(&mut self) {
        for scope in self.this_charge.drain(..) {
            if let Some(m) = self.merchants.get_mut(&scope) {
                m.count = m.count.saturating_sub(1);
            }
        }
    }

    /// Writes the merchants' counts of the group (into its transaction).
    pub(super) fn write(&self, tx: &Transaction<'_>) -> StoreResult<()> {
        for (scope, m) in self.merchants.iter().filter(|(_, m)| m.counted) {
            tx.prepare_cached(
                "INSERT INTO text_quota (scope, hour, count) VALUES (?1, ?2, ?3)
                 ON CONFLICT (scope) DO UPDATE SET hour = excluded.hour, count = excluded.count",
            )?
            .execute(params![scope, m.hour, m.count])?;
        }
        Ok(())
    }
}

/// A quota's stored hour and count.
fn stored_quota(tx: &Transaction<'_>, scope: &str) -> StoreResult<Option<(String, u32)>> {
    Ok(tx
        .prepare_cached("SELECT hour, count FROM text_quota WHERE scope = ?1")?
        .query_row([scope], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Whether the payer phone's quota (`scope`) has no text left in `hour` (read only).
fn phone_used_up(tx: &Transaction<'_>, scope: &str, limit: u32, hour: &str) -> StoreResult<bool> {
    let stored = stored_quota(tx, scope)?;
    Ok(limit == 0 || stored.is_some_and(|(h, count)| h.as_str() >= hour && count >= limit))
}

/// Writes a change's effects: counts its texts against their quotas (refusing the change
/// past one), then queues the texts and webhooks.
pub(super) fn apply_effects(
    tx: &Transaction<'_>,
    merchant_id: &str,
    charge_id: Option<&str>,
    effects: &Effects,
    now: &str,
) -> StoreResult<()> {
    take_quotas(tx, merchant_id, effects, now)?;
    queue_effects(tx, merchant_id, charge_id, effects, now)
}

/// The quota part of [`apply_effects`]: each text with a quota counts against its payer
/// phone's and its merchant's hour.
pub(super) fn take_quotas(
    tx: &Transaction<'_>,
    merchant_id: &str,
    effects: &Effects,
    now: &str,
) -> StoreResult<()> {
    for sms in &effects.sms {
        let Some(q) = &sms.quota else { continue };
        take_text_quota(
            tx,
            &format!("phone:{}", sms.to),
            Some(q.per_phone_per_hour),
            now,
        )?;
        // Counted even without a limit, so a limit set in the middle of an hour applies to
        // the texts already sent in it.
        take_text_quota(
            tx,
            &format!("merchant:{merchant_id}"),
            q.per_merchant_per_hour,
            now,
        )?;
    }
    Ok(())
}

/// The queueing part of [`apply_effects`], after [`take_quotas`]: the texts and webhooks.
pub(super) fn queue_effects(
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
        .execute(params![merchant_id, sms.to, sms.kind.as_str(), sms.body, charge_id, now])?;
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

/// A text column as one of the typed ids (`MerchantId`, `ChargeId`, ...).
pub(super) fn id_at<T: From<String>>(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T> {
    r.get::<_, String>(i).map(T::from)
}

/// A nullable text column as an optional typed id.
pub(super) fn opt_id_at<T: From<String>>(
    r: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<T>> {
    Ok(r.get::<_, Option<String>>(i)?.map(T::from))
}

/// A text column holding a name of a stored-by-name enum (`pending`, `bill`, ...).
pub(super) fn name_at<T>(
    r: &rusqlite::Row<'_>,
    i: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    parse(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown value {s:?}").into(),
        )
    })
}
