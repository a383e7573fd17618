//! The manager's routes (`/v1/manager/...`): the team, API keys, the integration view and the
//! merchant settings a manager may change. Every one needs a rep token with the manager role
//! (an API key acts for the merchant, so it is accepted too); a plain rep gets 403.

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use fieldpay_protocol::manager::TeamReport;
use fieldpay_protocol::ErrorBody;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::parse_query;
use crate::auth::Caller;
use crate::clock::kst;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::settlement::Period;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(team))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TeamQuery {
    /// The KST day, `YYYY-MM-DD`; today when absent.
    #[serde(default)]
    #[param(format = Date)]
    date: Option<String>,
}

/// The team and its day
///
/// Every rep of the merchant (active first) with the orders it signed and the payments
/// approved on its charges that KST day.
#[utoipa::path(
    get,
    path = "/v1/manager/team",
    operation_id = "get_team",
    tag = "manager",
    security(("bearer" = [])),
    params(TeamQuery),
    responses(
        (status = 200, description = "The team", body = TeamReport),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "A rep without the manager role", body = ErrorBody),
        (status = 422, description = "The date is invalid", body = ErrorBody),
    )
)]
async fn team(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
) -> AppResult<Json<TeamReport>> {
    caller.require_manager()?;
    let q: TeamQuery = parse_query(uri.query())?;
    let date = match q.date {
        Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|_| AppError::invalid("date", "use YYYY-MM-DD"))?,
        None => state.clock.now().with_timezone(&kst()).date_naive(),
    };
    let mid = caller.merchant_id.clone();
    let reps = state.db(move |s| s.team(&mid, Period::Day(date))).await?;
    Ok(Json(TeamReport {
        date: date.format("%Y-%m-%d").to_string(),
        reps,
    }))
}
