//! Purchase orders (발주서): drafts, signatures with their evidence and PDF, registration.

use chrono::{DateTime, Utc};
use fieldpay_protocol::records::{Order, OrderLineInput, SignatureEvidence};
use fieldpay_protocol::{AccountId, MerchantId, OrderId, RepId};

use super::StoreResult;

/// An order's lines as the device sent them, before pricing.
#[derive(Debug, Clone)]
pub struct OrderDraft {
    pub order_id: OrderId,
    pub account_id: AccountId,
    pub lines: Vec<OrderLineInput>,
    pub memo: String,
}

pub trait OrderStore {
    /// Creates or replaces a draft (priced from the products and the account's price list).
    /// A registered or canceled order no longer changes.
    fn upsert_order(
        &self,
        merchant_id: &MerchantId,
        rep_id: Option<&RepId>,
        draft: &OrderDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Order>;
    fn sign_order(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
        evidence: &SignatureEvidence,
        png: &[u8],
        pdf: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> StoreResult<Order>;
    /// Credit check, order number, ledger entry. A rejection is stored on the order and
    /// returned as `Err(Rejected)`.
    fn submit_order(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
        now: DateTime<Utc>,
    ) -> StoreResult<Order>;
    fn order(&self, merchant_id: &MerchantId, order_id: &OrderId) -> StoreResult<Option<Order>>;
    fn order_pdf(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
    ) -> StoreResult<Option<Vec<u8>>>;
}
