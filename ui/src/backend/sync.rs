//! Sync status and the sync-problems list.

use fieldpay_protocol::app::{SyncProblem, SyncStatus};
use fieldpay_protocol::ApiError;
use serde::Serialize;

use super::{invoke, invoke_unit, NoArgs};

pub async fn sync_now() -> Result<SyncStatus, ApiError> {
    invoke("sync_now", &NoArgs {}).await
}

pub async fn problems() -> Result<Vec<SyncProblem>, ApiError> {
    invoke("problems", &NoArgs {}).await
}

#[derive(Serialize)]
struct ProblemArgs<'a> {
    client_id: &'a str,
}

pub async fn retry_problem(client_id: &str) -> Result<(), ApiError> {
    invoke_unit("retry_problem", &ProblemArgs { client_id }).await
}

pub async fn discard_problem(client_id: &str) -> Result<(), ApiError> {
    invoke_unit("discard_problem", &ProblemArgs { client_id }).await
}
