//! The sync loop: push the outbox in creation order, pull by cursor page by page, follow the
//! server-sent event stream while online; back off with jitter while offline; tell the UI.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fieldpay_protocol::app::{EngineEvent, LocalOrder, SyncState, SyncStatus};
use fieldpay_protocol::sync::{
    device_keeps, ChangeData, Mutation, MutationBatch, MutationOutcome, SyncPage,
};
use fieldpay_protocol::ErrorCode;
use futures_util::StreamExt;
use rand::Rng;

use crate::db::ts;
use crate::engine::Engine;
use crate::error::{CoreError, CoreResult};

/// Mutations per push request (the server takes up to 500).
pub const PUSH_BATCH: u32 = 500;
/// A push request stops growing past this many bytes of mutations (signed orders carry their
/// PNG and PDF; the server takes bodies up to 8 MB).
pub const PUSH_BYTES: usize = 4 * 1024 * 1024;
/// Changes per pull page (the server's maximum). Each page is one transaction on the device:
/// big pages spread the cost of a commit (the pages of balances and indexes it rewrites).
pub const PULL_PAGE: u32 = 20_000;
const IDLE_POLL: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// `base * 2^attempt`, capped, with ±25% jitter so devices don't retry in step.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF);
    let jitter = rand::rng().random_range(0.75..1.25);
    exp.mul_f64(jitter)
}

/// A page being fetched by another task; dropped (on an error) it is abandoned.
struct Prefetch(tokio::task::JoinHandle<CoreResult<SyncPage>>);

impl Prefetch {
    async fn get(mut self) -> CoreResult<SyncPage> {
        let handle = &mut self.0;
        handle
            .await
            .map_err(|e| CoreError::Other(format!("page fetch failed: {e}")))?
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The running loops of an engine; dropping it does not stop them, `stop` does.
pub struct SyncHandle {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl SyncHandle {
    pub fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

impl Engine {
    /// Starts the sync loop and the live event stream.
    pub fn start(self: &Arc<Self>) -> SyncHandle {
        let a = self.clone();
        let b = self.clone();
        SyncHandle {
            tasks: vec![
                tokio::spawn(async move { a.sync_loop().await }),
                tokio::spawn(async move { b.event_loop().await }),
            ],
        }
    }

    /// Signed in, with a password of the rep's own (not a one-time one).
    fn may_sync(&self) -> bool {
        self.session().is_some_and(|s| !s.must_change_password)
    }

    fn set_online(&self, online: bool, error: Option<String>) {
        self.update_status(|s| {
            s.online = online;
            if let Some(e) = error {
                s.last_error = Some(e);
            }
        });
    }

    /// One full sync: push everything queued, then pull until up to date.
    pub async fn sync_now(&self) -> CoreResult<SyncStatus> {
        match self.session() {
            None => return Err(CoreError::NotSignedIn),
            // The server refuses everything until the one-time password is replaced.
            Some(s) if s.must_change_password => {
                return Err(CoreError::invalid(
                    ErrorCode::PasswordChangeRequired,
                    "먼저 새 비밀번호를 설정하세요 (set a new password first)",
                ))
            }
            Some(_) => {}
        }
        let _one = self.sync_lock.lock().await;
        self.update_status(|s| s.syncing = true);
        let result = async {
            self.push_all().await?;
            self.pull_all().await
        }
        .await;
        self.update_status(|s| s.syncing = false);
        // What the sync wrote goes into the database file while the rep goes on.
        self.db.checkpoint_in_background();
        // A session kept from before the server gave reps a number series learns its series
        // from a refresh answer (then orders are numbered on the device at signing).
        if let (Some(fresh), Some(mut me)) = (self.client.take_refreshed_rep(), self.session()) {
            if fresh.id == me.id && fresh.merchant_id == me.merchant_id && fresh.series != me.series
            {
                me.series = fresh.series;
                self.set_session(&me)?;
            }
        }
        match &result {
            Ok(()) => {
                let now = ts(Utc::now());
                self.db.set_state("last_sync", &now)?;
                self.db.set_state("last_error", "")?;
                self.update_status(|s| {
                    s.online = true;
                    s.last_sync = Some(now.clone());
                    s.last_error = None;
                });
            }
            Err(CoreError::Offline(e)) => {
                self.db.set_state("last_error", e)?;
                self.set_online(false, Some(e.clone()))
            }
            Err(CoreError::Server(e)) if e.code == ErrorCode::PasswordChangeRequired => {
                // A reset one-time password (the manager's): no sync until the rep sets a
                // new one; the app shows its new-password screen.
                if let Some(mut me) = self.session() {
                    me.must_change_password = true;
                    self.set_session(&me)?;
                    let _ = self.events.send(EngineEvent::SessionChanged);
                }
                self.db.set_state("last_error", &e.message)?;
                self.update_status(|s| s.last_error = Some(e.message.clone()))
            }
            Err(e) => {
                self.db.set_state("last_error", &e.to_string())?;
                self.update_status(|s| s.last_error = Some(e.to_string()))
            }
        }
        self.refresh_counts()?;
        result.map(|()| self.status())
    }

    async fn push_all(&self) -> CoreResult<()> {
        loop {
            let mut items = self.db.pending(PUSH_BATCH)?;
            if items.is_empty() {
                return Ok(());
            }
            let mut bytes = 0;
            let fits = items
                .iter()
                .take_while(|i| {
                    bytes += serde_json::to_vec(&i.op).map_or(0, |v| v.len());
                    bytes <= PUSH_BYTES
                })
                .count();
            items.truncate(fits.max(1));
            let ids: Vec<String> = items.iter().map(|i| i.client_id.clone()).collect();
            self.db.note_attempt(&ids)?;
            let batch = MutationBatch {
                mutations: items
                    .iter()
                    .map(|i| Mutation {
                        client_id: i.client_id.clone(),
                        op: i.op.clone(),
                    })
                    .collect(),
            };
            let results = self.client.push(&batch).await?;
            self.db.record_results(&results.results, Utc::now())?;
            for r in &results.results {
                if let MutationOutcome::Applied {
                    order,
                    charge,
                    collection,
                } = &r.outcome
                {
                    if collection.is_some() {
                        let _ = self.events.send(EngineEvent::RecordsChanged);
                    }
                    if let Some(o) = order {
                        if let Some(local) = self.db.order(&o.id)? {
                            let _ = self.events.send(EngineEvent::OrderChanged(Box::new(local)));
                        }
                    }
                    if let Some(c) = charge {
                        let _ = self.events.send(EngineEvent::ChargeChanged(c.clone()));
                    }
                }
                if let MutationOutcome::Rejected { error } = &r.outcome {
                    tracing::warn!(client_id = %r.client_id, code = %error.code, "action refused by the server");
                }
            }
            self.refresh_counts()?;
            if results.results.len() < items.len() {
                return Err(CoreError::Other(
                    "the server answered part of a batch".into(),
                ));
            }
        }
    }

    /// Pulls pages until up to date. Each page is applied in its own transaction (with the
    /// cursor); the next page is fetched (and decoded) by another task meanwhile. Pulled
    /// accounts and products enter the search indexes once at the end, also when a later
    /// page fails (one index rebuild instead of one per page). A first sync of many pages
    /// (a bulk load) keeps no list of them: the indexes are built again from the database at
    /// the end, as when the app starts.
    async fn pull_all(&self) -> CoreResult<()> {
        let mut accounts = Vec::new();
        let mut dropped = Vec::new();
        let mut products = Vec::new();
        let mut bulk = false;
        let result = self
            .pull_pages(&mut accounts, &mut dropped, &mut products, &mut bulk)
            .await;
        let indexed = if bulk {
            let ended = self.db.end_bulk_load();
            ended.and(self.rebuild_indexes())
        } else {
            self.index_pulled(accounts, dropped, products);
            Ok(())
        };
        result.and(indexed)
    }

    async fn pull_pages(
        &self,
        accounts: &mut Vec<crate::search::SearchDoc>,
        dropped: &mut Vec<String>,
        products: &mut Vec<fieldpay_protocol::records::Product>,
        bulk: &mut bool,
    ) -> CoreResult<()> {
        let scope = self.scope();
        let mut next: Option<Prefetch> = None;
        let mut first = true;
        loop {
            let page = match next.take() {
                Some(p) => p.get().await?,
                None => self.client.pull(self.db.cursor()?, PULL_PAGE).await?,
            };
            if first && page.has_more {
                // Many pages coming: a first sync loads the ledger without its by-account
                // index and indexes it at the end.
                *bulk = self.db.begin_bulk_load()?;
            }
            first = false;
            if page.has_more {
                let client = self.client.clone();
                let cursor = page.cursor;
                next = Some(Prefetch(tokio::spawn(async move {
                    client.pull(cursor, PULL_PAGE).await
                })));
            }
            self.db.apply_page(&page)?;
            let mut records = false;
            for c in page.changes {
                match c.data {
                    ChangeData::Account(_) | ChangeData::Product(_) if *bulk => records = true,
                    ChangeData::Account(a) => {
                        // Applied as the database did: kept, or dropped (moved to another rep).
                        if device_keeps(scope.as_deref(), &a) {
                            accounts.push(crate::engine::account_doc(&a, 0));
                        } else {
                            accounts.retain(|d| d.id != a.id);
                            dropped.push(a.id);
                        }
                        records = true;
                    }
                    ChangeData::Product(p) => {
                        products.push(p);
                        records = true;
                    }
                    ChangeData::Ledger(_)
                    | ChangeData::AccountPrice(_)
                    | ChangeData::Collection(_) => records = true,
                    ChangeData::Charge(ch) => {
                        let _ = self.events.send(EngineEvent::ChargeChanged(Box::new(ch)));
                    }
                    ChangeData::Order(o) => {
                        let state = self
                            .db
                            .order(&o.id)?
                            .map(|l| l.sync_state)
                            .unwrap_or(SyncState::Synced);
                        let _ = self
                            .events
                            .send(EngineEvent::OrderChanged(Box::new(LocalOrder {
                                order: o,
                                sync_state: state,
                            })));
                    }
                }
            }
            if records {
                let _ = self.events.send(EngineEvent::RecordsChanged);
            }
            if !page.has_more {
                return Ok(());
            }
        }
    }

    async fn sync_loop(self: Arc<Self>) {
        let mut failures = 0u32;
        loop {
            let wait = if !self.may_sync() {
                IDLE_POLL
            } else {
                match self.sync_now().await {
                    Ok(_) => {
                        failures = 0;
                        IDLE_POLL
                    }
                    Err(CoreError::NotSignedIn) => IDLE_POLL,
                    Err(e) => {
                        tracing::info!(error = %e, "sync failed; will retry");
                        failures += 1;
                        backoff(Duration::from_millis(500), failures - 1)
                    }
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Follows `/v1/events` while online: each charge event triggers a pull, so the local
    /// copy (and the UI) gets the new status within moments.
    async fn event_loop(self: Arc<Self>) {
        let mut failures = 0u32;
        loop {
            if !self.may_sync() {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            match self.client.events().await {
                Ok(resp) => {
                    failures = 0;
                    self.set_online(true, None);
                    self.wake.notify_one();
                    let mut stream = resp.bytes_stream();
                    let mut buf = String::new();
                    while let Some(chunk) = stream.next().await {
                        let Ok(bytes) = chunk else { break };
                        buf.push_str(&String::from_utf8_lossy(&bytes));
                        while let Some(end) = buf.find("\n\n") {
                            let block: String = buf.drain(..end + 2).collect();
                            if block.lines().any(|l| l.trim() == "event: charge") {
                                self.wake.notify_one();
                            }
                        }
                    }
                }
                Err(e) => {
                    failures += 1;
                    if matches!(e, CoreError::Offline(_)) {
                        self.set_online(false, Some(e.to_string()));
                    }
                }
            }
            tokio::time::sleep(backoff(Duration::from_millis(500), failures.min(8))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let base = Duration::from_millis(500);
        for attempt in 0..20 {
            let d = backoff(base, attempt);
            let nominal = base.saturating_mul(1 << attempt.min(16)).min(MAX_BACKOFF);
            assert!(
                d >= nominal.mul_f64(0.74) && d <= nominal.mul_f64(1.26),
                "{attempt}: {d:?}"
            );
        }
    }
}
