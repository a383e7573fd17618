//! Client accounts (거래처): `GET /v1/accounts` and `GET /v1/accounts/{id}` with its balance.

use axum::extract::{Path, State};
use axum::Json;
use fieldpay_protocol::records::Account;
use fieldpay_protocol::{AccountId, ErrorBody};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accounts))
        .routes(routes!(account))
}

/// An account with its receivables balance.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct AccountWithBalance {
    #[serde(flatten)]
    pub account: Account,
    /// What the client owes, KRW (the sum of its ledger entries).
    pub balance: i64,
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
