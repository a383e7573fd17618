//! `GET /v1/webhooks/deliveries`: the merchant's webhook delivery log.

use axum::extract::State;
use axum::Json;
use fieldpay_protocol::manager::WebhookDelivery;
use fieldpay_protocol::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::AppResult;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(deliveries))
}

/// The webhook delivery log
///
/// The merchant's 200 latest deliveries.
#[utoipa::path(
    get,
    path = "/v1/webhooks/deliveries",
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The deliveries, newest first", body = Vec<WebhookDelivery>),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "A rep without the manager role", body = ErrorBody),
    )
)]
async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<Vec<WebhookDelivery>>> {
    caller.require_manager()?;
    let rows = state
        .db(move |s| s.webhooks(&caller.merchant_id, 200))
        .await?;
    Ok(Json(rows.into_iter().map(WebhookDelivery::from).collect()))
}
