//! What every route reads from a request, with the API's typed errors: the caller (from the
//! `Authorization` header), JSON bodies, query strings and the `Idempotency-Key` header.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use fieldpay_protocol::ErrorCode;
use serde::de::DeserializeOwned;

use crate::auth::{authenticate, Caller};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Parses a JSON body into `T`; any failure is a typed `malformed_body` error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| AppError::new(ErrorCode::MalformedBody, format!("invalid JSON body: {e}")))
}

/// An optional JSON body: empty (or only white space) means none.
pub fn parse_optional_json<T: DeserializeOwned>(body: &[u8]) -> AppResult<Option<T>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(None)
    } else {
        parse_json(body).map(Some)
    }
}

/// Query strings with the API's typed error.
pub fn parse_query<T: DeserializeOwned>(q: Option<&str>) -> AppResult<T> {
    serde_urlencoded::from_str(q.unwrap_or("")).map_err(|e| AppError::invalid("query", e))
}

fn require_json(headers: &HeaderMap) -> AppResult<()> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::MalformedBody,
            "Content-Type must be application/json",
        ))
    }
}

/// Like `axum::Json`, but a bad body is answered with the API's typed error.
pub struct JsonBody<T>(pub T);

/// A JSON body together with its bytes as received (to fingerprint a request).
pub struct JsonWithBytes<T>(pub T, pub Bytes);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonWithBytes<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(req.headers())?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::new(ErrorCode::MalformedBody, e.to_string()))?;
        let value = parse_json(&bytes)?;
        Ok(JsonWithBytes(value, bytes))
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        JsonWithBytes::from_request(req, state)
            .await
            .map(|JsonWithBytes(value, _)| JsonBody(value))
    }
}

/// The `Idempotency-Key` header, when given: 1 to 255 visible characters.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = v
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 255)
            .ok_or_else(|| {
                AppError::invalid("Idempotency-Key", "must be 1 to 255 visible characters")
            })?;
        Ok(IdempotencyKey(Some(key.to_string())))
    }
}

fn unauthorized(msg: &str) -> AppError {
    AppError::new(ErrorCode::Unauthorized, msg)
}

/// The token of an `Authorization: Bearer ...` header.
pub fn bearer(parts: &Parts) -> AppResult<&str> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("missing Authorization: Bearer header"))?;
    let value = header
        .to_str()
        .map_err(|_| unauthorized("Authorization header is not text"))?;
    value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("Authorization must be 'Bearer <key or token>'"))
}

/// The route a rep with a one-time password must call first (signing out is allowed too).
pub const PASSWORD_PATH: &str = "/v1/auth/password";

/// The caller of a `/v1` route: a rep that must change its one-time password first is refused
/// (`password_change_required`) everywhere but [`PASSWORD_PATH`] and sign-out.
impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = fieldpay_protocol::Secret::new(bearer(parts)?);
        let caller = authenticate(state, &token).await?;
        let allowed = [PASSWORD_PATH, "/v1/auth/logout"].contains(&parts.uri.path());
        if caller.must_change_password && !allowed {
            return Err(AppError::new(
                ErrorCode::PasswordChangeRequired,
                "임시 비밀번호를 먼저 바꾸세요 (change the one-time password first: POST /v1/auth/password)",
            ));
        }
        Ok(caller)
    }
}

/// The address of the connection's peer (no proxy header is trusted); `None` when the
/// router is served without connection info. What the sign-in and the web pages' limits
/// count by.
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientIp(
            peer.map(|axum::extract::ConnectInfo(addr)| addr.ip()),
        ))
    }
}
