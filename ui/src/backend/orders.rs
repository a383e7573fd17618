//! Orders / purchase orders (발주서): preview, drafts, signature, PDF.

use fieldpay_protocol::app::{LineInput, LocalOrder, OrderPreview, SignatureInput};
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::ApiError;

use super::{invoke, list};

pub async fn preview_order(
    account_id: &str,
    lines: &[LineInput],
    order_id: Option<&str>,
) -> Result<OrderPreview, ApiError> {
    invoke(&cmd::PreviewOrder {
        account_id: account_id.into(),
        lines: lines.to_vec(),
        order_id: order_id.map(Into::into),
    })
    .await
}

pub async fn save_draft(
    order_id: Option<&str>,
    account_id: &str,
    lines: &[LineInput],
    memo: &str,
) -> Result<LocalOrder, ApiError> {
    invoke(&cmd::SaveDraft {
        order_id: order_id.map(Into::into),
        account_id: account_id.into(),
        lines: lines.to_vec(),
        memo: memo.into(),
    })
    .await
}

pub async fn reorder(order_id: &str) -> Result<LocalOrder, ApiError> {
    invoke(&cmd::Reorder {
        order_id: order_id.into(),
    })
    .await
}

pub async fn order(order_id: &str) -> Result<LocalOrder, ApiError> {
    invoke(&cmd::Order {
        order_id: order_id.into(),
    })
    .await
}

pub async fn sign_and_submit(
    order_id: &str,
    signature: &SignatureInput,
) -> Result<LocalOrder, ApiError> {
    invoke(&cmd::SignAndSubmit {
        order_id: order_id.into(),
        signature: signature.clone(),
    })
    .await
}

pub async fn orders(account_id: Option<&str>, max: usize) -> Result<Vec<LocalOrder>, ApiError> {
    invoke(&cmd::Orders(list(account_id, max))).await
}
