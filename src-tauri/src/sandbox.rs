//! The sandbox: the ARS server started inside the app (a library, not a process) on a loopback
//! port, with its data under `<data>/sandbox-server/` and the demo merchant seeded.

use std::net::SocketAddr;
use std::path::Path;

use fieldpay_protocol::{ApiError, ErrorCode, Secret};
use fieldpay_server::app::Running;
use fieldpay_server::config::Settings;
use fieldpay_server::{app, demo};
use tokio::net::TcpListener;

/// The demo rep the app signs in as in sandbox mode (README: `demo` / `rep1` / `demo1234`).
pub fn demo_login() -> (&'static str, &'static str, Secret) {
    let (rep, _name, password) = demo::DEMO_REPS[0];
    (demo::DEMO_MERCHANT_CODE, rep, Secret::from(password))
}

pub struct SandboxServer {
    pub url: String,
    running: Running,
}

fn failed(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::Internal,
        format!("샌드박스 서버를 시작하지 못했습니다 (sandbox server: {what}: {e})"),
    )
}

/// The port used last time if it is free (stable addresses for links and the test phone),
/// else any free loopback port.
async fn bind(port_file: &Path) -> Result<TcpListener, ApiError> {
    let last: Option<u16> = std::fs::read_to_string(port_file)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    if let Some(port) = last.filter(|p| *p != 0) {
        if let Ok(l) = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await {
            return Ok(l);
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| failed("bind 127.0.0.1", e))
}

impl SandboxServer {
    pub async fn start(data_dir: &Path) -> Result<SandboxServer, ApiError> {
        let port_file = data_dir.join("sandbox-port");
        let listener = bind(&port_file).await?;
        let addr = listener.local_addr().map_err(|e| failed("address", e))?;
        let url = format!("http://{addr}");
        let settings = Settings {
            data_dir: data_dir.join("sandbox-server"),
            listen: addr,
            public_url: url.clone(),
            mode: fieldpay_server::config::Mode::Sandbox,
            ..Settings::default()
        };
        let running = app::start_sandbox(settings, listener)
            .await
            .map_err(|e| failed("start", format!("{e:#}")))?;
        let _ = std::fs::write(&port_file, addr.port().to_string());
        tracing::info!(%url, "sandbox server running");
        Ok(SandboxServer { url, running })
    }

    pub async fn stop(self) {
        self.running.shutdown().await;
        tracing::info!(url = %self.url, "sandbox server stopped");
    }
}
