//! The outboxes: texts to send and webhooks to deliver, written in the same transaction as
//! the change that causes them, sent by workers after commit and retried until done.

use chrono::{DateTime, Utc};
use fieldpay_protocol::sms::{SmsKind, SmsStatus};
use fieldpay_protocol::{ChargeId, MerchantId};

use super::{ChargeRecord, StatusChange, StoreResult};

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
    /// Attempts made so far (sent or failed).
    pub attempts: u32,
    /// The provider's reason of the last failed attempt.
    pub last_error: Option<String>,
}

/// How one attempt to send a text ended (see [`OutboxStore::mark_sms_batch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsAttempt {
    /// The provider took the text.
    Sent {
        /// The sender's name (`solapi`, `nhn`, `twilio`, `sandbox`).
        provider: String,
        /// The provider's id of the message, when it gives one.
        provider_id: Option<String>,
    },
    /// Not sent. `reason` is the provider's reason (no secret, no card data).
    Failed {
        reason: String,
        /// When to try again; None: give up (the text is marked failed and, when it is about
        /// a charge, the charge gets a `text_failed` event with the reason; its status stays).
        retry_at: Option<DateTime<Utc>>,
    },
}

/// The `detail` of the `text_failed` charge event of a text of `kind` given up for `reason`.
pub fn text_failed_detail(kind: SmsKind, reason: &str) -> String {
    let what = match kind {
        SmsKind::Bill => "결제 요청 문자",
        SmsKind::Slip => "매출전표 문자",
        SmsKind::Notice => "안내 문자",
        SmsKind::Receipt => "수금 영수증 문자",
        SmsKind::Share => "공유 문자",
    };
    // Bounded: a provider's reason is short, but it is theirs.
    let reason: String = reason.chars().take(300).collect();
    format!("{what}: {reason}")
}

pub use fieldpay_protocol::manager::DeliveryStatus;

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

/// A delivery as the merchant sees it (no payload).
impl From<WebhookRecord> for fieldpay_protocol::manager::WebhookDelivery {
    fn from(w: WebhookRecord) -> Self {
        fieldpay_protocol::manager::WebhookDelivery {
            id: w.id,
            event_type: w.event_type,
            url: w.url,
            status: w.status,
            attempts: w.attempts,
            next_attempt_at: w.next_attempt_at,
            last_status: w.last_status,
            last_error: w.last_error,
            created_at: w.created_at,
        }
    }
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
    /// Takes up to `limit` pending texts, oldest first, that are due (a text that failed is
    /// not due before its `retry_at`) and that no sender holds (or whose holder's claim ran
    /// out: it crashed), and holds them until `claim_until`: another instance's sender does
    /// not take them meanwhile. [`OutboxStore::mark_sms_batch`] ends the claim.
    fn claim_sms(
        &self,
        limit: u32,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Vec<SmsRecord>>;
    /// Records many attempts (text id, how it ended) in one transaction, counting each:
    /// a sent text leaves the outbox, a failed one waits until its `retry_at` or, given up,
    /// is marked failed. Returns what changed for the live listeners: the charges a sent bill
    /// moved from requested to sms_sent (a bill sent again for a charge past requested
    /// changes nothing) and those of the texts given up (a `text_failed` event, status
    /// unchanged). `on_given_up` builds what a text given up causes (the merchant's webhook),
    /// from its charge as it stands after the event, written in the same transaction.
    fn mark_sms_batch(
        &self,
        marks: &[(i64, SmsAttempt)],
        now: DateTime<Utc>,
        on_given_up: Compose<'_>,
    ) -> StoreResult<Vec<StatusChange>>;
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
