//! Client accounts and products (read from the device database; the server's account search
//! online).

use fieldpay_protocol::command as cmd;
use tauri::State;

use super::{api, now, with_engine, DEFAULT_LIMIT};
use crate::state::AppState;

handler! {
    cmd::SearchAccounts => async fn search_accounts(args, state: State<'_, AppState>) {
        let limit = args.limit.unwrap_or(DEFAULT_LIMIT) as usize;
        with_engine(&state, move |e| e.search_accounts(&args.query, limit)).await
    }
}

handler! {
    cmd::SearchServerAccounts => async fn search_server_accounts(args, state: State<'_, AppState>) {
        api(state
            .engine()?
            .search_server_accounts(&args.query, args.limit.unwrap_or(20))
            .await)
    }
}

handler! {
    cmd::ClientList => async fn client_list(args, state: State<'_, AppState>) {
        let limit = args.limit.unwrap_or(DEFAULT_LIMIT) as usize;
        with_engine(&state, move |e| e.client_list(args.sort, limit)).await
    }
}

handler! {
    cmd::AccountDetail => async fn account_detail(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| {
            e.account_detail(
                args.account_id.as_str(),
                fieldpay_core::closing::kst_today(now()),
            )
        })
        .await
    }
}

handler! {
    cmd::SearchProducts => async fn search_products(args, state: State<'_, AppState>) {
        let limit = args.limit.unwrap_or(DEFAULT_LIMIT) as usize;
        with_engine(&state, move |e| {
            e.search_products(&args.query, args.account_id.as_ref().map(|a| a.as_str()), limit)
        })
        .await
    }
}
