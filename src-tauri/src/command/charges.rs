//! ARS charges (결제 요청), refunds, and the daily closing.

use fieldpay_protocol::command as cmd;
use tauri::State;

use super::{api, list_of, now, with_engine};
use crate::state::AppState;

handler! {
    cmd::RequestCharge => async fn request_charge(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.request_charge(&args.input, now())).await
    }
}

handler! {
    cmd::CancelCharge => async fn cancel_charge(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| {
            e.cancel_charge(args.charge_id.as_str(), args.reason.as_deref(), now())
        })
        .await
    }
}

handler! {
    /// Texts the bill again (online only).
    cmd::ResendChargeSms => async fn resend_charge_sms(args, state: State<'_, AppState>) {
        api(state.engine()?.resend_charge_sms(args.charge_id.as_str()).await)
    }
}

handler! {
    /// Full refund of an approved payment (online only).
    cmd::RefundCharge => async fn refund_charge(args, state: State<'_, AppState>) {
        api(state
            .engine()?
            .refund_charge(args.charge_id.as_str(), args.amount, args.reason.as_deref())
            .await)
    }
}

handler! {
    cmd::Charges => async fn charges(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| {
            let (account_id, limit) = list_of(&args.0);
            e.charges(account_id, limit)
        })
        .await
    }
}

handler! {
    cmd::Charge => async fn charge(args, state: State<'_, AppState>) {
        with_engine(&state, move |e| e.charge(args.charge_id.as_str())).await
    }
}

handler! {
    /// `date`: "YYYY-MM-DD" (KST); today when absent. Online only (the settlement is the
    /// server's).
    cmd::DailyClosing => async fn daily_closing(args, state: State<'_, AppState>) {
        api(state
            .engine()?
            .daily_closing(args.date.as_deref(), now())
            .await)
    }
}
