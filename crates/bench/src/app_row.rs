//! Row 9: the app's start time and the UI's wasm size. The app (`src-tauri`, `ui`) is built
//! by `scripts/build-app.sh`; this row measures what it finds and says so when it finds
//! nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::report::{RowResult, Verdict};
use crate::stats::{self, bytes};
use crate::Ctx;

/// `fieldpay-app` binaries under the usual target folders: the repository's `target/`,
/// `$CARGO_TARGET_DIR`, and `target*` folders beside it; newest first.
pub fn find_app(ctx: &Ctx) -> Vec<PathBuf> {
    let mut roots = vec![ctx.repo.join("target")];
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        let t = PathBuf::from(t);
        if let Some(parent) = t.parent() {
            for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().starts_with("target") {
                    roots.push(e.path());
                }
            }
        }
        roots.push(t);
    }
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for r in roots {
        for profile in ["release", "debug"] {
            let p = r.join(profile).join("fieldpay-app");
            if let Ok(m) = p.metadata() {
                if m.is_file() && !found.iter().any(|(_, q)| q == &p) {
                    found.push((m.modified().unwrap_or(std::time::UNIX_EPOCH), p));
                }
            }
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.into_iter().map(|(_, p)| p).collect()
}

/// The UI's wasm files in `ui/dist`.
pub fn find_wasm(repo: &Path) -> Vec<(PathBuf, u64)> {
    let mut v: Vec<(PathBuf, u64)> = std::fs::read_dir(repo.join("ui").join("dist"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .filter_map(|p| p.metadata().ok().map(|m| (p, m.len())))
        .collect();
    v.sort();
    v
}

pub fn app(ctx: &Ctx) -> anyhow::Result<RowResult> {
    let started = Instant::now();
    let load_before = stats::loadavg();
    let apps = match &ctx.app_bin {
        Some(p) => vec![p.clone()],
        None => find_app(ctx),
    };
    let wasm = find_wasm(&ctx.repo);
    let mut d = String::new();
    let (measured, verdict) = match (apps.first(), wasm.first()) {
        (None, None) => {
            d.push_str(
                "No `target/*/fieldpay-app` and no `ui/dist/*.wasm` were found when the \
                 benchmarks ran.\n",
            );
            (
                "not measured".to_string(),
                Verdict::NotMeasured("the app is not built yet".into()),
            )
        }
        (app, wasm_file) => {
            let mut parts = Vec::new();
            let mut checks = Vec::new();
            if let Some((p, size)) = wasm_file {
                let _ = writeln!(
                    d,
                    "UI wasm: `{}`, {} bytes ({}).",
                    p.strip_prefix(&ctx.repo).unwrap_or(p).display(),
                    stats::group(*size),
                    bytes(*size)
                );
                parts.push(format!("wasm {}", bytes(*size)));
                checks.push((
                    *size <= 1_500_000,
                    format!(
                        "wasm {} (×{:.2} of 1.5 MB)",
                        bytes(*size),
                        *size as f64 / 1.5e6
                    ),
                ));
            } else {
                d.push_str("UI wasm: no `ui/dist/*.wasm` found (not built).\n");
                parts.push("wasm not built".into());
            }
            match app {
                Some(p) => {
                    let _ = writeln!(
                        d,
                        "\nApp binary: `{}` ({}).\n\nStart time: not measured. Under Xvfb the \
                         only outside signals are the window appearing and the shell's \
                         `ready` log line, and neither says that the first screen is painted \
                         and usable: the WebKit view loads the wasm UI afterwards and nothing \
                         reports when its first screen is interactive. Timing screenshots on \
                         this shared 2-core machine would measure the poller as much as the \
                         app. A reliable figure needs the UI to report its first usable \
                         render (e.g. a `ui_ready` command the shell logs with the time since \
                         process start); see the report.",
                        p.display(),
                        p.metadata().map(|m| bytes(m.len())).unwrap_or_default()
                    );
                    parts.push("start not measured".into());
                }
                None => {
                    d.push_str("\nApp binary: not found (not built): start time not measured.\n");
                    parts.push("start not measured: app not built".into());
                }
            }
            let verdict = if checks.is_empty() {
                Verdict::NotMeasured("the app is not built yet".into())
            } else {
                match Verdict::from_checks(&checks) {
                    Verdict::Met => {
                        Verdict::Partly("start time not measured (wasm size met)".into())
                    }
                    other => other,
                }
            };
            (parts.join("; "), verdict)
        }
    };
    Ok(RowResult {
        order: 9,
        key: "app".into(),
        what: "app: start to first usable screen under Xvfb; UI wasm size".into(),
        target: "<= 1.5 s; <= 1.5 MB".into(),
        measured,
        verdict,
        detail: d,
        load_before,
        load_after: stats::loadavg(),
        date: crate::now_utc(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
