//! The NHN Cloud SMS sender against the strict NHN stand-in.

use std::time::Duration;

use fieldpay_protocol::Secret;
use fieldpay_server::sms::nhn::{NhnConfig, NhnSender};
use fieldpay_server::sms::sender::{OutgoingSms, SmsError, SmsSender};
use fieldpay_standins::nhn;

const APP_KEY: &str = "dZDcIgRVm8ojjstuTEST";
const SECRET: &str = "nhn-secret-key";
const FROM: &str = "15446859";
const TO: &str = "+821012345678";

fn sender(base_url: &str, secret: &str, timeout_ms: u64) -> NhnSender {
    NhnSender::new(NhnConfig {
        base_url: base_url.into(),
        timeout: Duration::from_millis(timeout_ms),
        app_key: Secret::new(APP_KEY),
        secret_key: Secret::new(secret),
        sender_number: "1544-6859".into(),
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
async fn sends_a_short_text_to_sender_sms() {
    let (si, h) = nhn::start(APP_KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    let sent = s.send(&text("[상사] 결제 요청 55,000원")).await.unwrap();
    assert!(sent.provider_id.is_some());
    let got = h.sent();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].endpoint, "sms");
    assert_eq!(got[0].recipient_no, "01012345678");
    assert_eq!(got[0].send_no, FROM);
    assert_eq!(got[0].title, None);
    let r = &si.requests()[0];
    assert_eq!(r.path, format!("/sms/v3.0/appKeys/{APP_KEY}/sender/sms"));
    assert_eq!(r.header("x-secret-key"), Some(SECRET));
}

#[tokio::test]
async fn sends_a_long_korean_text_to_sender_mms_with_a_title() {
    let (si, h) = nhn::start(APP_KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    let body = "안녕하세요. 주식회사 상사입니다. 감기약 외 2건, 55,000원의 결제를 요청드립니다. 아래 번호로 전화하시면 카드로 결제하실 수 있습니다.";
    s.send(&text(body)).await.unwrap();
    let got = h.sent();
    assert_eq!(got[0].endpoint, "mms");
    assert_eq!(got[0].title.as_deref(), Some("결제 요청"));
    assert_eq!(got[0].body, body);
}

#[tokio::test]
async fn counts_bytes_as_the_provider_does_at_90() {
    let (si, h) = nhn::start(APP_KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    let h45 = "가".repeat(45);
    s.send(&text(&h45)).await.unwrap();
    s.send(&text(&format!("{h45}1"))).await.unwrap();
    let eps: Vec<String> = h.sent().into_iter().map(|m| m.endpoint).collect();
    assert_eq!(eps, ["sms", "mms"]);
}

#[tokio::test]
async fn a_wrong_secret_key_is_our_account_problem() {
    let (si, h) = nhn::start(APP_KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, "wrong", 5_000);
    let e = s.send(&text("안내")).await.unwrap_err();
    assert!(matches!(e, SmsError::Rejected(_)), "{e:?}");
    assert!(!e.to_string().contains(APP_KEY) && !e.to_string().contains("wrong"));
    assert!(h.sent().is_empty());
}

#[tokio::test]
async fn a_wrong_app_key_is_our_account_problem() {
    let (si, _h) = nhn::start("another-app-key", SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    let e = s.send(&text("안내")).await.unwrap_err();
    assert_eq!(e, SmsError::Rejected("Invalid appKey. (NHN -1000)".into()));
}

#[tokio::test]
async fn a_refused_number_is_final_with_the_providers_reason() {
    let (si, h) = nhn::start(APP_KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    h.refuse_next(-2019, "Invalid recipient number.");
    let e = s.send(&text("안내")).await.unwrap_err();
    assert_eq!(
        e,
        SmsError::Refused("Invalid recipient number. (NHN -2019)".into())
    );
    assert!(!e.retryable());
}

#[tokio::test]
async fn a_5xx_can_be_retried() {
    let (si, h) = nhn::start(APP_KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    h.fail_next();
    let e = s.send(&text("안내")).await.unwrap_err();
    assert!(
        matches!(e, SmsError::Unavailable(_)) && e.retryable(),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_timeout_can_be_retried() {
    let (si, h) = nhn::start(APP_KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 300);
    h.delay_next(Duration::from_millis(1_500));
    let e = s.send(&text("안내")).await.unwrap_err();
    assert_eq!(e, SmsError::Unavailable("NHN: timed out".into()));
    // The app key (in the URL) is not in the error.
    assert!(!e.to_string().contains(APP_KEY));
}

/// The stand-in refuses what NHN refuses.
mod strictness {
    use super::*;
    use serde_json::{json, Value};

    async fn post(base: &str, endpoint: &str, secret: Option<&str>, body: &Value) -> (u16, Value) {
        let mut r = reqwest::Client::new()
            .post(format!(
                "{base}/sms/v3.0/appKeys/{APP_KEY}/sender/{endpoint}"
            ))
            .json(body);
        if let Some(s) = secret {
            r = r.header("X-Secret-Key", s);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    #[tokio::test]
    async fn endpoint_fields_and_sizes_must_agree() {
        let (si, h) = nhn::start(APP_KEY, SECRET, FROM).await;
        let to = json!([{"recipientNo": "01012345678"}]);
        let (status, _) = post(
            &si.base_url,
            "sms",
            None,
            &json!({"body": "a", "sendNo": FROM, "recipientList": to}),
        )
        .await;
        assert_eq!(status, 401, "no X-Secret-Key");
        let cases = [
            (
                "sms",
                json!({"body": "a", "sendNo": FROM, "recipientList": to, "title": "t"}),
                4,
            ),
            (
                "sms",
                json!({"body": "가".repeat(46), "sendNo": FROM, "recipientList": to}),
                4,
            ),
            (
                "mms",
                json!({"body": "a", "sendNo": FROM, "recipientList": to}),
                4,
            ),
            (
                "mms",
                json!({"body": "a", "title": "가".repeat(21), "sendNo": FROM, "recipientList": to}),
                4,
            ),
            (
                "sms",
                json!({"body": "a", "sendNo": FROM, "recipientList": []}),
                -2001,
            ),
            (
                "sms",
                json!({"body": "a", "sendNo": FROM, "recipientList": [{"recipientNo": 1012345678}]}),
                4,
            ),
            (
                "sms",
                json!({"body": "a", "sendNo": "0299999999", "recipientList": to}),
                -2010,
            ),
        ];
        for (i, (ep, body, code)) in cases.into_iter().enumerate() {
            let (_, answer) = post(&si.base_url, ep, Some(SECRET), &body).await;
            assert_eq!(
                answer["header"]["isSuccessful"], false,
                "case {i}: {answer}"
            );
            assert_eq!(answer["header"]["resultCode"], code, "case {i}: {answer}");
        }
        assert!(h.sent().is_empty());
    }
}
