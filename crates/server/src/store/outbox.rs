//! The outboxes: texts to send and webhooks to deliver, written in the same transaction as
//! the change that causes them, sent by workers after commit and retried until done.

use chrono::{DateTime, Utc};
use fieldpay_protocol::sms::{SmsKind, SmsStatus};
use fieldpay_protocol::{ChargeId, MerchantId};
use serde::{Deserialize, Serialize};

use super::{ChargeRecord, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSms {
    /// National digits.
    pub to: String,
    pub kind: SmsKind,
    pub body: String,
    /// The hourly quotas this text counts against; writing it past one refuses the whole
    /// change (`rate_limited`). None for texts that must never be refused (slips, notices).
    pub quota: Option<TextLimits>,
}

/// How many bills may be texted in one clock hour: to one payer phone (across merchants), and
/// by one merchant. Against text pumping and phishing through the bill text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimits {
    pub per_phone_per_hour: u32,
    /// None: no limit for the merchant.
    pub per_merchant_per_hour: Option<u32>,
}

/// The refusal of a bill past the hourly quota of `scope` (`phone:<digits>` or
/// `merchant:<id>`).
pub(crate) fn quota_refusal(scope: &str) -> super::StoreError {
    let whom = if scope.starts_with("phone:") {
        "이 번호로 보낸 결제 요청 문자가 한 시간 한도를 넘었습니다 (too many bills to this phone this hour)"
    } else {
        "가맹점의 시간당 결제 요청 문자 한도를 넘었습니다 (the merchant's bills per hour are used up)"
    };
    super::StoreError::rejected(fieldpay_protocol::ErrorCode::RateLimited, whom)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub id: String,
    pub event_type: String,
    pub payload: String,
    pub url: String,
}

/// Messages written in the same transaction as a state change: texts to send and webhooks to
/// deliver.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub sms: Vec<NewSms>,
    pub webhooks: Vec<NewWebhook>,
}

/// Builds the effects of a change from the charge as it stands after the change.
pub type Compose<'a> = &'a (dyn Fn(&ChargeRecord) -> Effects + Sync);

#[derive(Debug, Clone)]
pub struct SmsRecord {
    pub id: i64,
    pub merchant_id: MerchantId,
    /// National digits.
    pub to: String,
    pub kind: SmsKind,
    pub body: String,
    pub charge_id: Option<ChargeId>,
    pub status: SmsStatus,
    pub created_at: String,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Given up after the last attempt.
    Failed,
}

fieldpay_protocol::text_names!(DeliveryStatus {
    Pending => "pending",
    Delivered => "delivered",
    Failed => "failed",
});

#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub id: String,
    pub merchant_id: MerchantId,
    pub event_type: String,
    pub payload: String,
    pub url: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: String,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookAttempt {
    Delivered {
        status: u16,
    },
    Failed {
        status: Option<u16>,
        error: String,
        /// None: give up.
        retry_at: Option<DateTime<Utc>>,
    },
}

pub trait OutboxStore {
    /// Queues a text about a charge (e.g. the bill again, at the rep's request).
    fn enqueue_sms(
        &self,
        merchant_id: &MerchantId,
        charge_id: Option<&ChargeId>,
        sms: &NewSms,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Texts waiting to be sent, oldest first (whether or not a sender holds them).
    fn pending_sms(&self, limit: u32) -> StoreResult<Vec<SmsRecord>>;
    /// Takes up to `limit` pending texts, oldest first, that no sender holds (or whose
    /// holder's claim ran out: it crashed), and holds them until `claim_until`: another
    /// instance's sender does not take them meanwhile. [`OutboxStore::mark_sms_batch`] ends
    /// the claim.
    fn claim_sms(
        &self,
        limit: u32,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Vec<SmsRecord>>;
    /// Marks many texts (id, sent) in one transaction; returns the charges of the sent bills
    /// as they stand after it (a bill sent moves its charge from requested to sms_sent).
    fn mark_sms_batch(
        &self,
        marks: &[(i64, bool)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ChargeRecord>>;
    /// The texts sent to a phone (national digits), newest first.
    fn sms_for_phone(&self, phone: &str, limit: u32) -> StoreResult<Vec<SmsRecord>>;

    /// Takes up to `limit` due deliveries, oldest first and at most one per merchant, of
    /// merchants with no delivery held by any instance (nor in `busy`), and holds them until
    /// `claim_until`: a merchant's deliveries are attempted one at a time across instances,
    /// and a crashed instance's claim runs out. [`OutboxStore::record_webhook_attempt`] ends
    /// the claim.
    fn claim_webhooks(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        busy: &[MerchantId],
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Vec<WebhookRecord>>;
    fn record_webhook_attempt(
        &self,
        id: &str,
        attempt: &WebhookAttempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The merchant's deliveries, newest first.
    fn webhooks(&self, merchant_id: &MerchantId, limit: u32) -> StoreResult<Vec<WebhookRecord>>;
}
