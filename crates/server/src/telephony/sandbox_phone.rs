//! The sandbox phone: a web page at `/sandbox/phone` and a JSON API to read the texts a phone
//! received, dial a virtual number with a chosen caller ID, hear (read) the prompts and press
//! keys. It drives the same call flow as a carrier would. Sandbox mode only.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Duration;
use fieldpay_ivr::Lang;
use fieldpay_protocol::sms::SmsKind;
use fieldpay_protocol::ChargeId;
use serde::{Deserialize, Serialize};

use crate::calls::{self, Input, Turn};
use crate::error::{AppError, AppResult};
use crate::routes::extract::JsonBody;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sandbox/phone", get(page))
        .route("/sandbox/sms", get(sms))
        .route("/sandbox/calls", post(dial))
        .route("/sandbox/calls/{id}/input", post(press))
        .route("/sandbox/clock/advance", post(advance_clock))
}

async fn page() -> impl IntoResponse {
    Html(include_str!("sandbox_phone.html"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsQuery {
    phone: String,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SandboxSms {
    pub id: i64,
    pub kind: SmsKind,
    pub body: String,
    pub charge_id: Option<String>,
    pub at: String,
}

async fn sms(
    State(state): State<AppState>,
    Query(q): Query<SmsQuery>,
) -> AppResult<Json<Vec<SandboxSms>>> {
    let phone = crate::domain::parse_mobile("phone", &q.phone)?;
    let digits = phone.digits().to_string();
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let rows = state.db(move |s| s.sms_for_phone(&digits, limit)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| SandboxSms {
                id: r.id,
                kind: r.kind,
                body: r.body,
                charge_id: r.charge_id.map(ChargeId::into_string),
                at: r.created_at,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialRequest {
    /// The caller ID to present; empty or absent = withheld.
    #[serde(default)]
    from: Option<String>,
    to: String,
    #[serde(default)]
    lang: Option<Lang>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SandboxTurn {
    pub call_id: String,
    #[serde(flatten)]
    pub turn: Turn,
}

async fn dial(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<DialRequest>,
) -> AppResult<Json<SandboxTurn>> {
    if req.to.trim().is_empty() {
        return Err(AppError::invalid("to", "the number to call is empty"));
    }
    let call_id = format!("SB{}", crate::ids::random_token(30));
    let from = req.from.unwrap_or_default();
    let turn = calls::start(
        &state,
        "sandbox",
        &call_id,
        &req.to,
        &from,
        req.lang.unwrap_or(Lang::Ko),
    )
    .await;
    Ok(Json(SandboxTurn { call_id, turn }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyInput {
    /// Keys pressed: digits, `*`, `#`.
    #[serde(default)]
    digits: Option<String>,
    /// true: let the question time out.
    #[serde(default)]
    timeout: bool,
    #[serde(default)]
    hangup: bool,
}

async fn press(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(k): JsonBody<KeyInput>,
) -> AppResult<Json<SandboxTurn>> {
    let input = match (k.digits, k.timeout, k.hangup) {
        (_, _, true) => Input::HangUp,
        (_, true, false) => Input::Timeout,
        (Some(d), false, false) => {
            if d.is_empty()
                || d.len() > 32
                || !d
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
            {
                return Err(AppError::invalid(
                    "digits",
                    "only 0-9, * and # (1 to 32 keys)",
                ));
            }
            Input::Digits(d)
        }
        (None, false, false) => {
            return Err(AppError::invalid(
                "digits",
                "give digits, timeout or hangup",
            ))
        }
    };
    let turn = calls::input(&state, &id, input)
        .await
        .ok_or_else(|| AppError::not_found("call"))?;
    Ok(Json(SandboxTurn { call_id: id, turn }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    minutes: i64,
}

/// Moves the server's clock forward (sandbox only), e.g. to see a charge expire.
async fn advance_clock(
    State(state): State<AppState>,
    JsonBody(a): JsonBody<Advance>,
) -> AppResult<Json<serde_json::Value>> {
    if !(1..=60 * 24 * 30).contains(&a.minutes) {
        return Err(AppError::invalid("minutes", "between 1 and 43200"));
    }
    state.clock.advance(Duration::minutes(a.minutes));
    let expired = crate::charges::expire_due(&state).await;
    Ok(Json(
        serde_json::json!({ "now": crate::clock::ts(state.clock.now()), "expired": expired }),
    ))
}
