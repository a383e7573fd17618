//! Sharing by text from the order screen (online): the purchase order's PDF link or a receipt
//! link, and the order's text history.

use fieldpay_protocol::command as cmd;
use tauri::State;

use super::api;
use crate::state::AppState;

handler! {
    cmd::ShareOrder => async fn share_order(args, state: State<'_, AppState>) {
        api(state
            .engine()?
            .share_order(
                args.order_id.as_str(),
                args.kind,
                &args.to_phone,
                args.charge_id.as_ref().map(|c| c.as_str()),
            )
            .await)
    }
}

handler! {
    cmd::OrderShares => async fn order_shares(args, state: State<'_, AppState>) {
        api(state.engine()?.order_shares(args.order_id.as_str()).await)
    }
}
