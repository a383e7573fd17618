//! Client accounts (거래처), products and the append-only receivables ledger (외상).

use chrono::{DateTime, Utc};
use fieldpay_protocol::records::{Account, LedgerKind, Product};
use fieldpay_protocol::{AccountId, MerchantId};

use super::StoreResult;

/// An account to insert or update (by code).
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

/// A product to insert or update (by code).
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub code: String,
    pub name: String,
    pub unit_price: i64,
    pub unit: String,
}

/// One receivables entry to append. `amount` is signed: positive raises what is owed.
#[derive(Debug, Clone)]
pub struct NewLedger {
    pub account_id: AccountId,
    pub kind: LedgerKind,
    pub amount: i64,
    pub ref_id: Option<String>,
    pub memo: String,
    pub at: DateTime<Utc>,
}

pub trait RecordStore {
    /// Inserts or updates by code, all or nothing.
    fn upsert_accounts(&self, merchant_id: &MerchantId, rows: &[NewAccount]) -> StoreResult<usize>;
    /// Inserts or updates by code, all or nothing.
    fn upsert_products(&self, merchant_id: &MerchantId, rows: &[NewProduct]) -> StoreResult<usize>;
    fn accounts(&self, merchant_id: &MerchantId) -> StoreResult<Vec<Account>>;
    fn account(
        &self,
        merchant_id: &MerchantId,
        account_id: &AccountId,
    ) -> StoreResult<Option<Account>>;
    fn products(&self, merchant_id: &MerchantId) -> StoreResult<Vec<Product>>;
    /// Appends one entry; returns its id.
    fn add_ledger(&self, merchant_id: &MerchantId, entry: &NewLedger) -> StoreResult<String>;
    /// Appends many entries in one transaction (bulk loading): all or none; every account
    /// must be the merchant's. Returns how many were added.
    fn add_ledger_batch(
        &self,
        merchant_id: &MerchantId,
        entries: &[NewLedger],
    ) -> StoreResult<usize>;
    /// What the account owes (the sum of its ledger).
    fn balance(&self, merchant_id: &MerchantId, account_id: &AccountId) -> StoreResult<i64>;
}
