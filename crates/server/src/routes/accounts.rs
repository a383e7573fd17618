//! Client accounts (거래처): `GET /v1/accounts`, `GET /v1/accounts/search` (with balances)
//! and `GET /v1/accounts/{id}` with its balance.

use axum::extract::{Path, State};
use axum::Json;
use fieldpay_protocol::records::{Account, AccountWithBalance};
use fieldpay_protocol::{AccountId, ErrorBody};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::parse_query;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::AccountQuery;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accounts))
        .routes(routes!(search))
        .routes(routes!(account))
}

/// List the merchant's client accounts
#[utoipa::path(
    get,
    path = "/v1/accounts",
    operation_id = "list_accounts",
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The accounts", body = Vec<Account>),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
    )
)]
async fn accounts(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Vec<Account>>> {
    Ok(Json(
        state.db(move |s| s.accounts(&caller.merchant_id)).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// Part of the name, owner, code, phone or business number (1 to 50 characters; a phone
    /// or business number with or without dashes).
    q: String,
    /// At most this many (1 to 100, default 20).
    #[serde(default)]
    limit: Option<u32>,
}

/// The most a search answers.
const MAX_SEARCH: u32 = 100;

/// Search the merchant's client accounts
///
/// The accounts whose name, owner, code, phone or business number contains `q`, each with
/// its balance, by name: all of the merchant's, whoever serves them. A rep's device syncs only
/// its own clients and asks this for the others (a client who moved to another rep).
#[utoipa::path(
    get,
    path = "/v1/accounts/search",
    operation_id = "search_accounts",
    tag = "accounts",
    security(("bearer" = [])),
    params(SearchQuery),
    responses(
        (status = 200, description = "The matching accounts with their balances", body = Vec<AccountWithBalance>),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 422, description = "`q` or `limit` is missing, unknown or invalid", body = ErrorBody),
    )
)]
async fn search(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
) -> AppResult<Json<Vec<AccountWithBalance>>> {
    let q: SearchQuery = parse_query(uri.query())?;
    if q.q.trim().chars().count() > 50 {
        return Err(AppError::invalid("q", "at most 50 characters"));
    }
    let query = AccountQuery::parse(&q.q)
        .ok_or_else(|| AppError::invalid("q", "needs a letter or a digit"))?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=MAX_SEARCH).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            format!("must be 1 to {MAX_SEARCH}"),
        ));
    }
    let mid = caller.merchant_id;
    Ok(Json(
        state
            .db(move |s| s.search_accounts(&mid, &query, limit))
            .await?,
    ))
}

/// Read an account with its balance
#[utoipa::path(
    get,
    path = "/v1/accounts/{id}",
    operation_id = "get_account",
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = inline(AccountId), Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account and its balance", body = AccountWithBalance),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "No such account of the caller's merchant", body = ErrorBody),
    )
)]
async fn account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<AccountId>,
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
