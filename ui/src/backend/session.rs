//! Start, sign-in, sign-out, sandbox and the test phone window.

use fieldpay_protocol::app::AppInfo;
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::{ApiError, Secret};

use super::invoke;

pub async fn app_info() -> Result<AppInfo, ApiError> {
    invoke(&cmd::AppInfo {}).await
}

pub async fn start_sandbox() -> Result<AppInfo, ApiError> {
    invoke(&cmd::StartSandbox {}).await
}

pub async fn login(
    server_url: &str,
    merchant: &str,
    rep_id: &str,
    password: Secret,
) -> Result<AppInfo, ApiError> {
    invoke(&cmd::Login {
        server_url: server_url.into(),
        merchant: merchant.into(),
        rep_id: rep_id.into(),
        password,
    })
    .await
}

pub async fn sign_out() -> Result<AppInfo, ApiError> {
    invoke(&cmd::SignOut {}).await
}

pub async fn open_test_phone() -> Result<(), ApiError> {
    invoke(&cmd::OpenTestPhone {}).await
}
