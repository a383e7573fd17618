//! Merchant notification by webhook, following Standard Webhooks: headers `webhook-id`,
//! `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
//! with the merchant's `whsec_` secret. Deliveries live in the database (written with the
//! change that caused them), are retried with backoff for about a day, and survive restarts.
//!
//! This file signs and verifies and builds the webhook of a charge; `address` is the rule for
//! where webhooks may go ([`check_url`]); `delivery` sends them ([`run`], the delivery loop).

pub mod address;
pub mod delivery;

pub use address::{check_url, WebhookUrlError};
pub use delivery::run;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use fieldpay_protocol::Secret;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::clock::ts;
use crate::domain::Merchant;
use crate::ids::{new_id, random_token};
use crate::store::{ChargeRecord, NewWebhook};

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("webhook secret must start with whsec_ and hold base64")]
    Malformed,
}

/// A new `whsec_` secret (32 random bytes).
pub fn new_secret() -> Secret {
    let bytes: [u8; 32] = rand::random();
    Secret::new(format!("whsec_{}", B64.encode(bytes)))
}

fn secret_key(secret: &str) -> Result<Vec<u8>, SecretError> {
    let b = secret
        .strip_prefix("whsec_")
        .ok_or(SecretError::Malformed)?;
    B64.decode(b).map_err(|_| SecretError::Malformed)
}

/// `v1,<base64 signature>` of `{id}.{timestamp}.{body}`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, SecretError> {
    let key = secret_key(secret)?;
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| SecretError::Malformed)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// How far a `webhook-timestamp` may be from the receiver's clock, either way (Standard
/// Webhooks: 5 minutes). Older messages are refused as replays.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;

/// Checks a `webhook-signature` header value (space-separated `v1,...` entries), as a
/// receiver does at `now`: the timestamp must be within [`TIMESTAMP_TOLERANCE_SECS`] of `now`
/// (a replayed or post-dated message is refused) and one signature must match (constant-time
/// comparison).
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &str,
    header: &str,
    now: DateTime<Utc>,
) -> bool {
    if now.timestamp().abs_diff(timestamp) > TIMESTAMP_TOLERANCE_SECS.unsigned_abs() {
        return false;
    }
    let Ok(key) = secret_key(secret) else {
        return false;
    };
    header.split(' ').any(|entry| {
        let Some(sig) = entry.strip_prefix("v1,") else {
            return false;
        };
        let Ok(sig) = B64.decode(sig) else {
            return false;
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(&key) else {
            return false;
        };
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        mac.verify_slice(&sig).is_ok()
    })
}

#[derive(Serialize)]
struct Event<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: &'a T,
}

/// The webhook for a charge's new status, if the merchant has a webhook URL and the status is
/// one merchants are told about.
pub fn charge_webhook(
    merchant: &Merchant,
    rec: &ChargeRecord,
    now: DateTime<Utc>,
) -> Option<NewWebhook> {
    use fieldpay_protocol::charge::ChargeStatus::*;
    let url = merchant.settings.webhook_url.as_ref()?;
    let kind = match rec.charge.status {
        Approved => "charge.approved",
        Declined => "charge.declined",
        Canceled => "charge.canceled",
        Expired => "charge.expired",
        Refunded => "charge.refunded",
        _ => return None,
    };
    webhook(url, kind, rec, now)
}

/// The webhook of a refund, whole or partial: `charge.refunded` with the charge, whose status
/// says whether anything stands (`approved`) or not (`refunded`) and whose payment carries the
/// refunded total (`refunded_amount`) and every refund with its amount (`refunds`).
pub fn refund_webhook(
    merchant: &Merchant,
    rec: &ChargeRecord,
    now: DateTime<Utc>,
) -> Option<NewWebhook> {
    let url = merchant.settings.webhook_url.as_ref()?;
    webhook(url, "charge.refunded", rec, now)
}

fn webhook(url: &str, kind: &str, rec: &ChargeRecord, now: DateTime<Utc>) -> Option<NewWebhook> {
    let payload = serde_json::to_string(&Event {
        kind,
        timestamp: ts(now),
        data: &rec.charge,
    })
    .ok()?;
    Some(NewWebhook {
        id: new_id("msg"),
        event_type: kind.into(),
        payload,
        url: url.to_string(),
    })
}

/// The webhook `charge.text_failed` (a text about the charge was given up: the charge's last
/// event says which text and the provider's reason; its status is unchanged), if the merchant
/// has a webhook URL.
pub fn text_failed_webhook(
    merchant: &Merchant,
    rec: &ChargeRecord,
    now: DateTime<Utc>,
) -> Option<NewWebhook> {
    let url = merchant.settings.webhook_url.as_ref()?;
    let kind = "charge.text_failed";
    let payload = serde_json::to_string(&Event {
        kind,
        timestamp: ts(now),
        data: &rec.charge,
    })
    .ok()?;
    Some(NewWebhook {
        id: new_id("msg"),
        event_type: kind.into(),
        payload,
        url: url.clone(),
    })
}

/// A random id for test receivers and tools.
pub fn random_id() -> String {
    random_token(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let secret = new_secret();
        let secret = secret.expose();
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let sig = sign(secret, "msg_1", 1_700_000_000, "{\"a\":1}").unwrap();
        assert!(sig.starts_with("v1,"));
        assert!(verify(
            secret,
            "msg_1",
            1_700_000_000,
            "{\"a\":1}",
            &sig,
            at
        ));
        assert!(verify(
            secret,
            "msg_1",
            1_700_000_000,
            "{\"a\":1}",
            &format!("v1,bad {sig}"),
            at
        ));
        assert!(!verify(
            secret,
            "msg_1",
            1_700_000_001,
            "{\"a\":1}",
            &sig,
            at
        ));
        assert!(!verify(
            secret,
            "msg_2",
            1_700_000_000,
            "{\"a\":1}",
            &sig,
            at
        ));
        assert!(!verify(
            new_secret().expose(),
            "msg_1",
            1_700_000_000,
            "{\"a\":1}",
            &sig,
            at
        ));
        assert_eq!(sign("nope", "a", 1, "b"), Err(SecretError::Malformed));
    }

    /// A correctly signed message is accepted only within 5 minutes of its timestamp, either
    /// way: a replay later than that, or a message from the future, is refused.
    #[test]
    fn verify_refuses_replays_and_future_timestamps() {
        let secret = new_secret();
        let secret = secret.expose();
        let ts = 1_700_000_000;
        let sig = sign(secret, "msg_1", ts, "{}").unwrap();
        let at = |offset: i64| DateTime::from_timestamp(ts + offset, 0).unwrap();
        let check = |offset| verify(secret, "msg_1", ts, "{}", &sig, at(offset));
        assert!(check(0));
        assert!(check(TIMESTAMP_TOLERANCE_SECS));
        assert!(check(-TIMESTAMP_TOLERANCE_SECS));
        assert!(
            !check(TIMESTAMP_TOLERANCE_SECS + 1),
            "replayed after 5 minutes"
        );
        assert!(!check(24 * 3600), "replayed a day later");
        assert!(!check(-TIMESTAMP_TOLERANCE_SECS - 1), "from the future");
    }

    #[test]
    fn known_vector() {
        // Standard Webhooks' published example, checked at its own time.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let (id, ts) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330);
        let sig = sign(secret, id, ts, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let now = DateTime::from_timestamp(ts, 0).unwrap();
        assert!(verify(secret, id, ts, body, &sig, now));
    }
}
