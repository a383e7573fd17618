//! The Twilio sender against the strict Twilio stand-in.

use std::time::Duration;

use fieldpay_protocol::Secret;
use fieldpay_server::sms::sender::{OutgoingSms, SmsError, SmsSender};
use fieldpay_server::sms::twilio::{TwilioConfig, TwilioSender};
use fieldpay_standins::twilio;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token";
const FROM: &str = "+15005550006";
const TO: &str = "+14155550100";

fn sender(base_url: &str, token: &str, timeout_ms: u64) -> TwilioSender {
    TwilioSender::new(TwilioConfig {
        base_url: base_url.into(),
        timeout: Duration::from_millis(timeout_ms),
        account_sid: SID.into(),
        auth_token: Secret::new(token),
        sender_number: FROM.into(),
    })
    .unwrap()
}

fn text<'a>(body: &'a str) -> OutgoingSms<'a> {
    OutgoingSms {
        to_e164: TO,
        body,
        subject: Some("결제 요청"),
    }
}

#[tokio::test]
async fn sends_a_text_abroad() {
    let (si, h) = twilio::start(SID, TOKEN, FROM).await;
    let s = sender(&si.base_url, TOKEN, 5_000);
    let sent = s
        .send(&text("[상사] 결제 요청 55,000원 & more"))
        .await
        .unwrap();
    let got = h.sent();
    assert_eq!(got.len(), 1);
    assert_eq!(sent.provider_id.as_deref(), Some(got[0].sid.as_str()));
    assert_eq!(got[0].to, TO);
    assert_eq!(got[0].from, FROM);
    assert_eq!(got[0].body, "[상사] 결제 요청 55,000원 & more");
    let r = &si.requests()[0];
    assert_eq!(r.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    assert!(r.header("authorization").unwrap().starts_with("Basic "));
}

#[tokio::test]
async fn a_long_korean_text_goes_whole() {
    let (si, h) = twilio::start(SID, TOKEN, FROM).await;
    let s = sender(&si.base_url, TOKEN, 5_000);
    let body = "가".repeat(500);
    s.send(&text(&body)).await.unwrap();
    assert_eq!(h.sent()[0].body, body);
}

#[tokio::test]
async fn bad_credentials_are_our_account_problem() {
    let (si, h) = twilio::start(SID, TOKEN, FROM).await;
    let s = sender(&si.base_url, "wrong-token", 5_000);
    let e = s.send(&text("hi")).await.unwrap_err();
    assert_eq!(e, SmsError::Rejected("Authenticate (Twilio 20003)".into()));
    assert!(h.sent().is_empty());
}

#[tokio::test]
async fn a_refused_number_is_final_with_the_providers_reason() {
    let (si, h) = twilio::start(SID, TOKEN, FROM).await;
    let s = sender(&si.base_url, TOKEN, 5_000);
    h.refuse_next(21610, "Attempt to send to unsubscribed recipient");
    let e = s.send(&text("hi")).await.unwrap_err();
    assert_eq!(
        e,
        SmsError::Refused("Attempt to send to unsubscribed recipient (Twilio 21610)".into())
    );
    assert!(!e.retryable());
    // A malformed number is refused by the provider's own check.
    let e = s
        .send(&OutgoingSms {
            to_e164: "+0123",
            body: "hi",
            subject: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(e, SmsError::Refused(ref r) if r.contains("21211")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_5xx_can_be_retried() {
    let (si, h) = twilio::start(SID, TOKEN, FROM).await;
    let s = sender(&si.base_url, TOKEN, 5_000);
    h.fail_next();
    let e = s.send(&text("hi")).await.unwrap_err();
    assert!(
        matches!(e, SmsError::Unavailable(_)) && e.retryable(),
        "{e:?}"
    );
    s.send(&text("hi")).await.unwrap();
}

#[tokio::test]
async fn a_timeout_can_be_retried() {
    let (si, h) = twilio::start(SID, TOKEN, FROM).await;
    let s = sender(&si.base_url, TOKEN, 300);
    h.delay_next(Duration::from_millis(1_500));
    let e = s.send(&text("hi")).await.unwrap_err();
    assert_eq!(e, SmsError::Unavailable("Twilio: timed out".into()));
}

/// The stand-in refuses what Twilio refuses (and unknown fields).
mod strictness {
    use super::*;

    async fn post(base: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let r = reqwest::Client::new()
            .post(format!("{base}/2010-04-01/Accounts/{SID}/Messages.json"))
            .basic_auth(SID, Some(TOKEN))
            .form(form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    #[tokio::test]
    async fn fields_must_be_exact() {
        let (si, h) = twilio::start(SID, TOKEN, FROM).await;
        let cases: [(&[(&str, &str)], i64); 5] = [
            (&[("To", TO), ("From", FROM)], 21602),
            (&[("From", FROM), ("Body", "hi")], 21604),
            (
                &[("To", TO), ("From", "+15550001111"), ("Body", "hi")],
                21606,
            ),
            (
                &[("To", TO), ("From", FROM), ("Body", "hi"), ("body", "x")],
                21609,
            ),
            (
                &[("To", "01012345678"), ("From", FROM), ("Body", "hi")],
                21211,
            ),
        ];
        for (i, (form, code)) in cases.into_iter().enumerate() {
            let (status, body) = post(&si.base_url, form).await;
            assert_eq!(
                (status, body["code"].as_i64()),
                (400, Some(code)),
                "case {i}: {body}"
            );
        }
        assert!(h.sent().is_empty());
    }
}
