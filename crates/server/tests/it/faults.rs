//! Faults: server restarts in the middle of a call, of an approval and of webhook retries;
//! and the canary card number that must never be written anywhere.

use std::time::Duration;

use fieldpay_protocol::CardNumber;
use fieldpay_server::card::{ApproveRequest, CardInput, PaymentMethod};
use fieldpay_server::store::Effects;

use crate::helpers::*;

/// A call interrupted by a restart carries on: the keys typed before were only in memory, so
/// card entry starts again; the charge is approved exactly once. On PostgreSQL the restarted
/// server is a new instance among possibly several: the call was lost with the old one, so it
/// ends politely and the payer's next call pays (see `calls::route`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_in_the_middle_of_a_call() {
    let mut app = spawn_app().await;
    let c = app.charge(demo_charge(30_000, "010-4444-5555")).await;
    let vn = c.virtual_number.clone().unwrap();
    let sid = "CA_restart_1";
    let x = app.twiml_start(sid, &e164("01044445555"), &e164(&vn)).await;
    assert!(x.contains("<Gather"), "{x}");
    let x = app.twiml_digits(sid, "1").await;
    assert!(x.contains("카드 번호"), "{x}");
    let x = app.twiml_digits(sid, "9401000000000014").await;
    assert!(x.contains("유효기간"), "{x}");

    app.restart().await;

    // The carrier posts the expiry to the restarted server.
    let x = app.twiml_digits(sid, "1230").await;
    let sid = if app.database_url.is_none() {
        // One instance on its own database: the call resumes at card entry.
        assert!(
            x.contains("카드 번호"),
            "resumed call asks for the card again: {x}"
        );
        assert!(x.contains("<Gather"), "{x}");
        sid
    } else {
        // A shared database: the call ended with its instance; the charge stays payable.
        assert!(x.contains("<Hangup/>") && !x.contains("<Gather"), "{x}");
        let lost = app.store().call(sid).unwrap().unwrap();
        assert_eq!(lost.outcome.as_deref(), Some("instance_lost"));
        let again = "CA_restart_1_again";
        let x = app
            .twiml_start(again, &e164("01044445555"), &e164(&vn))
            .await;
        assert!(x.contains("<Gather"), "{x}");
        let x = app.twiml_digits(again, "1").await;
        assert!(x.contains("카드 번호"), "{x}");
        again
    };
    let x = app.twiml_digits(sid, "9401000000000014").await;
    assert!(x.contains("유효기간"), "{x}");
    let x = app.twiml_digits(sid, "1230").await;
    assert!(
        x.contains("생년월일"),
        "30,000 won: no installment question: {x}"
    );
    let x = app.twiml_digits(sid, "800101").await;
    assert!(x.contains("비밀번호"), "{x}");
    let x = app.twiml_digits(sid, "12").await;
    assert!(x.contains("승인") && x.contains("<Hangup/>"), "{x}");

    let paid = app.wait_status(&c.id, "approved").await;
    assert_eq!(paid.payment.unwrap().masked_card, "940100******0014");
    let net = app.state().sandbox_network.clone().unwrap();
    assert_eq!(net.charge_approval_count(&c.id), 1);
    // The call session kept steps, never keys.
    let call = app.store().call(sid).unwrap().unwrap();
    assert_eq!(call.outcome.as_deref(), Some("approved"));
    assert!(!call.trace.contains("9401000000000014") && !call.checkpoint.contains("9401"));
}

/// The server stopped after the card network approved but before the approval was recorded:
/// on start it asks the network and records the payment once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_during_an_approval_recovers_it() {
    let mut app = spawn_app().await;
    let approved = app.charge(demo_charge(12_000, "010-5555-1111")).await;
    let not_sent = app.charge(demo_charge(13_000, "010-5555-2222")).await;
    let store = app.store();
    let now = chrono::Utc::now();
    // Both approvals were in flight when the server stopped.
    let limits = fieldpay_server::store::ApprovalLimits {
        declines_per_charge: 3,
        declines_per_caller_per_hour: 5,
    };
    // Made by this instance, which then stops (on PostgreSQL the restarted server is a new
    // instance: the old one gave its lease up, so its approvals are in doubt at once).
    let owner = app.state().instance_id.to_string();
    for id in [&approved.id, &not_sent.id] {
        store
            .begin_approval(&id.as_str().into(), &limits, &owner, now)
            .unwrap();
    }
    // The network approved the first one; its answer never got recorded.
    let merchant = store.merchant_by_code("demo").unwrap().unwrap();
    let net = app.state().sandbox_network.clone().unwrap();
    let number = CardNumber::parse("4518420000000015").unwrap();
    let req = ApproveRequest {
        key: &approved.id,
        order_name: "감기약",
        amount: 12_000,
        installment_months: 0,
        method: PaymentMethod::Card(CardInput {
            number: &number,
            expiry_mmyy: "1230",
            birth_or_business: Some("800101"),
            password2: Some("12"),
        }),
        merchant_id: merchant.id.as_str(),
    };
    fieldpay_server::card::CardConnector::approve(&net, &req)
        .await
        .unwrap();

    app.restart().await;

    let c = app.wait_status(&approved.id, "approved").await;
    let p = c.payment.expect("payment recovered");
    assert_eq!(p.masked_card, "451842******0015");
    assert_eq!(net.charge_approval_count(&approved.id), 1);
    // The other one was never charged: it is payable again.
    let c2 = app.wait_status(&not_sent.id, "verified").await;
    assert!(c2.payment.is_none());
    let vn = c2.virtual_number.unwrap();
    let t = app.pay_by_phone("010-5555-2222", &vn, APPROVE_CARD).await;
    assert!(t.turn.hangup);
    app.wait_status(&not_sent.id, "approved").await;
    // Recording twice is refused by the store: one payment row.
    let again = store.record_approval(
        &approved.id.as_str().into(),
        &fieldpay_server::store::NewPayment {
            connector: "sandbox".into(),
            approval_number: "99999999".into(),
            issuer_code: "01".into(),
            issuer_name: "BC카드".into(),
            acquirer_code: "11".into(),
            masked_card: "x".into(),
            installment_months: 0,
            amount: 12_000,
            approved_at: now,
            receipt_token: "t".into(),
        },
        now,
        &|_| Effects::default(),
    );
    assert_eq!(
        again.unwrap().charge.payment.unwrap().approval_number,
        p.approval_number
    );
}

/// Webhook deliveries survive a restart: failures are retried with backoff after the server
/// comes back, and the event is delivered once, with the same webhook-id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_during_webhook_retries_loses_nothing() {
    let mut app = spawn_app_with(&[1, 1, 1, 1, 1]).await;
    let (url, rx) = webhook_receiver(2).await;
    let secret = set_webhook(&app, &url);
    let c = app.charge(demo_charge(20_000, "010-6666-7777")).await;
    let vn = c.virtual_number.clone().unwrap();
    app.pay_by_phone("010-6666-7777", &vn, APPROVE_CARD).await;
    app.wait_status(&c.id, "approved").await;
    // Wait for the first failed attempt of the approval webhook, then stop.
    let store = app.store();
    let mid = store.merchant_by_code("demo").unwrap().unwrap().id;
    let mut waited = 0;
    loop {
        let hooks = store.webhooks(&mid, 50).unwrap();
        if hooks
            .iter()
            .any(|w| w.event_type == "charge.approved" && w.attempts >= 1)
        {
            break;
        }
        waited += 1;
        assert!(waited < 200, "no webhook attempt: {hooks:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    app.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.start_again().await;

    let mut delivered = None;
    for _ in 0..200 {
        let got = rx.got.lock().unwrap().clone();
        if let Some(r) = got.iter().find(|r| r.body.contains("charge.approved")) {
            delivered = Some(r.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = delivered.expect("approval webhook delivered after restart");
    let id = r.headers["webhook-id"].to_str().unwrap().to_string();
    let ts: i64 = r.headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sig = r.headers["webhook-signature"].to_str().unwrap();
    assert!(fieldpay_server::webhooks::verify(
        &secret,
        &id,
        ts,
        &r.body,
        sig,
        chrono::Utc::now()
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = rx.got.lock().unwrap().clone();
    let same: Vec<_> = got
        .iter()
        .filter(|g| g.headers["webhook-id"] == id.as_str())
        .collect();
    assert_eq!(same.len(), 1, "delivered once");
    let log = app.store().webhooks(&mid, 50).unwrap();
    let row = log.iter().find(|w| w.id == id).unwrap();
    assert_eq!(
        row.status,
        fieldpay_server::store::DeliveryStatus::Delivered
    );
    assert!(row.attempts >= 3, "two failures then success: {row:?}");
}

/// The canary card number (and a distinctive birth date) typed into calls — approved,
/// declined and interrupted by a restart — is found in no file under the data folder and in no
/// log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_card_data_is_never_written() {
    const BIRTH: &str = "690417";
    let mut app = spawn_app().await;
    let (url, _rx) = webhook_receiver(0).await;
    set_webhook(&app, &url);

    // 1. Paid over the TwiML webhook.
    let c = app.charge(demo_charge(77_000, "010-7777-0001")).await;
    let vn = c.virtual_number.clone().unwrap();
    let sid = "CA_canary_1";
    app.twiml_start(sid, &e164("01077770001"), &e164(&vn)).await;
    for keys in ["1", CANARY_CARD, "1230", "0", BIRTH, "12"] {
        app.twiml_digits(sid, keys).await;
    }
    app.wait_status(&c.id, "approved").await;

    // 2. Declined (wrong password "00") then interrupted by a restart mid-entry.
    let d = app.charge(demo_charge(8_000, "010-7777-0002")).await;
    let vn2 = d.virtual_number.clone().unwrap();
    let t = app.dial(Some("010-7777-0002"), &vn2).await;
    for keys in [
        "1",
        &format!("{CANARY_CARD}#"),
        "1230",
        &format!("{BIRTH}#"),
        "00",
    ] {
        app.keys(&t.call_id, keys).await;
    }
    app.wait_status(&d.id, "declined").await;
    let t = app.dial(Some("010-7777-0002"), &vn2).await;
    app.keys(&t.call_id, "1").await;
    app.keys(&t.call_id, &format!("{CANARY_CARD}#")).await;
    app.restart().await;
    app.keys(&t.call_id, "1230").await;
    app.stop().await;

    let mut checked = 0;
    for (path, bytes) in app.data_files() {
        checked += 1;
        assert!(
            !contains(&bytes, CANARY_CARD),
            "card number found in {}",
            path.display()
        );
        // The PostgreSQL server's write-ahead log holds the writes of every test running at
        // the time (over a gigabyte of digits): there, six digits are looked for as a value of
        // their own, not inside a longer number or token where they turn up by chance. The
        // card number (16 digits) is looked for everywhere as it is.
        let found = if shared_with_other_tests(&path) {
            contains_standalone(&bytes, BIRTH)
        } else {
            contains(&bytes, BIRTH)
        };
        assert!(!found, "birth date found in {}", path.display());
    }
    assert!(checked >= 2, "database files were checked");
    let logs = logs();
    assert!(logs.contains("charge approved"), "logs were captured");
    assert!(!logs.contains(CANARY_CARD), "card number in the log");
    assert!(!logs.contains(BIRTH), "birth date in the log");
}

#[test]
fn a_standalone_value_is_told_from_digits_inside_a_longer_run() {
    assert!(contains_standalone(b"\x0f690417\x00", "690417"));
    assert!(contains_standalone(b"\"690417\"", "690417"));
    assert!(contains_standalone(b"690417", "690417"));
    assert!(!contains_standalone(
        b"2026-12-03T21:00:01.690417Z",
        "690417"
    ));
    assert!(!contains_standalone(b"a3690417f0", "690417"));
    assert!(!contains_standalone(b"1690417", "690417"));
}
