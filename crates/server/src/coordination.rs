//! Work that one server instance at a time does, over the store's leases (`LeaseStore`):
//! periodic jobs (the expiry sweep, the recovery of approvals in doubt) and a merchant's device
//! pushes. A lease names its holder (this instance, and for a push the request too), is held
//! for a while and renewed while the work goes on; a crashed holder's lease runs out and
//! another instance takes over. With one instance the leases cost one small write each.
//!
//! Each instance also holds a lease of its own, `instance:<instance_id>`, renewed by the
//! worker while it runs: the others take an instance for alive while its lease is (a TwiML
//! call held by a live instance is forwarded to it; one held by a lost instance ends).

use std::time::{Duration, Instant};

use fieldpay_protocol::ErrorCode;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How long a periodic job's lease lasts: the instance doing it renews it on every round; if
/// it dies, another instance takes the job over after this.
pub const JOB_LEASE: Duration = Duration::from_secs(15);

/// The periodic jobs.
pub const EXPIRY_JOB: &str = "job:expiry";
pub const RECOVERY_JOB: &str = "job:recovery";

/// How long an instance's own lease lasts: an instance that stops renewing it (killed, cut
/// off from the database) is taken for lost after this.
pub const INSTANCE_LEASE: Duration = Duration::from_secs(10);

/// How often the worker renews the instance's lease (well within [`INSTANCE_LEASE`]).
pub const INSTANCE_RENEW_EVERY: Duration = Duration::from_secs(2);

/// The name of the lease that says the instance `instance_id` is alive.
pub fn instance_lease(instance_id: &str) -> String {
    format!("instance:{instance_id}")
}

/// Takes or renews this instance's own lease. Answers whether it holds it (a store error, or
/// a lease that ran out and was taken by someone else, counts as no; it is tried again on
/// the next round).
pub async fn keep_instance_alive(state: &AppState) -> bool {
    let (name, holder) = (
        instance_lease(&state.instance_id),
        state.instance_id.to_string(),
    );
    match state
        .db(move |s| s.take_lease(&name, &holder, INSTANCE_LEASE))
        .await
    {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(error = %e.message, "cannot renew this instance's lease");
            false
        }
    }
}

/// Whether the instance `instance_id` is alive: it holds its own lease. A store error counts
/// as alive (the caller then tries to reach it, and finds out).
pub async fn instance_alive(state: &AppState, instance_id: &str) -> bool {
    let (name, id) = (instance_lease(instance_id), instance_id.to_string());
    match state.db(move |s| s.lease_holder(&name)).await {
        Ok(holder) => holder.as_deref() == Some(id.as_str()),
        Err(e) => {
            tracing::warn!(error = %e.message, "cannot read an instance's lease");
            true
        }
    }
}

/// Gives up this instance's job leases and its own lease (on a graceful stop), so another
/// instance, or this one started again, takes the jobs over at once rather than when the
/// leases run out, and the others know at once that this instance's calls are lost.
pub async fn release_jobs(state: &AppState) {
    let own = instance_lease(&state.instance_id);
    for name in [EXPIRY_JOB.to_string(), RECOVERY_JOB.to_string(), own] {
        let holder = state.instance_id.to_string();
        let n = name.clone();
        if let Err(e) = state.db(move |s| s.release_lease(&n, &holder)).await {
            tracing::warn!(lease = %name, error = %e.message, "cannot give a lease up");
        }
    }
}

/// Whether this instance does the periodic job `name` this round (it takes or renews the
/// job's lease). A store error counts as no: the job waits for the next round.
pub async fn job_is_mine(state: &AppState, name: &'static str) -> bool {
    let holder = state.instance_id.to_string();
    match state
        .db(move |s| s.take_lease(name, &holder, JOB_LEASE))
        .await
    {
        Ok(mine) => mine,
        Err(e) => {
            tracing::warn!(job = name, error = %e.message, "cannot take the job's lease");
            false
        }
    }
}

/// A lease held for one piece of work; given up by [`Held::release`] (or, if dropped without
/// it, right after).
pub struct Held {
    state: AppState,
    name: String,
    holder: String,
    ttl: Duration,
    renewed: Instant,
    released: bool,
}

/// Takes the lease `name` for this request, waiting (up to `wait`) while another holds it.
/// Past `wait`: `unavailable` (the client tries again later).
pub async fn acquire(
    state: &AppState,
    name: String,
    ttl: Duration,
    wait: Duration,
) -> AppResult<Held> {
    let holder = format!("{}/{}", state.instance_id, uuid::Uuid::new_v4().simple());
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(5);
    loop {
        let (n, h) = (name.clone(), holder.clone());
        if state.db(move |s| s.take_lease(&n, &h, ttl)).await? {
            return Ok(Held {
                state: state.clone(),
                name,
                holder,
                ttl,
                renewed: Instant::now(),
                released: false,
            });
        }
        if Instant::now() >= deadline {
            return Err(AppError::new(
                ErrorCode::Unavailable,
                "another request of this merchant is being applied; try again shortly",
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

impl Held {
    /// Renews the lease when a third of it has passed; `unavailable` if it ran out and
    /// another holder took it (the work must stop: it is no longer this holder's alone).
    pub async fn keep(&mut self) -> AppResult<()> {
        if self.renewed.elapsed() < self.ttl / 3 {
            return Ok(());
        }
        let (n, h, ttl) = (self.name.clone(), self.holder.clone(), self.ttl);
        if self.state.db(move |s| s.take_lease(&n, &h, ttl)).await? {
            self.renewed = Instant::now();
            Ok(())
        } else {
            Err(AppError::new(
                ErrorCode::Unavailable,
                "the work took too long and was handed over; try again",
            ))
        }
    }

    pub async fn release(mut self) {
        self.released = true;
        let (n, h) = (self.name.clone(), self.holder.clone());
        if let Err(e) = self.state.db(move |s| s.release_lease(&n, &h)).await {
            // It runs out by itself.
            tracing::warn!(lease = %self.name, error = %e.message, "cannot give a lease up");
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // Dropped on an error path: give it up in the background (or it runs out).
        let (state, n, h) = (self.state.clone(), self.name.clone(), self.holder.clone());
        tokio::spawn(async move {
            let _ = state.db(move |s| s.release_lease(&n, &h)).await;
        });
    }
}
