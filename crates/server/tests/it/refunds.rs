//! Partial refunds through the API: a part, then the rest; refusals of more than remains;
//! the receivables ledger, the daily settlement, the payer's texts, the webhooks and the
//! sandbox network's own record follow; a refund interrupted mid-way is finished by asking
//! for it again, and the network refunds it once.

use std::time::Duration;

use chrono::Utc;
use fieldpay_protocol::charge::{Charge, ChargeStatus};
use fieldpay_protocol::settlement::SettlementReport;
use fieldpay_protocol::sms::SmsKind;
use fieldpay_protocol::ChargeId;
use fieldpay_server::card::{CancelRequest, CardConnector, TxnState};
use fieldpay_server::demo::DEMO_API_KEY;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    api_error, demo_charge, set_webhook, settle_sms, spawn_app, webhook_receiver, TestApp,
    APPROVE_CARD,
};

async fn balance(app: &TestApp, acc: &str) -> i64 {
    let v: Value = app
        .get(&format!("/v1/accounts/{acc}"), DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    v["balance"].as_i64().unwrap()
}

/// A paid charge of `amount` KRW naming a client account; (charge, account id).
async fn paid(app: &TestApp, amount: i64, payer: &str) -> (Charge, String) {
    let accounts: Vec<Value> = app
        .get("/v1/accounts", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    let acc = accounts[0]["id"].as_str().unwrap().to_string();
    let mut body = demo_charge(amount, payer);
    body["account_id"] = json!(acc);
    let c = app.charge(body).await;
    let digits: String = payer.chars().filter(char::is_ascii_digit).collect();
    app.pay_by_phone(&digits, c.virtual_number.as_deref().unwrap(), APPROVE_CARD)
        .await;
    let c = app.get_charge(&c.id).await;
    assert_eq!(c.status, ChargeStatus::Approved);
    (c, acc)
}

async fn refund(app: &TestApp, id: &str, body: Value) -> reqwest::Response {
    app.post_json(&format!("/v1/charges/{id}/refund"), DEMO_API_KEY, &body)
        .await
}

async fn network_state(app: &TestApp, key: &str) -> TxnState {
    let net = app.state().sandbox_network.clone().unwrap();
    net.inquire(key).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_refund_then_the_rest() {
    let app = spawn_app().await;
    let (url, rx) = webhook_receiver(0).await;
    set_webhook(&app, &url);
    let payer = "010-9400-0001";
    let (c, acc) = paid(&app, 50_000, payer).await;
    let start = balance(&app, &acc).await;

    // A part.
    let r = refund(
        &app,
        &c.id,
        json!({ "amount": 20_000, "reason": "일부 반품" }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let ch: Charge = r.json().await.unwrap();
    assert_eq!(ch.status, ChargeStatus::Approved, "part of it stands");
    let p = ch.payment.as_ref().unwrap();
    assert_eq!((p.amount, p.refunded_amount), (50_000, 20_000));
    assert_eq!(p.refunds.len(), 1);
    assert_eq!(
        (
            p.refunds[0].n,
            p.refunds[0].amount,
            p.refunds[0].reason.as_deref()
        ),
        (1, 20_000, Some("일부 반품"))
    );
    assert_eq!(p.refunded_at, None);
    assert_eq!(app.get_charge(&c.id).await, ch);
    assert_eq!(balance(&app, &acc).await, start + 20_000);
    assert_eq!(network_state(&app, &c.id).await.canceled_amount(), 20_000);
    let hook = rx
        .wait_for("charge.refunded", &c.id, Duration::from_secs(10))
        .await
        .expect("charge.refunded for the partial refund");
    let v: Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(v["data"]["status"], "approved");
    assert_eq!(v["data"]["payment"]["refunded_amount"], 20_000);
    assert_eq!(v["data"]["payment"]["refunds"][0]["amount"], 20_000);

    // More than remains, nothing, or not a number: refused, nothing changes.
    let (status, code, message) =
        api_error(refund(&app, &c.id, json!({ "amount": 30_001 })).await).await;
    assert_eq!(
        (status.as_u16(), code.as_str()),
        (409, "refund_exceeds_remaining")
    );
    assert!(message.contains("30000 KRW"), "{message}");
    for bad in [json!({ "amount": 0 }), json!({ "amount": -5 })] {
        let (status, code, _) = api_error(refund(&app, &c.id, bad).await).await;
        assert_eq!((status.as_u16(), code.as_str()), (422, "invalid_amount"));
    }
    let (status, _, _) = api_error(refund(&app, &c.id, json!({ "amount": "10000" })).await).await;
    assert_eq!(status.as_u16(), 422);
    assert_eq!(
        app.get_charge(&c.id).await.payment.unwrap().refunded_amount,
        20_000
    );
    assert_eq!(network_state(&app, &c.id).await.canceled_amount(), 20_000);

    // The rest (no amount).
    let r = refund(&app, &c.id, json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let ch: Charge = r.json().await.unwrap();
    assert_eq!(ch.status, ChargeStatus::Refunded);
    let p = ch.payment.as_ref().unwrap();
    assert_eq!(p.refunded_amount, 50_000);
    assert_eq!(
        p.refunds
            .iter()
            .map(|r| (r.n, r.amount))
            .collect::<Vec<_>>(),
        vec![(1, 20_000), (2, 30_000)]
    );
    assert!(p.refunded_at.is_some());
    assert!(network_state(&app, &c.id).await.is_canceled());
    assert_eq!(balance(&app, &acc).await, start + 50_000);

    // Refunded in full: an amount is refused; a whole refund answers the charge again.
    let (status, code, _) = api_error(refund(&app, &c.id, json!({ "amount": 1 })).await).await;
    assert_eq!(
        (status.as_u16(), code.as_str()),
        (409, "refund_exceeds_remaining")
    );
    let r = refund(&app, &c.id, json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Charge>().await.unwrap(), ch);
    assert_eq!(balance(&app, &acc).await, start + 50_000);

    // The day's settlement (the daily closing's figures): one approval, two refunds by amount.
    let report: SettlementReport = app
        .get("/v1/settlement", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    let t = &report.total;
    assert_eq!(
        (
            t.approved_count,
            t.approved_amount,
            t.refunded_count,
            t.refunded_amount,
            t.net_amount
        ),
        (1, 50_000, 2, 50_000, 0)
    );
    let csv = app
        .get("/v1/settlement.csv", DEMO_API_KEY)
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains(",1,50000,2,50000,0"), "{csv}");

    // The payer got a text for each refund.
    settle_sms(&app).await;
    let notices: Vec<String> = app
        .sms(payer)
        .await
        .into_iter()
        .filter(|s| s.kind == SmsKind::Notice)
        .map(|s| s.body)
        .collect();
    assert_eq!(notices.len(), 2, "{notices:?}");
    let partial = notices
        .iter()
        .find(|n| n.contains("부분 취소"))
        .expect("a partial refund notice");
    assert!(partial.contains("취소금액: 20,000원"), "{partial}");
    assert!(partial.contains("남은 결제금액: 30,000원"), "{partial}");
    let last = notices
        .iter()
        .find(|n| !n.contains("부분 취소"))
        .expect("a refund notice");
    assert!(last.contains("취소금액: 30,000원"), "{last}");
    assert!(!last.contains("남은"), "{last}");
    // And the merchant a webhook for each.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let refunded: Vec<Value> = rx
            .got
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
            .filter(|v| v["type"] == "charge.refunded" && v["data"]["id"] == c.id.as_str())
            .collect();
        if refunded.len() == 2 {
            assert_eq!(refunded[1]["data"]["status"], "refunded");
            assert_eq!(refunded[1]["data"]["payment"]["refunded_amount"], 50_000);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{refunded:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A refund claimed and sent to the network, whose answer was never recorded (the server
/// died): another amount is refused while it is pending; the same refund asked again finishes
/// it with the same idempotency key, and the network refunds it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_interrupted_by_a_crash_is_finished_once() {
    let app = spawn_app().await;
    let (c, acc) = paid(&app, 30_000, "010-9400-0002").await;
    let start = balance(&app, &acc).await;
    let store = app.store();
    let m = store.merchant_by_code("demo").unwrap().unwrap();
    let id = ChargeId::new(c.id.clone());
    // The claim, and the network's cancel, then nothing (the process died).
    let claim = store
        .begin_refund(&m.id, &id, Some(12_000), Some("반품"), Utc::now())
        .unwrap()
        .refund
        .unwrap();
    assert_eq!(claim.n, 1);
    let net = app.state().sandbox_network.clone().unwrap();
    let done = net
        .cancel(&CancelRequest {
            key: &c.id,
            idempotency_key: &format!("{}-r1", c.id),
            reason: "반품",
            amount: Some(12_000),
        })
        .await
        .unwrap();
    assert_eq!(done.canceled_amount(), 12_000);
    assert_eq!(
        app.get_charge(&c.id).await.payment.unwrap().refunded_amount,
        0
    );

    // Another refund while it is pending: refused.
    let (status, code, message) =
        api_error(refund(&app, &c.id, json!({ "amount": 5_000 })).await).await;
    assert_eq!((status.as_u16(), code.as_str()), (409, "invalid_state"));
    assert!(message.contains("12000 KRW"), "{message}");

    // The same refund again: finished, refunded once at the network.
    let r = refund(&app, &c.id, json!({ "amount": 12_000 })).await;
    assert_eq!(r.status(), StatusCode::OK);
    let ch: Charge = r.json().await.unwrap();
    assert_eq!(ch.status, ChargeStatus::Approved);
    assert_eq!(ch.payment.as_ref().unwrap().refunded_amount, 12_000);
    assert_eq!(network_state(&app, &c.id).await.canceled_amount(), 12_000);
    assert_eq!(balance(&app, &acc).await, start + 12_000);

    // The next refund gets the next number; the rest refunds it all.
    let r = refund(&app, &c.id, json!({ "amount": 18_000 })).await;
    assert_eq!(r.status(), StatusCode::OK);
    let ch: Charge = r.json().await.unwrap();
    assert_eq!(ch.status, ChargeStatus::Refunded);
    assert_eq!(ch.payment.as_ref().unwrap().refunds[1].n, 2);
    assert!(network_state(&app, &c.id).await.is_canceled());
    assert_eq!(balance(&app, &acc).await, start + 30_000);
}

/// A refund whose answer never came (the network timed out) stays claimed; nobody asks again,
/// and the worker finishes it a minute later, with the same idempotency key: refunded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_left_pending_is_finished_by_the_worker() {
    let app = spawn_app().await;
    let (c, acc) = paid(&app, 20_000, "010-9400-0004").await;
    let start = balance(&app, &acc).await;
    let net = app.state().sandbox_network.clone().unwrap();
    net.fail_next_cancels(1);
    let r = refund(&app, &c.id, json!({ "amount": 7_000, "reason": "반품" })).await;
    assert!(!r.status().is_success(), "{}", r.status());
    assert_eq!(
        app.get_charge(&c.id).await.payment.unwrap().refunded_amount,
        0
    );
    // Not before its minute.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        app.get_charge(&c.id).await.payment.unwrap().refunded_amount,
        0
    );
    app.advance_clock(2).await;
    let mut refunded = 0;
    for _ in 0..100 {
        refunded = app.get_charge(&c.id).await.payment.unwrap().refunded_amount;
        if refunded == 7_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(refunded, 7_000, "the worker did not finish the refund");
    let ch = app.get_charge(&c.id).await;
    let refunds = &ch.payment.as_ref().unwrap().refunds;
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (refunds[0].n, refunds[0].reason.as_deref()),
        (1, Some("반품"))
    );
    assert_eq!(network_state(&app, &c.id).await.canceled_amount(), 7_000);
    assert_eq!(balance(&app, &acc).await, start + 7_000);
}

/// Partial refunds asked at once never refund more than was approved, at the network or in
/// the books.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_partial_refunds_never_exceed_the_payment() {
    let app = spawn_app().await;
    let (c, acc) = paid(&app, 10_000, "010-9400-0003").await;
    let start = balance(&app, &acc).await;
    let mut tasks = Vec::new();
    for i in 1..=6i64 {
        let (http, url) = (
            app.http.clone(),
            app.url(&format!("/v1/charges/{}/refund", c.id)),
        );
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(DEMO_API_KEY)
                .json(&json!({ "amount": i * 1_000 }))
                .send()
                .await
                .unwrap();
            (i * 1_000, r.status())
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let (amount, status) = t.await.unwrap();
        match status.as_u16() {
            200 => ok += amount,
            409 => {}
            s => panic!("refund of {amount}: {s}"),
        }
    }
    let ch = app.get_charge(&c.id).await;
    let p = ch.payment.unwrap();
    assert_eq!(p.refunded_amount, ok);
    assert!(ok <= 10_000 && ok > 0);
    assert_eq!(network_state(&app, &c.id).await.canceled_amount(), ok);
    assert_eq!(balance(&app, &acc).await, start + ok);
}
