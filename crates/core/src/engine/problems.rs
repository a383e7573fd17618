//! Sync problems: actions the server refused, retried or discarded by the rep.

use chrono::{DateTime, Utc};
use fieldpay_protocol::app::SyncProblem;

use crate::error::CoreResult;

use super::{new_id, Engine};

impl Engine {
    pub fn problems(&self) -> CoreResult<Vec<SyncProblem>> {
        self.db.problems()
    }

    /// Sends a refused action again (the rep fixed the cause elsewhere, e.g. the account was
    /// reopened).
    pub fn retry_problem(&self, client_id: &str, now: DateTime<Utc>) -> CoreResult<()> {
        self.db.retry_problem(client_id, &new_id(), None, now)?;
        self.after_local_change()
    }

    pub fn discard_problem(&self, client_id: &str) -> CoreResult<()> {
        self.db.discard_problem(client_id)?;
        self.after_local_change()
    }
}
