//! `/v1/charges`: create (with `Idempotency-Key`), read, list, cancel, refund.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use fieldpay_protocol::charge::{
    CancelCharge, Charge, ChargeList, ChargeOrigin, ChargeStatus, CreateCharge, RefundCharge,
};
use fieldpay_protocol::{AccountId, ChargeId, RepId};
use serde::Deserialize;

use super::extract::{parse_optional_json, parse_query, IdempotencyKey, JsonWithBytes};
use crate::auth::{Caller, Principal};
use crate::charges::{self, Requester};
use crate::domain::ChargeRequest;
use crate::error::{AppError, AppResult};
use crate::ids::sha256_hex;
use crate::state::AppState;
use crate::store::{ChargeFilter, ChargeRecord};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/charges", post(create).get(list))
        .route("/v1/charges/{id}", get(read))
        .route("/v1/charges/{id}/cancel", post(cancel))
        .route("/v1/charges/{id}/refund", post(refund))
        .route("/v1/charges/{id}/resend", post(resend))
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
    }
}

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

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ChargeId>,
) -> AppResult<Json<Charge>> {
    let rec = state
        .db(move |s| s.charge(&caller.merchant_id, &id))
        .await?
        .ok_or_else(|| AppError::not_found("charge"))?;
    Ok(Json(view(&state, rec)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    account_id: Option<AccountId>,
    rep_id: Option<RepId>,
    payer_phone: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<ChargeId>,
    limit: Option<u32>,
}

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
    let filter = ChargeFilter {
        status,
        account_id: q.account_id,
        rep_id: q.rep_id,
        payer_phone,
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

async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ChargeId>,
    body: Bytes,
) -> AppResult<Json<Charge>> {
    let reason = parse_optional_json::<CancelCharge>(&body)?.and_then(|b| b.reason);
    let reason = crate::domain::parse_optional_text("reason", reason.as_deref(), 200)?;
    let rec = charges::cancel(&state, &caller.merchant_id, &id, reason).await?;
    Ok(Json(view(&state, rec)))
}

async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ChargeId>,
    body: Bytes,
) -> AppResult<Json<Charge>> {
    let reason = parse_optional_json::<RefundCharge>(&body)?.and_then(|b| b.reason);
    let reason = crate::domain::parse_optional_text("reason", reason.as_deref(), 200)?;
    let rec = charges::refund(&state, &caller.merchant_id, &id, reason).await?;
    Ok(Json(view(&state, rec)))
}

async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ChargeId>,
) -> AppResult<Json<Charge>> {
    let rec = charges::resend_bill(&state, &caller.merchant_id, &id).await?;
    Ok(Json(view(&state, rec)))
}
