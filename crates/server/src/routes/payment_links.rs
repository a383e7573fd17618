//! `/v1/payment-links`: make a payment link (API key or signed-in manager), read one, cancel
//! one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::payment_link::{CreatePaymentLink, PaymentLink, PaymentLinkCreated};
use fieldpay_protocol::{ErrorBody, ErrorCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::JsonBody;
use crate::auth::{Caller, Principal};
use crate::error::{AppError, AppResult};
use crate::paylinks;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(read))
        .routes(routes!(cancel))
}

/// Who may manage links: an API key, or a signed-in manager (as `created_by` names them).
fn link_maker(caller: &Caller) -> AppResult<String> {
    match &caller.principal {
        Principal::ApiKey { key_id } => Ok(format!("api_key:{key_id}")),
        Principal::Rep {
            rep_id,
            role: Role::Manager,
        } => Ok(format!("manager:{rep_id}")),
        Principal::Rep { .. } => Err(AppError::new(
            ErrorCode::Forbidden,
            "결제 링크는 API 키나 관리자만 만들 수 있습니다 (payment links need an API key or a signed-in manager)",
        )),
    }
}

/// Make a payment link
///
/// A page for the payer (shop mode: the payer types a mobile number and gets the bill text)
/// or for a call-centre agent (agent mode). Paid at most once.
#[utoipa::path(
    post,
    path = "/v1/payment-links",
    operation_id = "create_payment_link",
    tag = "payment-links",
    security(("bearer" = [])),
    request_body(content = CreatePaymentLink, content_type = "application/json"),
    responses(
        (status = 201, description = "Made", body = PaymentLinkCreated),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "A rep that is not a manager", body = ErrorBody),
        (status = 422, description = "The body is malformed or a field is invalid", body = ErrorBody),
    )
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreatePaymentLink>,
) -> AppResult<(StatusCode, Json<PaymentLinkCreated>)> {
    let by = link_maker(&caller)?;
    let rec = paylinks::create(&state, &caller.merchant_id, by, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(PaymentLinkCreated {
            url: paylinks::link_url(&state, rec.id()),
            id: rec.link.id.clone(),
            expires_at: crate::clock::ts(rec.link.expires_at),
        }),
    ))
}

/// Read a payment link
///
/// With its state (open, paid, expired, canceled) and current charge.
#[utoipa::path(
    get,
    path = "/v1/payment-links/{id}",
    operation_id = "get_payment_link",
    tag = "payment-links",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The link's id")),
    responses(
        (status = 200, description = "The link", body = PaymentLink),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "A rep that is not a manager", body = ErrorBody),
        (status = 404, description = "No such link of the caller's merchant", body = ErrorBody),
    )
)]
async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<PaymentLink>> {
    link_maker(&caller)?;
    let mid = caller.merchant_id.clone();
    let rec = state
        .db(move |s| s.payment_link(&mid, &id))
        .await?
        .ok_or_else(|| AppError::not_found("payment link"))?;
    Ok(Json(paylinks::view(&state, &rec)))
}

/// Cancel a payment link
///
/// No charge can be made from it any more; a charge of it under way is canceled too. A paid
/// link is refused (refund its charge instead). Canceling twice is fine.
#[utoipa::path(
    post,
    path = "/v1/payment-links/{id}/cancel",
    operation_id = "cancel_payment_link",
    tag = "payment-links",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The link's id")),
    responses(
        (status = 200, description = "Canceled", body = PaymentLink),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "A rep that is not a manager", body = ErrorBody),
        (status = 404, description = "No such link of the caller's merchant", body = ErrorBody),
        (status = 409, description = "The link is paid", body = ErrorBody),
    )
)]
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<PaymentLink>> {
    link_maker(&caller)?;
    let rec = paylinks::cancel(&state, &caller.merchant_id, id).await?;
    Ok(Json(paylinks::view(&state, &rec)))
}
