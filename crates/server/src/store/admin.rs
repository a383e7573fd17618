//! What the operator and a merchant's managers change besides the day's work: merchants'
//! profiles and status, pools of virtual numbers, reps' passwords, API key listings,
//! operator tokens and the audit log. The rules (validation, who may) are the admin
//! service's (`crate::admin`); the store keeps the data and its invariants (a number in
//! one pool; a number with a pending charge bound stays).

use chrono::{DateTime, Utc};
use fieldpay_protocol::admin::{ApiKeyInfo, AuditEntry};
use fieldpay_protocol::{ApiKeyId, MerchantId, RepId, Secret};

use super::{RepRecord, StoreResult};
use crate::domain::{Merchant, MerchantProfile, MerchantStatus};

/// A live operator token's holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorToken {
    pub id: String,
    pub name: String,
}

/// A change to record in the audit log.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub merchant_id: Option<&'a MerchantId>,
    /// A JSON object; never a secret.
    pub detail: &'a serde_json::Value,
}

/// How often a key's last use is written: at most once per this many seconds per key.
pub const API_KEY_USE_RESOLUTION_SECS: i64 = 60;

pub trait AdminStore {
    /// Every merchant, by code.
    fn list_merchants(&self) -> StoreResult<Vec<Merchant>>;
    /// Replaces a merchant's name and profile. Returns whether the merchant exists.
    fn update_merchant_profile(
        &self,
        merchant_id: &MerchantId,
        name: &str,
        profile: &MerchantProfile,
    ) -> StoreResult<bool>;
    /// Sets the status. Returns whether it changed (false: already so, or no such merchant).
    fn set_merchant_status(
        &self,
        merchant_id: &MerchantId,
        status: MerchantStatus,
    ) -> StoreResult<bool>;

    /// Adds numbers (national digits) at the end of the merchant's pool, all or none: one
    /// already in any pool (this one's too) is refused with `Conflict` naming it.
    fn add_numbers(&self, merchant_id: &MerchantId, numbers: &[String]) -> StoreResult<()>;
    /// Removes a number from the merchant's pool: `NotFound` when it is not in it,
    /// `InvalidState` while a pending charge is bound to it.
    fn remove_number(&self, merchant_id: &MerchantId, number: &str) -> StoreResult<()>;

    /// The merchant's reps, by login.
    fn list_reps(&self, merchant_id: &MerchantId) -> StoreResult<Vec<RepRecord>>;
    /// One rep of the merchant.
    fn rep(&self, merchant_id: &MerchantId, rep_id: &RepId) -> StoreResult<Option<RepRecord>>;
    /// Replaces a rep's password hash and sets whether it must be changed at the next
    /// sign-in. Returns whether the rep (of this merchant) exists.
    fn set_rep_password(
        &self,
        merchant_id: &MerchantId,
        rep_id: &RepId,
        password_hash: &Secret,
        must_change: bool,
    ) -> StoreResult<bool>;

    /// The merchant's API keys, live and revoked, newest first.
    fn list_api_keys(&self, merchant_id: &MerchantId) -> StoreResult<Vec<ApiKeyInfo>>;
    /// Notes that a key was used at `at`; written at most once per
    /// [`API_KEY_USE_RESOLUTION_SECS`] per key (a cheap no-op otherwise).
    fn touch_api_key(&self, key_id: &ApiKeyId, at: DateTime<Utc>) -> StoreResult<()>;

    /// Stores an operator token by its SHA-256 hash. Returns its id.
    fn create_operator_token(
        &self,
        token_hash: &str,
        prefix: &str,
        name: &str,
    ) -> StoreResult<String>;
    /// The live operator token of that hash.
    fn operator_token(&self, token_hash: &str) -> StoreResult<Option<OperatorToken>>;
    /// Revokes an operator token: refused from then on. Returns whether it was live.
    fn revoke_operator_token(&self, id: &str) -> StoreResult<bool>;

    /// Appends to the audit log.
    fn append_audit(&self, entry: &NewAudit<'_>) -> StoreResult<()>;
    /// The latest entries (of one merchant, or all), newest first, at most `limit`.
    fn audit(&self, merchant_id: Option<&MerchantId>, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}
