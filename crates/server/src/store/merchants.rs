//! Merchants (가맹점), their reps, API keys and sign-in tokens.

use chrono::{DateTime, Utc};
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::{ApiKeyId, MerchantId, RepId, Secret};

use super::StoreResult;
use crate::domain::{Merchant, MerchantProfile, MerchantSettings};

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
    /// Signed in with a one-time password: only changing it is allowed.
    pub must_change_password: bool,
    /// The rep's number series within its merchant (`R01`; see
    /// [`fieldpay_protocol::numbering`]), given when the rep is created.
    pub series: String,
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
    /// A new merchant with an empty profile (see [`MerchantStore::create_merchant_with`]).
    fn create_merchant(
        &self,
        code: &str,
        name: &str,
        settings: &MerchantSettings,
    ) -> StoreResult<Merchant> {
        self.create_merchant_with(code, name, &MerchantProfile::default(), settings)
    }
    /// A new, active merchant; `settings.number_pool` becomes its first pool of virtual
    /// numbers. A code or a number already taken is refused (`Conflict`), nothing written.
    fn create_merchant_with(
        &self,
        code: &str,
        name: &str,
        profile: &MerchantProfile,
        settings: &MerchantSettings,
    ) -> StoreResult<Merchant>;
    /// Replaces the settings (the pool of virtual numbers is left as it is: see
    /// `AdminStore::add_numbers`).
    fn update_merchant_settings(
        &self,
        merchant_id: &MerchantId,
        settings: &MerchantSettings,
    ) -> StoreResult<()>;
    fn merchant(&self, merchant_id: &MerchantId) -> StoreResult<Option<Merchant>>;
    /// [`MerchantStore::merchant`] from memory only, without blocking: `None` when not at hand.
    fn cached_merchant(&self, _merchant_id: &MerchantId) -> Option<std::sync::Arc<Merchant>> {
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
        name: &str,
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

    /// Starts a sign-in session: a new token family holding `tokens`, in one transaction.
    /// Returns the family's id.
    fn start_session(
        &self,
        rep: &RepRecord,
        device: Option<&str>,
        tokens: &NewTokens,
    ) -> StoreResult<String>;
    /// The active rep of a live token of that kind (its session not revoked).
    fn token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RepRecord>>;
    /// The session a token belongs to, in whatever state (expired, rotated, revoked).
    fn token_family(&self, token_hash: &str) -> StoreResult<Option<TokenFamily>>;
    /// Exchanges a refresh token for `next` (the following refresh token and an access token,
    /// in the same family), in one transaction; a token already exchanged is refused, and
    /// revokes its family unless it was exchanged less than `reuse_grace` ago (see
    /// [`Rotation`]).
    fn rotate_refresh(
        &self,
        old_hash: &str,
        next: &NewTokens,
        now: DateTime<Utc>,
        reuse_grace: chrono::Duration,
    ) -> StoreResult<Rotation>;
    /// Revokes a session: every token of the family is refused from then on. Returns whether
    /// it was live.
    fn revoke_family(&self, family_id: &str, why: Revocation) -> StoreResult<bool>;
    /// Deactivates a rep: signing in is refused and every session of the rep revoked (its
    /// tokens refused, its live event streams ended). Returns whether the rep was active.
    fn deactivate_rep(&self, merchant_id: &MerchantId, rep_id: &RepId) -> StoreResult<bool>;
    /// The sessions revoked after position `after` of the revocation order, oldest first, at
    /// most `limit`: (position, family id).
    fn revoked_families_after(&self, after: i64, limit: u32) -> StoreResult<Vec<(i64, String)>>;
    /// The last position of the revocation order (0 when nothing was revoked).
    fn last_revocation(&self) -> StoreResult<i64>;
}

/// The tokens a sign-in or a rotation stores (by their SHA-256 hashes).
#[derive(Debug, Clone)]
pub struct NewTokens {
    pub refresh_hash: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub access_hash: String,
    pub access_expires_at: DateTime<Utc>,
}

/// A sign-in session (token family) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFamily {
    pub id: String,
    pub rep_id: RepId,
    pub merchant_id: MerchantId,
    pub revoked: bool,
}

/// Why a session was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The rep signed out.
    Logout,
    /// A refresh token was presented again after it had been exchanged: two parties hold the
    /// session's tokens, so neither keeps it.
    Reuse,
    /// The rep was deactivated.
    Deactivated,
}

fieldpay_protocol::text_names!(Revocation {
    Logout => "logout",
    Reuse => "reuse",
    Deactivated => "deactivated",
});

/// What presenting a refresh token did.
#[derive(Debug, Clone)]
pub enum Rotation {
    /// Exchanged: the new tokens are stored in the same family.
    Rotated { rep: RepRecord, family_id: String },
    /// Already exchanged less than the grace period ago (the loser of two racing requests,
    /// or a quick retry): refused, the session kept.
    AlreadyUsed,
    /// Already exchanged longer ago: taken for a stolen copy, the session revoked.
    Reused { rep_id: RepId, family_id: String },
    /// Unknown, expired, of a revoked session or of an inactive rep: refused.
    Refused,
}
