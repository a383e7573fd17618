//! Texts through a real provider's sender (Solapi) pointed at its strict stand-in: a text the
//! provider refuses shows on the charge's timeline as 문자 발송 실패 with the provider's reason
//! (the charge's status unchanged) and the bill can be sent again; a text that fails for a
//! passing reason is tried again after its delay.

use std::sync::Arc;
use std::time::Duration;

use fieldpay_protocol::charge::{Charge, ChargeEventKind, ChargeStatus};
use fieldpay_protocol::Secret;
use fieldpay_server::demo::DEMO_API_KEY;
use fieldpay_server::sms::solapi::{SolapiConfig, SolapiSender};
use fieldpay_standins::solapi;
use reqwest::StatusCode;

use crate::helpers::*;

const KEY: &str = "NCSAYU7YDBXYORXC";
const SECRET: &str = "solapi-it-secret-0123456789";
const FROM: &str = "0212345678";

async fn app_with_solapi() -> (TestApp, fieldpay_standins::StandIn, solapi::Handle) {
    let (si, h) = solapi::start(KEY, SECRET, FROM).await;
    let sender = SolapiSender::new(SolapiConfig {
        base_url: si.base_url.clone(),
        timeout: Duration::from_secs(5),
        api_key: Secret::new(KEY),
        api_secret: Secret::new(SECRET),
        sender_number: FROM.into(),
    })
    .unwrap();
    (spawn_app_with_sms(Arc::new(sender)).await, si, h)
}

async fn wait_for(app: &TestApp, id: &str, what: &str, f: impl Fn(&Charge) -> bool) -> Charge {
    for _ in 0..200 {
        let c = app.get_charge(id).await;
        if f(&c) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "charge {id} never showed {what}: {:?}",
        app.get_charge(id).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_bill_shows_on_the_timeline_and_can_be_sent_again() {
    let (app, _si, h) = app_with_solapi().await;
    h.refuse_next("3059", "수신거부 번호");
    let c = app.charge(demo_charge(55_000, "010-1234-5678")).await;
    let c = wait_for(&app, &c.id, "a text_failed event", |c| {
        c.events
            .iter()
            .any(|e| e.kind == ChargeEventKind::TextFailed)
    })
    .await;
    assert_eq!(
        c.status,
        ChargeStatus::Requested,
        "the lifecycle is unchanged"
    );
    let failed = c.events.last().unwrap();
    assert_eq!(failed.kind, ChargeEventKind::TextFailed);
    assert_eq!(
        failed.detail.as_deref(),
        Some("결제 요청 문자: 수신거부 번호 (Solapi 3059)")
    );
    assert!(h.sent().is_empty());
    // The API shows the event with its kind.
    let raw: serde_json::Value = app
        .get(&format!("/v1/charges/{}", c.id), DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert!(raw["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "text_failed" && e["status"] == "requested"));

    // The rep sends the bill again: it goes, the charge moves on.
    let r = app
        .post_json(
            &format!("/v1/charges/{}/resend", c.id),
            DEMO_API_KEY,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let c = app.wait_status(&c.id, "sms_sent").await;
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "01012345678");
    assert!(sent[0].text.contains("1600-"), "{}", sent[0].text);
    assert_eq!(
        c.events
            .iter()
            .filter(|e| e.kind == ChargeEventKind::TextFailed)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bill_that_failed_for_a_passing_reason_is_sent_after_its_delay() {
    let (app, _si, h) = app_with_solapi().await;
    h.fail_next();
    let c = app.charge(demo_charge(12_000, "010-2222-3333")).await;
    // The first attempt failed (5xx): the text waits 10 s (of the server's clock).
    for _ in 0..200 {
        let pending = app.store().pending_sms(100).unwrap();
        if pending.iter().any(|t| t.attempts == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let pending = app.store().pending_sms(100).unwrap();
    let t = pending.iter().find(|t| t.to == "01022223333").unwrap();
    assert_eq!(t.attempts, 1);
    assert!(t.last_error.as_deref().unwrap().contains("Solapi"), "{t:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(h.sent().is_empty(), "not before its time");
    assert_eq!(app.get_charge(&c.id).await.status, ChargeStatus::Requested);
    app.advance_clock(1).await;
    let c = app.wait_status(&c.id, "sms_sent").await;
    assert_eq!(h.sent().len(), 1);
    assert!(c.events.iter().all(|e| e.kind == ChargeEventKind::Status));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_bills_goes_out_several_at_a_time_and_one_phones_in_order() {
    let (app, _si, h) = app_with_solapi().await;
    // The provider answers every request after 300 ms: the first bill holds the sender that
    // long, and the bills asked for meanwhile are taken together as the next batch.
    h.set_latency(Duration::from_millis(300));
    let first = app.charge(demo_charge(10_000, "010-3000-0000")).await;
    let same = "01030000001";
    let asks: Vec<_> = (0..12i64)
        .map(|i| {
            let payer = if i % 4 == 0 {
                same.to_string()
            } else {
                format!("0103000{:04}", 100 + i)
            };
            demo_charge(11_000 + 1_000 * i, &payer)
        })
        .collect();
    let made = futures_util::future::join_all(asks.into_iter().map(|a| app.charge(a))).await;
    app.wait_status(&first.id, "sms_sent").await;
    for c in &made {
        app.wait_status(&c.id, "sms_sent").await;
    }
    assert_eq!(h.sent().len(), 13);
    let most = h.max_in_flight();
    assert!(
        (2..=fieldpay_server::sms::SEND_AT_ONCE).contains(&most),
        "texts in flight at once: {most}"
    );
    assert_eq!(
        h.overlapping_recipients(),
        Vec::<String>::new(),
        "one phone's texts go one after the other"
    );
    // That phone's three bills went out in the order they were written.
    let mut written = app.store().sms_for_phone(same, 10).unwrap();
    written.sort_by_key(|t| t.id);
    let written: Vec<String> = written.into_iter().map(|t| t.body).collect();
    let sent: Vec<String> = h
        .sent()
        .into_iter()
        .filter(|m| m.to == same)
        .map(|m| m.text)
        .collect();
    assert_eq!(written.len(), 3);
    assert_eq!(sent, written);
}
