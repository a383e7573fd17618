//! Results of benchmark rows (kept as JSON, one file per row, so one row can be re-run alone)
//! and the `BENCHMARKS.md` they make.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::stats::Machine;

/// Whether a row met its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Met,
    /// Missed, with by how much.
    Missed(String),
    /// Some parts met, some missed.
    Partly(String),
    NotMeasured(String),
    /// A figure the issue asks for without a target.
    Reported,
}

impl Verdict {
    pub fn cell(&self) -> String {
        match self {
            Verdict::Met => "met".into(),
            Verdict::Missed(by) => format!("**missed**: {by}"),
            Verdict::Partly(why) => format!("**partly**: {why}"),
            Verdict::NotMeasured(why) => format!("not measured: {why}"),
            Verdict::Reported => "reported (no target)".into(),
        }
    }

    /// Met if every check passed, else a list of the misses.
    pub fn from_checks(checks: &[(bool, String)]) -> Verdict {
        let misses: Vec<&str> = checks
            .iter()
            .filter(|(ok, _)| !ok)
            .map(|(_, m)| m.as_str())
            .collect();
        if misses.is_empty() {
            Verdict::Met
        } else if misses.len() == checks.len() {
            Verdict::Missed(misses.join("; "))
        } else {
            Verdict::Partly(misses.join("; "))
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowResult {
    /// Position in the table (1..=9 from issue 5, then the rows added since).
    pub order: u32,
    /// Subcommand that produces it.
    pub key: String,
    pub what: String,
    pub target: String,
    /// The headline figures.
    pub measured: String,
    pub verdict: Verdict,
    /// Markdown: how it was measured, every figure, growth tables.
    pub detail: String,
    /// Load averages (1, 5, 15 min) before and after the row ran.
    pub load_before: String,
    pub load_after: String,
    /// When it ran (UTC).
    pub date: String,
    /// How long the row took, seconds.
    pub seconds: f64,
}

pub fn results_dir(base: &Path) -> PathBuf {
    base.join("results")
}

pub fn save(dir: &Path, row: &RowResult) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(format!("{}.json", row.key)),
        serde_json::to_string_pretty(row)?,
    )?;
    Ok(())
}

pub fn load_all(dir: &Path) -> Vec<RowResult> {
    let mut rows: Vec<RowResult> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|s| serde_json::from_str(&s).ok())
        .collect();
    rows.sort_by_key(|r| r.order);
    rows
}

/// Text after this line in an existing BENCHMARKS.md is kept when the file is written again.
pub const KEEP_MARKER: &str =
    "<!-- Hand-written analysis below this line is kept when fieldpay-bench rewrites the file. -->";

/// The whole BENCHMARKS.md.
pub fn markdown(machine: &Machine, rows: &[RowResult], keep: Option<&str>) -> String {
    let mut s = String::new();
    s.push_str("# FieldPay benchmarks\n\n");
    s.push_str(
        "Measured speed and memory of the engine, the server and the app against the targets of \
         issue 5, on realistic Korean data (200,000 client accounts, 10,000 products, 1,000,000 \
         ledger entries; seeded and deterministic, see `crates/bench/src/gen.rs`). Written by \
         `fieldpay-bench` (`crates/bench`); figures are medians and p99 over repeated runs.\n\n",
    );
    s.push_str("## Reproduce\n\n```sh\n");
    s.push_str("./scripts/bench.sh              # everything (release build, keyring session), rewrites BENCHMARKS.md\n");
    s.push_str(
        "./scripts/bench.sh search sync  # some rows only (others keep their last figures)\n",
    );
    s.push_str("./scripts/bench.sh all --quick  # small sizes, a smoke test of the harness\n");
    s.push_str("# only the data (200k accounts, 10k products, 1M ledger entries) in a server data folder:\n");
    s.push_str("$CARGO_TARGET_DIR/release/fieldpay-bench gen --accounts 200000 --data /tmp/fieldpay-200k\n");
    s.push_str("```\n\n");
    s.push_str(
        "Rows: `search`, `sync` (first sync and growth; also row 14, a rep's first sync of its own clients), `delta`, `outbox`, `pdf`, `charges` \
         (with server RSS), `ivr`, `app`, `charges-pg` and `sync-pg` (rows 10 and 11: the \
         server on PostgreSQL beside SQLite; `scripts/bench.sh` starts a throwaway PostgreSQL \
         for them with `scripts/pg-test.sh start --durable`: fsync on, synchronous_commit \
         off), `openloop` (row 12: charge creation at fixed arrival rates beside the HTTP \
         floor), `sync-rss` (row 13: server RSS while serving a first sync), `app-sync` (row 15: the app's memory during a first sync, under Xvfb) and `texts` (row 16: bills through a text provider's stand-in answering in 100 ms). Results are kept per row as JSON under `$CARGO_TARGET_DIR/bench/results/` and \
         this file is made from them.\n\n",
    );
    s.push_str("## Machine\n\n");
    s.push_str(&format!(
        "- CPU: {} × {} (`nproc` = {})\n- RAM: {}\n- Kernel: {}\n- Toolchain: {}, release profile\n",
        machine.nproc, machine.cpu_model, machine.nproc, machine.mem_total, machine.kernel, machine.rustc
    ));
    s.push_str(
        "- The machine is shared: other builds ran during the measurements. The load averages \
         (1/5/15 min) before and after each row are in the table; compare ratios (growth, \
         p99/p50) rather than absolute times across rows.\n\n",
    );
    s.push_str("## Results\n\n");
    s.push_str("| # | what | target | measured | verdict | load before → after | when (UTC) |\n");
    s.push_str("|---|---|---|---|---|---|---|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} → {} | {} |\n",
            r.order,
            r.what,
            r.target,
            r.measured,
            r.verdict.cell(),
            r.load_before,
            r.load_after,
            r.date
        ));
    }
    s.push('\n');
    for r in rows {
        s.push_str(&format!("## {}. {}\n\n", r.order, r.what));
        s.push_str(&format!(
            "Target: {}. Measured: {}. Verdict: {}. Took {:.0} s; load {} → {}.\n\n",
            r.target,
            r.measured,
            r.verdict.cell(),
            r.seconds,
            r.load_before,
            r.load_after
        ));
        s.push_str(r.detail.trim_end());
        s.push_str("\n\n");
    }
    s.push_str(KEEP_MARKER);
    s.push('\n');
    if let Some(k) = keep {
        let k = k.trim_start_matches('\n');
        if !k.is_empty() {
            s.push('\n');
            s.push_str(k);
            if !k.ends_with('\n') {
                s.push('\n');
            }
        }
    }
    s
}

/// Writes `path` from the stored rows, keeping the hand-written part of the old file.
pub fn write_markdown(path: &Path, machine: &Machine, rows: &[RowResult]) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let keep = old
        .split_once(KEEP_MARKER)
        .map(|(_, rest)| rest.to_string());
    std::fs::write(path, markdown(machine, rows, keep.as_deref()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(order: u32, key: &str) -> RowResult {
        RowResult {
            order,
            key: key.into(),
            what: format!("row {key}"),
            target: "<= 1 ms".into(),
            measured: "0.5 ms".into(),
            verdict: Verdict::Met,
            detail: "details".into(),
            load_before: "1 1 1".into(),
            load_after: "2 2 2".into(),
            date: "2026-01-01 00:00".into(),
            seconds: 1.0,
        }
    }

    #[test]
    fn keeps_the_hand_written_part() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &row(2, "b")).unwrap();
        save(dir.path(), &row(1, "a")).unwrap();
        let rows = load_all(dir.path());
        assert_eq!(rows.iter().map(|r| r.order).collect::<Vec<_>>(), vec![1, 2]);
        let md = dir.path().join("B.md");
        write_markdown(&md, &Machine::default(), &rows).unwrap();
        let mut text = std::fs::read_to_string(&md).unwrap();
        assert!(text.contains("| 1 | row a |"));
        text.push_str("\n## Analysis\nwhy it is slow\n");
        std::fs::write(&md, text).unwrap();
        write_markdown(&md, &Machine::default(), &rows[..1]).unwrap();
        let again = std::fs::read_to_string(&md).unwrap();
        assert!(again.contains("why it is slow"));
        assert!(!again.contains("| 2 | row b |"));
        assert_eq!(again.matches(KEEP_MARKER).count(), 1);
    }

    #[test]
    fn verdicts() {
        assert_eq!(Verdict::from_checks(&[(true, "a".into())]), Verdict::Met);
        assert_eq!(
            Verdict::from_checks(&[(false, "a".into()), (true, "b".into())]),
            Verdict::Partly("a".into())
        );
        assert_eq!(
            Verdict::from_checks(&[(false, "a".into())]),
            Verdict::Missed("a".into())
        );
    }
}
