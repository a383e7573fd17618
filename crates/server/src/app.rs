//! The running server: shared state, background worker, router, start and graceful stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use fieldpay_protocol::charge::ChargeStatusChanged;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch, Notify};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::calls::Calls;
use crate::card::{CardConnector, SandboxCardNetwork};
use crate::clock::Clock;
use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::sms::SmsSender;
use crate::store::{ChargeRecord, SqliteStore, Store};

/// A charge status change as published to live listeners, with its merchant.
#[derive(Debug, Clone)]
pub struct Published {
    pub merchant_id: String,
    pub event: ChargeStatusChanged,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub clock: Arc<Clock>,
    pub connector: Arc<dyn CardConnector>,
    /// The sandbox card network when the connector is the sandbox (for tests and tools).
    pub sandbox_network: Option<SandboxCardNetwork>,
    pub sms: Arc<dyn SmsSender>,
    pub http: reqwest::Client,
    pub events: broadcast::Sender<Published>,
    pub calls: Arc<Calls>,
    /// Wakes the background worker (new texts or webhooks to send).
    pub wake: Arc<Notify>,
    /// Set to true to stop: the HTTP server, the worker and open event streams end.
    pub shutdown: Arc<watch::Sender<bool>>,
    /// Group commit of charge creations.
    pub charge_writer: Arc<crate::charges::ChargeWriter>,
}

impl AppState {
    /// Runs a blocking store call on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, crate::store::StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::from)
    }

    /// Tells live listeners (server-sent events) the charge's current status.
    pub fn publish(&self, rec: &ChargeRecord) {
        let c = &rec.charge;
        let at = c.events.last().map(|e| e.at.clone()).unwrap_or_default();
        let _ = self.events.send(Published {
            merchant_id: rec.merchant_id.clone(),
            event: ChargeStatusChanged {
                charge_id: c.id.clone(),
                status: c.status,
                at,
                account_id: c.account_id.clone(),
                rep_id: c.rep_id.clone(),
                amount: c.amount,
            },
        });
        self.wake.notify_one();
    }

    pub async fn publish_charge(&self, charge_id: &str) {
        let id = charge_id.to_string();
        if let Ok(Some(rec)) = self.db(move |s| s.charge_any(&id)).await {
            self.publish(&rec);
        }
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

/// Builds the state for the given settings: opens (and migrates) the database, the sandbox
/// card network and the SMS sink.
pub fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&settings.data_dir)?;
    let store = SqliteStore::open(&settings.db_path())?;
    if !settings.sandbox {
        anyhow::bail!(
            "only sandbox mode is available in this build: no production card connector or SMS \
             provider is configured (set sandbox = true)"
        );
    }
    let network = SandboxCardNetwork::open(&settings.cardnet_path())?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .build()?;
    let (events, _) = broadcast::channel(1024);
    Ok(AppState {
        store: Arc::new(store),
        settings: Arc::new(settings),
        clock: Arc::new(Clock::default()),
        connector: Arc::new(network.clone()),
        sandbox_network: Some(network),
        sms: crate::sms::sandbox(),
        http,
        events,
        calls: Arc::new(Calls::default()),
        wake: Arc::new(Notify::new()),
        shutdown: Arc::new(watch::channel(false).0),
        charge_writer: Arc::default(),
    })
}

pub fn router(state: AppState) -> Router {
    let mut r = Router::new()
        .merge(crate::routes::api::router())
        .merge(crate::routes::pages::router())
        .merge(crate::telephony::twiml::router());
    if state.settings.sandbox {
        r = r.merge(crate::telephony::sandbox_phone::router());
    }
    r.layer(RequestBodyLimitLayer::new(8 * 1024 * 1024))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// One pass of background work: texts, webhooks, expiry. Returns whether anything happened.
pub async fn work_once(state: &AppState) -> bool {
    let sent = crate::sms::dispatch_pending(state).await;
    let hooks = crate::webhooks::deliver_due(state).await;
    let expired = crate::charges::expire_due(state).await;
    sent + hooks + expired > 0
}

async fn worker(state: AppState) {
    let tick = Duration::from_millis(state.settings.tick_ms);
    crate::charges::recover_in_flight(&state, true).await;
    let mut last_slow = std::time::Instant::now();
    loop {
        while work_once(&state).await {}
        if last_slow.elapsed() >= Duration::from_secs(30) {
            last_slow = std::time::Instant::now();
            crate::charges::recover_in_flight(&state, false).await;
            state.calls.prune(Duration::from_secs(15 * 60));
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = state.wake.notified() => {}
            _ = state.stopped() => break,
        }
    }
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    worker: tokio::task::JoinHandle<()>,
    /// The SIP endpoint when `sip_listen` is set.
    pub sip: Option<crate::telephony::sip::SipEndpoint>,
}

impl Running {
    /// Stops taking requests, lets running ones finish, stops the worker.
    pub async fn shutdown(self) {
        let _ = self.state.shutdown.send(true);
        if let Some(sip) = self.sip {
            sip.stop().await;
        }
        let _ = self.server.await;
        let _ = self.worker.await;
    }
}

/// Binds `listener` and serves until [`Running::shutdown`].
pub async fn start(state: AppState, listener: TcpListener) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let sip = match state.settings.sip_listen {
        Some(at) => Some(crate::telephony::sip::start(state.clone(), at).await?),
        None => None,
    };
    let app = router(state.clone());
    let s2 = state.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { s2.stopped().await })
            .await
    });
    let worker = tokio::spawn(worker(state.clone()));
    Ok(Running {
        addr,
        state,
        server,
        worker,
        sip,
    })
}
