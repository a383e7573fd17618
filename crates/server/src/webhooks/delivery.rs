//! Sending webhooks. [`client`] is the webhook HTTP client: it follows no redirect (a 3xx is a
//! failed attempt), uses no proxy, gives each attempt `webhook_timeout_secs` and resolves host
//! names with the [`CheckedResolver`]. [`run`] is the delivery loop, a task of its own beside
//! the worker that sends texts and expires charges: it starts due deliveries concurrently, at
//! most `webhook_concurrency` at once and at most one per merchant, so a merchant's webhooks
//! go out one after the other and a slow or hanging endpoint holds up only its own merchant.
//! Each attempt is recorded in the outbox before its merchant's next delivery starts.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use fieldpay_protocol::MerchantId;
use reqwest::redirect;
use tokio::sync::broadcast::error::TryRecvError;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::MissedTickBehavior;

use super::address::{check_url, CheckedResolver, WebhookUrlError};
use super::sign;
use crate::config::Settings;
use crate::state::AppState;
use crate::store::{WebhookAttempt, WebhookRecord};

/// How many due deliveries one look at the outbox reads (oldest first).
const DUE_BATCH: u32 = 200;

/// The webhook HTTP client for these settings.
pub fn client(settings: &Settings) -> reqwest::Result<reqwest::Client> {
    let timeout = Duration::from_secs(settings.webhook_timeout_secs);
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        // A proxy would resolve the host itself, past the resolver's checks.
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver {
            sandbox: settings.sandbox(),
        }))
        .https_only(!settings.sandbox())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .build()
}

/// The URL refusal somewhere in a request error's sources (from the resolver).
fn refusal(e: &reqwest::Error) -> Option<&WebhookUrlError> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<WebhookUrlError>() {
            return Some(refused);
        }
        source = s.source();
    }
    None
}

/// A failed request in words: the error and its causes (never the URL).
fn describe(e: reqwest::Error, timeout_secs: u64) -> String {
    if e.is_timeout() {
        return format!("no answer within {timeout_secs} s");
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// One attempt at a delivery; returns what to record.
async fn attempt(state: &AppState, client: &reqwest::Client, w: &WebhookRecord) -> WebhookAttempt {
    let now = state.clock.now();
    let retry_at = state
        .settings
        .webhook_retry_secs
        .get(w.attempts as usize)
        .map(|s| now + chrono::Duration::seconds(*s as i64));
    let give_up = |error: String| WebhookAttempt::Failed {
        status: None,
        error,
        retry_at: None,
    };
    let url = match check_url(&w.url, state.settings.sandbox()) {
        Ok(url) => url,
        Err(e) => return give_up(format!("refused: {e}")),
    };
    let merchant_id = w.merchant_id.clone();
    let merchant = match state.db(move |s| s.merchant(&merchant_id)).await {
        Ok(Some(m)) => m,
        Ok(None) => return give_up("merchant not found".into()),
        Err(e) => {
            return WebhookAttempt::Failed {
                status: None,
                error: format!("cannot read the merchant: {}", e.message),
                retry_at,
            }
        }
    };
    let now = chrono::Utc::now();
    // The current secret's signature, and the previous one's while its grace period after a
    // rotation lasts: space-separated, as Standard Webhooks allows.
    let secrets = crate::admin::webhook_signing_secrets(&merchant.settings, now);
    if secrets.is_empty() {
        return give_up("merchant has no webhook secret".into());
    }
    let timestamp = now.timestamp();
    let signed: Result<Vec<String>, _> = secrets
        .iter()
        .map(|secret| sign(secret.expose(), &w.id, timestamp, &w.payload))
        .collect();
    let signature = match signed {
        Ok(s) => s.join(" "),
        Err(e) => return give_up(e.to_string()),
    };
    let result = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &w.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(w.payload.clone())
        .send()
        .await;
    match result {
        Ok(resp) if resp.status().is_success() => WebhookAttempt::Delivered {
            status: resp.status().as_u16(),
        },
        Ok(resp) => {
            let status = resp.status();
            let error = if status.is_redirection() {
                format!("HTTP {status}: redirects are not followed")
            } else {
                format!("HTTP {status}")
            };
            WebhookAttempt::Failed {
                status: Some(status.as_u16()),
                error,
                retry_at,
            }
        }
        Err(e) => match refusal(&e) {
            Some(refused) => give_up(format!("refused: {refused}")),
            None => WebhookAttempt::Failed {
                status: None,
                error: describe(e.without_url(), state.settings.webhook_timeout_secs),
                retry_at,
            },
        },
    }
}

/// Attempts a delivery and records the attempt.
async fn deliver(state: AppState, client: reqwest::Client, w: WebhookRecord) {
    let attempt = attempt(&state, &client, &w).await;
    match &attempt {
        WebhookAttempt::Delivered { status } => {
            tracing::info!(webhook_id = %w.id, event = %w.event_type, status, "webhook delivered")
        }
        WebhookAttempt::Failed {
            error, retry_at, ..
        } => {
            tracing::warn!(webhook_id = %w.id, event = %w.event_type, error = %error, retry = retry_at.is_some(), "webhook attempt failed")
        }
    }
    let now = state.clock.now();
    if let Err(e) = state
        .db(move |s| s.record_webhook_attempt(&w.id, &attempt, now))
        .await
    {
        tracing::error!(error = %e.message, "cannot record webhook attempt");
    }
}

/// The deliveries in flight, each with its merchant.
#[derive(Default)]
struct InFlight {
    tasks: JoinSet<()>,
    merchants: HashMap<Id, MerchantId>,
}

impl InFlight {
    fn finished(&mut self, done: Result<(Id, ()), JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            Err(e) => {
                tracing::error!(error = %e, "a webhook delivery task failed");
                e.id()
            }
        };
        self.merchants.remove(&id);
    }
}

/// Starts the due deliveries that may start now, oldest first: while fewer than
/// `webhook_concurrency` are in flight, and only for merchants with none in flight. Returns
/// whether due deliveries were left waiting (for a free slot or their merchant's turn).
async fn deliver_due(state: &AppState, client: &reqwest::Client, flight: &mut InFlight) -> bool {
    let limit = state.settings.webhook_concurrency;
    if flight.tasks.len() >= limit {
        return true;
    }
    let now = state.clock.now();
    // Held while the attempt runs (bounded by the timeout); a crashed instance's claim runs
    // out after this and another instance makes the attempt.
    let claim_until =
        now + chrono::Duration::seconds(state.settings.webhook_timeout_secs as i64 + 5);
    let free = (limit - flight.tasks.len()).min(DUE_BATCH as usize) as u32;
    let busy: Vec<MerchantId> = flight.merchants.values().cloned().collect();
    let due = match state
        .db(move |s| s.claim_webhooks(now, free, &busy, claim_until))
        .await
    {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e.message, "cannot read webhook outbox");
            return false;
        }
    };
    // More may be due behind these, and a delivery in flight holds its merchant's next ones:
    // look again when one ends.
    let waiting = !due.is_empty() || !flight.tasks.is_empty();
    for w in due {
        let merchant = w.merchant_id.clone();
        let task = flight
            .tasks
            .spawn(deliver(state.clone(), client.clone(), w));
        flight.merchants.insert(task.id(), merchant);
    }
    waiting
}

/// The delivery loop, until the server stops. It looks for due deliveries on every tick, on
/// every charge status change (which is when new webhooks are written) and, when some were
/// left waiting, whenever a delivery ends. On stop it starts nothing more and lets the
/// deliveries in flight finish (each is bounded by the webhook timeout), so every attempt
/// made is recorded.
pub async fn run(state: AppState) {
    let client = match client(&state.settings) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client: no webhook is delivered");
            return;
        }
    };
    let mut flight = InFlight::default();
    let mut changes = state.events.subscribe();
    let mut tick = tokio::time::interval(Duration::from_millis(state.settings.tick_ms));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let stopped = state.stopped();
    tokio::pin!(stopped);
    let mut look = true;
    let mut waiting = false;
    loop {
        if look {
            waiting = deliver_due(&state, &client, &mut flight).await;
        }
        look = tokio::select! {
            _ = &mut stopped => break,
            Some(done) = flight.tasks.join_next_with_id() => {
                flight.finished(done);
                waiting
            }
            _ = tick.tick() => true,
            // The channel cannot close while `state` holds its sender.
            _ = changes.recv() => {
                // One look for a burst of changes (those of the next moment too).
                tokio::select! {
                    _ = tokio::time::sleep(crate::app::GATHER) => {}
                    _ = &mut stopped => break,
                }
                while !matches!(
                    changes.try_recv(),
                    Err(TryRecvError::Empty | TryRecvError::Closed)
                ) {}
                true
            }
        };
    }
    while let Some(done) = flight.tasks.join_next_with_id().await {
        flight.finished(done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The production client refuses, at connection time, a host name that resolves to a
    /// loopback address: the resolver's refusal comes back as the request's error.
    #[tokio::test]
    async fn production_client_refuses_names_resolving_to_internal_addresses() {
        let settings = Settings {
            mode: crate::config::Mode::Production,
            ..Settings::default()
        };
        let client = client(&settings).unwrap();
        let err = client
            .post("https://localhost:1/hook")
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(refusal(&err), Some(WebhookUrlError::LocalName { .. })),
            "{err:?}"
        );
    }

    /// An endpoint that takes the connection and never answers fails the attempt after
    /// `webhook_timeout_secs`.
    #[tokio::test]
    async fn an_attempt_ends_at_the_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                open.push(conn);
            }
        });
        let settings = Settings {
            webhook_timeout_secs: 1,
            ..Settings::default()
        };
        let started = std::time::Instant::now();
        let err = client(&settings)
            .unwrap()
            .post(format!("http://{addr}/hook"))
            .send()
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert_eq!(describe(err, 1), "no answer within 1 s");
        held.abort();
    }
}
