//! The manager's routes (`/v1/manager/...`): the team, API keys, the integration view and the
//! merchant settings a manager may change. Every one needs a signed-in rep with the manager
//! role: a plain rep, and an API key, get 403. Changes go through the operator's service
//! ([`crate::admin`]), so they are checked and audited the same way.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::collection::{Collection, VoidCollection};
use fieldpay_protocol::manager::{
    ApiKeyInfo, CreateApiKey, CreateRep, Integration, LinkKey, NewApiKey, RepPassword,
    SettingsPatch, SettingsValues, TeamReport, WebhookDelivery,
};
use fieldpay_protocol::visit::VisitList;
use fieldpay_protocol::{ApiKeyId, ErrorBody, ErrorCode, RepId};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{parse_query, JsonBody};
use crate::admin::{self, Actor};
use crate::auth::{Caller, Principal};
use crate::clock::kst;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::settlement::Period;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(team))
        .routes(routes!(visits))
        .routes(routes!(create_rep))
        .routes(routes!(reset_password))
        .routes(routes!(deactivate))
        .routes(routes!(api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
        .routes(routes!(integration))
        .routes(routes!(rotate_link_key))
        .routes(routes!(settings, update_settings))
        .routes(routes!(void_collection))
}

/// The caller as a manager acting on its merchant: refused (403) unless it is a signed-in rep
/// with the manager role.
fn manager(caller: &Caller) -> AppResult<Actor> {
    match &caller.principal {
        Principal::Rep {
            rep_id,
            role: Role::Manager,
        } => Ok(Actor::Manager {
            rep_id: rep_id.clone(),
        }),
        _ => Err(AppError::new(
            ErrorCode::Forbidden,
            "관리자로 로그인해야 합니다 (this needs a signed-in manager)",
        )),
    }
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
    manager(&caller)?;
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

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct VisitsQuery {
    /// The KST day, `YYYY-MM-DD`.
    #[param(format = Date)]
    date: String,
    /// Only this rep's visits; every rep's when absent.
    #[serde(default)]
    rep: Option<String>,
}

/// The reps' visits of a day
///
/// Check-ins at client accounts made that KST day (of one rep, or of all), oldest first, with
/// the client's and the rep's names, the location when the device had one, the note and the
/// check-out time.
#[utoipa::path(
    get,
    path = "/v1/manager/visits",
    operation_id = "manager_visits",
    tag = "manager",
    security(("bearer" = [])),
    params(VisitsQuery),
    responses(
        (status = 200, description = "The visits", body = VisitList),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager", body = ErrorBody),
        (status = 422, description = "The date or rep is missing or invalid", body = ErrorBody),
    )
)]
async fn visits(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
) -> AppResult<Json<VisitList>> {
    manager(&caller)?;
    let q: VisitsQuery = parse_query(uri.query())?;
    let date = NaiveDate::parse_from_str(&q.date, "%Y-%m-%d")
        .map_err(|_| AppError::invalid("date", "use YYYY-MM-DD"))?;
    let rep = match q.rep {
        Some(r) if r.is_empty() || r.len() > 64 => {
            return Err(AppError::invalid("rep", "is not a rep id"))
        }
        r => r.map(RepId::new),
    };
    let start = date
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(kst()).single())
        .ok_or_else(|| AppError::invalid("date", "use YYYY-MM-DD"))?
        .with_timezone(&chrono::Utc);
    let end = start + chrono::Duration::days(1);
    let mid = caller.merchant_id.clone();
    let visits = state
        .db(move |s| s.visits(&mid, start, end, rep.as_ref()))
        .await?;
    Ok(Json(VisitList {
        date: date.format("%Y-%m-%d").to_string(),
        visits,
    }))
}

/// Add a rep
///
/// A new rep (or manager) of the merchant with a one-time password, shown this once; the rep
/// must change it at its first sign-in.
#[utoipa::path(
    post,
    path = "/v1/manager/reps",
    operation_id = "manager_create_rep",
    tag = "manager",
    security(("bearer" = [])),
    request_body(content = CreateRep, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; the one-time password is in the answer only", body = RepPassword),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager", body = ErrorBody),
        (status = 409, description = "The login is taken at this merchant", body = ErrorBody),
        (status = 422, description = "The body is malformed or a field is invalid", body = ErrorBody),
    )
)]
async fn create_rep(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateRep>,
) -> AppResult<(StatusCode, Json<RepPassword>)> {
    let actor = manager(&caller)?;
    let mid = caller.merchant_id;
    let login = req.login.clone();
    let (id, password) = admin::run(&state, move |s| {
        admin::create_rep(s, &actor, &mid, &req.login, &req.name, req.role)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RepPassword {
            rep_id: id.to_string(),
            login: login.trim().to_string(),
            one_time_password: password,
        }),
    ))
}

/// Reset a rep's password
///
/// A new one-time password, shown this once; the rep's sessions go on until it signs in
/// again, when it must change the password.
#[utoipa::path(
    post,
    path = "/v1/manager/reps/{id}/reset-password",
    operation_id = "manager_reset_rep_password",
    tag = "manager",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The rep's id")),
    responses(
        (status = 200, description = "The new one-time password", body = RepPassword),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager", body = ErrorBody),
        (status = 404, description = "No such rep at this merchant", body = ErrorBody),
    )
)]
async fn reset_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<RepId>,
) -> AppResult<Json<RepPassword>> {
    let actor = manager(&caller)?;
    let mid = caller.merchant_id;
    let (rep_id, login, one_time_password) = admin::run(&state, move |s| {
        let password = admin::reset_rep_password(s, &actor, &mid, &id)?;
        let login = s.rep(&mid, &id)?.map(|r| r.login).unwrap_or_default();
        Ok((id.to_string(), login, password))
    })
    .await?;
    Ok(Json(RepPassword {
        rep_id,
        login,
        one_time_password,
    }))
}

/// Deactivate a rep
///
/// Its sign-in is refused from now on and its sessions end. A manager cannot deactivate
/// itself.
#[utoipa::path(
    post,
    path = "/v1/manager/reps/{id}/deactivate",
    operation_id = "manager_deactivate_rep",
    tag = "manager",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The rep's id")),
    responses(
        (status = 204, description = "Deactivated"),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager, or the manager itself", body = ErrorBody),
        (status = 404, description = "No such rep at this merchant", body = ErrorBody),
        (status = 409, description = "The rep is inactive already", body = ErrorBody),
    )
)]
async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<RepId>,
) -> AppResult<StatusCode> {
    let actor = manager(&caller)?;
    let mid = caller.merchant_id;
    admin::run(&state, move |s| admin::deactivate_rep(s, &actor, &mid, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The merchant's API keys
///
/// Live and revoked, newest first; never the keys themselves.
#[utoipa::path(
    get,
    path = "/v1/manager/api-keys",
    operation_id = "manager_list_api_keys",
    tag = "manager",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The keys", body = Vec<ApiKeyInfo>),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager", body = ErrorBody),
    )
)]
async fn api_keys(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<Vec<ApiKeyInfo>>> {
    manager(&caller)?;
    let mid = caller.merchant_id;
    Ok(Json(
        admin::run(&state, move |s| admin::list_api_keys(s, &mid)).await?,
    ))
}

/// Create an API key
///
/// The key is in this answer only; the server keeps its hash.
#[utoipa::path(
    post,
    path = "/v1/manager/api-keys",
    operation_id = "manager_create_api_key",
    tag = "manager",
    security(("bearer" = [])),
    request_body(content = CreateApiKey, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `secret` is shown once", body = NewApiKey),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager", body = ErrorBody),
        (status = 422, description = "The body is malformed or the name is invalid", body = ErrorBody),
    )
)]
async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateApiKey>,
) -> AppResult<(StatusCode, Json<NewApiKey>)> {
    let actor = manager(&caller)?;
    let mid = caller.merchant_id;
    let new = admin::run(&state, move |s| {
        let (id, secret) = admin::create_api_key(s, &actor, &mid, &req.name)?;
        let key = admin::api_key_info(s, &mid, &id)?;
        Ok(NewApiKey { key, secret })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(new)))
}

/// Revoke an API key
///
/// From now on the key is refused.
#[utoipa::path(
    post,
    path = "/v1/manager/api-keys/{id}/revoke",
    operation_id = "manager_revoke_api_key",
    tag = "manager",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager", body = ErrorBody),
        (status = 404, description = "No live key of that id at this merchant", body = ErrorBody),
    )
)]
async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ApiKeyId>,
) -> AppResult<StatusCode> {
    let actor = manager(&caller)?;
    let mid = caller.merchant_id;
    admin::run(&state, move |s| admin::revoke_api_key(s, &actor, &mid, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The merchant's integration
///
/// Its webhook URL, API keys and the 20 latest webhook deliveries.
#[utoipa::path(
    get,
    path = "/v1/manager/integration",
    operation_id = "manager_integration",
    tag = "manager",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The integration", body = Integration),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager", body = ErrorBody),
    )
)]
async fn integration(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<Integration>> {
    manager(&caller)?;
    let mid = caller.merchant_id;
    Ok(Json(
        admin::run(&state, move |s| {
            let m = admin::merchant(s, &mid)?;
            Ok(Integration {
                webhook_url: m.settings.webhook_url.clone(),
                api_keys: admin::list_api_keys(s, &mid)?,
                link_key_created_at: m.settings.link_key_created_at.clone(),
                recent_deliveries: s
                    .webhooks(&mid, 20)?
                    .into_iter()
                    .map(WebhookDelivery::from)
                    .collect(),
            })
        })
        .await?,
    ))
}

/// Make a new link key
///
/// The key of the merchant's signed payment links (`/pay/{code}?...&sig=..`), shown in this
/// answer only; links signed with the previous key stop working at once.
#[utoipa::path(
    post,
    path = "/v1/manager/link-key",
    operation_id = "manager_rotate_link_key",
    tag = "manager",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Made; `key` is shown once", body = LinkKey),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager", body = ErrorBody),
    )
)]
async fn rotate_link_key(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<(StatusCode, Json<LinkKey>)> {
    let actor = manager(&caller)?;
    let mid = caller.merchant_id;
    let (key, created_at) =
        admin::run(&state, move |s| admin::rotate_link_key(s, &actor, &mid)).await?;
    Ok((StatusCode::CREATED, Json(LinkKey { key, created_at })))
}

/// The merchant's settings
///
/// Their values, and in `manager_may_change` the ones the operator lets managers change.
#[utoipa::path(
    get,
    path = "/v1/manager/settings",
    operation_id = "manager_settings",
    tag = "manager",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The settings", body = SettingsValues),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager", body = ErrorBody),
    )
)]
async fn settings(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<SettingsValues>> {
    manager(&caller)?;
    let mid = caller.merchant_id;
    let m = admin::run(&state, move |s| admin::merchant(s, &mid)).await?;
    Ok(Json(admin::settings_values(&m.settings)))
}

/// Change the merchant's settings
///
/// Only the fields present change, and only those the operator lets managers change: a
/// patch touching any other is refused whole (403) and nothing changes.
#[utoipa::path(
    patch,
    path = "/v1/manager/settings",
    operation_id = "manager_update_settings",
    tag = "manager",
    security(("bearer" = [])),
    request_body(content = SettingsPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The settings after the change", body = SettingsValues),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager, or a setting it may not change", body = ErrorBody),
        (status = 422, description = "The body is malformed or a value is invalid", body = ErrorBody),
    )
)]
async fn update_settings(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(patch): JsonBody<SettingsPatch>,
) -> AppResult<Json<SettingsValues>> {
    let actor = manager(&caller)?;
    let mid = caller.merchant_id;
    let m = admin::run(&state, move |s| {
        admin::update_merchant_settings(s, &actor, &mid, &patch)
    })
    .await?;
    Ok(Json(admin::settings_values(&m.settings)))
}

/// Void a collection
///
/// Cancels a cash, transfer or note collection recorded by a rep: an offsetting receivables
/// entry is booked (nothing is deleted), the collection is marked voided with the reason, and
/// the change is audited and sent to the devices.
#[utoipa::path(
    post,
    path = "/v1/manager/collections/{id}/void",
    operation_id = "manager_void_collection",
    tag = "manager",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The collection's id")),
    request_body(content = VoidCollection, content_type = "application/json"),
    responses(
        (status = 200, description = "Voided", body = Collection),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not a signed-in manager", body = ErrorBody),
        (status = 404, description = "No collection of that id at this merchant", body = ErrorBody),
        (status = 409, description = "The collection is already voided", body = ErrorBody),
        (status = 422, description = "The body is malformed or the reason missing or too long", body = ErrorBody),
    )
)]
async fn void_collection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<VoidCollection>,
) -> AppResult<Json<Collection>> {
    let Actor::Manager { rep_id } = manager(&caller)? else {
        return Err(AppError::internal("a manager is a rep"));
    };
    let c =
        crate::collections::void(&state, &caller.merchant_id, &rep_id, &id, &req.reason).await?;
    Ok(Json(c))
}
