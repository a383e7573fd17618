//! Rows 10 and 11: the server on PostgreSQL beside SQLite, in one run. Row 10 is charge
//! creation with row 6's load on SQLite, on PostgreSQL with one server instance and with two
//! instances over the same database (the load generator sends request `i` to instance
//! `i % 2`); row 11 is row 2's first sync from a server on SQLite and from one on PostgreSQL,
//! both loaded with the same generated data through the `Store` calls. The PostgreSQL cluster
//! is the one `scripts/bench.sh` starts (`scripts/pg-test.sh start --durable`, see [`Pg`]);
//! every configuration gets a database of its own.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::data_rows::{device_counts, open_device, runs_for};
use crate::gen::{LoadReport, Scale};
use crate::pg::{Pg, PgCounters};
use crate::report::{RowResult, Verdict};
use crate::server::{self, ServerChild};
use crate::server_rows::create_charges_on;
use crate::stats::{self, group, median, ms, Summary};
use crate::Ctx;

/// The PostgreSQL settings of the bench's cluster (scripts/pg-test.sh start --durable).
pub const PG_SETTINGS: &str = "PostgreSQL 15 on the same machine (TCP on 127.0.0.1), `scripts/pg-test.sh start --durable`: fsync=on, full_page_writes=on, \
    synchronous_commit=off (a commit is answered before its WAL reaches the disk; the WAL \
    writer flushes within 200 ms: like the server's SQLite in WAL mode with synchronous=NORMAL, \
    a crash of the process loses nothing committed, a power cut may lose the last commits), \
    shared_buffers=256MB, max_connections=1000, the rest default; the server's pool \
    `database_pool_size` = 16 (default) per instance";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Config {
    Sqlite,
    Pg(usize),
}

impl Config {
    fn name(self) -> String {
        match self {
            Config::Sqlite => "SQLite".into(),
            Config::Pg(1) => "PostgreSQL, 1 instance".into(),
            Config::Pg(n) => format!("PostgreSQL, {n} instances"),
        }
    }
}

#[derive(Default)]
struct ConfigResult {
    throughput: Vec<f64>,
    latencies: Vec<Duration>,
    /// (throughput, summary, wall, server cpu, pg cpu) per round.
    rounds: Vec<(f64, Summary, f64, f64, f64)>,
    /// PostgreSQL counters over each round (load and the texts' sending after it).
    counters: Vec<PgCounters>,
}

/// Row 10.
pub async fn charges_pg(ctx: &Ctx) -> anyhow::Result<RowResult> {
    let pg = Pg::required("charges-pg")?;
    let started = Instant::now();
    let load_before = stats::loadavg();
    let rounds = if ctx.quick { 1 } else { 3 };
    let total = if ctx.quick { 2_000 } else { 10_000 };
    let concurrency = 64;
    let configs = [Config::Sqlite, Config::Pg(1), Config::Pg(2)];
    let mut results: Vec<ConfigResult> = configs.iter().map(|_| ConfigResult::default()).collect();
    for round in 0..rounds {
        // A different order each round: a change of the machine's load hits each alike.
        for k in 0..configs.len() {
            let ci = (k + round) % configs.len();
            let config = configs[ci];
            let tag = match config {
                Config::Sqlite => format!("sqlite-{round}"),
                Config::Pg(n) => format!("pg{n}-{round}"),
            };
            let db = format!("bench_charges_{}", tag.replace('-', "_"));
            let url = match config {
                Config::Sqlite => None,
                Config::Pg(_) => Some(pg.create_database(&db).await?),
            };
            let instances = match config {
                Config::Sqlite => 1,
                Config::Pg(n) => n,
            };
            let mut servers = Vec::new();
            for i in 0..instances {
                let data = ctx.work.join(format!("server-charges-{tag}-{i}"));
                let _ = std::fs::remove_dir_all(&data);
                std::fs::create_dir_all(&data)?;
                servers.push(
                    ServerChild::start_with(
                        &ctx.server_bin,
                        &data,
                        &ctx.work.join(format!("server-charges-{tag}-{i}.log")),
                        url.as_deref(),
                    )
                    .await?,
                );
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            let before = match &url {
                Some(u) => Some(pg.counters(u).await?),
                None => None,
            };
            let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
            let cpu0: f64 = servers.iter().map(|s| s.cpu_seconds()).sum();
            let pg0 = pg.cpu_seconds();
            let run = create_charges_on(&bases, total, concurrency, 60 + round as u32).await?;
            let server_cpu = servers.iter().map(|s| s.cpu_seconds()).sum::<f64>() - cpu0;
            let pg_cpu = if url.is_some() {
                pg.cpu_seconds() - pg0
            } else {
                0.0
            };
            anyhow::ensure!(
                run.errors == 0,
                "{}: {} of {total} charge requests failed, first: {:?}",
                config.name(),
                run.errors,
                run.first_error
            );
            // The texts of the charges are sent by the SMS worker(s) after the load too; the
            // counters take them in (per charge: its creation and its text).
            tokio::time::sleep(Duration::from_secs(5)).await;
            if let (Some(u), Some(b)) = (&url, before) {
                results[ci].counters.push(pg.counters(u).await?.since(&b));
            }
            for s in servers {
                s.stop();
            }
            if let Some(_u) = &url {
                if !ctx.keep_data {
                    pg.drop_database(&db).await?;
                }
            }
            if !ctx.keep_data {
                for i in 0..instances {
                    let _ =
                        std::fs::remove_dir_all(ctx.work.join(format!("server-charges-{tag}-{i}")));
                }
            }
            let wall = run.wall.as_secs_f64();
            let tp = total as f64 / wall;
            let s = Summary::of(&run.latencies);
            eprintln!(
                "[charges-pg] round {round}, {}: {:.0}/s, p50 {} p99 {}, server cpu {:.1} s, postgres cpu {:.1} s over {:.1} s (load {})",
                config.name(),
                tp,
                ms(s.p50_ms),
                ms(s.p99_ms),
                server_cpu,
                pg_cpu,
                wall,
                stats::loadavg()
            );
            let r = &mut results[ci];
            r.throughput.push(tp);
            r.rounds.push((tp, s, wall, server_cpu, pg_cpu));
            r.latencies.extend(run.latencies);
        }
    }
    let load_after = stats::loadavg();
    let tp: Vec<f64> = results.iter().map(|r| median(&r.throughput)).collect();
    let sums: Vec<Summary> = results.iter().map(|r| Summary::of(&r.latencies)).collect();
    let mut measured = Vec::new();
    let mut checks = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        let ratio = if i == 0 {
            String::new()
        } else {
            format!(" (×{:.2} of SQLite)", tp[i] / tp[0])
        };
        measured.push(format!(
            "{}: {}/s{ratio}, p50 {} / p99 {}",
            c.name(),
            group(tp[i] as u64),
            ms(sums[i].p50_ms),
            ms(sums[i].p99_ms)
        ));
        checks.push((
            tp[i] >= 2_000.0,
            format!("{} {}/s", c.name(), group(tp[i] as u64)),
        ));
        checks.push((
            sums[i].p99_ms <= 20.0,
            format!("{} p99 {}", c.name(), ms(sums[i].p99_ms)),
        ));
    }
    let mut d = String::new();
    let _ = writeln!(
        d,
        "Load: row 6's ({concurrency} tokio tasks sharing one reqwest client, closed loop, \
         {total} `POST /v1/charges` with the demo API key to distinct payer phones, each \
         creating a charge, binding a virtual number and queueing its text), {rounds} rounds; \
         in each round the three configurations run one after the other (in a rotated order), \
         each on fresh servers: SQLite = the release `fieldpay-server` on a fresh data folder \
         (as row 6); PostgreSQL = the same binary with `FIELDPAY_DATABASE_URL` naming a fresh \
         database (one per configuration and round; migrated and the demo merchant seeded by \
         the first instance at start); 2 instances = two such processes (own data folders and \
         ports) over the same database, the load generator sending request `i` to instance \
         `i % 2` (round robin, no proxy). Every process, PostgreSQL's included, on this \
         2-core machine.\n\n{PG_SETTINGS}.\n\n\
         Server CPU = user+system seconds of the server process(es) per wall second; \
         PostgreSQL CPU = the same for the cluster's processes (postmaster and children; 2 \
         cores = 2.0). Statements and transactions per charge are PostgreSQL's own counts \
         (pg_stat_statements `calls`, BEGIN and COMMIT included; `pg_stat_database` \
         xact_commit / xact_rollback) from the servers' start to 5 s after the load (so the \
         texts' sending, the SMS worker's part of each charge, is in them); serialization \
         failures = `could not serialize access` errors in PostgreSQL's log (each one makes \
         the store run its transaction again).\n\n\
         | configuration | throughput (median) | ×SQLite | p50 | p90 | p99 | ×SQLite p99 | max | server CPU | PostgreSQL CPU | statements / charge | commits / charge | rollbacks | serialization failures |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for (i, c) in configs.iter().enumerate() {
        let r = &results[i];
        let s = &sums[i];
        let scpu = median(&r.rounds.iter().map(|x| x.3 / x.2).collect::<Vec<_>>());
        let pcpu = median(&r.rounds.iter().map(|x| x.4 / x.2).collect::<Vec<_>>());
        let per = |f: &dyn Fn(&PgCounters) -> Option<f64>| -> String {
            let v: Vec<f64> = r.counters.iter().filter_map(f).collect();
            if v.is_empty() {
                "—".into()
            } else {
                format!("{:.1}", median(&v) / total as f64)
            }
        };
        let sum = |f: &dyn Fn(&PgCounters) -> i64| -> String {
            if r.counters.is_empty() {
                "—".into()
            } else {
                let v: Vec<String> = r.counters.iter().map(|c| group(f(c) as u64)).collect();
                v.join(", ")
            }
        };
        let _ = writeln!(
            d,
            "| {} | {}/s | {} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {} |",
            c.name(),
            group(tp[i] as u64),
            if i == 0 {
                "1".into()
            } else {
                format!("{:.2}", tp[i] / tp[0])
            },
            ms(s.p50_ms),
            ms(s.p90_ms),
            ms(s.p99_ms),
            if i == 0 {
                "1".into()
            } else {
                format!("{:.2}", s.p99_ms / sums[0].p99_ms)
            },
            ms(s.max_ms),
            scpu,
            if *c == Config::Sqlite {
                "—".into()
            } else {
                format!("{pcpu:.2}")
            },
            per(&|c| c.statements.map(|v| v as f64)),
            per(&|c| Some(c.commits as f64)),
            sum(&|c| c.rollbacks),
            sum(&|c| c.serialization_failures as i64),
        );
    }
    let _ = writeln!(
        d,
        "\nRollbacks and serialization failures: one figure per round.\n\n\
         | round | configuration | throughput | p50 | p99 | wall | server CPU | PostgreSQL CPU |\n\
         |---|---|---|---|---|---|---|---|"
    );
    for round in 0..rounds {
        for (i, c) in configs.iter().enumerate() {
            let (tp, s, wall, scpu, pcpu) = &results[i].rounds[round];
            let _ = writeln!(
                d,
                "| {round} | {} | {}/s | {} | {} | {wall:.1} s | {:.2} | {} |",
                c.name(),
                group(*tp as u64),
                ms(s.p50_ms),
                ms(s.p99_ms),
                scpu / wall,
                if *c == Config::Sqlite {
                    "—".into()
                } else {
                    format!("{:.2}", pcpu / wall)
                }
            );
        }
    }
    Ok(RowResult {
        order: 10,
        what: format!(
            "server: charge creation, {concurrency} concurrent clients, SQLite vs PostgreSQL with 1 and 2 instances (throughput, p50 / p99)"
        ),
        target: "row 6's: >= 2,000 /s / p99 <= 20 ms".into(),
        measured: measured.join("; "),
        verdict: Verdict::from_checks(&checks),
        detail: d,
        load_before,
        load_after,
        date: crate::now_utc(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

struct SyncResult {
    name: &'static str,
    load: LoadReport,
    /// (seconds, rows, server cpu, pg cpu, device cpu) per run.
    runs: Vec<(f64, u64, f64, f64, f64)>,
    counters: Option<PgCounters>,
}

/// Row 11.
pub async fn sync_pg(ctx: &Ctx) -> anyhow::Result<RowResult> {
    let pg = Pg::required("sync-pg")?;
    let started = Instant::now();
    let load_before = stats::loadavg();
    let n = ctx.one_size(50_000, 2_000);
    let scale = if n == 200_000 {
        Scale::FULL
    } else {
        Scale::for_accounts(n)
    };
    let nruns = runs_for(ctx, n);
    let mut out = Vec::new();
    for store in ["SQLite", "PostgreSQL"] {
        let data = ctx
            .work
            .join(format!("server-sync-{}", store.to_lowercase()));
        let db = "bench_sync";
        let url = if store == "PostgreSQL" {
            Some(pg.create_database(db).await?)
        } else {
            None
        };
        eprintln!(
            "[sync-pg] {store}: loading {} accounts, {} products, {} ledger entries ...",
            scale.accounts, scale.products, scale.ledger
        );
        let (_, load) = match &url {
            Some(u) => server::prepare_data_pg(&data, u, scale, ctx.seed).await?,
            None => server::prepare_data(&data, scale, ctx.seed).await?,
        };
        eprintln!(
            "[sync-pg] {store}: loaded in {:.1} s ({:.0} rows/s)",
            load.seconds,
            scale.rows() as f64 / load.seconds
        );
        let srv = ServerChild::start_with(
            &ctx.server_bin,
            &data,
            &ctx.work
                .join(format!("server-sync-{}.log", store.to_lowercase())),
            url.as_deref(),
        )
        .await?;
        let before = match &url {
            Some(u) => Some(pg.counters(u).await?),
            None => None,
        };
        let mut runs = Vec::new();
        for r in 0..nruns {
            let dir = ctx
                .work
                .join(format!("device-sync-{}-{r}", store.to_lowercase()));
            let _ = std::fs::remove_dir_all(&dir);
            let engine = open_device(&dir, &srv.base, "manager").await?;
            let (s0, p0, c0) = (
                srv.cpu_seconds(),
                pg.cpu_seconds(),
                stats::cpu_seconds("self").unwrap_or(0.0),
            );
            let t = Instant::now();
            let st = engine.sync_now().await?;
            let seconds = t.elapsed().as_secs_f64();
            let (s1, p1, c1) = (
                srv.cpu_seconds(),
                pg.cpu_seconds(),
                stats::cpu_seconds("self").unwrap_or(0.0),
            );
            anyhow::ensure!(
                st.queued == 0 && st.last_error.is_none(),
                "sync ended badly: {st:?}"
            );
            drop(engine);
            let (a, p, l, _, _) = device_counts(&dir)?;
            anyhow::ensure!(
                a as usize >= scale.accounts
                    && p as usize >= scale.products
                    && l as usize >= scale.ledger,
                "device has {a} accounts, {p} products, {l} ledger entries: not everything arrived"
            );
            let pg_cpu = if url.is_some() { p1 - p0 } else { 0.0 };
            eprintln!(
                "[sync-pg] {store} run {r}: {:.1} s, {:.0} rows/s, server cpu {:.1} s, postgres cpu {:.1} s, device cpu {:.1} s (load {})",
                seconds,
                (a + p + l) as f64 / seconds,
                s1 - s0,
                pg_cpu,
                c1 - c0,
                stats::loadavg()
            );
            runs.push((seconds, a + p + l, s1 - s0, pg_cpu, c1 - c0));
            let _ = std::fs::remove_dir_all(&dir);
        }
        let counters = match (&url, before) {
            (Some(u), Some(b)) => Some(pg.counters(u).await?.since(&b)),
            _ => None,
        };
        srv.stop();
        if !ctx.keep_data {
            let _ = std::fs::remove_dir_all(&data);
            if url.is_some() {
                pg.drop_database(db).await?;
            }
        }
        out.push(SyncResult {
            name: store,
            load,
            runs,
            counters,
        });
    }
    let load_after = stats::loadavg();
    let secs: Vec<f64> = out
        .iter()
        .map(|r| median(&r.runs.iter().map(|x| x.0).collect::<Vec<_>>()))
        .collect();
    let rows = out[0].runs[0].1;
    let rate = |i: usize| rows as f64 / secs[i];
    let measured = format!(
        "{} accounts ({} rows): SQLite {:.1} s ({}/s), PostgreSQL {:.1} s ({}/s, ×{:.2} the SQLite time)",
        group(n as u64),
        group(rows),
        secs[0],
        group(rate(0) as u64),
        secs[1],
        group(rate(1) as u64),
        secs[1] / secs[0]
    );
    let checks = [
        (
            rate(0) >= 100_000.0,
            format!("SQLite {}/s", group(rate(0) as u64)),
        ),
        (
            rate(1) >= 100_000.0,
            format!("PostgreSQL {}/s", group(rate(1) as u64)),
        ),
    ];
    let mut d = String::new();
    let _ = writeln!(
        d,
        "Row 2's method at {} accounts ({} products, {} ledger entries{}), {nruns} {} per \
         store: two servers one after the other, each \
         loaded with the same generated data through the same `Store` calls (`gen::load`: \
         `upsert_accounts`, `upsert_products`, `add_ledger_batch`), the SQLite one in its data \
         folder, the PostgreSQL one (`FIELDPAY_DATABASE_URL`) in a fresh database; then the \
         release `fieldpay-server` serves it and a fresh device (`fieldpay_core::Engine`, rep1) \
         times one `Engine::sync_now`. Rows = accounts + products + ledger entries on the \
         device afterwards (checked). CPU = user+system seconds during the sync.\n\n{PG_SETTINGS}.\n\n\
         | store | first sync (median) | all runs | rows/s | ×SQLite time | server CPU | PostgreSQL CPU | device CPU | load into the server | load rows/s |\n\
         |---|---|---|---|---|---|---|---|---|---|",
        group(n as u64),
        group(scale.products as u64),
        group(scale.ledger as u64),
        if n == 200_000 {
            ": row 2's full size"
        } else {
            "; not row 2's full size of 200,000 accounts"
        },
        if nruns == 1 { "run" } else { "runs" },
    );
    for (i, r) in out.iter().enumerate() {
        let col = |k: usize| {
            median(
                &r.runs
                    .iter()
                    .map(|x| [x.0, x.2, x.3, x.4][k])
                    .collect::<Vec<_>>(),
            )
        };
        let _ = writeln!(
            d,
            "| {} | {:.1} s | {} | {} | {:.2} | {:.1} s | {} | {:.1} s | {:.1} s (accounts {:.1} s, products {:.1} s, ledger {:.1} s) | {} |",
            r.name,
            secs[i],
            r.runs
                .iter()
                .map(|x| format!("{:.1}", x.0))
                .collect::<Vec<_>>()
                .join(", ")
                + " s",
            group(rate(i) as u64),
            secs[i] / secs[0],
            col(1),
            if i == 0 {
                "—".into()
            } else {
                format!("{:.1} s", col(2))
            },
            col(3),
            r.load.seconds,
            r.load.accounts_seconds,
            r.load.products_seconds,
            r.load.ledger_seconds,
            group((scale.rows() as f64 / r.load.seconds) as u64),
        );
    }
    if let Some(c) = out.iter().find_map(|r| r.counters) {
        let total_rows = rows as f64 * nruns as f64;
        let _ = writeln!(
            d,
            "\nPostgreSQL over the {} {}: {} statements ({} per 1,000 rows pulled), {} \
             transactions committed, {} rolled back, {} serialization failures.",
            nruns,
            if nruns == 1 { "sync" } else { "syncs" },
            c.statements
                .map(|v| group(v as u64))
                .unwrap_or_else(|| "—".into()),
            c.statements
                .map(|v| format!("{:.1}", v as f64 * 1000.0 / total_rows))
                .unwrap_or_else(|| "—".into()),
            group(c.commits as u64),
            group(c.rollbacks as u64),
            c.serialization_failures
        );
    }
    Ok(RowResult {
        order: 11,
        what: format!(
            "first sync of {} accounts over loopback from a server on SQLite and on PostgreSQL",
            group(n as u64)
        ),
        target: "row 2's: >= 100k rows/s".into(),
        measured,
        verdict: Verdict::from_checks(&checks),
        detail: d,
        load_before,
        load_after,
        date: crate::now_utc(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
