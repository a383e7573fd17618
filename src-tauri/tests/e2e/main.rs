//! End-to-end tests of the desktop app: the real `fieldpay-app` binary (built by cargo for
//! this test) driven over WebDriver — `tauri-driver`, which drives WebKitWebDriver — on an Xvfb
//! display of its own. Nothing is mocked: the UI, the shell, the engine and the server (the
//! app's embedded sandbox, or a `fieldpay-server` started in this process) are the real ones.
//!
//! Needs: Xvfb, tauri-driver, WebKitWebDriver on PATH; `ui/dist` built (the shell embeds it);
//! a D-Bus session with an unlocked Secret Service (the app keeps its token in the keyring):
//!
//! ```text
//! XDG_DATA_HOME=$(mktemp -d) dbus-run-session -- bash -c \
//!   'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
//!    cargo test -p fieldpay-app --test e2e'
//! ```
//!
//! Arguments: names (substrings) of the tests to run; `--list`. Environment:
//! `FIELDPAY_E2E_SCREENSHOTS` (where the screenshots go), `FIELDPAY_E2E_KEEP=1` (keep the
//! work folder of passing tests too), `FIELDPAY_E2E_TIMEOUT` (seconds per test, default 420).
//!
//! The tests run one after another (each starts the app, which is heavy), sharing one display
//! and one tauri-driver; each test gets a new WebDriver session, i.e. a new app process on a
//! fresh data folder.

mod bad_input;
mod flows;
mod harness;
mod installed;
mod manager;
mod offline;
mod reps;
mod screenshots;
mod server;
mod story;
mod visits;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::FutureExt;

use harness::{Driver, Ui};

type TestFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;
type TestFn = for<'a> fn(&'a Ui) -> TestFuture<'a>;

/// Which binary a test drives.
#[derive(Clone, Copy)]
enum App {
    /// The one cargo built for this test.
    Built,
    /// The one installed from the desktop package (installed.rs).
    Installed,
}

const TESTS: &[(&str, App, TestFn)] = &[
    ("whole_story", App::Built, |ui| Box::pin(story::run(ui))),
    ("offline_queue_then_sync", App::Built, |ui| {
        Box::pin(offline::run(ui))
    }),
    ("bad_input", App::Built, |ui| Box::pin(bad_input::run(ui))),
    ("two_reps_one_device", App::Built, |ui| {
        Box::pin(reps::run(ui))
    }),
    ("screenshots", App::Built, |ui| {
        Box::pin(screenshots::run(ui))
    }),
    ("manager_screens", App::Built, |ui| {
        Box::pin(manager::run(ui))
    }),
    ("visit_route", App::Built, |ui| Box::pin(visits::run(ui))),
    ("installed_package", App::Installed, |ui| {
        Box::pin(installed::run_installed(ui))
    }),
];

const APP: &str = env!("CARGO_BIN_EXE_fieldpay-app");

/// libtest-like arguments: filters (substrings), `--exact`, `--skip NAME`, `--list`,
/// `--ignored` (there are none: nothing runs); other flags are accepted and ignored.
struct Args {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    only_ignored: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        filters: Vec::new(),
        skip: Vec::new(),
        exact: false,
        list: false,
        only_ignored: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        match s.as_str() {
            "--list" => a.list = true,
            "--exact" => a.exact = true,
            "--ignored" => a.only_ignored = true,
            "--skip" => a.skip.extend(it.next()),
            // Flags with a value.
            "--test-threads" | "--format" | "--color" | "--logfile" | "-Z" | "--shuffle-seed" => {
                let _ = it.next();
            }
            f if f.starts_with('-') => {}
            name => a.filters.push(name.to_string()),
        }
    }
    a
}

fn selected(a: &Args, name: &str) -> bool {
    let hit = |f: &String| {
        if a.exact {
            name == f
        } else {
            name.contains(f.as_str())
        }
    };
    (a.filters.is_empty() || a.filters.iter().any(hit))
        && !a.skip.iter().any(|s| name.contains(s.as_str()))
}

fn main() -> ExitCode {
    let args = parse_args();
    if args.list {
        for (name, _, _) in TESTS {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    let tests: Vec<&(&str, App, TestFn)> = if args.only_ignored {
        Vec::new()
    } else {
        TESTS
            .iter()
            .filter(|(n, _, _)| selected(&args, n))
            .collect()
    };
    println!("\nrunning {} e2e tests", tests.len());
    if tests.is_empty() {
        println!("\ntest result: ok. 0 passed; 0 failed\n");
        return ExitCode::SUCCESS;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let failed = rt.block_on(run(&tests));
    rt.shutdown_timeout(Duration::from_secs(10));
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs the tests one by one; returns how many failed.
async fn run(tests: &[&(&str, App, TestFn)]) -> usize {
    let started = Instant::now();
    let work = match tempfile::Builder::new().prefix("fieldpay-e2e-").tempdir() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: no temporary folder: {e}");
            return tests.len();
        }
    };
    let driver = match Driver::start(work.path()).await {
        Ok(d) => d,
        Err(e) => {
            // Missing tools fail the run (never a silent skip).
            eprintln!("\nerror: {e:#}\n");
            println!("test result: FAILED. 0 passed; {} failed\n", tests.len());
            return tests.len();
        }
    };
    println!(
        "  display {}, tauri-driver {}, app {APP}\n  work folder {}",
        driver.display,
        driver.url,
        work.path().display()
    );
    let per_test = Duration::from_secs(
        std::env::var("FIELDPAY_E2E_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(420),
    );
    let mut failures: Vec<(String, String)> = Vec::new();
    for (name, app, test) in tests {
        let t0 = Instant::now();
        let dir = work.path().join(name);
        let outcome = run_one(&driver, &dir, name, *app, *test, per_test).await;
        let secs = t0.elapsed().as_secs_f64();
        match outcome {
            Ok(()) => println!("test {name} ... ok ({secs:.1} s)"),
            Err(msg) => {
                println!("test {name} ... FAILED ({secs:.1} s)");
                failures.push((name.to_string(), msg));
            }
        }
    }
    let log = driver.log.clone();
    let keep = !failures.is_empty() || std::env::var_os("FIELDPAY_E2E_KEEP").is_some();
    for (name, msg) in &failures {
        println!("\n---- {name} ----\n{msg}");
    }
    if !failures.is_empty() {
        println!(
            "\n---- tauri-driver / WebKitWebDriver / app log (last lines of {}) ----\n{}",
            log.display(),
            harness::tail(&log, 80)
        );
    }
    // Stop the driver and the display (and everything they started) before the summary.
    drop(driver);
    if keep {
        let kept = work.keep();
        println!("\n(work folder kept: {})", kept.display());
    }
    println!(
        "\ntest result: {}. {} passed; {} failed; finished in {:.1} s\n",
        if failures.is_empty() { "ok" } else { "FAILED" },
        tests.len() - failures.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    failures.len()
}

/// One test: a new app (session) on a fresh data folder; on failure a screenshot of the
/// moment; the app is closed whatever happened.
async fn run_one(
    driver: &Driver,
    dir: &Path,
    name: &str,
    app: App,
    test: TestFn,
    limit: Duration,
) -> Result<(), String> {
    let app = match app {
        App::Built => PathBuf::from(APP),
        App::Installed => installed::unpack(dir).map_err(|e| format!("{e:#}"))?,
    };
    let ui = Ui::launch(driver, &app, &dir.join("app-data"))
        .await
        .map_err(|e| format!("{e:#}"))?;
    let result = tokio::time::timeout(limit, AssertUnwindSafe(test(&ui)).catch_unwind()).await;
    let failure = match result {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(e))) => Some(format!("{e:#}")),
        Ok(Err(panic)) => Some(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into()),
        ),
        Err(_) => Some(format!("did not finish within {} s", limit.as_secs())),
    };
    let failure = match failure {
        None => None,
        Some(msg) => {
            let shot: PathBuf = screenshots::dir()
                .join("failures")
                .join(format!("{name}.png"));
            let screen = ui.screen_name().await;
            let shot_note = match ui.screenshot(&shot).await {
                Ok(()) => format!("screenshot: {}", shot.display()),
                Err(e) => format!("no screenshot: {e:#}"),
            };
            Some(format!(
                "{msg}\n(at screen {screen:?}; {shot_note}; data folder {})",
                dir.display()
            ))
        }
    };
    ui.close().await;
    match failure {
        None => Ok(()),
        Some(m) => Err(m),
    }
}
