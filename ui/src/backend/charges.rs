//! ARS charges (ARS 결제 요청), payments, refunds and the daily closing.

use fieldpay_protocol::app::{ChargeInput, DailyClosing, LocalCharge};
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::ApiError;

use super::{invoke, list};

pub async fn request_charge(input: &ChargeInput) -> Result<LocalCharge, ApiError> {
    invoke(&cmd::RequestCharge {
        input: input.clone(),
    })
    .await
}

pub async fn cancel_charge(charge_id: &str, reason: Option<&str>) -> Result<LocalCharge, ApiError> {
    invoke(&cmd::CancelCharge {
        charge_id: charge_id.into(),
        reason: reason.map(Into::into),
    })
    .await
}

/// Refunds `amount` KRW of a payment (None: all that remains).
pub async fn refund_charge(
    charge_id: &str,
    amount: Option<i64>,
    reason: Option<&str>,
) -> Result<LocalCharge, ApiError> {
    invoke(&cmd::RefundCharge {
        charge_id: charge_id.into(),
        reason: reason.map(Into::into),
        amount,
    })
    .await
}

pub async fn resend_charge_sms(charge_id: &str) -> Result<LocalCharge, ApiError> {
    invoke(&cmd::ResendChargeSms {
        charge_id: charge_id.into(),
    })
    .await
}

pub async fn charge(charge_id: &str) -> Result<LocalCharge, ApiError> {
    invoke(&cmd::Charge {
        charge_id: charge_id.into(),
    })
    .await
}

pub async fn charges(account_id: Option<&str>, max: usize) -> Result<Vec<LocalCharge>, ApiError> {
    invoke(&cmd::Charges(list(account_id, max))).await
}

/// `date` is a KST day `YYYY-MM-DD`; None means today.
pub async fn daily_closing(date: Option<&str>) -> Result<DailyClosing, ApiError> {
    invoke(&cmd::DailyClosing {
        date: date.map(Into::into),
    })
    .await
}
