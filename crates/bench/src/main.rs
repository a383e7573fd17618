//! `fieldpay-bench`: runs the rows of the benchmark table (issue 5), prints them, keeps each
//! row's result as JSON and writes `BENCHMARKS.md`. Run it through `scripts/bench.sh` (release
//! build, and a D-Bus session with gnome-keyring: the engine keeps its refresh token in the
//! OS keyring).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use fieldpay_bench::report::{self, RowResult};
use fieldpay_bench::stats::{self, Machine};
use fieldpay_bench::{
    app_row, app_sync, data_rows, engine_rows, gen, openloop, pg, pg_rows, server, server_rows,
    texts_row, Ctx,
};

#[derive(Parser)]
#[command(
    name = "fieldpay-bench",
    about = "FieldPay benchmarks: prints a table and writes BENCHMARKS.md"
)]
struct Cli {
    /// Small sizes and few runs: checks the harness, not the targets.
    #[arg(long, global = true)]
    quick: bool,
    /// Scratch folder (data folders, devices, server logs); a temporary one when not given.
    #[arg(long, global = true)]
    work: Option<PathBuf>,
    /// The markdown file to write; its rows not run this time are kept (it is read first).
    #[arg(long, global = true, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// The release fieldpay-server binary (default: next to this binary).
    #[arg(long, global = true)]
    server_bin: Option<PathBuf>,
    /// The app binary for row 9 (default: looked for under target folders).
    #[arg(long, global = true)]
    app_bin: Option<PathBuf>,
    /// Seed of the data generator.
    #[arg(long, global = true, default_value_t = 20_240_501)]
    seed: u64,
    /// Account counts for rows 1-3, comma-separated (default 10000,50000,200000).
    #[arg(long, global = true, value_delimiter = ',')]
    sizes: Option<Vec<usize>>,
    /// First syncs per size (default 3, and 1 at 200,000 accounts).
    #[arg(long, global = true)]
    sync_runs: Option<usize>,
    /// Keep the server data folders after each row.
    #[arg(long, global = true)]
    keep_data: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone, PartialEq, Eq)]
enum Command {
    /// Every row (the default).
    All,
    /// 1. Account search at 10k/50k/200k (loads and syncs the data: see `data`).
    Search,
    /// 2. First sync at 10k/50k/200k accounts.
    Sync,
    /// 3. Delta sync of 100 changes (after the 200k first sync).
    Delta,
    /// Rows 1-3 together (one load and sync per size).
    Data,
    /// 4. Outbox push of 1,000 queued actions.
    Outbox,
    /// 5. Purchase-order PDF, 30 lines + signature.
    Pdf,
    /// 6 and 8. Charge creation with 64 clients, and server RSS idle / with 10,000 pending.
    Charges,
    /// 8 (same run as `charges`).
    Rss,
    /// 7. One IVR step over the TwiML webhook with 1,000 calls in progress.
    Ivr,
    /// 9. App start time and UI wasm size.
    App,
    /// Row 10: charge creation as row 6 on SQLite, on PostgreSQL with 1 and with 2 server
    /// instances (needs FIELDPAY_BENCH_DATABASE_URL: scripts/bench.sh starts a PostgreSQL).
    ChargesPg,
    /// Row 11: first sync as row 2 from a server on SQLite and one on PostgreSQL (50k
    /// accounts, or the largest of --sizes).
    SyncPg,
    /// Row 12: charge creation in an open loop (fixed arrival rates, latency from each
    /// request's due time) at rising rates, beside the same generator against a bare axum
    /// handler (the HTTP floor); the highest rate with p99 <= 20 ms of each.
    Openloop,
    /// Row 13: server RSS while it serves a first sync of 200k accounts (5k with --quick, or
    /// the largest of --sizes).
    SyncRss,
    /// Row 15: the app's memory (its process and its WebKit web process) while it makes a
    /// first sync of 200k accounts (5k with --quick, or the largest of --sizes), under Xvfb
    /// over WebDriver.
    AppSync,
    /// Row 16: 1,000 bills through a text provider that answers each request in 100 ms
    /// (Solapi's stand-in on loopback).
    Texts,
    /// The HTTP floor of row 12: serves a bare `POST /v1/charges` (bearer check, JSON parse,
    /// 201) on LISTEN until killed. Started by the `openloop` row.
    #[command(hide = true)]
    HttpFloor {
        #[arg(long)]
        listen: std::net::SocketAddr,
    },
    /// Row 12's generator alone against a running server, for profiling it: RATE charges a
    /// second for SECS seconds to URL (`.../v1/charges`), prints the figures of the run;
    /// PID is the process whose CPU is counted.
    #[command(hide = true)]
    Drive {
        #[arg(long)]
        url: String,
        #[arg(long)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        secs: u64,
        #[arg(long)]
        pid: u32,
    },
    /// Row 2's device memory: a first sync of the server at URL into DIR in this process, then
    /// prints its resident memory before the sync and its peak, in bytes.
    #[command(hide = true)]
    DeviceSync {
        #[arg(long)]
        url: String,
        #[arg(long)]
        dir: PathBuf,
    },
    /// Only generate and load the data into a server data folder (no measurement).
    Gen {
        /// Number of accounts (products = 1 per 20, ledger = 5 per account; 200000 = the
        /// full size: 10,000 products, 1,000,000 entries).
        #[arg(long, default_value_t = 200_000)]
        accounts: usize,
        /// The data folder to create (fieldpay-server --data DIR serves it).
        #[arg(long)]
        data: PathBuf,
    },
}

fn print_row(r: &RowResult) {
    println!(
        "{:>2}  {:<78}\n    target:   {}\n    measured: {}\n    verdict:  {}\n    load:     {} -> {}",
        r.order,
        r.what,
        r.target,
        r.measured,
        r.verdict.cell().replace("**", ""),
        r.load_before,
        r.load_after
    );
}

fn main() -> anyhow::Result<()> {
    // As the server and the app do: this process is the device of rows 1-3 and 14.
    fieldpay_protocol::process::return_large_blocks_to_the_system();
    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::DeviceSync { .. })) {
        // Row 2's device memory: the app's allocator settings, before any thread allocates.
        fieldpay_protocol::process::few_heaps_for_a_device();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::All);
    if let Command::HttpFloor { listen } = command {
        return openloop::serve_floor(listen).await;
    }
    if let Command::Drive {
        url,
        rate,
        secs,
        pid,
    } = &command
    {
        return openloop::drive(url, *rate, *secs, *pid).await;
    }
    if let Command::DeviceSync { url, dir } = &command {
        return data_rows::device_sync(url, dir).await;
    }
    let tmp;
    let work = match &cli.work {
        Some(w) => {
            std::fs::create_dir_all(w)?;
            w.clone()
        }
        None => {
            tmp = tempfile::Builder::new()
                .prefix("fieldpay-bench-")
                .tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let repo = std::env::current_dir()?;
    let ctx = Ctx {
        work,
        server_bin: cli
            .server_bin
            .clone()
            .unwrap_or_else(server::default_server_bin),
        quick: cli.quick,
        seed: cli.seed,
        keep_data: cli.keep_data,
        repo,
        app_bin: cli.app_bin.clone(),
        sizes: cli.sizes.clone(),
        sync_runs: cli.sync_runs,
    };
    if let Command::Gen { accounts, data } = &command {
        let accounts = *accounts;
        let scale = if accounts == 200_000 {
            gen::Scale::FULL
        } else {
            gen::Scale::for_accounts(accounts)
        };
        let (_, load) = server::prepare_data(data, scale, ctx.seed).await?;
        println!(
            "loaded {} accounts, {} products, {} ledger entries into {} in {:.1} s",
            scale.accounts,
            scale.products,
            scale.ledger,
            data.display(),
            load.seconds
        );
        return Ok(());
    }
    // Read before the rows run: a file that cannot be read back stops here, not after them.
    let mut all = if cli.quick {
        Vec::new()
    } else {
        let old = std::fs::read_to_string(&cli.out).unwrap_or_default();
        report::parse(&cli.out, &old)?
    };
    let machine = Machine::probe();
    eprintln!(
        "fieldpay-bench: {} × {}, {} RAM, load {}; work folder {}",
        machine.nproc,
        machine.cpu_model,
        machine.mem_total,
        stats::loadavg(),
        ctx.work.display()
    );
    let is = |c: &[Command]| command == Command::All || c.contains(&command);
    let mut rows: Vec<RowResult> = Vec::new();
    // Each row goes into the file as soon as it is measured (a later row failing loses none).
    let mut save = |r: Vec<RowResult>| -> anyhow::Result<()> {
        for row in &r {
            print_row(row);
        }
        if !cli.quick {
            report::merge(&mut all, &r);
            report::write_markdown(&cli.out, &machine, &all)?;
        }
        rows.extend(r);
        Ok(())
    };
    if is(&[Command::Pdf]) {
        save(vec![engine_rows::pdf(&ctx)?])?;
    }
    if is(&[
        Command::Search,
        Command::Sync,
        Command::Delta,
        Command::Data,
    ]) {
        let which = data_rows::Which {
            search: is(&[Command::Search, Command::Data]),
            sync: is(&[Command::Sync, Command::Data]),
            delta: is(&[Command::Delta, Command::Data]),
        };
        save(data_rows::run(&ctx, which).await?)?;
    }
    if is(&[Command::Outbox]) {
        save(vec![engine_rows::outbox(&ctx).await?])?;
    }
    if is(&[Command::Charges, Command::Rss]) {
        save(server_rows::charges(&ctx).await?)?;
    }
    if is(&[Command::Ivr]) {
        save(vec![server_rows::ivr(&ctx).await?])?;
    }
    if is(&[Command::Openloop]) {
        save(vec![openloop::openloop(&ctx).await?])?;
    }
    if is(&[Command::Texts]) {
        save(vec![texts_row::texts(&ctx).await?])?;
    }
    if is(&[Command::SyncRss]) {
        save(vec![server_rows::sync_rss(&ctx).await?])?;
    }
    if is(&[Command::App]) {
        save(vec![app_row::app(&ctx).await?])?;
    }
    if is(&[Command::AppSync]) {
        save(vec![app_sync::app_sync(&ctx).await?])?;
    }
    // The PostgreSQL rows: skipped by `all` when no PostgreSQL was given.
    let pg_rows_run = command != Command::All || pg::Pg::from_env().is_some();
    if !pg_rows_run {
        eprintln!("FIELDPAY_BENCH_DATABASE_URL is not set: rows charges-pg and sync-pg skipped");
    }
    if pg_rows_run && is(&[Command::ChargesPg]) {
        save(vec![pg_rows::charges_pg(&ctx).await?])?;
    }
    if pg_rows_run && is(&[Command::SyncPg]) {
        save(vec![pg_rows::sync_pg(&ctx).await?])?;
    }
    if !rows.is_empty() {
        println!("\n{:<4}{:<60}{:<28}verdict", "#", "what", "target");
        for r in &rows {
            let what: String = r.what.chars().take(58).collect();
            println!(
                "{:<4}{:<60}{:<28}{}\n    {}",
                r.order,
                what,
                r.target,
                r.verdict.cell().replace("**", ""),
                r.measured
            );
        }
    }
    if cli.quick {
        eprintln!(
            "--quick: figures are from small sizes; {} was not written",
            cli.out.display()
        );
    } else {
        eprintln!("wrote {} ({} rows)", cli.out.display(), all.len());
    }
    Ok(())
}
