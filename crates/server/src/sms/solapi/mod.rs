//! Solapi (솔라피), the primary text provider: `POST /messages/v4/send-many/detail` with one
//! message, signed with `Authorization: HMAC-SHA256 apiKey=.., date=.., salt=.., signature=..`.
//! Korean numbers only (numbers abroad go to [`crate::sms::twilio`]). The request and answer
//! mapping is in [`transformers`].

pub mod transformers;

use std::time::Duration;

use async_trait::async_trait;
use fieldpay_protocol::Secret;

use crate::sms::sender::{
    korean_national, transport_error, OutgoingSms, SentSms, SmsError, SmsSender,
};

/// Solapi's production address.
pub const DEFAULT_BASE_URL: &str = "https://api.solapi.com";

pub struct SolapiConfig {
    /// `https://api.solapi.com` (no trailing slash needed).
    pub base_url: String,
    pub timeout: Duration,
    pub api_key: Secret,
    pub api_secret: Secret,
    /// The registered sender number (발신번호), national digits (`0212345678`, `15880000`).
    pub sender_number: String,
}

pub struct SolapiSender {
    client: reqwest::Client,
    url: String,
    api_key: Secret,
    api_secret: Secret,
    from: String,
}

impl SolapiSender {
    pub fn new(cfg: SolapiConfig) -> Result<SolapiSender, SmsError> {
        if cfg.api_key.is_empty() || cfg.api_secret.is_empty() {
            return Err(SmsError::Rejected(
                "Solapi API key and secret are required".into(),
            ));
        }
        let from = sender_digits(&cfg.sender_number)?;
        let base = cfg.base_url.trim_end_matches('/');
        url::Url::parse(base)
            .map_err(|_| SmsError::Rejected("Solapi base URL is not a URL".into()))?;
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .map_err(|_| SmsError::Rejected("cannot build the HTTP client".into()))?;
        Ok(SolapiSender {
            client,
            url: format!("{base}/messages/v4/send-many/detail"),
            api_key: cfg.api_key,
            api_secret: cfg.api_secret,
            from,
        })
    }
}

/// A sender number as digits (the provider wants no `-`).
pub(crate) fn sender_digits(number: &str) -> Result<String, SmsError> {
    let digits: String = number.chars().filter(|c| *c != '-' && *c != ' ').collect();
    if digits.len() < 4 || digits.len() > 16 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SmsError::Rejected(
            "the sender number must be digits (a registered 발신번호)".into(),
        ));
    }
    Ok(digits)
}

/// 12 to 64 random bytes, as Solapi asks: 32 hex characters.
fn salt() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

#[async_trait]
impl SmsSender for SolapiSender {
    fn name(&self) -> &'static str {
        "solapi"
    }

    async fn send(&self, sms: &OutgoingSms<'_>) -> Result<SentSms, SmsError> {
        let to = korean_national(sms.to_e164)
            .ok_or_else(|| SmsError::Refused("Solapi sends to Korean numbers only".into()))?;
        let body = transformers::request(to, &self.from, sms.body, sms.subject)?;
        let date = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let auth = transformers::authorization(
            self.api_key.expose(),
            self.api_secret.expose(),
            &date,
            &salt(),
        );
        let resp = self
            .client
            .post(&self.url)
            .header(reqwest::header::AUTHORIZATION, auth)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error("Solapi", &e))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| transport_error("Solapi", &e))?;
        if !(200..300).contains(&status) {
            return Err(transformers::error(status, &text));
        }
        let answer: transformers::SendManyAnswer = serde_json::from_str(&text).map_err(|_| {
            SmsError::Unavailable(crate::sms::sender::unexpected("Solapi", status, &text))
        })?;
        let id = transformers::sent(&answer)?;
        Ok(SentSms { provider_id: id })
    }
}
