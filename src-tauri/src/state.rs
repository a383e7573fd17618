//! The app state: the data folder, the embedded sandbox server (when running), the engine in
//! use and its sync loop.
//!
//! Data folder layout:
//! - `sandbox-server/`    the embedded server's data (sandbox mode)
//! - `sandbox-port`       the port it listened on last (reused so its address stays stable)
//! - `device-<hash>/`     the engine's database per identity: server (or the sandbox),
//!   merchant code and rep login, hashed (`fieldpay_core::identity`); its refresh token is
//!   its own in the OS credential store
//! - `last-identity.json` the identity to reopen at the next launch (none after sign-out)
//! - `exports/`           PDFs saved by `export_pdf` (purchase orders, daily closings)

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use fieldpay_core::sync::SyncHandle;
use fieldpay_core::{CoreError, DataFolder, Engine, Identity};
use fieldpay_protocol::app::AppInfo;
use fieldpay_protocol::ApiError;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::sandbox::SandboxServer;

/// The phone number the "Test phone" window shows (any number works in the sandbox phone).
pub const TEST_PHONE: &str = "01012345678";

/// The engine the commands use, with what it was opened for.
#[derive(Clone)]
pub struct Current {
    pub engine: Arc<Engine>,
    pub server_url: String,
    pub identity: Identity,
}

/// What start/sign-in/sign-out change; one change at a time (see [`AppState::lock`]).
#[derive(Default)]
pub struct Lifecycle {
    pub sandbox: Option<SandboxServer>,
    /// The sync loop of the current engine, while signed in.
    pub sync: Option<SyncHandle>,
    /// The task that forwards the current engine's events to the windows.
    pub forwarder: Option<tauri::async_runtime::JoinHandle<()>>,
}

impl Lifecycle {
    /// Stops the sync loop and the event forwarder of the current engine.
    pub fn detach_engine(&mut self) {
        if let Some(s) = self.sync.take() {
            s.stop();
        }
        if let Some(f) = self.forwarder.take() {
            f.abort();
        }
    }
}

/// A snapshot the commands read without waiting for a start or sign-in in progress.
#[derive(Clone, Default)]
struct View {
    current: Option<Current>,
    sandbox_url: Option<String>,
}

struct Inner {
    data_dir: PathBuf,
    folder: DataFolder,
    lifecycle: Arc<Mutex<Lifecycle>>,
    view: RwLock<View>,
}

/// Managed by Tauri (`State<'_, AppState>`); cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(data_dir: PathBuf) -> AppState {
        AppState(Arc::new(Inner {
            folder: DataFolder::new(&data_dir, device_name()),
            data_dir,
            lifecycle: Arc::new(Mutex::new(Lifecycle::default())),
            view: RwLock::new(View::default()),
        }))
    }

    pub fn data_dir(&self) -> &Path {
        &self.0.data_dir
    }

    /// The databases per identity, and the last identity.
    pub fn folder(&self) -> &DataFolder {
        &self.0.folder
    }

    /// Where saved PDFs go.
    pub fn exports_dir(&self) -> PathBuf {
        self.0.data_dir.join("exports")
    }

    /// Waits for any start / sign-in / sign-out in progress, then holds off the next one.
    pub async fn lock(&self) -> OwnedMutexGuard<Lifecycle> {
        self.0.lifecycle.clone().lock_owned().await
    }

    pub fn try_lock(&self) -> Option<OwnedMutexGuard<Lifecycle>> {
        self.0.lifecycle.clone().try_lock_owned().ok()
    }

    fn view(&self) -> View {
        self.0
            .view
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn edit(&self, f: impl FnOnce(&mut View)) {
        f(&mut self.0.view.write().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn current(&self) -> Option<Current> {
        self.view().current
    }

    pub fn set_current(&self, current: Option<Current>) {
        self.edit(|v| v.current = current);
    }

    pub fn sandbox_url(&self) -> Option<String> {
        self.view().sandbox_url
    }

    pub fn set_sandbox_url(&self, url: Option<String>) {
        self.edit(|v| v.sandbox_url = url);
    }

    /// The engine, once a server was chosen (signed in, or reopened from the last session).
    pub fn engine(&self) -> Result<Arc<Engine>, ApiError> {
        self.current()
            .map(|c| c.engine)
            .ok_or_else(|| CoreError::NotSignedIn.to_api())
    }

    pub fn info(&self) -> AppInfo {
        let v = self.view();
        let engine = v.current.as_ref().map(|c| &c.engine);
        AppInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            sandbox: v.sandbox_url.is_some(),
            server_url: v
                .current
                .as_ref()
                .map(|c| c.server_url.clone())
                .or_else(|| v.sandbox_url.clone()),
            sandbox_phone_url: v.sandbox_url.as_deref().map(sandbox_phone_url),
            session: engine.and_then(|e| e.session()),
            status: engine.map(|e| e.status()).unwrap_or_default(),
        }
    }

    /// At exit: stop syncing, then the embedded server (lets running requests finish).
    pub async fn shutdown(&self) {
        let Some(mut lc) = self.try_lock() else {
            return;
        };
        lc.detach_engine();
        if let Some(s) = lc.sandbox.take() {
            s.stop().await;
        }
    }
}

/// Shown in the signature evidence and the server's token list.
fn device_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "device".into());
    format!("FieldPay app ({host}, {})", std::env::consts::OS)
}

/// The sandbox phone page for [`TEST_PHONE`].
pub fn sandbox_phone_url(server: &str) -> String {
    format!(
        "{}/sandbox/phone?phone={TEST_PHONE}",
        server.trim_end_matches('/')
    )
}
