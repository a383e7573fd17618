//! Sync status and the sync-problems list.

use fieldpay_protocol::app::{SyncProblem, SyncStatus};
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::ApiError;

use super::invoke;

pub async fn sync_now() -> Result<SyncStatus, ApiError> {
    invoke(&cmd::SyncNow {}).await
}

pub async fn problems() -> Result<Vec<SyncProblem>, ApiError> {
    invoke(&cmd::Problems {}).await
}

pub async fn retry_problem(client_id: &str) -> Result<(), ApiError> {
    invoke(&cmd::RetryProblem {
        client_id: client_id.into(),
    })
    .await
}

pub async fn discard_problem(client_id: &str) -> Result<(), ApiError> {
    invoke(&cmd::DiscardProblem {
        client_id: client_id.into(),
    })
    .await
}
