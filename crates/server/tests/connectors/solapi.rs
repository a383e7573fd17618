//! The Solapi sender against the strict Solapi stand-in.

use std::time::Duration;

use fieldpay_protocol::Secret;
use fieldpay_server::sms::sender::{OutgoingSms, SmsError, SmsSender};
use fieldpay_server::sms::solapi::{SolapiConfig, SolapiSender};
use fieldpay_standins::solapi;

const KEY: &str = "NCSAYU7YDBXYORXC";
const SECRET: &str = "solapi-test-secret-0123456789";
const FROM: &str = "0212345678";
const TO: &str = "+821012345678";

fn sender(base_url: &str, secret: &str, timeout_ms: u64) -> SolapiSender {
    SolapiSender::new(SolapiConfig {
        base_url: base_url.into(),
        timeout: Duration::from_millis(timeout_ms),
        api_key: Secret::new(KEY),
        api_secret: Secret::new(secret),
        sender_number: "02-1234-5678".into(),
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
async fn sends_a_short_text_as_sms() {
    let (si, h) = solapi::start(KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    let sent = s
        .send(&text("[상사] 결제 요청 55,000원 1600-0010"))
        .await
        .unwrap();
    assert!(sent.provider_id.unwrap().starts_with("G4V"));
    let got = h.sent();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, "01012345678");
    assert_eq!(got[0].from, FROM);
    assert_eq!(got[0].kind, "SMS");
    assert_eq!(got[0].subject, None);
    // The secret never travels: only its signature.
    for r in si.requests() {
        assert!(!r.as_text().contains(SECRET));
        assert!(r
            .header("authorization")
            .unwrap()
            .starts_with("HMAC-SHA256 apiKey="));
    }
}

#[tokio::test]
async fn sends_a_long_korean_text_as_lms_with_a_subject() {
    let (si, h) = solapi::start(KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    let body = "안녕하세요. 주식회사 상사입니다. 감기약 외 2건, 55,000원의 결제를 요청드립니다. 아래 번호로 전화하시면 카드로 결제하실 수 있습니다: 1600-0010";
    s.send(&text(body)).await.unwrap();
    let got = h.sent();
    assert_eq!(got[0].kind, "LMS");
    assert_eq!(got[0].subject.as_deref(), Some("결제 요청"));
    assert_eq!(got[0].text, body);
}

/// 45 Hangul are 90 EUC-KR bytes: one SMS. One byte more is an LMS (the stand-in refuses an
/// SMS over 90 bytes, so a miscount would fail here).
#[tokio::test]
async fn counts_bytes_as_the_provider_does_at_90() {
    let (si, h) = solapi::start(KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    let h45 = "가".repeat(45);
    s.send(&text(&h45)).await.unwrap();
    s.send(&text(&format!("{h45}a"))).await.unwrap();
    s.send(&text(&"a".repeat(90))).await.unwrap();
    s.send(&text(&format!("{}가", "a".repeat(89))))
        .await
        .unwrap();
    let kinds: Vec<String> = h.sent().into_iter().map(|m| m.kind).collect();
    assert_eq!(kinds, ["SMS", "LMS", "SMS", "LMS"]);
}

#[tokio::test]
async fn every_request_is_signed_anew() {
    let (si, h) = solapi::start(KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    for _ in 0..3 {
        s.send(&text("안내")).await.unwrap();
    }
    assert_eq!(h.sent().len(), 3, "no signature was refused as reused");
}

#[tokio::test]
async fn a_wrong_secret_is_our_account_problem() {
    let (si, h) = solapi::start(KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, "not-the-secret", 5_000);
    let e = s.send(&text("안내")).await.unwrap_err();
    assert!(matches!(e, SmsError::Rejected(_)), "{e:?}");
    assert!(e.retryable());
    assert!(e.reason().contains("SignatureDoesNotMatch"), "{e}");
    assert!(!e.to_string().contains("not-the-secret"));
    assert!(h.sent().is_empty());
}

#[tokio::test]
async fn a_refused_number_is_final_with_the_providers_reason() {
    let (si, h) = solapi::start(KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    h.refuse_next("3059", "수신거부 번호");
    let e = s.send(&text("안내")).await.unwrap_err();
    assert_eq!(e, SmsError::Refused("수신거부 번호 (Solapi 3059)".into()));
    assert!(!e.retryable());
    assert_eq!(
        h.refused(),
        vec![("01012345678".to_string(), "3059".to_string())]
    );
    // The next one goes.
    s.send(&text("안내")).await.unwrap();
}

#[tokio::test]
async fn a_5xx_can_be_retried() {
    let (si, h) = solapi::start(KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    h.fail_next();
    let e = s.send(&text("안내")).await.unwrap_err();
    assert!(matches!(e, SmsError::Unavailable(_)), "{e:?}");
    assert!(e.retryable());
    s.send(&text("안내")).await.unwrap();
    assert_eq!(h.sent().len(), 1);
}

#[tokio::test]
async fn a_timeout_can_be_retried() {
    let (si, h) = solapi::start(KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 300);
    h.delay_next(Duration::from_millis(1_500));
    let e = s.send(&text("안내")).await.unwrap_err();
    assert_eq!(e, SmsError::Unavailable("Solapi: timed out".into()));
    assert!(e.retryable());
}

/// The stand-in's own bookkeeping, which the dispatcher's test relies on: requests in flight
/// together are counted, and a phone with two of them is named.
#[tokio::test]
async fn the_standin_counts_requests_in_flight_and_names_a_phone_sent_two_at_once() {
    let (si, h) = solapi::start(KEY, SECRET, FROM).await;
    h.set_latency(Duration::from_millis(300));
    let s = sender(&si.base_url, SECRET, 5_000);
    let other = OutgoingSms {
        to_e164: "+821098765432",
        body: "안내",
        subject: None,
    };
    let (one, two) = (text("하나"), text("둘"));
    let (a, b, c) = tokio::join!(s.send(&one), s.send(&two), s.send(&other));
    for r in [a, b, c] {
        r.unwrap();
    }
    assert_eq!(h.max_in_flight(), 3);
    assert_eq!(h.overlapping_recipients(), vec!["01012345678".to_string()]);
    // One after the other: nothing overlaps, one in flight at a time.
    let (si2, h2) = solapi::start(KEY, SECRET, FROM).await;
    h2.set_latency(Duration::from_millis(50));
    let s2 = sender(&si2.base_url, SECRET, 5_000);
    s2.send(&text("하나")).await.unwrap();
    s2.send(&text("둘")).await.unwrap();
    assert_eq!(h2.max_in_flight(), 1);
    assert!(h2.overlapping_recipients().is_empty());
}

#[tokio::test]
async fn an_unreachable_provider_can_be_retried() {
    let s = sender("http://127.0.0.1:9", SECRET, 2_000);
    let e = s.send(&text("안내")).await.unwrap_err();
    assert!(
        matches!(e, SmsError::Unavailable(_)) && e.retryable(),
        "{e:?}"
    );
}

#[tokio::test]
async fn numbers_abroad_are_not_for_solapi() {
    let (si, h) = solapi::start(KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    let e = s
        .send(&OutgoingSms {
            to_e164: "+14155550100",
            body: "hi",
            subject: None,
        })
        .await
        .unwrap_err();
    assert!(!e.retryable());
    assert!(h.sent().is_empty() && si.requests().is_empty());
}

#[tokio::test]
async fn a_text_over_2000_bytes_is_refused_before_sending() {
    let (si, _h) = solapi::start(KEY, SECRET, FROM).await;
    let s = sender(&si.base_url, SECRET, 5_000);
    let e = s.send(&text(&"가".repeat(1001))).await.unwrap_err();
    assert!(matches!(e, SmsError::Refused(_)));
    assert!(si.requests().is_empty());
}

/// The stand-in is as strict as Solapi says it is: requests FieldPay never makes are refused.
mod strictness {
    use super::*;
    use fieldpay_server::sms::solapi::transformers::authorization;
    use serde_json::{json, Value};

    async fn post(base: &str, auth: &str, body: &Value) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{base}/messages/v4/send-many/detail"))
            .header("authorization", auth)
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    fn now_auth(salt: &str) -> String {
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        authorization(KEY, SECRET, &date, salt)
    }

    fn one(m: Value) -> Value {
        json!({ "messages": [m] })
    }

    #[tokio::test]
    async fn a_stale_date_and_a_reused_signature_are_refused() {
        let (si, h) = solapi::start(KEY, SECRET, FROM).await;
        let msg = one(json!({"to": "01012345678", "from": FROM, "text": "안내", "type": "SMS"}));
        let old = (chrono::Utc::now() - chrono::Duration::minutes(16))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let (status, body) = post(
            &si.base_url,
            &authorization(KEY, SECRET, &old, "salt-0123456789"),
            &msg,
        )
        .await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (401, Some("RequestTimeTooSkewed"))
        );
        let auth = now_auth("salt-abcdefghijk");
        assert_eq!(post(&si.base_url, &auth, &msg).await.0, 200);
        let (status, body) = post(&si.base_url, &auth, &msg).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (401, Some("DuplicatedSignature"))
        );
        let (status, _) = post(&si.base_url, &now_auth("short"), &msg).await;
        assert_eq!(status, 401, "a salt under 12 bytes");
        assert_eq!(h.sent().len(), 1);
    }

    #[tokio::test]
    async fn type_size_and_fields_must_agree() {
        let (si, h) = solapi::start(KEY, SECRET, FROM).await;
        let cases = [
            // 91 bytes sent as an SMS.
            json!({"to": "01012345678", "from": FROM, "text": format!("{}a", "가".repeat(45)), "type": "SMS"}),
            // A subject on an SMS.
            json!({"to": "01012345678", "from": FROM, "text": "안내", "type": "SMS", "subject": "제목"}),
            // A subject over 40 bytes.
            json!({"to": "01012345678", "from": FROM, "text": "안내", "type": "LMS", "subject": "가".repeat(21)}),
            // A number with a dash, a number as a JSON number, an unknown field.
            json!({"to": "010-1234-5678", "from": FROM, "text": "안내"}),
            json!({"to": 1012345678, "from": FROM, "text": "안내"}),
            json!({"to": "01012345678", "from": FROM, "text": "안내", "body": "x"}),
        ];
        for (i, m) in cases.into_iter().enumerate() {
            let (status, body) = post(
                &si.base_url,
                &now_auth(&format!("salt-case-{i:04}")),
                &one(m),
            )
            .await;
            assert_eq!(
                (status, body["errorCode"].as_str()),
                (400, Some("ValidationError")),
                "case {i}: {body}"
            );
        }
        // An unregistered sender: in failedMessageList.
        let (status, body) = post(
            &si.base_url,
            &now_auth("salt-sender-0001"),
            &one(json!({"to": "01012345678", "from": "0299999999", "text": "안내"})),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["failedMessageList"][0]["statusCode"], "1062");
        assert!(h.sent().is_empty());
    }
}
