//! ARS charges (ARS 결제 요청), payments, refunds and the daily closing.

use fieldpay_protocol::app::{ChargeInput, DailyClosing, LocalCharge};
use fieldpay_protocol::ApiError;
use serde::Serialize;

use super::invoke;

#[derive(Serialize)]
struct RequestArgs<'a> {
    input: &'a ChargeInput,
}

pub async fn request_charge(input: &ChargeInput) -> Result<LocalCharge, ApiError> {
    invoke("request_charge", &RequestArgs { input }).await
}

#[derive(Serialize)]
struct ReasonArgs<'a> {
    charge_id: &'a str,
    reason: Option<&'a str>,
}

pub async fn cancel_charge(charge_id: &str, reason: Option<&str>) -> Result<LocalCharge, ApiError> {
    invoke("cancel_charge", &ReasonArgs { charge_id, reason }).await
}

pub async fn refund_charge(charge_id: &str, reason: Option<&str>) -> Result<LocalCharge, ApiError> {
    invoke("refund_charge", &ReasonArgs { charge_id, reason }).await
}

#[derive(Serialize)]
struct ChargeArgs<'a> {
    charge_id: &'a str,
}

pub async fn resend_charge_sms(charge_id: &str) -> Result<LocalCharge, ApiError> {
    invoke("resend_charge_sms", &ChargeArgs { charge_id }).await
}

pub async fn charge(charge_id: &str) -> Result<LocalCharge, ApiError> {
    invoke("charge", &ChargeArgs { charge_id }).await
}

#[derive(Serialize)]
struct ListArgs<'a> {
    account_id: Option<&'a str>,
    limit: usize,
}

pub async fn charges(account_id: Option<&str>, limit: usize) -> Result<Vec<LocalCharge>, ApiError> {
    invoke("charges", &ListArgs { account_id, limit }).await
}

#[derive(Serialize)]
struct ClosingArgs<'a> {
    date: Option<&'a str>,
}

/// `date` is a KST day `YYYY-MM-DD`; None means today.
pub async fn daily_closing(date: Option<&str>) -> Result<DailyClosing, ApiError> {
    invoke("daily_closing", &ClosingArgs { date }).await
}
