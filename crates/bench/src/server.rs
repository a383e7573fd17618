//! The server under test: the release `fieldpay-server` binary started as a child process
//! on a loopback port, and data folders prepared for it through the [`Store`].

use fieldpay_protocol::MerchantId;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fieldpay_server::config::Settings;
use fieldpay_server::store::{SqliteStore, Store};
use fieldpay_server::{app, demo};

use crate::gen::{self, GenAccount, LoadReport, Scale};

/// A server data folder `server-NAME` in the work folder, loaded with the generated data set
/// at `scale`, and the release server started on it (its log `server-NAME.log`); progress on
/// stderr under `[NAME]`. The caller stops the server and removes the folder.
pub async fn loaded_server(
    ctx: &crate::Ctx,
    name: &str,
    scale: Scale,
) -> anyhow::Result<(ServerChild, PathBuf)> {
    let data = ctx.work.join(format!("server-{name}"));
    eprintln!(
        "[{name}] loading {} accounts, {} products, {} ledger entries ...",
        scale.accounts, scale.products, scale.ledger
    );
    let (_, load) = prepare_data(&data, scale, ctx.seed).await?;
    eprintln!("[{name}] loaded in {:.1} s", load.seconds);
    let log = ctx.work.join(format!("server-{name}.log"));
    let srv = ServerChild::start(&ctx.server_bin, &data, &log).await?;
    Ok((srv, data))
}

/// A free loopback port (bound then released; the child binds it right after).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// `fieldpay-server` next to this binary (both are built into the same target folder).
pub fn default_server_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("fieldpay-server")))
        .unwrap_or_else(|| PathBuf::from("fieldpay-server"))
}

/// A running server child process: `fieldpay-server`, or the bench's own HTTP floor.
pub struct ServerChild {
    child: Child,
    pub port: u16,
    /// `http://127.0.0.1:PORT` (also the server's public URL, which TwiML signatures use).
    pub base: String,
}

impl ServerChild {
    /// Starts `bin --data DATA --listen 127.0.0.1:PORT` (sandbox mode, the demo merchant
    /// seeded on first start) and waits until it answers. Its log goes to `log`.
    pub async fn start(bin: &Path, data: &Path, log: &Path) -> anyhow::Result<ServerChild> {
        Self::start_with(bin, data, log, None).await
    }

    /// As [`ServerChild::start`], on the PostgreSQL database `database_url`
    /// (`FIELDPAY_DATABASE_URL`) when given; the data folder still holds the rest.
    pub async fn start_with(
        bin: &Path,
        data: &Path,
        log: &Path,
        database_url: Option<&str>,
    ) -> anyhow::Result<ServerChild> {
        if !bin.exists() {
            anyhow::bail!(
                "{} not found: build it with `cargo build --release -p fieldpay-server`",
                bin.display()
            );
        }
        let port = free_port()?;
        let mut cmd = Command::new(bin);
        match database_url {
            Some(url) => cmd.env("FIELDPAY_DATABASE_URL", url),
            None => cmd.env_remove("FIELDPAY_DATABASE_URL"),
        };
        cmd.arg("--data")
            .arg(data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env_remove("FIELDPAY_CONFIG")
            .env_remove("FIELDPAY_PUBLIC_URL")
            .env_remove("RUST_LOG");
        Self::spawn(cmd, port, log, "/v1/openapi.json").await
    }

    /// Starts `cmd` (which listens on 127.0.0.1:`port`), its output to `log`, and waits up to
    /// 60 s until `GET probe` answers with a success.
    pub async fn spawn(
        mut cmd: Command,
        port: u16,
        log: &Path,
        probe: &str,
    ) -> anyhow::Result<ServerChild> {
        let out = std::fs::File::create(log)?;
        let program = Path::new(cmd.get_program());
        let name = program
            .file_name()
            .unwrap_or(program.as_os_str())
            .to_string_lossy()
            .into_owned();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        let mut s = ServerChild {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = s.child.try_wait()? {
                anyhow::bail!(
                    "{name} exited ({status}) before answering; see {}",
                    log.display()
                );
            }
            if let Ok(r) = http
                .get(format!("{}{probe}", s.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                if r.status().is_success() {
                    return Ok(s);
                }
            }
            if Instant::now() > deadline {
                s.kill();
                anyhow::bail!("{name} did not answer within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (VmRSS, VmHWM) in bytes.
    pub fn rss(&self) -> Option<(u64, u64)> {
        crate::stats::rss(self.pid())
    }

    pub fn cpu_seconds(&self) -> f64 {
        crate::stats::cpu_seconds(&self.pid().to_string()).unwrap_or(0.0)
    }

    /// Asks the server to stop (SIGTERM: graceful shutdown) and waits up to 10 s.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

fn settings(data: &Path) -> Settings {
    Settings {
        data_dir: data.to_path_buf(),
        ..Settings::default()
    }
}

/// As [`prepare_data`], with the server's data in the PostgreSQL database `database_url`
/// (empty; migrated and seeded here as `fieldpay-server` would) and `data` its data folder.
/// The same generator writes through the same `Store` calls.
pub async fn prepare_data_pg(
    data: &Path,
    database_url: &str,
    scale: Scale,
    seed: u64,
) -> anyhow::Result<(Vec<GenAccount>, LoadReport)> {
    if data.exists() {
        std::fs::remove_dir_all(data)?;
    }
    let s = Settings {
        database_url: Some(database_url.to_string().into()),
        ..settings(data)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = app::start_sandbox(s, listener).await?;
    let store = running.state.store.clone();
    running.shutdown().await;
    let mid = demo_merchant(store.as_ref())?;
    let out =
        tokio::task::spawn_blocking(move || gen::load(store.as_ref(), &mid, scale, seed)).await??;
    Ok(out)
}

/// The demo merchant's id in a data folder (opening its database directly).
pub fn demo_merchant(store: &dyn Store) -> anyhow::Result<MerchantId> {
    Ok(store
        .merchant_by_code(demo::DEMO_MERCHANT_CODE)?
        .ok_or_else(|| anyhow::anyhow!("no demo merchant"))?
        .id)
}

/// Opens the server database of a data folder (while a server may be running on it: SQLite
/// in WAL mode takes writers from several processes).
pub fn open_store(data: &Path) -> anyhow::Result<SqliteStore> {
    Ok(SqliteStore::open(&settings(data).db_path())?)
}

/// A data folder with the demo merchant (as `fieldpay-server` seeds it) and `scale` worth of
/// generated data for it.
pub async fn prepare_data(
    data: &Path,
    scale: Scale,
    seed: u64,
) -> anyhow::Result<(Vec<GenAccount>, LoadReport)> {
    if data.exists() {
        std::fs::remove_dir_all(data)?;
    }
    // The database as `fieldpay-server` first starts it (demo merchant seeded), then stopped.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = app::start_sandbox(settings(data), listener).await?;
    let store = running.state.store.clone();
    running.shutdown().await;
    let mid = demo_merchant(store.as_ref())?;
    let out =
        tokio::task::spawn_blocking(move || gen::load(store.as_ref(), &mid, scale, seed)).await??;
    Ok(out)
}

/// Bytes of the files under `dir` whose names start with `prefix`.
pub fn files_size(dir: &Path, prefix: &str) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}
