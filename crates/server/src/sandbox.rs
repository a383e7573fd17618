//! The one way to start a seeded sandbox server: the state for the settings (database opened
//! and migrated), the demo merchant seeded when missing, serving on the given listener. Used by
//! `fieldpay-server serve`, the app's embedded sandbox, and every test and benchmark that needs
//! a running server.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use crate::app::{self, Running};
use crate::config::Settings;
use crate::demo;

/// Starts a sandbox server on `listener` with the demo merchant (seeded on the first start;
/// later starts on the same data folder find it and leave it as it is).
pub async fn start(settings: Settings, listener: TcpListener) -> anyhow::Result<Running> {
    // Opening SQLite (and migrating) blocks: keep it off the async workers.
    let state = tokio::task::spawn_blocking(move || app::build_state(settings)).await??;
    if demo::seed(state.store.as_ref(), state.connector.as_ref()).await? {
        tracing::info!("seeded the sandbox demo merchant (see README for credentials)");
    }
    app::start(state, listener).await
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
