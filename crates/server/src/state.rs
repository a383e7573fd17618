//! The shared state of a running server, handed to every route and service: the store, the
//! settings, the clock, the card connector, the SMS sender, the live-event channel, the calls
//! in progress and the charge writer. It is assembled by `app` (the composition root); the
//! parts it owns live in modules that do not know about it.

use std::sync::Arc;

use fieldpay_protocol::MerchantId;
use tokio::sync::{broadcast, watch, Notify};

use crate::auth::limits::SignInGuard;
use crate::calls::registry::Calls;
use crate::card::{CardConnector, SandboxCardNetwork};
use crate::charges::writer::ChargeWriter;
use crate::clock::Clock;
use crate::config::Settings;
use crate::credentials::MerchantConnectors;
use crate::error::{AppError, AppResult};
use crate::pulls::ReadAhead;
use crate::sms::sender::SmsSender;
use crate::store::postgres::NotifyChannel;
use crate::store::{ChargeRecord, StatusChange, Store, StoreResult};

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub clock: Arc<Clock>,
    pub connector: Arc<dyn CardConnector>,
    /// The sandbox card network when the connector is the sandbox (for tests and tools).
    pub sandbox_network: Option<SandboxCardNetwork>,
    pub sms: Arc<dyn SmsSender>,
    /// The connectors of merchants with their own credentials (they override `connector`
    /// and `sms` for those merchants).
    pub merchant_connectors: Arc<MerchantConnectors>,
    /// Live charge status changes for this instance's listeners (event streams, the webhook
    /// loop). Fed by [`AppState::publish`], through `fanout` when there is one.
    pub events: broadcast::Sender<StatusChange>,
    /// With several instances on PostgreSQL: the channel that carries each published change
    /// to every instance's `events` (this one's too).
    pub fanout: Option<Arc<NotifyChannel>>,
    pub calls: Arc<Calls>,
    /// Wakes the background worker (new texts or webhooks to send).
    pub wake: Arc<Notify>,
    /// Set to true to stop: the HTTP server, the worker and open event streams end.
    pub shutdown: Arc<watch::Sender<bool>>,
    /// Group commit of charge creations.
    pub charge_writer: Arc<ChargeWriter>,
    /// Sync pages read ahead of the devices' requests.
    pub read_ahead: Arc<ReadAhead>,
    /// Sign-in attempt limits and the bound on password checks at once.
    pub sign_in: Arc<SignInGuard>,
    /// The ids of revoked sessions (token families), as the revocation watcher finds them in
    /// the store (whichever process revoked them): open event streams of those sessions end.
    pub revoked_sessions: broadcast::Sender<String>,
    /// This process's name among the instances on one database (a new one at each start):
    /// the holder of the leases it takes.
    pub instance_id: Arc<str>,
}

impl AppState {
    /// Runs a blocking store call on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::from)
    }

    /// The card connector for the merchant's payments: its own (when it has credentials),
    /// else the server's.
    pub async fn card_connector(
        &self,
        merchant_id: &MerchantId,
    ) -> AppResult<Arc<dyn CardConnector>> {
        let own = self
            .merchant_own(merchant_id, "card connector", |c, store, mid, settings| {
                c.card(store, mid, &settings.card)
            })
            .await?;
        Ok(own.unwrap_or_else(|| self.connector.clone()))
    }

    /// The SMS sender for the merchant's texts: its own (when it has credentials), else the
    /// server's.
    pub async fn sms_sender(&self, merchant_id: &MerchantId) -> AppResult<Arc<dyn SmsSender>> {
        let own = self
            .merchant_own(merchant_id, "SMS sender", |c, store, mid, settings| {
                c.sms(store, mid, &settings.sms)
            })
            .await?;
        Ok(own.unwrap_or_else(|| self.sms.clone()))
    }

    /// The merchant's own connector of one kind (`find` reads its credentials: a blocking
    /// store call). Credentials that cannot be used are logged and refused.
    async fn merchant_own<T, F>(
        &self,
        merchant_id: &MerchantId,
        what: &'static str,
        find: F,
    ) -> AppResult<Option<Arc<T>>>
    where
        T: ?Sized + Send + Sync + 'static,
        F: FnOnce(
                &MerchantConnectors,
                &dyn Store,
                &MerchantId,
                &Settings,
            ) -> Result<Option<Arc<T>>, crate::credentials::CredentialError>
            + Send
            + 'static,
    {
        let (store, connectors, settings, mid) = (
            self.store.clone(),
            self.merchant_connectors.clone(),
            self.settings.clone(),
            merchant_id.clone(),
        );
        tokio::task::spawn_blocking(move || find(&connectors, store.as_ref(), &mid, &settings))
            .await
            .map_err(AppError::internal)?
            .map_err(|e| {
                tracing::error!(merchant_id = %merchant_id, error = %e, "the merchant's own {what} cannot be used");
                AppError::new(
                    fieldpay_protocol::ErrorCode::ConnectorFailed,
                    format!("the merchant's {what} is not usable: see the server log"),
                )
            })
    }

    /// Tells live listeners (server-sent events) the charge's current status.
    pub fn publish(&self, rec: &ChargeRecord) {
        self.publish_change(rec.status_change());
    }

    /// Tells live listeners (server-sent events) of a status change.
    pub fn publish_change(&self, change: StatusChange) {
        match (&self.fanout, serde_json::to_string(&change)) {
            (Some(fanout), Ok(json)) => fanout.send(json),
            _ => {
                let _ = self.events.send(change);
            }
        }
        self.wake.notify_one();
    }

    /// Resolves when shutdown was asked for.
    pub async fn stopped(&self) {
        let mut rx = self.shutdown.subscribe();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    pub fn receipt_url(&self, token: &str) -> String {
        format!(
            "{}/r/{token}",
            self.settings.public_url.trim_end_matches('/')
        )
    }
}
