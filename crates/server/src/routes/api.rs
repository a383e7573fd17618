//! The JSON API (`/v1`): shared extractors, sign-in, records, reports, the event stream and
//! the OpenAPI document. Charges and device sync have files of their own.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use fieldpay_protocol::auth::{LoginRequest, RefreshRequest, TokenResponse};
use fieldpay_protocol::records::Account;
use fieldpay_protocol::settlement::SettlementReport;
use fieldpay_protocol::ErrorCode;
use futures_util::stream::Stream;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

use crate::app::AppState;
use crate::auth::{hash_secret, issue_tokens, verify_password};
use crate::clock::kst;
use crate::error::{AppError, AppResult};
use crate::store::{Caller, Principal};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/accounts", get(accounts))
        .route("/v1/accounts/{id}", get(account))
        .route("/v1/events", get(events))
        .route("/v1/settlement", get(settlement))
        .route("/v1/settlement.csv", get(settlement_csv))
        .route("/v1/webhooks/deliveries", get(deliveries))
        .merge(super::charges::router())
        .merge(super::sync::router())
}

/// Parses a JSON body into `T`; any failure is a typed `malformed_body` error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| AppError::new(ErrorCode::MalformedBody, format!("invalid JSON body: {e}")))
}

/// Like `axum::Json`, but a bad body is answered with the API's typed error.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(AppError::new(
                ErrorCode::MalformedBody,
                "Content-Type must be application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::new(ErrorCode::MalformedBody, e.to_string()))?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Query strings with the API's typed error.
pub fn parse_query<T: DeserializeOwned>(q: Option<&str>) -> AppResult<T> {
    serde_urlencoded::from_str(q.unwrap_or("")).map_err(|e| AppError::invalid("query", e))
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

async fn login(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> AppResult<Json<TokenResponse>> {
    let bad = || {
        AppError::new(
            ErrorCode::Unauthorized,
            "가맹점 코드, 아이디 또는 비밀번호가 맞지 않습니다 (merchant, rep id or password is wrong)",
        )
    };
    let code = req.merchant.trim().to_string();
    let merchant = state.db(move |s| s.merchant_by_code(&code)).await?;
    let rep = match &merchant {
        Some(m) => {
            let (mid, login) = (m.id.clone(), req.rep_id.trim().to_string());
            state.db(move |s| s.rep_by_login(&mid, &login)).await?
        }
        None => None,
    };
    let hash = rep
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| crate::auth::dummy_hash().to_string());
    let password = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(password.expose(), &hash))
        .await
        .map_err(AppError::internal)?;
    match rep {
        Some(rep) if ok && rep.active => {
            tracing::info!(rep_id = %rep.id, "rep signed in");
            Ok(Json(
                issue_tokens(&state, rep, req.device_name, None).await?,
            ))
        }
        _ => Err(bad()),
    }
}

async fn refresh(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> AppResult<Json<TokenResponse>> {
    let old = hash_secret(req.refresh_token.expose());
    let now = state.clock.now();
    let o2 = old.clone();
    let rep = state
        .db(move |s| s.token(&o2, "refresh", now))
        .await?
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::Unauthorized,
                "로그인이 만료되었습니다. 다시 로그인하세요 (refresh token is unknown, used or expired; sign in again)",
            )
        })?;
    let new_refresh = format!("rt_{}", crate::ids::random_token(48));
    let (nh, rep2) = (hash_secret(&new_refresh), rep.clone());
    let exp = now + chrono::Duration::seconds(state.settings.refresh_token_ttl_secs as i64);
    let rotated = state
        .db(move |s| s.rotate_refresh(&old, &nh, &rep2, exp))
        .await?;
    if !rotated {
        return Err(AppError::new(
            ErrorCode::Unauthorized,
            "로그인이 만료되었습니다. 다시 로그인하세요 (refresh token was already used; sign in again)",
        ));
    }
    Ok(Json(
        issue_tokens(&state, rep, None, Some(new_refresh)).await?,
    ))
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct AccountWithBalance {
    #[serde(flatten)]
    pub account: Account,
    pub balance: i64,
}

async fn accounts(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Vec<Account>>> {
    Ok(Json(
        state.db(move |s| s.accounts(&caller.merchant_id)).await?,
    ))
}

async fn account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<AccountWithBalance>> {
    let (mid, id2) = (caller.merchant_id.clone(), id.clone());
    let account = state
        .db(move |s| s.account(&mid, &id2))
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    let mid = caller.merchant_id.clone();
    let balance = state.db(move |s| s.balance(&mid, &id)).await?;
    Ok(Json(AccountWithBalance { account, balance }))
}

/// Server-sent events: `event: charge` with a `ChargeStatusChanged` JSON for each status
/// change of the caller's charges (a rep: the charges the rep requested; an API key: all the
/// merchant's charges).
async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.events.subscribe();
    let stop = state.clone();
    let stream = BroadcastStream::new(rx).filter_map(move |msg| {
        let p = msg.ok()?;
        if p.merchant_id != caller.merchant_id {
            return None;
        }
        if let Principal::Rep { rep_id } = &caller.principal {
            if p.event.rep_id.as_deref() != Some(rep_id) {
                return None;
            }
        }
        let data = serde_json::to_string(&p.event).ok()?;
        Some(Ok(Event::default().event("charge").data(data)))
    });
    let stream = futures_util::StreamExt::take_until(stream, async move { stop.stopped().await });
    Sse::new(stream).keep_alive(KeepAlive::default())
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

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct DeliveryView {
    pub id: String,
    pub event_type: String,
    pub url: String,
    pub status: String,
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
