//! Orders / purchase orders (발주서): preview, drafts, signature, PDF.

use fieldpay_protocol::app::{LineInput, LocalOrder, OrderPreview, SignatureInput};
use fieldpay_protocol::ApiError;
use serde::Serialize;

use super::invoke;

#[derive(Serialize)]
struct PreviewArgs<'a> {
    account_id: &'a str,
    lines: &'a [LineInput],
    order_id: Option<&'a str>,
}

pub async fn preview_order(
    account_id: &str,
    lines: &[LineInput],
    order_id: Option<&str>,
) -> Result<OrderPreview, ApiError> {
    invoke(
        "preview_order",
        &PreviewArgs {
            account_id,
            lines,
            order_id,
        },
    )
    .await
}

#[derive(Serialize)]
struct DraftArgs<'a> {
    order_id: Option<&'a str>,
    account_id: &'a str,
    lines: &'a [LineInput],
    memo: &'a str,
}

pub async fn save_draft(
    order_id: Option<&str>,
    account_id: &str,
    lines: &[LineInput],
    memo: &str,
) -> Result<LocalOrder, ApiError> {
    invoke(
        "save_draft",
        &DraftArgs {
            order_id,
            account_id,
            lines,
            memo,
        },
    )
    .await
}

#[derive(Serialize)]
struct OrderArgs<'a> {
    order_id: &'a str,
}

pub async fn reorder(order_id: &str) -> Result<LocalOrder, ApiError> {
    invoke("reorder", &OrderArgs { order_id }).await
}

pub async fn order(order_id: &str) -> Result<LocalOrder, ApiError> {
    invoke("order", &OrderArgs { order_id }).await
}

#[derive(Serialize)]
struct SignArgs<'a> {
    order_id: &'a str,
    signature: &'a SignatureInput,
}

pub async fn sign_and_submit(
    order_id: &str,
    signature: &SignatureInput,
) -> Result<LocalOrder, ApiError> {
    invoke(
        "sign_and_submit",
        &SignArgs {
            order_id,
            signature,
        },
    )
    .await
}

#[derive(Serialize)]
struct ListArgs<'a> {
    account_id: Option<&'a str>,
    limit: usize,
}

pub async fn orders(account_id: Option<&str>, limit: usize) -> Result<Vec<LocalOrder>, ApiError> {
    invoke("orders", &ListArgs { account_id, limit }).await
}
