//! Start, sign-in, sign-out, sync, and the sandbox's test phone window.

use fieldpay_protocol::app::{AppInfo, SyncStatus};
use fieldpay_protocol::{ApiError, ErrorCode};
use tauri::{AppHandle, Manager, State, WebviewUrl, WebviewWindowBuilder};

use super::{api, Res};
use crate::state::{sandbox_phone_url, AppState};

#[tauri::command(rename_all = "snake_case")]
pub async fn app_info(state: State<'_, AppState>) -> Res<AppInfo> {
    drop(state.lock().await); // a launch-time start may be in progress: answer once settled
    Ok(state.info())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn start_sandbox(app: AppHandle, state: State<'_, AppState>) -> Res<AppInfo> {
    crate::session::start_sandbox(&app, &state, &mut *state.lock().await).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn login(
    app: AppHandle,
    state: State<'_, AppState>,
    server_url: String,
    merchant: String,
    rep_id: String,
    password: String,
) -> Res<AppInfo> {
    let mut lc = state.lock().await;
    crate::session::login(
        &app,
        &state,
        &mut lc,
        &server_url,
        &merchant,
        &rep_id,
        &password,
    )
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_out(state: State<'_, AppState>) -> Res<AppInfo> {
    crate::session::sign_out(&state, &mut *state.lock().await).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sync_now(state: State<'_, AppState>) -> Res<SyncStatus> {
    api(state.engine()?.sync_now().await)
}

pub const TEST_PHONE_LABEL: &str = "test-phone";

/// Opens (or brings forward) the "Test phone" window on the sandbox phone page.
#[tauri::command(rename_all = "snake_case")]
pub async fn open_test_phone(app: AppHandle, state: State<'_, AppState>) -> Res<()> {
    let server = state.sandbox_url().ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidState,
            "샌드박스가 실행 중이 아닙니다 (the sandbox is not running)",
        )
    })?;
    if let Some(w) = app.get_webview_window(TEST_PHONE_LABEL) {
        return w.set_focus().map_err(internal);
    }
    let url = sandbox_phone_url(&server).parse().map_err(internal)?;
    WebviewWindowBuilder::new(&app, TEST_PHONE_LABEL, WebviewUrl::External(url))
        .title("테스트 전화 (Test phone)")
        .inner_size(420.0, 860.0)
        .resizable(true)
        .build()
        .map(|_| ())
        .map_err(internal)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}
