//! Which engine is in use: the sandbox (embedded server, demo rep) or a real server, opened at
//! launch from the last session, by `start_sandbox`, by `login`, and closed by `sign_out`.
//! Each of these runs under the lifecycle lock ([`AppState::lock`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fieldpay_core::{Engine, EngineConfig};
use fieldpay_protocol::app::AppInfo;
use fieldpay_protocol::command;
use fieldpay_protocol::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tauri::{AppHandle, Manager};

use crate::events;
use crate::sandbox::{self, SandboxServer};
use crate::state::{AppState, Current, Lifecycle};

const LAST_FILE: &str = "app-state.json";

/// What the next launch reopens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum Last {
    Sandbox,
    Server { server_url: String },
}

fn read_last(data: &Path) -> Option<Last> {
    let text = std::fs::read_to_string(data.join(LAST_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_last(data: &Path, last: Option<&Last>) {
    let path = data.join(LAST_FILE);
    let r = match last {
        Some(l) => serde_json::to_string(l)
            .map_err(std::io::Error::other)
            .and_then(|s| std::fs::write(&path, s)),
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        },
    };
    if let Err(e) = r {
        tracing::warn!("cannot write {}: {e}", path.display());
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

/// The engine's folder for a real server: one per address, so two servers never mix data.
fn device_dir(data: &Path, server_url: &str) -> PathBuf {
    let hash = hex::encode(Sha256::digest(server_url.as_bytes()));
    data.join(format!("device-{}", &hash[..16]))
}

fn normalize_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

fn device_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "device".into());
    format!("FieldPay app ({host}, {})", std::env::consts::OS)
}

/// The current engine when it was opened for this server and folder, else a newly opened one.
async fn open_engine(
    state: &AppState,
    server_url: &str,
    dir: PathBuf,
) -> Result<Current, ApiError> {
    if let Some(c) = state.current() {
        if c.server_url == server_url && c.dir == dir {
            return Ok(c);
        }
    }
    let config = EngineConfig {
        data_dir: dir.clone(),
        server_url: server_url.to_string(),
        device_name: device_name(),
    };
    let engine = tauri::async_runtime::spawn_blocking(move || Engine::open(config))
        .await
        .map_err(internal)?
        .map_err(|e| e.to_api())?;
    Ok(Current {
        engine,
        server_url: server_url.to_string(),
        dir,
    })
}

/// Makes `cur` the engine in use: forwards its events, runs its sync loop while signed in.
fn activate(app: &AppHandle, state: &AppState, lc: &mut Lifecycle, cur: Current) {
    let same = state
        .current()
        .is_some_and(|c| Arc::ptr_eq(&c.engine, &cur.engine));
    if !same {
        lc.detach_engine();
        lc.forwarder = Some(events::forward(app.clone(), &cur.engine));
        state.set_current(Some(cur.clone()));
    }
    if cur.engine.session().is_some() && lc.sync.is_none() {
        lc.sync = Some(cur.engine.start());
    }
    events::emit_status(app, &cur.engine);
}

/// Starts the embedded server (if not running) and signs in as the demo rep.
pub async fn start_sandbox(
    app: &AppHandle,
    state: &AppState,
    lc: &mut Lifecycle,
) -> Result<AppInfo, ApiError> {
    if lc.sandbox.is_none() {
        let server = SandboxServer::start(state.data_dir()).await?;
        state.set_sandbox_url(Some(server.url.clone()));
        lc.sandbox = Some(server);
    }
    let url = lc
        .sandbox
        .as_ref()
        .map(|s| s.url.clone())
        .unwrap_or_default();
    let cur = open_engine(state, &url, state.data_dir().join("device-sandbox")).await?;
    let running = state
        .current()
        .is_some_and(|c| Arc::ptr_eq(&c.engine, &cur.engine))
        && cur.engine.session().is_some()
        && lc.sync.is_some();
    if !running {
        // Always a fresh sign-in: the token is stored per server address.
        let (merchant, rep, password) = sandbox::demo_login();
        cur.engine
            .login(merchant, rep, &password)
            .await
            .map_err(|e| e.to_api())?;
    }
    activate(app, state, lc, cur);
    write_last(state.data_dir(), Some(&Last::Sandbox));
    Ok(state.info())
}

/// Signs in to a real server; the sandbox server (if any) stops once that worked.
pub async fn login(
    app: &AppHandle,
    state: &AppState,
    lc: &mut Lifecycle,
    args: &command::Login,
) -> Result<AppInfo, ApiError> {
    let url = normalize_url(&args.server_url);
    let cur = open_engine(state, &url, device_dir(state.data_dir(), &url)).await?;
    cur.engine
        .login(&args.merchant, &args.rep_id, &args.password)
        .await
        .map_err(|e| e.to_api())?;
    activate(app, state, lc, cur);
    if lc.sandbox.as_ref().is_some_and(|s| s.url != url) {
        if let Some(s) = lc.sandbox.take() {
            state.set_sandbox_url(None);
            s.stop().await;
        }
    }
    write_last(state.data_dir(), Some(&Last::Server { server_url: url }));
    Ok(state.info())
}

/// Forgets the tokens and stops syncing; the local data stays for the next sign-in.
pub async fn sign_out(state: &AppState, lc: &mut Lifecycle) -> Result<AppInfo, ApiError> {
    if let Some(c) = state.current() {
        let engine = c.engine.clone();
        tauri::async_runtime::spawn_blocking(move || engine.sign_out())
            .await
            .map_err(internal)?
            .map_err(|e| e.to_api())?;
        if let Some(s) = lc.sync.take() {
            s.stop();
        }
    }
    write_last(state.data_dir(), None);
    Ok(state.info())
}

/// Reopens a real server's engine from the last session (no network needed: offline-first).
async fn resume(
    app: &AppHandle,
    state: &AppState,
    lc: &mut Lifecycle,
    server_url: &str,
) -> Result<(), ApiError> {
    let url = normalize_url(server_url);
    let cur = open_engine(state, &url, device_dir(state.data_dir(), &url)).await?;
    activate(app, state, lc, cur);
    Ok(())
}

/// At launch: `--sandbox`, or reopen what was in use last time. Runs in the background while
/// holding the lifecycle lock, so `app_info` answers once this is settled.
pub fn on_launch(app: &AppHandle, sandbox_flag: bool) {
    let state = app.state::<AppState>().inner().clone();
    let Some(mut lc) = state.try_lock() else {
        return;
    };
    let last = read_last(state.data_dir());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let result = match (sandbox_flag, last) {
            (true, _) | (false, Some(Last::Sandbox)) => {
                start_sandbox(&app, &state, &mut lc).await.map(|_| ())
            }
            (false, Some(Last::Server { server_url })) => {
                resume(&app, &state, &mut lc, &server_url).await
            }
            (false, None) => Ok(()),
        };
        match result {
            Ok(()) => tracing::info!(info = ?state.info(), "ready"),
            Err(e) => tracing::error!("start-up: {e}"),
        }
    });
}
