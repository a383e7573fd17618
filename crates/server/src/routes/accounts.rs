//! Client accounts (거래처): `GET /v1/accounts` and `GET /v1/accounts/{id}` with its balance.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use fieldpay_protocol::records::Account;
use fieldpay_protocol::AccountId;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts", get(accounts))
        .route("/v1/accounts/{id}", get(account))
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
