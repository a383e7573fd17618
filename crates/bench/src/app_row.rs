//! Row 9: the app's start time and the UI's wasm size. The app (`src-tauri`, `ui`) is built
//! by `scripts/build-app.sh`; this row measures what it finds and says so when it finds
//! nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::report::{RowResult, Verdict};
use crate::stats::{self, bytes, ms, Summary};
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

/// Sizes of a wasm module's sections: (custom sections by name, everything else).
pub fn wasm_sections(bytes: &[u8]) -> Option<(Vec<(String, u64)>, u64)> {
    fn leb(b: &[u8], i: &mut usize) -> Option<u64> {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let byte = *b.get(*i)?;
            *i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
    }
    if bytes.get(..4)? != b"\0asm" {
        return None;
    }
    let mut i = 8;
    let mut custom: Vec<(String, u64)> = Vec::new();
    let mut other = 8u64;
    while i < bytes.len() {
        let id = bytes[i];
        i += 1;
        let start = i;
        let len = leb(bytes, &mut i)?;
        let header = (i - start) as u64 + 1;
        if id == 0 {
            let mut j = i;
            let n = leb(bytes, &mut j)? as usize;
            let name = String::from_utf8_lossy(bytes.get(j..j + n)?).into_owned();
            match custom.iter_mut().find(|(k, _)| *k == name) {
                Some((_, v)) => *v += len + header,
                None => custom.push((name, len + header)),
            }
        } else {
            other += len + header;
        }
        i = i.checked_add(len as usize)?;
    }
    custom.sort_by_key(|c| std::cmp::Reverse(c.1));
    Some((custom, other))
}

/// A program on `PATH`.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// `tauri-driver` (which drives WebKitWebDriver) on an Xvfb display of its own, spoken to
/// over the WebDriver protocol; both processes are stopped by [`Driver::stop`].
pub(crate) struct Driver {
    x: std::process::Child,
    driver: std::process::Child,
    base: String,
    http: reqwest::Client,
}

impl Driver {
    /// Starts Xvfb on a free display and `tauri-driver` on it (its log in `ctx.work`).
    pub async fn start(ctx: &Ctx) -> anyhow::Result<Driver> {
        use std::time::Duration;
        let (Some(xvfb), Some(driver)) = (on_path("Xvfb"), on_path("tauri-driver")) else {
            anyhow::bail!("Xvfb or tauri-driver is not installed");
        };
        // A free X display number.
        let display = (90..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .ok_or_else(|| anyhow::anyhow!("no free X display"))?;
        let port = crate::server::free_port()?;
        let native = crate::server::free_port()?;
        let log = std::fs::File::create(ctx.work.join("tauri-driver.log"))?;
        let x = std::process::Command::new(xvfb)
            .arg(format!(":{display}"))
            .args(["-screen", "0", "1280x1024x24", "-nolisten", "tcp"])
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log.try_clone()?)
            .spawn()?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let driver = std::process::Command::new(driver)
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native.to_string())
            .env("DISPLAY", format!(":{display}"))
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let d = Driver {
            x,
            driver,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                d.stop();
                anyhow::bail!("tauri-driver did not start");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(d)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        Ok(self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await?
            .json()
            .await?)
    }

    /// A session that launches `app` on the data folder `data`: its id.
    pub async fn session(&self, app: &Path, data: &Path) -> anyhow::Result<String> {
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {"tauri:options": {
        "application": app, "args": ["--data", data]}}}});
        let v = self.call(reqwest::Method::POST, "/session", caps).await?;
        Ok(v["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no WebDriver session: {v}"))?
            .to_string())
    }

    /// The element `css` selects now, if there is one: its WebDriver id.
    pub async fn element(&self, sid: &str, css: &str) -> anyhow::Result<Option<String>> {
        let find = serde_json::json!({"using": "css selector", "value": css});
        let e = self
            .call(
                reqwest::Method::POST,
                &format!("/session/{sid}/element"),
                find,
            )
            .await?;
        Ok(e["value"].as_object().and_then(|o| {
            o.iter()
                .find(|(k, _)| k.starts_with("element-6066"))
                .and_then(|(_, v)| v.as_str().map(str::to_string))
        }))
    }

    /// Waits (polling every 10 ms, at most `within`) for the element `css`.
    pub async fn wait(
        &self,
        sid: &str,
        css: &str,
        within: std::time::Duration,
    ) -> anyhow::Result<String> {
        let t0 = Instant::now();
        loop {
            if let Some(e) = self.element(sid, css).await? {
                return Ok(e);
            }
            anyhow::ensure!(
                t0.elapsed() < within,
                "{css} did not appear within {within:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Waits (up to 60 s) for the element `css`, then sends it `action` (a WebDriver element
    /// command: `value`, `click`) with `body`.
    async fn act(
        &self,
        sid: &str,
        css: &str,
        action: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<()> {
        let el = self
            .wait(sid, css, std::time::Duration::from_secs(60))
            .await?;
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("/session/{sid}/element/{el}/{action}"),
                body,
            )
            .await?;
        anyhow::ensure!(v["value"].is_null(), "{action} on {css}: {v}");
        Ok(())
    }

    /// Types `text` into the element `css`.
    pub async fn type_into(&self, sid: &str, css: &str, text: &str) -> anyhow::Result<()> {
        self.act(sid, css, "value", serde_json::json!({ "text": text }))
            .await
    }

    pub async fn click(&self, sid: &str, css: &str) -> anyhow::Result<()> {
        self.act(sid, css, "click", serde_json::json!({})).await
    }

    /// An attribute of the element `css`, if both are there.
    pub async fn attr(&self, sid: &str, css: &str, name: &str) -> anyhow::Result<Option<String>> {
        let Some(el) = self.element(sid, css).await? else {
            return Ok(None);
        };
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/session/{sid}/element/{el}/attribute/{name}"),
                serde_json::Value::Null,
            )
            .await?;
        Ok(v["value"].as_str().map(str::to_string))
    }

    /// Ends a session (the app quits).
    pub async fn end(&self, sid: &str) {
        let _ = self
            .http
            .delete(format!("{}/session/{sid}", self.base))
            .send()
            .await;
    }

    /// Stops `tauri-driver` (its WebKitWebDriver ends with it), then Xvfb: the two processes
    /// started, by their ids.
    pub fn stop(mut self) {
        for p in [&mut self.driver, &mut self.x] {
            let _ = std::process::Command::new("kill")
                .arg(p.id().to_string())
                .status();
            let _ = p.wait();
        }
    }
}

/// Start times of the app, measured over WebDriver (see [`Driver`]): each run creates a
/// session that launches the app on a fresh data folder and polls (every 10 ms) for the
/// sign-in screen's `[data-testid="sandbox-start"]` button. Time = session request sent to
/// the element found: process start, WebKit, the wasm UI loaded and its first screen rendered.
pub async fn start_times(
    ctx: &Ctx,
    app: &Path,
    runs: usize,
) -> anyhow::Result<(Vec<std::time::Duration>, Vec<std::time::Duration>)> {
    use std::time::Duration;
    let driver = Driver::start(ctx).await?;
    let result = async {
        let (mut first_screen, mut session) = (Vec::new(), Vec::new());
        for r in 0..runs {
            let data = ctx.work.join(format!("app-data-{r}"));
            let _ = std::fs::remove_dir_all(&data);
            std::fs::create_dir_all(&data)?;
            let t0 = Instant::now();
            let sid = driver.session(app, &data).await?;
            session.push(t0.elapsed());
            let found = driver
                .wait(
                    &sid,
                    "[data-testid=\"sandbox-start\"]",
                    Duration::from_secs(60),
                )
                .await
                .map(|_| t0.elapsed());
            driver.end(&sid).await;
            first_screen.push(
                found.map_err(|e| anyhow::anyhow!("the sign-in screen did not appear: {e}"))?,
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok((first_screen, session))
    }
    .await;
    driver.stop();
    result
}

pub async fn app(ctx: &Ctx) -> anyhow::Result<RowResult> {
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
            let mut start_measured = false;
            if let Some((p, size)) = wasm_file {
                let _ = writeln!(
                    d,
                    "UI wasm: `{}`, {} bytes ({}).",
                    p.strip_prefix(&ctx.repo).unwrap_or(p).display(),
                    stats::group(*size),
                    bytes(*size)
                );
                if let Some((custom, rest)) = std::fs::read(p).ok().and_then(|b| wasm_sections(&b))
                {
                    let list: Vec<String> = custom
                        .iter()
                        .map(|(k, v)| format!("`{k}` {}", bytes(*v)))
                        .collect();
                    let _ = writeln!(
                        d,
                        "\nOf which custom sections (not needed to run): {}; code, data and \
                         the other standard sections: {} ({} bytes). Removing the custom \
                         sections (`wasm-bindgen --remove-name-section \
                         --remove-producers-section`, or `wasm-opt --strip-debug`) leaves \
                         about that much.",
                        if list.is_empty() {
                            "none".to_string()
                        } else {
                            list.join(", ")
                        },
                        bytes(rest),
                        stats::group(rest)
                    );
                    parts.push(format!(
                        "wasm {} ({} without custom sections)",
                        bytes(*size),
                        bytes(rest)
                    ));
                } else {
                    parts.push(format!("wasm {}", bytes(*size)));
                }
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
                    let profile = if p.components().any(|c| c.as_os_str() == "debug") {
                        "a debug build: no release build of the shell was there"
                    } else {
                        "a release build"
                    };
                    let _ = writeln!(
                        d,
                        "\nApp binary: `{}` ({}, {profile}).\n",
                        p.display(),
                        p.metadata().map(|m| bytes(m.len())).unwrap_or_default()
                    );
                    let runs = if ctx.quick { 2 } else { 5 };
                    match start_times(ctx, p, runs).await {
                        Ok((first, session)) => {
                            let s = Summary::of(&first);
                            let w = Summary::of(&session);
                            let each: Vec<String> = first
                                .iter()
                                .map(|t| format!("{:.0}", t.as_secs_f64() * 1e3))
                                .collect();
                            let _ = writeln!(
                                d,
                                "Start time, over WebDriver under Xvfb (`tauri-driver` on an Xvfb display, \
                                 which drives WebKitWebDriver): each run creates a session that \
                                 launches the app on a fresh data folder, then polls every 10 ms \
                                 for the sign-in screen's `[data-testid=\"sandbox-start\"]` \
                                 button (the first usable screen of a new install). Time = \
                                 session request sent → button found: process start, the WebKit \
                                 view, the wasm UI loaded and its first screen rendered; it \
                                 includes WebDriver's own small overhead.\n\n\
                                 | runs | first usable screen p50 | p99 | max | WebDriver session \
                                 ready (p50) |\n|---|---|---|---|---|\n| {} | {} | {} | {} | {} \
                                 |\n\nEach run (ms): {}.",
                                s.n,
                                ms(s.p50_ms),
                                ms(s.p99_ms),
                                ms(s.max_ms),
                                ms(w.p50_ms),
                                each.join(", ")
                            );
                            parts.push(format!("start {} (p99 {})", ms(s.p50_ms), ms(s.p99_ms)));
                            start_measured = true;
                            checks.push((
                                s.p50_ms <= 1500.0,
                                format!("start p50 {} (×{:.1})", ms(s.p50_ms), s.p50_ms / 1500.0),
                            ));
                        }
                        Err(e) => {
                            let _ = writeln!(
                                d,
                                "Start time: not measured: the WebDriver run failed ({e})."
                            );
                            parts.push("start not measured".into());
                        }
                    }
                }
                None => {
                    d.push_str("\nApp binary: not found (not built): start time not measured.\n");
                    parts.push("start not measured: app not built".into());
                }
            }
            let verdict = match Verdict::from_checks(&checks) {
                _ if checks.is_empty() => Verdict::NotMeasured("the app is not built yet".into()),
                Verdict::Met if !start_measured => {
                    Verdict::Partly("start time not measured".into())
                }
                Verdict::Met if wasm_file.is_none() => Verdict::Partly("UI wasm not built".into()),
                other => other,
            };
            (parts.join("; "), verdict)
        }
    };
    Ok(RowResult {
        order: 9,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_section_sizes() {
        // Magic, version, a type section (id 1, 4 bytes) and a custom "name" section.
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
        m.extend_from_slice(&[0, 7, 4, b'n', b'a', b'm', b'e', 9, 9]);
        let (custom, other) = wasm_sections(&m).unwrap();
        assert_eq!(custom, vec![("name".to_string(), 9)]);
        assert_eq!(other, 8 + 6);
        assert!(wasm_sections(b"nope").is_none());
    }
}
