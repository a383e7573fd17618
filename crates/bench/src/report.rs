//! Results of benchmark rows and the `BENCHMARKS.md` they make. The file is also where the
//! results are kept: it is read back before it is written again, so a row run alone replaces
//! its own figures and the others keep theirs (on any machine, from a fresh clone).

use std::path::Path;

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
         floor), `sync-rss` (row 13: server RSS while serving a first sync), `app-sync` (row 15: the app's memory during a first sync, under Xvfb) and `texts` (row 16: bills through a text provider's stand-in answering in 100 ms). This file is also where the results are kept: \
         `fieldpay-bench` reads it back before writing it again, so rows not run keep their \
         figures.\n\n",
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

/// The rows of a file written by [`markdown`] (none for an empty or missing file): the table
/// gives each row's cells, its section the detail and the time it took. An error names what
/// could not be read (the generated part edited by hand).
pub fn parse(path: &Path, text: &str) -> anyhow::Result<Vec<RowResult>> {
    let fail = |what: String| {
        anyhow::anyhow!(
            "{}: {what} (rows not run are kept from this file: mend it or move it away)",
            path.display()
        )
    };
    let generated = text.split_once(KEEP_MARKER).map_or(text, |(g, _)| g);
    let Some((_, table)) = generated.split_once("|---|---|---|---|---|---|---|\n") else {
        return Ok(Vec::new());
    };
    let mut rows = Vec::new();
    for line in table.lines().take_while(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line
            .strip_prefix("| ")
            .and_then(|l| l.strip_suffix(" |"))
            .unwrap_or_default()
            .split(" | ")
            .collect();
        let [order, what, target, measured, verdict, load, date] = cells[..] else {
            return Err(fail(format!(
                "a table line has {} cells, not 7: {line}",
                cells.len()
            )));
        };
        let order: u32 = order
            .parse()
            .map_err(|_| fail(format!("row number {order:?}")))?;
        let (load_before, load_after) = load
            .split_once(" → ")
            .ok_or_else(|| fail(format!("row {order}: load {load:?}")))?;
        rows.push(RowResult {
            order,
            what: what.into(),
            target: target.into(),
            measured: measured.into(),
            verdict: parse_verdict(verdict)
                .ok_or_else(|| fail(format!("row {order}: verdict {verdict:?}")))?,
            detail: String::new(),
            load_before: load_before.into(),
            load_after: load_after.into(),
            date: date.into(),
            seconds: 0.0,
        });
    }
    // Each row's section runs from its heading to the next row's (or the end of the part).
    let starts: Vec<usize> = rows
        .iter()
        .map(|r| {
            generated
                .find(&format!("\n## {}. {}\n\n", r.order, r.what))
                .ok_or_else(|| fail(format!("row {}: no section", r.order)))
        })
        .collect::<anyhow::Result<_>>()?;
    for (k, r) in rows.iter_mut().enumerate() {
        let end = starts
            .iter()
            .copied()
            .filter(|&s| s > starts[k])
            .min()
            .unwrap_or(generated.len());
        let heading = format!("\n## {}. {}\n\n", r.order, r.what);
        let body = &generated[starts[k] + heading.len()..end];
        let (summary, detail) = body.split_once("\n\n").unwrap_or((body, ""));
        let took = summary
            .rsplit_once(" Took ")
            .and_then(|(_, t)| t.split_once(" s; load "))
            .and_then(|(secs, _)| secs.parse::<f64>().ok())
            .ok_or_else(|| fail(format!("row {}: no \"Took N s\" in its section", r.order)))?;
        r.seconds = took;
        r.detail = detail.trim_end().to_string();
    }
    rows.sort_by_key(|r| r.order);
    Ok(rows)
}

fn parse_verdict(cell: &str) -> Option<Verdict> {
    if cell == "met" {
        Some(Verdict::Met)
    } else if cell == "reported (no target)" {
        Some(Verdict::Reported)
    } else if let Some(by) = cell.strip_prefix("**missed**: ") {
        Some(Verdict::Missed(by.into()))
    } else if let Some(why) = cell.strip_prefix("**partly**: ") {
        Some(Verdict::Partly(why.into()))
    } else {
        cell.strip_prefix("not measured: ")
            .map(|why| Verdict::NotMeasured(why.into()))
    }
}

/// `rows` with each of `new` in place of the row of the same number.
pub fn merge(rows: &mut Vec<RowResult>, new: &[RowResult]) {
    for n in new {
        rows.retain(|r| r.order != n.order);
        rows.push(n.clone());
    }
    rows.sort_by_key(|r| r.order);
}

/// Writes `path` from `rows`, keeping the hand-written part of the old file.
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

    fn row(order: u32, verdict: Verdict) -> RowResult {
        RowResult {
            order,
            what: format!("row {order}: p50 / p99"),
            target: "<= 1 ms; >= 5x (name infix)".into(),
            measured: "0.5 ms / 0.9 ms (best of rounds: 0.4 ms)".into(),
            verdict,
            detail: format!(
                "Details of {order}.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n### sub\n\ntext"
            ),
            load_before: "1.00 1.10 1.20".into(),
            load_after: "2.00 2.10 2.20".into(),
            date: "2026-01-01 00:00".into(),
            seconds: 12.0,
        }
    }

    fn rows() -> Vec<RowResult> {
        vec![
            row(1, Verdict::Met),
            row(2, Verdict::Missed("p99 2 ms".into())),
            row(3, Verdict::Partly("a; b".into())),
            row(10, Verdict::NotMeasured("no PostgreSQL".into())),
            row(11, Verdict::Reported),
        ]
    }

    fn same(a: &[RowResult], b: &[RowResult]) {
        let key = |r: &RowResult| serde_json::to_string(r).unwrap();
        assert_eq!(
            a.iter().map(key).collect::<Vec<_>>(),
            b.iter().map(key).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_file_reads_back_as_the_rows_it_was_made_from() {
        let md = markdown(&Machine::default(), &rows(), Some("\n## Analysis\n"));
        let back = parse(Path::new("B.md"), &md).unwrap();
        same(&back, &rows());
        assert!(parse(Path::new("B.md"), "").unwrap().is_empty());
    }

    #[test]
    fn a_row_run_alone_replaces_its_own_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("B.md");
        write_markdown(&md, &Machine::default(), &rows()).unwrap();
        let mut text = std::fs::read_to_string(&md).unwrap();
        text.push_str("\n## Analysis\nwhy it is slow\n");
        std::fs::write(&md, text).unwrap();

        let mut all = parse(&md, &std::fs::read_to_string(&md).unwrap()).unwrap();
        let mut again = row(2, Verdict::Met);
        again.measured = "0.1 ms".into();
        merge(&mut all, &[again.clone(), row(12, Verdict::Met)]);
        write_markdown(&md, &Machine::default(), &all).unwrap();
        let text = std::fs::read_to_string(&md).unwrap();
        let back = parse(&md, &text).unwrap();
        let mut want = rows();
        want[1] = again;
        want.push(row(12, Verdict::Met));
        same(&back, &want);
        assert!(text.contains("why it is slow"));
        assert_eq!(text.matches(KEEP_MARKER).count(), 1);
    }

    /// The committed file is where rows not run are kept: it must read back, as it is.
    #[test]
    fn the_repositorys_benchmarks_file_reads_back_whole() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../BENCHMARKS.md");
        let text = std::fs::read_to_string(&path).unwrap();
        let rows = parse(&path, &text).unwrap();
        assert!(rows.len() >= 16, "{} rows", rows.len());
        let keep = text.split_once(KEEP_MARKER).map(|(_, k)| k);
        let again = markdown(&Machine::default(), &rows, keep);
        let results = |t: &str| t.split_once("## Results\n").unwrap().1.to_string();
        assert!(
            results(&again) == results(&text),
            "BENCHMARKS.md does not read back as written"
        );
    }

    #[test]
    fn a_table_edited_by_hand_is_an_error_not_lost_rows() {
        let md = markdown(&Machine::default(), &rows(), None);
        let broken = md.replace("| 2 | row 2", "| two | row 2");
        let e = parse(Path::new("B.md"), &broken).unwrap_err().to_string();
        assert!(e.contains("B.md") && e.contains("\"two\""), "{e}");
        let extra = md.replace("| 0.5 ms", "| 0.5 | ms");
        assert!(parse(Path::new("B.md"), &extra).is_err());
        let verdict = md.replace("| met |", "| fine |");
        assert!(parse(Path::new("B.md"), &verdict).is_err());
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
