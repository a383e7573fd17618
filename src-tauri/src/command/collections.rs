//! Collections other than card (현금·계좌이체·어음 수금): record (queued, offline first), list
//! per client, and the manager's void (online only).

use fieldpay_protocol::command as cmd;
use tauri::State;

use super::{api, now, with_engine};
use crate::state::AppState;

handler! {
    cmd::RecordCollection => async fn record_collection(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.record_collection(&args.form, now())).await
    }
}

handler! {
    cmd::Collections => async fn collections(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.collections_for(args.account_id.as_str())).await
    }
}

handler! {
    /// A manager voids a collection (online only; the server refuses a plain rep).
    cmd::VoidCollection => async fn void_collection(args, state: State<'_, AppState>) {
        api(state
            .engine()?
            .void_collection(&args.collection_id, &args.reason)
            .await)
    }
}
