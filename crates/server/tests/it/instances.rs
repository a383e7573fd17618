//! Several server instances over one PostgreSQL database: caches, device pushes, the outbox,
//! live events and periodic jobs behave as one server would; and two server processes behind
//! a round-robin proxy, one of them killed and started again halfway through 50 payments.
//!
//! Every test needs PostgreSQL (`FIELDPAY_TEST_STORE=postgres`); on SQLite they are skipped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fieldpay_protocol::charge::Charge;
use fieldpay_protocol::records::{LedgerKind, Order, OrderStatus};
use fieldpay_protocol::sms::SmsKind;
use fieldpay_protocol::sync::{ChangeData, MutationResults};
use fieldpay_server::demo::DEMO_API_KEY;
use fieldpay_server::sms::sender::{SmsError, SmsSender};
use fieldpay_server::store::DeliveryStatus;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    self, demo_charge, set_webhook, settle_sms, spawn_instances, webhook_receiver, EventStream,
    Receiver, TestApp, APPROVE_CARD,
};
use crate::sync::{
    applied_order, balance, demo, pull_all, sign, submit, uid, upsert, PDF, PNG_1X1,
};

macro_rules! needs_postgres {
    () => {
        match helpers::test_store() {
            Some(url) => url,
            None => {
                eprintln!("skipped: needs FIELDPAY_TEST_STORE=postgres");
                return;
            }
        }
    };
}

/// A text sender that records every text it is asked to send (shared by all instances).
#[derive(Default)]
struct CountingSms(Mutex<Vec<(String, String)>>);

#[async_trait]
impl SmsSender for CountingSms {
    fn name(&self) -> &'static str {
        "counting"
    }
    async fn send(&self, to_e164: &str, body: &str) -> Result<(), SmsError> {
        self.0
            .lock()
            .unwrap()
            .push((to_e164.to_string(), body.to_string()));
        Ok(())
    }
}

/// The merchant caches live 1 s on PostgreSQL: long enough for every instance to see a
/// settings change made through one of them.
async fn caches_expire() {
    tokio::time::sleep(Duration::from_millis(1_100)).await;
}

/// Waits until every webhook of the merchant was delivered (none pending).
async fn settle_webhooks(app: &TestApp) {
    for _ in 0..400 {
        let store = app.store();
        let m = store
            .merchant_by_code(fieldpay_server::demo::DEMO_MERCHANT_CODE)
            .unwrap()
            .unwrap();
        let all = store.webhooks(&m.id, 1_000).unwrap();
        if all.iter().all(|w| w.status != DeliveryStatus::Pending) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("webhooks never all delivered");
}

/// The (type, charge id) of each delivery received, and its `webhook-id`.
fn deliveries(rx: &Receiver) -> Vec<(String, String, String)> {
    rx.got
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_str(&r.body).unwrap();
            (
                v["type"].as_str().unwrap().to_string(),
                v["data"]["id"].as_str().unwrap().to_string(),
                r.headers["webhook-id"].to_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Asserts that no delivery id and no (event type, charge) arrived twice.
fn assert_each_delivery_once(rx: &Receiver) -> HashSet<(String, String)> {
    let got = deliveries(rx);
    let mut ids = HashSet::new();
    let mut events = HashSet::new();
    for (kind, charge, id) in &got {
        assert!(
            ids.insert(id.clone()),
            "delivery {id} arrived twice: {got:?}"
        );
        assert!(
            events.insert((kind.clone(), charge.clone())),
            "{kind} of {charge} delivered twice: {got:?}"
        );
    }
    events
}

// ------------------------------------------------------------------ 1. API key caches

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_api_key_stops_working_on_every_instance_within_a_second() {
    let url = needs_postgres!();
    let c = spawn_instances(&url, 2, None).await;
    let (a, b) = (&c.apps[0], &c.apps[1]);
    let key = a.second_merchant("revoked2", &["15880019"]);
    // Used on both: each instance has it cached now.
    for app in [a, b] {
        assert_eq!(app.get("/v1/charges", &key).await.status(), StatusCode::OK);
    }
    let store = a.store();
    let hash = fieldpay_server::auth::hash_secret(&key);
    let owner = store.api_key(&hash).unwrap().unwrap();
    let revoked_at = Instant::now();
    assert!(store
        .revoke_api_key(&owner.merchant_id, &owner.key_id)
        .unwrap());
    assert_eq!(
        a.get("/v1/charges", &key).await.status(),
        StatusCode::UNAUTHORIZED,
        "the instance that revoked it refuses it at once"
    );
    let refused_after = loop {
        let status = b.get("/v1/charges", &key).await.status();
        if status == StatusCode::UNAUTHORIZED {
            break revoked_at.elapsed();
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            revoked_at.elapsed() < Duration::from_secs(3),
            "instance B still takes the revoked key"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("instance B refused the revoked key after {refused_after:?}");
    // The cache lives 1 s; the 50 ms poll and a request's own time on top.
    assert!(
        refused_after <= Duration::from_millis(1_150),
        "took {refused_after:?}"
    );
    // And it stays refused on both; the demo key is unaffected.
    for app in [a, b] {
        assert_eq!(
            app.get("/v1/charges", &key).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.get("/v1/charges", DEMO_API_KEY).await.status(),
            StatusCode::OK
        );
    }
}

// ------------------------------------------------------------------ 2. device pushes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_retried_on_two_instances_at_once_applies_once() {
    let url = needs_postgres!();
    let c = spawn_instances(&url, 2, None).await;
    let (a, b) = (&c.apps[0], &c.apps[1]);
    let d = demo(a).await;
    let account = d
        .accounts
        .iter()
        .max_by_key(|a| a.credit_limit)
        .unwrap()
        .clone();
    let before = balance(a, &account.id).await;
    let rounds = 12;
    let mut totals = 0;
    for round in 0..rounds {
        let order_id = uid();
        let charge_id = uid();
        let payer = format!("010-2600-{round:04}");
        let p = &d.products[round];
        let batch = json!([
            upsert(&order_id, &account.id, json!([{ "product_id": p.id, "quantity": 2 }])),
            sign(&d, &order_id, &account.id, &[(p, 2, p.unit_price)], PNG_1X1, Some(PDF)),
            submit(&order_id),
            { "client_id": uid(), "op": { "type": "request_charge", "charge_id": charge_id, "request": {
                "amount": 5000, "goods_name": "두 서버 재전송", "payer_phone": payer } } }
        ]);
        let mut tasks = Vec::new();
        for i in 0..6u64 {
            // Alternately to A and B, a little staggered (differently each round).
            let app = &c.apps[(i % 2) as usize];
            let (http, url, token, body) = (
                app.http.clone(),
                app.url("/v1/mutations"),
                d.rep.access_token.clone(),
                json!({ "mutations": batch }),
            );
            let delay = Duration::from_micros(i * (round as u64 + 1) * 300);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let r = http
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let text = r.text().await.unwrap();
                assert_eq!(status, StatusCode::OK, "{text}");
                serde_json::from_str::<MutationResults>(&text).unwrap()
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        for x in &answers[1..] {
            assert_eq!(
                x, &answers[0],
                "round {round}: every retry gets the first answer"
            );
        }
        let registered = applied_order(&answers[0].results[2].outcome);
        assert_eq!(registered.status, OrderStatus::Registered);
        totals += registered.totals.total;
        for app in [a, b] {
            let stored: Order = app
                .get(&format!("/v1/orders/{order_id}"), DEMO_API_KEY)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(stored, registered, "round {round}");
        }
    }
    settle_sms(a).await;
    for round in 0..rounds {
        let payer = format!("010-2600-{round:04}");
        let bills = b
            .sms(&payer)
            .await
            .into_iter()
            .filter(|s| s.kind == SmsKind::Bill)
            .count();
        assert_eq!(bills, 1, "round {round}");
    }
    for app in [a, b] {
        let (changes, _) = pull_all(app, &d.rep.access_token, 0, 5000).await;
        let orders = changes
            .iter()
            .filter(|c| matches!(&c.data, ChangeData::Ledger(l) if l.kind == LedgerKind::Order))
            .count();
        assert_eq!(orders, rounds, "one ledger entry per order");
        let charges = changes
            .iter()
            .filter(|c| matches!(&c.data, ChangeData::Charge(_)))
            .count();
        assert_eq!(charges, rounds, "one charge per request");
        assert_eq!(balance(app, &account.id).await, before + totals);
    }
}

// ------------------------------------------------------------------ 3. the outbox

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_text_and_webhook_is_sent_once_across_instances() {
    let url = needs_postgres!();
    let sink = Arc::new(CountingSms::default());
    let c = spawn_instances(&url, 2, Some(sink.clone())).await;
    let (hook, rx) = webhook_receiver(0).await;
    set_webhook(&c.apps[0], &hook);
    caches_expire().await;
    let n = 16;
    let mut charges: Vec<(Charge, &TestApp)> = Vec::new();
    for i in 0..n {
        let app = &c.apps[i % 2];
        let ch = app
            .charge(demo_charge(10_000 + i as i64, &format!("010-2700-{i:04}")))
            .await;
        charges.push((ch, app));
    }
    // Half paid by phone (each call on one instance, alternately), half canceled.
    for (i, (ch, _)) in charges.iter().enumerate() {
        let app = &c.apps[(i / 2) % 2];
        let ch = app.wait_status(&ch.id, "sms_sent").await;
        if i % 2 == 0 {
            let number = ch.virtual_number.clone().unwrap();
            app.pay_by_phone(&ch.payer_phone, &number, APPROVE_CARD)
                .await;
            app.wait_status(&ch.id, "approved").await;
        } else {
            let r = app
                .post_json(
                    &format!("/v1/charges/{}/cancel", ch.id),
                    DEMO_API_KEY,
                    &json!({}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::OK);
        }
    }
    settle_sms(&c.apps[0]).await;
    settle_webhooks(&c.apps[0]).await;
    // Anything sent twice would have been sent by now.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let sent = sink.0.lock().unwrap().clone();
    let mut per_text: HashMap<&(String, String), usize> = HashMap::new();
    for t in &sent {
        *per_text.entry(t).or_default() += 1;
    }
    for (t, count) in &per_text {
        assert_eq!(*count, 1, "sent {count} times: {t:?}");
    }
    let mut rows = 0;
    for (i, (ch, _)) in charges.iter().enumerate() {
        let to = helpers::e164(&ch.payer_phone);
        let outbox = c.apps[1].sms(&ch.payer_phone).await;
        let kinds: Vec<SmsKind> = outbox.iter().rev().map(|s| s.kind).collect();
        let expected = if i % 2 == 0 {
            vec![SmsKind::Bill, SmsKind::Slip]
        } else {
            vec![SmsKind::Bill]
        };
        assert_eq!(kinds, expected, "texts of charge {i}");
        rows += outbox.len();
        let to_phone = sent.iter().filter(|(p, _)| *p == to).count();
        assert_eq!(to_phone, expected.len(), "texts sent to charge {i}'s payer");
    }
    assert_eq!(sent.len(), rows, "one send per text in the outbox");

    let events = assert_each_delivery_once(&rx);
    for (i, (ch, _)) in charges.iter().enumerate() {
        let kind = if i % 2 == 0 {
            "charge.approved"
        } else {
            "charge.canceled"
        };
        assert!(
            events.contains(&(kind.to_string(), ch.id.clone())),
            "no {kind} for charge {i}"
        );
    }
    assert_eq!(events.len(), n);
}

// ------------------------------------------------------------------ 4. live events

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_reach_a_client_of_the_other_instance() {
    let url = needs_postgres!();
    let c = spawn_instances(&url, 2, None).await;
    let (a, b) = (&c.apps[0], &c.apps[1]);
    // A rep signed in (through A); streams on B: the merchant's (API key) and the rep's.
    let rep = helpers::login(a, "rep1", "demo1234").await;
    let mut on_b = EventStream::open(b, DEMO_API_KEY).await;
    let mut rep_on_b = EventStream::open(b, &rep.access_token).await;
    // The rep's charge, requested through A.
    let r = a
        .post_json(
            "/v1/charges",
            &rep.access_token,
            &demo_charge(12_000, "010-2800-0001"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let ch: Charge = r.json().await.unwrap();
    let id = ch.id.clone();
    for stream in [&mut on_b, &mut rep_on_b] {
        let seen = stream
            .charges_until(|e| e.charge_id == id && e.status.as_str() == "sms_sent")
            .await;
        assert!(seen.iter().all(|e| e.charge_id == id), "{seen:?}");
        assert_eq!(seen[0].status.as_str(), "requested", "{seen:?}");
    }
    // Canceled through A.
    let r = a
        .post_json(
            &format!("/v1/charges/{id}/cancel"),
            &rep.access_token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    for stream in [&mut on_b, &mut rep_on_b] {
        let seen = stream
            .charges_until(|e| e.charge_id == id && e.status.as_str() == "canceled")
            .await;
        assert_eq!(seen.len(), 1, "{seen:?}");
    }
}

// ------------------------------------------------------------------ 5. periodic jobs

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_charges_expire_once_with_two_instances_running() {
    let url = needs_postgres!();
    let c = spawn_instances(&url, 2, None).await;
    let (hook, rx) = webhook_receiver(0).await;
    set_webhook(&c.apps[0], &hook);
    caches_expire().await;
    let n = 12;
    let mut ids = Vec::new();
    for i in 0..n {
        let mut body = demo_charge(9_000, &format!("010-2900-{i:04}"));
        body["expires_in_minutes"] = json!(1);
        let ch = c.apps[i % 2].charge(body).await;
        c.apps[i % 2].wait_status(&ch.id, "sms_sent").await;
        ids.push(ch.id);
    }
    // Each instance has its own sandbox clock: both move on (at once).
    let (x, y) = tokio::join!(c.apps[0].advance_clock(2), c.apps[1].advance_clock(2));
    let ((), ()) = (x, y);
    for id in &ids {
        let e = c.apps[1].wait_status(id, "expired").await;
        let expired = e
            .events
            .iter()
            .filter(|e| e.status.as_str() == "expired")
            .count();
        assert_eq!(expired, 1, "charge {id}: {:?}", e.events);
    }
    settle_webhooks(&c.apps[0]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = assert_each_delivery_once(&rx);
    for id in &ids {
        assert!(events.contains(&("charge.expired".to_string(), id.clone())));
    }
    assert_eq!(events.len(), n);
}
