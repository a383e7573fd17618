//! Server settings: defaults, then an optional TOML file, then `FIELDPAY_*` environment
//! variables and command-line flags (clap reads both), later ones winning.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use fieldpay_protocol::Secret;
use ipnet::IpNet;
use serde::Deserialize;

pub mod production;
pub mod providers;

pub use providers::{CardProvider, CardSettings, Env, SmsProvider, SmsSettings};

/// The Twilio-dialect auth token used in sandbox mode when none is configured (README).
pub const SANDBOX_TWILIO_AUTH_TOKEN: &str = "sandbox-twilio-auth-token";

/// What the server is for: trying FieldPay out (the default) or taking real payments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The sandbox card network, texts into the SMS log, the sandbox phone, the demo data.
    #[default]
    Sandbox,
    /// Real card approvals and real texts through the configured providers; refuses to start
    /// with sandbox defaults (see [`Settings::problems`]).
    Production,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sandbox => "sandbox",
            Mode::Production => "production",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// The address carriers and payers reach us at (used for TwiML signatures and receipt links).
    pub public_url: String,
    /// Where the other server instances on the same database reach this one (to forward a
    /// TwiML call's request to the instance holding the call). Default: `http://` + listen.
    pub internal_url: String,
    /// Sandbox (SMS sink, sandbox card network, sandbox phone, demo data) or production.
    pub mode: Mode,
    /// `[card]`: the card connector and its keys.
    pub card: CardSettings,
    /// `[sms]`: the text-message provider, its keys and sender number.
    pub sms: SmsSettings,
    /// Production with an `http://` public URL on loopback (a staging server behind a local
    /// TLS proxy, or tests): refused without this. Never allows a non-loopback `http://`.
    pub allow_insecure_public_url: bool,
    /// The key (32 bytes, base64) that encrypts merchants' own connector credentials at rest.
    pub credentials_key: Option<Secret>,
    pub twilio_auth_token: Secret,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Delays between webhook attempts, in seconds (Standard Webhooks' schedule by default:
    /// about a day in all).
    pub webhook_retry_secs: Vec<u64>,
    /// How long one webhook attempt may take, connecting included, in seconds; an endpoint
    /// that has not answered by then fails the attempt (retried by the schedule).
    pub webhook_timeout_secs: u64,
    /// How many webhook deliveries may be in flight at once (at most one per merchant).
    pub webhook_concurrency: usize,
    /// How often the expiry sweeper and the webhook worker look for due work.
    pub tick_ms: u64,
    /// SIP endpoint address (UDP and TCP), e.g. `0.0.0.0:5060`; None = no SIP.
    pub sip_listen: Option<SocketAddr>,
    /// Declined cards one payer phone may try across charges in an hour; past it approvals
    /// from that phone are refused for the rest of the hour (card testing).
    pub declines_per_caller_per_hour: u32,
    /// Bills texted to one payer phone (by any merchant) in one clock hour; charge requests
    /// and resends past it are refused (text pumping, phishing).
    pub bills_per_phone_per_hour: u32,
    /// The networks SIP requests are taken from (the trunk's signalling addresses): requests
    /// from anywhere else get 403, and only their P-Asserted-Identity is believed.
    pub sip_trusted_peers: TrustedPeers,
    /// Send a call's audio to (and take its keys from) the address its first RTP packet came
    /// from, instead of the address its SDP named (for callers behind NAT).
    pub sip_symmetric_rtp: bool,
    /// SIP calls at once from one source address beyond which new INVITEs get 503.
    pub sip_max_calls_per_source: usize,
    /// Sign-in attempts per client IP address (an IPv6 address counts by its /64): this many
    /// a minute, after a first burst of `login_ip_burst`. 0 = no limit.
    pub login_ip_per_minute: u32,
    pub login_ip_burst: u32,
    /// Sign-in attempts per account (merchant code and rep id as typed, whether or not they
    /// exist): this many a minute, after a first burst of `login_account_burst`. 0 = no limit.
    pub login_account_per_minute: u32,
    pub login_account_burst: u32,
    /// Charges asked for from the public payment pages per client IP address (an IPv6
    /// address by its /64): this many a minute after a first burst of `web_charges_ip_burst`.
    /// 0 = no limit.
    pub web_charges_ip_per_minute: u32,
    pub web_charges_ip_burst: u32,
    /// The same per payer phone (the pages' texts cost money and reach a person).
    pub web_charges_phone_per_minute: u32,
    pub web_charges_phone_burst: u32,
    /// Password checks (argon2id, about 19 MiB each) running at once; None = one per CPU.
    pub password_hash_concurrency: Option<usize>,
    /// A refresh token presented again within this many seconds of its rotation is refused
    /// without ending the session (two requests of one device racing); later, it is taken for
    /// a stolen copy and the whole session (token family) is revoked.
    pub refresh_reuse_grace_secs: u64,
    /// Sandbox mode on an address other than loopback (or with a public URL that is not):
    /// refused unless this is set, since the sandbox routes show every payer's texts.
    pub allow_remote_sandbox: bool,
    /// Serves `POST /sandbox/clock/advance`, which moves time for every merchant: for tests.
    pub sandbox_clock: bool,
    /// `postgres://user:password@host:port/db`: the server keeps its data in PostgreSQL
    /// (several instances may share it). None: the SQLite file in `data_dir`.
    pub database_url: Option<Secret>,
    /// Connections to PostgreSQL this instance keeps open at most.
    pub database_pool_size: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8640)),
            public_url: "http://127.0.0.1:8640".into(),
            internal_url: "http://127.0.0.1:8640".into(),
            mode: Mode::Sandbox,
            card: CardSettings::default(),
            sms: SmsSettings::default(),
            allow_insecure_public_url: false,
            credentials_key: None,
            twilio_auth_token: SANDBOX_TWILIO_AUTH_TOKEN.into(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            webhook_retry_secs: vec![5, 300, 1800, 7200, 18000, 36000, 36000],
            webhook_timeout_secs: 10,
            webhook_concurrency: 16,
            tick_ms: 1000,
            sip_listen: None,
            declines_per_caller_per_hour: 5,
            bills_per_phone_per_hour: 10,
            sip_trusted_peers: TrustedPeers::default(),
            sip_symmetric_rtp: false,
            sip_max_calls_per_source: 50,
            login_ip_per_minute: 10,
            login_ip_burst: 20,
            web_charges_ip_per_minute: 6,
            web_charges_ip_burst: 20,
            web_charges_phone_per_minute: 1,
            web_charges_phone_burst: 5,
            login_account_per_minute: 5,
            login_account_burst: 5,
            password_hash_concurrency: None,
            refresh_reuse_grace_secs: 10,
            allow_remote_sandbox: false,
            sandbox_clock: false,
            database_url: None,
            database_pool_size: 16,
        }
    }
}

/// A list of networks (CIDR) whose addresses are trusted SIP peers. Written as
/// `["10.0.0.0/8", "203.0.113.7/32"]` in the TOML file, comma-separated in a flag or the
/// environment; a bare address is one host. Never empty. The default is loopback only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct TrustedPeers(Vec<IpNet>);

impl TrustedPeers {
    const NAME: &'static str = "sip_trusted_peers";

    /// Parses CIDRs (or bare addresses), each trimmed; an empty list or a bad item is an
    /// error naming the setting and the item.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, ConfigError> {
        let mut nets = Vec::with_capacity(items.len());
        for item in items {
            let item = item.as_ref().trim();
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| ConfigError::Invalid {
                    name: Self::NAME,
                    message: format!(
                        "{item:?} is not a network in CIDR form (e.g. 10.0.0.0/8, \
                         203.0.113.7/32, 2001:db8::/32) nor an IP address"
                    ),
                })?;
            nets.push(net.trunc());
        }
        if nets.is_empty() {
            return Err(ConfigError::Invalid {
                name: Self::NAME,
                message: "needs at least one network (127.0.0.0/8 by default)".into(),
            });
        }
        Ok(TrustedPeers(nets))
    }

    /// Whether `ip` is in one of the networks (an IPv4-mapped IPv6 address, as a dual-stack
    /// socket reports IPv4 peers, counts as the IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// Whether every address is trusted (`0.0.0.0/0` or `::/0` listed).
    pub fn trusts_everyone(&self) -> bool {
        self.0.iter().any(|n| n.prefix_len() == 0)
    }

    pub fn networks(&self) -> &[IpNet] {
        &self.0
    }
}

impl Default for TrustedPeers {
    /// Loopback only: `127.0.0.0/8` and `::1/128`.
    fn default() -> Self {
        TrustedPeers(vec![
            "127.0.0.0/8".parse().expect("valid CIDR"),
            "::1/128".parse().expect("valid CIDR"),
        ])
    }
}

impl TryFrom<Vec<String>> for TrustedPeers {
    type Error = ConfigError;
    fn try_from(items: Vec<String>) -> Result<Self, ConfigError> {
        TrustedPeers::parse(&items)
    }
}

impl std::fmt::Display for TrustedPeers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

impl FileSettings {
    /// Reads each secret given as a file (`x_file`) into `x`; `x` and `x_file` together are
    /// refused.
    pub fn read_files(&mut self) -> Result<(), ConfigError> {
        providers::read_file_secret(
            "credentials_key",
            &mut self.credentials_key,
            &mut self.credentials_key_file,
        )?;
        providers::read_file_secret(
            "twilio_auth_token",
            &mut self.twilio_auth_token,
            &mut self.twilio_auth_token_file,
        )?;
        if let Some(c) = &mut self.card {
            c.read_files()?;
        }
        if let Some(c) = &mut self.sms {
            c.read_files()?;
        }
        Ok(())
    }
}

/// The TOML file's shape; every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub internal_url: Option<String>,
    pub mode: Option<Mode>,
    pub card: Option<providers::FileCard>,
    pub sms: Option<providers::FileSms>,
    pub allow_insecure_public_url: Option<bool>,
    pub credentials_key: Option<Secret>,
    pub credentials_key_file: Option<PathBuf>,
    pub twilio_auth_token: Option<Secret>,
    pub twilio_auth_token_file: Option<PathBuf>,
    pub access_token_ttl_secs: Option<u64>,
    pub refresh_token_ttl_secs: Option<u64>,
    pub webhook_retry_secs: Option<Vec<u64>>,
    pub webhook_timeout_secs: Option<u64>,
    pub webhook_concurrency: Option<usize>,
    pub tick_ms: Option<u64>,
    pub sip_listen: Option<SocketAddr>,
    pub declines_per_caller_per_hour: Option<u32>,
    pub bills_per_phone_per_hour: Option<u32>,
    pub sip_trusted_peers: Option<TrustedPeers>,
    pub sip_symmetric_rtp: Option<bool>,
    pub sip_max_calls_per_source: Option<usize>,
    pub login_ip_per_minute: Option<u32>,
    pub login_ip_burst: Option<u32>,
    pub web_charges_ip_per_minute: Option<u32>,
    pub web_charges_ip_burst: Option<u32>,
    pub web_charges_phone_per_minute: Option<u32>,
    pub web_charges_phone_burst: Option<u32>,
    pub login_account_per_minute: Option<u32>,
    pub login_account_burst: Option<u32>,
    pub password_hash_concurrency: Option<usize>,
    pub refresh_reuse_grace_secs: Option<u64>,
    pub allow_remote_sandbox: Option<bool>,
    pub sandbox_clock: Option<bool>,
    pub database_url: Option<Secret>,
    pub database_pool_size: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid setting {name}: {message}")]
    Invalid { name: &'static str, message: String },
    /// Several problems, each a whole line ([`Settings::problems`]).
    #[error("{}", .0.join("\n"))]
    Problems(Vec<String>),
}

/// A TOML error on one line: `line L, column C: message` (the toml crate's own text spans
/// several lines and quotes the offending line, which may hold a secret).
fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    let Some(span) = e.span() else {
        return message;
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("line {line}, column {column}: {message}")
}

impl Settings {
    pub fn load_file(path: &Path) -> Result<FileSettings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut f: FileSettings = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: one_line_toml_error(&text, &e),
        })?;
        f.read_files()?;
        Ok(f)
    }

    /// The `FIELDPAY_*` environment variables that are not flags: the `[card]` and `[sms]`
    /// sections' (`FIELDPAY_CARD_SECRET_KEY`, `FIELDPAY_SMS_API_SECRET`, ...) and
    /// `FIELDPAY_CREDENTIALS_KEY`. Secrets are read here rather than by flags, so that none
    /// is ever needed on a command line.
    pub fn apply_env(mut self, env: Env<'_>) -> Result<Self, ConfigError> {
        self.card.apply_env(env)?;
        self.sms.apply_env(env)?;
        if let Some(v) = env("FIELDPAY_CREDENTIALS_KEY").filter(|v| !v.trim().is_empty()) {
            self.credentials_key = Some(Secret::new(v.trim()));
        }
        Ok(self)
    }

    pub fn sandbox(&self) -> bool {
        self.mode == Mode::Sandbox
    }

    /// Where the data lives, for people: the SQLite file, or the PostgreSQL database's host,
    /// port, name and user. Never the password (nor the rest of the URL).
    pub fn describe_store(&self) -> String {
        let Some(url) = &self.database_url else {
            return format!("SQLite file {}", self.db_path().display());
        };
        let Ok(pg) = url.expose().parse::<tokio_postgres::Config>() else {
            return "PostgreSQL (the database_url is not valid)".into();
        };
        let ports = pg.get_ports();
        let hosts: Vec<String> = pg
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
                match host {
                    tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                    #[cfg(unix)]
                    tokio_postgres::config::Host::Unix(dir) => {
                        format!("socket in {} (port {port})", dir.display())
                    }
                }
            })
            .collect();
        let hosts = if hosts.is_empty() {
            "the default host".to_string()
        } else {
            hosts.join(", ")
        };
        format!(
            "PostgreSQL database {} on {hosts} as user {} (at most {} connections)",
            pg.get_dbname().unwrap_or("(the user's name)"),
            pg.get_user().unwrap_or("(the login name)"),
            self.database_pool_size,
        )
    }

    pub fn apply(mut self, f: FileSettings) -> Self {
        if let Some(v) = f.data_dir {
            self.data_dir = v;
        }
        if let Some(v) = f.listen {
            self.listen = v;
            self.public_url = format!("http://{v}");
            self.internal_url = format!("http://{v}");
        }
        if let Some(v) = f.public_url {
            self.public_url = v;
        }
        if let Some(v) = f.internal_url {
            self.internal_url = v;
        }
        if let Some(v) = f.mode {
            self.mode = v;
        }
        if let Some(c) = f.card {
            self.card.apply(c);
        }
        if let Some(c) = f.sms {
            self.sms.apply(c);
        }
        if let Some(v) = f.allow_insecure_public_url {
            self.allow_insecure_public_url = v;
        }
        if let Some(v) = f.credentials_key {
            self.credentials_key = Some(v);
        }
        if let Some(v) = f.twilio_auth_token {
            self.twilio_auth_token = v;
        }
        if let Some(v) = f.access_token_ttl_secs {
            self.access_token_ttl_secs = v;
        }
        if let Some(v) = f.refresh_token_ttl_secs {
            self.refresh_token_ttl_secs = v;
        }
        if let Some(v) = f.webhook_retry_secs {
            self.webhook_retry_secs = v;
        }
        if let Some(v) = f.webhook_timeout_secs {
            self.webhook_timeout_secs = v;
        }
        if let Some(v) = f.webhook_concurrency {
            self.webhook_concurrency = v;
        }
        if let Some(v) = f.tick_ms {
            self.tick_ms = v;
        }
        if let Some(v) = f.sip_listen {
            self.sip_listen = Some(v);
        }
        if let Some(v) = f.declines_per_caller_per_hour {
            self.declines_per_caller_per_hour = v;
        }
        if let Some(v) = f.bills_per_phone_per_hour {
            self.bills_per_phone_per_hour = v;
        }
        if let Some(v) = f.sip_trusted_peers {
            self.sip_trusted_peers = v;
        }
        if let Some(v) = f.sip_symmetric_rtp {
            self.sip_symmetric_rtp = v;
        }
        if let Some(v) = f.sip_max_calls_per_source {
            self.sip_max_calls_per_source = v;
        }
        if let Some(v) = f.login_ip_per_minute {
            self.login_ip_per_minute = v;
        }
        if let Some(v) = f.login_ip_burst {
            self.login_ip_burst = v;
        }
        if let Some(v) = f.web_charges_ip_per_minute {
            self.web_charges_ip_per_minute = v;
        }
        if let Some(v) = f.web_charges_ip_burst {
            self.web_charges_ip_burst = v;
        }
        if let Some(v) = f.web_charges_phone_per_minute {
            self.web_charges_phone_per_minute = v;
        }
        if let Some(v) = f.web_charges_phone_burst {
            self.web_charges_phone_burst = v;
        }
        if let Some(v) = f.login_account_per_minute {
            self.login_account_per_minute = v;
        }
        if let Some(v) = f.login_account_burst {
            self.login_account_burst = v;
        }
        if let Some(v) = f.password_hash_concurrency {
            self.password_hash_concurrency = Some(v);
        }
        if let Some(v) = f.refresh_reuse_grace_secs {
            self.refresh_reuse_grace_secs = v;
        }
        if let Some(v) = f.allow_remote_sandbox {
            self.allow_remote_sandbox = v;
        }
        if let Some(v) = f.sandbox_clock {
            self.sandbox_clock = v;
        }
        if let Some(v) = f.database_url {
            self.database_url = Some(v);
        }
        if let Some(v) = f.database_pool_size {
            self.database_pool_size = v;
        }
        self
    }

    pub fn validate(self) -> Result<Self, ConfigError> {
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "public_url",
                message: "must start with http:// or https://".into(),
            });
        }
        match reqwest::Url::parse(&self.internal_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(ConfigError::Invalid {
                    name: "internal_url",
                    message: "must be an http:// or https:// URL with a host".into(),
                })
            }
        }
        if self.twilio_auth_token.expose().trim().is_empty() {
            return Err(ConfigError::Invalid {
                name: "twilio_auth_token",
                message: "must not be empty".into(),
            });
        }
        if self.webhook_retry_secs.is_empty() {
            return Err(ConfigError::Invalid {
                name: "webhook_retry_secs",
                message: "needs at least one delay".into(),
            });
        }
        let must_be_positive = [
            ("access_token_ttl_secs", self.access_token_ttl_secs),
            ("refresh_token_ttl_secs", self.refresh_token_ttl_secs),
            ("tick_ms", self.tick_ms),
            (
                "declines_per_caller_per_hour",
                u64::from(self.declines_per_caller_per_hour),
            ),
            (
                "bills_per_phone_per_hour",
                u64::from(self.bills_per_phone_per_hour),
            ),
            ("webhook_timeout_secs", self.webhook_timeout_secs),
            ("webhook_concurrency", self.webhook_concurrency as u64),
            (
                "sip_max_calls_per_source",
                self.sip_max_calls_per_source as u64,
            ),
            ("database_pool_size", self.database_pool_size as u64),
        ];
        if let Some((name, _)) = must_be_positive.into_iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Invalid {
                name,
                message: "must be positive".into(),
            });
        }
        if self.sip_trusted_peers.networks().is_empty() {
            return Err(ConfigError::Invalid {
                name: TrustedPeers::NAME,
                message: "needs at least one network".into(),
            });
        }
        for (name, per_minute, burst) in [
            (
                "login_ip_burst",
                self.login_ip_per_minute,
                self.login_ip_burst,
            ),
            (
                "login_account_burst",
                self.login_account_per_minute,
                self.login_account_burst,
            ),
            (
                "web_charges_ip_burst",
                self.web_charges_ip_per_minute,
                self.web_charges_ip_burst,
            ),
            (
                "web_charges_phone_burst",
                self.web_charges_phone_per_minute,
                self.web_charges_phone_burst,
            ),
        ] {
            if per_minute > 0 && burst == 0 {
                return Err(ConfigError::Invalid {
                    name,
                    message: "must be at least 1 when the limit is on".into(),
                });
            }
        }
        if let Some(url) = &self.database_url {
            let url = url.expose();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError::Invalid {
                    name: "database_url",
                    message: "must start with postgres:// or postgresql:// (without it, the \
                              SQLite file in data_dir is used)"
                        .into(),
                });
            }
            if let Err(e) = url.parse::<tokio_postgres::Config>() {
                return Err(ConfigError::Invalid {
                    name: "database_url",
                    // The parser's message never repeats the URL (it may hold a password).
                    message: format!("is not a PostgreSQL connection URL: {e}"),
                });
            }
        }
        if self.password_hash_concurrency == Some(0) {
            return Err(ConfigError::Invalid {
                name: "password_hash_concurrency",
                message: "must be at least 1".into(),
            });
        }
        Ok(self)
    }

    /// How many password checks may run at once.
    pub fn password_hashes_at_once(&self) -> usize {
        self.password_hash_concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
        })
    }

    /// Whether the public URL names this machine (`localhost` or a loopback address).
    pub fn public_url_is_loopback(&self) -> bool {
        let Ok(url) = reqwest::Url::parse(&self.public_url) else {
            return false;
        };
        let host = url.host_str().unwrap_or_default();
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        match ip.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => host.eq_ignore_ascii_case("localhost"),
        }
    }

    /// Checks that what this server is about to serve on `bound` is safe to expose there, and
    /// answers the warnings to log loudly. Refused: sandbox mode reachable from other
    /// machines (the address is not loopback, or the public URL is not) unless
    /// `allow_remote_sandbox`; the published sandbox Twilio token
    /// ([`SANDBOX_TWILIO_AUTH_TOKEN`]) anywhere but on loopback, since anyone could sign
    /// carrier webhooks with it.
    pub fn check_exposure(&self, bound: SocketAddr) -> Result<Vec<String>, ConfigError> {
        let local = bound.ip().is_loopback() && self.public_url_is_loopback();
        if self.sandbox() && !local && !self.allow_remote_sandbox {
            return Err(ConfigError::Invalid {
                name: "listen",
                message: format!(
                    "sandbox mode serves on loopback only (listening on {bound}, public URL {}): \
                     its routes show every payer's texts and take anyone's key presses; pass \
                     --allow-remote-sandbox (FIELDPAY_ALLOW_REMOTE_SANDBOX, \
                     allow_remote_sandbox) to serve it to other machines anyway",
                    self.public_url
                ),
            });
        }
        if !local && self.twilio_auth_token.expose() == SANDBOX_TWILIO_AUTH_TOKEN {
            return Err(ConfigError::Invalid {
                name: "twilio_auth_token",
                message: format!(
                    "the sandbox's published token is refused when the server listens on {bound} \
                     or is reached at {}: set a secret one (--twilio-auth-token, \
                     FIELDPAY_TWILIO_AUTH_TOKEN)",
                    self.public_url
                ),
            });
        }
        if !self.sandbox() || local {
            return Ok(Vec::new());
        }
        let mut warnings = vec![format!(
            "SANDBOX MODE IS REACHABLE FROM OTHER MACHINES (listening on {bound}, public URL {}): \
             anyone who reaches it can read every payer's texts at /sandbox/sms, place sandbox \
             calls and use the demo credentials; never use it with real payers or real cards",
            self.public_url
        )];
        if self.sandbox_clock {
            warnings.push(
                "sandbox_clock is on: anyone who reaches this server can move its clock \
                 (POST /sandbox/clock/advance), expiring every merchant's charges and tokens"
                    .into(),
            );
        }
        Ok(warnings)
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("fieldpay.db")
    }

    pub fn cardnet_path(&self) -> PathBuf {
        self.data_dir.join("sandbox-cardnet.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_settings_refuse_unknown_keys() {
        let err = toml::from_str::<FileSettings>("listen = \"127.0.0.1:1\"\nbogus = 1\n");
        assert!(err.is_err());
        let ok: FileSettings = toml::from_str("listen = \"127.0.0.1:9000\"\n").unwrap();
        let s = Settings::default().apply(ok);
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.public_url, "http://127.0.0.1:9000");
        assert_eq!(s.internal_url, "http://127.0.0.1:9000");
    }

    #[test]
    fn a_bad_file_is_one_line_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(
            &path,
            "# settings\nlisten = \"127.0.0.1:1\"\n  bogus = \"secret-x\"\n",
        )
        .unwrap();
        let e = Settings::load_file(&path).unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        assert!(e.contains("line 3, column 3: unknown field `bogus`"), "{e}");
        assert!(!e.contains("secret-x"), "{e}");
    }

    #[test]
    fn validation() {
        let s = Settings {
            public_url: "ftp://x".into(),
            ..Settings::default()
        };
        assert!(s.validate().is_err());
        assert!(Settings::default().validate().is_ok());
        for bad in ["ftp://10.0.0.1", "10.0.0.1:8640", "http://", ""] {
            let s = Settings {
                internal_url: bad.into(),
                ..Settings::default()
            };
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains("internal_url"), "{bad}: {e}");
        }
        let f: FileSettings = toml::from_str("internal_url = \"http://10.0.0.11:8640\"").unwrap();
        let s = Settings::default().apply(f).validate().unwrap();
        assert_eq!(s.internal_url, "http://10.0.0.11:8640");
        for bad in ["webhook_timeout_secs = 0", "webhook_concurrency = 0"] {
            let f: FileSettings = toml::from_str(bad).unwrap();
            assert!(Settings::default().apply(f).validate().is_err(), "{bad}");
        }
        let f: FileSettings =
            toml::from_str("webhook_timeout_secs = 3\nwebhook_concurrency = 4\n").unwrap();
        let s = Settings::default().apply(f).validate().unwrap();
        assert_eq!((s.webhook_timeout_secs, s.webhook_concurrency), (3, 4));
        let s = Settings {
            sip_max_calls_per_source: 0,
            ..Settings::default()
        };
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("sip_max_calls_per_source"), "{e}");
        let no_burst = Settings {
            login_account_burst: 0,
            ..Settings::default()
        };
        assert!(no_burst.validate().is_err());
        let limits_off = Settings {
            login_ip_per_minute: 0,
            login_ip_burst: 0,
            ..Settings::default()
        };
        assert!(limits_off.validate().is_ok());
    }

    #[test]
    fn sip_trusted_peers() {
        let d = Settings::default();
        assert_eq!(d.sip_trusted_peers.to_string(), "127.0.0.0/8, ::1/128");
        assert!(!d.sip_symmetric_rtp);
        assert_eq!(d.sip_max_calls_per_source, 50);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(d.sip_trusted_peers.contains(ip("127.0.0.2")));
        assert!(d.sip_trusted_peers.contains(ip("::1")));
        assert!(d.sip_trusted_peers.contains(ip("::ffff:127.0.0.1")));
        assert!(!d.sip_trusted_peers.contains(ip("10.0.0.1")));
        assert!(!d.sip_trusted_peers.trusts_everyone());

        let f: FileSettings = toml::from_str(
            "sip_trusted_peers = [\"10.0.0.0/8\", \" 203.0.113.7/32\", \"198.51.100.9\", \"2001:db8::/32\"]\n\
             sip_symmetric_rtp = true\nsip_max_calls_per_source = 7\n",
        )
        .unwrap();
        let s = Settings::default().apply(f).validate().unwrap();
        let peers = &s.sip_trusted_peers;
        assert_eq!(
            peers.to_string(),
            "10.0.0.0/8, 203.0.113.7/32, 198.51.100.9/32, 2001:db8::/32"
        );
        assert!(peers.contains(ip("10.200.1.1")));
        assert!(peers.contains(ip("::ffff:10.0.0.1")));
        assert!(peers.contains(ip("203.0.113.7")));
        assert!(!peers.contains(ip("203.0.113.8")));
        assert!(peers.contains(ip("198.51.100.9")));
        assert!(peers.contains(ip("2001:db8:1::5")));
        assert!(
            !peers.contains(ip("127.0.0.1")),
            "the list replaces the default"
        );
        assert!(s.sip_symmetric_rtp);
        assert_eq!(s.sip_max_calls_per_source, 7);
        // Host bits are dropped; 0.0.0.0/0 is allowed but flagged.
        let all = TrustedPeers::parse(&["10.1.2.3/8", "0.0.0.0/0"]).unwrap();
        assert_eq!(all.to_string(), "10.0.0.0/8, 0.0.0.0/0");
        assert!(all.trusts_everyone());
    }

    #[test]
    fn bad_sip_trusted_peers_name_the_setting() {
        for bad in [
            vec!["10.0.0/8"],
            vec!["10.0.0.0/33"],
            vec!["example.com"],
            vec![],
        ] {
            let e = TrustedPeers::parse(&bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    ConfigError::Invalid {
                        name: "sip_trusted_peers",
                        ..
                    }
                ),
                "{bad:?}: {e}"
            );
        }
        let e = TrustedPeers::parse(&["10.0.0.0/8", "nonsense"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sip_trusted_peers") && e.contains("nonsense"),
            "{e}"
        );
        let e = toml::from_str::<FileSettings>("sip_trusted_peers = [\"10.0.0.0/99\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sip_trusted_peers") && e.contains("10.0.0.0/99"),
            "{e}"
        );
        assert!(toml::from_str::<FileSettings>("sip_trusted_peers = []\n").is_err());
        assert!(toml::from_str::<FileSettings>("sip_max_calls_per_source = -1\n").is_err());
    }

    #[test]
    fn security_settings_from_toml() {
        let f: FileSettings = toml::from_str(
            "login_ip_per_minute = 30\nlogin_ip_burst = 60\nlogin_account_per_minute = 0\n\
             login_account_burst = 1\npassword_hash_concurrency = 3\n\
             refresh_reuse_grace_secs = 0\nallow_remote_sandbox = true\nsandbox_clock = true\n",
        )
        .unwrap();
        let s = Settings::default().apply(f).validate().unwrap();
        assert_eq!((s.login_ip_per_minute, s.login_ip_burst), (30, 60));
        assert_eq!((s.login_account_per_minute, s.login_account_burst), (0, 1));
        assert_eq!(s.password_hashes_at_once(), 3);
        assert_eq!(s.refresh_reuse_grace_secs, 0);
        assert!(s.allow_remote_sandbox && s.sandbox_clock);
        let d = Settings::default();
        assert!(!d.allow_remote_sandbox && !d.sandbox_clock);
        assert!(d.password_hashes_at_once() >= 1);
    }

    #[test]
    fn public_urls_on_this_machine() {
        for (url, local) in [
            ("http://127.0.0.1:8640", true),
            ("http://127.5.0.1", true),
            ("http://localhost:8640/", true),
            ("http://LOCALHOST", true),
            ("http://[::1]:8640", true),
            ("https://pay.example.com", false),
            ("http://0.0.0.0:8640", false),
            ("http://192.0.2.1:8640", false),
            ("http://localhost.example.com", false),
            ("not a url", false),
        ] {
            let s = Settings {
                public_url: url.into(),
                ..Settings::default()
            };
            assert_eq!(s.public_url_is_loopback(), local, "{url}");
        }
    }

    #[test]
    fn sandbox_exposure() {
        let loopback: SocketAddr = "127.0.0.1:8640".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8640".parse().unwrap();
        let secret_token = Secret::from("a-secret-token");
        // The defaults: sandbox on loopback, published token. Fine, nothing to warn of.
        assert!(Settings::default()
            .check_exposure(loopback)
            .unwrap()
            .is_empty());
        // Sandbox beyond loopback: refused, whichever token.
        let remote = Settings {
            twilio_auth_token: secret_token.clone(),
            ..Settings::default()
        };
        let e = remote.check_exposure(any).unwrap_err().to_string();
        assert!(e.contains("--allow-remote-sandbox"), "{e}");
        let tunnelled = Settings {
            public_url: "https://pay.example.com".into(),
            ..remote.clone()
        };
        assert!(tunnelled.check_exposure(loopback).is_err());
        // Allowed: served, with a loud warning (and one more for the clock).
        let allowed = Settings {
            allow_remote_sandbox: true,
            ..remote.clone()
        };
        assert_eq!(allowed.check_exposure(any).unwrap().len(), 1);
        let with_clock = Settings {
            sandbox_clock: true,
            ..allowed.clone()
        };
        assert_eq!(with_clock.check_exposure(any).unwrap().len(), 2);
        // The published Twilio token beyond loopback: refused, sandbox or not.
        let published = Settings {
            twilio_auth_token: SANDBOX_TWILIO_AUTH_TOKEN.into(),
            ..allowed
        };
        let e = published.check_exposure(any).unwrap_err().to_string();
        assert!(e.contains("twilio_auth_token"), "{e}");
        let production = Settings {
            mode: Mode::Production,
            ..published
        };
        assert!(production.check_exposure(any).is_err());
        let production = Settings {
            twilio_auth_token: secret_token,
            ..production
        };
        assert!(production.check_exposure(any).unwrap().is_empty());
    }
}
