//! Client accounts and products (read from the device database).

use fieldpay_protocol::app::{AccountDetail, AccountSummary, ProductHit};
use tauri::State;

use super::{now, with_engine, Res, DEFAULT_LIMIT};
use crate::state::AppState;

#[tauri::command(rename_all = "snake_case")]
pub async fn search_accounts(
    state: State<'_, AppState>,
    query: String,
    limit: Option<u32>,
) -> Res<Vec<AccountSummary>> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT) as usize;
    with_engine(&state, move |e| e.search_accounts(&query, limit)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn account_detail(state: State<'_, AppState>, account_id: String) -> Res<AccountDetail> {
    with_engine(&state, move |e| {
        e.account_detail(&account_id, fieldpay_core::closing::kst_today(now()))
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn search_products(
    state: State<'_, AppState>,
    query: String,
    account_id: Option<String>,
    limit: Option<u32>,
) -> Res<Vec<ProductHit>> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT) as usize;
    with_engine(&state, move |e| {
        e.search_products(&query, account_id.as_deref(), limit)
    })
    .await
}
