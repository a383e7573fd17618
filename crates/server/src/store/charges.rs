//! Charges (ARS 결제 요청) with their virtual-number binding, status events and payment;
//! cards registered for auto-pay; the sessions of payment calls.

use chrono::{DateTime, Utc};
use fieldpay_protocol::charge::{
    Charge, ChargeEvent, ChargeEventKind, ChargeKind, ChargeList, ChargeOrigin, ChargeStatus,
    ChargeStatusChanged, Orderer, PaymentInfo, RefundInfo,
};
use fieldpay_protocol::records::LedgerKind;
use fieldpay_protocol::{AccountId, ApiKeyId, ChargeId, ErrorCode, MerchantId, RepId, Secret};

use super::{Compose, NewLedger, StoreError, StoreResult};
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

    /// The charge's current status as live listeners are told it.
    pub fn status_change(&self) -> StatusChange {
        let c = &self.charge;
        StatusChange {
            merchant_id: self.merchant_id.clone(),
            event: ChargeStatusChanged {
                charge_id: c.id.clone(),
                status: c.status,
                at: c.events.last().map(|e| e.at.clone()).unwrap_or_default(),
                account_id: c.account_id.clone(),
                rep_id: c.rep_id.clone(),
                amount: c.amount,
            },
        }
    }
}

/// A charge status change as published to live listeners (server-sent events), with its
/// merchant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusChange {
    pub merchant_id: MerchantId,
    pub event: ChargeStatusChanged,
}

impl StatusChange {
    /// A charge moved to sms_sent at `at` (its bill was sent), from what the move wrote and
    /// returned, without reading the charge back.
    pub(crate) fn bill_sent(
        merchant_id: &str,
        charge_id: &str,
        at: &str,
        account_id: Option<String>,
        rep_id: Option<String>,
        amount: i64,
    ) -> Self {
        StatusChange {
            merchant_id: merchant_id.into(),
            event: ChargeStatusChanged {
                charge_id: charge_id.to_string(),
                status: ChargeStatus::SmsSent,
                at: at.to_string(),
                account_id,
                rep_id,
                amount,
            },
        }
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
    /// The payment link this charge pays: claimed in the charge's transaction (a live charge
    /// of the link is answered instead of a new one; a paid, canceled or expired link is
    /// refused) and the charge made its current one.
    pub link: Option<super::LinkUse>,
}

impl NewCharge {
    /// The record of this charge as its creating transaction wrote it (status `requested`,
    /// bound to `number`, one event at `now`, the store's text of the creation time): what
    /// reading the row back would give, built without the three reads (they were 3.6 % of the
    /// server's samples at 4,000 charges/s; BENCHMARKS.md, round two, part 5).
    pub(crate) fn created_record(&self, number: String, now: &str) -> StoreResult<ChargeRecord> {
        let req = &self.request;
        let (orderer_name, orderer_phone) = match &req.orderer {
            Some((name, phone)) => (Some(name.clone()), Some(phone.digits().to_string())),
            None => (None, None),
        };
        let row = ChargeColumns {
            id: self.id.as_str().to_string(),
            merchant_id: self.merchant_id.as_str().to_string(),
            rep_id: self.rep_id.as_ref().map(|r| r.as_str().to_string()),
            origin: self.origin.as_str().to_string(),
            kind: req.kind.as_str().to_string(),
            status: ChargeStatus::Requested.as_str().to_string(),
            amount: req.amount.get(),
            goods_name: req.goods_name.clone(),
            payer_phone: req.payer_phone.digits().to_string(),
            payer_name: req.payer_name.clone(),
            orderer_name,
            orderer_phone,
            order_ref: req.order_ref.clone(),
            account_id: req.account_id.clone(),
            installments: req.installments,
            virtual_number: number,
            bound: true,
            created_at: now.to_string(),
            expires_at: crate::clock::ts(self.expires_at),
            decline_reason: None,
            receipt_token: None,
            approving: false,
        };
        let created = ChargeEvent {
            status: ChargeStatus::Requested,
            at: now.to_string(),
            detail: None,
            kind: ChargeEventKind::Status,
        };
        row.into_record(vec![created], None)
    }
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
    /// Paid with a card of this card company (issuer code).
    pub issuer_code: Option<String>,
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
/// An approval request in flight: the charge, the instance that made it (None for one
/// begun before owners were recorded) and since when (the charge's last change).
#[derive(Debug, Clone)]
pub struct InFlightApproval {
    pub record: ChargeRecord,
    pub owner: Option<String>,
    pub since: String,
}

/// When the approval in flight of `rec` began: its last transition (card_entered).
pub(crate) fn approving_since(rec: &ChargeRecord) -> String {
    rec.charge
        .events
        .iter()
        .rfind(|e| e.is_transition())
        .map(|e| e.at.clone())
        .unwrap_or_default()
}

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
    /// The instance holding the call in memory (its `instance_id`); None for calls saved
    /// before instances were recorded.
    pub owner: Option<String>,
    /// Where other instances reach the owner (its `internal_url`), to forward the call's
    /// requests to it.
    pub owner_url: Option<String>,
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
    /// Marks an approval in flight (card_entered), made by instance `owner`. Refused when
    /// paid, no longer pending, or another approval is in flight (one charge is approved at
    /// most once), and with `rate_limited` when the payer phone used its declines for the hour.
    fn begin_approval(
        &self,
        charge_id: &ChargeId,
        limits: &ApprovalLimits,
        owner: &str,
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
    /// Every approval in flight, oldest first.
    fn approvals_in_flight(&self) -> StoreResult<Vec<InFlightApproval>>;
    /// Claims a refund of `amount` KRW (None: all that remains) of an approved charge, before
    /// the card network is asked: a pending refund with its number n, so that two refunds
    /// racing never refund more than was approved. While a refund is pending (in progress, or
    /// interrupted by a crash) a request for the same amount is its retry and gets the same n
    /// (the connector's idempotency key `{attempt key}-r{n}` keeps the network from refunding
    /// twice); another amount is refused. A whole refund of a charge refunded in full already
    /// claims nothing (`refund: None`). See [`decide_refund`] for the refusals.
    fn begin_refund(
        &self,
        merchant_id: &MerchantId,
        charge_id: &ChargeId,
        amount: Option<i64>,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<RefundClaim>;
    /// Completes pending refund `n` (the network refunded it): the refund counts in the
    /// payment's refunded total, the ledger gets its Refund entry, settlement its amount; the
    /// charge becomes `refunded` when nothing remains. Once only: a completed refund is answered
    /// again unchanged. `compose` gives the refund's texts and webhooks.
    fn record_refund(
        &self,
        charge_id: &ChargeId,
        n: u32,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord>;
    /// Gives up pending refund `n` (the network refunded nothing): its number stays used, the
    /// charge may be refunded again.
    fn fail_refund(&self, charge_id: &ChargeId, n: u32, now: DateTime<Utc>) -> StoreResult<()>;
    /// Refunds claimed before `before` and neither done nor given up (the network timed out,
    /// or the server stopped between the claim and the answer), oldest first, at most
    /// `limit`: the worker asks for each again with its own idempotency key.
    fn pending_refunds(&self, before: DateTime<Utc>, limit: u32)
        -> StoreResult<Vec<PendingRefund>>;
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

// ---------------------------------------------------------------- shared by both stores
//
// The rules of the charge aggregate that involve no SQL: how a stored row reads as a charge,
// which transitions a charge allows, what a decline does. Each store reads and writes its
// own tables and calls these, so both answer alike.

/// A national-digits phone as the API shows it (digits kept when they do not parse).
fn display_phone(digits: &str) -> String {
    fieldpay_protocol::phone::Phone::parse(digits)
        .map(|p| p.display())
        .unwrap_or_else(|_| digits.to_string())
}

/// The columns of a `charges` row, as read by a store.
#[derive(Debug, Clone)]
pub(crate) struct ChargeColumns {
    pub id: String,
    pub merchant_id: String,
    pub rep_id: Option<String>,
    pub origin: String,
    pub kind: String,
    pub status: String,
    pub amount: i64,
    pub goods_name: String,
    pub payer_phone: String,
    pub payer_name: Option<String>,
    pub orderer_name: Option<String>,
    pub orderer_phone: Option<String>,
    pub order_ref: Option<String>,
    pub account_id: Option<String>,
    pub installments: bool,
    pub virtual_number: String,
    pub bound: bool,
    pub created_at: String,
    pub expires_at: String,
    pub decline_reason: Option<String>,
    pub receipt_token: Option<String>,
    pub approving: bool,
}

/// A `charge_events` row (status, at, detail, kind) as a charge event.
pub(crate) fn charge_event(
    status: &str,
    at: String,
    detail: Option<String>,
    kind: &str,
) -> StoreResult<ChargeEvent> {
    Ok(ChargeEvent {
        status: ChargeStatus::parse(status).ok_or_else(|| StoreError::corrupt("event status"))?,
        at,
        detail,
        kind: ChargeEventKind::parse(kind).ok_or_else(|| StoreError::corrupt("event kind"))?,
    })
}

impl ChargeColumns {
    /// The charge record of this row with its events (oldest first) and its payment (with the
    /// acquirer code), if any.
    pub(crate) fn into_record(
        self,
        events: Vec<ChargeEvent>,
        payment: Option<(PaymentInfo, String)>,
    ) -> StoreResult<ChargeRecord> {
        let corrupt = StoreError::corrupt;
        let row = self;
        let (payment, acquirer_code) = match payment {
            Some((p, a)) => (Some(p), Some(a)),
            None => (None, None),
        };
        let orderer = match (row.orderer_name, row.orderer_phone) {
            (Some(name), Some(phone)) => Some(Orderer {
                name,
                phone: display_phone(&phone),
            }),
            _ => None,
        };
        let third_party = orderer
            .as_ref()
            .is_some_and(|o| o.phone != display_phone(&row.payer_phone));
        let charge = Charge {
            id: row.id,
            status: ChargeStatus::parse(&row.status).ok_or_else(|| corrupt("charge status"))?,
            kind: ChargeKind::parse(&row.kind).ok_or_else(|| corrupt("charge kind"))?,
            origin: ChargeOrigin::parse(&row.origin).ok_or_else(|| corrupt("charge origin"))?,
            amount: row.amount,
            goods_name: row.goods_name,
            payer_phone: display_phone(&row.payer_phone),
            payer_name: row.payer_name,
            orderer,
            third_party,
            order_ref: row.order_ref,
            account_id: row.account_id,
            rep_id: row.rep_id,
            installments: row.installments,
            virtual_number: row.bound.then(|| display_phone(&row.virtual_number)),
            created_at: row.created_at,
            expires_at: row.expires_at,
            events,
            payment,
            decline_reason: row.decline_reason,
        };
        Ok(ChargeRecord {
            charge,
            merchant_id: MerchantId::new(row.merchant_id),
            virtual_number: row.virtual_number,
            payer_phone: row.payer_phone,
            bound: row.bound,
            approving: row.approving,
            receipt_token: row.receipt_token,
            acquirer_code,
        })
    }
}

/// The caller id an Idempotency-Key belongs to (an API key's or a rep's), as the unique index
/// on charges says (`COALESCE(api_key_id, rep_id, '')`).
pub(crate) fn idempotency_caller(new: &NewCharge) -> &str {
    new.api_key_id
        .as_ref()
        .map(ApiKeyId::as_str)
        .or(new.rep_id.as_ref().map(RepId::as_str))
        .unwrap_or("")
}

/// Refusal of a reused Idempotency-Key with another request (`None`: a true retry).
pub(crate) fn check_idempotent_retry(
    new: &NewCharge,
    stored_hash: Option<&str>,
) -> StoreResult<()> {
    if stored_hash != new.request_hash.as_deref() {
        return Err(StoreError::rejected(
            ErrorCode::IdempotencyConflict,
            "this Idempotency-Key was used with a different request",
        ));
    }
    Ok(())
}

/// What a stored charge id means for a new charge with that id: `Ok(true)` the same
/// merchant's charge (answer it again), `Ok(false)` no charge has it.
pub(crate) fn check_charge_id_owner(new: &NewCharge, owner: Option<&str>) -> StoreResult<bool> {
    match owner {
        Some(m) if new.merchant_id == m => Ok(true),
        Some(_) => Err(StoreError::rejected(
            ErrorCode::InvalidField,
            "charge id is already taken",
        )),
        None => Ok(false),
    }
}

/// The account a new charge names: `closed` is None when the merchant has no such account.
pub(crate) fn check_charge_account(closed: Option<bool>) -> StoreResult<()> {
    match closed {
        None => Err(StoreError::rejected(
            ErrorCode::NotFound,
            "account_id: account not found",
        )),
        Some(true) => Err(StoreError::rejected(
            ErrorCode::AccountClosed,
            "account is closed",
        )),
        Some(false) => Ok(()),
    }
}

/// The merchant of a new charge, by its stored status (None: no such merchant). Checked in
/// the charge's own transaction: the service checks a cached merchant first, but a suspension
/// made elsewhere (another instance, the admin command) may not be in that cache yet, and a
/// charge created then would escape the suspension's sweep of pending charges.
pub(crate) fn check_merchant_active(status: Option<&str>) -> StoreResult<()> {
    match status {
        Some("active") => Ok(()),
        Some(_) => Err(StoreError::rejected(
            ErrorCode::MerchantSuspended,
            "이용이 정지된 가맹점입니다 (this merchant is suspended: no new charges)",
        )),
        None => Err(StoreError::rejected(
            ErrorCode::NotFound,
            "merchant not found",
        )),
    }
}

/// The refusal when no virtual number is free for the payer phone.
pub(crate) fn number_pool_exhausted() -> StoreError {
    StoreError::rejected(
        ErrorCode::NumberPoolExhausted,
        "every virtual number is already in use for this payer phone; wait for a pending charge to end",
    )
}

/// The refusal of a charge id no charge has.
pub(crate) fn charge_not_found() -> StoreError {
    StoreError::rejected(ErrorCode::NotFound, "charge not found")
}

/// A status step (call_connected, verified, ...) needs a pending, bound charge.
pub(crate) fn check_status_step(rec: &ChargeRecord) -> StoreResult<()> {
    if !rec.bound || !rec.charge.status.is_pending() {
        return Err(StoreError::rejected(
            ErrorCode::InvalidState,
            format!("charge is {}", rec.charge.status),
        ));
    }
    Ok(())
}

/// Whether a charge may be canceled: `Ok(true)` it is canceled already (nothing to do).
pub(crate) fn check_cancel(rec: &ChargeRecord) -> StoreResult<bool> {
    if rec.charge.status == ChargeStatus::Canceled {
        return Ok(true);
    }
    if !rec.bound || !rec.charge.status.is_pending() {
        return Err(StoreError::rejected(
            ErrorCode::InvalidState,
            format!(
                "a {} charge cannot be canceled; refund an approved one",
                rec.charge.status
            ),
        ));
    }
    if rec.approving {
        return Err(StoreError::rejected(
            ErrorCode::InvalidState,
            "the payer is paying right now; try again in a minute",
        ));
    }
    Ok(false)
}

/// The window of a caller's recent declines at `now` (stored times): declines after
/// `hour_ago`, of charges created after `recent` (a charge lives a day at most, so its
/// declines of the last hour belong to charges created in the last two days).
pub(crate) struct DeclineWindow {
    pub recent: String,
    pub hour_ago: String,
}

impl DeclineWindow {
    pub(crate) fn at(now: DateTime<Utc>) -> DeclineWindow {
        DeclineWindow {
            recent: crate::clock::ts(now - chrono::Duration::days(2)),
            hour_ago: crate::clock::ts(now - chrono::Duration::hours(1)),
        }
    }
}

/// Whether an approval may start, given the payer phone's declines in the last hour.
pub(crate) fn check_begin_approval(
    rec: &ChargeRecord,
    caller_declines: i64,
    limits: &ApprovalLimits,
) -> StoreResult<()> {
    if caller_declines >= i64::from(limits.declines_per_caller_per_hour) {
        return Err(StoreError::rejected(
            ErrorCode::RateLimited,
            "too many declined cards from this phone in the last hour",
        ));
    }
    if rec.charge.status == ChargeStatus::Approved || rec.charge.payment.is_some() {
        return Err(StoreError::rejected(
            ErrorCode::InvalidState,
            "charge is already paid",
        ));
    }
    if !rec.bound || !rec.charge.status.is_pending() {
        return Err(StoreError::rejected(
            ErrorCode::InvalidState,
            format!("charge is {}", rec.charge.status),
        ));
    }
    if rec.approving {
        return Err(StoreError::rejected(
            ErrorCode::InvalidState,
            "another approval of this charge is in progress",
        ));
    }
    Ok(())
}

/// What a declined approval does to its charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decline {
    /// The stored decline reason.
    pub reason: String,
    /// The event's detail.
    pub detail: String,
    /// The charge used up its attempts: declined for good (unbound).
    pub spent: bool,
}

/// The `declines`-th declined approval of a charge, for `reason`.
pub(crate) fn decline(declines: u32, reason: &str, limits: &ApprovalLimits) -> Decline {
    // The last allowed attempt was declined: declined for good.
    let spent = declines >= limits.declines_per_charge;
    match spent {
        true => Decline {
            reason: TOO_MANY_ATTEMPTS.to_string(),
            detail: format!("{TOO_MANY_ATTEMPTS} ({declines}; last: {reason})"),
            spent,
        },
        false => Decline {
            reason: reason.to_string(),
            detail: reason.to_string(),
            spent,
        },
    }
}

/// A refund claimed by [`ChargeStore::begin_refund`].
#[derive(Debug, Clone)]
pub struct RefundClaim {
    pub record: ChargeRecord,
    /// None: nothing to do (a whole refund of a charge refunded in full already).
    pub refund: Option<ClaimedRefund>,
}

/// A refund claimed and not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRefund {
    pub merchant_id: MerchantId,
    pub charge_id: ChargeId,
    pub n: u32,
    /// KRW.
    pub amount: i64,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedRefund {
    /// 1 for the payment's first refund, 2 for the next, ...
    pub n: u32,
    /// KRW.
    pub amount: i64,
    /// Whether it completes the refund of the payment.
    pub whole_rest: bool,
    /// The claim was pending already (a retry after a failure or a crash).
    pub retry: bool,
}

/// What a refund request does, given the charge (with its completed refunds) and the pending
/// refund (n, amount), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefundDecision {
    /// Refunded in full already and no amount asked: nothing to do.
    Nothing,
    /// The pending refund n again (a retry).
    Retry { n: u32, amount: i64 },
    /// A new refund of this amount.
    New { amount: i64 },
}

/// Decides a refund request (see [`ChargeStore::begin_refund`]): only an approved charge (or a
/// refunded one: nothing to do); the amount more than 0 (`invalid_amount`) and at most what
/// remains (`refund_exceeds_remaining`); one pending refund at a time (`invalid_state` for
/// another amount while one is pending).
pub(crate) fn decide_refund(
    rec: &ChargeRecord,
    pending: Option<(u32, i64)>,
    amount: Option<i64>,
) -> StoreResult<RefundDecision> {
    match rec.charge.status {
        ChargeStatus::Approved | ChargeStatus::Refunded => {}
        s => {
            return Err(StoreError::rejected(
                ErrorCode::InvalidState,
                format!("only an approved charge can be refunded; this one is {s}"),
            ))
        }
    }
    let payment = refunded_payment(rec)?;
    if let Some(a) = amount {
        if a <= 0 {
            return Err(StoreError::rejected(
                ErrorCode::InvalidAmount,
                "amount: a refund is more than 0 KRW",
            ));
        }
    }
    let remaining = payment.refundable();
    if remaining == 0 && pending.is_none() {
        return match amount {
            None => Ok(RefundDecision::Nothing),
            Some(a) => Err(StoreError::rejected(
                ErrorCode::RefundExceedsRemaining,
                format!(
                    "nothing remains to refund: the payment of {} KRW is refunded in full (asked {a} KRW)",
                    payment.amount
                ),
            )),
        };
    }
    let want = amount.unwrap_or(remaining);
    if let Some((n, pending_amount)) = pending {
        if pending_amount == want {
            return Ok(RefundDecision::Retry {
                n,
                amount: pending_amount,
            });
        }
        return Err(StoreError::rejected(
            ErrorCode::InvalidState,
            format!(
                "refund {n} of this charge ({pending_amount} KRW) is in progress or was interrupted; \
                 ask for the same amount again to finish it before another refund"
            ),
        ));
    }
    if want > remaining {
        return Err(StoreError::rejected(
            ErrorCode::RefundExceedsRemaining,
            format!(
                "amount: {want} KRW is more than the {remaining} KRW that remains to refund of this payment \
                 ({} KRW approved, {} KRW refunded)",
                payment.amount, payment.refunded_amount
            ),
        ));
    }
    Ok(RefundDecision::New { amount: want })
}

/// The claim a decision makes, `n` being the number of a new refund.
pub(crate) fn refund_claim(
    record: ChargeRecord,
    decision: &RefundDecision,
    next_n: u32,
) -> RefundClaim {
    let remaining = record
        .charge
        .payment
        .as_ref()
        .map_or(0, PaymentInfo::refundable);
    let refund = match *decision {
        RefundDecision::Nothing => None,
        RefundDecision::Retry { n, amount } => Some(ClaimedRefund {
            n,
            amount,
            whole_rest: amount >= remaining,
            retry: true,
        }),
        RefundDecision::New { amount } => Some(ClaimedRefund {
            n: next_n,
            amount,
            whole_rest: amount >= remaining,
            retry: false,
        }),
    };
    RefundClaim { record, refund }
}

/// The state of a stored refund.
pub(crate) const REFUND_PENDING: &str = "pending";
pub(crate) const REFUND_DONE: &str = "done";
pub(crate) const REFUND_FAILED: &str = "failed";

/// The refusal to complete refund `n` that was given up, or that does not exist.
pub(crate) fn check_refund_completable(n: u32, state: Option<&str>) -> StoreResult<bool> {
    match state {
        Some(REFUND_PENDING) => Ok(true),
        Some(REFUND_DONE) => Ok(false),
        Some(_) => Err(StoreError::rejected(
            ErrorCode::InvalidState,
            format!("refund {n} of this charge was given up"),
        )),
        None => Err(StoreError::rejected(
            ErrorCode::NotFound,
            format!("refund {n} of this charge does not exist"),
        )),
    }
}

/// The payment a refund undoes.
pub(crate) fn refunded_payment(rec: &ChargeRecord) -> StoreResult<&PaymentInfo> {
    rec.charge
        .payment
        .as_ref()
        .ok_or_else(|| StoreError::rejected(ErrorCode::InvalidState, "charge has no payment"))
}

/// The ledger reference of refund `n` of a charge: the charge id for the first (as a whole
/// refund always was), `{charge id}-r{n}` for the n-th, so each refund is its own once-only
/// entry (the ledger allows one entry per (kind, ref_id)).
pub fn refund_ref(charge_id: &str, n: u32) -> String {
    match n {
        0 | 1 => charge_id.to_string(),
        n => format!("{charge_id}-r{n}"),
    }
}

/// The receivables entry of refund `n` (`amount` KRW) of a charge's payment, when the charge
/// names a client account.
pub(crate) fn refund_ledger_entry(
    rec: &ChargeRecord,
    n: u32,
    amount: i64,
    at: DateTime<Utc>,
) -> Option<NewLedger> {
    let p = rec.charge.payment.as_ref()?;
    let mut e = charge_ledger_entry(rec, LedgerKind::Refund, &p.approval_number, amount, at)?;
    e.ref_id = Some(refund_ref(&rec.charge.id, n));
    if amount < p.amount {
        e.memo = format!("ARS 카드 결제 부분 취소 {} ({n})", p.approval_number);
    }
    Some(e)
}

/// Fills a payment's refunds (completed ones, oldest first) and its refunded total.
pub(crate) fn with_refunds(p: &mut PaymentInfo, refunds: Vec<RefundInfo>) {
    p.refunded_amount = refunds.iter().map(|r| r.amount).sum();
    p.refunds = refunds;
}

/// The receivables entry of a charge's payment or refund, when the charge names a client
/// account (the store books it if the merchant has that account).
pub(crate) fn charge_ledger_entry(
    rec: &ChargeRecord,
    kind: LedgerKind,
    approval_number: &str,
    amount: i64,
    at: DateTime<Utc>,
) -> Option<NewLedger> {
    use LedgerKind;
    let acc = rec.charge.account_id.as_ref()?;
    let memo = match kind {
        LedgerKind::Refund => format!("ARS 카드 결제 취소 {approval_number}"),
        _ => format!("ARS 카드 결제 승인 {approval_number}"),
    };
    Some(NewLedger {
        account_id: AccountId::new(acc.clone()),
        kind,
        amount,
        ref_id: Some(rec.charge.id.clone()),
        memo,
        at,
    })
}
