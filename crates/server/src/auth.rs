//! Credentials: merchant API keys (stored as SHA-256, they are long random strings), rep
//! passwords (argon2id), short-lived access tokens and rotating refresh tokens (stored hashed),
//! both of a sign-in session (a token family) that sign-out, the reuse of a refresh token or
//! the rep's deactivation revokes whole. [`authenticate`] turns a bearer token into the
//! [`Caller`] every API route is scoped to; [`limits`] bounds sign-in attempts.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::Duration;
use fieldpay_protocol::auth::{RepInfo, Role, TokenResponse};
use fieldpay_protocol::{ApiKeyId, ErrorCode, MerchantId, RepId, Secret};

use crate::error::AppError;
use crate::ids::{random_token, sha256_hex};
use crate::state::AppState;
use crate::store::merchants::{NewTokens, Revocation, Rotation};
use crate::store::{RepRecord, TokenKind};

pub mod limits;

/// Who is calling: a rep (signed in) or a merchant API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Rep { rep_id: RepId, role: Role },
    ApiKey { key_id: ApiKeyId },
}

/// An authenticated caller: every route acts within `merchant_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub merchant_id: MerchantId,
    pub principal: Principal,
    /// A rep signed in with a one-time password: only `POST /v1/auth/password` is allowed
    /// (the [`Caller`] extractor refuses the rest).
    pub must_change_password: bool,
}

impl Caller {
    pub fn rep_id(&self) -> Option<&RepId> {
        match &self.principal {
            Principal::Rep { rep_id, .. } => Some(rep_id),
            Principal::ApiKey { .. } => None,
        }
    }

    /// The rep whose own records this caller is limited to: a rep without the manager role.
    /// None: the caller sees and acts on all of the merchant's (a manager, an API key).
    pub fn limited_to(&self) -> Option<&RepId> {
        match &self.principal {
            Principal::Rep {
                rep_id,
                role: Role::Rep,
            } => Some(rep_id),
            _ => None,
        }
    }

    /// Refuses a plain rep: for refunds, other reps' records and the merchant's settings.
    pub fn require_manager(&self) -> Result<(), AppError> {
        match self.limited_to() {
            None => Ok(()),
            Some(_) => Err(AppError::new(
                ErrorCode::Forbidden,
                "관리자 권한이 필요합니다 (this needs the manager role or an API key)",
            )),
        }
    }

    /// Whether a record made by `owner` is this caller's to see and act on (a plain rep's
    /// own records; everything for a manager or an API key).
    pub fn may_touch(&self, owner: Option<&str>) -> bool {
        match self.limited_to() {
            None => true,
            Some(rep) => owner == Some(rep.as_str()),
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
        note_key_use(state, &owner.key_id);
        return Ok(Caller {
            merchant_id: owner.merchant_id,
            principal: Principal::ApiKey {
                key_id: owner.key_id,
            },
            must_change_password: false,
        });
    }
    let now = state.clock.now();
    let rep = state
        .db(move |s| s.token(&hash, TokenKind::Access, now))
        .await?
        .ok_or_else(|| unauthorized("access token is unknown or expired; sign in or refresh"))?;
    Ok(Caller {
        merchant_id: rep.merchant_id,
        principal: Principal::Rep {
            rep_id: rep.id,
            role: rep.role,
        },
        must_change_password: rep.must_change_password,
    })
}

/// Records that an API key was used (its `last_used_at`), in the background and at most once
/// a minute per key per process: the store is not asked at every request.
fn note_key_use(state: &AppState, key_id: &ApiKeyId) {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static NOTED: OnceLock<Mutex<HashMap<ApiKeyId, i64>>> = OnceLock::new();
    let now = state.clock.now();
    let minute = now
        .timestamp()
        .div_euclid(crate::store::admin::API_KEY_USE_RESOLUTION_SECS);
    {
        let mut noted = NOTED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if noted.get(key_id) == Some(&minute) {
            return;
        }
        if noted.len() > 10_000 {
            noted.clear();
        }
        noted.insert(key_id.clone(), minute);
    }
    let (st, key_id) = (state.clone(), key_id.clone());
    tokio::spawn(async move {
        if let Err(e) = st.db(move |s| s.touch_api_key(&key_id, now)).await {
            tracing::warn!(error = %e.message, "could not note an API key's use");
        }
    });
}

/// A new refresh token: `rt_` + 48 random characters.
pub fn new_refresh_token() -> Secret {
    Secret::new(format!("rt_{}", random_token(48)))
}

/// A new access token: `at_` + 40 random characters.
fn new_access_token() -> Secret {
    Secret::new(format!("at_{}", random_token(40)))
}

/// New access and refresh tokens, and what the store keeps of them (hashes and expiry).
fn new_tokens(state: &AppState) -> (Secret, Secret, NewTokens) {
    let (access, refresh) = (new_access_token(), new_refresh_token());
    let now = state.clock.now();
    let stored = NewTokens {
        refresh_hash: hash_secret(refresh.expose()),
        refresh_expires_at: now + Duration::seconds(state.settings.refresh_token_ttl_secs as i64),
        access_hash: hash_secret(access.expose()),
        access_expires_at: now + Duration::seconds(state.settings.access_token_ttl_secs as i64),
    };
    (access, refresh, stored)
}

/// Starts a session for a rep whose password was checked: a new token family with its first
/// refresh and access tokens.
pub async fn sign_in(
    state: &AppState,
    rep: RepRecord,
    device: Option<String>,
) -> Result<TokenResponse, AppError> {
    let (access, refresh, stored) = new_tokens(state);
    let r = rep.clone();
    state
        .db(move |s| s.start_session(&r, device.as_deref(), &stored))
        .await?;
    token_response(state, rep, access, refresh).await
}

fn session_over(why: &str) -> AppError {
    unauthorized(&format!(
        "로그인이 만료되었습니다. 다시 로그인하세요 (refresh token {why}; sign in again)"
    ))
}

/// Exchanges a refresh token for new tokens of the same session. A refresh token works once.
/// Presented again within `refresh_reuse_grace_secs` of its exchange it is refused and the
/// session kept: that is the loser of two requests of one device racing (or a retry of one),
/// and the winner holds the session's next token. Presented later, two parties hold copies of
/// the session's tokens and there is no telling which is the rep: the whole session is
/// revoked, so a thief's newer tokens die too.
pub async fn refresh(state: &AppState, presented: &Secret) -> Result<TokenResponse, AppError> {
    let old = hash_secret(presented.expose());
    let (access, refresh, stored) = new_tokens(state);
    let now = state.clock.now();
    let grace = Duration::seconds(state.settings.refresh_reuse_grace_secs as i64);
    let rotation = state
        .db(move |s| s.rotate_refresh(&old, &stored, now, grace))
        .await?;
    match rotation {
        Rotation::Rotated { rep, .. } => token_response(state, rep, access, refresh).await,
        Rotation::AlreadyUsed => Err(session_over("was already used")),
        Rotation::Reused { rep_id, family_id } => {
            tracing::warn!(
                %rep_id,
                family_id,
                "a used refresh token was presented again: the session is revoked"
            );
            Err(session_over("was already used"))
        }
        Rotation::Refused => Err(session_over("is unknown, used or expired")),
    }
}

/// Ends the session of the access token `access` (of `rep_id`), and the session of `refresh`
/// when given and the same rep's (another device's sign-in, say; anyone else's is left alone).
pub async fn sign_out(
    state: &AppState,
    rep_id: &RepId,
    access: &Secret,
    refresh: Option<&Secret>,
) -> Result<(), AppError> {
    let hashes: Vec<String> = std::iter::once(access)
        .chain(refresh)
        .map(|t| hash_secret(t.expose()))
        .collect();
    let rep_id = rep_id.clone();
    let ended = state
        .db(move |s| {
            let mut ended = 0;
            for hash in &hashes {
                let Some(family) = s.token_family(hash)? else {
                    continue;
                };
                if family.rep_id == rep_id && s.revoke_family(&family.id, Revocation::Logout)? {
                    ended += 1;
                }
            }
            Ok(ended)
        })
        .await?;
    tracing::info!(sessions = ended, "rep signed out");
    Ok(())
}

/// The session (token family) of a live rep access token: `None` for an API key, or a
/// token that is no longer live.
pub async fn session_of(state: &AppState, bearer: &Secret) -> Result<Option<String>, AppError> {
    if bearer.expose().starts_with(API_KEY_PREFIX) {
        return Ok(None);
    }
    let hash = hash_secret(bearer.expose());
    let family = state.db(move |s| s.token_family(&hash)).await?;
    Ok(family.filter(|f| !f.revoked).map(|f| f.id))
}

async fn token_response(
    state: &AppState,
    rep: RepRecord,
    access: Secret,
    refresh: Secret,
) -> Result<TokenResponse, AppError> {
    let merchant_id = rep.merchant_id.clone();
    let merchant = state
        .db(move |s| s.merchant(&merchant_id))
        .await?
        .ok_or_else(|| AppError::internal("rep without merchant"))?;
    Ok(TokenResponse {
        access_token: access,
        expires_in: state.settings.access_token_ttl_secs,
        refresh_token: refresh,
        rep: RepInfo {
            id: rep.id.into_string(),
            login: rep.login,
            name: rep.name,
            merchant_id: merchant.id.into_string(),
            merchant_name: merchant.name,
            credit_policy: merchant.settings.credit_policy,
            merchant_business_number: merchant.settings.business_number.clone(),
            merchant_representative: merchant.profile.representative.clone(),
            merchant_phone: fieldpay_protocol::phone::Phone::parse(&merchant.profile.phone)
                .map(|p| p.display())
                .unwrap_or_default(),
            merchant_address: merchant.profile.address.clone(),
            role: rep.role,
            must_change_password: rep.must_change_password,
            series: rep.series,
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
