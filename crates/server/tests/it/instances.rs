//! Several server instances over one PostgreSQL database: caches, device pushes, the outbox,
//! live events and periodic jobs behave as one server would; and two server processes behind
//! a round-robin proxy, one of them killed and started again halfway through 50 payments.
//!
//! Every test needs PostgreSQL (`FIELDPAY_TEST_STORE=postgres`); on SQLite they are skipped.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fieldpay_protocol::charge::Charge;
use fieldpay_protocol::records::{LedgerKind, Order, OrderStatus};
use fieldpay_protocol::sms::SmsKind;
use fieldpay_protocol::sync::SyncPage;
use fieldpay_protocol::sync::{ChangeData, MutationResults};
use fieldpay_protocol::Secret;
use fieldpay_server::config::SANDBOX_TWILIO_AUTH_TOKEN;
use fieldpay_server::demo::DEMO_API_KEY;
use fieldpay_server::sms::sender::{OutgoingSms, SentSms, SmsError, SmsSender};
use fieldpay_server::store::DeliveryStatus;
use fieldpay_server::telephony::sandbox_phone::SandboxSms;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

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
    async fn send(&self, sms: &OutgoingSms<'_>) -> Result<SentSms, SmsError> {
        self.0
            .lock()
            .unwrap()
            .push((sms.to_e164.to_string(), sms.body.to_string()));
        Ok(SentSms { provider_id: None })
    }
}

/// The merchant caches live 500 ms on PostgreSQL: this long is enough for every instance to see a
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

/// After a process is killed: every event arrived under one delivery id. A delivery the
/// killed process made but had not recorded as made is made again by the other instance,
/// under the same `webhook-id` (at least once; receivers drop repeats by that id, as Standard
/// Webhooks asks); a second id for one event would be a true duplicate.
fn assert_each_event_under_one_id(rx: &Receiver) -> HashSet<(String, String)> {
    let mut ids: std::collections::HashMap<(String, String), String> = Default::default();
    let got = deliveries(rx);
    for (kind, charge, id) in &got {
        let first = ids
            .entry((kind.clone(), charge.clone()))
            .or_insert(id.clone());
        assert_eq!(first, id, "{kind} of {charge} sent under two ids: {got:?}");
    }
    ids.into_keys().collect()
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
    // The cache lives 500 ms; the 50 ms poll and a request's own time on top: within a
    // second.
    assert!(
        refused_after <= Duration::from_secs(1),
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

// ------------------------------------------------------------------ 6. two processes, a kill

/// A `fieldpay-server serve` process on `port` over the database `url` and the data folder
/// `data`; TwiML is signed for `public_url` (the same for every process). Killed when dropped.
fn server_process(url: &Secret, data: &Path, port: u16, public_url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fieldpay-server"))
        .arg("serve")
        .arg("--data")
        .arg(data)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--public-url")
        .arg(public_url)
        .env("FIELDPAY_DATABASE_URL", url.expose())
        .env("FIELDPAY_TWILIO_AUTH_TOKEN", SANDBOX_TWILIO_AUTH_TOKEN)
        .env("FIELDPAY_SANDBOX_CLOCK", "off")
        .env("RUST_LOG", "warn")
        .env_remove("FIELDPAY_CONFIG")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start fieldpay-server")
}

/// Waits until the server at `base` answers `GET /health`.
async fn wait_up(http: &reqwest::Client, base: &str) {
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} never came up");
}

/// A free loopback port (bound and let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A round-robin TCP proxy: each connection goes to the next backend that accepts it.
async fn round_robin_proxy(backends: Vec<SocketAddr>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let start = next.fetch_add(1, Ordering::Relaxed);
            let backends = backends.clone();
            tokio::spawn(async move {
                for k in 0..backends.len() {
                    let to = backends[(start + k) % backends.len()];
                    if let Ok(mut out) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                        return;
                    }
                }
                // No backend: the connection just closes.
            });
        }
    });
    addr
}

/// Sends the request `make` builds until it gets an answer (a backend killed under it, or
/// none to take it for a moment, fails the attempt); panics after 30 s of failures (a sign-in
/// on a loaded 2-core machine, during a restart, has taken over 10 s).
async fn until_answered(make: impl Fn() -> reqwest::RequestBuilder) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match make().send().await {
            Ok(r) if r.status() != StatusCode::BAD_GATEWAY => return r,
            other => {
                assert!(Instant::now() < deadline, "no answer: {other:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// How a call's TwiML requests reach the servers.
#[derive(Clone, Copy, PartialEq)]
enum Route {
    /// Every request through the round-robin proxy (so a call's requests alternate between
    /// the instances).
    Proxy,
    /// Each call's requests to one instance, the next call to the other.
    OnePerCall,
}

struct Run {
    http: reqwest::Client,
    proxy: String,
    backends: Vec<String>,
    public_url: String,
    rep_token: String,
    route: Route,
}

impl Run {
    async fn get_charge(&self, id: &str) -> Charge {
        let r = until_answered(|| {
            self.http
                .get(format!("{}/v1/charges/{id}", self.proxy))
                .bearer_auth(&self.rep_token)
        })
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// One signed TwiML request to `base`; None when it got no answer or not a 200.
    async fn twiml(&self, base: &str, params: &[(&str, &str)]) -> Option<String> {
        let path = "/telephony/twiml/voice";
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let signed_url = format!("{}{path}", self.public_url);
        let sig = fieldpay_server::telephony::twiml::signature(
            SANDBOX_TWILIO_AUTH_TOKEN,
            &signed_url,
            &owned,
        );
        let r = self
            .http
            .post(format!("{base}{path}"))
            .header("X-Twilio-Signature", sig)
            .form(&owned)
            .send()
            .await
            .ok()?;
        if r.status() != StatusCode::OK {
            return None;
        }
        r.text().await.ok()
    }

    /// Calls about charge `c` and keys in a payment; answers whether the call went to its end
    /// (not whether it approved: the charge says that).
    async fn call(&self, c: &Charge, attempt: usize, seq: usize) -> Result<(), String> {
        let sid = format!("CA{seq:04}{attempt:02}{}", &uid().replace('-', "")[..20]);
        let from = helpers::e164(&c.payer_phone);
        let to = helpers::e164(c.virtual_number.as_deref().unwrap_or("1600-0000"));
        let base = match self.route {
            Route::Proxy => self.proxy.clone(),
            Route::OnePerCall => self.backends[(seq + attempt) % self.backends.len()].clone(),
        };
        let steps: [&[(&str, &str)]; 6] = [
            &[
                ("From", &from),
                ("To", &to),
                ("CallStatus", "ringing"),
                ("Direction", "inbound"),
            ],
            &[("Digits", "1")],
            &[("Digits", APPROVE_CARD)],
            &[("Digits", "1230")],
            &[("Digits", "800101")],
            &[("Digits", "12")],
        ];
        for (n, step) in steps.iter().enumerate() {
            let mut params = vec![("CallSid", sid.as_str())];
            if n > 0 {
                params.push(("CallStatus", "in-progress"));
            }
            params.extend_from_slice(step);
            let Some(x) = self.twiml(&base, &params).await else {
                return Err(format!("step {n} at {base}: no answer"));
            };
            if x.contains("<Hangup") && n < steps.len() - 1 {
                return Err(format!("step {n} at {base}: {x}"));
            }
        }
        Ok(())
    }

    /// Requests charge `seq` (through the proxy), waits for its bill and pays it, calling
    /// again while it is still payable.
    async fn pay_one(&self, seq: usize) -> String {
        let body = demo_charge(10_000 + seq as i64, &payer(seq));
        let key = format!("instances-kill-{seq}-{}", uid());
        let tries = AtomicUsize::new(0);
        let r = until_answered(|| {
            tries.fetch_add(1, Ordering::SeqCst);
            self.http
                .post(format!("{}/v1/charges", self.proxy))
                .bearer_auth(&self.rep_token)
                .header("Idempotency-Key", &key)
                .json(&body)
        })
        .await;
        let status = r.status();
        let text = r.text().await.unwrap();
        // 201; or, when an earlier try got no answer (its process was killed after the charge
        // was stored), 200 with the stored charge: the idempotent replay.
        let replayed = tries.load(Ordering::SeqCst) > 1 && status == StatusCode::OK;
        assert!(
            status == StatusCode::CREATED || replayed,
            "{status}: {text}"
        );
        let c: Charge = serde_json::from_str(&text).unwrap();
        let deadline = Instant::now() + payment_deadline();
        let mut attempt = 0;
        let mut last_call = Ok(());
        loop {
            let now = self.get_charge(&c.id).await;
            assert!(
                Instant::now() < deadline,
                "charge {seq} never approved: {:?} {:?}; the last call: {last_call:?}",
                now.status,
                now.events
            );
            match now.status.as_str() {
                "approved" => return c.id,
                "requested" => {
                    // The bill is on its way.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                "declined" | "canceled" | "expired" | "refunded" => {
                    panic!("charge {seq} ended {:?}: {:?}", now.status, now.events)
                }
                _ => {
                    last_call = self.call(&now, attempt, seq).await;
                    if last_call.is_ok() {
                        // The approval may still be settling (in doubt after a kill).
                        for _ in 0..40 {
                            if self.get_charge(&c.id).await.status.as_str() == "approved" {
                                return c.id;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    } else {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    attempt += 1;
                }
            }
        }
    }
}

/// How long one payment may take, calls again included: 40 s, or
/// `FIELDPAY_TEST_PAYMENT_DEADLINE_SECS`. An approval in flight on the killed process is
/// resolved by the other once the killed one's instance lease runs out (10 s).
fn payment_deadline() -> Duration {
    let secs = std::env::var("FIELDPAY_TEST_PAYMENT_DEADLINE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    Duration::from_secs(secs)
}

fn payer(seq: usize) -> String {
    format!("010-3100-{seq:04}")
}

/// A device's view of the rep's charges, kept by pulling `GET /v1/sync` by cursor.
#[derive(Default)]
struct Device {
    cursor: i64,
    charges: HashMap<String, String>,
}

impl Device {
    /// Pulls pages until there is no more; false when a request failed (tried again later).
    async fn sync(&mut self, run: &Run) -> bool {
        loop {
            let r = run
                .http
                .get(format!(
                    "{}/v1/sync?cursor={}&limit=200",
                    run.proxy, self.cursor
                ))
                .bearer_auth(&run.rep_token)
                .send()
                .await;
            let Ok(r) = r else { return false };
            if r.status() != StatusCode::OK {
                return false;
            }
            let Ok(page) = r.json::<SyncPage>().await else {
                return false;
            };
            for c in &page.changes {
                assert!(c.seq > self.cursor);
                if let ChangeData::Charge(ch) = &c.data {
                    self.charges
                        .insert(ch.id.clone(), ch.status.as_str().to_string());
                }
            }
            self.cursor = page.cursor;
            if !page.has_more {
                return true;
            }
        }
    }
}

async fn two_processes_and_a_kill(route: Route) {
    let url = needs_postgres!();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ports = [free_port(), free_port()];
    let backends: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let public_url = backends[0].clone();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // The first seeds the demo merchant; the second starts on the seeded database.
    let mut procs = vec![server_process(&url, &data, ports[0], &public_url)];
    wait_up(&http, &backends[0]).await;
    procs.push(server_process(&url, &data, ports[1], &public_url));
    wait_up(&http, &backends[1]).await;

    let (hook, rx) = webhook_receiver(0).await;
    let store_settings = fieldpay_server::config::Settings {
        database_url: Some(url.clone()),
        data_dir: data.clone(),
        ..Default::default()
    };
    let store = tokio::task::spawn_blocking(move || {
        fieldpay_server::app::open_store(&store_settings).unwrap()
    })
    .await
    .unwrap();
    {
        let store = store.clone();
        tokio::task::spawn_blocking(move || {
            let m = store
                .merchant_by_code(fieldpay_server::demo::DEMO_MERCHANT_CODE)
                .unwrap()
                .unwrap();
            let mut settings = m.settings.clone();
            settings.webhook_url = Some(hook);
            settings.webhook_secret = Some(fieldpay_server::webhooks::new_secret());
            store.update_merchant_settings(&m.id, &settings).unwrap();
        })
        .await
        .unwrap();
    }
    caches_expire().await;

    let addrs: Vec<SocketAddr> = ports
        .iter()
        .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
        .collect();
    let proxy = format!("http://{}", round_robin_proxy(addrs).await);
    let r = until_answered(|| {
        http.post(format!("{proxy}/v1/auth/login")).json(&json!({
            "merchant": fieldpay_server::demo::DEMO_MERCHANT_CODE,
            "rep_id": "rep1", "password": "demo1234", "device_name": "instances" }))
    })
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let rep: helpers::Tokens = r.json().await.unwrap();
    let run = Arc::new(Run {
        http: http.clone(),
        proxy: proxy.clone(),
        backends: backends.clone(),
        public_url,
        rep_token: rep.access_token.clone(),
        route,
    });

    // The device syncs through the proxy all along.
    let stop = Arc::new(AtomicBool::new(false));
    let device = {
        let (run, stop) = (run.clone(), stop.clone());
        tokio::spawn(async move {
            let mut d = Device::default();
            while !stop.load(Ordering::Relaxed) {
                d.sync(&run).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            d
        })
    };

    // 50 payments, 5 at a time; halfway, the first process is killed and started again.
    let n = 50;
    let done = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(5));
    let mut tasks = Vec::new();
    for seq in 0..n {
        let (run, done, gate) = (run.clone(), done.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = gate.acquire_owned().await.unwrap();
            let id = run.pay_one(seq).await;
            done.fetch_add(1, Ordering::SeqCst);
            id
        }));
    }
    while done.load(Ordering::SeqCst) < n / 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let victim = &mut procs[0];
    victim.kill().await.unwrap(); // SIGKILL
    eprintln!(
        "killed the first process after {} payments",
        done.load(Ordering::SeqCst)
    );
    procs[0] = server_process(&url, &data, ports[0], &backends[0]);
    wait_up(&http, &backends[0]).await;
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }

    // Every charge approved once, at the network too.
    let net =
        fieldpay_server::card::sandbox::SandboxCardNetwork::open(&data.join("sandbox-cardnet.db"))
            .unwrap();
    for (seq, id) in ids.iter().enumerate() {
        let c = run.get_charge(id).await;
        assert_eq!(c.status.as_str(), "approved", "charge {seq}");
        let approvals = c
            .events
            .iter()
            .filter(|e| e.status.as_str() == "approved")
            .count();
        assert_eq!(approvals, 1, "charge {seq}: {:?}", c.events);
        let (net, id) = (net.clone(), id.clone());
        let at_network = tokio::task::spawn_blocking(move || net.charge_approval_count(&id))
            .await
            .unwrap();
        assert_eq!(at_network, 1, "charge {seq} at the card network");
    }
    // One bill and one slip each.
    for (seq, id) in ids.iter().enumerate() {
        let mut kinds = Vec::new();
        for _ in 0..600 {
            let r = until_answered(|| {
                http.get(format!("{proxy}/sandbox/sms"))
                    .query(&[("phone", payer(seq))])
            })
            .await;
            let texts: Vec<SandboxSms> = r.json().await.unwrap();
            kinds = texts
                .iter()
                .filter(|s| s.charge_id.as_deref() == Some(id.as_str()))
                .map(|s| s.kind)
                .collect();
            kinds.sort_by_key(|k| k.as_str());
            if kinds.len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            kinds,
            vec![SmsKind::Bill, SmsKind::Slip],
            "texts of charge {seq}"
        );
    }
    // One webhook per event (charge.approved of each).
    // A delivery the killed process had claimed is made by the other once the claim runs out
    // (the webhook timeout and 5 s).
    let deadline = Instant::now() + Duration::from_secs(45);
    let distinct = |rx: &Receiver| {
        let d: HashSet<String> = deliveries(rx).into_iter().map(|(_, _, id)| id).collect();
        d.len()
    };
    while distinct(&rx) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = assert_each_event_under_one_id(&rx);
    for id in &ids {
        assert!(events.contains(&("charge.approved".to_string(), id.clone())));
    }
    assert_eq!(events.len(), n);

    // The device converges: its charges are the server's (ids and statuses).
    stop.store(true, Ordering::Relaxed);
    let mut device = device.await.unwrap();
    assert!(device.sync(&run).await, "the last sync failed");
    for id in &ids {
        assert_eq!(
            device.charges.get(id).map(String::as_str),
            Some("approved"),
            "{id} on the device"
        );
    }
    for (id, status) in &device.charges {
        assert_eq!(run.get_charge(id).await.status.as_str(), status, "{id}");
    }
    assert_eq!(device.charges.len(), n, "the rep's charges are these {n}");
    drop(procs);
}

/// Each call's requests go to one instance (the other one for the next call). A payment whose
/// approval was in flight on the killed process is resolved by the other instance once the
/// killed one's lease has run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_each_call_on_one_and_a_kill_halfway() {
    two_processes_and_a_kill(Route::OnePerCall).await;
}

/// The test: every request through the round-robin proxy, so a call's requests
/// alternate between the instances (the one not holding the call forwards to its owner).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_calls_alternating_per_request_and_a_kill_halfway() {
    two_processes_and_a_kill(Route::Proxy).await;
}
