//! Orders (발주서): drafts, preview, signature and submission.

use fieldpay_protocol::command as cmd;
use tauri::State;

use super::{list_of, now, with_engine};
use crate::state::AppState;

handler! {
    cmd::PreviewOrder => async fn preview_order(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.preview_order(&args)).await
    }
}

handler! {
    cmd::SaveDraft => async fn save_draft(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.save_draft(&args, now())).await
    }
}

handler! {
    cmd::Reorder => async fn reorder(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.reorder(args.order_id.as_str(), now())).await
    }
}

handler! {
    cmd::StartReturn => async fn start_return(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.start_return(args.order_id.as_str(), now())).await
    }
}

handler! {
    cmd::SignAndSubmit => async fn sign_and_submit(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| {
            e.sign_and_submit(args.order_id.as_str(), &args.signature, now())
        })
        .await
    }
}

handler! {
    cmd::Orders => async fn orders(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| {
            let (account_id, limit) = list_of(&args.0);
            e.orders(account_id, limit)
        })
        .await
    }
}

handler! {
    cmd::Order => async fn order(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.order(args.order_id.as_str())).await
    }
}
