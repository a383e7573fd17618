//! Merchants (가맹점), their reps, API keys and sign-in tokens.

use chrono::{DateTime, Utc};
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::{ApiKeyId, MerchantId, RepId, Secret};

use super::StoreResult;
use crate::domain::{Merchant, MerchantSettings};

/// A rep as stored: the password only as its argon2 hash.
#[derive(Debug, Clone)]
pub struct RepRecord {
    pub id: RepId,
    pub merchant_id: MerchantId,
    pub login: String,
    pub name: String,
    pub password_hash: Secret,
    pub active: bool,
    pub role: Role,
}

/// The merchant a live API key acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyOwner {
    pub key_id: ApiKeyId,
    pub merchant_id: MerchantId,
}

/// The two kinds of sign-in token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Short-lived, sent with every request.
    Access,
    /// Long-lived, exchanged (and rotated) for a new access token.
    Refresh,
}

fieldpay_protocol::text_names!(TokenKind {
    Access => "access",
    Refresh => "refresh",
});

pub trait MerchantStore {
    fn create_merchant(
        &self,
        code: &str,
        name: &str,
        settings: &MerchantSettings,
    ) -> StoreResult<Merchant>;
    fn update_merchant_settings(
        &self,
        merchant_id: &MerchantId,
        settings: &MerchantSettings,
    ) -> StoreResult<()>;
    fn merchant(&self, merchant_id: &MerchantId) -> StoreResult<Option<Merchant>>;
    /// [`MerchantStore::merchant`] from memory only, without blocking: `None` when not at hand.
    fn cached_merchant(&self, _merchant_id: &MerchantId) -> Option<Merchant> {
        None
    }
    fn merchant_by_code(&self, code: &str) -> StoreResult<Option<Merchant>>;
    /// The merchant that owns a virtual number (national digits).
    fn merchant_by_number(&self, number: &str) -> StoreResult<Option<Merchant>>;

    fn create_rep(
        &self,
        merchant_id: &MerchantId,
        login: &str,
        name: &str,
        password_hash: &Secret,
        role: Role,
    ) -> StoreResult<RepId>;
    fn rep_by_login(&self, merchant_id: &MerchantId, login: &str)
        -> StoreResult<Option<RepRecord>>;

    /// Stores a new API key by its SHA-256 hash (the key itself is shown once, never stored).
    fn create_api_key(
        &self,
        merchant_id: &MerchantId,
        key_hash: &str,
        prefix: &str,
    ) -> StoreResult<ApiKeyId>;
    /// The owner of a live key.
    fn api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKeyOwner>>;
    /// [`MerchantStore::api_key`] from memory only, without blocking: `None` when not at hand
    /// (then ask `api_key`). A revoked key is never answered.
    fn cached_api_key(&self, _key_hash: &str) -> Option<ApiKeyOwner> {
        None
    }
    /// Revokes a key of the merchant; from then on it is refused. Returns whether it was live.
    fn revoke_api_key(&self, merchant_id: &MerchantId, key_id: &ApiKeyId) -> StoreResult<bool>;

    /// Stores a token by its SHA-256 hash.
    fn insert_token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        rep: &RepRecord,
        device: Option<&str>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The active rep of a live token of that kind.
    fn token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RepRecord>>;
    /// Revokes a refresh token and stores its successor in one transaction (rotation).
    /// Returns false (and stores nothing) when the old token was not live.
    fn rotate_refresh(
        &self,
        old_hash: &str,
        new_hash: &str,
        rep: &RepRecord,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool>;
}
