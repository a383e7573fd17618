//! Charges (ARS 결제 요청) with their virtual-number binding, status events and payment;
//! cards registered for auto-pay; the sessions of payment calls.

use chrono::{DateTime, Utc};
use fieldpay_protocol::charge::{Charge, ChargeList, ChargeOrigin, ChargeStatus};
use fieldpay_protocol::{AccountId, ApiKeyId, ChargeId, MerchantId, RepId, Secret};

use super::{Compose, StoreResult};
use crate::domain::ChargeRequest;

/// A charge with the server-side facts the API does not show.
#[derive(Debug, Clone)]
pub struct ChargeRecord {
    pub charge: Charge,
    pub merchant_id: MerchantId,
    /// National digits.
    pub virtual_number: String,
    /// National digits.
    pub payer_phone: String,
    /// The (virtual number, payer phone) binding is live: a call can find this charge.
    pub bound: bool,
    /// An approval request is in flight.
    pub approving: bool,
    pub receipt_token: Option<String>,
    pub acquirer_code: Option<String>,
}

impl ChargeRecord {
    pub fn id(&self) -> ChargeId {
        ChargeId::new(self.charge.id.clone())
    }
}

#[derive(Debug, Clone)]
pub struct NewCharge {
    pub id: ChargeId,
    pub merchant_id: MerchantId,
    pub rep_id: Option<RepId>,
    pub api_key_id: Option<ApiKeyId>,
    pub origin: ChargeOrigin,
    pub request: ChargeRequest,
    pub expires_at: DateTime<Utc>,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request body, to tell a true retry from a reused key.
    pub request_hash: Option<String>,
}

/// The approved payment as the connector reported it (no card data).
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub connector: String,
    pub approval_number: String,
    pub issuer_code: String,
    pub issuer_name: String,
    pub acquirer_code: String,
    pub masked_card: String,
    pub installment_months: u8,
    pub amount: i64,
    pub approved_at: DateTime<Utc>,
    pub receipt_token: String,
}

#[derive(Debug, Clone, Default)]
pub struct ChargeFilter {
    pub status: Option<ChargeStatus>,
    pub account_id: Option<AccountId>,
    pub rep_id: Option<RepId>,
    /// National digits.
    pub payer_phone: Option<String>,
    /// Stored time form (UTC, RFC 3339, `Z`), inclusive.
    pub created_from: Option<String>,
    /// Stored time form, exclusive.
    pub created_to: Option<String>,
    /// Paging: charges created before this one.
    pub after: Option<ChargeId>,
    pub limit: u32,
}

/// How many declined cards a charge, and a caller, may try: past them the charge is declined
/// for good, or the caller's approvals are refused for the hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalLimits {
    /// Declined approvals per charge (the merchant's setting).
    pub declines_per_charge: u32,
    /// Declined approvals per payer phone across charges in the last hour (the server's).
    pub declines_per_caller_per_hour: u32,
}

/// The decline reason of a charge that used up its approval attempts.
pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";

/// A card registered for auto-pay: the network's token, never card data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredCard {
    /// National digits.
    pub payer_phone: String,
    pub token: Secret,
    pub issuer_code: String,
    pub issuer_name: String,
    pub last4: String,
    pub masked_card: String,
}

/// A payment call as stored after each turn: the IVR checkpoint and a trace of steps with
/// times, never a keyed value.
#[derive(Debug, Clone)]
pub struct CallSessionRecord {
    pub call_id: String,
    pub adapter: String,
    pub merchant_id: Option<MerchantId>,
    pub charge_id: Option<ChargeId>,
    pub dialled: String,
    pub caller: Option<String>,
    pub checkpoint: String,
    pub trace: String,
    pub outcome: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
}

pub trait ChargeStore {
    /// Group commit: creates each charge in order, all in one transaction, each with a virtual
    /// number bound to (number, payer phone), its first event and its effects. Each charge is
    /// all or nothing on its own (a refused one leaves no trace and gets its error in its
    /// place); the outer error means nothing was written. `Ok((charge, false))` is an
    /// idempotent retry answered with the first charge.
    fn create_charges(
        &self,
        batch: &[NewCharge],
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<Vec<StoreResult<(ChargeRecord, bool)>>>;
    fn charge(
        &self,
        merchant_id: &MerchantId,
        charge_id: &ChargeId,
    ) -> StoreResult<Option<ChargeRecord>>;
    /// A charge of any merchant (calls and workers, which start from a charge id).
    fn charge_any(&self, charge_id: &ChargeId) -> StoreResult<Option<ChargeRecord>>;
    fn list_charges(
        &self,
        merchant_id: &MerchantId,
        filter: &ChargeFilter,
    ) -> StoreResult<ChargeList>;
    /// The pending charge bound to (virtual number, caller), if any.
    fn charge_by_binding(
        &self,
        number: &str,
        caller: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ChargeRecord>>;
    /// Records a status step of a pending charge (call_connected, verified, ...).
    fn record_status(
        &self,
        charge_id: &ChargeId,
        status: ChargeStatus,
        detail: Option<&str>,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord>;
    fn cancel_charge(
        &self,
        merchant_id: &MerchantId,
        charge_id: &ChargeId,
        reason: Option<&str>,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord>;
    /// Marks an approval in flight (card_entered). Refused when paid, no longer pending, or
    /// another approval is in flight (one charge is approved at most once), and with
    /// `rate_limited` when the payer phone used its declines for the hour.
    fn begin_approval(
        &self,
        charge_id: &ChargeId,
        limits: &ApprovalLimits,
        now: DateTime<Utc>,
    ) -> StoreResult<ChargeRecord>;
    fn record_approval(
        &self,
        charge_id: &ChargeId,
        payment: &NewPayment,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord>;
    /// Ends an approval in flight without payment (declined, or failed with nothing charged).
    /// The decline that uses up the charge's attempts declines it for good: unbound, with
    /// [`TOO_MANY_ATTEMPTS`] as its reason.
    fn end_approval(
        &self,
        charge_id: &ChargeId,
        declined: Option<&str>,
        limits: &ApprovalLimits,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord>;
    /// Charges with an approval in flight since before `before` (all of them when None: at
    /// start, every one was interrupted by the stop).
    fn approvals_in_flight(&self, before: Option<DateTime<Utc>>) -> StoreResult<Vec<ChargeRecord>>;
    /// Checks a charge can be refunded (approved, or refunded already: then nothing to do).
    fn begin_refund(
        &self,
        merchant_id: &MerchantId,
        charge_id: &ChargeId,
    ) -> StoreResult<ChargeRecord>;
    fn record_refund(
        &self,
        charge_id: &ChargeId,
        reason: Option<&str>,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord>;
    /// Expires every pending charge past its deadline; returns them.
    fn expire_due(
        &self,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<Vec<ChargeRecord>>;
    /// The paid charge of a receipt link.
    fn receipt(&self, token: &str) -> StoreResult<Option<ChargeRecord>>;

    fn save_registered_card(
        &self,
        merchant_id: &MerchantId,
        card: &RegisteredCard,
    ) -> StoreResult<()>;
    fn registered_card(
        &self,
        merchant_id: &MerchantId,
        payer_phone: &str,
    ) -> StoreResult<Option<RegisteredCard>>;

    /// Inserts or updates a call session (by call id).
    fn save_call(&self, call: &CallSessionRecord, now: DateTime<Utc>) -> StoreResult<()>;
    fn call(&self, call_id: &str) -> StoreResult<Option<CallSessionRecord>>;
}
