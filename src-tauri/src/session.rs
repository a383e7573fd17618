//! Which engine is in use. Each identity — a server (or the sandbox), a merchant code, a rep
//! login — has a database and refresh token of its own (`fieldpay_core::identity`): the
//! sandbox's demo rep is one identity, a rep of a real server another. The engine is opened at
//! launch for the last identity, by `start_sandbox`, by `login`, and signed out by `sign_out`.
//! Each of these runs under the lifecycle lock ([`AppState::lock`]).

use std::sync::Arc;

use fieldpay_core::{CoreError, Identity};
use fieldpay_protocol::app::AppInfo;
use fieldpay_protocol::command;
use fieldpay_protocol::{ApiError, ErrorCode};
use tauri::{AppHandle, Manager};

use crate::events;
use crate::sandbox::{self, SandboxServer};
use crate::state::{AppState, Current, Lifecycle};

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

fn api(e: CoreError) -> ApiError {
    e.to_api()
}

/// Remembers the identity to reopen at the next launch (None: none, after a sign-out).
fn remember(state: &AppState, id: Option<&Identity>) {
    if let Err(e) = state.folder().remember(id) {
        tracing::warn!("{e}");
    }
}

/// The current engine when it is `id`'s on `url`, else `id`'s own engine, newly opened.
async fn open_engine(state: &AppState, id: &Identity, url: &str) -> Result<Current, ApiError> {
    if let Some(c) = state.current() {
        if c.identity == *id && c.server_url == url {
            return Ok(c);
        }
    }
    let (folder, which, at) = (state.folder().clone(), id.clone(), url.to_string());
    let engine = tauri::async_runtime::spawn_blocking(move || folder.open(&which, &at))
        .await
        .map_err(internal)?
        .map_err(api)?;
    Ok(Current {
        engine,
        server_url: url.to_string(),
        identity: id.clone(),
    })
}

/// Makes `cur` the engine in use: forwards its events, runs its sync loop while signed in.
/// The engine it replaces stops; if another identity was still signed in there, it is signed
/// out (its token goes; its data and unsent actions stay for its next sign-in).
async fn activate(app: &AppHandle, state: &AppState, lc: &mut Lifecycle, cur: Current) {
    let prev = state.current();
    if !prev
        .as_ref()
        .is_some_and(|c| Arc::ptr_eq(&c.engine, &cur.engine))
    {
        lc.detach_engine();
        lc.forwarder = Some(events::forward(app.clone(), &cur.engine));
        state.set_current(Some(cur.clone()));
        if let Some(prev) = prev.filter(|p| p.identity != cur.identity) {
            let engine = prev.engine;
            if engine.session().is_some() {
                match tauri::async_runtime::spawn_blocking(move || engine.sign_out()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!("signing the previous rep out: {e}"),
                    Err(e) => tracing::warn!("signing the previous rep out: {e}"),
                }
            }
        }
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
    let (merchant, rep, password) = sandbox::demo_login();
    let id = Identity::sandbox(merchant, rep).map_err(api)?;
    let cur = open_engine(state, &id, &url).await?;
    let running = state
        .current()
        .is_some_and(|c| Arc::ptr_eq(&c.engine, &cur.engine))
        && cur.engine.session().is_some()
        && lc.sync.is_some();
    if !running {
        // Always a fresh sign-in: the token is stored per server address.
        cur.engine
            .login(merchant, rep, &password)
            .await
            .map_err(api)?;
    }
    activate(app, state, lc, cur).await;
    remember(state, Some(&id));
    Ok(state.info())
}

/// Signs in to a real server on the rep's own database (an `http://` address off loopback is
/// refused first); the sandbox server (if any) stops once that worked.
pub async fn login(
    app: &AppHandle,
    state: &AppState,
    lc: &mut Lifecycle,
    args: &command::Login,
) -> Result<AppInfo, ApiError> {
    let id = Identity::at(&args.server_url, &args.merchant, &args.rep_id).map_err(api)?;
    let url = id.url().unwrap_or_default().to_string();
    let cur = open_engine(state, &id, &url).await?;
    cur.engine
        .login(&id.merchant, &id.rep, &args.password)
        .await
        .map_err(api)?;
    activate(app, state, lc, cur).await;
    if lc.sandbox.as_ref().is_some_and(|s| s.url != url) {
        if let Some(s) = lc.sandbox.take() {
            state.set_sandbox_url(None);
            s.stop().await;
        }
    }
    remember(state, Some(&id));
    Ok(state.info())
}

/// Forgets the tokens and stops syncing; the local data, unsent actions included, stays for
/// the same rep's next sign-in.
pub async fn sign_out(state: &AppState, lc: &mut Lifecycle) -> Result<AppInfo, ApiError> {
    if let Some(c) = state.current() {
        let engine = c.engine.clone();
        tauri::async_runtime::spawn_blocking(move || engine.sign_out())
            .await
            .map_err(internal)?
            .map_err(api)?;
        if let Some(s) = lc.sync.take() {
            s.stop();
        }
    }
    remember(state, None);
    Ok(state.info())
}

/// Reopens the last identity's engine on its server (no network needed: offline-first).
async fn resume(
    app: &AppHandle,
    state: &AppState,
    lc: &mut Lifecycle,
    id: &Identity,
) -> Result<(), ApiError> {
    let url = id.url().unwrap_or_default().to_string();
    let cur = open_engine(state, id, &url).await?;
    activate(app, state, lc, cur).await;
    Ok(())
}

/// At launch: `--sandbox`, or reopen what was in use last time. Runs in the background while
/// holding the lifecycle lock, so `app_info` answers once this is settled.
pub fn on_launch(app: &AppHandle, sandbox_flag: bool) {
    let state = app.state::<AppState>().inner().clone();
    let Some(mut lc) = state.try_lock() else {
        return;
    };
    let last = state.folder().last();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let result = match last {
            _ if sandbox_flag => start_sandbox(&app, &state, &mut lc).await.map(|_| ()),
            Some(id) if id.is_sandbox() => start_sandbox(&app, &state, &mut lc).await.map(|_| ()),
            Some(id) => resume(&app, &state, &mut lc, &id).await,
            None => Ok(()),
        };
        match result {
            Ok(()) => tracing::info!(info = ?state.info(), "ready"),
            Err(e) => tracing::error!("start-up: {e}"),
        }
    });
}
