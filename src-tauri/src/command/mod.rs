//! The Tauri commands (docs/app-shell.md). Each is a one-line call into the engine or the
//! session launcher; arguments are snake_case; errors reach the UI as `ApiError`
//! (`{ "code": "...", "message": "..." }`).
//!
//! Engine calls that touch SQLite or render files run on the blocking pool ([`with_engine`]), so
//! neither the UI thread nor the async workers wait on them.

pub mod charges;
pub mod documents;
pub mod orders;
pub mod problems;
pub mod records;
pub mod session;

use chrono::{DateTime, Utc};
use fieldpay_core::{CoreResult, Engine};
use fieldpay_protocol::{ApiError, ErrorCode};

use crate::state::AppState;

pub type Res<T> = Result<T, ApiError>;

/// Runs `f` with the current engine on the blocking pool.
pub async fn with_engine<T, F>(state: &AppState, f: F) -> Res<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> CoreResult<T> + Send + 'static,
{
    let engine = state.engine()?;
    tauri::async_runtime::spawn_blocking(move || f(&engine))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
        .map_err(|e| e.to_api())
}

/// An async engine call's result as the UI receives it.
pub fn api<T>(r: CoreResult<T>) -> Res<T> {
    r.map_err(|e| e.to_api())
}

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Default number of rows for list and search commands called without `limit`.
pub const DEFAULT_LIMIT: u32 = 50;
