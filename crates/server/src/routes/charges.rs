//! `/v1/charges`: create (with `Idempotency-Key`), read, list, cancel, refund.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use fieldpay_protocol::charge::{
    CancelCharge, Charge, ChargeList, ChargeOrigin, ChargeStatus, CreateCharge, RefundCharge,
};
use fieldpay_protocol::{AccountId, ChargeId, ErrorBody, ErrorCode, RepId};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{parse_optional_json, parse_query, IdempotencyKey, JsonWithBytes};
use crate::auth::{Caller, Principal};
use crate::charges::{self, Requester};
use crate::domain::ChargeRequest;
use crate::error::{AppError, AppResult};
use crate::ids::sha256_hex;
use crate::state::AppState;
use crate::store::{ChargeFilter, ChargeRecord};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(read))
        .routes(routes!(cancel))
        .routes(routes!(refund))
        .routes(routes!(resend))
}

/// The charge as the API shows it: with the receipt link once paid.
pub fn view(state: &AppState, rec: ChargeRecord) -> Charge {
    let mut c = rec.charge;
    if let (Some(p), Some(t)) = (c.payment.as_mut(), rec.receipt_token.as_deref()) {
        p.receipt_url = Some(state.receipt_url(t));
    }
    c
}

fn requester(caller: &Caller, origin: ChargeOrigin) -> Requester {
    Requester {
        merchant_id: caller.merchant_id.clone(),
        rep_id: caller.rep_id().cloned(),
        api_key_id: match &caller.principal {
            Principal::ApiKey { key_id } => Some(key_id.clone()),
            Principal::Rep { .. } => None,
        },
        origin,
        link: None,
    }
}

/// Create an ARS charge
///
/// The payer gets a text with a virtual number to call; the charge's status follows the call.
#[utoipa::path(
    post,
    path = "/v1/charges",
    operation_id = "create_charge",
    tag = "charges",
    security(("bearer" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255,
            description = "Retry-safe key (1 to 255 visible characters): the same key and body answer the first charge again; the same key with another body is 409 `idempotency_conflict`"),
    ),
    request_body(content = CreateCharge, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Charge),
        (status = 200, description = "A retry with the same Idempotency-Key and body: the charge created by the first request", body = Charge),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "The account is not the merchant's", body = ErrorBody),
        (status = 409, description = "The Idempotency-Key was used with another body, or the account is closed", body = ErrorBody),
        (status = 422, description = "The body is malformed or a field is invalid (amount, phone, text)", body = ErrorBody),
        (status = 503, description = "Every virtual number is already bound to this payer phone", body = ErrorBody),
    )
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    IdempotencyKey(key): IdempotencyKey,
    JsonWithBytes(req, body): JsonWithBytes<CreateCharge>,
) -> AppResult<(StatusCode, Json<Charge>)> {
    let request = ChargeRequest::parse(&req)?;
    // The body's fingerprint tells a true retry from a reused key.
    let idempotency = key.map(|k| (k, sha256_hex(&body)));
    let origin = match caller.principal {
        Principal::Rep { .. } => ChargeOrigin::App,
        Principal::ApiKey { .. } => ChargeOrigin::Api,
    };
    let (rec, created) = charges::create(
        &state,
        requester(&caller, origin),
        request,
        None,
        idempotency,
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(&state, rec))))
}

/// Read a charge
///
/// With its status timeline and, once paid, the payment (masked card only) and receipt link.
#[utoipa::path(
    get,
    path = "/v1/charges/{id}",
    operation_id = "get_charge",
    tag = "charges",
    security(("bearer" = [])),
    params(("id" = inline(ChargeId), Path, description = "The charge's id")),
    responses(
        (status = 200, description = "The charge", body = Charge),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "No such charge of the caller's merchant", body = ErrorBody),
    )
)]
async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ChargeId>,
) -> AppResult<Json<Charge>> {
    let rec = own_charge(&state, &caller, &id).await?;
    Ok(Json(view(&state, rec)))
}

/// A charge of the caller's merchant that the caller may see and act on (a plain rep: its
/// own); anything else is "not found", as another merchant's charge is.
pub(crate) async fn own_charge(
    state: &AppState,
    caller: &Caller,
    id: &ChargeId,
) -> AppResult<ChargeRecord> {
    let (mid, cid) = (caller.merchant_id.clone(), id.clone());
    state
        .db(move |s| s.charge(&mid, &cid))
        .await?
        .filter(|rec| caller.may_touch(rec.charge.rep_id.as_deref()))
        .ok_or_else(|| AppError::not_found("charge"))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only charges in this status.
    #[param(inline, value_type = Option<ChargeStatus>)]
    status: Option<String>,
    /// Only charges of this client account.
    #[param(inline)]
    account_id: Option<AccountId>,
    /// Only charges this rep requested.
    #[param(inline)]
    rep_id: Option<RepId>,
    /// Only charges to this mobile number.
    payer_phone: Option<String>,
    /// Only charges paid with a card of this card company (its issuer code, as in
    /// `payment.issuer_code`).
    card_company: Option<String>,
    /// Created at or after this time (RFC 3339).
    from: Option<String>,
    /// Created before this time (RFC 3339).
    to: Option<String>,
    /// `next` of the previous page.
    #[param(inline)]
    after: Option<ChargeId>,
    /// Charges per page, 1 to 200 (default 50).
    limit: Option<u32>,
}

/// List charges, newest first
#[utoipa::path(
    get,
    path = "/v1/charges",
    operation_id = "list_charges",
    tag = "charges",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of charges", body = ChargeList),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "A rep asked for another rep's charges", body = ErrorBody),
        (status = 422, description = "A query parameter is unknown or invalid", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
) -> AppResult<Json<ChargeList>> {
    let q: ListQuery = parse_query(uri.query())?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(
            ChargeStatus::parse(s).ok_or_else(|| AppError::invalid("status", "unknown status"))?,
        ),
    };
    let payer_phone = match q.payer_phone.as_deref() {
        None => None,
        Some(p) => Some(
            crate::domain::parse_mobile("payer_phone", p)?
                .digits()
                .to_string(),
        ),
    };
    let rep_id = match caller.limited_to() {
        None => q.rep_id,
        Some(me) if q.rep_id.as_ref().is_none_or(|r| r == me) => Some(me.clone()),
        Some(_) => {
            return Err(AppError::new(
                ErrorCode::Forbidden,
                "다른 영업사원의 결제 요청은 관리자만 볼 수 있습니다 (another rep's charges need the manager role)",
            ))
        }
    };
    let issuer_code = match q.card_company {
        Some(c)
            if c.is_empty() || c.len() > 16 || !c.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            return Err(AppError::invalid(
                "card_company",
                "a card company code, e.g. 41",
            ))
        }
        c => c,
    };
    let filter = ChargeFilter {
        status,
        account_id: q.account_id,
        rep_id,
        payer_phone,
        issuer_code,
        created_from: q
            .from
            .as_deref()
            .map(|t| created_bound("from", t))
            .transpose()?,
        created_to: q
            .to
            .as_deref()
            .map(|t| created_bound("to", t))
            .transpose()?,
        after: q.after,
        limit: q.limit.unwrap_or(50),
    };
    Ok(Json(
        state
            .db(move |s| s.list_charges(&caller.merchant_id, &filter))
            .await?,
    ))
}

/// A `from`/`to` time (RFC 3339, any offset) in the stored form (UTC, `Z`), so that the
/// store's text comparison is a time comparison.
fn created_bound(field: &str, v: &str) -> AppResult<String> {
    crate::clock::parse_ts(v.trim())
        .map(crate::clock::ts)
        .ok_or_else(|| {
            AppError::invalid(
                field,
                "use an RFC 3339 time, e.g. 2026-11-27T09:00:00+09:00",
            )
        })
}

/// Cancel a charge before it is paid
#[utoipa::path(
    post,
    path = "/v1/charges/{id}/cancel",
    operation_id = "cancel_charge",
    tag = "charges",
    security(("bearer" = [])),
    params(("id" = inline(ChargeId), Path, description = "The charge's id")),
    request_body(content = Option<CancelCharge>, content_type = "application/json",
        description = "Optional: an empty body cancels without a reason"),
    responses(
        (status = 200, description = "The canceled charge", body = Charge),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "No such charge of the caller's merchant", body = ErrorBody),
        (status = 409, description = "The charge can no longer be canceled (e.g. it is paid)", body = ErrorBody),
        (status = 422, description = "The body is malformed or the reason invalid", body = ErrorBody),
    )
)]
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ChargeId>,
    body: Bytes,
) -> AppResult<Json<Charge>> {
    let reason = parse_optional_json::<CancelCharge>(&body)?.and_then(|b| b.reason);
    let reason = crate::domain::parse_optional_text("reason", reason.as_deref(), 200)?;
    own_charge(&state, &caller, &id).await?;
    let rec = charges::cancel(&state, &caller.merchant_id, &id, reason).await?;
    Ok(Json(view(&state, rec)))
}

/// Refund a paid charge, whole or in part
///
/// Without `amount`, refunds all that remains; with it, that many KRW (more than 0, at most
/// what remains). The charge stays `approved` while part of it stands, with its refunded total
/// in `payment.refunded_amount` and each refund in `payment.refunds`; it becomes `refunded`
/// when nothing remains. Each refund sends the `charge.refunded` webhook. If the card network's
/// answer is lost, ask for the same refund (same amount) again: it is the same refund, never a
/// second one.
#[utoipa::path(
    post,
    path = "/v1/charges/{id}/refund",
    operation_id = "refund_charge",
    tag = "charges",
    security(("bearer" = [])),
    params(("id" = inline(ChargeId), Path, description = "The charge's id")),
    request_body(content = Option<RefundCharge>, content_type = "application/json",
        description = "Optional: an empty body refunds all that remains, without a reason"),
    responses(
        (status = 200, description = "The charge after the refund", body = Charge),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "A rep without the manager role", body = ErrorBody),
        (status = 404, description = "No such charge of the caller's merchant", body = ErrorBody),
        (status = 409, description = "The charge is not approved (`invalid_state`), another refund of it is in progress (`invalid_state`), or the amount is more than what remains to refund (`refund_exceeds_remaining`)", body = ErrorBody),
        (status = 422, description = "The body is malformed, the reason invalid, or the amount not more than 0 (`invalid_amount`)", body = ErrorBody),
        (status = 502, description = "The card network could not refund, or its answer was lost (ask for the same refund again)", body = ErrorBody),
    )
)]
async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ChargeId>,
    body: Bytes,
) -> AppResult<Json<Charge>> {
    let body = parse_optional_json::<RefundCharge>(&body)?.unwrap_or_default();
    let reason = crate::domain::parse_optional_text("reason", body.reason.as_deref(), 200)?;
    if let Some(a) = body.amount {
        if a <= 0 {
            return Err(AppError::new(
                ErrorCode::InvalidAmount,
                "amount: a refund is more than 0 KRW",
            ));
        }
    }
    caller.require_manager()?;
    let rec = charges::refund(&state, &caller.merchant_id, &id, body.amount, reason).await?;
    Ok(Json(view(&state, rec)))
}

/// Text the bill again
#[utoipa::path(
    post,
    path = "/v1/charges/{id}/resend",
    operation_id = "resend_charge",
    tag = "charges",
    security(("bearer" = [])),
    params(("id" = inline(ChargeId), Path, description = "The charge's id")),
    responses(
        (status = 200, description = "The charge; its bill is texted again", body = Charge),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "No such charge of the caller's merchant", body = ErrorBody),
        (status = 409, description = "The charge no longer waits for the payer", body = ErrorBody),
    )
)]
async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ChargeId>,
) -> AppResult<Json<Charge>> {
    own_charge(&state, &caller, &id).await?;
    let rec = charges::resend_bill(&state, &caller.merchant_id, &id).await?;
    Ok(Json(view(&state, rec)))
}
