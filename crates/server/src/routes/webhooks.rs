//! `GET /v1/webhooks/deliveries`: the merchant's webhook delivery log.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::AppResult;
use crate::state::AppState;
use crate::store::DeliveryStatus;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/webhooks/deliveries", get(deliveries))
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct DeliveryView {
    pub id: String,
    pub event_type: String,
    pub url: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: String,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: String,
}

async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<Vec<DeliveryView>>> {
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
