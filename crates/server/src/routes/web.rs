//! The web pages' shared files: the stylesheet and the live-status script of
//! [`crate::web::layout`] (served from here so the pages' CSP allows no inline style or
//! script).

use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use crate::web::layout;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(style))
        .routes(routes!(script))
}

/// The web pages' stylesheet
#[utoipa::path(
    get,
    path = "/web/style.css",
    operation_id = "web_style",
    tag = "pages",
    responses((status = 200, description = "The stylesheet of the web pages", body = String, content_type = "text/css"))
)]
async fn style() -> Response {
    layout::asset("text/css; charset=utf-8", layout::STYLE)
}

/// The live-status script
#[utoipa::path(
    get,
    path = "/web/status.js",
    operation_id = "web_status_script",
    tag = "pages",
    responses((status = 200, description = "Follows a payment's status on its page (server-sent events, else polling)", body = String, content_type = "text/javascript"))
)]
async fn script() -> Response {
    layout::asset("text/javascript; charset=utf-8", layout::SCRIPT)
}
