//! Client accounts (거래처) and products.

use fieldpay_protocol::app::{AccountDetail, AccountSummary, ProductHit};
use fieldpay_protocol::ApiError;
use serde::Serialize;

use super::invoke;

#[derive(Serialize)]
struct SearchArgs<'a> {
    query: &'a str,
    limit: usize,
}

pub async fn search_accounts(query: &str, limit: usize) -> Result<Vec<AccountSummary>, ApiError> {
    invoke("search_accounts", &SearchArgs { query, limit }).await
}

#[derive(Serialize)]
struct AccountArgs<'a> {
    account_id: &'a str,
}

pub async fn account_detail(account_id: &str) -> Result<AccountDetail, ApiError> {
    invoke("account_detail", &AccountArgs { account_id }).await
}

#[derive(Serialize)]
struct ProductArgs<'a> {
    query: &'a str,
    account_id: Option<&'a str>,
    limit: usize,
}

pub async fn search_products(
    query: &str,
    account_id: Option<&str>,
    limit: usize,
) -> Result<Vec<ProductHit>, ApiError> {
    invoke(
        "search_products",
        &ProductArgs {
            query,
            account_id,
            limit,
        },
    )
    .await
}
