//! Credentials: merchant API keys (stored as SHA-256, they are long random strings), rep
//! passwords (argon2id), short-lived access tokens and rotating refresh tokens (stored hashed).
//! [`authenticate`] turns a bearer token into the [`Caller`] every API route is scoped to.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::Duration;
use fieldpay_protocol::auth::{RepInfo, TokenResponse};
use fieldpay_protocol::{ApiKeyId, ErrorCode, MerchantId, RepId, Secret};

use crate::error::AppError;
use crate::ids::{random_token, sha256_hex};
use crate::state::AppState;
use crate::store::{RepRecord, TokenKind};

pub mod limits;

/// Who is calling: a rep (signed in) or a merchant API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Rep { rep_id: RepId },
    ApiKey { key_id: ApiKeyId },
}

/// An authenticated caller: every route acts within `merchant_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub merchant_id: MerchantId,
    pub principal: Principal,
}

impl Caller {
    pub fn rep_id(&self) -> Option<&RepId> {
        match &self.principal {
            Principal::Rep { rep_id } => Some(rep_id),
            Principal::ApiKey { .. } => None,
        }
    }
}

pub const API_KEY_PREFIX: &str = "fpk_";

/// The stored form of a long random secret (API key, token): its SHA-256 in hex. Such secrets
/// carry enough entropy that a fast hash is safe; passwords use argon2id.
pub fn hash_secret(secret: &str) -> String {
    sha256_hex(secret.as_bytes())
}

/// A new merchant API key: `fpk_` + 40 random characters.
pub fn new_api_key() -> Secret {
    Secret::new(format!("{API_KEY_PREFIX}{}", random_token(40)))
}

pub fn hash_password(password: &Secret) -> Result<Secret, AppError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(AppError::internal)?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| Secret::new(h.to_string()))
        .map_err(AppError::internal)
}

/// An argon2 hash to verify against when the rep does not exist, so that a wrong rep id and a
/// wrong password take the same time.
pub fn dummy_hash() -> &'static Secret {
    static HASH: std::sync::OnceLock<Secret> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&Secret::from("no such rep")).unwrap_or_default())
}

pub fn verify_password(password: &Secret, hash: &Secret) -> bool {
    PasswordHash::new(hash.expose())
        .map(|h| {
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn unauthorized(msg: &str) -> AppError {
    AppError::new(ErrorCode::Unauthorized, msg)
}

/// Finds who is calling from an `Authorization: Bearer ...` value.
pub async fn authenticate(state: &AppState, bearer: &Secret) -> Result<Caller, AppError> {
    let hash = hash_secret(bearer.expose());
    if bearer.expose().starts_with(API_KEY_PREFIX) {
        let found = match state.store.cached_api_key(&hash) {
            Some(k) => Some(k),
            None => state.db(move |s| s.api_key(&hash)).await?,
        };
        let owner = found.ok_or_else(|| unauthorized("unknown or revoked API key"))?;
        return Ok(Caller {
            merchant_id: owner.merchant_id,
            principal: Principal::ApiKey {
                key_id: owner.key_id,
            },
        });
    }
    let now = state.clock.now();
    let rep = state
        .db(move |s| s.token(&hash, TokenKind::Access, now))
        .await?
        .ok_or_else(|| unauthorized("access token is unknown or expired; sign in or refresh"))?;
    Ok(Caller {
        merchant_id: rep.merchant_id,
        principal: Principal::Rep { rep_id: rep.id },
    })
}

/// A new refresh token: `rt_` + 48 random characters.
pub fn new_refresh_token() -> Secret {
    Secret::new(format!("rt_{}", random_token(48)))
}

/// Issues an access token and a refresh token for a rep (after a password check), or an
/// access token beside an already stored, rotated refresh token.
pub async fn issue_tokens(
    state: &AppState,
    rep: RepRecord,
    device: Option<String>,
    refresh: Option<Secret>,
) -> Result<TokenResponse, AppError> {
    let access = Secret::new(format!("at_{}", random_token(40)));
    let access_ttl = state.settings.access_token_ttl_secs;
    let now = state.clock.now();
    let access_exp = now + Duration::seconds(access_ttl as i64);
    let refresh_token = match refresh {
        Some(r) => r,
        None => {
            let r = new_refresh_token();
            let exp = now + Duration::seconds(state.settings.refresh_token_ttl_secs as i64);
            let (h, rep2, dev) = (hash_secret(r.expose()), rep.clone(), device.clone());
            state
                .db(move |s| s.insert_token(&h, TokenKind::Refresh, &rep2, dev.as_deref(), exp))
                .await?;
            r
        }
    };
    let (h, rep2) = (hash_secret(access.expose()), rep.clone());
    state
        .db(move |s| s.insert_token(&h, TokenKind::Access, &rep2, device.as_deref(), access_exp))
        .await?;
    let merchant_id = rep.merchant_id.clone();
    let merchant = state
        .db(move |s| s.merchant(&merchant_id))
        .await?
        .ok_or_else(|| AppError::internal("rep without merchant"))?;
    Ok(TokenResponse {
        access_token: access,
        expires_in: access_ttl,
        refresh_token,
        rep: RepInfo {
            id: rep.id.into_string(),
            login: rep.login,
            name: rep.name,
            merchant_id: merchant.id.into_string(),
            merchant_name: merchant.name,
            credit_policy: merchant.settings.credit_policy,
            merchant_business_number: merchant.settings.business_number.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        let h = hash_password(&"demo1234!".into()).unwrap();
        assert!(h.expose().starts_with("$argon2id$"));
        assert!(verify_password(&"demo1234!".into(), &h));
        assert!(!verify_password(&"demo1234?".into(), &h));
        assert!(!verify_password(&"x".into(), &"not a hash".into()));
    }

    #[test]
    fn api_keys_hash_stably() {
        let k = new_api_key();
        assert!(k.expose().starts_with(API_KEY_PREFIX) && k.expose().len() == 44);
        assert_eq!(hash_secret(k.expose()), hash_secret(k.expose()));
        assert_ne!(hash_secret(k.expose()), hash_secret(new_api_key().expose()));
    }
}
