//! Server settings: defaults, then an optional TOML file, then `FIELDPAY_*` environment
//! variables and command-line flags (clap reads both), later ones winning.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use fieldpay_protocol::Secret;
use ipnet::IpNet;
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
    /// The networks SIP requests are taken from (the trunk's signalling addresses): requests
    /// from anywhere else get 403, and only their P-Asserted-Identity is believed.
    pub sip_trusted_peers: TrustedPeers,
    /// Send a call's audio to (and take its keys from) the address its first RTP packet came
    /// from, instead of the address its SDP named (for callers behind NAT).
    pub sip_symmetric_rtp: bool,
    /// SIP calls at once from one source address beyond which new INVITEs get 503.
    pub sip_max_calls_per_source: usize,
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
            sip_trusted_peers: TrustedPeers::default(),
            sip_symmetric_rtp: false,
            sip_max_calls_per_source: 50,
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
    pub sip_trusted_peers: Option<TrustedPeers>,
    pub sip_symmetric_rtp: Option<bool>,
    pub sip_max_calls_per_source: Option<usize>,
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
        if let Some(v) = f.sip_trusted_peers {
            self.sip_trusted_peers = v;
        }
        if let Some(v) = f.sip_symmetric_rtp {
            self.sip_symmetric_rtp = v;
        }
        if let Some(v) = f.sip_max_calls_per_source {
            self.sip_max_calls_per_source = v;
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
        let s = Settings {
            sip_max_calls_per_source: 0,
            ..Settings::default()
        };
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("sip_max_calls_per_source"), "{e}");
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
}
