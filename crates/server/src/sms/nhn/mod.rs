//! NHN Cloud SMS (API v3.0): `POST /sms/v3.0/appKeys/{appKey}/sender/sms` (or `/sender/mms`
//! for a long text with a title), authenticated by the app key in the path and the
//! `X-Secret-Key` header. Korean numbers only. Mapping in [`transformers`].

pub mod transformers;

use std::time::Duration;

use async_trait::async_trait;
use fieldpay_protocol::Secret;

use crate::sms::sender::{
    korean_national, transport_error, unexpected, OutgoingSms, SentSms, SmsError, SmsSender,
};

/// NHN Cloud SMS's production address.
pub const DEFAULT_BASE_URL: &str = "https://api-sms.cloud.toast.com";

pub struct NhnConfig {
    pub base_url: String,
    pub timeout: Duration,
    pub app_key: Secret,
    pub secret_key: Secret,
    /// The registered sender number (발신번호), national digits.
    pub sender_number: String,
}

pub struct NhnSender {
    client: reqwest::Client,
    base: String,
    app_key: Secret,
    secret_key: Secret,
    send_no: String,
}

impl NhnSender {
    pub fn new(cfg: NhnConfig) -> Result<NhnSender, SmsError> {
        if cfg.app_key.is_empty() || cfg.secret_key.is_empty() {
            return Err(SmsError::Rejected(
                "NHN app key and secret key are required".into(),
            ));
        }
        // The app key goes in the path: only URL-safe characters.
        if !cfg
            .app_key
            .expose()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SmsError::Rejected(
                "the NHN app key has unexpected characters".into(),
            ));
        }
        let send_no = crate::sms::solapi::sender_digits(&cfg.sender_number)?;
        let base = cfg.base_url.trim_end_matches('/').to_string();
        url::Url::parse(&base)
            .map_err(|_| SmsError::Rejected("NHN base URL is not a URL".into()))?;
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .map_err(|_| SmsError::Rejected("cannot build the HTTP client".into()))?;
        Ok(NhnSender {
            client,
            base,
            app_key: cfg.app_key,
            secret_key: cfg.secret_key,
            send_no,
        })
    }
}

#[async_trait]
impl SmsSender for NhnSender {
    fn name(&self) -> &'static str {
        "nhn"
    }

    async fn send(&self, sms: &OutgoingSms<'_>) -> Result<SentSms, SmsError> {
        let to = korean_national(sms.to_e164).ok_or_else(|| {
            SmsError::Refused("NHN Cloud SMS sends to Korean numbers only".into())
        })?;
        let (endpoint, body) = transformers::request(to, &self.send_no, sms.body, sms.subject)?;
        let url = format!(
            "{}/sms/v3.0/appKeys/{}/sender/{}",
            self.base,
            self.app_key.expose(),
            endpoint.path()
        );
        let resp = self
            .client
            .post(url)
            .header("X-Secret-Key", self.secret_key.expose())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json;charset=UTF-8",
            )
            .body(
                serde_json::to_vec(&body)
                    .map_err(|_| SmsError::Refused("unencodable text".into()))?,
            )
            .send()
            .await
            .map_err(|e| transport_error("NHN", &e))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| transport_error("NHN", &e))?;
        match serde_json::from_str::<transformers::Answer>(&text) {
            Ok(answer) => Ok(SentSms {
                provider_id: transformers::result(status, &answer)?,
            }),
            Err(_) => Err(match status {
                401 | 403 => SmsError::Rejected(unexpected("NHN", status, &text)),
                400..=499 if status != 429 => SmsError::Refused(unexpected("NHN", status, &text)),
                _ => SmsError::Unavailable(unexpected("NHN", status, &text)),
            }),
        }
    }
}
