//! The browser bench for the web pages: a `chromedriver` started for one test on a free port,
//! one headless Chromium session (Korean first, as a Korean payer's phone is), the window at
//! a phone's 390x844 or a desktop's 1280x900, screenshots of every page at both sizes under
//! `$CARGO_TARGET_DIR/web-screenshots/{phone,desktop}/NAME.png`, and a check that fails when
//! anything on a page is wider than the window.
//!
//! A missing chromedriver or Chromium is a failure that says what to install
//! (`scripts/setup.sh`), never a skip. The processes a test starts are its own: chromedriver
//! runs in a process group of its own, which a guard kills when the test ends or panics.

use std::fmt::Display;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long one step may take (a debug build on a loaded 2-core machine, where the whole
/// suite runs at once).
pub const STEP: Duration = Duration::from_secs(90);
/// The longest one WebDriver command may take: a hung browser fails the test, not hangs it.
const COMMAND: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(100);

/// At most this many browsers at once in the test process (each is a handful of processes;
/// the machine runs the rest of the suite beside them).
const BROWSERS_AT_ONCE: usize = 2;

/// The window sizes every page is looked at in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// 390x844 (a current phone in portrait).
    Phone,
    /// 1280x900.
    Desktop,
}

impl Size {
    pub const ALL: [Size; 2] = [Size::Desktop, Size::Phone];

    pub fn dims(self) -> (u32, u32) {
        match self {
            Size::Phone => (390, 844),
            Size::Desktop => (1280, 900),
        }
    }

    fn dir(self) -> &'static str {
        match self {
            Size::Phone => "phone",
            Size::Desktop => "desktop",
        }
    }
}

/// Where screenshots go: `$CARGO_TARGET_DIR/web-screenshots` (the workspace's `target/` when
/// unset).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    target.join("web-screenshots")
}

/// A program on `PATH`.
fn find_tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn semaphore() -> &'static tokio::sync::Semaphore {
    static S: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    S.get_or_init(|| tokio::sync::Semaphore::new(BROWSERS_AT_ONCE))
}

/// One WebDriver command, bounded by [`COMMAND`]; panics with `what` on an error.
pub async fn wd<T, E: Display>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> T {
    match tokio::time::timeout(COMMAND, f).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!(
            "WebDriver did not answer {what} within {} s",
            COMMAND.as_secs()
        ),
    }
}

/// The chromedriver process (its own process group, with the Chromium it starts): killed on
/// drop.
struct Driver {
    child: Child,
    log: PathBuf,
}

impl Driver {
    fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let n = s.chars().count();
        s.chars().skip(n.saturating_sub(3000)).collect()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) on the process group this test started (chromedriver's own, see
        // `process_group(0)` below) and nothing else.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

pub struct Browser {
    client: Option<Client>,
    _driver: Driver,
    _profile: tempfile::TempDir,
    _permit: tokio::sync::SemaphorePermit<'static>,
    /// The size the window has now.
    size: Size,
}

impl Browser {
    /// Starts chromedriver and one headless Chromium session, window at [`Size::Phone`],
    /// Korean as the browser's language, the computer's clock in UTC (so a page that showed
    /// the browser's zone instead of Korea time would show it).
    pub async fn start() -> Browser {
        let Some(chromedriver) = find_tool("chromedriver") else {
            panic!(
                "the browser tests need chromedriver, which is not installed (not on PATH): \
                 run scripts/setup.sh, or apt install chromium chromium-driver"
            );
        };
        let Some(chromium) = find_tool("chromium").or_else(|| find_tool("chromium-browser")) else {
            panic!(
                "the browser tests need Chromium, which is not installed (not on PATH): run \
                 scripts/setup.sh, or apt install chromium chromium-driver"
            );
        };
        let permit = semaphore().acquire().await.unwrap();
        let profile = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let mut last = String::new();
        // A port found free may be taken before chromedriver binds it: try again with another.
        for _ in 0..3 {
            let port = free_port();
            let log = profile.path().join(format!("chromedriver-{port}.log"));
            let child = Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .env("TZ", "UTC")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("could not start {}: {e}", chromedriver.display()));
            let mut driver = Driver { child, log };
            let url = format!("http://127.0.0.1:{port}");
            if !wait_ready(&mut driver, &url).await {
                last = format!(
                    "chromedriver never answered on {url}: {}",
                    driver.log_tail()
                );
                continue;
            }
            let user_data = profile.path().join(format!("profile-{port}"));
            let caps = json!({
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-dev-shm-usage",
                        "--no-first-run",
                        "--no-default-browser-check",
                        "--disable-extensions",
                        "--disable-background-networking",
                        "--disable-sync",
                        "--hide-scrollbars",
                        "--force-device-scale-factor=1",
                        "--lang=ko-KR",
                        "--window-size=1280,900",
                        format!("--user-data-dir={}", user_data.display()),
                    ],
                    "prefs": { "intl.accept_languages": "ko-KR,ko" },
                },
            });
            let caps = match caps {
                Value::Object(m) => m,
                _ => unreachable!(),
            };
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let session = tokio::time::timeout(
                COMMAND,
                ClientBuilder::new(connector)
                    .capabilities(caps)
                    .connect(&url),
            )
            .await;
            match session {
                Ok(Ok(client)) => {
                    let b = Browser {
                        client: Some(client),
                        _driver: driver,
                        _profile: profile,
                        _permit: permit,
                        size: Size::Desktop,
                    };
                    let mut b = b;
                    b.resize(Size::Phone).await;
                    return b;
                }
                Ok(Err(e)) => last = format!("no browser session: {e}; {}", driver.log_tail()),
                Err(_) => last = format!("no browser session within {} s", COMMAND.as_secs()),
            }
        }
        panic!(
            "could not start a headless Chromium over chromedriver in {} s: {last}",
            t0.elapsed().as_secs()
        );
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("an open session")
    }

    /// Ends the session (Chromium quits); the guard then ends chromedriver.
    pub async fn finish(mut self) {
        if let Some(c) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), c.close()).await;
        }
    }

    /// Opens one of the web pages (it has `main#page`, as every page of the DOM contract).
    pub async fn goto(&self, url: &str) {
        self.open(url).await;
        self.wait_css("main#page").await;
    }

    /// Opens any address.
    pub async fn open(&self, url: &str) {
        wd(&format!("open {url}"), self.client().goto(url)).await;
    }

    pub async fn current_url(&self) -> String {
        wd("current url", self.client().current_url())
            .await
            .to_string()
    }

    /// Runs `script` (a function body; `arguments` are `args`) and answers its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        wd("run a script", self.client().execute(script, args)).await
    }

    /// Waits for an element matching `css`.
    pub async fn wait_css(&self, css: &str) -> Element {
        let until = Instant::now() + STEP;
        loop {
            if let Ok(e) = self.client().find(Locator::Css(css)).await {
                return e;
            }
            if Instant::now() > until {
                let page = self.body_text().await;
                panic!(
                    "no {css} on {} within {} s; the page says: {page}",
                    self.current_url().await,
                    STEP.as_secs()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Whether an element matches `css` now.
    pub async fn has(&self, css: &str) -> bool {
        !wd("find elements", self.client().find_all(Locator::Css(css)))
            .await
            .is_empty()
    }

    /// The visible text of the first element matching `css` (waited for).
    pub async fn text(&self, css: &str) -> String {
        self.read_element(css, "text", |e| async move { e.text().await })
            .await
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.read_element(css, name, |e| async move { e.attr(name).await })
            .await
    }

    /// Reads from the first element matching `css` (waited for). A live page may replace the
    /// element between the find and the read (a stale element): it is then found again.
    async fn read_element<T, Fut>(&self, css: &str, what: &str, read: impl Fn(Element) -> Fut) -> T
    where
        Fut: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    {
        let until = Instant::now() + STEP;
        loop {
            let e = self.wait_css(css).await;
            match tokio::time::timeout(COMMAND, read(e)).await {
                Ok(Ok(v)) => return v,
                Ok(Err(err)) if err.is_stale_element_reference() && Instant::now() < until => {
                    tokio::time::sleep(POLL).await
                }
                Ok(Err(err)) => panic!("{what} of {css}: {err}"),
                Err(_) => panic!(
                    "WebDriver did not answer {what} of {css} within {} s",
                    COMMAND.as_secs()
                ),
            }
        }
    }

    /// Waits until the first element matching `css` has `name`=`value`; answers the element's
    /// text then.
    pub async fn wait_attr(&self, css: &str, name: &str, value: &str) -> String {
        let until = Instant::now() + STEP;
        let mut seen = None;
        loop {
            if let Ok(e) = self.client().find(Locator::Css(css)).await {
                if let Ok(v) = e.attr(name).await {
                    if v.as_deref() == Some(value) {
                        return e.text().await.unwrap_or_default();
                    }
                    seen = v;
                }
            }
            if Instant::now() > until {
                panic!(
                    "{css} never had {name}={value:?} within {} s (last seen: {seen:?}); the page says: {}",
                    STEP.as_secs(),
                    self.body_text().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn body_text(&self) -> String {
        self.js(
            "return document.body ? document.body.innerText : ''",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Types `text` into the field matching `css` (cleared first).
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.wait_css(css).await;
        wd(&format!("clear {css}"), e.clear()).await;
        wd(&format!("type into {css}"), e.send_keys(text)).await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.wait_css(css).await;
        wd(&format!("click {css}"), e.click()).await;
    }

    /// Makes the page's viewport `size`: Chromium's device emulation (a headless window is
    /// never narrower than 500 px), as a phone (a touch screen that honours the page's
    /// `<meta name=viewport>`) at [`Size::Phone`].
    pub async fn resize(&mut self, size: Size) {
        self.size = size;
        let (w, h) = size.dims();
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": w, "height": h, "deviceScaleFactor": 1, "mobile": size == Size::Phone }),
        )
        .await;
    }

    /// Whether the page is laid out at the window's size: a page without a proper
    /// `<meta name=viewport>` (a phone lays it out 980 px wide), or one a phone zooms out of
    /// to fit something too wide, is not. None when it is.
    pub async fn viewport_problem(&self) -> Option<String> {
        let (w, h) = self.size.dims();
        let inner = self
            .js("return [window.innerWidth, window.innerHeight]", vec![])
            .await;
        let got = (inner[0].as_u64(), inner[1].as_u64());
        (got != (Some(w as u64), Some(h as u64))).then(|| {
            format!(
                "the page is laid out {}x{} in a {w}x{h} window (its viewport meta, or something \
                 too wide zoomed out)",
                got.0.unwrap_or(0),
                got.1.unwrap_or(0)
            )
        })
    }

    /// A Chrome DevTools command through chromedriver; answers its result.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        wd(cmd, self.client().issue_cmd(Cdp { cmd, params })).await
    }

    /// What on the page is wider than the window (or starts left of it): the document's own
    /// width, then every element's box, described by tag, id and class. Empty when all fits.
    /// Measured against the window's own width, not `innerWidth` (which a phone widens when
    /// it zooms out of a page too wide for it).
    pub async fn too_wide(&self) -> Vec<String> {
        const SCRIPT: &str = r#"
            window.scrollTo(0, window.scrollY);
            const w = Math.min(window.innerWidth, arguments[0]);
            const out = [];
            const doc = document.documentElement.scrollWidth;
            if (doc > w) out.push(`the document is ${doc}px wide in a ${w}px window`);
            const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                (typeof el.className === 'string' && el.className.trim() ?
                    '.' + el.className.trim().split(/\s+/).join('.') : '');
            for (const el of document.querySelectorAll('body, body *')) {
                const r = el.getBoundingClientRect();
                if (r.width === 0 && r.height === 0) continue;
                if (r.right > w + 0.5 || r.left < -0.5) {
                    const text = (el.innerText || el.textContent || '').trim().slice(0, 40);
                    out.push(`${name(el)} spans ${Math.round(r.left)}..${Math.round(r.right)}px` +
                        ` in a ${w}px window ("${text}")`);
                }
                if (out.length >= 20) break;
            }
            return out;
        "#;
        self.js(SCRIPT, vec![json!(self.size.dims().0)])
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Looks at the page as it is (no reload) at both sizes: fails if anything is wider than
    /// the window or an emoji stands in for an icon, and saves a screenshot of the whole page
    /// as `{phone,desktop}/NAME.png`. Leaves the window at the phone size.
    pub async fn shoot(&mut self, name: &str) {
        for size in Size::ALL {
            self.resize(size).await;
            // Let the new width lay out (two frames).
            self.js(
                "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await;
            let mut wide = self.too_wide().await;
            wide.extend(self.viewport_problem().await);
            assert!(
                wide.is_empty(),
                "{name} at {size:?} {:?}: something is wider than the window:\n{}",
                size.dims(),
                wide.join("\n")
            );
            let emoji = self.emoji().await;
            assert!(emoji.is_empty(), "{name}: emoji on the page: {emoji:?}");
            self.save_screenshot(name, size).await;
        }
        self.resize(Size::Phone).await;
    }

    /// Emoji in the page's text: characters shown as colour pictures by default, or asked to
    /// be (U+FE0F). They render as empty boxes without a colour emoji font: icons are inline
    /// SVG. Text symbols of the Korean character set (☎ in a quoted text message) are text.
    pub async fn emoji(&self) -> Vec<String> {
        let v = self
            .js(
                r"const t = document.body ? document.body.innerText : '';
                  return Array.from(t.matchAll(/\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|[\u{1F000}-\u{1FAFF}]/gu)).map(m => m[0]);",
                vec![],
            )
            .await;
        v.as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// A screenshot of the whole page, also what is below the window's bottom.
    async fn save_screenshot(&self, name: &str, size: Size) {
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64 screenshot");
        let dir = screenshot_dir().join(size.dir());
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap();
        assert!(
            png.starts_with(b"\x89PNG"),
            "the screenshot {} is not a PNG",
            path.display()
        );
    }

    /// The page printed on A4 (Chromium's print to PDF, backgrounds on).
    pub async fn print_a4(&self) -> Vec<u8> {
        let cfg = fantoccini::wd::PrintConfiguration::builder()
            .background(true)
            .build()
            .unwrap();
        wd("print the page", self.client().print(cfg)).await
    }
}

/// `POST /session/{id}/goog/cdp/execute`: chromedriver's way to a DevTools command.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// Waits until chromedriver answers `/status` as ready (false if it died or never did).
async fn wait_ready(driver: &mut Driver, url: &str) -> bool {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let until = Instant::now() + STEP;
    while Instant::now() < until {
        if let Ok(Some(_)) = driver.child.try_wait() {
            return false;
        }
        if let Ok(r) = http.get(format!("{url}/status")).send().await {
            if let Ok(v) = r.json::<Value>().await {
                if v["value"]["ready"] == json!(true) {
                    return true;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// The number of pages of a PDF (poppler's `pdfinfo`, which scripts/setup.sh installs).
pub fn pdf_pages(pdf: &[u8]) -> u32 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("page.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdfinfo")
        .arg(&path)
        .output()
        .expect("pdfinfo (apt install poppler-utils; scripts/setup.sh does)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("pdfinfo read no page count: {text}"))
}

// ------------------------------------------------------------------ the bench's own checks

const FITS: &str = "<!doctype html><html lang=ko><head><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\"></head>\
<body><main id=page><p>\u{2705} 완료</p><p>\u{260E} 1600-0010</p></main></body></html>";
const WIDE: &str = "<!doctype html><html lang=ko><head><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\"></head>\
<body><main id=page><p>wide</p><div id=wide style=\"width:600px;height:20px;background:#c00\"></div></main></body></html>";
const NO_VIEWPORT: &str = "<!doctype html><html lang=ko><head><meta charset=utf-8></head><body><main id=page><p>no viewport</p></main></body></html>";

/// The checks every page goes through fail where they should: something wider than a phone,
/// a page without a viewport meta, an emoji (but not a text symbol such as ☎).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checks_catch_a_too_wide_page_a_missing_viewport_and_emoji() {
    use axum::response::Html;
    use axum::routing::get;
    let router = axum::Router::new()
        .route("/fits", get(|| async { Html(FITS) }))
        .route("/wide", get(|| async { Html(WIDE) }))
        .route("/no-viewport", get(|| async { Html(NO_VIEWPORT) }));
    let addr = crate::helpers::serve_loopback(router).await;
    let mut b = Browser::start().await;

    b.goto(&format!("http://{addr}/fits")).await;
    assert_eq!(b.viewport_problem().await, None);
    assert!(b.too_wide().await.is_empty());
    assert_eq!(b.emoji().await, vec!["\u{2705}".to_string()]);

    b.goto(&format!("http://{addr}/wide")).await;
    let wide = b.too_wide().await;
    let problem = b.viewport_problem().await;
    assert!(
        wide.iter().any(|w| w.contains("the document is"))
            && wide.iter().any(|w| w.contains("div#wide")),
        "a 600px box on a 390px phone went unseen: {wide:?}"
    );
    assert!(problem.is_some(), "the phone zoomed out of it unseen");
    b.resize(Size::Desktop).await;
    assert!(b.too_wide().await.is_empty(), "it fits a desktop");
    assert_eq!(b.viewport_problem().await, None);
    b.resize(Size::Phone).await;

    b.goto(&format!("http://{addr}/no-viewport")).await;
    assert!(
        b.viewport_problem().await.is_some(),
        "a page without a viewport meta is laid out wider than the phone"
    );
    b.finish().await;
}
