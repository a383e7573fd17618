//! HTTP routes, one file per area, over the services. Each area's `router()` (an
//! [`OpenApiRouter`]: its routes with their descriptions) is merged here.
//!
//! Add a route with `.routes(routes!(handler))` on a handler that has a `#[utoipa::path]`, one
//! `routes!` per path: `routes!` mounts every handler it names on every path they name, so
//! handlers of different paths in one `routes!` would also answer on each other's paths.

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod charges;
pub mod events;
pub mod extract;
pub mod manager;
mod orders;
pub mod pages;
pub mod pay;
pub mod payment_links;
pub mod settlement;
pub mod sync;
pub mod web;
pub mod webhooks;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The JSON API (`/v1`), its description and the health check.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(crate::openapi::document))
        .merge(auth::router())
        .merge(accounts::router())
        .merge(events::router())
        .merge(settlement::router())
        .merge(webhooks::router())
        .merge(charges::router())
        .merge(sync::router())
        .merge(orders::router())
        .merge(payment_links::router())
        .merge(manager::router())
        .merge(admin::router())
}

/// Health check
///
/// Answers `ok` while the server runs.
#[utoipa::path(
    get,
    path = "/health",
    tag = "meta",
    responses((status = 200, description = "The server runs", body = String, content_type = "text/plain", example = "ok"))
)]
async fn health() -> &'static str {
    "ok"
}
