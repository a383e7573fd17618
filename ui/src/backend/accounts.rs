//! Client accounts (거래처) and products.

use fieldpay_protocol::app::{AccountDetail, AccountSummary, ClientSort, ProductHit};
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::ApiError;

use super::{invoke, limit};

pub async fn search_accounts(query: &str, max: usize) -> Result<Vec<AccountSummary>, ApiError> {
    invoke(&cmd::SearchAccounts {
        query: query.into(),
        limit: limit(max),
    })
    .await
}

/// The merchant's accounts matching `query`, asked of the server (online).
pub async fn search_server_accounts(
    query: &str,
    max: u32,
) -> Result<Vec<fieldpay_protocol::records::AccountWithBalance>, ApiError> {
    invoke(&cmd::SearchServerAccounts {
        query: query.into(),
        limit: Some(max),
    })
    .await
}

pub async fn client_list(sort: ClientSort, max: usize) -> Result<Vec<AccountSummary>, ApiError> {
    invoke(&cmd::ClientList {
        sort,
        limit: limit(max),
    })
    .await
}

pub async fn account_detail(account_id: &str) -> Result<AccountDetail, ApiError> {
    invoke(&cmd::AccountDetail {
        account_id: account_id.into(),
    })
    .await
}

pub async fn search_products(
    query: &str,
    account_id: Option<&str>,
    max: usize,
) -> Result<Vec<ProductHit>, ApiError> {
    invoke(&cmd::SearchProducts {
        query: query.into(),
        account_id: account_id.map(Into::into),
        limit: limit(max),
    })
    .await
}
