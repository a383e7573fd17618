//! The sandbox phone: a web page at `/sandbox/phone` and a JSON API to read the texts a phone
//! received, dial a virtual number with a chosen caller ID, hear (read) the prompts and press
//! keys. It drives the same call flow as a carrier would. Sandbox mode only, and served on
//! loopback only unless `allow_remote_sandbox` (see `Settings::check_exposure`): the texts of
//! every phone can be read here, which is safe only when only this machine reaches it. Keys
//! are taken for sandbox calls only (never a carrier's or SIP call); the clock route is served
//! only with `sandbox_clock` (tests), since it moves time for every merchant.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse};
use axum::Json;
use chrono::Duration;
use fieldpay_ivr::Lang;
use fieldpay_protocol::sms::SmsKind;
use fieldpay_protocol::{ChargeId, ErrorBody};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::calls::{self, Input, Turn};
use crate::error::{AppError, AppResult};
use crate::routes::extract::JsonBody;
use crate::state::AppState;
use crate::web::layout::Icon;

/// The adapter name of the calls this phone places.
const ADAPTER: &str = "sandbox";

/// The sandbox phone's routes; `clock`: with `POST /sandbox/clock/advance`.
pub fn router(clock: bool) -> OpenApiRouter<AppState> {
    let r = OpenApiRouter::new()
        .routes(routes!(page))
        .routes(routes!(sms))
        .routes(routes!(dial))
        .routes(routes!(press));
    if clock {
        r.routes(routes!(advance_clock))
    } else {
        r
    }
}

/// The sandbox phone page
#[utoipa::path(
    get,
    path = "/sandbox/phone",
    operation_id = "sandbox_phone_page",
    tag = "sandbox",
    responses((status = 200, description = "Read texts, dial a virtual number, press keys", body = String, content_type = "text/html"))
)]
async fn page() -> impl IntoResponse {
    static PAGE: OnceLock<String> = OnceLock::new();
    Html(PAGE.get_or_init(page_html).as_str())
}

/// The page with its icons put in: `{{icon:NAME}}` markers become the web pages' inline SVG
/// icons (no emoji: they show as empty boxes where no colour emoji font is installed).
fn page_html() -> String {
    let mut html = include_str!("sandbox_phone.html").to_string();
    for (name, icon) in [
        ("phone", Icon::Phone),
        ("check", Icon::Check),
        ("cross", Icon::Cross),
        ("clock", Icon::Clock),
        ("card", Icon::Card),
        ("receipt", Icon::Receipt),
        ("message", Icon::Message),
    ] {
        html = html.replace(&format!("{{{{icon:{name}}}}}"), &icon.svg());
    }
    html
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SmsQuery {
    /// The mobile number whose texts to read.
    phone: String,
    /// Texts at most, 1 to 500 (default 50).
    #[serde(default)]
    limit: Option<u32>,
}

/// A text the sandbox sent instead of a carrier.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct SandboxSms {
    pub id: i64,
    pub kind: SmsKind,
    pub body: String,
    pub charge_id: Option<String>,
    pub at: String,
}

/// The texts a phone received
#[utoipa::path(
    get,
    path = "/sandbox/sms",
    operation_id = "sandbox_texts",
    tag = "sandbox",
    params(SmsQuery),
    responses(
        (status = 200, description = "The texts, newest first", body = Vec<SandboxSms>),
        (status = 400, description = "The query string is not `phone` and `limit`", body = String, content_type = "text/plain"),
        (status = 422, description = "The phone is not a mobile number", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DialRequest {
    /// The caller ID to present; empty or absent = withheld.
    #[serde(default)]
    from: Option<String>,
    /// The number to call (a virtual ARS number).
    to: String,
    /// The call's language: `ko` (the default) or `en`.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "ko")]
    lang: Option<Lang>,
}

/// A sandbox call's id and what it plays or does now.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct SandboxTurn {
    pub call_id: String,
    #[serde(flatten)]
    pub turn: Turn,
}

/// Dial a number from the sandbox phone
#[utoipa::path(
    post,
    path = "/sandbox/calls",
    operation_id = "sandbox_dial",
    tag = "sandbox",
    request_body(content = DialRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The call's first turn", body = SandboxTurn),
        (status = 422, description = "The body is malformed or the number empty", body = ErrorBody),
    )
)]
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
        ADAPTER,
        &call_id,
        &req.to,
        &from,
        req.lang.unwrap_or(Lang::Ko),
    )
    .await;
    Ok(Json(SandboxTurn { call_id, turn }))
}

/// Keys pressed, a timeout or a hang-up: one of them.
#[derive(Deserialize, utoipa::ToSchema)]
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

/// Press keys, let the question time out, or hang up
#[utoipa::path(
    post,
    path = "/sandbox/calls/{id}/input",
    operation_id = "sandbox_input",
    tag = "sandbox",
    params(("id" = String, Path, description = "The call's id (`call_id` of the turns)")),
    request_body(content = KeyInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The call's next turn", body = SandboxTurn),
        (status = 404, description = "No such sandbox call (ended, never dialled, or a carrier's call)", body = ErrorBody),
        (status = 422, description = "The body is malformed, or not digits, a timeout or a hang-up", body = ErrorBody),
    )
)]
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
    if !is_sandbox_call(&state, &id).await? {
        return Err(AppError::not_found("call"));
    }
    let turn = calls::input(&state, &id, input)
        .await
        .ok_or_else(|| AppError::not_found("call"))?;
    Ok(Json(SandboxTurn { call_id: id, turn }))
}

/// Whether `id` is a call this phone placed: one in progress here, else one stored (a call
/// resumed after a restart).
async fn is_sandbox_call(state: &AppState, id: &str) -> AppResult<bool> {
    if let Some(live) = state.calls.get(id) {
        return Ok(live.lock().await.record.adapter == ADAPTER);
    }
    let id = id.to_string();
    let stored = state.db(move |s| s.call(&id)).await?;
    Ok(stored.is_some_and(|c| c.adapter == ADAPTER))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Advance {
    /// 1 to 43200 (30 days).
    #[schema(minimum = 1, maximum = 43200)]
    minutes: i64,
}

/// The server's clock after an advance.
#[derive(Serialize, utoipa::ToSchema)]
struct ClockAdvanced {
    /// The server's time now (RFC 3339, UTC).
    now: String,
    /// Charges that expired on the way.
    expired: usize,
}

/// Move the server's clock forward
///
/// Sandbox with the `sandbox_clock` test setting only (it moves time for every merchant),
/// e.g. to see a charge expire; charges past their deadline expire at once.
#[utoipa::path(
    post,
    path = "/sandbox/clock/advance",
    operation_id = "sandbox_advance_clock",
    tag = "sandbox",
    request_body(content = Advance, content_type = "application/json"),
    responses(
        (status = 200, description = "The new time", body = ClockAdvanced),
        (status = 422, description = "The body is malformed or the minutes out of range", body = ErrorBody),
    )
)]
async fn advance_clock(
    State(state): State<AppState>,
    JsonBody(a): JsonBody<Advance>,
) -> AppResult<Json<ClockAdvanced>> {
    if !(1..=60 * 24 * 30).contains(&a.minutes) {
        return Err(AppError::invalid("minutes", "between 1 and 43200"));
    }
    state.clock.advance(Duration::minutes(a.minutes));
    let expired = crate::charges::expire_due(&state).await;
    Ok(Json(ClockAdvanced {
        now: crate::clock::ts(state.clock.now()),
        expired,
    }))
}

#[cfg(test)]
mod page_tests {
    #[test]
    fn the_page_has_every_icon_put_in_and_no_emoji() {
        let html = super::page_html();
        assert!(!html.contains("{{icon:"), "an icon marker left");
        assert!(html.matches("<svg class=\"icon\"").count() >= 10);
        let emoji: Vec<char> = html
            .chars()
            .filter(|c| {
                matches!(*c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x23E9..=0x23FA | 0xFE0F)
            })
            .collect();
        assert!(emoji.is_empty(), "emoji on the sandbox phone: {emoji:?}");
    }
}
