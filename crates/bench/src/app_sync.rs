//! Row 15: the app's memory while it makes a first sync of 200,000 accounts. The release
//! app runs under Xvfb (driven over WebDriver, as row 9), signs in as the demo manager to a
//! `fieldpay-server` loaded with the generated data set, and syncs it all while the memory of
//! its process and of its WebKit web process is sampled.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app_row::{find_app, Driver};
use crate::gen::Scale;
use crate::report::{RowResult, Verdict};
use crate::server;
use crate::stats::{self, bytes, group, Mem};
use crate::Ctx;

/// A figure of [`Mem`] by name.
type Figure = (&'static str, fn(&Mem) -> u64);

/// The target of issue 17: the app's memory during a first sync of 200k accounts.
const TARGET: u64 = 200_000_000;

/// Processes whose command line is `fieldpay-app ... --data DIR`: the app launched on `data`.
fn app_pid(data: &Path) -> Option<u32> {
    let want = data.as_os_str().to_string_lossy().into_owned();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<String> = cmd
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_app = args.first().is_some_and(|a| a.ends_with("fieldpay-app"));
        (is_app && args.contains(&want)).then_some(pid)
    })
}

/// The WebKit web process the app started (a child of `parent` named `WebKitWebProcess`).
fn web_pid(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let comm = &stat[open + 1..close];
        let ppid: u32 = stat[close + 2..].split_whitespace().nth(1)?.parse().ok()?;
        (ppid == parent && comm.starts_with("WebKitWebProc")).then_some(pid)
    })
}

/// The device database the app keeps in its data folder (`fieldpay-device.db`, at most two
/// folders down).
fn device_db(data: &Path) -> Option<PathBuf> {
    let mut dirs = vec![(data.to_path_buf(), 0)];
    while let Some((d, depth)) = dirs.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == "fieldpay-device.db") {
                return Some(p);
            }
            if depth < 2 && p.is_dir() {
                dirs.push((p, depth + 1));
            }
        }
    }
    None
}

/// Accounts in the device database now (0 while it is not there or busy).
fn device_accounts(db: &Path) -> u64 {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0)))
        .unwrap_or(0)
}

/// Peaks of the sampled memory: the app's process, its web process, and the two together
/// (added at the same sample).
#[derive(Clone, Copy, Default)]
struct Peaks {
    app: Mem,
    web: Mem,
    both: Mem,
    samples: usize,
}

/// Samples both processes' memory every 20 ms until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Peaks>,
}

impl Sampler {
    fn start(app: u32, web: Option<u32>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut p = Peaks::default();
            while !flag.load(Ordering::Relaxed) {
                if let Some(a) = Mem::of(app) {
                    let w = web.and_then(Mem::of).unwrap_or_default();
                    p.app = p.app.max(a);
                    p.web = p.web.max(w);
                    p.both = p.both.max(a.plus(w));
                    p.samples += 1;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            p
        });
        Sampler { stop, task }
    }

    async fn finish(self) -> anyhow::Result<Peaks> {
        self.stop.store(true, Ordering::Relaxed);
        Ok(self.task.await?)
    }
}

/// One first sync made by the app, watched.
struct Watched {
    idle_app: Mem,
    idle_web: Mem,
    peaks: Peaks,
    /// VmHWM of the app's process since just before the sign-in (reset then).
    hwm: Option<u64>,
    after_app: Mem,
    after_web: Mem,
    /// Sign-in sent → the device holds every account and the app's CPU went idle.
    seconds: f64,
    accounts: u64,
    badge: (Option<String>, Option<String>),
}

async fn watch(ctx: &Ctx, app: &Path, server_base: &str, accounts: u64) -> anyhow::Result<Watched> {
    let data = ctx.work.join("app-sync-data");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let data = data.canonicalize()?;
    let driver = Driver::start(ctx).await?;
    let result = async {
        let sid = driver.session(app, &data).await?;
        let run = async {
            let field = |id: &str| format!("[data-testid=\"{id}\"]");
            driver
                .wait(&sid, &field("signin-server"), Duration::from_secs(60))
                .await?;
            let pid = app_pid(&data)
                .ok_or_else(|| anyhow::anyhow!("no fieldpay-app process on {}", data.display()))?;
            let web = web_pid(pid);
            // The sign-in screen at rest, with its form filled in.
            driver
                .type_into(&sid, &field("signin-server"), server_base)
                .await?;
            driver
                .type_into(&sid, &field("signin-merchant"), "demo")
                .await?;
            driver
                .type_into(&sid, &field("signin-rep"), "manager")
                .await?;
            driver
                .type_into(&sid, &field("signin-password"), "demo1234")
                .await?;
            tokio::time::sleep(Duration::from_secs(3)).await;
            let idle_app = Mem::of(pid).unwrap_or_default();
            let idle_web = web.and_then(Mem::of).unwrap_or_default();
            let reset = stats::reset_peak_rss(pid);
            let sampler = Sampler::start(pid, web);
            let t0 = Instant::now();
            driver.click(&sid, &field("signin-submit")).await?;
            // Done: every account on the device, then one second without the app's process
            // using more than 2% of a core (the search index is built after the last page).
            let deadline = t0 + Duration::from_secs(600);
            let mut have = 0;
            let mut db = None;
            while have < accounts {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "the app synced {have} of {accounts} accounts in 600 s"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
                if db.is_none() {
                    db = device_db(&data);
                }
                if let Some(db) = &db {
                    have = device_accounts(db);
                }
            }
            let pid_s = pid.to_string();
            let mut cpu = stats::cpu_seconds(&pid_s).unwrap_or(0.0);
            let mut quiet_since = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let now = stats::cpu_seconds(&pid_s).unwrap_or(0.0);
                if now - cpu > 0.25 * 0.02 {
                    quiet_since = Instant::now();
                }
                cpu = now;
                if quiet_since.elapsed() >= Duration::from_secs(1) {
                    break;
                }
                anyhow::ensure!(Instant::now() < deadline, "the app did not go idle");
            }
            let seconds = (quiet_since - t0).as_secs_f64();
            let peaks = sampler.finish().await?;
            let (_, hwm) = stats::rss(pid).unwrap_or_default();
            let badge = (
                driver
                    .attr(&sid, &field("sync-badge"), "data-online")
                    .await?,
                driver
                    .attr(&sid, &field("sync-badge"), "data-queued")
                    .await?,
            );
            Ok(Watched {
                idle_app,
                idle_web,
                peaks,
                hwm: reset.then_some(hwm),
                after_app: Mem::of(pid).unwrap_or_default(),
                after_web: web.and_then(Mem::of).unwrap_or_default(),
                seconds,
                accounts: have,
                badge,
            })
        }
        .await;
        driver.end(&sid).await;
        run
    }
    .await;
    driver.stop();
    if !ctx.keep_data {
        let _ = std::fs::remove_dir_all(&data);
    }
    result
}

/// Row 15 (see the module's comment); not measured when no app binary is there.
pub async fn app_sync(ctx: &Ctx) -> anyhow::Result<RowResult> {
    let started = Instant::now();
    let load_before = stats::loadavg();
    let n = ctx.one_size(200_000, 5_000);
    let scale = Scale::for_accounts(n);
    let what = format!(
        "app: its memory during a first sync of {} accounts + {} ledger entries + {} products",
        group(scale.accounts as u64),
        group(scale.ledger as u64),
        group(scale.products as u64)
    );
    let target =
        "<= 200 MB (private pages: the app's process; and with its web process)".to_string();
    let row = |measured: String, verdict: Verdict, detail: String| RowResult {
        order: 15,
        what: what.clone(),
        target: target.clone(),
        measured,
        verdict,
        detail,
        load_before: load_before.clone(),
        load_after: stats::loadavg(),
        date: crate::now_utc(),
        seconds: started.elapsed().as_secs_f64(),
    };
    let app = match &ctx.app_bin {
        Some(p) => Some(p.clone()),
        None => find_app(ctx).into_iter().next(),
    };
    let Some(app) = app else {
        return Ok(row(
            "not measured".into(),
            Verdict::NotMeasured("the app is not built yet".into()),
            "No `fieldpay-app` binary was found when the benchmarks ran (`scripts/build-app.sh \
             --release` builds it).\n"
                .into(),
        ));
    };
    let (srv, data) = server::loaded_server(ctx, "app-sync", scale).await?;
    let watched = watch(ctx, &app, &srv.base, scale.accounts as u64).await;
    srv.stop();
    if !ctx.keep_data {
        let _ = std::fs::remove_dir_all(&data);
    }
    let w = watched?;
    eprintln!(
        "[app-sync] {} accounts in {:.1} s; app private {} -> peak {} (rss {} -> {}); web private peak {} (load {})",
        w.accounts,
        w.seconds,
        bytes(w.idle_app.private),
        bytes(w.peaks.app.private),
        bytes(w.idle_app.rss),
        bytes(w.peaks.app.rss),
        bytes(w.peaks.web.private),
        stats::loadavg()
    );
    let profile = if app.components().any(|c| c.as_os_str() == "debug") {
        "a debug build"
    } else {
        "a release build"
    };
    let mut d = String::new();
    let _ = writeln!(
        d,
        "The app (`{}`, {profile}) under Xvfb, launched over WebDriver (`tauri-driver`, as \
         row 9) on a fresh data folder, signs in as the demo manager (who syncs the whole \
         merchant) to the release `fieldpay-server` on loopback, loaded with the generated \
         data set. Its process and its WebKit web process are sampled every 20 ms \
         (`/proc/PID/smaps_rollup`) from the click on 'sign in' until the device holds every \
         account and the app's process has used under 2 % of a core for a second (the search \
         index is built after the last page). Private = pages no other process maps (what \
         the app itself holds: its heap, the engine, SQLite's cache); PSS adds its share of \
         pages shared with other processes (the GTK/WebKit/GL libraries, memory shared with \
         the web process); RSS counts shared pages in full. Under Xvfb WebKit renders in \
         software (Mesa's llvmpipe: LLVM is mapped into both processes). Peak = the highest \
         sample of each figure on its own (`both` = the two processes added, sample by \
         sample). Idle = the sign-in screen, form filled in, 3 s at rest.\n\n\
         | process | figure | idle (sign-in screen) | peak during the sync | after |\n|---|---|---|---|---|",
        app.display()
    );
    let figures: [Figure; 4] = [
        ("private", |m| m.private),
        ("PSS", |m| m.pss),
        ("RSS", |m| m.rss),
        ("anonymous", |m| m.anon),
    ];
    for (who, idle, peak, after) in [
        ("app", w.idle_app, w.peaks.app, w.after_app),
        ("web process", w.idle_web, w.peaks.web, w.after_web),
        (
            "both",
            w.idle_app.plus(w.idle_web),
            w.peaks.both,
            w.after_app.plus(w.after_web),
        ),
    ] {
        for (name, f) in &figures {
            let _ = writeln!(
                d,
                "| {who} | {name} | {} | {} | {} |",
                bytes(f(&idle)),
                bytes(f(&peak)),
                bytes(f(&after))
            );
        }
    }
    let _ = writeln!(
        d,
        "\nSync: {} accounts on the device {:.1} s after the click (to the app's CPU going \
         idle; sign-in included); {} samples; the app's VmHWM since the click: {}; sync badge \
         after: online = {}, queued = {}.",
        group(w.accounts),
        w.seconds,
        w.peaks.samples,
        w.hwm.map(bytes).unwrap_or_else(|| "not reset".into()),
        w.badge.0.as_deref().unwrap_or("?"),
        w.badge.1.as_deref().unwrap_or("?"),
    );
    // The verdict is on the app's own process; the web process (WebKit's, which renders the
    // UI) is part of the app too and is judged beside it, by the same figure.
    let peak = w.peaks.app.private;
    let both = w.peaks.both.private;
    let verdict = match (peak <= TARGET, both <= TARGET) {
        (true, true) => Verdict::Met,
        (true, false) => Verdict::Partly(format!(
            "the app's process {} (met); with its web process {} (×{:.2})",
            bytes(peak),
            bytes(both),
            both as f64 / TARGET as f64
        )),
        (false, _) => Verdict::Missed(format!(
            "the app's process {} (×{:.2}); with its web process {}",
            bytes(peak),
            peak as f64 / TARGET as f64,
            bytes(both)
        )),
    };
    Ok(row(
        format!(
            "the app's process: private peak {} (idle {}; PSS {}, RSS {}); its web process: \
             private peak {} (idle {}); both: {}",
            bytes(peak),
            bytes(w.idle_app.private),
            bytes(w.peaks.app.pss),
            bytes(w.peaks.app.rss),
            bytes(w.peaks.web.private),
            bytes(w.idle_web.private),
            bytes(both)
        ),
        verdict,
        d,
    ))
}
