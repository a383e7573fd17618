//! Purchase orders (발주서): `GET /v1/orders/{id}` and its signed PDF.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use fieldpay_protocol::phone::Phone;
use fieldpay_protocol::records::Order;
use fieldpay_protocol::share::{OrderShare, OrderShares, ShareKind, ShareOrder};
use fieldpay_protocol::{ChargeId, ErrorBody, ErrorCode, OrderId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::charges::own_charge;
use super::extract::JsonBody;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::{is_valid_client_id, random_token};
use crate::messages;
use crate::state::AppState;
use crate::store::NewShare;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(order))
        .routes(routes!(order_pdf))
        .routes(routes!(order_shares, share_order))
}

/// Read a purchase order
#[utoipa::path(
    get,
    path = "/v1/orders/{id}",
    operation_id = "get_order",
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = inline(OrderId), Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "No such order of the caller's merchant", body = ErrorBody),
    )
)]
async fn order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OrderId>,
) -> AppResult<Json<Order>> {
    own_order(&state, &caller, &id)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::not_found("order"))
}

/// An order of the caller's merchant, if any, that the caller may see and act on (a plain
/// rep: its own); another rep's order is refused as "not found".
pub(crate) async fn own_order(
    state: &AppState,
    caller: &Caller,
    id: &OrderId,
) -> AppResult<Option<Order>> {
    let (mid, oid) = (caller.merchant_id.clone(), id.clone());
    match state.db(move |s| s.order(&mid, &oid)).await? {
        Some(o) if !caller.may_touch(o.rep_id.as_deref()) => Err(AppError::not_found("order")),
        found => Ok(found),
    }
}

/// Download a signed purchase order's PDF
#[utoipa::path(
    get,
    path = "/v1/orders/{id}/pdf",
    operation_id = "get_order_pdf",
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = inline(OrderId), Path, description = "The order's id")),
    responses(
        (status = 200, description = "The purchase order (발주서) as signed", content(("application/pdf"))),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "No such order, or it has no PDF", body = ErrorBody),
    )
)]
async fn order_pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OrderId>,
) -> AppResult<impl IntoResponse> {
    own_order(&state, &caller, &id).await?;
    let pdf = state
        .db(move |s| s.order_pdf(&caller.merchant_id, &id))
        .await?
        .ok_or_else(|| AppError::not_found("purchase-order PDF"))?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf))
}

/// The texts sent about an order
///
/// Newest first: what was sent (the purchase order's PDF link or a receipt link), to which
/// phone, when, and where the text stands.
#[utoipa::path(
    get,
    path = "/v1/orders/{id}/shares",
    operation_id = "list_order_shares",
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = inline(OrderId), Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order's texts", body = OrderShares),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "No such order of the caller's merchant", body = ErrorBody),
    )
)]
async fn order_shares(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OrderId>,
) -> AppResult<Json<OrderShares>> {
    own_order(&state, &caller, &id)
        .await?
        .ok_or_else(|| AppError::not_found("order"))?;
    let shares = state
        .db(move |s| s.order_shares(&caller.merchant_id, &id))
        .await?;
    Ok(Json(OrderShares { shares }))
}

/// Text the purchase order or a receipt to a phone
///
/// Sends the signed purchase order (as a public, unguessable link to its PDF) or the receipt
/// link of a paid charge of the order to a Korean mobile number, through the merchant's text
/// sender, and logs it with the order. `share_id` is the idempotency key: the same id again
/// answers the first share and sends nothing more. At most 5 texts per order.
#[utoipa::path(
    post,
    path = "/v1/orders/{id}/shares",
    operation_id = "share_order",
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = inline(OrderId), Path, description = "The order's id")),
    request_body(content = ShareOrder, content_type = "application/json"),
    responses(
        (status = 200, description = "The share (queued to be texted)", body = OrderShare),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "No such order (or charge) of the caller", body = ErrorBody),
        (status = 409, description = "The order has no signed PDF, the charge is not paid, or the share id is taken", body = ErrorBody),
        (status = 422, description = "The body is malformed, the phone is not a mobile number, or the charge is not this order's", body = ErrorBody),
        (status = 429, description = "The order's texts are used up", body = ErrorBody),
    )
)]
async fn share_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OrderId>,
    JsonBody(req): JsonBody<ShareOrder>,
) -> AppResult<Json<OrderShare>> {
    let order = own_order(&state, &caller, &id)
        .await?
        .ok_or_else(|| AppError::not_found("order"))?;
    if !is_valid_client_id(&req.share_id) {
        return Err(AppError::invalid("share_id", "8 to 64 of A-Z a-z 0-9 _ -"));
    }
    let phone = Phone::parse_mobile(&req.to_phone).map_err(|_| {
        AppError::new(
            ErrorCode::InvalidPhone,
            "to_phone: 휴대폰 번호가 아닙니다 (not a Korean mobile number, e.g. 010-1234-5678)",
        )
    })?;
    let mid = caller.merchant_id.clone();
    let merchant_name = {
        let mid = mid.clone();
        state
            .db(move |s| s.merchant(&mid))
            .await?
            .map(|m| m.name)
            .unwrap_or_default()
    };
    let (charge_id, receipt) = match (req.kind, &req.charge_id) {
        (ShareKind::PurchaseOrder, None) => (None, None),
        (ShareKind::PurchaseOrder, Some(_)) => {
            return Err(AppError::invalid("charge_id", "only for a receipt"))
        }
        (ShareKind::Receipt, None) => {
            return Err(AppError::invalid(
                "charge_id",
                "a receipt needs the paid charge",
            ))
        }
        (ShareKind::Receipt, Some(c)) => {
            let cid = ChargeId::new(c.clone());
            let rec = own_charge(&state, &caller, &cid).await?;
            if rec.charge.order_ref.as_deref() != Some(order.id.as_str()) {
                return Err(AppError::invalid(
                    "charge_id",
                    "is not a charge of this order",
                ));
            }
            let Some(token) = rec
                .receipt_token
                .clone()
                .filter(|_| rec.charge.payment.is_some())
            else {
                return Err(AppError::new(
                    ErrorCode::InvalidState,
                    "결제되지 않은 요청에는 영수증이 없습니다 (the charge is not paid)",
                ));
            };
            let link = state.receipt_url(&token);
            let body = messages::share_receipt(&merchant_name, &rec, &link);
            (Some(cid), Some((link, body)))
        }
    };
    let share = NewShare {
        id: req.share_id,
        order_id: id,
        kind: req.kind,
        charge_id,
        to_phone: phone.digits().to_string(),
        token: random_token(32),
    };
    let base = state.settings.public_url.trim_end_matches('/').to_string();
    let number = order.number.clone().unwrap_or_else(|| order.id.clone());
    let total = order.totals.total;
    let kind = order.kind;
    let now = state.clock.now();
    let out = state
        .db(move |s| {
            let compose = |token: &str| match &receipt {
                Some((link, body)) => (link.clone(), body.clone()),
                None => {
                    let link = format!("{base}/d/{token}");
                    let body =
                        messages::share_purchase_order(&merchant_name, kind, &number, total, &link);
                    (link, body)
                }
            };
            s.share_order(&mid, &share, &compose, now)
        })
        .await?;
    Ok(Json(out))
}
