//! Rows 1-3, which share their data: account search, first sync (with growth at three
//! sizes) and delta sync. For each size a server data folder is loaded through the Store, the
//! release server serves it on loopback, and a fresh device (the real `fieldpay_core::Engine`,
//! signed in as rep1, refresh token in the OS keyring) pulls everything with `sync_now`.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldpay_core::search::bench_support::{self, ClassTiming};
use fieldpay_core::search::SearchDoc;
use fieldpay_core::{Engine, EngineConfig};
use fieldpay_server::store::RecordStore;

use crate::gen::{self, Scale};
use crate::report::{RowResult, Verdict};
use crate::search_baselines::{self, BaselineClass, Baselines};
use crate::server::{self, ServerChild};
use crate::stats::{self, bytes, group, median, ms, Summary};
use crate::sync_baselines;
use crate::Ctx;

/// Search results asked for, as the app's account search asks (`ui`: LIMIT = 50).
pub const SEARCH_LIMIT: usize = 50;
/// The naive first-sync client (a transaction per row) runs up to this size only: beyond it
/// it takes minutes and says nothing more than the smaller sizes do.
pub const NAIVE_MAX_ACCOUNTS: usize = 50_000;
/// The query classes the issue names.
pub const TARGET_CLASSES: &[&str] = &["name_infix", "initials", "phone"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Which {
    pub search: bool,
    pub sync: bool,
    pub delta: bool,
}

/// One first sync of a fresh device.
#[derive(Debug, Clone)]
struct SyncRun {
    seconds: f64,
    rows: u64,
    db_bytes: u64,
    wal_bytes: u64,
    server_cpu: f64,
    client_cpu: f64,
}

/// A query class timed on the engine path: every run, and each query's best round.
struct EngineClass {
    class: String,
    all: Summary,
    best: Summary,
    hits: f64,
}

struct SizeResult {
    scale: Scale,
    /// A first sync in a device process of its own: resident memory before the sync, its
    /// peak and after the sync, bytes.
    device_memory: Option<(u64, u64, u64)>,
    load: gen::LoadReport,
    runs: Vec<SyncRun>,
    engine_search: Vec<EngineClass>,
    hit_reads: HitReads,
    page_query: PageQuery,
    index_search: Vec<ClassTiming>,
    index_build: Duration,
    /// The same accounts and queries through SQLite FTS5 (trigram) and `LIKE` (issue 17).
    fts: Vec<BaselineClass>,
    like: Vec<BaselineClass>,
    fts_build: Duration,
    /// First sync's floor (the pulled changes from memory, one transaction) and a naive
    /// client (pages of 1,000 as JSON, a transaction per row: its time and rows).
    floor: Duration,
    naive: Option<(Duration, u64)>,
    /// The first sync of a rep's device (the sync scope: [`gen::FIELD_REP`]'s book).
    rep_sync: Option<RepSync>,
}

/// A rep's first sync at one size: the median time of its runs and what the device got.
#[derive(Clone, Copy)]
struct RepSync {
    seconds: f64,
    runs: usize,
    accounts: u64,
    rows: u64,
}

/// A fresh device signed in as `login` (`manager`: the whole merchant; a plain rep: its
/// own clients and the catalogue).
pub async fn open_device(dir: &Path, base: &str, login: &str) -> anyhow::Result<Arc<Engine>> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let e = Engine::open(EngineConfig {
        data_dir: dir.to_path_buf(),
        server_url: base.to_string(),
        device_name: "bench".into(),
    })?;
    e.login("demo", login, &fieldpay_protocol::Secret::from("demo1234"))
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "sign-in failed ({err}); the engine needs the OS keyring: run inside \
             scripts/bench.sh (a D-Bus session with gnome-keyring)"
            )
        })?;
    Ok(e)
}

/// The `device-sync` command: signs in as the manager, makes a first sync of `base` into
/// `dir` in this process (which holds nothing else, as the app's process holds its engine),
/// then prints this process's resident memory before the sync and its peak (VmHWM), bytes.
pub async fn device_sync(base: &str, dir: &Path) -> anyhow::Result<()> {
    let engine = open_device(dir, base, "manager").await?;
    let me = std::process::id();
    let (before, _) = stats::rss(me).ok_or_else(|| anyhow::anyhow!("no /proc/self/status"))?;
    let st = engine.sync_now().await?;
    anyhow::ensure!(
        st.queued == 0 && st.last_error.is_none(),
        "sync ended badly: {st:?}"
    );
    let (after, peak) = stats::rss(me).ok_or_else(|| anyhow::anyhow!("no /proc/self/status"))?;
    println!("{before} {peak} {after}");
    Ok(())
}

/// Runs [`device_sync`] in a child process (this binary's `device-sync`): (resident memory
/// before the sync, peak, after), bytes.
fn device_memory(dir: &Path, base: &str) -> anyhow::Result<(u64, u64, u64)> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("device-sync")
        .arg("--url")
        .arg(base)
        .arg("--dir")
        .arg(dir)
        .stderr(std::process::Stdio::inherit())
        .output()?;
    let _ = std::fs::remove_dir_all(dir);
    anyhow::ensure!(out.status.success(), "device-sync failed: {}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().map(str::parse::<u64>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(before)), Some(Ok(peak)), Some(Ok(after))) => Ok((before, peak, after)),
        _ => anyhow::bail!("device-sync printed {text:?}"),
    }
}

/// Rows of the device database (accounts, products, ledger) and the sizes of the database
/// file and of its WAL.
pub(crate) fn device_counts(dir: &Path) -> anyhow::Result<(u64, u64, u64, u64, u64)> {
    let c = rusqlite::Connection::open_with_flags(
        dir.join("fieldpay-device.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let n = |t: &str| -> anyhow::Result<u64> {
        Ok(c.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))?)
    };
    Ok((
        n("accounts")?,
        n("products")?,
        n("ledger")?,
        server::files_size(dir, "fieldpay-device.db")
            - server::files_size(dir, "fieldpay-device.db-"),
        server::files_size(dir, "fieldpay-device.db-wal"),
    ))
}

/// Times `Engine::search_accounts` (index, then the account and its balance read from the
/// device database for every hit) over the query mix: every run, and each query's best of
/// `rounds` (which removes preemption by other processes on a busy machine).
fn engine_search(
    engine: &Engine,
    mix: &[(&'static str, Vec<String>)],
    rounds: usize,
) -> anyhow::Result<Vec<EngineClass>> {
    for (_, qs) in mix {
        for q in qs {
            std::hint::black_box(engine.search_accounts(q, SEARCH_LIMIT)?);
        }
    }
    let mut out = Vec::new();
    for (class, qs) in mix {
        let mut times = Vec::new();
        let mut best = vec![Duration::MAX; qs.len()];
        let mut hits = 0usize;
        for _ in 0..rounds {
            for (i, q) in qs.iter().enumerate() {
                let t = Instant::now();
                let r = engine.search_accounts(q, SEARCH_LIMIT)?;
                let e = t.elapsed();
                times.push(e);
                best[i] = best[i].min(e);
                hits += r.len();
            }
        }
        let n = times.len().max(1);
        out.push(EngineClass {
            class: class.to_string(),
            all: Summary::of(&times),
            best: Summary::of(&best),
            hits: hits as f64 / n as f64,
        });
    }
    Ok(out)
}

use fieldpay_core::db::ACCOUNT_COLS;

/// The device-database half of the engine path, measured alone three ways for the hits of
/// the target classes' queries: the former way (two statements prepared per hit, the balance
/// summed from the hit's ledger entries), per hit with cached statements and the kept
/// balance (`account_keys`), and as the engine reads them now (`Db::account_summaries`: one
/// statement for the hits' rows, one for their balances).
#[derive(Debug, Clone, Copy, Default)]
struct HitReads {
    hits: f64,
    as_now: Summary,
    cached: Summary,
    one_query: Summary,
}

fn hit_reads(
    engine: &Engine,
    dev_dir: &Path,
    mix: &[(&'static str, Vec<String>)],
) -> anyhow::Result<HitReads> {
    let c = rusqlite::Connection::open_with_flags(
        dev_dir.join("fieldpay-device.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let db = fieldpay_core::db::Db::open(&dev_dir.join("fieldpay-device.db"))?;
    let summed_sql = "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE account = (SELECT n FROM account_keys WHERE id = ?1)";
    let kept_sql =
        "SELECT b.balance FROM account_keys k JOIN balances b ON b.n = k.n WHERE k.id = ?1";
    let account_sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = ?1");
    let mut sets = Vec::new();
    for (class, qs) in mix {
        if TARGET_CLASSES.contains(class) {
            for q in qs {
                let ids: Vec<String> = engine
                    .search_accounts(q, SEARCH_LIMIT)?
                    .into_iter()
                    .map(|h| h.account.id)
                    .collect();
                if !ids.is_empty() {
                    sets.push(ids);
                }
            }
        }
    }
    let (mut now_t, mut cached_t, mut one_t) = (Vec::new(), Vec::new(), Vec::new());
    let mut total = 0i64;
    for round in 0..4 {
        for ids in &sets {
            let t = Instant::now();
            for id in ids {
                let key = fieldpay_core::db::ledger::pack_id(id);
                let a = c.query_row(&account_sql, [&key], fieldpay_core::db::account_row)?;
                let b: i64 = c.query_row(summed_sql, [&key], |r| r.get(0))?;
                total += a.credit_limit + b;
            }
            let e1 = t.elapsed();
            let t = Instant::now();
            for id in ids {
                let key = fieldpay_core::db::ledger::pack_id(id);
                let a = c
                    .prepare_cached(&account_sql)?
                    .query_row([&key], fieldpay_core::db::account_row)?;
                let b: i64 = c
                    .prepare_cached(kept_sql)?
                    .query_row([&key], |r| r.get(0))
                    .unwrap_or(0);
                total += a.credit_limit + b;
            }
            let e2 = t.elapsed();
            let t = Instant::now();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            for (a, b) in db.account_summaries(&refs)? {
                total += a.credit_limit + b;
            }
            let e3 = t.elapsed();
            if round > 0 {
                now_t.push(e1);
                cached_t.push(e2);
                one_t.push(e3);
            }
        }
    }
    std::hint::black_box(total);
    Ok(HitReads {
        hits: sets.iter().map(Vec::len).sum::<usize>() as f64 / sets.len().max(1) as f64,
        as_now: Summary::of(&now_t),
        cached: Summary::of(&cached_t),
        one_query: Summary::of(&one_t),
    })
}

/// The server's pull-page query (`SqliteStore::pull`) run alone on the loaded server
/// database: as the server runs it, and with the merchant filter kept out of index choice
/// (`+merchant_id`: SQLite then walks `changes` by `seq`, which an index on
/// `changes (merchant_id, seq)` would also give). Median ms of 5 runs at the middle of the
/// change log, and the plan.
#[derive(Debug, Clone, Default)]
struct PageQuery {
    changes: u64,
    as_is_ms: f64,
    range_ms: f64,
    plan: String,
}

fn page_query(data: &Path) -> anyhow::Result<PageQuery> {
    let c = rusqlite::Connection::open_with_flags(
        data.join("fieldpay.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let (changes, max_seq, merchant): (u64, i64, String) = c.query_row(
        "SELECT COUNT(*), MAX(seq), (SELECT id FROM merchants WHERE code = 'demo') FROM changes",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let as_is = "SELECT seq, entity, entity_id FROM changes WHERE merchant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
    let range = "SELECT seq, entity, entity_id FROM changes WHERE +merchant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
    let plan: Vec<String> = c
        .prepare(&format!("EXPLAIN QUERY PLAN {as_is}"))?
        .query_map(rusqlite::params![merchant, 0, 2001], |r| {
            r.get::<_, String>(3)
        })?
        .collect::<rusqlite::Result<_>>()?;
    let time = |sql: &str| -> anyhow::Result<f64> {
        let mut v = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let mut st = c.prepare_cached(sql)?;
            let n = st
                .query_map(rusqlite::params![merchant, max_seq / 2, 2001], |r| {
                    r.get::<_, i64>(0)
                })?
                .count();
            std::hint::black_box(n);
            v.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok(median(&v))
    };
    Ok(PageQuery {
        changes,
        as_is_ms: time(as_is)?,
        range_ms: time(range)?,
        plan: plan.join("; "),
    })
}

pub(crate) fn runs_for(ctx: &Ctx, accounts: usize) -> usize {
    if let Some(n) = ctx.sync_runs {
        n.max(1)
    } else if ctx.quick {
        2
    } else if accounts >= 200_000 {
        1
    } else {
        3
    }
}

pub async fn run(ctx: &Ctx, which: Which) -> anyhow::Result<Vec<RowResult>> {
    let sizes: Vec<usize> = match &ctx.sizes {
        Some(s) => s.clone(),
        None if ctx.quick => vec![1_000, 2_000, 5_000],
        None => vec![10_000, 50_000, 200_000],
    };
    let started = Instant::now();
    let load_before = stats::loadavg();
    let mut results = Vec::new();
    let mut delta: Option<(Summary, Vec<f64>, String)> = None;
    for (si, &n) in sizes.iter().enumerate() {
        let largest = si + 1 == sizes.len();
        let scale = if n == 200_000 {
            Scale::FULL
        } else {
            Scale::for_accounts(n)
        };
        let data = ctx.work.join(format!("server-{n}"));
        eprintln!(
            "[data] loading {} accounts, {} products, {} ledger entries into {} ...",
            scale.accounts,
            scale.products,
            scale.ledger,
            data.display()
        );
        let (accs, load) = server::prepare_data(&data, scale, ctx.seed).await?;
        eprintln!(
            "[data] loaded in {:.1} s ({:.0} rows/s; accounts {:.1} s, products {:.1} s, ledger {:.1} s)",
            load.seconds,
            scale.rows() as f64 / load.seconds,
            load.accounts_seconds,
            load.products_seconds,
            load.ledger_seconds
        );
        let page_query = page_query(&data)?;
        eprintln!(
            "[data] server pull-page query over {} changes: {} as the server runs it ({}), {} with a seq range plan",
            page_query.changes,
            ms(page_query.as_is_ms),
            page_query.plan,
            ms(page_query.range_ms)
        );
        let docs: Vec<SearchDoc> = accs.iter().map(|a| a.doc.clone()).collect();
        drop(accs);
        let srv = ServerChild::start(
            &ctx.server_bin,
            &data,
            &ctx.work.join(format!("server-{n}.log")),
        )
        .await?;
        let mut runs = Vec::new();
        let mut keep: Option<(Arc<Engine>, std::path::PathBuf)> = None;
        let nruns = runs_for(ctx, n);
        for r in 0..nruns {
            let dir = ctx.work.join(format!("device-{n}-{r}"));
            let engine = open_device(&dir, &srv.base, "manager").await?;
            let (s0, c0) = (srv.cpu_seconds(), stats::cpu_seconds("self").unwrap_or(0.0));
            let t = Instant::now();
            let st = engine.sync_now().await?;
            let seconds = t.elapsed().as_secs_f64();
            let (s1, c1) = (srv.cpu_seconds(), stats::cpu_seconds("self").unwrap_or(0.0));
            anyhow::ensure!(
                st.queued == 0 && st.last_error.is_none(),
                "sync ended badly: {st:?}"
            );
            let (a, p, l, db, wal) = device_counts(&dir)?;
            anyhow::ensure!(
                a as usize >= scale.accounts
                    && p as usize >= scale.products
                    && l as usize >= scale.ledger,
                "device has {a} accounts, {p} products, {l} ledger entries: not everything arrived"
            );
            let run = SyncRun {
                seconds,
                rows: a + p + l,
                db_bytes: db,
                wal_bytes: wal,
                server_cpu: s1 - s0,
                client_cpu: c1 - c0,
            };
            eprintln!(
                "[sync] {n}: run {r}: {:.1} s, {} rows, {:.0} rows/s, device db {} + wal {}, server cpu {:.1} s, client cpu {:.1} s (load {})",
                run.seconds,
                run.rows,
                run.rows as f64 / run.seconds,
                bytes(run.db_bytes),
                bytes(run.wal_bytes),
                run.server_cpu,
                run.client_cpu,
                stats::loadavg()
            );
            runs.push(run);
            if r == 0 {
                keep = Some((engine, dir));
            } else {
                drop(engine);
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        // The first sync's floor and a naive client, against the same server; a rep's
        // first sync (its own clients only).
        let (floor, naive) = if which.sync {
            sync_floor_and_naive(ctx, n, &srv.base).await?
        } else {
            (Duration::ZERO, None)
        };
        let device_memory = if which.sync {
            let m = device_memory(&ctx.work.join(format!("device-memory-{n}")), &srv.base)?;
            eprintln!(
                "[sync] {n}: device process: {} before the first sync, {} peak (load {})",
                bytes(m.0),
                bytes(m.1),
                stats::loadavg()
            );
            Some(m)
        } else {
            None
        };
        let rep_sync = if which.sync {
            Some(rep_first_sync(ctx, n, &srv.base).await?)
        } else {
            None
        };
        let (engine, dev_dir) = keep.expect("one run at least");
        // Search: the engine path on the synced device, and the index alone on the same docs.
        let search = if which.search {
            Some(search_size(ctx, n, &engine, &dev_dir, docs)?)
        } else {
            None
        };
        let SearchSize {
            engine_search,
            hit_reads,
            fts,
            like,
            fts_build,
            index_search,
            index_build,
        } = search.unwrap_or_default();
        for c in &engine_search {
            if TARGET_CLASSES.contains(&c.class.as_str()) {
                eprintln!(
                    "[search] {n}: engine {}: p50 {} p99 {} (best of rounds: p50 {} p99 {}; {:.0} hits)",
                    c.class,
                    ms(c.all.p50_ms),
                    ms(c.all.p99_ms),
                    ms(c.best.p50_ms),
                    ms(c.best.p99_ms),
                    c.hits
                );
            }
        }
        if largest && which.delta {
            delta = Some(delta_sync(ctx, &engine, &dev_dir, &data, &srv.base, scale).await?);
        }
        drop(engine);
        if !ctx.keep_data {
            let _ = std::fs::remove_dir_all(&dev_dir);
        }
        srv.stop();
        if !ctx.keep_data {
            let _ = std::fs::remove_dir_all(&data);
        }
        results.push(SizeResult {
            scale,
            device_memory,
            load,
            runs,
            engine_search,
            hit_reads,
            page_query,
            index_search,
            index_build,
            fts,
            like,
            fts_build,
            floor,
            naive,
            rep_sync,
        });
    }
    let load_after = stats::loadavg();
    let date = crate::now_utc();
    let seconds = started.elapsed().as_secs_f64();
    let mut rows = Vec::new();
    if which.search {
        rows.push(search_row(
            &results,
            &load_before,
            &load_after,
            &date,
            seconds,
        ));
    }
    if which.sync {
        rows.push(sync_row(
            &results,
            &load_before,
            &load_after,
            &date,
            seconds,
        ));
        rows.push(rep_sync_row(&results, &load_before, &load_after, &date));
    }
    if let (true, Some((s, per_run, detail))) = (which.delta, delta) {
        rows.push(delta_row(
            s,
            &per_run,
            detail,
            &load_before,
            &load_after,
            &date,
        ));
    }
    Ok(rows)
}

/// A rep's first sync at `n` accounts: fresh devices signed in as [`gen::FIELD_REP`] (one
/// client in [`gen::FIELD_REP_SHARE`]); the median of 3 runs (1 with `--quick`).
async fn rep_first_sync(ctx: &Ctx, n: usize, base: &str) -> anyhow::Result<RepSync> {
    let runs = if ctx.quick { 1 } else { 3 };
    let mut times = Vec::with_capacity(runs);
    let mut got = (0, 0);
    for r in 0..runs {
        let dir = ctx.work.join(format!("rep-device-{n}-{r}"));
        let engine = open_device(&dir, base, gen::FIELD_REP).await?;
        let t = Instant::now();
        let st = engine.sync_now().await?;
        times.push(t.elapsed().as_secs_f64());
        anyhow::ensure!(
            st.queued == 0 && st.last_error.is_none(),
            "rep sync ended badly: {st:?}"
        );
        drop(engine);
        let (a, p, l, _, _) = device_counts(&dir)?;
        let want = n.div_ceil(gen::FIELD_REP_SHARE) as u64;
        anyhow::ensure!(
            a.abs_diff(want) <= 1,
            "the rep's device has {a} accounts, want its {want}"
        );
        got = (a, a + p + l);
        let _ = std::fs::remove_dir_all(&dir);
    }
    eprintln!(
        "[sync] {n}: rep's first sync {} ({} accounts, {} rows)",
        ms(median(&times) * 1e3),
        got.0,
        got.1
    );
    Ok(RepSync {
        seconds: median(&times),
        runs,
        accounts: got.0,
        rows: got.1,
    })
}

/// Row 14: the sync scope (issue 17) — a rep's first sync of its own clients at each size.
fn rep_sync_row(
    results: &[SizeResult],
    load_before: &str,
    load_after: &str,
    date: &str,
) -> RowResult {
    let last = results
        .last()
        .and_then(|r| r.rep_sync.map(|s| (r, s)))
        .map(|(r, s)| (r.scale.accounts, s));
    let (checks, measured) = match last {
        Some((n, s)) => (
            vec![(
                s.seconds <= 1.0,
                format!("{} (×{:.1} of 1 s)", ms(s.seconds * 1e3), s.seconds),
            )],
            format!(
                "{} for {} clients of {} ({} rows)",
                ms(s.seconds * 1e3),
                group(s.accounts),
                group(n as u64),
                group(s.rows)
            ),
        ),
        None => (vec![(false, "not measured".into())], "not measured".into()),
    };
    let mut d = String::new();
    let _ = writeln!(
        d,
        "The same server and data as row 2. The device signs in as `{}`, a plain rep assigned \
         one generated client in {} (2,000 of 200k); its pull reads only the change rows for \
         it (audience `*`: products, unassigned clients; or the rep) through the \
         `changes_audience` index, so the page is its clients, their ledgers and the \
         catalogue. Time: one `Engine::sync_now` on a fresh device, the median of the runs.\n",
        gen::FIELD_REP,
        gen::FIELD_REP_SHARE
    );
    let _ = writeln!(
        d,
        "| merchant's accounts | rep's clients | rows on the device | first sync (median) | runs |"
    );
    let _ = writeln!(d, "|---|---|---|---|---|");
    for r in results {
        if let Some(s) = r.rep_sync {
            let _ = writeln!(
                d,
                "| {} | {} | {} | {} | {} |",
                group(r.scale.accounts as u64),
                group(s.accounts),
                group(s.rows),
                ms(s.seconds * 1e3),
                s.runs
            );
        }
    }
    RowResult {
        order: 14,
        what: "a rep's first sync: its 2,000 clients (of 200k) with their ledgers and the catalogue, over loopback".into(),
        target: "<= 1 s".into(),
        measured,
        verdict: Verdict::from_checks(&checks),
        detail: d,
        load_before: load_before.into(),
        load_after: load_after.into(),
        date: date.into(),
        seconds: results
            .iter()
            .filter_map(|r| r.rep_sync.map(|s| s.seconds * s.runs as f64))
            .sum(),
    }
}

/// The search measurements at one size.
#[derive(Default)]
struct SearchSize {
    engine_search: Vec<EngineClass>,
    hit_reads: HitReads,
    fts: Vec<BaselineClass>,
    like: Vec<BaselineClass>,
    fts_build: Duration,
    index_search: Vec<ClassTiming>,
    index_build: Duration,
}

/// Search at `n` accounts: the engine path on the synced device, the device-database reads
/// alone, the baselines (FTS5 trigram, LIKE) and the index alone, over one query mix.
fn search_size(
    ctx: &Ctx,
    n: usize,
    engine: &Engine,
    dev_dir: &Path,
    docs: Vec<SearchDoc>,
) -> anyhow::Result<SearchSize> {
    let mix = bench_support::query_mix(&docs, if ctx.quick { 20 } else { 100 }, ctx.seed);
    let engine_search = engine_search(engine, &mix, if ctx.quick { 2 } else { 3 })?;
    let hit_reads = hit_reads(engine, dev_dir, &mix)?;
    // The baselines, on the same accounts and queries (LIKE scans: one round).
    let path = ctx.work.join(format!("baseline-{n}.db"));
    let base = Baselines::build(&path, &docs)?;
    let rounds = if ctx.quick { 2 } else { 3 };
    let fts = search_baselines::time_mix(&mix, rounds, |q| base.fts(q, SEARCH_LIMIT))?;
    let like = search_baselines::time_mix(&mix, 1, |q| base.like(q, SEARCH_LIMIT))?;
    let fts_build = base.fts_build;
    drop(base);
    let _ = std::fs::remove_file(&path);
    let (index, index_build) = bench_support::timed_build(docs);
    let index_search = bench_support::run_query_mix(&index, &mix, SEARCH_LIMIT, 10);
    Ok(SearchSize {
        engine_search,
        hit_reads,
        fts,
        like,
        fts_build,
        index_search,
        index_build,
    })
}

/// The first sync's floor and a naive client at `n` accounts (see [`sync_baselines`]).
async fn sync_floor_and_naive(
    ctx: &Ctx,
    n: usize,
    base: &str,
) -> anyhow::Result<(Duration, Option<(Duration, u64)>)> {
    let token = sync_baselines::login(base, "manager").await?;
    let (changes, cursor) = sync_baselines::pull_all(base, &token, 20_000).await?;
    let floor = sync_baselines::floor(&ctx.work.join(format!("floor-{n}")), changes, cursor)?;
    eprintln!(
        "[sync] {n}: floor {:.2} s (load {})",
        floor.as_secs_f64(),
        stats::loadavg()
    );
    let naive = if n <= NAIVE_MAX_ACCOUNTS {
        let (t, rows) =
            sync_baselines::naive(&ctx.work.join(format!("naive-{n}")), base, &token).await?;
        eprintln!(
            "[sync] {n}: naive client {:.1} s for {rows} rows",
            t.as_secs_f64()
        );
        Some((t, rows))
    } else {
        None
    };
    Ok((floor, naive))
}

/// 100 changes on the server (40 accounts, 10 products, 50 ledger entries), then one
/// `sync_now`; repeated.
async fn delta_sync(
    ctx: &Ctx,
    engine: &Engine,
    dev_dir: &Path,
    data: &Path,
    base: &str,
    scale: Scale,
) -> anyhow::Result<(Summary, Vec<f64>, String)> {
    let store = server::open_store(data)?;
    let mid = server::demo_merchant(&store)?;
    let accounts = gen::accounts(scale.accounts, ctx.seed);
    let products = gen::products(scale.products, ctx.seed);
    let all = store.accounts(&mid)?;
    let ids: Vec<String> = all.iter().map(|a| a.id.clone()).collect();
    drop(all);
    let (_, _, ledger_before, _, _) = device_counts(dev_dir)?;
    let server_db = rusqlite::Connection::open_with_flags(
        data.join("fieldpay.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let http = reqwest::Client::new();
    let mut raw_pull = Vec::new();
    // The same pull as the rep's device makes it (the rep's token: a rep-scoped page).
    let rep_token = crate::sync_baselines::login(base, "rep1").await?;
    let mut rep_pull = Vec::new();
    let runs = if ctx.quick { 5 } else { 20 };
    let mut times = Vec::new();
    let mut per_run = Vec::new();
    for r in 0..runs {
        let accs: Vec<_> = (0..40)
            .map(|k| {
                let mut a = accounts[(r * 40 + k) * 7919 % accounts.len()]
                    .account
                    .clone();
                a.credit_limit += 1_000_000 * (r as i64 + 1);
                a.address = format!("{} (변경 {r})", a.address);
                a
            })
            .collect();
        let prods: Vec<_> = (0..10)
            .map(|k| {
                let mut p = products[(r * 10 + k) * 613 % products.len()].clone();
                p.unit_price += 100 * (r as i64 + 1);
                p
            })
            .collect();
        let ledger = gen::ledger_range(
            scale.ledger + r * 50,
            scale.ledger + r * 50 + 50,
            &ids,
            ctx.seed,
        );
        let cursor: i64 =
            server_db.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
                r.get(0)
            })?;
        store.upsert_accounts(&mid, &accs)?;
        store.upsert_products(&mid, &prods)?;
        store.add_ledger_batch(&mid, &ledger)?;
        let t = Instant::now();
        let st = engine.sync_now().await?;
        let e = t.elapsed();
        anyhow::ensure!(st.last_error.is_none(), "delta sync failed: {st:?}");
        times.push(e);
        per_run.push(e.as_secs_f64() * 1e3);
        // The same 100 changes again, as one bare HTTP pull (server + transport + JSON only).
        let t = Instant::now();
        let page: fieldpay_protocol::sync::SyncPage = http
            .get(format!("{base}/v1/sync?cursor={cursor}&limit=2000"))
            .bearer_auth(fieldpay_server::demo::DEMO_API_KEY)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        raw_pull.push(t.elapsed());
        let t = Instant::now();
        let as_rep: fieldpay_protocol::sync::SyncPage = http
            .get(format!("{base}/v1/sync?cursor={cursor}&limit=2000"))
            .bearer_auth(&rep_token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        rep_pull.push(t.elapsed());
        std::hint::black_box(as_rep);
        anyhow::ensure!(
            page.changes.len() == 100,
            "the server had {} changes after cursor {cursor}, expected 100",
            page.changes.len()
        );
    }
    let (_, _, ledger_after, _, _) = device_counts(dev_dir)?;
    let raw = Summary::of(&raw_pull);
    let rep_raw = Summary::of(&rep_pull);
    anyhow::ensure!(
        ledger_after - ledger_before == 50 * runs as u64,
        "delta syncs brought {} ledger entries, expected {}",
        ledger_after - ledger_before,
        50 * runs
    );
    let s = Summary::of(&times);
    eprintln!(
        "[delta] {runs} runs of 100 changes: p50 {} p99 {}",
        ms(s.p50_ms),
        ms(s.p99_ms)
    );
    let detail = format!(
        "Device: the one that just did the first sync of {} accounts (its search index holds \
         them all). Each run writes 100 changes on the server through the Store (40 account \
         updates, 10 product price changes, 50 new ledger entries), then times one \
         `Engine::sync_now` (push: nothing queued; pull: one page; local write; search index \
         update). {runs} runs; the device's ledger grew by exactly {} entries.\n\n\
         For comparison, the same 100 changes fetched again by a bare HTTP client \
         (`GET /v1/sync?cursor=…`, JSON decoded, nothing stored) with the merchant's API key: \
         p50 {}, p99 {}; with the rep's own token (the page scoped to the rep, as the device \
         asks for it): p50 {}, p99 {}. The rest of `sync_now` is on the device.\n",
        group(scale.accounts as u64),
        50 * runs,
        ms(raw.p50_ms),
        ms(raw.p99_ms),
        ms(rep_raw.p50_ms),
        ms(rep_raw.p99_ms)
    );
    eprintln!(
        "[delta] bare pull: API key p50 {} / p99 {}; rep token p50 {} / p99 {}",
        ms(raw.p50_ms),
        ms(raw.p99_ms),
        ms(rep_raw.p50_ms),
        ms(rep_raw.p99_ms)
    );
    Ok((s, per_run, detail))
}

fn class_line(name: &str, s: &Summary) -> String {
    format!("{name} {} / {}", ms(s.p50_ms), ms(s.p99_ms))
}

fn search_row(
    results: &[SizeResult],
    load_before: &str,
    load_after: &str,
    date: &str,
    seconds: f64,
) -> RowResult {
    let last = results.last().expect("sizes");
    let engine = |c: &str| last.engine_search.iter().find(|k| k.class == c);
    let mut checks = Vec::new();
    let mut headline = Vec::new();
    let mut quiet = Vec::new();
    for c in TARGET_CLASSES {
        let Some(k) = engine(c) else { continue };
        let s = k.all;
        headline.push(class_line(&c.replace('_', " "), &s));
        quiet.push(class_line(&c.replace('_', " "), &k.best));
        checks.push((
            s.p99_ms <= 1.0,
            format!("{c} p99 {} (×{:.1})", ms(s.p99_ms), s.p99_ms),
        ));
    }
    // At least 5x faster than FTS5 trigram at p99 for a name infix (issue 17).
    let fts_ratio = |c: &str| -> Option<f64> {
        let e = engine(c)?;
        let f = last.fts.iter().find(|k| k.class == c)?;
        Some(f.all.p99_ms / e.all.p99_ms.max(1e-6))
    };
    if let Some(r) = fts_ratio("name_infix") {
        checks.push((
            r >= 5.0,
            format!("name infix {r:.1}x faster than FTS5 at p99"),
        ));
        headline.push(format!("{r:.1}x FTS5 trigram's p99 on name infix"));
    }
    let idx: Vec<String> = TARGET_CLASSES
        .iter()
        .filter_map(|c| last.index_search.iter().find(|t| t.class == *c))
        .map(|t| {
            format!(
                "{} {} / {}",
                t.class.replace('_', " "),
                ms(t.p50.as_secs_f64() * 1e3),
                ms(t.p99.as_secs_f64() * 1e3)
            )
        })
        .collect();
    let measured = format!(
        "engine path: {} (best of rounds: {}); index alone: {}",
        headline.join(", "),
        quiet.join(", "),
        idx.join(", ")
    );
    let mut d = String::new();
    let _ = writeln!(
        d,
        "Two paths, both with limit {SEARCH_LIMIT} (what the app's account search asks):\n\n\
         - **engine path** — `Engine::search_accounts` on the device that did the first sync: \
         the in-memory index, then for every hit the account row and its balance (sum of its \
         ledger) read from the device's SQLite database. This is what the rep waits for; the \
         verdict is on this path, on every run. `best` = each query's fastest of 3 rounds \
         (removes preemption by the other processes of this shared machine).\n\
         - **index alone** — `fieldpay_core::search::SearchIndex` built from the same documents \
         with `bench_support::timed_build`, timed with `bench_support::run_query_mix` (10 rounds; \
         `best` as above).\n\n\
         Queries: `bench_support::query_mix` over the generated accounts (fixed queries plus \
         windows of real names, initials of real names, real phone digits), 100 per class; \
         the three classes of the target in bold.\n"
    );
    for r in results {
        let _ = writeln!(
            d,
            "### {} accounts\n\nIndex build: {}.\n\n| class | engine p50 | engine p99 | engine best p50 | engine best p99 | hits (mean) | index p50 | index p99 | index best p99 |\n|---|---|---|---|---|---|---|---|---|",
            group(r.scale.accounts as u64),
            ms(r.index_build.as_secs_f64() * 1e3)
        );
        for k in &r.engine_search {
            let it = r.index_search.iter().find(|t| t.class == k.class);
            let f = |d: Option<Duration>| d.map(|d| ms(d.as_secs_f64() * 1e3)).unwrap_or_default();
            let bold = if TARGET_CLASSES.contains(&k.class.as_str()) {
                "**"
            } else {
                ""
            };
            let _ = writeln!(
                d,
                "| {bold}{}{bold} | {} | {} | {} | {} | {:.1} | {} | {} | {} |",
                k.class,
                ms(k.all.p50_ms),
                ms(k.all.p99_ms),
                ms(k.best.p50_ms),
                ms(k.best.p99_ms),
                k.hits,
                f(it.map(|t| t.p50)),
                f(it.map(|t| t.p99)),
                f(it.map(|t| t.best_p99)),
            );
        }
        d.push('\n');
    }
    let _ = writeln!(
        d,
        "### Beside what an app would reach for (same accounts, same queries, same run)\n\n\
         `search_baselines`: the accounts loaded into a SQLite database with a kept balance, \
         then (a) **FTS5** with the trigram tokenizer over name, a second column of the name's \
         초성 (FTS5 cannot answer 초성 without it), code and the phone and business-number \
         digits — `MATCH` as a phrase for three characters or more, `LIKE` on the FTS table \
         (a scan) for shorter ones — and (b) a plain **LIKE** `'%q%'` scan over the same \
         columns. Both read each hit's row and balance (limit {SEARCH_LIMIT}), as the engine \
         path does. p50 / p99 in ms over every run (FTS5 3 rounds, LIKE 1); the ratio is the \
         baseline's p99 over the engine path's p99 (how many times faster the engine path is).\n"
    );
    for r in results {
        let _ = writeln!(
            d,
            "#### {} accounts (FTS5 index build {})\n\n| class | engine | FTS5 trigram | LIKE | FTS5 / engine (p99) | LIKE / engine (p99) |\n|---|---|---|---|---|---|",
            group(r.scale.accounts as u64),
            ms(r.fts_build.as_secs_f64() * 1e3)
        );
        for k in &r.engine_search {
            let f = r.fts.iter().find(|x| x.class == k.class);
            let l = r.like.iter().find(|x| x.class == k.class);
            let pair = |s: &Summary| format!("{:.3} / {:.3}", s.p50_ms, s.p99_ms);
            let ratio = |b: Option<&BaselineClass>| {
                b.map(|b| format!("{:.1}x", b.all.p99_ms / k.all.p99_ms.max(1e-6)))
                    .unwrap_or_default()
            };
            let bold = if TARGET_CLASSES.contains(&k.class.as_str()) {
                "**"
            } else {
                ""
            };
            let _ = writeln!(
                d,
                "| {bold}{}{bold} | {} | {} | {} | {} | {} |",
                k.class,
                pair(&k.all),
                f.map(|f| pair(&f.all)).unwrap_or_default(),
                l.map(|l| pair(&l.all)).unwrap_or_default(),
                ratio(f),
                ratio(l)
            );
        }
        d.push('\n');
    }
    let _ = writeln!(
        d,
        "### Where the engine path's time goes\n\n\
         The device-database reads of the engine path alone (the account row and its balance \
         for every hit of the name-infix, initials and phone queries), timed three ways on a \
         separate connection to the synced device database (3 rounds after one warm-up): the \
         former way (two statements prepared for every hit, the balance summed from the hit's \
         ledger entries), per hit with cached statements and the balance kept per account \
         (`balances`), and as the engine reads them now (`Db::account_summaries`: one \
         statement for the hits' account rows, one for their kept balances). p50 / p99 in ms.\n\n\
         | accounts | hits per query (mean) | per hit, summed (former) | per hit, cached, kept balance | engine now (two statements) |\n|---|---|---|---|---|"
    );
    for r in results {
        let h = &r.hit_reads;
        let _ = writeln!(
            d,
            "| {} | {:.1} | {:.3} / {:.3} | {:.3} / {:.3} | {:.3} / {:.3} |",
            group(r.scale.accounts as u64),
            h.hits,
            h.as_now.p50_ms,
            h.as_now.p99_ms,
            h.cached.p50_ms,
            h.cached.p99_ms,
            h.one_query.p50_ms,
            h.one_query.p99_ms
        );
    }
    let _ = writeln!(
        d,
        "\n### Growth\n\np50 / p99 in ms; engine path every run (best of rounds in brackets), and the index alone.\n\n| accounts | name infix (engine) | initials (engine) | phone (engine) | name infix (index) | initials (index) | phone (index) |\n|---|---|---|---|---|---|---|"
    );
    for r in results {
        let e = |c: &str| {
            r.engine_search
                .iter()
                .find(|k| k.class == c)
                .map(|k| {
                    format!(
                        "{:.3} / {:.3} ({:.3} / {:.3})",
                        k.all.p50_ms, k.all.p99_ms, k.best.p50_ms, k.best.p99_ms
                    )
                })
                .unwrap_or_default()
        };
        let i = |c: &str| {
            r.index_search
                .iter()
                .find(|t| t.class == c)
                .map(|t| {
                    format!(
                        "{:.3} / {:.3}",
                        t.p50.as_secs_f64() * 1e3,
                        t.p99.as_secs_f64() * 1e3
                    )
                })
                .unwrap_or_default()
        };
        let _ = writeln!(
            d,
            "| {} | {} | {} | {} | {} | {} | {} |",
            group(r.scale.accounts as u64),
            e("name_infix"),
            e("initials"),
            e("phone"),
            i("name_infix"),
            i("initials"),
            i("phone")
        );
    }
    RowResult {
        order: 1,
        what: "account search at 200k: name infix, initials, phone digits (p50 / p99)".into(),
        target: "p99 <= 1 ms; >= 5x faster than FTS5 trigram (name infix, p99)".into(),
        measured,
        verdict: Verdict::from_checks(&checks),
        detail: d,
        load_before: load_before.into(),
        load_after: load_after.into(),
        date: date.into(),
        seconds,
    }
}

fn sync_row(
    results: &[SizeResult],
    load_before: &str,
    load_after: &str,
    date: &str,
    seconds: f64,
) -> RowResult {
    let med = |r: &SizeResult, f: &dyn Fn(&SyncRun) -> f64| {
        median(&r.runs.iter().map(f).collect::<Vec<_>>())
    };
    let last = results.last().expect("sizes");
    let t = med(last, &|x| x.seconds);
    let rows_per_s = med(last, &|x| x.rows as f64 / x.seconds);
    let db = med(last, &|x| (x.db_bytes + x.wal_bytes) as f64);
    let peak = last.device_memory.map_or(0.0, |(_, peak, _)| peak as f64);
    let of_floor = t / last.floor.as_secs_f64().max(1e-6);
    let checks = [
        (
            of_floor <= 2.0,
            format!(
                "{of_floor:.2}x the floor ({:.1} s) in the same run",
                last.floor.as_secs_f64()
            ),
        ),
        (
            t <= 10.0,
            format!("time {t:.1} s (×{:.1} the 10 s target)", t / 10.0),
        ),
        (
            rows_per_s >= 100_000.0,
            format!(
                "{} rows/s ({:.0}% of 100k)",
                group(rows_per_s as u64),
                rows_per_s / 1e3
            ),
        ),
        (
            db <= 120e6,
            format!(
                "device DB {} (×{:.2} of 120 MB)",
                bytes(db as u64),
                db / 120e6
            ),
        ),
        (
            peak > 0.0 && peak <= 200e6,
            format!(
                "device engine memory peak {} (×{:.2} of 200 MB)",
                bytes(peak as u64),
                peak / 200e6
            ),
        ),
    ];
    let measured = format!(
        "{:.1} s = {of_floor:.2}x the floor, {} rows/s, device DB {} ({} rows), device engine memory peak {}",
        t,
        group(rows_per_s as u64),
        bytes(db as u64),
        group(last.runs.first().map(|r| r.rows).unwrap_or(0)),
        bytes(peak as u64)
    );
    let mut d = String::new();
    let _ = writeln!(
        d,
        "Server: the release `fieldpay-server` binary as a child process on 127.0.0.1 (its own \
         data folder, loaded first through the Store: `upsert_accounts`, `upsert_products`, \
         `add_ledger_batch`, plus the demo merchant). Device: a fresh `fieldpay_core::Engine` \
         in the bench process, signed in as the manager (a rep's device syncs only its clients: row 14); the time is one `Engine::sync_now` (pull \
         pages of {} changes over HTTP/JSON, each written in one SQLite transaction while the \
         next page is fetched by another task; a first sync of many pages loads the ledger \
         without its by-account index and builds it, and the search indexes from the \
         database, at the end). Rows = accounts + products + ledger entries on the device \
         afterwards (checked). Device DB = `fieldpay-device.db` + its WAL (in brackets). CPU = \
         user+system seconds of each process during the sync (the machine has 2 cores). \
         Device engine memory = one more first sync, in a process of its own that holds only the \
         device's engine (`fieldpay-bench device-sync`, as the app's process holds it; the \
         same allocator setting as the app): its resident memory (VmRSS) after signing in, \
         before the sync, its peak (VmHWM) by the end of the sync, and its VmRSS after. Sizes below 200k keep the full size's shape: 1 product per 20 accounts, 5 \
         ledger entries per account.\n",
        fieldpay_core::sync::PULL_PAGE
    );
    let _ = writeln!(
        d,
        "| accounts | products | ledger | rows | runs | first sync (median) | all runs | rows/s (median) | device DB (WAL) | bytes/row | server CPU | device CPU | device engine memory: before / peak / after |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in results {
        let all: Vec<String> = r.runs.iter().map(|x| format!("{:.1}", x.seconds)).collect();
        let rows = r.runs.first().map(|x| x.rows).unwrap_or(0);
        let dbm = med(r, &|x| (x.db_bytes + x.wal_bytes) as f64);
        let _ = writeln!(
            d,
            "| {} | {} | {} | {} | {} | {:.1} s | {} s | {} | {} ({}) | {:.0} | {:.1} s | {:.1} s | {} |",
            group(r.scale.accounts as u64),
            group(r.scale.products as u64),
            group(r.scale.ledger as u64),
            group(rows),
            r.runs.len(),
            med(r, &|x| x.seconds),
            all.join(", "),
            group(med(r, &|x| x.rows as f64 / x.seconds) as u64),
            bytes(dbm as u64),
            bytes(med(r, &|x| x.wal_bytes as f64) as u64),
            dbm / rows.max(1) as f64,
            med(r, &|x| x.server_cpu),
            med(r, &|x| x.client_cpu),
            r.device_memory
                .map_or("not run".into(), |(b, p, a)| {
                    format!("{} / {} / {}", bytes(b), bytes(p), bytes(a))
                }),
        );
    }
    let _ = writeln!(
        d,
        "\n**Beside the floor and a naive client** (same server, same run; `sync_baselines`). \
         Floor: every change the device pulls, pulled once beforehand and kept in memory, \
         written into a fresh device database through the device's own write path \
         (`Db::apply_page`, prepared statements) in one transaction, the ledger's index dropped \
         before and built after, the log checkpointed: no network, no JSON, no search index. \
         Naive: pages of 1,000 rows as JSON over HTTP, each row written in a transaction of its \
         own (up to {} accounts).\n\n\
         | accounts | first sync (median) | floor | first sync / floor | naive client | naive / floor |\n|---|---|---|---|---|---|",
        group(NAIVE_MAX_ACCOUNTS as u64)
    );
    for r in results {
        let t = med(r, &|x| x.seconds);
        let f = r.floor.as_secs_f64();
        let (naive, naive_ratio) = match r.naive {
            Some((n, _)) => (
                format!("{:.1} s", n.as_secs_f64()),
                format!("{:.1}x", n.as_secs_f64() / f.max(1e-6)),
            ),
            None => ("not run".into(), String::new()),
        };
        let _ = writeln!(
            d,
            "| {} | {t:.1} s | {f:.2} s | {:.2}x | {naive} | {naive_ratio} |",
            group(r.scale.accounts as u64),
            t / f.max(1e-6)
        );
    }
    if let (Some(first), Some(last)) = (results.first(), results.last()) {
        let tf = med(first, &|x| x.seconds);
        let tl = med(last, &|x| x.seconds);
        let rf = first.runs.first().map(|x| x.rows).unwrap_or(1) as f64;
        let rl = last.runs.first().map(|x| x.rows).unwrap_or(1) as f64;
        let _ = writeln!(
            d,
            "\nGrowth: {:.0}× the rows took {:.1}× the time (linear would be {:.0}×); \
             time per 1,000 rows: {:.1} ms at {} accounts, {:.1} ms at {} accounts.",
            rl / rf,
            tl / tf,
            rl / rf,
            tf / rf * 1e6,
            group(first.scale.accounts as u64),
            tl / rl * 1e6,
            group(last.scale.accounts as u64)
        );
    }
    let _ = writeln!(
        d,
        "\nThe server's pull-page query alone (`SELECT seq, entity, entity_id FROM changes WHERE \
         merchant_id = ? AND seq > ? ORDER BY seq LIMIT 2001`, the first statement of every \
         `GET /v1/sync` page), run on the loaded server database at the middle of the change \
         log; median of 5. \"Range plan\" is the same query with `+merchant_id`, which makes \
         SQLite walk `changes` by `seq` — what an index on `changes (merchant_id, seq)` gives.\n\n\
         | accounts | changes | as the server runs it | range plan | plan as run |\n|---|---|---|---|---|"
    );
    for r in results {
        let q = &r.page_query;
        let _ = writeln!(
            d,
            "| {} | {} | {} | {} | `{}` |",
            group(r.scale.accounts as u64),
            group(q.changes),
            ms(q.as_is_ms),
            ms(q.range_ms),
            q.plan
        );
    }
    let _ = writeln!(
        d,
        "\nLoading the server (bench set-up, not a target; one Store transaction per 10,000 \
         accounts or products, per 50,000 ledger entries):\n\n| accounts | in all | accounts | products | ledger (`add_ledger_batch`) | rows/s |\n|---|---|---|---|---|---|"
    );
    for r in results {
        let _ = writeln!(
            d,
            "| {} | {:.1} s | {:.1} s ({}/s) | {:.1} s | {:.1} s ({}/s) | {} |",
            group(r.scale.accounts as u64),
            r.load.seconds,
            r.load.accounts_seconds,
            group((r.scale.accounts as f64 / r.load.accounts_seconds.max(1e-9)) as u64),
            r.load.products_seconds,
            r.load.ledger_seconds,
            group((r.scale.ledger as f64 / r.load.ledger_seconds.max(1e-9)) as u64),
            group((r.scale.rows() as f64 / r.load.seconds.max(1e-9)) as u64)
        );
    }
    RowResult {
        order: 2,
        what: "first sync of 200k accounts + 1M ledger entries + 10k products over loopback".into(),
        target: "<= 2x the floor (same run); <= 10 s (>= 100k rows/s); device DB <= 120 MB; device engine memory <= 200 MB".into(),
        measured,
        verdict: Verdict::from_checks(&checks),
        detail: d,
        load_before: load_before.into(),
        load_after: load_after.into(),
        date: date.into(),
        seconds,
    }
}

fn delta_row(
    s: Summary,
    per_run: &[f64],
    mut detail: String,
    load_before: &str,
    load_after: &str,
    date: &str,
) -> RowResult {
    let checks = [
        (
            s.p50_ms <= 50.0,
            format!("p50 {} (×{:.1})", ms(s.p50_ms), s.p50_ms / 50.0),
        ),
        (
            s.p99_ms <= 50.0,
            format!("p99 {} (×{:.1})", ms(s.p99_ms), s.p99_ms / 50.0),
        ),
    ];
    let runs: Vec<String> = per_run.iter().map(|v| format!("{v:.0}")).collect();
    let _ = writeln!(
        detail,
        "\n| runs | p50 | p90 | p99 | max | mean |\n|---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {} |\n\nEach run (ms): {}.",
        s.n,
        ms(s.p50_ms),
        ms(s.p90_ms),
        ms(s.p99_ms),
        ms(s.max_ms),
        ms(s.mean_ms),
        runs.join(", ")
    );
    RowResult {
        order: 3,
        what: "delta sync of 100 changes".into(),
        target: "<= 50 ms".into(),
        measured: format!("p50 {} / p99 {}", ms(s.p50_ms), ms(s.p99_ms)),
        verdict: Verdict::from_checks(&checks),
        detail,
        load_before: load_before.into(),
        load_after: load_after.into(),
        date: date.into(),
        seconds: per_run.iter().sum::<f64>() / 1e3,
    }
}
