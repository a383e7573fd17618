//! Client accounts (거래처), products and the append-only receivables ledger (외상).

use chrono::{DateTime, Utc};
use fieldpay_protocol::records::{Account, AccountWithBalance, LedgerKind, Product};
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

/// A server-side account search (see [`RecordStore::search_accounts`]): the text as typed,
/// lower-cased, and its digits when it has at least three (a phone or business number typed
/// with or without dashes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountQuery {
    pub text: String,
    pub digits: Option<String>,
}

impl AccountQuery {
    /// `None` for a query without a letter or digit.
    pub fn parse(q: &str) -> Option<AccountQuery> {
        let text = q.trim().to_lowercase();
        if !text.chars().any(char::is_alphanumeric) {
            return None;
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        Some(AccountQuery {
            digits: (digits.len() >= 3).then_some(digits),
            text,
        })
    }
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
    /// The merchant's accounts whose name, owner, code, phone or business number contains
    /// `query` (case-insensitive; digits of a phone or business number also match without
    /// dashes), each with its balance; by name, at most `limit`. All of the merchant's
    /// accounts, whoever serves them: a rep's device asks for the clients it does not sync.
    fn search_accounts(
        &self,
        merchant_id: &MerchantId,
        query: &AccountQuery,
        limit: u32,
    ) -> StoreResult<Vec<AccountWithBalance>>;
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
