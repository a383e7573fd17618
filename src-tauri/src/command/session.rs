//! Start, sign-in, sign-out, sync, and the sandbox's test phone window.

use fieldpay_protocol::command as cmd;
use fieldpay_protocol::{ApiError, ErrorCode};
use tauri::{AppHandle, Manager, State, WebviewUrl, WebviewWindowBuilder};

use super::api;
use crate::state::{sandbox_phone_url, AppState};

handler! {
    cmd::AppInfo => async fn app_info(_args, state: State<'_, AppState>) {
        drop(state.lock().await); // a launch-time start may be in progress: answer once settled
        Ok(state.info())
    }
}

handler! {
    cmd::StartSandbox => async fn start_sandbox(_args, app: AppHandle, state: State<'_, AppState>) {
        crate::session::start_sandbox(&app, &state, &mut *state.lock().await).await
    }
}

handler! {
    cmd::Login => async fn login(args, app: AppHandle, state: State<'_, AppState>) {
        let mut lc = state.lock().await;
        crate::session::login(&app, &state, &mut lc, &args).await
    }
}

handler! {
    cmd::SignOut => async fn sign_out(_args, state: State<'_, AppState>) {
        crate::session::sign_out(&state, &mut *state.lock().await).await
    }
}

handler! {
    cmd::SyncNow => async fn sync_now(_args, state: State<'_, AppState>) {
        api(state.engine()?.sync_now().await)
    }
}

pub const TEST_PHONE_LABEL: &str = "test-phone";

handler! {
    /// Opens (or brings forward) the "Test phone" window on the sandbox phone page.
    cmd::OpenTestPhone => async fn open_test_phone(_args, app: AppHandle, state: State<'_, AppState>) {
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
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}
