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

/// Writes the signed purchase order to `<data>/exports/발주서-<number or id>.pdf`; returns the path.
#[tauri::command(rename_all = "snake_case")]
pub async fn export_order_pdf(state: State<'_, AppState>, order_id: String) -> Res<String> {
    let dir = state.data_dir().join("exports");
    with_engine(&state, move |e| {
        let order = e.order(&order_id)?;
        let name = order.order.number.as_deref().unwrap_or(&order.order.id);
        let path = dir.join(format!("발주서-{}.pdf", file_safe(name)));
        let pdf = e.order_pdf(&order_id)?;
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, pdf))
            .map_err(|err| fieldpay_core::CoreError::Other(format!("{}: {err}", path.display())))?;
        Ok(path.display().to_string())
    })
    .await
}

/// A file-name-safe form of an order number (no separators or control characters).
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '-',
            c if c.is_control() => '-',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names() {
        assert_eq!(super::file_safe("PO-2026/0001"), "PO-2026-0001");
        assert_eq!(super::file_safe("임시-1a2b3c4d"), "임시-1a2b3c4d");
    }
}
