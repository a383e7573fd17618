//! ARS charges (ARS 결제 요청): request bodies, the charge as answered, statuses, events.

use serde::{Deserialize, Serialize};

/// Charge lifecycle (DESIGN.md). `Queued` exists only on a device that is offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Queued,
    Requested,
    SmsSent,
    CallConnected,
    Verified,
    CardEntered,
    Approved,
    Declined,
    Expired,
    Canceled,
    Refunded,
}

text_names!(ChargeStatus {
    Queued => "queued",
    Requested => "requested",
    SmsSent => "sms_sent",
    CallConnected => "call_connected",
    Verified => "verified",
    CardEntered => "card_entered",
    Approved => "approved",
    Declined => "declined",
    Expired => "expired",
    Canceled => "canceled",
    Refunded => "refunded",
});

impl ChargeStatus {
    /// Still waiting for the payer: its virtual number binding is live.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            ChargeStatus::Queued
                | ChargeStatus::Requested
                | ChargeStatus::SmsSent
                | ChargeStatus::CallConnected
                | ChargeStatus::Verified
                | ChargeStatus::CardEntered
                | ChargeStatus::Declined
        )
    }

    /// No further payer action can change it (refund may still follow approval).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ChargeStatus::Approved
                | ChargeStatus::Expired
                | ChargeStatus::Canceled
                | ChargeStatus::Refunded
        )
    }

    pub fn label_ko(self) -> &'static str {
        match self {
            ChargeStatus::Queued => "전송 대기",
            ChargeStatus::Requested => "요청됨",
            ChargeStatus::SmsSent => "문자 발송",
            ChargeStatus::CallConnected => "전화 연결",
            ChargeStatus::Verified => "본인 확인",
            ChargeStatus::CardEntered => "카드 입력",
            ChargeStatus::Approved => "승인",
            ChargeStatus::Declined => "거절",
            ChargeStatus::Expired => "기한 만료",
            ChargeStatus::Canceled => "취소",
            ChargeStatus::Refunded => "환불",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChargeKind {
    /// Card entered by keypad.
    #[default]
    General,
    /// A card registered for the payer is named and confirmed with one key.
    AutoPay,
}

text_names!(ChargeKind { General => "general", AutoPay => "auto_pay" });

/// Where a charge came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChargeOrigin {
    App,
    Api,
    WebLink,
}

text_names!(ChargeOrigin { App => "app", Api => "api", WebLink => "web_link" });

/// The person who ordered, when not the payer (third-party payment, 조르기 결제).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Orderer {
    pub name: String,
    pub phone: String,
}

/// `POST /v1/charges`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateCharge {
    /// KRW, whole won, 1..=100,000,000.
    pub amount: i64,
    pub goods_name: String,
    pub payer_phone: String,
    #[serde(default)]
    pub payer_name: Option<String>,
    #[serde(default)]
    pub kind: Option<ChargeKind>,
    /// The merchant's own reference, or a FieldPay order id.
    #[serde(default)]
    pub order_ref: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub orderer: Option<Orderer>,
    /// Whether installments may be offered (only from 50,000 KRW). Default true.
    #[serde(default)]
    pub installments: Option<bool>,
    /// Default 60 minutes; 1..=10080 (7 days).
    #[serde(default)]
    pub expires_in_minutes: Option<u32>,
}

/// What a charge event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChargeEventKind {
    /// The charge moved to `status`.
    #[default]
    Status,
    /// A text about the charge (the bill, the sales slip, a notice) could not be delivered
    /// after the last attempt (문자 발송 실패); `detail` holds which text and the provider's
    /// reason. The charge's status is unchanged: `status` is the status it had then. The rep
    /// may send the bill again.
    TextFailed,
}

text_names!(ChargeEventKind { Status => "status", TextFailed => "text_failed" });

impl ChargeEventKind {
    pub fn is_status(&self) -> bool {
        *self == ChargeEventKind::Status
    }

    pub fn label_ko(self) -> &'static str {
        match self {
            ChargeEventKind::Status => "상태 변경",
            ChargeEventKind::TextFailed => "문자 발송 실패",
        }
    }
}

/// One stored event of a charge: a status transition, or (with `kind`) something that
/// happened to it without changing its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChargeEvent {
    pub status: ChargeStatus,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `status` (a transition; left out of the JSON) or `text_failed`.
    #[serde(default, skip_serializing_if = "ChargeEventKind::is_status")]
    pub kind: ChargeEventKind,
}

impl ChargeEvent {
    /// A status transition.
    pub fn status(status: ChargeStatus, at: String, detail: Option<String>) -> ChargeEvent {
        ChargeEvent {
            status,
            at,
            detail,
            kind: ChargeEventKind::Status,
        }
    }

    pub fn is_transition(&self) -> bool {
        self.kind.is_status()
    }
}

/// What was approved (no card data: masked number and issuer only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentInfo {
    pub approval_number: String,
    pub issuer_code: String,
    pub issuer_name: String,
    pub masked_card: String,
    pub installment_months: u8,
    pub amount: i64,
    pub approved_at: String,
    /// When the payment was refunded in full (the last refund's time); None while any of it
    /// stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_url: Option<String>,
    /// KRW refunded so far (0..=amount): the sum of `refunds`. A charge stays `approved` while
    /// this is less than `amount` and becomes `refunded` when it reaches it.
    #[serde(default)]
    pub refunded_amount: i64,
    /// The refunds made, oldest first (whole or partial).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<RefundInfo>,
}

impl PaymentInfo {
    /// KRW still refundable.
    pub fn refundable(&self) -> i64 {
        (self.amount - self.refunded_amount).max(0)
    }
}

/// One refund of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefundInfo {
    /// 1 for the first refund of the payment, 2 for the next, ...
    pub n: u32,
    /// KRW.
    pub amount: i64,
    pub refunded_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A charge as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Charge {
    pub id: String,
    pub status: ChargeStatus,
    pub kind: ChargeKind,
    pub origin: ChargeOrigin,
    pub amount: i64,
    pub goods_name: String,
    /// As shown to people: `010-1234-5678`.
    pub payer_phone: String,
    pub payer_name: Option<String>,
    pub orderer: Option<Orderer>,
    pub third_party: bool,
    pub order_ref: Option<String>,
    pub account_id: Option<String>,
    pub rep_id: Option<String>,
    pub installments: bool,
    /// As shown to people: `1600-0012`. None once the binding has ended.
    pub virtual_number: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub events: Vec<ChargeEvent>,
    pub payment: Option<PaymentInfo>,
    pub decline_reason: Option<String>,
}

/// `GET /v1/charges` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChargeList {
    pub items: Vec<Charge>,
    /// Pass as `after` to get the next page; None on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelCharge {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefundCharge {
    #[serde(default)]
    pub reason: Option<String>,
    /// KRW to refund, more than 0 and at most what remains unrefunded; absent = all that
    /// remains (a whole refund when nothing was refunded yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
}

/// One item of the server-sent event stream (`event: charge`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChargeStatusChanged {
    pub charge_id: String,
    pub status: ChargeStatus,
    pub at: String,
    pub account_id: Option<String>,
    pub rep_id: Option<String>,
    pub amount: i64,
}
