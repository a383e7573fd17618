//! `/admin/v1`: the operator's API (merchants, numbers, reps, API keys, webhooks, operator
//! tokens, the audit log), over the admin service (`crate::admin`) the CLI and the manager
//! routes share. Authenticated by an operator token (`Authorization: Bearer fpo_...`) only:
//! a rep's token or a merchant's API key is refused (401).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use fieldpay_protocol::admin::{
    AddNumbers, ApiKeyInfo, AuditEntry, CreateApiKey, CreateMerchant, CreateOperatorToken,
    CreateRep, MerchantView, NewApiKey, NewOperatorToken, NumberList, RepPassword, SetWebhook,
    Suspended, UpdateMerchant, WebhookSecret,
};
use fieldpay_protocol::{ApiKeyId, ErrorBody, ErrorCode, Secret};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{bearer, parse_query, JsonBody};
use crate::admin::{self, Actor};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_merchant, list_merchants))
        .routes(routes!(show_merchant, update_merchant))
        .routes(routes!(suspend_merchant))
        .routes(routes!(activate_merchant))
        .routes(routes!(add_numbers, list_numbers))
        .routes(routes!(remove_number))
        .routes(routes!(create_rep))
        .routes(routes!(reset_rep_password))
        .routes(routes!(deactivate_rep))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(set_webhook))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(rotate_link_key))
        .routes(routes!(create_operator_token))
        .routes(routes!(revoke_operator_token))
        .routes(routes!(audit))
}

/// The operator making an `/admin/v1` request, by its token.
pub struct Operator(pub Actor);

impl FromRequestParts<AppState> for Operator {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = Secret::new(bearer(parts)?);
        let found = admin::run(state, move |s| admin::operator_of(s, &token)).await?;
        let op = found.ok_or_else(|| {
            AppError::new(
                ErrorCode::Unauthorized,
                "an operator token (fpo_...) is needed here; rep tokens and API keys are not",
            )
        })?;
        Ok(Operator(Actor::Operator { token_id: op.id }))
    }
}

/// The merchant of a code, as a service call's argument.
fn merchant_id(
    s: &dyn crate::store::Store,
    code: &str,
) -> admin::AdminResult<fieldpay_protocol::MerchantId> {
    Ok(admin::merchant_by_code(s, code)?.id)
}

/// Create a merchant
///
/// Active, with no numbers, reps or keys yet. The business number's check digit is checked.
#[utoipa::path(
    post,
    path = "/admin/v1/merchants",
    tag = "admin",
    security(("operator" = [])),
    request_body(content = CreateMerchant, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = MerchantView),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 409, description = "The code is taken", body = ErrorBody),
        (status = 422, description = "A field is invalid (code, business number, phone, text)", body = ErrorBody),
    )
)]
async fn create_merchant(
    State(state): State<AppState>,
    Operator(actor): Operator,
    JsonBody(req): JsonBody<CreateMerchant>,
) -> AppResult<(StatusCode, Json<MerchantView>)> {
    let m = admin::run(&state, move |s| admin::create_merchant(s, &actor, &req)).await?;
    Ok((StatusCode::CREATED, Json(admin::merchant_view(&m))))
}

/// List merchants
///
/// Every merchant, by code.
#[utoipa::path(
    get,
    path = "/admin/v1/merchants",
    tag = "admin",
    security(("operator" = [])),
    responses(
        (status = 200, description = "The merchants", body = Vec<MerchantView>),
        (status = 401, description = "No operator token", body = ErrorBody),
    )
)]
async fn list_merchants(
    State(state): State<AppState>,
    Operator(_): Operator,
) -> AppResult<Json<Vec<MerchantView>>> {
    let all = admin::run(&state, admin::list_merchants).await?;
    Ok(Json(all.iter().map(admin::merchant_view).collect()))
}

/// Show a merchant
///
/// Its profile, status, numbers, webhook endpoint and settings (never a secret).
#[utoipa::path(
    get,
    path = "/admin/v1/merchants/{code}",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    responses(
        (status = 200, description = "The merchant", body = MerchantView),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
    )
)]
async fn show_merchant(
    State(state): State<AppState>,
    Operator(_): Operator,
    Path(code): Path<String>,
) -> AppResult<Json<MerchantView>> {
    let m = admin::run(&state, move |s| admin::merchant_by_code(s, &code)).await?;
    Ok(Json(admin::merchant_view(&m)))
}

/// Change a merchant
///
/// Name, profile, business number and settings; absent fields are left as they are.
#[utoipa::path(
    patch,
    path = "/admin/v1/merchants/{code}",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    request_body(content = UpdateMerchant, content_type = "application/json"),
    responses(
        (status = 200, description = "The merchant as changed", body = MerchantView),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    )
)]
async fn update_merchant(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path(code): Path<String>,
    JsonBody(req): JsonBody<UpdateMerchant>,
) -> AppResult<Json<MerchantView>> {
    let m = admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        admin::update_merchant(s, &actor, &id, &req)
    })
    .await?;
    Ok(Json(admin::merchant_view(&m)))
}

/// Suspend a merchant
///
/// New charges are refused (`merchant_suspended`); pending ones are canceled and their payers
/// texted.
#[utoipa::path(
    post,
    path = "/admin/v1/merchants/{code}/suspend",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    responses(
        (status = 200, description = "Suspended", body = Suspended),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
    )
)]
async fn suspend_merchant(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path(code): Path<String>,
) -> AppResult<Json<Suspended>> {
    let id = admin::run(&state, move |s| merchant_id(s, &code)).await?;
    let canceled = admin::suspend_merchant(&state, &actor, &id).await?;
    Ok(Json(Suspended {
        canceled_charges: canceled.into_iter().map(|c| c.into_string()).collect(),
    }))
}

/// Reactivate a merchant
///
/// A suspended merchant takes charges again.
#[utoipa::path(
    post,
    path = "/admin/v1/merchants/{code}/activate",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    responses(
        (status = 200, description = "Active", body = MerchantView),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
    )
)]
async fn activate_merchant(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path(code): Path<String>,
) -> AppResult<Json<MerchantView>> {
    let m = admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        admin::activate_merchant(s, &actor, &id)?;
        admin::merchant(s, &id)
    })
    .await?;
    Ok(Json(admin::merchant_view(&m)))
}

/// Add virtual numbers
///
/// Numbers and ranges (`1600-0010..1600-0019`), all or none; a number in any pool already is
/// refused.
#[utoipa::path(
    post,
    path = "/admin/v1/merchants/{code}/numbers",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    request_body(content = AddNumbers, content_type = "application/json"),
    responses(
        (status = 200, description = "The numbers added", body = NumberList),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
        (status = 409, description = "A number is in a pool already", body = ErrorBody),
        (status = 422, description = "Not a Korean number, or ranges overlap", body = ErrorBody),
    )
)]
async fn add_numbers(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path(code): Path<String>,
    JsonBody(req): JsonBody<AddNumbers>,
) -> AppResult<Json<NumberList>> {
    let numbers = admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        admin::add_numbers(s, &actor, &id, &req.numbers)
    })
    .await?;
    Ok(Json(NumberList { numbers }))
}

/// List virtual numbers
///
/// The merchant's pool, in the order numbers are handed out.
#[utoipa::path(
    get,
    path = "/admin/v1/merchants/{code}/numbers",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    responses(
        (status = 200, description = "The pool", body = NumberList),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
    )
)]
async fn list_numbers(
    State(state): State<AppState>,
    Operator(_): Operator,
    Path(code): Path<String>,
) -> AppResult<Json<NumberList>> {
    let numbers = admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        admin::list_numbers(s, &id)
    })
    .await?;
    Ok(Json(NumberList { numbers }))
}

/// Remove a virtual number
///
/// Refused while a pending charge is bound to it.
#[utoipa::path(
    delete,
    path = "/admin/v1/merchants/{code}/numbers/{number}",
    tag = "admin",
    security(("operator" = [])),
    params(
        ("code" = String, Path, description = "The merchant's code"),
        ("number" = String, Path, description = "The number (1600-0010 or 16000010)"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant, or the number is not in its pool", body = ErrorBody),
        (status = 409, description = "A pending charge is bound to the number", body = ErrorBody),
    )
)]
async fn remove_number(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path((code, number)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        admin::remove_number(s, &actor, &id, &number)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a rep
///
/// A rep or a manager, with a one-time password shown this once: the rep must change it at
/// its first sign-in.
#[utoipa::path(
    post,
    path = "/admin/v1/merchants/{code}/reps",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    request_body(content = CreateRep, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = RepPassword),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
        (status = 409, description = "The login is taken at this merchant", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    )
)]
async fn create_rep(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path(code): Path<String>,
    JsonBody(req): JsonBody<CreateRep>,
) -> AppResult<(StatusCode, Json<RepPassword>)> {
    let answer = admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        let (rep_id, password) =
            admin::create_rep(s, &actor, &id, &req.login, &req.name, req.role)?;
        Ok(RepPassword {
            rep_id: rep_id.into_string(),
            login: req.login.trim().to_string(),
            one_time_password: password,
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Reset a rep's password
///
/// A new one-time password, shown this once.
#[utoipa::path(
    post,
    path = "/admin/v1/merchants/{code}/reps/{login}/reset-password",
    tag = "admin",
    security(("operator" = [])),
    params(
        ("code" = String, Path, description = "The merchant's code"),
        ("login" = String, Path, description = "The rep's login"),
    ),
    responses(
        (status = 200, description = "The new one-time password", body = RepPassword),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant or rep", body = ErrorBody),
    )
)]
async fn reset_rep_password(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path((code, login)): Path<(String, String)>,
) -> AppResult<Json<RepPassword>> {
    let answer = admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        let rep = admin::rep_by_login(s, &id, &login)?;
        let password = admin::reset_rep_password(s, &actor, &id, &rep.id)?;
        Ok(RepPassword {
            rep_id: rep.id.into_string(),
            login: rep.login,
            one_time_password: password,
        })
    })
    .await?;
    Ok(Json(answer))
}

/// Deactivate a rep
///
/// Its sign-in is refused and its sessions end.
#[utoipa::path(
    post,
    path = "/admin/v1/merchants/{code}/reps/{login}/deactivate",
    tag = "admin",
    security(("operator" = [])),
    params(
        ("code" = String, Path, description = "The merchant's code"),
        ("login" = String, Path, description = "The rep's login"),
    ),
    responses(
        (status = 204, description = "Deactivated"),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant or rep", body = ErrorBody),
        (status = 409, description = "The rep is inactive already", body = ErrorBody),
    )
)]
async fn deactivate_rep(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path((code, login)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        let rep = admin::rep_by_login(s, &id, &login)?;
        admin::deactivate_rep(s, &actor, &id, &rep.id)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an API key
///
/// The key is shown this once; only its hash is stored.
#[utoipa::path(
    post,
    path = "/admin/v1/merchants/{code}/api-keys",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    request_body(content = CreateApiKey, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = NewApiKey),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
        (status = 422, description = "The name is invalid", body = ErrorBody),
    )
)]
async fn create_api_key(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path(code): Path<String>,
    JsonBody(req): JsonBody<CreateApiKey>,
) -> AppResult<(StatusCode, Json<NewApiKey>)> {
    let answer = admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        let (key_id, secret) = admin::create_api_key(s, &actor, &id, &req.name)?;
        let key = admin::api_key_info(s, &id, &key_id)?;
        Ok(NewApiKey { key, secret })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// List API keys
///
/// Names, prefixes, when created, last used and revoked; never the keys.
#[utoipa::path(
    get,
    path = "/admin/v1/merchants/{code}/api-keys",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    responses(
        (status = 200, description = "The keys, newest first", body = Vec<ApiKeyInfo>),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
    )
)]
async fn list_api_keys(
    State(state): State<AppState>,
    Operator(_): Operator,
    Path(code): Path<String>,
) -> AppResult<Json<Vec<ApiKeyInfo>>> {
    let keys = admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        admin::list_api_keys(s, &id)
    })
    .await?;
    Ok(Json(keys))
}

/// Revoke an API key
///
/// Refused from then on.
#[utoipa::path(
    post,
    path = "/admin/v1/merchants/{code}/api-keys/{id}/revoke",
    tag = "admin",
    security(("operator" = [])),
    params(
        ("code" = String, Path, description = "The merchant's code"),
        ("id" = String, Path, description = "The key's id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant, or no live key of it with that id", body = ErrorBody),
    )
)]
async fn revoke_api_key(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path((code, key)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        admin::revoke_api_key(s, &actor, &id, &ApiKeyId::from(key.as_str()))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set the webhook endpoint
///
/// `https://` only; answers a new signing secret, shown this once.
#[utoipa::path(
    put,
    path = "/admin/v1/merchants/{code}/webhook",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    request_body(content = SetWebhook, content_type = "application/json"),
    responses(
        (status = 200, description = "Set", body = WebhookSecret),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
        (status = 422, description = "The URL is not allowed", body = ErrorBody),
    )
)]
async fn set_webhook(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path(code): Path<String>,
    JsonBody(req): JsonBody<SetWebhook>,
) -> AppResult<Json<WebhookSecret>> {
    let sandbox = state.settings.sandbox();
    let secret = admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        admin::set_webhook(s, &actor, &id, &req.url, sandbox)
    })
    .await?;
    Ok(Json(WebhookSecret {
        secret,
        previous_valid_until: None,
    }))
}

/// Rotate the webhook secret
///
/// A new signing secret, shown this once; the previous one keeps signing deliveries (both
/// signatures sent) for 24 hours.
#[utoipa::path(
    post,
    path = "/admin/v1/merchants/{code}/webhook/rotate-secret",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    responses(
        (status = 200, description = "Rotated", body = WebhookSecret),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
        (status = 409, description = "The merchant has no webhook endpoint", body = ErrorBody),
    )
)]
async fn rotate_webhook_secret(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path(code): Path<String>,
) -> AppResult<Json<WebhookSecret>> {
    let (secret, until) = admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        let secret = admin::rotate_webhook_secret(s, &actor, &id)?;
        Ok((
            secret,
            admin::merchant(s, &id)?.settings.webhook_previous_until,
        ))
    })
    .await?;
    Ok(Json(WebhookSecret {
        secret,
        previous_valid_until: until,
    }))
}

/// Make a new link key
///
/// The key of the merchant's signed payment links, shown in this answer only; links signed
/// with the previous key stop working at once.
#[utoipa::path(
    post,
    path = "/admin/v1/merchants/{code}/link-key/rotate",
    tag = "admin",
    security(("operator" = [])),
    params(("code" = String, Path, description = "The merchant's code")),
    responses(
        (status = 200, description = "Made; `key` is shown once", body = fieldpay_protocol::manager::LinkKey),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
    )
)]
async fn rotate_link_key(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path(code): Path<String>,
) -> AppResult<Json<fieldpay_protocol::manager::LinkKey>> {
    let (key, created_at) = admin::run(&state, move |s| {
        let id = merchant_id(s, &code)?;
        admin::rotate_link_key(s, &actor, &id)
    })
    .await?;
    Ok(Json(fieldpay_protocol::manager::LinkKey {
        key,
        created_at,
    }))
}

/// Create an operator token
///
/// Another bearer of this API, shown this once.
#[utoipa::path(
    post,
    path = "/admin/v1/operator-tokens",
    tag = "admin",
    security(("operator" = [])),
    request_body(content = CreateOperatorToken, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = NewOperatorToken),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 422, description = "The name is invalid", body = ErrorBody),
    )
)]
async fn create_operator_token(
    State(state): State<AppState>,
    Operator(actor): Operator,
    JsonBody(req): JsonBody<CreateOperatorToken>,
) -> AppResult<(StatusCode, Json<NewOperatorToken>)> {
    let token = admin::run(&state, move |s| {
        admin::create_operator_token(s, &actor, &req.name)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// Revoke an operator token
///
/// Refused from then on (this request's own token too).
#[utoipa::path(
    post,
    path = "/admin/v1/operator-tokens/{id}/revoke",
    tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No live operator token with that id", body = ErrorBody),
    )
)]
async fn revoke_operator_token(
    State(state): State<AppState>,
    Operator(actor): Operator,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    admin::run(&state, move |s| {
        admin::revoke_operator_token(s, &actor, &id)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    merchant: Option<String>,
    limit: Option<u32>,
}

/// Read the audit log
///
/// Who changed what and when, newest first (of one merchant, or all).
#[utoipa::path(
    get,
    path = "/admin/v1/audit",
    tag = "admin",
    security(("operator" = [])),
    params(
        ("merchant" = Option<String>, Query, description = "A merchant's code"),
        ("limit" = Option<u32>, Query, description = "At most this many (1 to 1000, default 100)"),
    ),
    responses(
        (status = 200, description = "The entries", body = Vec<AuditEntry>),
        (status = 401, description = "No operator token", body = ErrorBody),
        (status = 404, description = "No such merchant", body = ErrorBody),
        (status = 422, description = "The query is invalid", body = ErrorBody),
    )
)]
async fn audit(
    State(state): State<AppState>,
    Operator(_): Operator,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> AppResult<Json<Vec<AuditEntry>>> {
    let q: AuditQuery = parse_query(q.as_deref())?;
    let entries = admin::run(&state, move |s| {
        let id = match &q.merchant {
            Some(code) => Some(merchant_id(s, code)?),
            None => None,
        };
        admin::audit(s, id.as_ref(), q.limit.unwrap_or(100))
    })
    .await?;
    Ok(Json(entries))
}
