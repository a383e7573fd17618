//! Rep sign-in (`POST /v1/auth/login`), token refresh (`POST /v1/auth/refresh`) and sign-out
//! (`POST /v1/auth/logout`).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fieldpay_protocol::auth::{ChangePassword, LoginRequest, RefreshRequest, TokenResponse};
use fieldpay_protocol::{ErrorBody, ErrorCode, Secret};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{bearer, parse_optional_json, ClientIp, JsonBody};
use crate::auth::{self, Caller};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_password))
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
/// Answers a short-lived access token (the bearer of the rep's requests) and a refresh token,
/// both of a new session. Attempts are limited per client address and per account.
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
    if let Err(wait) = state.sign_in.admit(ip, &req.merchant, &req.rep_id).await? {
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
            Ok(Json(auth::sign_in(&state, rep, req.device_name).await?))
        }
        _ => Err(bad().into()),
    }
}

/// Refresh a rep's tokens
///
/// Answers a new access token and a new refresh token of the same session; the refresh token
/// given is used up. A used refresh token presented again some seconds after its use ends
/// the whole session (it was copied).
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    request_body(content = RefreshRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "The refresh token is unknown, used or expired, or its session ended", body = ErrorBody),
        (status = 422, description = "The body is not a refresh request", body = ErrorBody),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> AppResult<Json<TokenResponse>> {
    Ok(Json(auth::refresh(&state, &req.refresh_token).await?))
}

/// Sign a rep out
///
/// Ends the session of the access token (its refresh and access tokens stop working, its
/// event streams end) and, when the body names one, the session of a refresh token of the
/// same rep.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    request_body(content = Option<RefreshRequest>, content_type = "application/json",
        description = "Optional: a refresh token whose session to end as well"),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "An API key, not a rep's access token", body = ErrorBody),
        (status = 422, description = "The body is neither empty nor a refresh token", body = ErrorBody),
    )
)]
async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    parts: Parts,
    body: Bytes,
) -> AppResult<StatusCode> {
    let Some(rep_id) = caller.rep_id() else {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "an API key has no session to end; sign-out is for reps",
        ));
    };
    let access = Secret::new(bearer(&parts)?);
    let req: Option<RefreshRequest> = parse_optional_json(&body)?;
    auth::sign_out(
        &state,
        rep_id,
        &access,
        req.as_ref().map(|r| &r.refresh_token),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the signed-in rep's password
///
/// The current password and a new one of at least 8 characters. A rep signed in with a
/// one-time password (a new rep, a reset) must call this first: every other call answers
/// 403 `password_change_required` until then. The rep's sessions stay signed in.
#[utoipa::path(
    post,
    path = "/v1/auth/password",
    tag = "auth",
    security(("bearer" = [])),
    request_body(content = ChangePassword, content_type = "application/json"),
    responses(
        (status = 204, description = "Changed"),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "An API key, or the current password is wrong", body = ErrorBody),
        (status = 422, description = "The new password is too short or the same", body = ErrorBody),
    )
)]
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<ChangePassword>,
) -> AppResult<StatusCode> {
    let Some(rep_id) = caller.rep_id().cloned() else {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "an API key has no password; this is for reps",
        ));
    };
    let merchant_id = caller.merchant_id.clone();
    crate::admin::run(&state, move |s| {
        crate::admin::change_password(
            s,
            &merchant_id,
            &rep_id,
            &req.current_password,
            &req.new_password,
        )
    })
    .await?;
    tracing::info!("rep changed its password");
    Ok(StatusCode::NO_CONTENT)
}
