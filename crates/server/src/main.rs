//! `fieldpay-server`: serve (default, sandbox mode), seed the demo data, import CSV files.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand};
use fieldpay_server::config::Settings;
use fieldpay_server::import::ImportKind;
use fieldpay_server::{app, demo, import};

#[derive(Parser)]
#[command(
    name = "fieldpay-server",
    version,
    about = "FieldPay ARS payment server (sandbox mode by default)"
)]
struct Cli {
    /// TOML settings file (keys: data_dir, listen, public_url, sandbox, twilio_auth_token, ...).
    #[arg(long, env = "FIELDPAY_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Data folder (SQLite files).
    #[arg(long, env = "FIELDPAY_DATA", global = true)]
    data: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "FIELDPAY_LISTEN", global = true)]
    listen: Option<SocketAddr>,
    /// Public base URL (for receipt links and telephony signatures).
    #[arg(long, env = "FIELDPAY_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// Auth token that signs Twilio-dialect webhooks.
    #[arg(
        long,
        env = "FIELDPAY_TWILIO_AUTH_TOKEN",
        global = true,
        hide_env_values = true
    )]
    twilio_auth_token: Option<fieldpay_protocol::Secret>,
    /// SIP endpoint address (UDP and TCP), e.g. 0.0.0.0:5060 (off when not given).
    #[arg(long, env = "FIELDPAY_SIP_LISTEN", global = true)]
    sip_listen: Option<SocketAddr>,
    /// Serve sandbox mode on an address other than loopback (anyone reaching it can read
    /// every payer's texts): refused without this.
    #[arg(long, env = "FIELDPAY_ALLOW_REMOTE_SANDBOX", global = true, value_parser = BoolishValueParser::new())]
    allow_remote_sandbox: bool,
    /// Serve POST /sandbox/clock/advance, which moves time for every merchant (for tests).
    #[arg(long, env = "FIELDPAY_SANDBOX_CLOCK", global = true, value_parser = BoolishValueParser::new())]
    sandbox_clock: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (seeds the demo merchant on first start in sandbox mode).
    Serve,
    /// Create the demo merchant, reps, accounts and products (idempotent).
    SeedDemo,
    /// Import client accounts or products from a CSV file: all rows or none.
    Import {
        kind: ImportKind,
        file: PathBuf,
        /// Merchant code.
        #[arg(long, default_value = demo::DEMO_MERCHANT_CODE)]
        merchant: String,
    },
}

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let mut s = Settings::default();
    if let Some(path) = &cli.config {
        s = s.apply(Settings::load_file(path)?);
    }
    if let Some(d) = &cli.data {
        s.data_dir = d.clone();
    }
    if let Some(l) = cli.listen {
        s.listen = l;
        s.public_url = format!("http://{l}");
    }
    if let Some(u) = &cli.public_url {
        s.public_url = u.clone();
    }
    if let Some(t) = &cli.twilio_auth_token {
        s.twilio_auth_token = t.clone();
    }
    if let Some(a) = cli.sip_listen {
        s.sip_listen = Some(a);
    }
    if cli.allow_remote_sandbox {
        s.allow_remote_sandbox = true;
    }
    if cli.sandbox_clock {
        s.sandbox_clock = true;
    }
    Ok(s.validate()?)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let settings = settings(&cli)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(settings.listen).await?;
            let running = app::start_sandbox(settings, listener).await?;
            tracing::info!(addr = %running.addr, public_url = %running.state.settings.public_url, "FieldPay server listening (sandbox mode); sandbox phone at /sandbox/phone");
            shutdown_signal().await;
            tracing::info!("shutting down");
            running.shutdown().await;
        }
        Command::SeedDemo => {
            let state = app::build_state(settings)?;
            let seeded = demo::seed(state.store.as_ref(), state.connector.as_ref()).await?;
            println!(
                "{}",
                if seeded {
                    "demo merchant created"
                } else {
                    "demo merchant already exists"
                }
            );
        }
        Command::Import {
            kind,
            file,
            merchant,
        } => {
            let state = app::build_state(settings)?;
            let f = std::fs::File::open(&file)
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
            match import::import(state.store.as_ref(), &merchant, kind, f) {
                Ok(n) => println!("imported {n} rows"),
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
        }
    }
    Ok(())
}
