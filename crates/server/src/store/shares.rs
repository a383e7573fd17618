//! Texts about an order sent by the rep (문자로 보내기): the purchase order's PDF as a public,
//! unguessable link (`/d/{token}`), or a paid charge's receipt link; each logged with the
//! order, at most [`MAX_SHARES_PER_ORDER`] per order, and sent once per share id.

use chrono::{DateTime, Utc};
use fieldpay_protocol::share::{OrderShare, ShareKind, MAX_SHARES_PER_ORDER};
use fieldpay_protocol::sms::SmsStatus;
use fieldpay_protocol::{ChargeId, ErrorCode, MerchantId, OrderId};

use super::{StoreError, StoreResult};

/// A share, checked by the route (phone, the charge of a receipt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShare {
    pub id: String,
    pub order_id: OrderId,
    pub kind: ShareKind,
    /// The receipt's charge.
    pub charge_id: Option<ChargeId>,
    /// National digits of a mobile number.
    pub to_phone: String,
    /// A fresh token for the order's PDF link, used when the order has none yet.
    pub token: String,
}

/// The link and the text's body for a share, given the order's document token (for a
/// receipt the token is not used).
pub type ComposeShare<'a> = &'a (dyn Fn(&str) -> (String, String) + Sync);

pub trait ShareStore {
    /// Records the share and queues its text (kind `share`, about the charge for a receipt),
    /// in one transaction. The same share id again answers the stored share and queues
    /// nothing (another order, phone or kind under that id: `conflict`). Refused with nothing
    /// stored: an order the merchant does not have (`not_found`), a purchase order without a
    /// signed PDF (`invalid_state`), an order with [`MAX_SHARES_PER_ORDER`] shares already
    /// (`rate_limited`).
    fn share_order(
        &self,
        merchant_id: &MerchantId,
        share: &NewShare,
        compose: ComposeShare<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<OrderShare>;
    /// An order's shares, newest first, with where their texts stand.
    fn order_shares(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
    ) -> StoreResult<Vec<OrderShare>>;
    /// The signed PDF behind a document link: (the order's number, or its id while it has
    /// none; the PDF). None for an unknown token.
    fn shared_pdf(&self, token: &str) -> StoreResult<Option<(String, Vec<u8>)>>;
}

pub(crate) const SHARE_COLS: &str = "s.id, s.order_id, s.kind, s.charge_id, s.to_phone, s.link, s.created_at, COALESCE(m.status, 'pending')";
pub(crate) const SHARE_FROM: &str =
    "order_shares s LEFT JOIN sms_messages m ON m.merchant_id = s.merchant_id AND m.id = s.sms_id";

/// A share row as either store reads it.
pub(crate) struct RawShare {
    pub id: String,
    pub order_id: String,
    pub kind: String,
    pub charge_id: Option<String>,
    pub to_phone: String,
    pub link: String,
    pub created_at: String,
    pub status: String,
}

impl RawShare {
    pub(crate) fn share(self) -> StoreResult<OrderShare> {
        Ok(OrderShare {
            id: self.id,
            order_id: self.order_id,
            kind: ShareKind::parse(&self.kind).ok_or_else(|| StoreError::corrupt("share kind"))?,
            charge_id: self.charge_id,
            to_phone: fieldpay_protocol::phone::Phone::parse(&self.to_phone)
                .map(|p| p.display())
                .unwrap_or(self.to_phone),
            link: self.link,
            created_at: self.created_at,
            status: SmsStatus::parse(&self.status)
                .ok_or_else(|| StoreError::corrupt("sms status"))?,
        })
    }
}

/// The same share again, or another one under a taken id.
pub(crate) fn same_share(stored: &OrderShare, new: &NewShare) -> StoreResult<()> {
    let phone = fieldpay_protocol::phone::Phone::parse(&new.to_phone)
        .map(|p| p.display())
        .unwrap_or_else(|_| new.to_phone.clone());
    let same = stored.order_id == new.order_id.as_str()
        && stored.kind == new.kind
        && stored.to_phone == phone
        && stored.charge_id.as_deref() == new.charge_id.as_ref().map(ChargeId::as_str);
    if same {
        Ok(())
    } else {
        Err(StoreError::rejected(
            ErrorCode::Conflict,
            "이미 다른 전송에 쓰인 번호입니다 (the share id is taken)",
        ))
    }
}

/// The per-order limit, given how many shares the order has.
pub(crate) fn check_share_count(count: i64) -> StoreResult<()> {
    if count >= MAX_SHARES_PER_ORDER as i64 {
        return Err(StoreError::rejected(
            ErrorCode::RateLimited,
            format!(
                "이 주문으로는 문자를 {MAX_SHARES_PER_ORDER}번까지 보낼 수 있습니다 (at most {MAX_SHARES_PER_ORDER} texts per order)"
            ),
        ));
    }
    Ok(())
}

pub(crate) fn order_not_found() -> StoreError {
    StoreError::rejected(
        ErrorCode::NotFound,
        "주문을 찾을 수 없습니다 (order not found)",
    )
}

pub(crate) fn no_pdf() -> StoreError {
    StoreError::rejected(
        ErrorCode::InvalidState,
        "서명된 발주서 PDF가 없습니다 (the order has no signed PDF yet)",
    )
}
