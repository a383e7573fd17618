//! The SMS sender an [`SmsSettings`] names (the server's `[sms]` section, or a merchant's own
//! credentials).

use std::sync::Arc;
use std::time::Duration;

use super::nhn::{NhnConfig, NhnSender};
use super::sender::SmsSender;
use super::solapi::{SolapiConfig, SolapiSender};
use super::twilio::{TwilioConfig, TwilioSender};
use crate::config::{SmsProvider, SmsSettings};

pub fn for_settings(sms: &SmsSettings) -> anyhow::Result<Arc<dyn SmsSender>> {
    let base_url = sms.base_url().unwrap_or_default().to_string();
    let timeout = Duration::from_secs(sms.timeout_secs);
    let missing = |name: &str| anyhow::anyhow!("missing setting sms.{name}");
    let key =
        |v: &Option<fieldpay_protocol::Secret>, name: &str| v.clone().ok_or_else(|| missing(name));
    let sender_number = || sms.sender.clone().ok_or_else(|| missing("sender"));
    Ok(match sms.provider {
        SmsProvider::Sandbox => super::sender::sandbox(),
        SmsProvider::Solapi => Arc::new(SolapiSender::new(SolapiConfig {
            base_url,
            timeout,
            api_key: key(&sms.api_key, "api_key")?,
            api_secret: key(&sms.api_secret, "api_secret")?,
            sender_number: sender_number()?,
        })?),
        SmsProvider::Nhn => Arc::new(NhnSender::new(NhnConfig {
            base_url,
            timeout,
            app_key: key(&sms.app_key, "app_key")?,
            secret_key: key(&sms.secret_key, "secret_key")?,
            sender_number: sender_number()?,
        })?),
        SmsProvider::Twilio => Arc::new(TwilioSender::new(TwilioConfig {
            base_url,
            timeout,
            account_sid: key(&sms.account_sid, "account_sid")?.expose().to_string(),
            auth_token: key(&sms.auth_token, "auth_token")?,
            sender_number: sender_number()?,
        })?),
    })
}
