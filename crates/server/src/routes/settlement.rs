//! Settlement (정산) of a day or a month by card company and by rep: `GET /v1/settlement`
//! and its CSV.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use chrono::NaiveDate;
use fieldpay_protocol::settlement::SettlementReport;
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
    OpenApiRouter::new()
        .routes(routes!(settlement))
        .routes(routes!(settlement_csv))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DateQuery {
    /// The KST day, `YYYY-MM-DD`; today when neither this nor `month` is given.
    #[serde(default)]
    #[param(format = Date)]
    date: Option<String>,
    /// A KST month, `YYYY-MM`, instead of a day.
    #[serde(default)]
    month: Option<String>,
}

async fn report(state: &AppState, caller: &Caller, q: Option<&str>) -> AppResult<SettlementReport> {
    let q: DateQuery = parse_query(q)?;
    let period = match (q.date, q.month) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                "month",
                "give a date or a month, not both",
            ))
        }
        (Some(d), None) => Period::Day(
            NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|_| AppError::invalid("date", "use YYYY-MM-DD"))?,
        ),
        (None, Some(m)) => Period::Month(
            NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
                .ok()
                .filter(|_| m.len() == 7)
                .ok_or_else(|| AppError::invalid("month", "use YYYY-MM"))?,
        ),
        (None, None) => Period::Day(state.clock.now().with_timezone(&kst()).date_naive()),
    };
    let (mid, only) = (caller.merchant_id.clone(), caller.limited_to().cloned());
    state
        .db(move |s| s.settlement(&mid, period, only.as_ref()))
        .await
}

/// The settlement of a day or a month
///
/// Approved and refunded payments of one KST day (or month, with `month`), by card company
/// and by rep. A rep without the manager role sees its own payments only.
#[utoipa::path(
    get,
    path = "/v1/settlement",
    operation_id = "get_settlement",
    tag = "settlement",
    security(("bearer" = [])),
    params(DateQuery),
    responses(
        (status = 200, description = "The day's settlement", body = SettlementReport),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 422, description = "The date or another query parameter is invalid", body = ErrorBody),
    )
)]
async fn settlement(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
) -> AppResult<Json<SettlementReport>> {
    Ok(Json(report(&state, &caller, uri.query()).await?))
}

/// The settlement as CSV
///
/// One row per card company (`table` = `card_company`), per rep (`rep`) and the total
/// (`total`), with the columns `date,table,key,name,approved_count,approved_amount,
/// refunded_count,refunded_amount,net_amount`.
#[utoipa::path(
    get,
    path = "/v1/settlement.csv",
    operation_id = "get_settlement_csv",
    tag = "settlement",
    security(("bearer" = [])),
    params(DateQuery),
    responses(
        (status = 200, description = "The day's settlement, an attachment `settlement-YYYY-MM-DD.csv` (or `settlement-YYYY-MM.csv`)", body = String, content_type = "text/csv"),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 422, description = "The date or another query parameter is invalid", body = ErrorBody),
    )
)]
async fn settlement_csv(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
) -> AppResult<impl IntoResponse> {
    let r = report(&state, &caller, uri.query()).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| AppError::internal(e);
    w.write_record([
        "date",
        "table",
        "key",
        "name",
        "approved_count",
        "approved_amount",
        "refunded_count",
        "refunded_amount",
        "net_amount",
    ])
    .map_err(io)?;
    let rows = r
        .by_card_company
        .iter()
        .map(|x| ("card_company", x))
        .chain(r.by_rep.iter().map(|x| ("rep", x)))
        .chain(std::iter::once(("total", &r.total)));
    for (table, x) in rows {
        w.write_record([
            r.date.as_str(),
            table,
            &x.key,
            &x.name,
            &x.approved_count.to_string(),
            &x.approved_amount.to_string(),
            &x.refunded_count.to_string(),
            &x.refunded_amount.to_string(),
            &x.net_amount.to_string(),
        ])
        .map_err(io)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::internal(e.to_string()))?;
    let name = format!("attachment; filename=\"settlement-{}.csv\"", r.date);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        body,
    ))
}
