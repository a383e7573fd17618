//! Sharing by text (문자로 보내기): the rep sends a purchase order's PDF (as a link) or a paid
//! charge's receipt link to the client's mobile phone through the server's text sender
//! (`POST /v1/orders/{id}/shares`); each share is logged with the order.

use serde::{Deserialize, Serialize};

use crate::sms::SmsStatus;

/// Texts per order at most (all kinds together).
pub const MAX_SHARES_PER_ORDER: usize = 5;

/// What a share sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShareKind {
    /// The signed purchase order (발주서) as a link to its PDF.
    PurchaseOrder,
    /// The sales slip (영수증) link of a paid charge of the order.
    Receipt,
}

crate::text_names!(ShareKind { PurchaseOrder => "purchase_order", Receipt => "receipt" });

/// `POST /v1/orders/{id}/shares`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShareOrder {
    /// Chosen by the caller (8 to 64 of `A-Z a-z 0-9 _ -`): the same id again is answered with
    /// the first share and sends nothing more.
    pub share_id: String,
    /// A Korean mobile number (010-1234-5678).
    pub to_phone: String,
    pub kind: ShareKind,
    /// For a receipt: the paid charge of this order.
    #[serde(default)]
    pub charge_id: Option<String>,
}

/// One text sent about an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderShare {
    pub id: String,
    pub order_id: String,
    pub kind: ShareKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    /// 010-1234-5678.
    pub to_phone: String,
    /// The link the text carries.
    pub link: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// Where its text stands.
    pub status: SmsStatus,
}

/// An order's texts, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderShares {
    pub shares: Vec<OrderShare>,
}
