//! Rep sign-in (`POST /v1/auth/login`) and token refresh (`POST /v1/auth/refresh`).

use axum::extract::State;
use axum::Json;
use fieldpay_protocol::auth::{LoginRequest, RefreshRequest, TokenResponse};
use fieldpay_protocol::{ErrorBody, ErrorCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::JsonBody;
use crate::auth::{hash_secret, issue_tokens, new_refresh_token, verify_password};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::TokenKind;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
}

/// Sign a rep in
///
/// Answers a short-lived access token (the bearer of the rep's requests) and a refresh token.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Merchant code, rep id or password is wrong, or the rep is inactive", body = ErrorBody),
        (status = 422, description = "The body is not a sign-in request", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> AppResult<Json<TokenResponse>> {
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
    let hash = rep
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| crate::auth::dummy_hash().clone());
    let password = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(AppError::internal)?;
    match rep {
        Some(rep) if ok && rep.active => {
            tracing::info!(rep_id = %rep.id, "rep signed in");
            Ok(Json(
                issue_tokens(&state, rep, req.device_name, None).await?,
            ))
        }
        _ => Err(bad()),
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
