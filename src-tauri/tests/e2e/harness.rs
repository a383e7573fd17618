//! The test bench: an Xvfb display and a `tauri-driver` (which drives WebKitWebDriver) started
//! for this run only, one WebDriver session (= one app process on a fresh data folder) per
//! test, and helpers that find elements by `data-testid` by polling with a deadline.
//!
//! Cleanup stops exactly the processes this run started (Xvfb, tauri-driver and what they
//! started: WebKitWebDriver, the app and its WebKit helpers), also when a test panics: every
//! process is held by a guard whose `Drop` kills it.

use std::fmt::Display;
use std::io::{Read, Seek};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long a step may take by default (a debug build on a loaded 2-core machine).
pub const STEP: Duration = Duration::from_secs(30);
/// For things that go through the sync loop or start a server.
pub const SLOW: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(100);
/// The longest one WebDriver command may take (a hung browser must fail the test, not hang it).
const COMMAND: Duration = Duration::from_secs(60);

/// One WebDriver command, bounded by [`COMMAND`].
pub async fn wd<T, E: Display>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T> {
    let t0 = Instant::now();
    let r = tokio::time::timeout(COMMAND, f).await;
    if std::env::var_os("FIELDPAY_E2E_TRACE").is_some() {
        eprintln!("  wd {what}: {} ms", t0.elapsed().as_millis());
    }
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(anyhow!("{what}: {e}")),
        Err(_) => Err(anyhow!(
            "WebDriver did not answer {what} within {} s",
            COMMAND.as_secs()
        )),
    }
}

/// `[data-testid="id"]`.
pub fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// An amount as the UI prints it (`-1,234원`) -> -1234.
pub fn won(text: &str) -> Result<i64> {
    let t = text.trim();
    let neg = t.starts_with('-') || t.starts_with('−');
    let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    let v: i64 = digits
        .parse()
        .with_context(|| format!("not an amount: {text:?}"))?;
    Ok(if neg { -v } else { v })
}

// ------------------------------------------------------------------ deadlines

/// A deadline for a polling loop: `tick` sleeps a little, or fails with what was awaited
/// (and the last error seen) once the time is up.
pub struct Wait {
    what: String,
    timeout: Duration,
    until: Instant,
    last: Option<String>,
}

impl Wait {
    pub fn new(what: impl Display, timeout: Duration) -> Wait {
        Wait {
            what: what.to_string(),
            timeout,
            until: Instant::now() + timeout,
            last: None,
        }
    }

    /// Remembers why the last try did not succeed (shown on timeout).
    pub fn note(&mut self, why: impl Display) {
        self.last = Some(why.to_string());
    }

    pub async fn tick(&mut self) -> Result<()> {
        if Instant::now() >= self.until {
            bail!(
                "timed out after {} s waiting for {}{}",
                self.timeout.as_secs(),
                self.what,
                self.last
                    .as_ref()
                    .map(|l| format!(" (last seen: {l})"))
                    .unwrap_or_default()
            );
        }
        tokio::time::sleep(POLL).await;
        Ok(())
    }
}

// ------------------------------------------------------------------ processes

/// A program on `PATH` (or in `~/.cargo/bin`, where `cargo install tauri-driver` puts it).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo").join("bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The tools the tests need, or an error naming each missing one and how to get it.
pub fn check_tools() -> Result<(PathBuf, PathBuf)> {
    let xvfb = find_tool("Xvfb");
    let driver = find_tool("tauri-driver");
    let native = find_tool("WebKitWebDriver");
    let mut missing = Vec::new();
    if xvfb.is_none() {
        missing.push("Xvfb (apt install xvfb)");
    }
    if driver.is_none() {
        missing.push("tauri-driver (cargo install tauri-driver --locked)");
    }
    if native.is_none() {
        missing.push("WebKitWebDriver (apt install webkit2gtk-driver)");
    }
    if !missing.is_empty() {
        bail!(
            "the end-to-end tests need these programs, which are not installed (not on PATH): {}",
            missing.join(", ")
        );
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        bail!(
            "no D-Bus session: the app keeps its sign-in token in the OS keyring. Run the tests \
             inside `dbus-run-session` with an unlocked gnome-keyring, e.g. \
             XDG_DATA_HOME=$(mktemp -d) dbus-run-session -- bash -c 'echo -n pw | \
             gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p \
             fieldpay-app --test e2e'"
        );
    }
    Ok((xvfb.unwrap(), driver.unwrap()))
}

/// A free loopback port (bound, then released).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The parent pid of a process, from `/proc/<pid>/stat`.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces; it ends at the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every live descendant of `root` (children before grandchildren).
pub fn descendants(root: i32) -> Vec<i32> {
    let mut all: Vec<(i32, i32)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) {
                if let Some(pp) = parent_of(pid) {
                    all.push((pid, pp));
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (c, _) in all.iter().filter(|(_, pp)| *pp == p) {
            if !out.contains(c) {
                out.push(*c);
                frontier.push(*c);
            }
        }
    }
    out
}

fn alive(pid: i32) -> bool {
    // Zombies count as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .and_then(|i| s[i + 2..].chars().next())
                .map(|st| st != 'Z')
        })
        .unwrap_or(false)
}

/// SIGTERM to each pid, then SIGKILL to those still alive after `grace`.
pub fn terminate(pids: &[i32], grace: Duration) {
    for &p in pids {
        // SAFETY: kill(2) with a pid this run started (or one of its descendants).
        unsafe {
            libc::kill(p, libc::SIGTERM);
        }
    }
    let until = Instant::now() + grace;
    while Instant::now() < until && pids.iter().any(|p| alive(*p)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &p in pids {
        if alive(p) {
            // SAFETY: as above.
            unsafe {
                libc::kill(p, libc::SIGKILL);
            }
        }
    }
}

/// A child process that is stopped (with everything it started) when dropped.
pub struct Guarded {
    child: Child,
}

impl Guarded {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Exited already? (with its status)
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let mut pids = descendants(self.pid());
        pids.reverse(); // grandchildren first
        pids.push(self.pid());
        terminate(&pids, Duration::from_secs(5));
        let _ = self.child.wait();
    }
}

/// The last `n` lines of a log file.
pub fn tail(path: &Path, n: usize) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return format!("({} not readable)", path.display());
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(std::io::SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The Xvfb display and tauri-driver of this run.
pub struct Driver {
    pub url: String,
    pub display: String,
    pub log: PathBuf,
    // Dropped in this order: tauri-driver (and its WebKitWebDriver), then Xvfb.
    _driver: Guarded,
    _xvfb: Guarded,
}

fn display_free(n: u32) -> bool {
    !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
}

impl Driver {
    pub async fn start(work: &Path) -> Result<Driver> {
        let (xvfb_bin, driver_bin) = check_tools()?;
        let log = work.join("tauri-driver.log");
        let logf = std::fs::File::create(&log)?;
        // A display of our own: the first free number from 99 up; if another run takes it
        // between the check and the start, Xvfb exits and the next one is tried.
        let mut xvfb = None;
        for n in (99..400).filter(|n| display_free(*n)) {
            let xlog = std::fs::File::create(work.join("xvfb.log"))?;
            let child = Command::new(&xvfb_bin)
                .arg(format!(":{n}"))
                .args([
                    "-screen",
                    "0",
                    "1400x1000x24",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ])
                .stdin(Stdio::null())
                .stdout(xlog.try_clone()?)
                .stderr(xlog)
                .spawn()
                .context("starting Xvfb")?;
            let mut g = Guarded { child };
            let mut w = Wait::new(format!("Xvfb on display :{n}"), Duration::from_secs(20));
            let ok = loop {
                if g.exited().is_some() {
                    break false;
                }
                if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                    break true;
                }
                if w.tick().await.is_err() {
                    break false;
                }
            };
            if ok {
                xvfb = Some((n, g));
                break;
            }
        }
        let (n, xvfb) = xvfb.ok_or_else(|| {
            anyhow!(
                "Xvfb did not start on any free display: {}",
                tail(&work.join("xvfb.log"), 20)
            )
        })?;
        let display = format!(":{n}");
        let port = free_port()?;
        let native = free_port()?;
        let child = Command::new(&driver_bin)
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native.to_string())
            .env("DISPLAY", &display)
            // (Not WEBKIT_DISABLE_COMPOSITING_MODE: with it, WebKitWebDriver's screenshot
            // hangs once the window was resized.)
            // No accessibility bus (nothing reads it here).
            .env("NO_AT_BRIDGE", "1")
            // The web view's own storage (local storage: language, last server address) in
            // this run's folder, not the user's.
            .env("XDG_CONFIG_HOME", work.join("xdg-config"))
            .env("XDG_CACHE_HOME", work.join("xdg-cache"))
            .env("XDG_DATA_HOME", work.join("xdg-data"))
            .env(
                "FIELDPAY_LOG",
                std::env::var("FIELDPAY_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(logf.try_clone()?)
            .stderr(logf)
            .spawn()
            .context("starting tauri-driver")?;
        let mut driver = Guarded { child };
        let mut w = Wait::new(
            format!("tauri-driver to listen on 127.0.0.1:{port}"),
            Duration::from_secs(30),
        );
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(st) = driver.exited() {
                bail!("tauri-driver exited ({st}): {}", tail(&log, 30));
            }
            w.tick().await?;
        }
        // tauri-driver listens at once but forwards to WebKitWebDriver, which it starts on
        // the native port and which can take a while to come up on a cold machine (the
        // first session of a CI run was refused): wait for that port too.
        let mut w = Wait::new(
            format!("WebKitWebDriver to listen on 127.0.0.1:{native}"),
            Duration::from_secs(90),
        );
        while std::net::TcpStream::connect(("127.0.0.1", native)).is_err() {
            if let Some(st) = driver.exited() {
                bail!("tauri-driver exited ({st}): {}", tail(&log, 30));
            }
            w.tick().await?;
        }
        Ok(Driver {
            url: format!("http://127.0.0.1:{port}"),
            display,
            log,
            _driver: driver,
            _xvfb: xvfb,
        })
    }
}

// ------------------------------------------------------------------ the app under test

/// Stops app processes started for one data folder (a session that was not closed, or an
/// app that outlived it): processes of `app` whose arguments name `data`.
struct AppGuard {
    app: PathBuf,
    data: PathBuf,
}

impl AppGuard {
    fn pids(&self) -> Vec<i32> {
        let mut out = Vec::new();
        let want = self.data.as_os_str().as_encoded_bytes().to_vec();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let same_exe = std::fs::read_link(format!("/proc/{pid}/exe"))
                .map(|p| p == self.app)
                .unwrap_or(false);
            if !same_exe {
                continue;
            }
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmd.split(|b| *b == 0).any(|a| a == want.as_slice()) {
                out.push(pid);
            }
        }
        out
    }
}

impl Drop for AppGuard {
    fn drop(&mut self) {
        let pids = self.pids();
        if !pids.is_empty() {
            let mut all: Vec<i32> = pids.iter().flat_map(|p| descendants(*p)).collect();
            all.reverse();
            all.extend(pids);
            terminate(&all, Duration::from_secs(5));
        }
    }
}

/// One WebDriver session: the app running on its own data folder.
pub struct Ui {
    pub c: Client,
    pub data: PathBuf,
    guard: AppGuard,
}

impl Ui {
    /// Starts the app (a new session) on a fresh data folder `data`.
    pub async fn launch(driver: &Driver, app: &Path, data: &Path) -> Result<Ui> {
        std::fs::create_dir_all(data)?;
        let data = data.canonicalize()?;
        let app = app.canonicalize()?;
        let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "tauri:options": {
                "application": app,
                "args": ["--data", data],
            }
        }))?;
        let guard = AppGuard {
            app: app.clone(),
            data: data.clone(),
        };
        // Creating a session sometimes fails on a busy machine (the browser is slow to come
        // up): retry a few times, each with a bound.
        let mut last = String::new();
        for attempt in 1..=4 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let r = tokio::time::timeout(
                Duration::from_secs(120),
                ClientBuilder::new(connector)
                    .capabilities(caps.clone())
                    .connect(&driver.url),
            )
            .await;
            match r {
                Ok(Ok(c)) => {
                    return Ok(Ui {
                        c,
                        data: data.clone(),
                        guard,
                    })
                }
                Ok(Err(e)) => last = format!("attempt {attempt}: {e}"),
                Err(_) => last = format!("attempt {attempt}: no answer within 120 s"),
            }
            eprintln!("  (WebDriver session not created: {last}; retrying)");
            // Whatever that attempt started must not linger.
            drop(AppGuard {
                app: guard.app.clone(),
                data: guard.data.clone(),
            });
            tokio::time::sleep(Duration::from_secs(2 * attempt)).await;
        }
        bail!(
            "could not create a WebDriver session ({last}); tauri-driver log:\n{}",
            tail(&driver.log, 40)
        )
    }

    /// Ends the session (the app quits); stragglers are killed.
    pub async fn close(self) {
        let Ui { c, data: _, guard } = self;
        let _ = tokio::time::timeout(Duration::from_secs(20), c.close()).await;
        // Give the app a moment to quit on its own before the guard steps in.
        let mut w = Wait::new("the app to quit", Duration::from_secs(5));
        while !guard.pids().is_empty() && w.tick().await.is_ok() {}
        drop(guard);
    }

    // -------------------------------------------------------------- finding

    pub async fn all(&self, css: &str) -> Result<Vec<Element>> {
        wd("find", self.c.find_all(Locator::Css(css))).await
    }

    /// The first element matching `css` once there is one.
    pub async fn wait(&self, css: &str) -> Result<Element> {
        self.wait_for(css, STEP).await
    }

    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element> {
        let mut w = Wait::new(format!("element {css}"), timeout);
        loop {
            match wd("find", self.c.find_all(Locator::Css(css))).await {
                Ok(v) if !v.is_empty() => return Ok(v.into_iter().next().unwrap()),
                Ok(_) => w.note(format!("not there; screen {}", self.screen_name().await)),
                Err(e) => w.note(e),
            }
            w.tick().await?;
        }
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone(&self, css: &str, timeout: Duration) -> Result<()> {
        let mut w = Wait::new(format!("{css} to go away"), timeout);
        loop {
            match wd("find", self.c.find_all(Locator::Css(css))).await {
                Ok(v) if v.is_empty() => return Ok(()),
                Ok(_) => {}
                Err(e) => w.note(e),
            }
            w.tick().await?;
        }
    }

    /// The current screen (`<main data-screen>`), or "?" .
    pub async fn screen_name(&self) -> String {
        match wd("find screen", self.c.find_all(Locator::Css(&tid("screen")))).await {
            Ok(v) => match v.first() {
                Some(e) => wd("attribute", e.attr("data-screen"))
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                None => "(none)".into(),
            },
            Err(e) => format!("? ({e})"),
        }
    }

    pub async fn wait_screen(&self, name: &str) -> Result<()> {
        self.wait_screen_for(name, STEP).await
    }

    pub async fn wait_screen_for(&self, name: &str, timeout: Duration) -> Result<()> {
        let mut w = Wait::new(format!("screen {name:?}"), timeout);
        loop {
            let s = self.screen_name().await;
            if s == name {
                return Ok(());
            }
            w.note(format!("screen {s:?}"));
            w.tick().await?;
        }
    }

    // -------------------------------------------------------------- acting

    /// Clicks the first element matching `css` (retried while it is missing, stale or
    /// covered, e.g. by a toast).
    pub async fn click(&self, css: &str) -> Result<()> {
        let mut w = Wait::new(format!("a clickable {css}"), STEP);
        loop {
            match wd("find", self.c.find_all(Locator::Css(css))).await {
                Ok(v) if !v.is_empty() => match wd("click", v[0].click()).await {
                    Ok(()) => return Ok(()),
                    Err(e) => w.note(e),
                },
                Ok(_) => w.note(format!("not there; screen {}", self.screen_name().await)),
                Err(e) => w.note(e),
            }
            w.tick().await?;
        }
    }

    pub async fn click_el(&self, el: &Element) -> Result<()> {
        let mut w = Wait::new("an element to take a click", STEP);
        loop {
            match wd("click", el.click()).await {
                Ok(()) => return Ok(()),
                Err(e) => w.note(e),
            }
            w.tick().await?;
        }
    }

    /// Replaces the text of an input the way a person does: select all, delete, type. (The
    /// WebDriver "clear" command of WebKitWebDriver fires no `input` event, so the page would
    /// not see the field emptied.)
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let el = self.wait(css).await?;
        // Ctrl down, "a", modifiers up (NULL key), Backspace.
        wd("send keys", el.send_keys("\u{E009}a\u{E000}\u{E003}")).await?;
        if !text.is_empty() {
            wd("send keys", el.send_keys(text)).await?;
        }
        Ok(())
    }

    pub async fn text(&self, css: &str) -> Result<String> {
        wd("text", self.wait(css).await?.text()).await
    }

    pub async fn value(&self, css: &str) -> Result<String> {
        Ok(wd("value", self.wait(css).await?.prop("value"))
            .await?
            .unwrap_or_default())
    }

    pub async fn attr(&self, css: &str, name: &str) -> Result<Option<String>> {
        wd("attribute", self.wait(css).await?.attr(name)).await
    }

    /// Waits until attribute `name` of the first `css` element is `want`.
    pub async fn wait_attr(&self, css: &str, name: &str, want: &str, t: Duration) -> Result<()> {
        let mut w = Wait::new(format!("{css} with {name}={want:?}"), t);
        loop {
            match wd("find", self.c.find_all(Locator::Css(css))).await {
                Ok(v) if !v.is_empty() => match wd("attribute", v[0].attr(name)).await {
                    Ok(Some(a)) if a == want => return Ok(()),
                    Ok(a) => w.note(format!("{name}={a:?}")),
                    Err(e) => w.note(e),
                },
                Ok(_) => w.note(format!("no element; screen {}", self.screen_name().await)),
                Err(e) => w.note(e),
            }
            w.tick().await?;
        }
    }

    /// Waits until the text of the first `css` element satisfies `ok`; returns it.
    pub async fn wait_text(
        &self,
        css: &str,
        what: &str,
        t: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let mut w = Wait::new(format!("{css} to show {what}"), t);
        loop {
            match wd("find", self.c.find_all(Locator::Css(css))).await {
                Ok(v) if !v.is_empty() => match wd("text", v[0].text()).await {
                    Ok(s) if ok(&s) => return Ok(s),
                    Ok(s) => w.note(format!("text {s:?}")),
                    Err(e) => w.note(e),
                },
                Ok(_) => w.note(format!("no element; screen {}", self.screen_name().await)),
                Err(e) => w.note(e),
            }
            w.tick().await?;
        }
    }

    pub async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        wd("execute", self.c.execute(script, args)).await
    }

    /// The route part of the URL hash (`#/orders/abc` -> `/orders/abc`).
    pub async fn hash(&self) -> Result<String> {
        let v = self.js("return window.location.hash;", vec![]).await?;
        Ok(v.as_str()
            .unwrap_or_default()
            .trim_start_matches('#')
            .into())
    }

    /// Opens a route by its URL hash (what a link does).
    pub async fn goto_hash(&self, route: &str) -> Result<()> {
        self.js(
            "window.location.hash = arguments[0];",
            vec![Value::String(route.into())],
        )
        .await?;
        Ok(())
    }

    pub async fn scroll_into_view(&self, el: &Element) -> Result<()> {
        self.js(
            "arguments[0].scrollIntoView({block: 'center', inline: 'center'});",
            vec![serde_json::to_value(el)?],
        )
        .await?;
        Ok(())
    }

    /// Draws strokes on an element with a mouse pointer (button down, moves, up); each stroke
    /// is a list of offsets from the element's centre in CSS pixels.
    pub async fn draw(&self, el: &Element, strokes: &[Vec<(f64, f64)>]) -> Result<()> {
        self.scroll_into_view(el).await?;
        for s in strokes {
            let Some(&(x0, y0)) = s.first() else { continue };
            let mut m =
                MouseActions::new("signing-pen".into()).then(PointerAction::MoveToElement {
                    element: el.clone(),
                    duration: Some(Duration::from_millis(0)),
                    x: x0,
                    y: y0,
                });
            m = m.then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            });
            for &(x, y) in &s[1..] {
                m = m.then(PointerAction::MoveToElement {
                    element: el.clone(),
                    duration: Some(Duration::from_millis(30)),
                    x,
                    y,
                });
            }
            m = m.then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
            wd("actions", self.c.perform_actions(m)).await?;
        }
        wd("release actions", self.c.release_actions()).await?;
        Ok(())
    }

    /// Resizes the window so that the page is `w` x `h` CSS pixels (as near as the window
    /// system allows) and waits until the page has seen it.
    pub async fn resize(&self, w: u32, h: u32) -> Result<()> {
        wd("set window size", self.c.set_window_size(w, h)).await?;
        let mut wait = Wait::new(format!("the page to be {w} px wide"), STEP);
        loop {
            let v = self
                .js("return [window.innerWidth, window.innerHeight];", vec![])
                .await?;
            let iw = v[0].as_f64().unwrap_or(0.0);
            let ih = v[1].as_f64().unwrap_or(0.0);
            if (iw - f64::from(w)).abs() <= 2.0 {
                // Let layout settle (two animation frames).
                wd(
                    "execute async",
                    self.c.execute_async(
                        "const done = arguments[arguments.length - 1]; \
                         requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                        vec![],
                    ),
                )
                .await?;
                return Ok(());
            }
            wait.note(format!("{iw}x{ih}"));
            // Some window systems need the request again once the window is mapped.
            let _ = wd("set window size", self.c.set_window_size(w, h)).await;
            wait.tick().await?;
        }
    }

    /// A PNG of the window, written to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        // Settle: fonts and two frames, so the picture shows what a person would see.
        let _ = wd(
            "execute async",
            self.c.execute_async(
                "const done = arguments[arguments.length - 1]; \
                 (document.fonts ? document.fonts.ready : Promise.resolve()).then(() => \
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true))));",
                vec![],
            ),
        )
        .await;
        let png = wd("screenshot", self.c.screenshot()).await?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }
}
