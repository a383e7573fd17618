//! Orders / purchase orders (발주서) and returns (반품서): preview, drafts, signature, PDF.

use fieldpay_protocol::app::{LocalOrder, OrderPreview, SignatureInput};
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::ApiError;

use super::{invoke, list};

pub async fn preview_order(p: &cmd::PreviewOrder) -> Result<OrderPreview, ApiError> {
    invoke(p).await
}

pub async fn save_draft(d: &cmd::SaveDraft) -> Result<LocalOrder, ApiError> {
    invoke(d).await
}

/// A new return draft of a registered order (what may still come back of it).
pub async fn start_return(order_id: &str) -> Result<LocalOrder, ApiError> {
    invoke(&cmd::StartReturn {
        order_id: order_id.into(),
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
