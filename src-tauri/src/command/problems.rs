//! Sync problems: actions the server refused, with its reason.

use fieldpay_protocol::command as cmd;
use tauri::State;

use super::{now, with_engine};
use crate::state::AppState;

handler! {
    cmd::Problems => async fn problems(_args, state: State<'_, AppState>) {
        with_engine(&state, |e| e.problems()).await
    }
}

handler! {
    cmd::RetryProblem => async fn retry_problem(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.retry_problem(&args.client_id, now())).await
    }
}

handler! {
    cmd::DiscardProblem => async fn discard_problem(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.discard_problem(&args.client_id)).await
    }
}
