//! Visits (방문 기록): check in and out (offline; sent by the sync loop), today's route, a
//! client's recent visits, and the manager's list of the reps' visits (online).

use fieldpay_protocol::command as cmd;
use tauri::State;

use super::{api, now, with_engine, DEFAULT_LIMIT};
use crate::state::AppState;

handler! {
    cmd::CheckIn => async fn check_in(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| {
            e.check_in(args.account_id.as_str(), &args.note, args.location, now())
        })
        .await
    }
}

handler! {
    cmd::CheckOut => async fn check_out(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.check_out(&args.visit_id, now())).await
    }
}

handler! {
    cmd::TodayRoute => async fn today_route(_args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.today_route(now())).await
    }
}

handler! {
    cmd::AccountVisits => async fn account_visits(args, state: State<'_, AppState>) {
        let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
        with_engine(&state, move |e| e.account_visits(args.account_id.as_str(), limit)).await
    }
}

handler! {
    cmd::ManagerVisits => async fn manager_visits(args, state: State<'_, AppState>) {
        api(state
            .engine()?
            .manager_visits(args.date.as_deref(), args.rep_id.as_ref().map(|r| r.as_str()))
            .await)
    }
}
