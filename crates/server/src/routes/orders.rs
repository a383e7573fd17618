//! Purchase orders (발주서): `GET /v1/orders/{id}` and its signed PDF.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use fieldpay_protocol::records::Order;
use fieldpay_protocol::OrderId;

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orders/{id}", get(order))
        .route("/v1/orders/{id}/pdf", get(order_pdf))
}

async fn order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OrderId>,
) -> AppResult<Json<Order>> {
    state
        .db(move |s| s.order(&caller.merchant_id, &id))
        .await?
        .map(Json)
        .ok_or_else(|| AppError::not_found("order"))
}

async fn order_pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OrderId>,
) -> AppResult<impl IntoResponse> {
    let pdf = state
        .db(move |s| s.order_pdf(&caller.merchant_id, &id))
        .await?
        .ok_or_else(|| AppError::not_found("purchase-order PDF"))?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf))
}
