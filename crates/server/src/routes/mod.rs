//! HTTP routes, one file per area, over the services. Each area's `router()` is merged here.

pub mod accounts;
pub mod auth;
pub mod charges;
pub mod events;
pub mod extract;
pub mod orders;
pub mod pages;
pub mod settlement;
pub mod sync;
pub mod webhooks;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// The JSON API (`/v1`) and the health check.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .merge(auth::router())
        .merge(accounts::router())
        .merge(events::router())
        .merge(settlement::router())
        .merge(webhooks::router())
        .merge(charges::router())
        .merge(sync::router())
        .merge(orders::router())
}

async fn health() -> &'static str {
    "ok"
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../openapi.json"),
    )
}
