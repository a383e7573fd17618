//! Daily settlement (정산) by card company and by rep: `GET /v1/settlement` and its CSV.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use fieldpay_protocol::settlement::SettlementReport;
use serde::Deserialize;

use super::extract::parse_query;
use crate::auth::Caller;
use crate::clock::kst;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/settlement", get(settlement))
        .route("/v1/settlement.csv", get(settlement_csv))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DateQuery {
    #[serde(default)]
    date: Option<String>,
}

async fn report(state: &AppState, caller: &Caller, q: Option<&str>) -> AppResult<SettlementReport> {
    let q: DateQuery = parse_query(q)?;
    let date = match q.date {
        Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|_| AppError::invalid("date", "use YYYY-MM-DD"))?,
        None => state.clock.now().with_timezone(&kst()).date_naive(),
    };
    let mid = caller.merchant_id.clone();
    state.db(move |s| s.settlement(&mid, date)).await
}

async fn settlement(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
) -> AppResult<Json<SettlementReport>> {
    Ok(Json(report(&state, &caller, uri.query()).await?))
}

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
