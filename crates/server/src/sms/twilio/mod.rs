//! Twilio Messages, for numbers abroad: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`
//! with the form fields `To`, `From`, `Body` and HTTP Basic auth. Mapping in [`transformers`].

pub mod transformers;

use std::time::Duration;

use async_trait::async_trait;
use fieldpay_protocol::Secret;

use crate::sms::sender::{transport_error, unexpected, OutgoingSms, SentSms, SmsError, SmsSender};

/// Twilio's production address.
pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

pub struct TwilioConfig {
    pub base_url: String,
    pub timeout: Duration,
    /// `AC` followed by 32 hex digits.
    pub account_sid: String,
    pub auth_token: Secret,
    /// The sending Twilio number in E.164 (`+15005550006`).
    pub sender_number: String,
}

pub struct TwilioSender {
    client: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: Secret,
    from: String,
}

impl TwilioSender {
    pub fn new(cfg: TwilioConfig) -> Result<TwilioSender, SmsError> {
        let sid = &cfg.account_sid;
        if !(sid.len() == 34
            && sid.starts_with("AC")
            && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(SmsError::Rejected(
                "the Twilio Account SID must be AC and 32 hex digits".into(),
            ));
        }
        if cfg.auth_token.is_empty() {
            return Err(SmsError::Rejected(
                "the Twilio auth token is required".into(),
            ));
        }
        let from = &cfg.sender_number;
        if !(from.starts_with('+')
            && from.len() > 4
            && from[1..].bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(SmsError::Rejected(
                "the Twilio sender number must be E.164 (+1...)".into(),
            ));
        }
        let base = cfg.base_url.trim_end_matches('/');
        url::Url::parse(base)
            .map_err(|_| SmsError::Rejected("Twilio base URL is not a URL".into()))?;
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .map_err(|_| SmsError::Rejected("cannot build the HTTP client".into()))?;
        Ok(TwilioSender {
            client,
            url: format!("{base}/2010-04-01/Accounts/{sid}/Messages.json"),
            account_sid: cfg.account_sid.clone(),
            auth_token: cfg.auth_token,
            from: cfg.sender_number.clone(),
        })
    }
}

#[async_trait]
impl SmsSender for TwilioSender {
    fn name(&self) -> &'static str {
        "twilio"
    }

    async fn send(&self, sms: &OutgoingSms<'_>) -> Result<SentSms, SmsError> {
        if sms.body.is_empty() {
            return Err(SmsError::Refused("empty text".into()));
        }
        let form = transformers::CreateMessage {
            to: sms.to_e164,
            from: &self.from,
            body: sms.body,
        };
        let resp = self
            .client
            .post(&self.url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error("Twilio", &e))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| transport_error("Twilio", &e))?;
        if !(200..300).contains(&status) {
            return Err(transformers::error(status, &text));
        }
        let m: transformers::MessageResource = serde_json::from_str(&text)
            .map_err(|_| SmsError::Unavailable(unexpected("Twilio", status, &text)))?;
        Ok(SentSms {
            provider_id: Some(transformers::created(&m)?),
        })
    }
}
