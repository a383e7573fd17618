//! The storage boundary. The server talks to a [`Store`], the sum of one trait per aggregate:
//! [`MerchantStore`] (merchants, reps, credentials), [`RecordStore`] (accounts, products, the
//! receivables ledger), [`OrderStore`], [`ChargeStore`] (charges, payments, registered cards,
//! call sessions), [`SyncStore`] (the device change feed and mutation answers), [`OutboxStore`]
//! (texts and webhooks to send), [`SettlementStore`], [`PaymentLinkStore`], [`LeaseStore`] (work that one
//! instance at a time does) and [`LimitStore`] (rate-limit counts). [`sqlite::SqliteStore`] fills them all
//! (one file, WAL); a PostgreSQL implementation fills the same traits for deployments with
//! several instances.
//!
//! Rules every implementation keeps:
//! - Each method is one transaction: it happens whole or not at all.
//! - Methods are blocking; async callers run them on the blocking pool (`AppState::db`).
//! - A domain rule that refuses an operation answers [`StoreError::Rejected`] with a protocol
//!   error code, and nothing is written.
//! - Card data never reaches the store: only masked numbers, issuers and approval numbers.

pub mod admin;
pub(crate) mod cache;
pub mod charges;
pub mod collections;
#[cfg(test)]
pub(crate) mod contract_tests;
pub mod credentials;
pub mod leases;
pub mod limits;
pub mod links;
pub mod merchants;
pub mod orders;
pub mod outbox;
pub mod postgres;
pub mod records;
pub mod settlement;
pub mod shares;
pub mod sqlite;
pub mod sync;
pub mod visits;

use fieldpay_protocol::ErrorCode;

pub use admin::{AdminStore, NewAudit, OperatorToken};
pub use charges::{
    refund_ref, ApprovalLimits, CallSessionRecord, ChargeFilter, ChargeRecord, ChargeStore,
    ClaimedRefund, InFlightApproval, NewCharge, NewPayment, PendingRefund, RefundClaim,
    RegisteredCard, StatusChange, TOO_MANY_ATTEMPTS,
};
pub use collections::CollectionStore;
pub use credentials::{CredentialKind, CredentialStore, SealedCredentials};
pub use leases::LeaseStore;
pub use limits::LimitStore;
pub use links::{
    LinkSource, LinkState, LinkUse, NewPaymentLink, PaymentLinkRecord, PaymentLinkStore,
};
pub use merchants::{ApiKeyOwner, MerchantStore, RepRecord, TokenKind};
pub use orders::{OrderDraft, OrderStore};
pub use outbox::{
    text_failed_detail, Compose, DeliveryStatus, Effects, NewSms, NewWebhook, OutboxStore,
    SmsAttempt, SmsRecord, TextLimits, WebhookAttempt, WebhookRecord,
};
pub use postgres::PgStore;
pub use records::{AccountQuery, NewAccount, NewLedger, NewProduct, RecordStore};
pub use settlement::SettlementStore;
pub use shares::{NewShare, ShareStore};
pub use sqlite::SqliteStore;
pub use sync::SyncStore;
pub use sync::MAX_PULL_PAGE;
pub use visits::{NewVisit, VisitStore};

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A domain rule refused the operation (nothing was written).
    #[error("{message}")]
    Rejected { code: ErrorCode, message: String },
    /// The database failed (connection, I/O, constraint it should not have hit).
    #[error("database error: {0}")]
    Db(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn rejected(code: ErrorCode, message: impl Into<String>) -> Self {
        StoreError::Rejected {
            code,
            message: message.into(),
        }
    }

    pub fn corrupt(what: impl Into<String>) -> Self {
        StoreError::Corrupt(what.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the server stores: one implementation per database fills every aggregate's
/// trait and says so with an empty `impl Store for ... {}`.
pub trait Store:
    MerchantStore
    + RecordStore
    + OrderStore
    + ChargeStore
    + CollectionStore
    + SyncStore
    + OutboxStore
    + SettlementStore
    + LeaseStore
    + LimitStore
    + PaymentLinkStore
    + CredentialStore
    + AdminStore
    + VisitStore
    + ShareStore
    + Send
    + Sync
    + 'static
{
}
