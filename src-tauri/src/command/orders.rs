//! Orders (발주서): drafts, preview, signature and submission, the purchase-order PDF.

use fieldpay_protocol::app::{LineInput, LocalOrder, OrderPreview, SignatureInput};
use tauri::State;

use super::{now, with_engine, Res, DEFAULT_LIMIT};
use crate::state::AppState;

#[tauri::command(rename_all = "snake_case")]
pub async fn preview_order(
    state: State<'_, AppState>,
    account_id: String,
    lines: Vec<LineInput>,
    order_id: Option<String>,
) -> Res<OrderPreview> {
    with_engine(&state, move |e| {
        e.preview_order(&account_id, &lines, order_id.as_deref())
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn save_draft(
    state: State<'_, AppState>,
    order_id: Option<String>,
    account_id: String,
    lines: Vec<LineInput>,
    memo: Option<String>,
) -> Res<LocalOrder> {
    let memo = memo.unwrap_or_default();
    with_engine(&state, move |e| {
        e.save_draft(order_id.as_deref(), &account_id, &lines, &memo, now())
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn reorder(state: State<'_, AppState>, order_id: String) -> Res<LocalOrder> {
    with_engine(&state, move |e| e.reorder(&order_id, now())).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_and_submit(
    state: State<'_, AppState>,
    order_id: String,
    signature: SignatureInput,
) -> Res<LocalOrder> {
    with_engine(&state, move |e| {
        e.sign_and_submit(&order_id, &signature, now())
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn orders(
    state: State<'_, AppState>,
    account_id: Option<String>,
    limit: Option<u32>,
) -> Res<Vec<LocalOrder>> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    with_engine(&state, move |e| e.orders(account_id.as_deref(), limit)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn order(state: State<'_, AppState>, order_id: String) -> Res<LocalOrder> {
    with_engine(&state, move |e| e.order(&order_id)).await
}
