//! `fieldpay-server`: serve (default, sandbox mode), check the settings, seed the demo data,
//! import CSV files.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::BoolishValueParser;
use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use fieldpay_server::admin::cli::{self as admin_cli, AdminCommand};
use fieldpay_server::config::{ConfigError, Settings, TrustedPeers};
use fieldpay_server::import::ImportKind;
use fieldpay_server::{app, check, demo, import};

#[derive(Parser)]
#[command(
    name = "fieldpay-server",
    version,
    about = "FieldPay ARS payment server (sandbox mode by default; production with --mode production)"
)]
struct Cli {
    /// TOML settings file (keys: mode, data_dir, listen, public_url, twilio_auth_token,
    /// [card], [sms], ...). Secrets may also come from the environment (FIELDPAY_CARD_*,
    /// FIELDPAY_SMS_*, FIELDPAY_CREDENTIALS_KEY) or from files (`x_file` keys).
    #[arg(long, env = "FIELDPAY_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// sandbox (default) or production: real card approvals and texts through the
    /// providers configured in [card] and [sms].
    #[arg(long, env = "FIELDPAY_MODE", global = true)]
    mode: Option<fieldpay_server::config::Mode>,
    /// Data folder (SQLite files).
    #[arg(long, env = "FIELDPAY_DATA", global = true)]
    data: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "FIELDPAY_LISTEN", global = true)]
    listen: Option<SocketAddr>,
    /// Public base URL (for receipt links and telephony signatures).
    #[arg(long, env = "FIELDPAY_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// Where the other instances on the same database reach this one (default http:// +
    /// listen); a TwiML call's request that reaches another instance is forwarded here.
    #[arg(long, env = "FIELDPAY_INTERNAL_URL", global = true)]
    internal_url: Option<String>,
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
    /// Seconds one webhook attempt may take before it fails (default 10).
    #[arg(long, env = "FIELDPAY_WEBHOOK_TIMEOUT_SECS", global = true)]
    webhook_timeout_secs: Option<u64>,
    /// Webhook deliveries in flight at once, at most one per merchant (default 16).
    #[arg(long, env = "FIELDPAY_WEBHOOK_CONCURRENCY", global = true)]
    webhook_concurrency: Option<usize>,
    /// Networks SIP requests are taken from, comma-separated CIDRs (default loopback only:
    /// 127.0.0.0/8,::1/128); others get 403.
    #[arg(
        long,
        env = "FIELDPAY_SIP_TRUSTED_PEERS",
        global = true,
        value_delimiter = ',',
        num_args = 1..
    )]
    sip_trusted_peers: Option<Vec<String>>,
    /// Take a SIP call's RTP from (and send it to) the address of its first packet rather
    /// than the one its SDP named (callers behind NAT): true or false (default false).
    #[arg(long, env = "FIELDPAY_SIP_SYMMETRIC_RTP", global = true)]
    sip_symmetric_rtp: Option<bool>,
    /// SIP calls at once from one source address beyond which INVITEs get 503 (default 50).
    #[arg(long, env = "FIELDPAY_SIP_MAX_CALLS_PER_SOURCE", global = true)]
    sip_max_calls_per_source: Option<usize>,
    /// Serve sandbox mode on an address other than loopback (anyone reaching it can read
    /// every payer's texts): refused without this.
    #[arg(long, env = "FIELDPAY_ALLOW_REMOTE_SANDBOX", global = true, value_parser = BoolishValueParser::new())]
    allow_remote_sandbox: bool,
    /// Serve POST /sandbox/clock/advance, which moves time for every merchant (for tests).
    #[arg(long, env = "FIELDPAY_SANDBOX_CLOCK", global = true, value_parser = BoolishValueParser::new())]
    sandbox_clock: bool,
    /// PostgreSQL connection URL (postgres://user:password@host:port/db): the data lives
    /// there and several instances may share it. Without it, the SQLite file in the data
    /// folder.
    #[arg(
        long,
        env = "FIELDPAY_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    database_url: Option<fieldpay_protocol::Secret>,
    #[command(subcommand)]
    command: Option<Command>,
}

// Parsed once per run: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the server (seeds the demo merchant on first start in sandbox mode).
    Serve,
    /// Check the settings (file, environment, flags) as `serve` would load them, without
    /// opening the database or binding a port: one line per problem and a non-zero exit, or
    /// a short summary.
    CheckConfig,
    /// Create the demo merchant, reps, accounts and products (idempotent).
    SeedDemo,
    /// A merchant's own card / SMS credentials (its own PG contract or SMS account), which
    /// override the server's [card] / [sms] for its payments and texts. Stored encrypted
    /// with credentials_key; never shown again.
    MerchantCredentials {
        #[command(subcommand)]
        action: CredentialsAction,
    },
    /// The operator's commands on the configured store: merchants, virtual numbers, reps,
    /// API keys, webhooks, operator tokens, the audit log. Secrets are printed once.
    Admin {
        #[command(subcommand)]
        action: Box<AdminCommand>,
    },
    /// Import client accounts or products from a CSV file: all rows or none.
    Import {
        kind: ImportKind,
        file: PathBuf,
        /// Merchant code.
        #[arg(long, default_value = demo::DEMO_MERCHANT_CODE)]
        merchant: String,
    },
}

#[derive(Subcommand)]
enum CredentialsAction {
    /// Set them from a TOML file (or - for standard input) with a [card] and/or an [sms]
    /// section, as in the server's settings (keys inline or as _file paths).
    Set {
        /// Merchant code.
        #[arg(long)]
        merchant: String,
        file: PathBuf,
    },
    /// Which providers the merchant has its own credentials for (never the keys).
    Show {
        #[arg(long)]
        merchant: String,
    },
    /// Remove them: the server's own connector is used again.
    Remove {
        #[arg(long)]
        merchant: String,
        /// card or sms.
        #[arg(long)]
        kind: String,
    },
}

/// `merchant-credentials`: opens the store only (no connector is built or reached).
fn merchant_credentials(settings: Settings, action: CredentialsAction) -> anyhow::Result<()> {
    use fieldpay_server::credentials::{set_merchant_credentials, Sealer};
    use fieldpay_server::store::CredentialKind;
    let store = app::open_store(&settings)?;
    let find = |code: &str| -> anyhow::Result<fieldpay_protocol::MerchantId> {
        Ok(store
            .merchant_by_code(code)?
            .ok_or_else(|| anyhow::anyhow!("no merchant with code {code:?}"))?
            .id)
    };
    match action {
        CredentialsAction::Set { merchant, file } => {
            let key = settings
                .credentials_key
                .as_ref()
                .ok_or(fieldpay_server::credentials::CredentialError::NoKey)?;
            let sealer = Sealer::new(key)?;
            let text = zeroize::Zeroizing::new(if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
            });
            let id = find(&merchant)?;
            let now = fieldpay_server::clock::ts(chrono::Utc::now());
            for line in set_merchant_credentials(store.as_ref(), &sealer, &id, &text, &now)? {
                println!("set {line}");
            }
        }
        CredentialsAction::Show { merchant } => {
            let id = find(&merchant)?;
            for kind in [CredentialKind::Card, CredentialKind::Sms] {
                match store.credentials(&id, kind)? {
                    Some(c) => println!("{}: {} (set {})", kind.as_str(), c.provider, c.updated_at),
                    None => println!("{}: the server's own", kind.as_str()),
                }
            }
        }
        CredentialsAction::Remove { merchant, kind } => {
            let kind = match kind.as_str() {
                "card" => CredentialKind::Card,
                "sms" => CredentialKind::Sms,
                other => anyhow::bail!("--kind must be card or sms, not {other:?}"),
            };
            let id = find(&merchant)?;
            if store.remove_credentials(&id, kind)? {
                println!("removed: {} now uses the server's own", kind.as_str());
            } else {
                println!("nothing to remove");
            }
        }
    }
    Ok(())
}

/// The settings from the defaults, the config file, the environment and the flags, validated.
fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    Ok(unvalidated_settings(cli)?.validate()?)
}

/// The settings before [`Settings::validate`] (`check-config` reports each problem).
fn unvalidated_settings(cli: &Cli) -> anyhow::Result<Settings> {
    let mut s = Settings::default();
    if let Some(path) = &cli.config {
        s = s.apply(Settings::load_file(path)?);
    }
    s = s.apply_env(&|name| std::env::var(name).ok())?;
    if let Some(mode) = cli.mode {
        s.mode = mode;
    }
    if let Some(d) = &cli.data {
        s.data_dir = d.clone();
    }
    if let Some(l) = cli.listen {
        s.listen = l;
        s.public_url = format!("http://{l}");
        s.internal_url = format!("http://{l}");
    }
    if let Some(u) = &cli.public_url {
        s.public_url = u.clone();
    }
    if let Some(u) = &cli.internal_url {
        s.internal_url = u.clone();
    }
    if let Some(t) = &cli.twilio_auth_token {
        s.twilio_auth_token = t.clone();
    }
    if let Some(a) = cli.sip_listen {
        s.sip_listen = Some(a);
    }
    if let Some(t) = cli.webhook_timeout_secs {
        s.webhook_timeout_secs = t;
    }
    if let Some(n) = cli.webhook_concurrency {
        s.webhook_concurrency = n;
    }
    if let Some(list) = &cli.sip_trusted_peers {
        s.sip_trusted_peers = TrustedPeers::parse(list)?;
    }
    if let Some(v) = cli.sip_symmetric_rtp {
        s.sip_symmetric_rtp = v;
    }
    if let Some(n) = cli.sip_max_calls_per_source {
        s.sip_max_calls_per_source = n;
    }
    if cli.allow_remote_sandbox {
        s.allow_remote_sandbox = true;
    }
    if cli.sandbox_clock {
        s.sandbox_clock = true;
    }
    if let Some(u) = &cli.database_url {
        s.database_url = Some(u.clone());
    }
    Ok(s)
}

/// `check-config`: problems on stderr, one a line, exit 1; else warnings and the summary.
fn check_config(cli: &Cli) -> ExitCode {
    let settings = match unvalidated_settings(cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            return ExitCode::FAILURE;
        }
    };
    let report = check::check(settings);
    for problem in &report.problems {
        eprintln!("error: {problem}");
    }
    if !report.ok() {
        return ExitCode::FAILURE;
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    match &cli.config {
        Some(path) => println!("configuration OK: {}", path.display()),
        None => println!("configuration OK (no config file: defaults, environment, flags)"),
    }
    for line in &report.summary {
        println!("  {line}");
    }
    ExitCode::SUCCESS
}

/// An error and its causes on one line (a cause already quoted by the message above it is
/// not repeated).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses the command line and the `FIELDPAY_*` environment. A bad value (a flag's or an
/// environment variable's) is reported on one line, exit code 2; help, version and usage
/// errors are clap's own.
fn parse_cli() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::InvalidValue | ErrorKind::ValueValidation
            ) =>
        {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            eprintln!("{first}");
            Err(ExitCode::from(2))
        }
        Err(e) => e.exit(),
    }
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

fn main() -> ExitCode {
    fieldpay_protocol::process::return_large_blocks_to_the_system();
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if matches!(cli.command, Some(Command::CheckConfig)) {
        return check_config(&cli);
    }
    let logs = tracing_subscriber::fmt().with_env_filter(fieldpay_server::logs::filter_from_env(
        "info,tower_http=warn",
    ));
    if matches!(cli.command, Some(Command::Admin { .. })) {
        // The command's own output is on stdout (secrets printed once): logs go elsewhere.
        logs.with_writer(std::io::stderr).init();
    } else {
        logs.init();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<ConfigError>() {
                // One line per problem, each on its own.
                Some(ConfigError::Problems(problems)) => {
                    for problem in problems {
                        eprintln!("error: {problem}");
                    }
                }
                _ => eprintln!("error: {}", one_line(&e)),
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = settings(&cli)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => unreachable!("handled before the runtime starts"),
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(settings.listen).await?;
            let running = app::start_configured(settings, listener).await?;
            if running.state.settings.sandbox() {
                tracing::info!(
                    "sandbox phone at {}/sandbox/phone",
                    running.state.settings.public_url.trim_end_matches('/')
                );
            }
            shutdown_signal().await;
            tracing::info!("shutting down");
            running.shutdown().await;
        }
        Command::SeedDemo => {
            anyhow::ensure!(
                settings.sandbox(),
                "seed-demo is for sandbox mode only: the demo merchant's API key and passwords \
                 are published"
            );
            let state = tokio::task::spawn_blocking(move || app::build_state(settings)).await??;
            let seeded = demo::seed(state.store.clone(), state.connector.as_ref()).await?;
            println!(
                "{}",
                if seeded {
                    "demo merchant created"
                } else {
                    "demo merchant already exists"
                }
            );
        }
        Command::MerchantCredentials { action } => {
            tokio::task::spawn_blocking(move || merchant_credentials(settings, action)).await??;
        }
        Command::Admin { action } => {
            let action = *action;
            let out = match admin_cli::suspend_target(&action).map(str::to_string) {
                Some(code) => {
                    // Canceling pending charges texts their payers: the server's state.
                    let state =
                        tokio::task::spawn_blocking(move || app::build_state(settings)).await??;
                    admin_cli::run_suspend(&state, &code).await
                }
                None => {
                    let sandbox = settings.sandbox();
                    tokio::task::spawn_blocking(move || {
                        let store = app::open_store(&settings)?;
                        anyhow::Ok(admin_cli::run_on_store(store.as_ref(), sandbox, action))
                    })
                    .await??
                }
            };
            match out {
                Ok(text) => println!("{text}"),
                Err(e) => anyhow::bail!(admin_cli::refusal_line(&e)),
            }
        }
        Command::Import {
            kind,
            file,
            merchant,
        } => {
            let state = tokio::task::spawn_blocking(move || app::build_state(settings)).await??;
            let f = std::fs::File::open(&file)
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
            // Store calls block: off the async threads.
            let store = state.store.clone();
            let imported = tokio::task::spawn_blocking(move || {
                import::import(store.as_ref(), &merchant, kind, f)
            })
            .await?;
            match imported {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_flags() {
        let cli = Cli::try_parse_from([
            "fieldpay-server",
            "--sip-trusted-peers",
            "10.0.0.0/8, 203.0.113.7/32",
            "--sip-symmetric-rtp",
            "true",
            "--sip-max-calls-per-source",
            "9",
        ])
        .unwrap();
        let s = settings(&cli).unwrap();
        assert_eq!(
            s.sip_trusted_peers.to_string(),
            "10.0.0.0/8, 203.0.113.7/32"
        );
        assert!(s.sip_symmetric_rtp);
        assert_eq!(s.sip_max_calls_per_source, 9);
        let bad =
            Cli::try_parse_from(["fieldpay-server", "--sip-trusted-peers", "10.0.0.0/40"]).unwrap();
        let e = settings(&bad).unwrap_err().to_string();
        assert!(e.contains("sip_trusted_peers"), "{e}");
        let zero =
            Cli::try_parse_from(["fieldpay-server", "--sip-max-calls-per-source", "0"]).unwrap();
        let e = settings(&zero).unwrap_err().to_string();
        assert!(e.contains("sip_max_calls_per_source"), "{e}");
    }
}
