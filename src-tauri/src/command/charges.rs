//! ARS charges (결제 요청), refunds, and the daily closing.

use fieldpay_protocol::app::{ChargeInput, DailyClosing, LocalCharge};
use tauri::State;

use super::{api, now, with_engine, Res, DEFAULT_LIMIT};
use crate::state::AppState;

#[tauri::command(rename_all = "snake_case")]
pub async fn request_charge(state: State<'_, AppState>, input: ChargeInput) -> Res<LocalCharge> {
    with_engine(&state, move |e| e.request_charge(&input, now())).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn cancel_charge(
    state: State<'_, AppState>,
    charge_id: String,
    reason: Option<String>,
) -> Res<LocalCharge> {
    with_engine(&state, move |e| {
        e.cancel_charge(&charge_id, reason.as_deref(), now())
    })
    .await
}

/// Texts the bill again (online only).
#[tauri::command(rename_all = "snake_case")]
pub async fn resend_charge_sms(state: State<'_, AppState>, charge_id: String) -> Res<LocalCharge> {
    api(state.engine()?.resend_charge_sms(&charge_id).await)
}

/// Full refund of an approved payment (online only).
#[tauri::command(rename_all = "snake_case")]
pub async fn refund_charge(
    state: State<'_, AppState>,
    charge_id: String,
    reason: Option<String>,
) -> Res<LocalCharge> {
    api(state
        .engine()?
        .refund_charge(&charge_id, reason.as_deref())
        .await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn charges(
    state: State<'_, AppState>,
    account_id: Option<String>,
    limit: Option<u32>,
) -> Res<Vec<LocalCharge>> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    with_engine(&state, move |e| e.charges(account_id.as_deref(), limit)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn charge(state: State<'_, AppState>, charge_id: String) -> Res<LocalCharge> {
    with_engine(&state, move |e| e.charge(&charge_id)).await
}

/// `date`: "YYYY-MM-DD" (KST); today when absent. Online only (the settlement is the server's).
#[tauri::command(rename_all = "snake_case")]
pub async fn daily_closing(state: State<'_, AppState>, date: Option<String>) -> Res<DailyClosing> {
    api(state.engine()?.daily_closing(date.as_deref(), now()).await)
}
