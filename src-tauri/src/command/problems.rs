//! Sync problems: actions the server refused, with its reason.

use fieldpay_protocol::app::SyncProblem;
use tauri::State;

use super::{now, with_engine, Res};
use crate::state::AppState;

#[tauri::command(rename_all = "snake_case")]
pub async fn problems(state: State<'_, AppState>) -> Res<Vec<SyncProblem>> {
    with_engine(&state, |e| e.problems()).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn retry_problem(state: State<'_, AppState>, client_id: String) -> Res<()> {
    with_engine(&state, move |e| e.retry_problem(&client_id, now())).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn discard_problem(state: State<'_, AppState>, client_id: String) -> Res<()> {
    with_engine(&state, move |e| e.discard_problem(&client_id)).await
}
