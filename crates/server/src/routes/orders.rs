//! Purchase orders (발주서): `GET /v1/orders/{id}` and its signed PDF.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use fieldpay_protocol::records::Order;
use fieldpay_protocol::{ErrorBody, OrderId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(order))
        .routes(routes!(order_pdf))
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
