//! Payment links (`/v1/payment-links`): a web page where the payer types a mobile number and
//! gets the bill text (shop mode), or where a call-centre agent checks the fields and sends
//! it (agent mode). A link is paid at most once.

use serde::{Deserialize, Serialize};

use crate::charge::Orderer;

/// Which page a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentLinkMode {
    /// The payer's page: the mobile number (filled in when given), consent, one button.
    #[default]
    Shop,
    /// The agent's page (CRM): every field editable, then "send".
    Agent,
}

/// A link's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentLinkStatus {
    /// May be paid (a charge may be under way).
    Open,
    /// Its charge was approved (even if refunded since).
    Paid,
    Expired,
    Canceled,
}

/// `POST /v1/payment-links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentLink {
    pub goods_name: String,
    /// KRW, whole won, 1..=100,000,000.
    pub amount: i64,
    #[serde(default)]
    pub payer_name: Option<String>,
    /// Filled in on the page (the payer may change it).
    #[serde(default)]
    pub payer_phone: Option<String>,
    #[serde(default)]
    pub payer_email: Option<String>,
    /// The merchant's own order reference.
    #[serde(default)]
    pub order_ref: Option<String>,
    /// The person who ordered, when not the payer.
    #[serde(default)]
    pub orderer: Option<Orderer>,
    /// How long the link can be paid, 1..=43200 minutes (30 days); default 1440 (a day).
    #[serde(default)]
    pub expires_in_minutes: Option<u32>,
    /// Whether installments may be offered (only from 50,000 KRW). Default true.
    #[serde(default)]
    pub installments: Option<bool>,
    #[serde(default)]
    pub mode: Option<PaymentLinkMode>,
}

/// The answer to `POST /v1/payment-links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentLinkCreated {
    pub id: String,
    /// The page to send the payer (or open in the CRM).
    pub url: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// A payment link as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentLink {
    pub id: String,
    /// The page of a link made through the API; None for a signed link (its URL is the
    /// merchant's own).
    pub url: Option<String>,
    /// `api` or `signed`.
    pub source: String,
    pub mode: PaymentLinkMode,
    pub status: PaymentLinkStatus,
    pub goods_name: String,
    pub amount: i64,
    pub payer_name: Option<String>,
    pub payer_phone: Option<String>,
    pub payer_email: Option<String>,
    pub order_ref: Option<String>,
    pub orderer: Option<Orderer>,
    pub installments: bool,
    pub expires_at: String,
    /// The link's current (latest) charge.
    pub charge_id: Option<String>,
    pub created_at: String,
    /// `api_key:<id>`, `manager:<rep id>` or `signed`.
    pub created_by: String,
    pub canceled_at: Option<String>,
}
