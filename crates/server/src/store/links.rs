//! Payment links (결제 링크): a request to pay that a payer (or a call-centre agent) opens as a
//! web page. Made through the API (`POST /v1/payment-links`), or, for signed links (see
//! [`crate::links`]), stored on their first use, keyed per merchant by their signature so that
//! the same signed link is paid at most once.
//!
//! The link's charge is created in the charge's own transaction ([`NewCharge::link`]): there
//! the link is claimed (at most one live charge per link; none once paid, canceled or
//! expired), so double submits and submits on two instances make one charge.
//!
//! The stored `status` is `open` or `canceled`; a link is *paid* when its current charge is
//! approved (or refunded afterwards), *expired* past `expires_at`: both are read from the
//! facts ([`PaymentLinkRecord::state`]), never stored twice.

use chrono::{DateTime, Utc};
use fieldpay_protocol::charge::ChargeStatus;
use fieldpay_protocol::{ChargeId, ErrorCode, MerchantId};

use super::{StoreError, StoreResult};
pub use crate::links::LinkMode;

/// How a link came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkSource {
    /// `POST /v1/payment-links`.
    Api,
    /// A signed link, stored on first use.
    Signed,
}

impl LinkSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkSource::Api => "api",
            LinkSource::Signed => "signed",
        }
    }
    pub fn parse(s: &str) -> StoreResult<LinkSource> {
        match s {
            "api" => Ok(LinkSource::Api),
            "signed" => Ok(LinkSource::Signed),
            other => Err(StoreError::corrupt(format!("link source {other}"))),
        }
    }
}

pub(crate) fn parse_mode(s: &str) -> StoreResult<LinkMode> {
    LinkMode::parse(s).ok_or_else(|| StoreError::corrupt(format!("link mode {s}")))
}

/// A link to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPaymentLink {
    pub id: String,
    pub merchant_id: MerchantId,
    pub source: LinkSource,
    /// Signed links: the lower-case hex signature (unique per merchant).
    pub signature: Option<String>,
    pub mode: LinkMode,
    pub goods_name: String,
    pub amount: i64,
    pub payer_name: Option<String>,
    /// National digits.
    pub payer_phone: Option<String>,
    pub payer_email: Option<String>,
    pub order_ref: Option<String>,
    pub orderer_name: Option<String>,
    /// National digits.
    pub orderer_phone: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub installments: bool,
    /// The unguessable token of the link's status page (`/pay/s/{token}`).
    pub status_token: String,
    /// `api_key:<id>`, `manager:<rep id>` or `signed`.
    pub created_by: String,
}

/// The link's state as the pages and the API show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Open,
    Paid,
    Expired,
    Canceled,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Open => "open",
            LinkState::Paid => "paid",
            LinkState::Expired => "expired",
            LinkState::Canceled => "canceled",
        }
    }
}

/// A stored link with its current charge's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLinkRecord {
    pub link: NewPaymentLink,
    pub canceled: bool,
    pub charge_id: Option<ChargeId>,
    /// The current charge's status and whether its number binding is live (a payer can
    /// still call and pay it).
    pub charge_status: Option<ChargeStatus>,
    pub charge_live: bool,
    pub created_at: String,
    pub canceled_at: Option<String>,
}

impl PaymentLinkRecord {
    pub fn id(&self) -> &str {
        &self.link.id
    }

    /// Paid (its charge approved, even if refunded since), canceled, expired (past
    /// `expires_at` with no live charge: a charge under way may still be paid) or open.
    pub fn state(&self, now: DateTime<Utc>) -> LinkState {
        if matches!(
            self.charge_status,
            Some(ChargeStatus::Approved | ChargeStatus::Refunded)
        ) {
            LinkState::Paid
        } else if self.canceled {
            LinkState::Canceled
        } else if now >= self.link.expires_at && !self.charge_live {
            LinkState::Expired
        } else {
            LinkState::Open
        }
    }
}

/// How a new charge uses a payment link ([`super::NewCharge::link`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkUse {
    /// A stored link, by id.
    Stored(String),
    /// A signed link: stored now unless a link of that signature is (then that one is used).
    Signed(Box<NewPaymentLink>),
}

/// What claiming a link for a new charge found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Go on: create the charge and make it the link's (this link id).
    Create(String),
    /// The link has a live charge: that one is the answer (a double submit).
    Existing(ChargeId),
}

/// The rule of a claim, on the facts the store read in the charge's transaction.
pub(crate) fn claim_rule(rec: &PaymentLinkRecord, now: DateTime<Utc>) -> StoreResult<Claim> {
    match rec.state(now) {
        LinkState::Paid => Err(StoreError::rejected(
            ErrorCode::InvalidState,
            "이미 결제된 링크입니다 (this link is paid)",
        )),
        LinkState::Canceled => Err(StoreError::rejected(
            ErrorCode::InvalidState,
            "취소된 링크입니다 (this link is canceled)",
        )),
        _ if rec.charge_live => Ok(Claim::Existing(
            rec.charge_id.clone().expect("a live charge has an id"),
        )),
        LinkState::Expired => Err(StoreError::rejected(
            ErrorCode::InvalidState,
            "기한이 지난 링크입니다 (this link has expired)",
        )),
        LinkState::Open => Ok(Claim::Create(rec.link.id.clone())),
    }
}

/// The rule of a cancel: a paid link cannot be canceled; canceling twice is fine.
pub(crate) fn cancel_rule(rec: &PaymentLinkRecord, now: DateTime<Utc>) -> StoreResult<()> {
    if rec.state(now) == LinkState::Paid {
        return Err(StoreError::rejected(
            ErrorCode::InvalidState,
            "이미 결제된 링크는 취소할 수 없습니다 (a paid link cannot be canceled; refund its charge)",
        ));
    }
    Ok(())
}

pub trait PaymentLinkStore {
    /// Stores a new link (an id or status token already taken is a conflict).
    fn create_payment_link(
        &self,
        new: &NewPaymentLink,
        now: DateTime<Utc>,
    ) -> StoreResult<PaymentLinkRecord>;

    /// The merchant's link of that id.
    fn payment_link(
        &self,
        merchant_id: &MerchantId,
        id: &str,
    ) -> StoreResult<Option<PaymentLinkRecord>>;

    /// The link of that id, whoever's (the public page `/l/{id}`).
    fn payment_link_any(&self, id: &str) -> StoreResult<Option<PaymentLinkRecord>>;

    /// The link whose status page token this is.
    fn payment_link_by_token(&self, token: &str) -> StoreResult<Option<PaymentLinkRecord>>;

    /// The merchant's stored signed link of that signature (lower-case hex).
    fn payment_link_by_signature(
        &self,
        merchant_id: &MerchantId,
        signature: &str,
    ) -> StoreResult<Option<PaymentLinkRecord>>;

    /// Cancels the link (no new charge; its live charge, if any, is the caller's to cancel).
    /// A paid link is refused (`invalid_state`); an unknown one is `not_found`.
    fn cancel_payment_link(
        &self,
        merchant_id: &MerchantId,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<PaymentLinkRecord>;
}

/// The columns every store reads a link with (`l` the link, `c` its current charge, joined).
pub(crate) const LINK_COLS: &str =
    "l.id, l.merchant_id, l.source, l.signature, l.mode, l.goods_name, l.amount,
    l.payer_name, l.payer_phone, l.payer_email, l.order_ref, l.orderer_name, l.orderer_phone,
    l.expires_at, l.installments, l.status_token, l.created_by, l.status, l.charge_id,
    l.created_at, l.canceled_at, c.status, c.bound";

/// `FROM` with the join of [`LINK_COLS`].
pub(crate) const LINK_FROM: &str =
    "payment_links l LEFT JOIN charges c ON c.merchant_id = l.merchant_id AND c.id = l.charge_id";

/// A link row as read, before its values are checked.
pub(crate) struct RawLink {
    pub id: String,
    pub merchant_id: String,
    pub source: String,
    pub signature: Option<String>,
    pub mode: String,
    pub goods_name: String,
    pub amount: i64,
    pub payer_name: Option<String>,
    pub payer_phone: Option<String>,
    pub payer_email: Option<String>,
    pub order_ref: Option<String>,
    pub orderer_name: Option<String>,
    pub orderer_phone: Option<String>,
    pub expires_at: String,
    pub installments: bool,
    pub status_token: String,
    pub created_by: String,
    pub status: String,
    pub charge_id: Option<String>,
    pub created_at: String,
    pub canceled_at: Option<String>,
    pub charge_status: Option<String>,
    pub charge_bound: Option<bool>,
}

impl RawLink {
    pub(crate) fn record(self) -> StoreResult<PaymentLinkRecord> {
        let charge_status = self
            .charge_status
            .map(|s| {
                ChargeStatus::parse(&s)
                    .ok_or_else(|| StoreError::corrupt(format!("charge status {s}")))
            })
            .transpose()?;
        Ok(PaymentLinkRecord {
            link: NewPaymentLink {
                id: self.id,
                merchant_id: MerchantId::from(self.merchant_id),
                source: LinkSource::parse(&self.source)?,
                signature: self.signature,
                mode: parse_mode(&self.mode)?,
                goods_name: self.goods_name,
                amount: self.amount,
                payer_name: self.payer_name,
                payer_phone: self.payer_phone,
                payer_email: self.payer_email,
                order_ref: self.order_ref,
                orderer_name: self.orderer_name,
                orderer_phone: self.orderer_phone,
                expires_at: crate::clock::parse_ts(&self.expires_at)
                    .ok_or_else(|| StoreError::corrupt("link expires_at"))?,
                installments: self.installments,
                status_token: self.status_token,
                created_by: self.created_by,
            },
            canceled: match self.status.as_str() {
                "open" => false,
                "canceled" => true,
                other => return Err(StoreError::corrupt(format!("link status {other}"))),
            },
            charge_id: self.charge_id.map(ChargeId::from),
            charge_live: self.charge_bound.unwrap_or(false),
            charge_status,
            created_at: self.created_at,
            canceled_at: self.canceled_at,
        })
    }
}
