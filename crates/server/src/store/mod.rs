//! The storage boundary. The server talks to a [`Store`]; [`sqlite::SqliteStore`] fills it
//! (one file, WAL). Each method is one transaction: it either happens whole or not at all.
//! A PostgreSQL implementation fills the same trait for multi-instance deployments.
//!
//! Methods are blocking; async callers run them on the blocking pool (see `AppState::db`).

pub mod sqlite;

use chrono::{DateTime, Utc};
use fieldpay_protocol::charge::{Charge, ChargeList, ChargeOrigin, ChargeStatus, PaymentInfo};
use fieldpay_protocol::records::{Account, OrderLineInput, Product, SignatureEvidence};
use fieldpay_protocol::records::{LedgerKind, Order};
use fieldpay_protocol::settlement::SettlementReport;
use fieldpay_protocol::sync::{MutationOutcome, SyncPage};
use fieldpay_protocol::ErrorCode;

use crate::domain::{ChargeRequest, Merchant, MerchantSettings};
use crate::error::AppError;

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A domain rule refused the operation (nothing was written).
    #[error("{0}")]
    Rejected(AppError),
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn rejected(code: ErrorCode, msg: impl Into<String>) -> Self {
        StoreError::Rejected(AppError::new(code, msg))
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(a) => a,
            other => AppError::internal(other),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone)]
pub struct RepRecord {
    pub id: String,
    pub merchant_id: String,
    pub login: String,
    pub name: String,
    pub password_hash: String,
    pub active: bool,
}

/// A charge with the server-side facts the API does not show.
#[derive(Debug, Clone)]
pub struct ChargeRecord {
    pub charge: Charge,
    pub merchant_id: String,
    /// National digits.
    pub virtual_number: String,
    /// National digits.
    pub payer_phone: String,
    pub bound: bool,
    pub approving: bool,
    pub receipt_token: Option<String>,
    pub acquirer_code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewCharge {
    pub id: String,
    pub merchant_id: String,
    pub rep_id: Option<String>,
    pub api_key_id: Option<String>,
    pub origin: ChargeOrigin,
    pub request: ChargeRequest,
    pub expires_at: DateTime<Utc>,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request body, to tell a true retry from a reused key.
    pub request_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSms {
    /// National digits.
    pub to: String,
    pub kind: &'static str,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub id: String,
    pub event_type: String,
    pub payload: String,
    pub url: String,
}

/// Messages written in the same transaction as a state change (outbox): texts to send and
/// webhooks to deliver. Workers send them after commit and retry until done.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub sms: Vec<NewSms>,
    pub webhooks: Vec<NewWebhook>,
}

/// Builds the effects of a change from the charge as it stands after the change.
pub type Compose<'a> = &'a (dyn Fn(&ChargeRecord) -> Effects + Sync);

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
    pub account_id: Option<String>,
    pub rep_id: Option<String>,
    pub payer_phone: Option<String>,
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    pub after: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct SmsRecord {
    pub id: i64,
    pub merchant_id: String,
    pub to: String,
    pub kind: String,
    pub body: String,
    pub charge_id: Option<String>,
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct CallSessionRecord {
    pub call_id: String,
    pub adapter: String,
    pub merchant_id: Option<String>,
    pub charge_id: Option<String>,
    pub dialled: String,
    pub caller: Option<String>,
    pub checkpoint: String,
    pub trace: String,
    pub outcome: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub id: String,
    pub merchant_id: String,
    pub event_type: String,
    pub payload: String,
    pub url: String,
    pub status: String,
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

/// One receivables entry to append. `amount` is signed: positive raises what is owed.
#[derive(Debug, Clone)]
pub struct NewLedger {
    pub account_id: String,
    pub kind: LedgerKind,
    pub amount: i64,
    pub ref_id: Option<String>,
    pub memo: String,
    pub at: DateTime<Utc>,
}

/// A card registered for auto-pay (the network's token; no card data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredCard {
    pub payer_phone: String,
    pub token: String,
    pub issuer_code: String,
    pub issuer_name: String,
    pub last4: String,
    pub masked_card: String,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub code: String,
    pub name: String,
    pub owner_name: String,
    pub business_number: String,
    pub phone: String,
    pub address: String,
    pub credit_limit: i64,
    pub rep_login: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewProduct {
    pub code: String,
    pub name: String,
    pub unit_price: i64,
    pub unit: String,
}

/// An order's lines after pricing, for the credit check and the ledger.
#[derive(Debug, Clone)]
pub struct OrderDraft {
    pub order_id: String,
    pub account_id: String,
    pub lines: Vec<OrderLineInput>,
    pub memo: String,
}

pub trait Store: Send + Sync + 'static {
    // --- merchants, reps, credentials
    fn create_merchant(
        &self,
        code: &str,
        name: &str,
        settings: &MerchantSettings,
    ) -> StoreResult<Merchant>;
    fn update_merchant_settings(
        &self,
        merchant_id: &str,
        settings: &MerchantSettings,
    ) -> StoreResult<()>;
    fn merchant(&self, merchant_id: &str) -> StoreResult<Option<Merchant>>;
    /// [`Store::merchant`] from memory only, without blocking: `None` when not at hand.
    fn cached_merchant(&self, _merchant_id: &str) -> Option<Merchant> {
        None
    }
    fn merchant_by_code(&self, code: &str) -> StoreResult<Option<Merchant>>;
    /// The merchant that owns a virtual number (national digits).
    fn merchant_by_number(&self, number: &str) -> StoreResult<Option<Merchant>>;
    fn create_rep(
        &self,
        merchant_id: &str,
        login: &str,
        name: &str,
        password_hash: &str,
    ) -> StoreResult<String>;
    fn rep_by_login(&self, merchant_id: &str, login: &str) -> StoreResult<Option<RepRecord>>;
    fn rep(&self, rep_id: &str) -> StoreResult<Option<RepRecord>>;
    fn create_api_key(
        &self,
        merchant_id: &str,
        key_hash: &str,
        prefix: &str,
    ) -> StoreResult<String>;
    /// (key id, merchant id) of a live key.
    fn api_key(&self, key_hash: &str) -> StoreResult<Option<(String, String)>>;
    /// [`Store::api_key`] from memory only, without blocking: `None` when not at hand (then
    /// ask `api_key`). A revoked key is never answered.
    fn cached_api_key(&self, _key_hash: &str) -> Option<(String, String)> {
        None
    }
    /// Revokes a key of the merchant; from then on it is refused. Returns whether it was live.
    fn revoke_api_key(&self, merchant_id: &str, key_id: &str) -> StoreResult<bool>;
    fn insert_token(
        &self,
        token_hash: &str,
        kind: &str,
        rep: &RepRecord,
        device: Option<&str>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The rep of a live token of that kind.
    fn token(
        &self,
        token_hash: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RepRecord>>;
    /// Revokes a refresh token and stores its successor in one transaction (rotation).
    fn rotate_refresh(
        &self,
        old_hash: &str,
        new_hash: &str,
        rep: &RepRecord,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    // --- accounts, products, ledger
    /// Inserts or updates by code, all or nothing.
    fn upsert_accounts(&self, merchant_id: &str, rows: &[NewAccount]) -> StoreResult<usize>;
    fn upsert_products(&self, merchant_id: &str, rows: &[NewProduct]) -> StoreResult<usize>;
    fn set_account_price(
        &self,
        merchant_id: &str,
        account_id: &str,
        product_id: &str,
        unit_price: i64,
    ) -> StoreResult<()>;
    fn accounts(&self, merchant_id: &str) -> StoreResult<Vec<Account>>;
    fn account(&self, merchant_id: &str, account_id: &str) -> StoreResult<Option<Account>>;
    fn products(&self, merchant_id: &str) -> StoreResult<Vec<Product>>;
    fn add_ledger(&self, merchant_id: &str, entry: &NewLedger) -> StoreResult<String>;
    /// Appends many entries in one transaction (bulk loading): all or none; every account
    /// must be the merchant's. Returns how many were added.
    fn add_ledger_batch(&self, merchant_id: &str, entries: &[NewLedger]) -> StoreResult<usize>;
    fn balance(&self, merchant_id: &str, account_id: &str) -> StoreResult<i64>;

    // --- orders
    fn upsert_order(
        &self,
        merchant_id: &str,
        rep_id: Option<&str>,
        draft: &OrderDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Order>;
    fn sign_order(
        &self,
        merchant_id: &str,
        order_id: &str,
        evidence: &SignatureEvidence,
        png: &[u8],
        pdf: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> StoreResult<Order>;
    /// Credit check, order number, ledger entry. A rejection is stored on the order and
    /// returned as `Err(Rejected)`.
    fn submit_order(
        &self,
        merchant_id: &str,
        order_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Order>;
    fn order(&self, merchant_id: &str, order_id: &str) -> StoreResult<Option<Order>>;
    fn order_pdf(&self, merchant_id: &str, order_id: &str) -> StoreResult<Option<Vec<u8>>>;

    // --- charges
    /// Creates the charge with a virtual number bound to (number, payer phone), its first
    /// event and its effects. Returns the charge and whether it was created now (false: an
    /// idempotent retry answered with the first charge).
    fn create_charge(
        &self,
        new: &NewCharge,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<(ChargeRecord, bool)>;
    /// Group commit: creates each charge as [`Store::create_charge`] would, in order, all in
    /// one transaction. Each charge is all or nothing on its own (a refused one leaves no
    /// trace and gets its error in its place); the outer error means nothing was written.
    fn create_charges(
        &self,
        batch: &[NewCharge],
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<Vec<StoreResult<(ChargeRecord, bool)>>>;
    fn charge(&self, merchant_id: &str, charge_id: &str) -> StoreResult<Option<ChargeRecord>>;
    fn charge_any(&self, charge_id: &str) -> StoreResult<Option<ChargeRecord>>;
    fn list_charges(&self, merchant_id: &str, filter: &ChargeFilter) -> StoreResult<ChargeList>;
    /// The pending charge bound to (virtual number, caller), if any.
    fn charge_by_binding(
        &self,
        number: &str,
        caller: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ChargeRecord>>;
    /// Records a status step of a pending charge (sms_sent, call_connected, verified, declined).
    fn record_status(
        &self,
        charge_id: &str,
        status: ChargeStatus,
        detail: Option<&str>,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord>;
    fn cancel_charge(
        &self,
        merchant_id: &str,
        charge_id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord>;
    /// Marks an approval in flight (card_entered). Refused when paid, no longer pending, or
    /// another approval is in flight: one charge is approved at most once.
    fn begin_approval(&self, charge_id: &str, now: DateTime<Utc>) -> StoreResult<ChargeRecord>;
    fn record_approval(
        &self,
        charge_id: &str,
        payment: &NewPayment,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord>;
    /// Ends an approval in flight without payment (declined, or failed with nothing charged).
    fn end_approval(
        &self,
        charge_id: &str,
        declined: Option<&str>,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord>;
    /// Charges with an approval in flight since before `before` (all of them when None: at
    /// start, every one was interrupted by the stop).
    fn approvals_in_flight(&self, before: Option<DateTime<Utc>>) -> StoreResult<Vec<ChargeRecord>>;
    fn begin_refund(&self, merchant_id: &str, charge_id: &str) -> StoreResult<ChargeRecord>;
    fn record_refund(
        &self,
        charge_id: &str,
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
    fn payment(&self, charge_id: &str) -> StoreResult<Option<PaymentInfo>>;
    fn receipt(&self, token: &str) -> StoreResult<Option<ChargeRecord>>;

    fn save_registered_card(&self, merchant_id: &str, card: &RegisteredCard) -> StoreResult<()>;
    fn registered_card(
        &self,
        merchant_id: &str,
        payer_phone: &str,
    ) -> StoreResult<Option<RegisteredCard>>;

    // --- SMS outbox and log
    /// Queues a text about a charge (e.g. the bill again, at the rep's request).
    fn enqueue_sms(
        &self,
        merchant_id: &str,
        charge_id: Option<&str>,
        sms: &NewSms,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    fn pending_sms(&self, limit: u32) -> StoreResult<Vec<SmsRecord>>;
    fn mark_sms(&self, id: i64, sent: bool, now: DateTime<Utc>) -> StoreResult<()>;
    /// Marks many texts (id, sent) in one transaction; returns the charges of the sent bills
    /// as they stand after it (a bill sent moves its charge from requested to sms_sent).
    fn mark_sms_batch(
        &self,
        marks: &[(i64, bool)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ChargeRecord>>;
    fn sms_for_phone(&self, phone: &str, limit: u32) -> StoreResult<Vec<SmsRecord>>;

    // --- calls
    fn save_call(&self, call: &CallSessionRecord, now: DateTime<Utc>) -> StoreResult<()>;
    fn call(&self, call_id: &str) -> StoreResult<Option<CallSessionRecord>>;

    // --- webhooks
    fn due_webhooks(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<WebhookRecord>>;
    fn record_webhook_attempt(
        &self,
        id: &str,
        attempt: &WebhookAttempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    fn webhooks(&self, merchant_id: &str, limit: u32) -> StoreResult<Vec<WebhookRecord>>;

    // --- device sync
    fn pull(&self, merchant_id: &str, cursor: i64, limit: u32) -> StoreResult<SyncPage>;
    fn mutation_result(
        &self,
        merchant_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<MutationOutcome>>;
    /// The saved answers of those client ids that have one.
    fn mutation_results(
        &self,
        merchant_id: &str,
        client_ids: &[String],
    ) -> StoreResult<std::collections::HashMap<String, MutationOutcome>>;
    /// Saves many answers in one transaction; returns, in order, the answer kept for each
    /// (the one saved first when a concurrent retry saved before).
    fn save_mutation_results(
        &self,
        merchant_id: &str,
        rep_id: &str,
        results: &[(String, MutationOutcome)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MutationOutcome>>;
    fn save_mutation_result(
        &self,
        merchant_id: &str,
        client_id: &str,
        rep_id: &str,
        outcome: &MutationOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    // --- reports
    fn settlement(
        &self,
        merchant_id: &str,
        date: chrono::NaiveDate,
    ) -> StoreResult<SettlementReport>;
}
