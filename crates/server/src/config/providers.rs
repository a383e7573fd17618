//! The `[card]` and `[sms]` sections: which card connector and which text-message provider
//! the server uses, with their keys. Every key is a secret: it may be written in the file
//! (`secret_key = "..."`), read from a file (`secret_key_file = "/etc/fieldpay/toss.key"`) or
//! taken from the environment (`FIELDPAY_CARD_SECRET_KEY`), the environment winning. It is
//! never required on the command line (where other users of the machine could read it).

use std::path::{Path, PathBuf};

use fieldpay_protocol::Secret;
use serde::Deserialize;

use super::ConfigError;

/// Reads the environment: `FIELDPAY_*` variables by name (a function, so tests pass a map).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The card connector (keyed-in card approval, 수기결제).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardProvider {
    /// The simulated card network (sandbox mode only).
    #[default]
    Sandbox,
    /// Toss Payments key-in (`POST /v1/payments/key-in`).
    Toss,
    /// PortOne V2 (instant payment over NICE, KCP, KG Inicis and others).
    PortOne,
}

impl CardProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            CardProvider::Sandbox => "sandbox",
            CardProvider::Toss => "toss",
            CardProvider::PortOne => "portone",
        }
    }

    /// The provider's production address, used when `base_url` is not set.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            CardProvider::Sandbox => None,
            CardProvider::Toss => Some("https://api.tosspayments.com"),
            CardProvider::PortOne => Some("https://api.portone.io"),
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Some(CardProvider::Sandbox),
            "toss" => Some(CardProvider::Toss),
            "portone" => Some(CardProvider::PortOne),
            _ => None,
        }
    }
}

/// The text-message provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// The SMS log only (the sandbox phone reads it; sandbox mode only).
    #[default]
    Sandbox,
    /// Solapi (`POST /messages/v4/send-many/detail`, HMAC-SHA256 auth).
    Solapi,
    /// NHN Cloud SMS v3.0.
    Nhn,
    /// Twilio Messages (numbers abroad).
    Twilio,
}

impl SmsProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsProvider::Sandbox => "sandbox",
            SmsProvider::Solapi => "solapi",
            SmsProvider::Nhn => "nhn",
            SmsProvider::Twilio => "twilio",
        }
    }

    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            SmsProvider::Sandbox => None,
            SmsProvider::Solapi => Some("https://api.solapi.com"),
            SmsProvider::Nhn => Some("https://api-sms.cloud.toast.com"),
            SmsProvider::Twilio => Some("https://api.twilio.com"),
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Some(SmsProvider::Sandbox),
            "solapi" => Some(SmsProvider::Solapi),
            "nhn" => Some(SmsProvider::Nhn),
            "twilio" => Some(SmsProvider::Twilio),
            _ => None,
        }
    }
}

/// `[card]`: the card connector and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSettings {
    pub provider: CardProvider,
    /// Toss: the secret key (`live_sk_...`, or `test_sk_...` for Toss's test environment).
    pub secret_key: Option<Secret>,
    /// PortOne: the V2 API secret.
    pub api_secret: Option<Secret>,
    /// PortOne: the channel key (which PG contract the payment goes through).
    pub channel_key: Option<Secret>,
    /// The provider's address; None = its production address.
    pub base_url: Option<String>,
    /// How long one request to the provider may take before its outcome is unknown (and an
    /// approval is resolved by inquiry).
    pub timeout_secs: u64,
}

impl Default for CardSettings {
    fn default() -> Self {
        CardSettings {
            provider: CardProvider::Sandbox,
            secret_key: None,
            api_secret: None,
            channel_key: None,
            base_url: None,
            timeout_secs: 30,
        }
    }
}

/// `[sms]`: the text-message provider, its keys and the registered sender number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsSettings {
    pub provider: SmsProvider,
    /// Solapi: API key.
    pub api_key: Option<Secret>,
    /// Solapi: API secret (signs each request).
    pub api_secret: Option<Secret>,
    /// NHN Cloud: app key.
    pub app_key: Option<Secret>,
    /// NHN Cloud: secret key.
    pub secret_key: Option<Secret>,
    /// Twilio: account SID.
    pub account_sid: Option<Secret>,
    /// Twilio: auth token.
    pub auth_token: Option<Secret>,
    /// The sender number registered with the provider (발신번호), e.g. `1600-0000` or a
    /// Twilio number in E.164.
    pub sender: Option<String>,
    pub base_url: Option<String>,
    pub timeout_secs: u64,
}

impl Default for SmsSettings {
    fn default() -> Self {
        SmsSettings {
            provider: SmsProvider::Sandbox,
            api_key: None,
            api_secret: None,
            app_key: None,
            secret_key: None,
            account_sid: None,
            auth_token: None,
            sender: None,
            base_url: None,
            timeout_secs: 10,
        }
    }
}

/// The `[card]` section as written; each secret `x` also as `x_file`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCard {
    pub provider: Option<CardProvider>,
    pub secret_key: Option<Secret>,
    pub secret_key_file: Option<PathBuf>,
    pub api_secret: Option<Secret>,
    pub api_secret_file: Option<PathBuf>,
    pub channel_key: Option<Secret>,
    pub channel_key_file: Option<PathBuf>,
    pub base_url: Option<String>,
    pub timeout_secs: Option<u64>,
}

/// The `[sms]` section as written; each secret `x` also as `x_file`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSms {
    pub provider: Option<SmsProvider>,
    pub api_key: Option<Secret>,
    pub api_key_file: Option<PathBuf>,
    pub api_secret: Option<Secret>,
    pub api_secret_file: Option<PathBuf>,
    pub app_key: Option<Secret>,
    pub app_key_file: Option<PathBuf>,
    pub secret_key: Option<Secret>,
    pub secret_key_file: Option<PathBuf>,
    pub account_sid: Option<Secret>,
    pub account_sid_file: Option<PathBuf>,
    pub auth_token: Option<Secret>,
    pub auth_token_file: Option<PathBuf>,
    pub sender: Option<String>,
    pub base_url: Option<String>,
    pub timeout_secs: Option<u64>,
}

/// A secret read from a file: its content without the trailing line break. An empty file,
/// or one that cannot be read, is an error naming the setting and the path (never the
/// content).
pub fn read_secret_file(name: &'static str, path: &Path) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
        name,
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.trim().is_empty() {
        return Err(ConfigError::Invalid {
            name,
            message: format!("{} is empty", path.display()),
        });
    }
    Ok(Secret::new(value))
}

/// One secret of the file: `x` or `x_file` (not both), read into `x`.
pub fn read_file_secret(
    name: &'static str,
    inline: &mut Option<Secret>,
    file: &mut Option<PathBuf>,
) -> Result<(), ConfigError> {
    match (inline.is_some(), file.take()) {
        (true, Some(_)) => Err(ConfigError::Invalid {
            name,
            message: "is given both inline and as a file (_file): keep one".into(),
        }),
        (false, Some(path)) => {
            *inline = Some(read_secret_file(name, &path)?);
            Ok(())
        }
        _ => Ok(()),
    }
}

impl FileCard {
    /// Reads each `x_file` into `x`.
    pub fn read_files(&mut self) -> Result<(), ConfigError> {
        read_file_secret(
            "card.secret_key",
            &mut self.secret_key,
            &mut self.secret_key_file,
        )?;
        read_file_secret(
            "card.api_secret",
            &mut self.api_secret,
            &mut self.api_secret_file,
        )?;
        read_file_secret(
            "card.channel_key",
            &mut self.channel_key,
            &mut self.channel_key_file,
        )
    }
}

impl FileSms {
    /// Reads each `x_file` into `x`.
    pub fn read_files(&mut self) -> Result<(), ConfigError> {
        read_file_secret("sms.api_key", &mut self.api_key, &mut self.api_key_file)?;
        read_file_secret(
            "sms.api_secret",
            &mut self.api_secret,
            &mut self.api_secret_file,
        )?;
        read_file_secret("sms.app_key", &mut self.app_key, &mut self.app_key_file)?;
        read_file_secret(
            "sms.secret_key",
            &mut self.secret_key,
            &mut self.secret_key_file,
        )?;
        read_file_secret(
            "sms.account_sid",
            &mut self.account_sid,
            &mut self.account_sid_file,
        )?;
        read_file_secret(
            "sms.auth_token",
            &mut self.auth_token,
            &mut self.auth_token_file,
        )
    }
}

/// Sets `slot` from the environment variable `var` when it is set and not empty.
fn env_secret(slot: &mut Option<Secret>, var: &str, env: Env<'_>) {
    if let Some(v) = env(var).filter(|v| !v.trim().is_empty()) {
        *slot = Some(Secret::new(v.trim_end_matches(['\n', '\r'])));
    }
}

impl CardSettings {
    /// Takes what the section sets (its `_file` keys already read: [`FileCard::read_files`]).
    pub fn apply(&mut self, f: FileCard) {
        if let Some(p) = f.provider {
            self.provider = p;
        }
        for (slot, v) in [
            (&mut self.secret_key, f.secret_key),
            (&mut self.api_secret, f.api_secret),
            (&mut self.channel_key, f.channel_key),
        ] {
            if v.is_some() {
                *slot = v;
            }
        }
        if let Some(v) = f.base_url {
            self.base_url = Some(v);
        }
        if let Some(v) = f.timeout_secs {
            self.timeout_secs = v;
        }
    }

    /// `FIELDPAY_CARD_PROVIDER`, `FIELDPAY_CARD_BASE_URL` and each key as
    /// `FIELDPAY_CARD_<KEY>`.
    pub fn apply_env(&mut self, env: Env<'_>) -> Result<(), ConfigError> {
        if let Some(v) = env("FIELDPAY_CARD_PROVIDER").filter(|v| !v.trim().is_empty()) {
            self.provider = CardProvider::parse(&v).ok_or_else(|| ConfigError::Invalid {
                name: "card.provider",
                message: format!("{v:?} is not one of toss, portone, sandbox"),
            })?;
        }
        if let Some(v) = env("FIELDPAY_CARD_BASE_URL").filter(|v| !v.trim().is_empty()) {
            self.base_url = Some(v);
        }
        env_secret(&mut self.secret_key, "FIELDPAY_CARD_SECRET_KEY", env);
        env_secret(&mut self.api_secret, "FIELDPAY_CARD_API_SECRET", env);
        env_secret(&mut self.channel_key, "FIELDPAY_CARD_CHANNEL_KEY", env);
        Ok(())
    }

    /// The address requests go to.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url
            .as_deref()
            .or(self.provider.default_base_url())
    }

    /// The keys: (name, value) of each the provider needs, and of each set that it does not.
    fn keys(&self) -> [(&'static str, &Option<Secret>, bool); 3] {
        let p = self.provider;
        [
            ("secret_key", &self.secret_key, p == CardProvider::Toss),
            ("api_secret", &self.api_secret, p == CardProvider::PortOne),
            ("channel_key", &self.channel_key, p == CardProvider::PortOne),
        ]
    }

    /// What is wrong with the section: a key the provider needs is missing, or a key is set
    /// that it does not use (a sign of the wrong provider), a bad address or timeout.
    pub fn problems(&self) -> Vec<String> {
        let mut out = key_problems("card", self.provider.as_str(), &self.keys());
        out.extend(url_problems("card.base_url", self.base_url.as_deref()));
        if self.timeout_secs == 0 {
            out.push("invalid setting card.timeout_secs: must be positive".into());
        }
        out
    }

    /// For people: the provider and where it is reached (never a key).
    pub fn describe(&self) -> String {
        match self.base_url() {
            Some(url) => format!("{} at {url}", self.provider.as_str()),
            None => self.provider.as_str().to_string(),
        }
    }

    /// Every key set (name, value), for the check against documented placeholders.
    pub fn secrets(&self) -> Vec<(String, &Secret)> {
        set_keys("card", &self.keys())
    }
}

impl SmsSettings {
    /// Takes what the section sets (its `_file` keys already read: [`FileSms::read_files`]).
    pub fn apply(&mut self, f: FileSms) {
        if let Some(p) = f.provider {
            self.provider = p;
        }
        for (slot, v) in [
            (&mut self.api_key, f.api_key),
            (&mut self.api_secret, f.api_secret),
            (&mut self.app_key, f.app_key),
            (&mut self.secret_key, f.secret_key),
            (&mut self.account_sid, f.account_sid),
            (&mut self.auth_token, f.auth_token),
        ] {
            if v.is_some() {
                *slot = v;
            }
        }
        if let Some(v) = f.sender {
            self.sender = Some(v);
        }
        if let Some(v) = f.base_url {
            self.base_url = Some(v);
        }
        if let Some(v) = f.timeout_secs {
            self.timeout_secs = v;
        }
    }

    /// `FIELDPAY_SMS_PROVIDER`, `FIELDPAY_SMS_SENDER`, `FIELDPAY_SMS_BASE_URL` and each key as
    /// `FIELDPAY_SMS_<KEY>`.
    pub fn apply_env(&mut self, env: Env<'_>) -> Result<(), ConfigError> {
        if let Some(v) = env("FIELDPAY_SMS_PROVIDER").filter(|v| !v.trim().is_empty()) {
            self.provider = SmsProvider::parse(&v).ok_or_else(|| ConfigError::Invalid {
                name: "sms.provider",
                message: format!("{v:?} is not one of solapi, nhn, twilio, sandbox"),
            })?;
        }
        if let Some(v) = env("FIELDPAY_SMS_SENDER").filter(|v| !v.trim().is_empty()) {
            self.sender = Some(v);
        }
        if let Some(v) = env("FIELDPAY_SMS_BASE_URL").filter(|v| !v.trim().is_empty()) {
            self.base_url = Some(v);
        }
        env_secret(&mut self.api_key, "FIELDPAY_SMS_API_KEY", env);
        env_secret(&mut self.api_secret, "FIELDPAY_SMS_API_SECRET", env);
        env_secret(&mut self.app_key, "FIELDPAY_SMS_APP_KEY", env);
        env_secret(&mut self.secret_key, "FIELDPAY_SMS_SECRET_KEY", env);
        env_secret(&mut self.account_sid, "FIELDPAY_SMS_ACCOUNT_SID", env);
        env_secret(&mut self.auth_token, "FIELDPAY_SMS_AUTH_TOKEN", env);
        Ok(())
    }

    pub fn base_url(&self) -> Option<&str> {
        self.base_url
            .as_deref()
            .or(self.provider.default_base_url())
    }

    fn keys(&self) -> [(&'static str, &Option<Secret>, bool); 6] {
        let p = self.provider;
        [
            ("api_key", &self.api_key, p == SmsProvider::Solapi),
            ("api_secret", &self.api_secret, p == SmsProvider::Solapi),
            ("app_key", &self.app_key, p == SmsProvider::Nhn),
            ("secret_key", &self.secret_key, p == SmsProvider::Nhn),
            ("account_sid", &self.account_sid, p == SmsProvider::Twilio),
            ("auth_token", &self.auth_token, p == SmsProvider::Twilio),
        ]
    }

    pub fn problems(&self) -> Vec<String> {
        let mut out = key_problems("sms", self.provider.as_str(), &self.keys());
        if self.provider != SmsProvider::Sandbox {
            match self.sender.as_deref().map(str::trim) {
                None | Some("") => out.push(format!(
                    "invalid setting sms.sender: provider {} needs the sender number registered \
                     with it (sender, or FIELDPAY_SMS_SENDER)",
                    self.provider.as_str()
                )),
                Some(s) => {
                    if let Err(e) = self.sender_number(s) {
                        out.push(format!("invalid setting sms.sender: {e}"));
                    }
                }
            }
        }
        out.extend(url_problems("sms.base_url", self.base_url.as_deref()));
        if self.timeout_secs == 0 {
            out.push("invalid setting sms.timeout_secs: must be positive".into());
        }
        out
    }

    /// The sender number as the provider takes it: digits only for the Korean providers
    /// (`16000000`, `0212345678`, `01012345678`), E.164 for Twilio (`+15005550006`).
    pub fn sender_number(&self, raw: &str) -> Result<String, String> {
        let raw = raw.trim();
        if self.provider == SmsProvider::Twilio {
            let digits = raw.strip_prefix('+').unwrap_or("");
            if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(raw.to_string());
            }
            return Err(format!(
                "{raw:?} is not an E.164 number (e.g. +15005550006)"
            ));
        }
        let digits: String = raw.chars().filter(|c| *c != '-' && *c != ' ').collect();
        if (8..=11).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(digits)
        } else {
            Err(format!(
                "{raw:?} is not a Korean sender number (e.g. 1600-0000, 02-1234-5678)"
            ))
        }
    }

    pub fn describe(&self) -> String {
        match self.base_url() {
            Some(url) => format!("{} at {url}", self.provider.as_str()),
            None => self.provider.as_str().to_string(),
        }
    }

    pub fn secrets(&self) -> Vec<(String, &Secret)> {
        set_keys("sms", &self.keys())
    }
}

fn key_problems(
    section: &str,
    provider: &str,
    keys: &[(&'static str, &Option<Secret>, bool)],
) -> Vec<String> {
    let env_prefix = format!("FIELDPAY_{}_", section.to_ascii_uppercase());
    let mut out = Vec::new();
    for (name, value, needed) in keys {
        let present = value
            .as_ref()
            .is_some_and(|v| !v.expose().trim().is_empty());
        if *needed && !present {
            out.push(format!(
                "missing setting {section}.{name}: provider {provider} needs it ({name}, \
                 {name}_file, or {env_prefix}{})",
                name.to_ascii_uppercase()
            ));
        }
        if !*needed && value.is_some() {
            out.push(format!(
                "invalid setting {section}.{name}: provider {provider} does not use it (is \
                 {section}.provider right?)"
            ));
        }
    }
    out
}

fn set_keys<'a>(
    section: &str,
    keys: &[(&'static str, &'a Option<Secret>, bool)],
) -> Vec<(String, &'a Secret)> {
    keys.iter()
        .filter_map(|(name, v, _)| v.as_ref().map(|v| (format!("{section}.{name}"), v)))
        .collect()
}

fn url_problems(name: &str, url: Option<&str>) -> Vec<String> {
    let Some(url) = url else {
        return Vec::new();
    };
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Vec::new(),
        _ => vec![format!(
            "invalid setting {name}: {url:?} is not an http:// or https:// URL"
        )],
    }
}
