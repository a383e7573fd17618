//! Credentials: merchant API keys (stored as SHA-256, they are long random strings), rep
//! passwords (argon2id), short-lived access tokens and rotating refresh tokens (stored hashed).
//! [`authenticate`] turns a bearer token into the [`Caller`] every API route is scoped to.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::Duration;
use fieldpay_protocol::auth::{RepInfo, TokenResponse};
use fieldpay_protocol::{ErrorCode, Secret};

use crate::error::AppError;
use crate::ids::{random_token, sha256_hex};
use crate::state::AppState;
use crate::store::RepRecord;

/// Who is calling: a rep (signed in) or a merchant API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Rep { rep_id: String },
    ApiKey { key_id: String },
}

/// An authenticated caller: every route acts within `merchant_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub merchant_id: String,
    pub principal: Principal,
}

impl Caller {
    pub fn rep_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::Rep { rep_id } => Some(rep_id),
            Principal::ApiKey { .. } => None,
        }
    }
}

pub const API_KEY_PREFIX: &str = "fpk_";

pub fn hash_secret(secret: &str) -> String {
    sha256_hex(secret.as_bytes())
}

/// A new merchant API key: `fpk_` + 40 random characters.
pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", random_token(40))
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(AppError::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

/// An argon2 hash to verify against when the rep does not exist, so that a wrong rep id and a
/// wrong password take the same time.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no such rep").unwrap_or_default())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
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
        let (key_id, merchant_id) =
            found.ok_or_else(|| unauthorized("unknown or revoked API key"))?;
        return Ok(Caller {
            merchant_id,
            principal: Principal::ApiKey { key_id },
        });
    }
    let now = state.clock.now();
    let rep = state
        .db(move |s| s.token(&hash, "access", now))
        .await?
        .ok_or_else(|| unauthorized("access token is unknown or expired; sign in or refresh"))?;
    Ok(Caller {
        merchant_id: rep.merchant_id,
        principal: Principal::Rep { rep_id: rep.id },
    })
}

/// Issues an access token and a refresh token for a rep (after a password check or refresh).
pub async fn issue_tokens(
    state: &AppState,
    rep: RepRecord,
    device: Option<String>,
    refresh: Option<String>,
) -> Result<TokenResponse, AppError> {
    let access = format!("at_{}", random_token(40));
    let access_ttl = state.settings.access_token_ttl_secs;
    let now = state.clock.now();
    let access_exp = now + Duration::seconds(access_ttl as i64);
    let refresh_token = match refresh {
        Some(r) => r,
        None => {
            let r = format!("rt_{}", random_token(48));
            let exp = now + Duration::seconds(state.settings.refresh_token_ttl_secs as i64);
            let (h, rep2, dev) = (hash_secret(&r), rep.clone(), device.clone());
            state
                .db(move |s| s.insert_token(&h, "refresh", &rep2, dev.as_deref(), exp))
                .await?;
            r
        }
    };
    let (h, rep2) = (hash_secret(&access), rep.clone());
    state
        .db(move |s| s.insert_token(&h, "access", &rep2, device.as_deref(), access_exp))
        .await?;
    let merchant_id = rep.merchant_id.clone();
    let merchant = state
        .db(move |s| s.merchant(&merchant_id))
        .await?
        .ok_or_else(|| AppError::internal("rep without merchant"))?;
    Ok(TokenResponse {
        access_token: access.into(),
        expires_in: access_ttl,
        refresh_token: refresh_token.into(),
        rep: RepInfo {
            id: rep.id,
            login: rep.login,
            name: rep.name,
            merchant_id: merchant.id,
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
        let h = hash_password("demo1234!").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("demo1234!", &h));
        assert!(!verify_password("demo1234?", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn api_keys_hash_stably() {
        let k = new_api_key();
        assert!(k.starts_with(API_KEY_PREFIX) && k.len() == 44);
        assert_eq!(hash_secret(&k), hash_secret(&k));
        assert_ne!(hash_secret(&k), hash_secret(&new_api_key()));
    }
}
