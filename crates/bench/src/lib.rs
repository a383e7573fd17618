//! FieldPay benchmarks (issue 5): a seeded, deterministic Korean data generator ([`gen`]) and
//! the rows of the benchmark table, run by the `fieldpay-bench` binary, which prints a table
//! and writes `BENCHMARKS.md` ([`report`]).

pub mod app_row;
pub mod app_sync;
pub mod data_rows;
pub mod engine_rows;
pub mod gen;
pub mod openloop;
pub mod pg;
pub mod pg_rows;
pub mod report;
pub mod search_baselines;
pub mod server;
pub mod server_rows;
pub mod stats;
pub mod sync_baselines;
pub mod texts_row;

use std::path::PathBuf;

/// Where and how the rows run.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Scratch folder: server data folders, devices, server logs.
    pub work: PathBuf,
    /// The release `fieldpay-server` binary.
    pub server_bin: PathBuf,
    /// Small sizes and few runs: a smoke test of the harness, not figures.
    pub quick: bool,
    pub seed: u64,
    /// Keep server data folders after a row (for a look at them).
    pub keep_data: bool,
    /// The repository root (for `ui/dist` and `target/`).
    pub repo: PathBuf,
    /// The app binary, if given.
    pub app_bin: Option<PathBuf>,
    /// Account counts for rows 1-3 instead of 10k, 50k, 200k.
    pub sizes: Option<Vec<usize>>,
    /// First syncs per size instead of the default (3, and 1 at 200k).
    pub sync_runs: Option<usize>,
}

impl Ctx {
    /// The account count of a row measured at one size: the largest of `--sizes` when given,
    /// else `quick` or `full` by the mode.
    pub fn one_size(&self, full: usize, quick: usize) -> usize {
        match (&self.sizes, self.quick) {
            (Some(s), _) if !s.is_empty() => s.iter().copied().max().unwrap_or(full),
            (_, true) => quick,
            _ => full,
        }
    }
}

/// Now, UTC, to the minute.
pub fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M").to_string()
}
