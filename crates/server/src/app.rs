//! The composition root: builds the state from the settings, assembles the routers and the
//! background worker, starts and stops the server. Nothing else imports this module.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch, Notify};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::limits::SignInGuard;
use crate::calls::registry::Calls;
use crate::card::{CardConnector, SandboxCardNetwork};
use crate::charges::writer::ChargeWriter;
use crate::clock::Clock;
use crate::config::{CardProvider, ConfigError, Settings};
use crate::credentials::{CredentialError, MerchantConnectors, Sealer};
use crate::demo;
use crate::openapi::ApiDocument;
use crate::state::AppState;
use crate::store::postgres::NotifyChannel;
use crate::store::{PgStore, SqliteStore, Store};

/// Opens (and migrates) the configured store: PostgreSQL when `database_url` is set, else
/// the SQLite file in the data folder. Blocks.
pub fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &settings.database_url {
        Some(url) => Arc::new(PgStore::open(url, settings.database_pool_size)?),
        None => {
            std::fs::create_dir_all(&settings.data_dir)?;
            Arc::new(SqliteStore::open(&settings.db_path())?)
        }
    })
}

/// The card connector the settings name, and the sandbox network when it is that.
fn card_connector(
    settings: &Settings,
) -> anyhow::Result<(Arc<dyn CardConnector>, Option<SandboxCardNetwork>)> {
    Ok(match settings.card.provider {
        CardProvider::Sandbox => {
            let network = SandboxCardNetwork::open(&settings.cardnet_path())?;
            (Arc::new(network.clone()), Some(network))
        }
        _ => (crate::card::connector_for(&settings.card)?, None),
    })
}

/// Refuses a production server on a database that holds the sandbox demo merchant: its API
/// key and its reps' passwords are published in the README.
fn refuse_sandbox_data(store: &dyn Store) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    if store
        .api_key(&crate::auth::hash_secret(demo::DEMO_API_KEY))?
        .is_some()
    {
        problems.push(
            "the database holds the sandbox's published demo API key: production needs a \
             database without the demo data"
                .to_string(),
        );
    }
    if store.merchant_by_code(demo::DEMO_MERCHANT_CODE)?.is_some() {
        problems.push(format!(
            "the database holds the sandbox demo merchant (code {:?}, with published \
             passwords): production needs a database without the demo data",
            demo::DEMO_MERCHANT_CODE
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Problems(problems).into())
    }
}

/// Builds the state for the given settings: checks them for their mode ([`Settings::problems`],
/// all refused at once), opens (and migrates) the database, and the card connector and SMS
/// sender they name. In production, refuses a database with the sandbox demo data.
pub fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let problems = settings.problems();
    if !problems.is_empty() {
        return Err(ConfigError::Problems(problems).into());
    }
    std::fs::create_dir_all(&settings.data_dir)?;
    let store = open_store(&settings)?;
    if !settings.sandbox() {
        refuse_sandbox_data(store.as_ref())?;
    }
    let (connector, sandbox_network) = card_connector(&settings)?;
    let sms = crate::sms::select::for_settings(&settings.sms)?;
    let sealer = match &settings.credentials_key {
        Some(key) => Some(Sealer::new(key)?),
        None if store.credentials_count()? > 0 => return Err(CredentialError::NoKey.into()),
        None => None,
    };
    let (events, _) = broadcast::channel(1024);
    let shutdown = Arc::new(watch::channel(false).0);
    // Several instances on one PostgreSQL database: each published change goes to all.
    let fanout = settings.database_url.as_ref().map(|url| {
        let local = events.clone();
        Arc::new(NotifyChannel::start(
            url,
            "fieldpay_events",
            move |json| match serde_json::from_str::<crate::store::StatusChange>(&json) {
                Ok(p) => {
                    let _ = local.send(p);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "an unreadable live event from another instance")
                }
            },
            shutdown.subscribe(),
        ))
    });
    let clock = Arc::new(Clock::default());
    let (revoked_sessions, _) = broadcast::channel(256);
    Ok(AppState {
        sign_in: Arc::new(SignInGuard::new(&settings, store.clone())),
        revoked_sessions,
        charge_writer: Arc::new(ChargeWriter::new(store.clone(), clock.clone())),
        read_ahead: Arc::default(),
        store,
        settings: Arc::new(settings),
        clock,
        connector,
        sandbox_network,
        sms,
        merchant_connectors: Arc::new(MerchantConnectors::new(sealer)),
        events,
        fanout,
        calls: Arc::new(Calls::default()),
        wake: Arc::new(Notify::new()),
        shutdown,
        instance_id: format!("inst_{}", uuid::Uuid::new_v4().simple()).into(),
    })
}

/// Every route with its description: the API, the pages, the telephony webhook and, when
/// `sandbox`, the sandbox phone with its clock (which a server serves only with
/// `sandbox_clock`).
pub fn routes(sandbox: bool) -> OpenApiRouter<AppState> {
    served_routes(sandbox, sandbox)
}

fn served_routes(sandbox: bool, sandbox_clock: bool) -> OpenApiRouter<AppState> {
    let mut r = OpenApiRouter::with_openapi(crate::openapi::frame())
        .merge(crate::routes::api_router())
        .merge(crate::routes::pages::router())
        .merge(crate::routes::web::router())
        .merge(crate::routes::pay::router())
        .merge(crate::telephony::twiml::router());
    if sandbox {
        r = r.merge(crate::telephony::sandbox_phone::router(sandbox_clock));
    }
    r
}

/// The server's routes, with their description served at `GET /v1/openapi.json`.
pub fn router(state: AppState) -> Router {
    let settings = &state.settings;
    let (r, doc) = served_routes(settings.sandbox(), settings.sandbox_clock).split_for_parts();
    r.layer(Extension(ApiDocument::new(&doc)))
        .layer(RequestBodyLimitLayer::new(8 * 1024 * 1024))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Sends the texts waiting to go out: batch after batch while full ones come back.
async fn send_texts(state: &AppState) {
    while crate::sms::dispatch_pending(state).await >= crate::sms::SMS_BATCH as usize {}
}

/// Expires the charges whose time ran out, when this instance holds the expiry job.
async fn sweep_expired(state: &AppState) {
    if crate::coordination::job_is_mine(state, crate::coordination::EXPIRY_JOB).await {
        crate::charges::expire_due(state).await;
    }
}

/// How long the background loops wait after a wake-up (a charge created or changed: texts
/// or webhooks may be queued) before they look at their outbox, so that what every charge
/// made meanwhile queued goes out in one pass: one claim and one mark for a burst instead of
/// one of each per charge. A text or webhook leaves at most this much later; the store's
/// single writer is held far less (measured in BENCHMARKS.md, row 12).
pub const GATHER: Duration = Duration::from_millis(20);

/// How often approvals in flight are looked at for those in doubt (one indexed read).
const RECOVERY_EVERY: Duration = Duration::from_secs(2);

/// How often the revocation watcher looks for newly revoked sessions.
const REVOCATION_POLL: Duration = Duration::from_millis(200);

/// Follows the store's revocation order and tells open event streams which sessions ended
/// (`AppState::revoked_sessions`). Reading the store rather than a signal in memory sees
/// revocations made by any process on the same database (an admin command, another server).
async fn watch_revocations(state: AppState) {
    let mut seen = match state.db(|s| s.last_revocation()).await {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e.message, "cannot follow session revocations");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(REVOCATION_POLL) => {}
            _ = state.stopped() => break,
        }
        if state.revoked_sessions.receiver_count() == 0 {
            // Nobody to tell (no open rep stream): skip the reads, catch up later.
            continue;
        }
        let after = seen;
        match state
            .db(move |s| s.revoked_families_after(after, 1000))
            .await
        {
            Ok(rows) => {
                for (n, family_id) in rows {
                    seen = n;
                    let _ = state.revoked_sessions.send(family_id);
                }
            }
            Err(e) => tracing::warn!(error = %e.message, "cannot read session revocations"),
        }
    }
}

/// The background worker: the webhook delivery loop beside a loop of texts, expiry, in-doubt
/// approvals and call pruning; both end when the server stops.
async fn worker(state: AppState) {
    let webhooks = tokio::spawn(crate::webhooks::run(state.clone()));
    let tick = Duration::from_millis(state.settings.tick_ms);
    // With a database of its own, every approval in flight at start was this process's,
    // interrupted by its stop: resolved now. On a shared database another instance may be
    // making one this moment: only those older than IN_DOUBT_AFTER are in doubt.
    let at_start = state.settings.database_url.is_none();
    if crate::coordination::job_is_mine(&state, crate::coordination::RECOVERY_JOB).await {
        crate::charges::recover_in_flight(&state, at_start).await;
    }
    let mut last_recovery = std::time::Instant::now();
    let mut last_prune = std::time::Instant::now();
    let mut last_alive = std::time::Instant::now();
    // Expiry is a matter of time, not of events: once a tick (and at start).
    let mut next_sweep = tokio::time::Instant::now();
    loop {
        if last_alive.elapsed() >= crate::coordination::INSTANCE_RENEW_EVERY {
            last_alive = std::time::Instant::now();
            crate::coordination::keep_instance_alive(&state).await;
        }
        if tokio::time::Instant::now() >= next_sweep {
            next_sweep = tokio::time::Instant::now() + tick;
            sweep_expired(&state).await;
        }
        send_texts(&state).await;
        if last_recovery.elapsed() >= RECOVERY_EVERY {
            last_recovery = std::time::Instant::now();
            if crate::coordination::job_is_mine(&state, crate::coordination::RECOVERY_JOB).await {
                crate::charges::recover_in_flight(&state, false).await;
                crate::charges::finish_pending_refunds(&state).await;
            }
        }
        if last_prune.elapsed() >= Duration::from_secs(30) {
            last_prune = std::time::Instant::now();
            state.calls.prune(Duration::from_secs(15 * 60));
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next_sweep) => {}
            _ = state.wake.notified() => {
                tokio::select! {
                    _ = tokio::time::sleep(GATHER) => {}
                    _ = state.stopped() => break,
                }
            }
            _ = state.stopped() => break,
        }
    }
    crate::coordination::release_jobs(&state).await;
    if let Err(e) = webhooks.await {
        tracing::error!(error = %e, "the webhook delivery loop failed");
    }
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    worker: tokio::task::JoinHandle<()>,
    revocations: tokio::task::JoinHandle<()>,
    /// The SIP endpoint when `sip_listen` is set.
    pub sip: Option<crate::telephony::sip::SipEndpoint>,
}

impl Running {
    /// Stops taking requests, lets running ones finish, stops the worker.
    pub async fn shutdown(self) {
        // `send_replace`, not `send`: `send` stores nothing when no task is waiting on
        // `stopped()` at this moment (one just spawned and not yet polled), and that task
        // would then wait forever.
        self.state.shutdown.send_replace(true);
        if let Some(sip) = self.sip {
            sip.stop().await;
        }
        let _ = self.server.await;
        let _ = self.worker.await;
        let _ = self.revocations.await;
    }

    /// Stops at once, as if the process were killed (for tests of a lost instance): the
    /// listener closes, nothing is finished and no lease is given up, so this instance's
    /// leases run out by themselves. What is left in memory (its calls) is gone with it.
    pub async fn abort(self) {
        self.server.abort();
        self.worker.abort();
        self.revocations.abort();
        let _ = self.server.await;
        let _ = self.worker.await;
        let _ = self.revocations.await;
        // The loops the worker started (webhook delivery) and SIP end too; leases stay.
        self.state.shutdown.send_replace(true);
        if let Some(sip) = self.sip {
            sip.stop().await;
        }
        self.state.calls.clear();
    }
}

/// Refuses settings unsafe to serve on `addr` (see [`Settings::check_exposure`]: sandbox
/// mode beyond loopback without `allow_remote_sandbox`, the sandbox's published Twilio token
/// beyond loopback) and logs the loud warnings of an allowed remote sandbox.
fn check_exposure(settings: &Settings, addr: SocketAddr) -> anyhow::Result<()> {
    for warning in settings.check_exposure(addr)? {
        tracing::warn!("{warning}");
    }
    Ok(())
}

/// Serves on `listener` until [`Running::shutdown`], after checking that the settings are
/// safe to serve there.
pub async fn start(state: AppState, listener: TcpListener) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    check_exposure(&state.settings, addr)?;
    serve(state, listener, addr).await
}

async fn serve(
    state: AppState,
    listener: TcpListener,
    addr: SocketAddr,
) -> anyhow::Result<Running> {
    // Alive before the first call: the other instances forward this one's calls to it while
    // it holds this lease (renewed by the worker).
    crate::coordination::keep_instance_alive(&state).await;
    let sip = match state.settings.sip_listen {
        Some(at) => Some(crate::telephony::sip::start(state.clone(), at).await?),
        None => None,
    };
    let app = router(state.clone());
    let s2 = state.clone();
    let server = tokio::spawn(async move {
        // With each connection's peer address: sign-in attempts are limited per address.
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { s2.stopped().await })
            .await
    });
    let worker = tokio::spawn(worker(state.clone()));
    let revocations = tokio::spawn(watch_revocations(state.clone()));
    Ok(Running {
        addr,
        state,
        server,
        worker,
        revocations,
        sip,
    })
}

/// The one way to start a server from its settings (`fieldpay-server serve`, the app's
/// embedded sandbox, every test and benchmark that needs a running server): checks them,
/// builds the state and serves on `listener`. In sandbox mode with the demo merchant (seeded
/// on the first start; later starts on the same data folder find it and leave it as it is);
/// in production with nothing of the sandbox. Logs one summary line (never a secret).
pub async fn start_configured(
    settings: Settings,
    listener: TcpListener,
) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    // Before anything is opened or seeded.
    check_exposure(&settings, addr)?;
    // Opening SQLite (and migrating) blocks: keep it off the async workers.
    let state = tokio::task::spawn_blocking(move || build_state(settings)).await??;
    if state.settings.sandbox() && demo::seed(state.store.clone(), state.connector.as_ref()).await?
    {
        tracing::info!("seeded the sandbox demo merchant (see README for credentials)");
    }
    let running = serve(state, listener, addr).await?;
    let summary: Vec<String> = running
        .state
        .settings
        .summary()
        .into_iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    tracing::info!(bound = %addr, "FieldPay server started; {}", summary.join("; "));
    Ok(running)
}

/// [`start_configured`] for settings in sandbox mode (refuses others).
pub async fn start_sandbox(settings: Settings, listener: TcpListener) -> anyhow::Result<Running> {
    anyhow::ensure!(
        settings.sandbox(),
        "start_sandbox needs settings in sandbox mode"
    );
    start_configured(settings, listener).await
}

/// Binds `addr` again after a server on it stopped: the OS may hold the port for a moment, so
/// this tries until `within` has passed.
pub async fn rebind(addr: SocketAddr, within: Duration) -> std::io::Result<TcpListener> {
    let deadline = Instant::now() + within;
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
