//! Rep sign-in (`POST /v1/auth/login`) and token refresh (`POST /v1/auth/refresh`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use fieldpay_protocol::auth::{LoginRequest, RefreshRequest, TokenResponse};
use fieldpay_protocol::{ErrorBody, ErrorCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::JsonBody;
use crate::auth::{hash_secret, issue_tokens, new_refresh_token};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::TokenKind;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
}

/// The address of the connection's peer (no proxy header is trusted); `None` when the
/// router is served without connection info.
struct ClientIp(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(ClientIp(peer.map(|ConnectInfo(addr)| addr.ip())))
    }
}

/// A refusal of the sign-in route: the API's typed error, or too many attempts (`429` with
/// `Retry-After` in whole seconds).
enum Refusal {
    Error(AppError),
    TooMany(Duration),
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::Error(e)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Error(e) => e.into_response(),
            Refusal::TooMany(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let secs = secs.max(1);
                let e = AppError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "로그인 시도가 너무 많습니다. {secs}초 후에 다시 시도하세요 \
                         (too many sign-in attempts; try again in {secs} s)"
                    ),
                );
                ([(header::RETRY_AFTER, secs.to_string())], e).into_response()
            }
        }
    }
}

/// Sign a rep in
///
/// Answers a short-lived access token (the bearer of the rep's requests) and a refresh token.
/// Attempts are limited per client address and per account.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Merchant code, rep id or password is wrong, or the rep is inactive", body = ErrorBody),
        (status = 422, description = "The body is not a sign-in request", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address or for this account", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until an attempt is allowed again"))),
    )
)]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<TokenResponse>, Refusal> {
    if let Err(wait) = state.sign_in.admit(ip, &req.merchant, &req.rep_id) {
        // What was typed is not logged (a password typed into the wrong field, say).
        tracing::warn!(client = ?ip, "sign-in attempts limited");
        return Err(Refusal::TooMany(wait));
    }
    let bad = || {
        AppError::new(
            ErrorCode::Unauthorized,
            "가맹점 코드, 아이디 또는 비밀번호가 맞지 않습니다 (merchant, rep id or password is wrong)",
        )
    };
    let code = req.merchant.trim().to_string();
    let merchant = state.db(move |s| s.merchant_by_code(&code)).await?;
    let rep = match &merchant {
        Some(m) => {
            let (mid, login) = (m.id.clone(), req.rep_id.trim().to_string());
            state.db(move |s| s.rep_by_login(&mid, &login)).await?
        }
        None => None,
    };
    let hash = rep.as_ref().map(|r| r.password_hash.clone());
    let ok = state.sign_in.verify(req.password.clone(), hash).await?;
    match rep {
        Some(rep) if ok && rep.active => {
            tracing::info!(rep_id = %rep.id, "rep signed in");
            Ok(Json(
                issue_tokens(&state, rep, req.device_name, None).await?,
            ))
        }
        _ => Err(bad().into()),
    }
}

/// Refresh a rep's tokens
///
/// Answers a new access token and a new refresh token; the refresh token given is used up.
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    request_body(content = RefreshRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "The refresh token is unknown, used or expired", body = ErrorBody),
        (status = 422, description = "The body is not a refresh request", body = ErrorBody),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> AppResult<Json<TokenResponse>> {
    let old = hash_secret(req.refresh_token.expose());
    let now = state.clock.now();
    let o2 = old.clone();
    let rep = state
        .db(move |s| s.token(&o2, TokenKind::Refresh, now))
        .await?
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::Unauthorized,
                "로그인이 만료되었습니다. 다시 로그인하세요 (refresh token is unknown, used or expired; sign in again)",
            )
        })?;
    let new_refresh = new_refresh_token();
    let (nh, rep2) = (hash_secret(new_refresh.expose()), rep.clone());
    let exp = now + chrono::Duration::seconds(state.settings.refresh_token_ttl_secs as i64);
    let rotated = state
        .db(move |s| s.rotate_refresh(&old, &nh, &rep2, exp))
        .await?;
    if !rotated {
        return Err(AppError::new(
            ErrorCode::Unauthorized,
            "로그인이 만료되었습니다. 다시 로그인하세요 (refresh token was already used; sign in again)",
        ));
    }
    Ok(Json(
        issue_tokens(&state, rep, None, Some(new_refresh)).await?,
    ))
}
