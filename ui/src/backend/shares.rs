//! Sharing by text (online): the purchase order's PDF link or a receipt link.

use fieldpay_protocol::command as cmd;
use fieldpay_protocol::share::{OrderShare, ShareKind};
use fieldpay_protocol::ApiError;

use super::invoke;

pub async fn share_order(
    order_id: &str,
    kind: ShareKind,
    to_phone: &str,
    charge_id: Option<&str>,
) -> Result<OrderShare, ApiError> {
    invoke(&cmd::ShareOrder {
        order_id: order_id.into(),
        kind,
        to_phone: to_phone.into(),
        charge_id: charge_id.map(Into::into),
    })
    .await
}

pub async fn order_shares(order_id: &str) -> Result<Vec<OrderShare>, ApiError> {
    invoke(&cmd::OrderShares {
        order_id: order_id.into(),
    })
    .await
}
