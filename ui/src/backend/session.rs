//! Start, sign-in, sign-out, sandbox and the test phone window.

use fieldpay_protocol::app::AppInfo;
use fieldpay_protocol::ApiError;
use serde::Serialize;

use super::{invoke, invoke_unit, NoArgs};

pub async fn app_info() -> Result<AppInfo, ApiError> {
    invoke("app_info", &NoArgs {}).await
}

pub async fn start_sandbox() -> Result<AppInfo, ApiError> {
    invoke("start_sandbox", &NoArgs {}).await
}

#[derive(Serialize)]
struct LoginArgs<'a> {
    server_url: &'a str,
    merchant: &'a str,
    rep_id: &'a str,
    password: &'a str,
}

pub async fn login(
    server_url: &str,
    merchant: &str,
    rep_id: &str,
    password: &str,
) -> Result<AppInfo, ApiError> {
    invoke(
        "login",
        &LoginArgs {
            server_url,
            merchant,
            rep_id,
            password,
        },
    )
    .await
}

pub async fn sign_out() -> Result<AppInfo, ApiError> {
    invoke("sign_out", &NoArgs {}).await
}

pub async fn open_test_phone() -> Result<(), ApiError> {
    invoke_unit("open_test_phone", &NoArgs {}).await
}
