//! Group commit of charge creations: one writer task creates queued charges together, one
//! transaction per group, each charge all or nothing on its own.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::error::{AppError, AppResult};
use crate::store::{ChargeRecord, Effects, NewCharge, Store};

/// The answer of the writer to a submitted charge.
pub type Pending = oneshot::Receiver<AppResult<(ChargeRecord, bool)>>;

/// Builds the texts and webhooks of a new charge (owns what it needs: it runs on the writer).
pub type ComposeOwned = Box<dyn Fn(&ChargeRecord) -> Effects + Send + Sync>;

struct ChargeJob {
    new: NewCharge,
    compose: ComposeOwned,
    reply: oneshot::Sender<AppResult<(ChargeRecord, bool)>>,
}

/// Most charges committed in one transaction.
const MAX_GROUP: usize = 128;

/// Group commit of charge creations. Requests queue here; one writer task takes everything
/// queued (up to [`MAX_GROUP`]) and creates it with [`Store::create_charges`](crate::store::Store::create_charges):
/// one transaction, each charge in its own savepoint. A request is answered only after the
/// transaction that holds its charge committed, so nothing acknowledged is lost; a refused
/// charge (pool exhausted, idempotency conflict, ...) gets its own error and the others are
/// unaffected. While one group commits the next one gathers, so under load the groups grow
/// and the writer (SQLite's single writer) does one commit for many requests; alone, a
/// request is a group of one and waits for no one.
pub struct ChargeWriter {
    store: Arc<dyn Store>,
    clock: Arc<Clock>,
    queue: std::sync::Mutex<Option<mpsc::UnboundedSender<ChargeJob>>>,
}

impl ChargeWriter {
    pub fn new(store: Arc<dyn Store>, clock: Arc<Clock>) -> Self {
        ChargeWriter {
            store,
            clock,
            queue: std::sync::Mutex::new(None),
        }
    }

    /// The queue of the running writer task, started on first use (on the caller's runtime)
    /// and again if that runtime went away.
    fn sender(&self) -> mpsc::UnboundedSender<ChargeJob> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = q.as_ref().filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        // The task holds the store and clock: it ends when this writer (and so its sender) is
        // dropped.
        tokio::spawn(run_writer(self.store.clone(), self.clock.clone(), rx));
        *q = Some(tx.clone());
        tx
    }

    /// Queues a charge (without waiting); charges submitted one after the other are created
    /// in that order.
    pub fn submit(&self, new: NewCharge, compose: ComposeOwned) -> AppResult<Pending> {
        let (reply, answer) = oneshot::channel();
        self.sender()
            .send(ChargeJob {
                new,
                compose,
                reply,
            })
            .map_err(|_| AppError::internal("the charge writer stopped"))?;
        Ok(answer)
    }
}

async fn run_writer(
    store: Arc<dyn Store>,
    clock: Arc<Clock>,
    mut rx: mpsc::UnboundedReceiver<ChargeJob>,
) {
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        let group = std::mem::take(&mut jobs);
        let store = store.clone();
        let now = clock.now();
        let done = tokio::task::spawn_blocking(move || {
            let (news, rest): (Vec<NewCharge>, Vec<_>) = group
                .into_iter()
                .map(|j| (j.new, (j.compose, j.reply)))
                .unzip();
            let composes: HashMap<&str, &ComposeOwned> = news
                .iter()
                .zip(&rest)
                .map(|(n, (c, _))| (n.id.as_str(), c))
                .collect();
            let compose = |rec: &ChargeRecord| match composes.get(rec.charge.id.as_str()) {
                Some(c) => c(rec),
                None => Effects::default(),
            };
            let results = store.create_charges(&news, now, &compose);
            drop(composes);
            let replies: Vec<_> = rest.into_iter().map(|(_, r)| r).collect();
            (results, replies)
        })
        .await;
        match done {
            Ok((Ok(results), replies)) => {
                for (r, reply) in results.into_iter().zip(replies) {
                    let _ = reply.send(r.map_err(AppError::from));
                }
            }
            Ok((Err(e), replies)) => {
                let e = AppError::from(e);
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            // A panic: its replies are dropped with it and their requests get an error.
            Err(e) => tracing::error!(error = %e, "charge writer batch failed"),
        }
    }
}
