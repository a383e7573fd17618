//! The calls in progress in this process: one live `fieldpay_ivr::Call` per phone call, with
//! what the host keeps beside it. A registry only: what happens on a call is `calls`' job.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fieldpay_ivr as ivr;

use super::Turn;
use crate::domain::Merchant;
use crate::store::CallSessionRecord;

/// A call in progress.
pub struct LiveCall {
    pub last_seen: std::time::Instant,
    /// When each trace entry happened (the state machine has no clock).
    pub trace_times: Vec<String>,
    /// The last answer given, repeated to a carrier that retries its first request.
    pub last_turn: Option<Turn>,
    pub call: ivr::Call,
    pub merchant: Option<Merchant>,
    pub record: CallSessionRecord,
}

/// The calls in progress in this process.
#[derive(Default)]
pub struct Calls {
    live: Mutex<HashMap<String, Arc<tokio::sync::Mutex<LiveCall>>>>,
}

impl Calls {
    pub fn get(&self, id: &str) -> Option<Arc<tokio::sync::Mutex<LiveCall>>> {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }
    pub fn insert(&self, id: &str, c: LiveCall) -> Arc<tokio::sync::Mutex<LiveCall>> {
        let arc = Arc::new(tokio::sync::Mutex::new(c));
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), arc.clone());
        arc
    }
    pub fn remove(&self, id: &str) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
    /// Forgets calls with no carrier request for `idle` (the carrier never told us they
    /// ended). Their checkpoint stays stored.
    pub fn prune(&self, idle: std::time::Duration) {
        let mut map = self.live.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, c| {
            c.try_lock()
                .map(|l| l.last_seen.elapsed() < idle)
                .unwrap_or(true)
        });
    }

    /// Forgets every call (the process is going away).
    pub fn clear(&self) {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// How many calls are in progress.
    pub fn count(&self) -> usize {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
