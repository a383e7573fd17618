//! PostgreSQL implementation of the store traits, for deployments with several server
//! instances over one database. One file per aggregate, as in `sqlite`; this one holds the
//! connection pool, the migrations, the transaction helpers and what every aggregate uses (the
//! change log, the outbox rows, the text quotas).
//!
//! How the SQLite semantics carry over:
//! - **One call, one transaction**, at `SERIALIZABLE` isolation: PostgreSQL runs concurrent
//!   transactions as if one after the other (as SQLite's single writer does) and aborts one
//!   that could not be ordered; [`PgStore::write`] runs the whole call again then (a few
//!   times, with a short random pause), so the checks inside a call never see interleaving.
//!   Reads run in a read-only `REPEATABLE READ` transaction: one consistent snapshot.
//! - **The change log** numbers a merchant's changes from a counter row that the logging
//!   transaction updates and holds until it commits (`change_counters`): numbers become
//!   visible in the order they were given, so a device's pull never skips a change committed
//!   late with a lower number.
//! - **The ledger** is append-only by trigger; once-only entries by a partial unique index.
//! - **Blocking API**: the traits are blocking (callers run them on the blocking pool). The
//!   store owns a small Tokio runtime that drives the connections; a call blocks its thread
//!   on each statement ([`Tx`]), so the aggregate code reads like the SQLite code. Where the
//!   statements of a step do not depend on each other's answers they go out together in one
//!   round trip ([`Tx::pipeline`]): a charge of a group is created in two round trips.

mod admin;
mod channel;
// The aggregates, one file each.
mod charges;
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

use std::time::Duration;

use deadpool_postgres::{Pool, PoolConfig, Runtime as PoolRuntime, Timeouts};
use fieldpay_protocol::{ErrorCode, Secret};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls, Row};

impl crate::store::Store for PgStore {}

use crate::domain::Merchant;
use crate::store::cache::Cache;
use crate::store::{ApiKeyOwner, Effects, StoreError, StoreResult};

pub use channel::NotifyChannel;

/// A database error: a refused constraint is a typed refusal of that one request (nothing
/// written), as in SQLite; the rest are faults. A serialization failure is kept as the
/// database's error so [`PgStore::write`] can tell it and run the call again.
impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        let conflict = e.code().is_some_and(|c| {
            [
                SqlState::UNIQUE_VIOLATION,
                SqlState::FOREIGN_KEY_VIOLATION,
                SqlState::NOT_NULL_VIOLATION,
                SqlState::CHECK_VIOLATION,
            ]
            .contains(c)
        });
        if conflict {
            tracing::warn!(error = %e, "write refused by a constraint");
            return StoreError::rejected(
                ErrorCode::Conflict,
                "the request conflicts with stored data; nothing was changed",
            );
        }
        StoreError::Db(Box::new(PgError(e)))
    }
}

/// A database error that says what PostgreSQL said (the driver's own text is only "db
/// error").
#[derive(Debug)]
struct PgError(tokio_postgres::Error);

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_db_error() {
            Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
            None => write!(f, "{}", self.0),
        }
    }
}

impl std::error::Error for PgError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::Db(Box::new(other)),
        }
    }
}

/// Whether the call failed only because PostgreSQL could not order it with a concurrent one
/// (it changed nothing): running it again is safe and will usually succeed.
fn is_retryable(e: &StoreError) -> bool {
    let StoreError::Db(source) = e else {
        return false;
    };
    source
        .downcast_ref::<PgError>()
        .and_then(|e| e.0.code())
        .is_some_and(|c| {
            *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
        })
}

/// The schema, one file per version, applied in order in one transaction each.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_text_retries.sql")),
    (3, include_str!("migrations/0003_partial_refunds.sql")),
    (4, include_str!("migrations/0004_merchant_credentials.sql")),
    (5, include_str!("migrations/0005_operators.sql")),
    (6, include_str!("migrations/0006_payment_links.sql")),
    (7, include_str!("migrations/0007_collections.sql")),
    (8, include_str!("migrations/0008_rep_series.sql")),
    (9, include_str!("migrations/0009_visits_shares.sql")),
    (10, include_str!("migrations/0010_returns.sql")),
    (11, include_str!("migrations/0011_sync_scope.sql")),
    (12, include_str!("migrations/0012_text_quota_per_scope.sql")),
];

/// Any number, the same in every instance: the advisory lock held while migrating, so two
/// instances starting together migrate once.
const MIGRATION_LOCK: i64 = 0x4649_454c_4450_4159; // "FIELDPAY"

/// How often a call that PostgreSQL could not serialise is run again before its error is
/// answered. With the pauses below, about ten seconds of a busy merchant's writes (bursts
/// of payments, texts and a device's sync on one change counter) before giving up.
const MAX_ATTEMPTS: u32 = 60;

/// How long a cached merchant or API key is trusted: another instance's change (a revoked
/// key, new settings) is seen here within this time, well within a second.
const CACHE_TTL: Duration = Duration::from_millis(500);

pub struct PgStore {
    pool: Pool,
    /// Drives the connections; owned so the store works from any thread.
    rt: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    /// Merchants by id (read on every charge request).
    merchants: Cache<std::sync::Arc<Merchant>>,
    /// Live API keys by key hash (read on every API request).
    api_keys: Cache<ApiKeyOwner>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // May be dropped on an async thread: never wait there for the runtime's threads.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A statement's parameters.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A statement with its parameters, for [`Tx::pipeline`].
pub(super) type Stmt<'a> = (&'a str, Vec<&'a (dyn ToSql + Sync)>);

/// The first error of a pipeline's answers, or its rows.
pub(super) fn all_ok(answers: Vec<StoreResult<Vec<Row>>>) -> StoreResult<Vec<Vec<Row>>> {
    answers.into_iter().collect()
}

/// One open transaction. Each statement blocks the calling thread until PostgreSQL answers;
/// statements are prepared once per connection and reused.
pub(super) struct Tx<'a> {
    tx: deadpool_postgres::Transaction<'a>,
    handle: &'a tokio::runtime::Handle,
}

impl Tx<'_> {
    fn run<F: std::future::Future>(&self, f: F) -> F::Output {
        block_on(self.handle, f)
    }

    pub(super) fn query(&self, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
        self.run(async {
            let st = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.query(&st, params).await?)
        })
    }

    pub(super) fn query_opt(&self, sql: &str, params: Params<'_>) -> StoreResult<Option<Row>> {
        self.run(async {
            let st = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.query_opt(&st, params).await?)
        })
    }

    pub(super) fn query_one(&self, sql: &str, params: Params<'_>) -> StoreResult<Row> {
        self.run(async {
            let st = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.query_one(&st, params).await?)
        })
    }

    /// Runs a statement; answers the number of rows it changed.
    pub(super) fn execute(&self, sql: &str, params: Params<'_>) -> StoreResult<u64> {
        self.run(async {
            let st = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.execute(&st, params).await?)
        })
    }

    /// Sends statements one after the other without waiting for each answer (one round trip
    /// for all of them: tokio-postgres pipelines the queries of one connection that are in
    /// flight together) and answers each one's rows or error, in order. Each is its own
    /// statement as with [`Tx::query`]: after one fails, PostgreSQL refuses the rest of the
    /// transaction's statements (until a rollback to a savepoint), so the first error is the
    /// one that tells.
    pub(super) fn pipeline(&self, stmts: &[Stmt<'_>]) -> Vec<StoreResult<Vec<Row>>> {
        self.run(async {
            let prepared = futures_util::future::join_all(
                stmts.iter().map(|(sql, _)| self.tx.prepare_cached(sql)),
            )
            .await;
            futures_util::future::join_all(prepared.into_iter().zip(stmts).map(
                |(st, (_, params))| async move {
                    let st = st?;
                    Ok(self.tx.query(&st, params).await?)
                },
            ))
            .await
        })
    }

    /// Runs several statements without parameters (settings of the transaction; tests
    /// replaying a migration).
    pub(super) fn batch_execute(&self, sql: &str) -> StoreResult<()> {
        self.run(async { Ok(self.tx.batch_execute(sql).await?) })
    }
}

impl PgStore {
    /// Connects (the URL is checked by the settings), migrates and answers the store.
    pub fn open(url: &Secret, pool_size: usize) -> StoreResult<PgStore> {
        let config: tokio_postgres::Config = url
            .expose()
            .parse()
            .map_err(|e| StoreError::Db(Box::new(e)))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fieldpay-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Db(Box::new(e)))?;
        let handle = rt.handle().clone();
        let manager = deadpool_postgres::Manager::from_config(
            config,
            NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .config(PoolConfig {
                max_size: pool_size.max(1),
                timeouts: Timeouts {
                    wait: Some(Duration::from_secs(30)),
                    create: Some(Duration::from_secs(10)),
                    recycle: Some(Duration::from_secs(5)),
                },
                ..PoolConfig::default()
            })
            .runtime(PoolRuntime::Tokio1)
            .build()
            .map_err(|e| StoreError::Db(Box::new(e)))?;
        let store = PgStore {
            pool,
            rt: Some(rt),
            handle,
            merchants: Cache::new(CACHE_TTL),
            api_keys: Cache::new(CACHE_TTL),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Runs `f` in one serializable transaction, again (whole) when PostgreSQL could not
    /// order it with a concurrent one; `f` must be safe to run more than once.
    pub(super) fn write<T>(&self, mut f: impl FnMut(&Tx<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let mut attempt = 1;
        loop {
            match self.transaction(IsolationLevel::Serializable, false, &mut f) {
                Err(e) if attempt < MAX_ATTEMPTS && is_retryable(&e) => {
                    attempt += 1;
                    // A random pause, longer as the collisions go on, so the transactions
                    // that collided spread out.
                    let ms = rand::random_range(1..=(4 * attempt as u64).min(200));
                    std::thread::sleep(Duration::from_millis(ms));
                }
                out => return out,
            }
        }
    }

    /// Runs `f` in one read-only transaction: every statement sees the same snapshot.
    pub(super) fn read<T>(&self, mut f: impl FnMut(&Tx<'_>) -> StoreResult<T>) -> StoreResult<T> {
        self.transaction(IsolationLevel::RepeatableRead, true, &mut f)
    }

    fn transaction<T>(
        &self,
        isolation: IsolationLevel,
        read_only: bool,
        f: &mut impl FnMut(&Tx<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let handle = &self.handle;
        let mut client = block_on(handle, self.pool.get())?;
        let tx = block_on(
            handle,
            client
                .build_transaction()
                .isolation_level(isolation)
                .read_only(read_only)
                .start(),
        )?;
        let tx = Tx { tx, handle };
        // On an error the transaction is dropped, which rolls it back.
        let out = f(&tx)?;
        block_on(handle, tx.tx.commit())?;
        Ok(out)
    }

    fn migrate(&self) -> StoreResult<()> {
        block_on(&self.handle, async {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version    BIGINT PRIMARY KEY,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                 )",
            )
            .await?;
            let current: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                    &[],
                )
                .await?
                .get(0);
            let known = MIGRATIONS.last().map(|(v, _)| *v).unwrap_or(0);
            if current > known {
                return Err(StoreError::corrupt(format!(
                    "the database's schema is version {current}, newer than this server knows \
                     ({known}): run the newer server, or restore a matching backup"
                )));
            }
            for (version, sql) in MIGRATIONS {
                if *version > current {
                    tx.batch_execute(sql).await?;
                    tx.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)",
                        &[version],
                    )
                    .await?;
                    tracing::info!(version, "database migrated");
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The schema version after migrations.
    pub fn schema_version(&self) -> StoreResult<i64> {
        self.read(|tx| {
            Ok(tx
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                    &[],
                )?
                .try_get(0)?)
        })
    }
}

/// Waits for `f` on the store's runtime. Store calls belong on blocking threads; one made on
/// an async worker thread (a test, a tool) is moved off it first rather than panicking.
fn block_on<F: std::future::Future>(handle: &tokio::runtime::Handle, f: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| handle.block_on(f))
        }
        _ => handle.block_on(f),
    }
}

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::corrupt(what)
}

pub(super) fn rejected(code: ErrorCode, msg: impl Into<String>) -> StoreError {
    StoreError::rejected(code, msg)
}

/// Takes the change counters of these merchants first thing in a transaction that will log
/// many changes (a group of charges, an import): under `SERIALIZABLE`, the counter row is
/// where a merchant's writers meet, and a transaction that meets another there late (after
/// its other work) is run again whole. Taken first, a collision costs one statement, and
/// once taken the row holds the merchant's other writers until this one commits. Sorted, so
/// two transactions never wait for each other in a circle.
pub(super) fn hold_change_log(tx: &Tx<'_>, merchant_ids: &[&str]) -> StoreResult<()> {
    let mut ids: Vec<&str> = merchant_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let stmts: Vec<Stmt<'_>> = ids
        .iter()
        .map(|id| -> Stmt<'_> {
            (
                "INSERT INTO change_counters (merchant_id, seq) VALUES ($1, 0)
                 ON CONFLICT (merchant_id) DO UPDATE SET seq = change_counters.seq",
                vec![id],
            )
        })
        .collect();
    all_ok(tx.pipeline(&stmts))?;
    Ok(())
}

/// Logs a change of one record for device sync: the merchant's next change number (see
/// `change_counters` in the schema), given to the record's change row.
pub(super) fn changed(tx: &Tx<'_>, merchant_id: &str, entity: &str, id: &str) -> StoreResult<()> {
    changed_many(tx, merchant_id, entity, &[id.to_string()])
}

/// Logs changes of many records of one kind with one statement (imports of thousands of
/// accounts); the records are numbered in the order given.
pub(super) fn changed_many(
    tx: &Tx<'_>,
    merchant_id: &str,
    entity: &str,
    ids: &[String],
) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = changes_sql(entity)?;
    tx.execute(&sql, &[&merchant_id, &entity, &ids])
        .map_err(|e| changes_error(e, ids))?;
    Ok(())
}

/// The statement that logs changes of records of `entity`, with parameters the merchant
/// (`$1`), the entity (`$2`) and the records' ids (`$3`, a text array): it takes as many
/// numbers from the merchant's counter row as there are ids and gives them out in the ids'
/// order. One statement, so it can go in a [`Tx::pipeline`]. A record logged again by a
/// later statement keeps its last number; twice in one statement is an error.
pub(super) fn changes_sql(entity: &str) -> StoreResult<String> {
    Ok(format!(
        "WITH counter AS (
             INSERT INTO change_counters (merchant_id, seq) VALUES ($1, cardinality($3::text[]))
             ON CONFLICT (merchant_id) DO UPDATE SET seq = change_counters.seq + EXCLUDED.seq
             RETURNING seq)
         INSERT INTO changes (merchant_id, entity, entity_id, seq, audience)
         SELECT $1, $2, t.id, counter.seq - cardinality($3::text[]) + t.ord, {}
         FROM counter, unnest($3::text[]) WITH ORDINALITY AS t(id, ord)
         ON CONFLICT (merchant_id, entity, entity_id)
         DO UPDATE SET seq = EXCLUDED.seq, audience = EXCLUDED.audience",
        audience_sql(entity)?
    ))
}

/// The error of a [`changes_sql`] statement, told apart when it is the same id twice in one
/// batch (ON CONFLICT cannot touch a row twice).
fn changes_error(e: StoreError, ids: &[String]) -> StoreError {
    match e {
        StoreError::Db(_) if has_duplicates(ids) => {
            corrupt("a record was logged twice in one change batch")
        }
        other => other,
    }
}

/// Which devices a change of `entity` is for (the `audience` column of migration 0011), as
/// an SQL expression of the merchant (`$1`) and the record's id (`t.id`), read after the
/// record was written.
fn audience_sql(entity: &str) -> StoreResult<&'static str> {
    Ok(match entity {
        "product" => "'*'",
        "account" => {
            "COALESCE((SELECT rep_id FROM accounts WHERE merchant_id = $1 AND id = t.id), '*')"
        }
        "ledger" => {
            "COALESCE((SELECT a.rep_id FROM ledger l JOIN accounts a
                         ON a.merchant_id = l.merchant_id AND a.id = l.account_id
                       WHERE l.merchant_id = $1 AND l.id = t.id), '*')"
        }
        "account_price" => {
            "COALESCE((SELECT rep_id FROM accounts WHERE merchant_id = $1
                       AND id = split_part(t.id, ':', 1)), '*')"
        }
        // `account_id:old_rep_id`: the devices of the rep the account was taken from.
        ACCOUNT_MOVED => "COALESCE(NULLIF(substr(t.id, strpos(t.id, ':') + 1), ''), '*')",
        "order" => {
            "COALESCE((SELECT rep_id FROM orders WHERE merchant_id = $1 AND id = t.id), '-')"
        }
        "charge" => {
            "COALESCE((SELECT rep_id FROM charges WHERE merchant_id = $1 AND id = t.id), '-')"
        }
        "collection" => {
            "COALESCE((SELECT rep_id FROM collections WHERE merchant_id = $1 AND id = t.id), '-')"
        }
        other => return Err(corrupt(&format!("change entity {other}"))),
    })
}

pub(super) use crate::store::sync::ACCOUNT_MOVED;

/// After an account's rep changed from `old_rep`: its ledger and prices are logged again (for
/// the new rep's devices, which have not had them) and an [`ACCOUNT_MOVED`] row is written
/// for the old rep's devices.
pub(super) fn account_moved(
    tx: &Tx<'_>,
    merchant_id: &str,
    account_id: &str,
    old_rep: Option<&str>,
) -> StoreResult<()> {
    let mut ids = Vec::new();
    for r in tx.query(
        "SELECT id FROM ledger WHERE merchant_id = $1 AND account_id = $2 ORDER BY id",
        &[&merchant_id, &account_id],
    )? {
        ids.push(r.try_get::<_, String>(0)?);
    }
    changed_many(tx, merchant_id, "ledger", &ids)?;
    let mut prices = Vec::new();
    for r in tx.query(
        "SELECT product_id FROM account_prices WHERE merchant_id = $1 AND account_id = $2",
        &[&merchant_id, &account_id],
    )? {
        prices.push(format!("{account_id}:{}", r.try_get::<_, String>(0)?));
    }
    changed_many(tx, merchant_id, "account_price", &prices)?;
    changed(
        tx,
        merchant_id,
        ACCOUNT_MOVED,
        &format!("{account_id}:{}", old_rep.unwrap_or_default()),
    )
}

fn has_duplicates(ids: &[String]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    !ids.iter().all(|i| seen.insert(i))
}

/// Counts one text against the quota of `scope` (`$1`) for the clock hour `$2` of the
/// change's time, refusing it past the limit `$3` (no limit when NULL): the statement answers
/// no row then and writes nothing (the count is raised only while it is under the limit; a
/// limit of 0 refuses every text). The scope's first text of a later hour starts its count
/// again (a text stamped with an earlier hour, from an instance whose clock lags, counts in
/// the scope's current one).
const TAKE_TEXT_QUOTA: &str = "INSERT INTO text_quota (scope, hour, count)
     SELECT $1, $2, 1 WHERE $3::BIGINT IS NULL OR $3 > 0
     ON CONFLICT (scope) DO UPDATE
         SET count = CASE WHEN EXCLUDED.hour > text_quota.hour THEN 1 ELSE text_quota.count + 1 END,
             hour = GREATEST(text_quota.hour, EXCLUDED.hour)
         WHERE EXCLUDED.hour > text_quota.hour OR $3::BIGINT IS NULL OR text_quota.count < $3
     RETURNING count";

/// The outbox rows of a change's texts and webhooks (and the texts' quota counts), as
/// statements for one [`Tx::pipeline`] with the change's other writes.
pub(super) struct EffectWrites<'e> {
    merchant_id: &'e str,
    charge_id: Option<&'e str>,
    effects: &'e Effects,
    now: &'e str,
    hour: &'e str,
    kinds: Vec<&'static str>,
    /// Per text: the scopes it counts against with their limits (the payer's phone, then the
    /// merchant; counted even without a limit, so a limit set in the middle of an hour
    /// applies to the texts already sent in it), none for a text without a quota.
    quotas: Vec<Vec<(String, Option<i64>)>>,
}

impl<'e> EffectWrites<'e> {
    pub(super) fn new(
        merchant_id: &'e str,
        charge_id: Option<&'e str>,
        effects: &'e Effects,
        now: &'e str,
    ) -> Self {
        let quotas = effects
            .sms
            .iter()
            .map(|sms| match &sms.quota {
                Some(q) => vec![
                    (
                        format!("phone:{}", sms.to),
                        Some(i64::from(q.per_phone_per_hour)),
                    ),
                    (
                        format!("merchant:{merchant_id}"),
                        q.per_merchant_per_hour.map(i64::from),
                    ),
                ],
                None => Vec::new(),
            })
            .collect();
        EffectWrites {
            merchant_id,
            charge_id,
            effects,
            now,
            hour: &now[..13.min(now.len())],
            kinds: effects.sms.iter().map(|s| s.kind.as_str()).collect(),
            quotas,
        }
    }

    /// Appends the statements to `stmts`; answers where the quota counts are among them,
    /// with their scopes, for [`check_quotas`].
    pub(super) fn push<'s>(&'s self, stmts: &mut Vec<Stmt<'s>>) -> Vec<(usize, &'s str)> {
        let mut counted = Vec::new();
        for ((sms, kind), quotas) in self.effects.sms.iter().zip(&self.kinds).zip(&self.quotas) {
            for (scope, limit) in quotas {
                counted.push((stmts.len(), scope.as_str()));
                stmts.push((TAKE_TEXT_QUOTA, vec![scope, &self.hour, limit]));
            }
            stmts.push((
                "INSERT INTO sms_messages (merchant_id, to_phone, kind, body, charge_id, status, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6)",
                vec![&self.merchant_id, &sms.to, kind, &sms.body, &self.charge_id, &self.now],
            ));
        }
        for w in &self.effects.webhooks {
            stmts.push((
                "INSERT INTO webhook_deliveries
                   (merchant_id, id, event_type, payload, url, status, attempts, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)
                 ON CONFLICT DO NOTHING",
                vec![&self.merchant_id, &w.id, &w.event_type, &w.payload, &w.url, &self.now],
            ));
        }
        counted
    }
}

/// The first quota that refused its text, in the order the texts were counted, among the
/// answers of a pipeline that held [`EffectWrites::push`]'s statements.
pub(super) fn check_quotas(answers: &[Vec<Row>], counted: &[(usize, &str)]) -> StoreResult<()> {
    match counted.iter().find(|(i, _)| answers[*i].is_empty()) {
        Some((_, scope)) => Err(crate::store::outbox::quota_refusal(scope)),
        None => Ok(()),
    }
}

/// Writes a change's texts and webhooks into the outboxes, in the change's transaction (one
/// round trip). A refused quota is an error; the caller's transaction (or savepoint) is
/// undone then, with the rows this wrote.
pub(super) fn apply_effects(
    tx: &Tx<'_>,
    merchant_id: &str,
    charge_id: Option<&str>,
    effects: &Effects,
    now: &str,
) -> StoreResult<()> {
    let writes = EffectWrites::new(merchant_id, charge_id, effects, now);
    let mut stmts = Vec::new();
    let counted = writes.push(&mut stmts);
    if stmts.is_empty() {
        return Ok(());
    }
    let answers = all_ok(tx.pipeline(&stmts))?;
    check_quotas(&answers, &counted)
}

/// A text column as one of the typed ids (`MerchantId`, `ChargeId`, ...).
pub(super) fn id_at<T: From<String>>(r: &Row, i: usize) -> StoreResult<T> {
    Ok(r.try_get::<_, String>(i).map(T::from)?)
}

/// A nullable text column as an optional typed id.
pub(super) fn opt_id_at<T: From<String>>(r: &Row, i: usize) -> StoreResult<Option<T>> {
    Ok(r.try_get::<_, Option<String>>(i)?.map(T::from))
}

/// A text column holding a name of a stored-by-name enum (`pending`, `bill`, ...).
pub(super) fn name_at<T>(r: &Row, i: usize, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    let s: String = r.try_get(i)?;
    parse(&s).ok_or_else(|| corrupt(&format!("unknown value {s:?} in column {i}")))
}

/// A BIGINT column as a count or small number.
pub(super) fn u32_at(r: &Row, i: usize) -> StoreResult<u32> {
    let v: i64 = r.try_get(i)?;
    u32::try_from(v).map_err(|_| corrupt(&format!("column {i} out of range: {v}")))
}

/// For tests: a new empty database on the PostgreSQL server that `FIELDPAY_TEST_DATABASE_URL`
/// names (scripts/test.sh starts a throwaway one), answered as a connection URL. Panics with
/// a clear message when the variable is not set or the server cannot be reached.
#[doc(hidden)]
pub fn fresh_test_database() -> Secret {
    let base = std::env::var("FIELDPAY_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "FIELDPAY_TEST_DATABASE_URL is not set: the PostgreSQL tests need a server they may \
             create databases on (scripts/test.sh starts a throwaway one; or \
             `eval $(scripts/pg-test.sh start)`)"
        )
    });
    let name = format!("fieldpay_test_{}", uuid::Uuid::new_v4().simple());
    let create = format!("CREATE DATABASE {name}");
    let base_for_thread = base.clone();
    // A thread of its own: the caller may be on an async thread.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&base_for_thread, NoTls)
                .await
                .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server: {e}"));
            let driver = tokio::spawn(conn);
            client
                .batch_execute(&create)
                .await
                .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
            drop(client);
            let _ = driver.await;
        })
    })
    .join()
    .expect("creating the test database");
    Secret::from(with_database(&base, &name))
}

/// `base` (a URL) with its database name replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    let (without_query, query) = match base.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (base, None),
    };
    // postgres://user@host:port/db → keep everything up to the path.
    let after_scheme = without_query.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = without_query[after_scheme..]
        .find('/')
        .map(|i| i + after_scheme)
        .unwrap_or(without_query.len());
    let mut url = format!("{}/{name}", &without_query[..path_start]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}
