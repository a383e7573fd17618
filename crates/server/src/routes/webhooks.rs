//! `GET /v1/webhooks/deliveries`: the merchant's webhook delivery log.

use axum::extract::State;
use axum::Json;
use fieldpay_protocol::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::AppResult;
use crate::state::AppState;
use crate::store::DeliveryStatus;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(deliveries))
}

/// One webhook delivery: an event sent (or being sent) to the merchant's URL.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: String,
    /// E.g. `charge.approved`.
    pub event_type: String,
    pub url: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: String,
    /// The HTTP status of the last attempt, when it got an answer.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: String,
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
        (status = 200, description = "The deliveries, newest first", body = Vec<DeliveryView>),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "A rep without the manager role", body = ErrorBody),
    )
)]
async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<Vec<DeliveryView>>> {
    caller.require_manager()?;
    let rows = state
        .db(move |s| s.webhooks(&caller.merchant_id, 200))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|w| DeliveryView {
                id: w.id,
                event_type: w.event_type,
                url: w.url,
                status: w.status,
                attempts: w.attempts,
                next_attempt_at: w.next_attempt_at,
                last_status: w.last_status,
                last_error: w.last_error,
                created_at: w.created_at,
            })
            .collect(),
    ))
}
