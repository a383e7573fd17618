//! Server settings: defaults, then an optional TOML file, then `FIELDPAY_*` environment
//! variables and command-line flags (clap reads both), later ones winning.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use fieldpay_protocol::Secret;
use serde::Deserialize;

/// The Twilio-dialect auth token used in sandbox mode when none is configured (README).
pub const SANDBOX_TWILIO_AUTH_TOKEN: &str = "sandbox-twilio-auth-token";

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// The address carriers and payers reach us at (used for TwiML signatures and receipt links).
    pub public_url: String,
    /// Sandbox mode: SMS sink, sandbox card network, sandbox phone, demo data.
    pub sandbox: bool,
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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8640)),
            public_url: "http://127.0.0.1:8640".into(),
            sandbox: true,
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
        }
    }
}

/// The TOML file's shape; every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub sandbox: Option<bool>,
    pub twilio_auth_token: Option<Secret>,
    pub access_token_ttl_secs: Option<u64>,
    pub refresh_token_ttl_secs: Option<u64>,
    pub webhook_retry_secs: Option<Vec<u64>>,
    pub webhook_timeout_secs: Option<u64>,
    pub webhook_concurrency: Option<usize>,
    pub tick_ms: Option<u64>,
    pub sip_listen: Option<SocketAddr>,
    pub declines_per_caller_per_hour: Option<u32>,
    pub bills_per_phone_per_hour: Option<u32>,
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
}

impl Settings {
    pub fn load_file(path: &Path) -> Result<FileSettings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    pub fn apply(mut self, f: FileSettings) -> Self {
        if let Some(v) = f.data_dir {
            self.data_dir = v;
        }
        if let Some(v) = f.listen {
            self.listen = v;
            self.public_url = format!("http://{v}");
        }
        if let Some(v) = f.public_url {
            self.public_url = v;
        }
        if let Some(v) = f.sandbox {
            self.sandbox = v;
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
        self
    }

    pub fn validate(self) -> Result<Self, ConfigError> {
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "public_url",
                message: "must start with http:// or https://".into(),
            });
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
            ("declines_per_caller_per_hour", u64::from(self.declines_per_caller_per_hour)),
            ("bills_per_phone_per_hour", u64::from(self.bills_per_phone_per_hour)),
            ("webhook_timeout_secs", self.webhook_timeout_secs),
            ("webhook_concurrency", self.webhook_concurrency as u64),
        ];
        if let Some((name, _)) = must_be_positive.into_iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Invalid {
                name,
                message: "must be positive".into(),
            });
        }
        Ok(self)
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
    }

    #[test]
    fn validation() {
        let s = Settings {
            public_url: "ftp://x".into(),
            ..Settings::default()
        };
        assert!(s.validate().is_err());
        assert!(Settings::default().validate().is_ok());
        for bad in ["webhook_timeout_secs = 0", "webhook_concurrency = 0"] {
            let f: FileSettings = toml::from_str(bad).unwrap();
            assert!(Settings::default().apply(f).validate().is_err(), "{bad}");
        }
        let f: FileSettings =
            toml::from_str("webhook_timeout_secs = 3\nwebhook_concurrency = 4\n").unwrap();
        let s = Settings::default().apply(f).validate().unwrap();
        assert_eq!((s.webhook_timeout_secs, s.webhook_concurrency), (3, 4));
    }
}
