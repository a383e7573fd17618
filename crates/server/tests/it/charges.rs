//! The charge API: create (fields, defaults, third-party wording), Idempotency-Key, list with
//! filters and paging, read, cancel, refund, daily settlement (JSON and CSV), the OpenAPI
//! document and the live event stream.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use fieldpay_protocol::charge::{Charge, ChargeKind, ChargeList, ChargeOrigin, ChargeStatus};
use fieldpay_protocol::settlement::{SettlementReport, SettlementRow};
use fieldpay_protocol::sms::SmsKind;
use fieldpay_server::demo::DEMO_API_KEY;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    api_error, demo_charge, login, settle_sms, spawn_app, EventStream, TestApp, APPROVE_CARD,
    CANARY_CARD,
};

fn minutes_from_now(ts: &str) -> f64 {
    let t: DateTime<Utc> = DateTime::parse_from_rfc3339(ts)
        .unwrap()
        .with_timezone(&Utc);
    (t - Utc::now()).num_milliseconds() as f64 / 60_000.0
}

fn is_virtual_number(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 9
        && s.starts_with("1600-")
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

async fn post_charge(app: &TestApp, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut rb = app
        .http
        .post(app.url("/v1/charges"))
        .bearer_auth(DEMO_API_KEY)
        .json(body);
    if let Some(k) = key {
        rb = rb.header("Idempotency-Key", k);
    }
    rb.send().await.unwrap()
}

async fn list(app: &TestApp, bearer: &str, query: &str) -> ChargeList {
    let r = app.get(&format!("/v1/charges{query}"), bearer).await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{query}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Every charge of the caller (walks the pages).
async fn all_charges(app: &TestApp, bearer: &str, filter: &str) -> Vec<Charge> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q = format!("?limit=200{filter}");
        if let Some(a) = &after {
            q.push_str(&format!("&after={a}"));
        }
        let page = list(app, bearer, &q).await;
        out.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

async fn bills_for(app: &TestApp, phone: &str, charge_id: Option<&str>) -> usize {
    app.sms(phone)
        .await
        .iter()
        .filter(|s| {
            s.kind == SmsKind::Bill && (charge_id.is_none() || s.charge_id.as_deref() == charge_id)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_charge_answers_201_with_defaults() {
    let app = spawn_app().await;
    let r = post_charge(&app, None, &demo_charge(15_000, "010-2000-0001")).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let c: Charge = r.json().await.unwrap();
    assert!(c.id.starts_with("ch_"), "{}", c.id);
    assert_eq!(c.status, ChargeStatus::Requested);
    assert_eq!(c.amount, 15_000);
    assert_eq!(c.goods_name, "감기약 외 2건");
    assert_eq!(c.payer_phone, "010-2000-0001");
    assert_eq!(c.kind, ChargeKind::General);
    assert_eq!(c.origin, ChargeOrigin::Api);
    assert!(!c.third_party);
    assert!(c.orderer.is_none());
    assert!(c.rep_id.is_none());
    assert!(c.installments, "installments default to allowed");
    assert!(c.payment.is_none());
    let vn = c.virtual_number.clone().expect("a bound virtual number");
    assert!(is_virtual_number(&vn), "{vn}");
    assert_eq!(vn, "1600-0010", "the first number of the pool");
    let m = minutes_from_now(&c.expires_at);
    assert!((58.0..=61.0).contains(&m), "expires in {m} minutes");
    assert_eq!(c.events.len(), 1);
    assert_eq!(c.events[0].status, ChargeStatus::Requested);
    // Read back: the same charge (the bill text may have gone out meanwhile: sms_sent).
    let read = app.get_charge(&c.id).await;
    assert_eq!(
        (
            &read.id,
            read.amount,
            &read.virtual_number,
            &read.expires_at,
            &read.created_at
        ),
        (
            &c.id,
            c.amount,
            &c.virtual_number,
            &c.expires_at,
            &c.created_at
        )
    );
    assert!(
        matches!(read.status, ChargeStatus::Requested | ChargeStatus::SmsSent),
        "{:?}",
        read.status
    );
    assert_eq!(read.events[0], c.events[0]);

    // A second pending charge to the same payer gets another number; expiry per request.
    let mut body = demo_charge(7_000, "01020000001");
    body["expires_in_minutes"] = json!(5);
    body["payer_name"] = json!("홍길동");
    let c2 = app.charge(body).await;
    let vn2 = c2.virtual_number.clone().unwrap();
    assert!(is_virtual_number(&vn2) && vn2 != vn, "{vn2}");
    let m = minutes_from_now(&c2.expires_at);
    assert!((3.5..=5.5).contains(&m), "expires in {m} minutes");
    let mut body = demo_charge(7_000, "010-2000-0009");
    body["expires_in_minutes"] = json!(10_080);
    let c3 = app.charge(body).await;
    let m = minutes_from_now(&c3.expires_at);
    assert!((10_078.0..=10_081.0).contains(&m), "expires in {m} minutes");

    // The plain bill names the payer and shows the number, amount and goods.
    let bill = app.wait_sms("010-2000-0001", "bill", &c2.id).await;
    assert!(bill.body.contains("홍길동님"), "{}", bill.body);
    assert!(bill.body.contains(&vn2), "{}", bill.body);
    assert!(bill.body.contains("7,000"), "{}", bill.body);
    assert!(bill.body.contains("감기약 외 2건"), "{}", bill.body);
    assert!(
        !bill.body.contains("결제를 요청하셨습니다"),
        "{}",
        bill.body
    );
    app.wait_status(&c.id, "sms_sent").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_charge_uses_the_orderer_wording() {
    let app = spawn_app().await;
    let mut body = demo_charge(33_000, "010-3000-0002");
    body["orderer"] = json!({ "name": "김주문", "phone": "01030000001" });
    let c = app.charge(body).await;
    assert!(c.third_party);
    let o = c.orderer.clone().unwrap();
    assert_eq!(o.name, "김주문");
    assert_eq!(o.phone, "010-3000-0001");
    let bill = app.wait_sms("010-3000-0002", "bill", &c.id).await;
    assert!(
        bill.body
            .contains("김주문(010-3000-0001)님이 결제를 요청하셨습니다"),
        "{}",
        bill.body
    );
    assert!(bill.body.contains("33,000"), "{}", bill.body);
    // Nothing goes to the orderer.
    settle_sms(&app).await;
    assert!(app.sms("010-3000-0001").await.is_empty());

    // Orderer = payer is not third-party.
    let mut body = demo_charge(1_000, "010-3000-0003");
    body["orderer"] = json!({ "name": "본인", "phone": "010-3000-0003" });
    let c = app.charge(body).await;
    assert!(!c.third_party);
    let bill = app.wait_sms("010-3000-0003", "bill", &c.id).await;
    assert!(
        !bill.body.contains("결제를 요청하셨습니다"),
        "{}",
        bill.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_replays_the_first_charge() {
    let app = spawn_app().await;
    let payer = "010-4000-0001";
    let body = demo_charge(12_000, payer);
    let r1 = post_charge(&app, Some("order-77-try"), &body).await;
    assert_eq!(r1.status(), StatusCode::CREATED);
    let c1: Charge = r1.json().await.unwrap();
    app.wait_sms(payer, "bill", &c1.id).await;
    let r2 = post_charge(&app, Some("order-77-try"), &body).await;
    assert_eq!(r2.status(), StatusCode::OK, "a replay is answered 200");
    let c2: Charge = r2.json().await.unwrap();
    assert_eq!(c2.id, c1.id);
    assert_eq!(c2.virtual_number, c1.virtual_number);
    settle_sms(&app).await;
    assert_eq!(all_charges(&app, DEMO_API_KEY, "").await.len(), 1);
    assert_eq!(bills_for(&app, payer, None).await, 1);

    // Same key, other body: 409 and nothing new.
    let other = demo_charge(12_001, payer);
    let (status, code, _) = api_error(post_charge(&app, Some("order-77-try"), &other).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code, "idempotency_conflict");
    let other_payer = demo_charge(12_000, "010-4000-0002");
    let (status, code, _) =
        api_error(post_charge(&app, Some("order-77-try"), &other_payer).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "idempotency_conflict")
    );
    settle_sms(&app).await;
    assert_eq!(all_charges(&app, DEMO_API_KEY, "").await.len(), 1);
    assert_eq!(bills_for(&app, payer, None).await, 1);
    assert!(app.sms("010-4000-0002").await.is_empty());

    // Another key makes another charge; a bad key is refused.
    let r3 = post_charge(&app, Some("order-78"), &body).await;
    assert_eq!(r3.status(), StatusCode::CREATED);
    let c3: Charge = r3.json().await.unwrap();
    assert_ne!(c3.id, c1.id);
    let long = "k".repeat(300);
    let (status, code, _) = api_error(post_charge(&app, Some(&long), &body).await).await;
    assert_eq!((status.as_u16(), code.as_str()), (422, "invalid_field"));
    assert_eq!(all_charges(&app, DEMO_API_KEY, "").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_key_make_one_charge() {
    let app = spawn_app().await;
    let payer = "010-4100-0001";
    let body = demo_charge(21_000, payer);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (http, url, body) = (app.http.clone(), app.url("/v1/charges"), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(DEMO_API_KEY)
                .header("Idempotency-Key", "same-key-10x")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let c: Charge = r.json().await.unwrap();
            (status, c.id)
        }));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for t in tasks {
        let (status, id) = t.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}"
        );
        if status == StatusCode::CREATED {
            created += 1;
        }
        ids.insert(id);
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(created, 1, "exactly one request created the charge");
    settle_sms(&app).await;
    let all = all_charges(&app, DEMO_API_KEY, "").await;
    assert_eq!(all.len(), 1);
    assert_eq!(bills_for(&app, payer, None).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_and_pages() {
    let app = spawn_app().await;
    let accounts: Vec<Value> = app
        .get("/v1/accounts", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(accounts.len(), 50);
    let acc = accounts[3]["id"].as_str().unwrap().to_string();
    let (x, y) = ("010-5000-0001", "010-5000-0002");
    let mut ids = Vec::new();
    let mut with_account = HashSet::new();
    for i in 0..7 {
        let mut body = demo_charge(1_000 + i, if i < 3 { x } else { y });
        if i % 3 == 0 {
            body["account_id"] = json!(acc);
        }
        let c = app.charge(body).await;
        if i % 3 == 0 {
            with_account.insert(c.id.clone());
        }
        ids.push(c.id);
    }
    let canceled = ids[4].clone();
    let r = app
        .http
        .post(app.url(&format!("/v1/charges/{canceled}/cancel")))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let everything = list(&app, DEMO_API_KEY, "").await;
    assert_eq!(everything.items.len(), 7);
    assert!(everything.next.is_none());

    let by_x = list(&app, DEMO_API_KEY, "?payer_phone=01050000001").await;
    assert_eq!(by_x.items.len(), 3);
    assert!(by_x.items.iter().all(|c| c.payer_phone == x));
    let by_y = list(&app, DEMO_API_KEY, &format!("?payer_phone={y}")).await;
    assert_eq!(by_y.items.len(), 4);
    assert!(by_y.items.iter().all(|c| c.payer_phone == y));

    let by_acc = list(&app, DEMO_API_KEY, &format!("?account_id={acc}")).await;
    let got: HashSet<String> = by_acc.items.iter().map(|c| c.id.clone()).collect();
    assert_eq!(got, with_account);

    let by_status = list(&app, DEMO_API_KEY, "?status=canceled").await;
    assert_eq!(
        by_status
            .items
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        vec![canceled.as_str()]
    );
    for id in ids.iter().filter(|i| **i != canceled) {
        app.wait_status(id, "sms_sent").await;
    }
    let sent = list(&app, DEMO_API_KEY, "?status=sms_sent").await;
    assert_eq!(sent.items.len(), 6);
    assert!(sent.items.iter().all(|c| c.status == ChargeStatus::SmsSent));
    let combined = list(
        &app,
        DEMO_API_KEY,
        &format!("?status=sms_sent&payer_phone={y}"),
    )
    .await;
    assert_eq!(combined.items.len(), 3);
    assert!(list(&app, DEMO_API_KEY, "?status=approved")
        .await
        .items
        .is_empty());

    // Paging: limit + next/after walks every charge exactly once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &after {
            Some(a) => format!("?limit=3&after={a}"),
            None => "?limit=3".to_string(),
        };
        let page = list(&app, DEMO_API_KEY, &q).await;
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|c| c.id.clone()));
        match page.next {
            Some(n) => {
                assert_eq!(page.items.len(), 3);
                assert_eq!(Some(&n), page.items.last().map(|c| &c.id));
                after = Some(n);
            }
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>(),
        ids.iter().collect::<HashSet<_>>()
    );
    // Paging with a filter.
    let p1 = list(&app, DEMO_API_KEY, &format!("?payer_phone={y}&limit=2")).await;
    assert_eq!(p1.items.len(), 2);
    let p2 = list(
        &app,
        DEMO_API_KEY,
        &format!(
            "?payer_phone={y}&limit=2&after={}",
            p1.next.clone().unwrap()
        ),
    )
    .await;
    assert_eq!(p2.items.len(), 2);
    assert!(p2.next.is_none());
    let both: HashSet<_> = p1
        .items
        .iter()
        .chain(&p2.items)
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(both.len(), 4);

    // Bad filters are typed errors.
    for (q, code) in [
        ("?status=paid", "invalid_field"),
        ("?payer_phone=02-123-4567", "invalid_phone"),
        ("?limit=abc", "invalid_field"),
        ("?colour=red", "invalid_field"),
    ] {
        let (status, got, _) =
            api_error(app.get(&format!("/v1/charges{q}"), DEMO_API_KEY).await).await;
        assert_eq!((status.as_u16(), got.as_str()), (422, code), "{q}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_and_cancel() {
    let app = spawn_app().await;
    let payer = "010-6000-0001";
    let c = app.charge(demo_charge(9_900, payer)).await;
    let read = app.get_charge(&c.id).await;
    assert_eq!(read.id, c.id);
    assert_eq!(read.amount, 9_900);
    let (status, code, _) = api_error(app.get("/v1/charges/ch_nope", DEMO_API_KEY).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );

    // A bad cancel body changes nothing.
    let r = app
        .http
        .post(app.url(&format!("/v1/charges/{}/cancel", c.id)))
        .bearer_auth(DEMO_API_KEY)
        .header("content-type", "application/json")
        .body("{\"reason\": ")
        .send()
        .await
        .unwrap();
    let (status, code, _) = api_error(r).await;
    assert_eq!((status.as_u16(), code.as_str()), (422, "malformed_body"));
    let (status, code, _) = api_error(
        app.post_json(
            &format!("/v1/charges/{}/cancel", c.id),
            DEMO_API_KEY,
            &json!({"why": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!((status.as_u16(), code.as_str()), (422, "malformed_body"));
    assert!(app.get_charge(&c.id).await.status.is_pending());

    // Without a body.
    let r = app
        .http
        .post(app.url(&format!("/v1/charges/{}/cancel", c.id)))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let canceled: Charge = r.json().await.unwrap();
    assert_eq!(canceled.status, ChargeStatus::Canceled);
    assert!(canceled.virtual_number.is_none(), "the binding ends");
    let last = canceled.events.last().unwrap();
    assert_eq!(last.status, ChargeStatus::Canceled);
    assert_eq!(last.detail, None);
    // Canceling again answers the canceled charge; a refund is refused.
    let r = app
        .http
        .post(app.url(&format!("/v1/charges/{}/cancel", c.id)))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let again: Charge = r.json().await.unwrap();
    assert_eq!(again.events.len(), canceled.events.len());
    let (status, code, _) = api_error(
        app.http
            .post(app.url(&format!("/v1/charges/{}/refund", c.id)))
            .bearer_auth(DEMO_API_KEY)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "invalid_state")
    );

    // The number is free again for this payer.
    let c2 = app.charge(demo_charge(1_000, payer)).await;
    assert_eq!(c2.virtual_number.as_deref(), Some("1600-0010"));
    // With a body: the reason is kept on the event.
    let r = app
        .post_json(
            &format!("/v1/charges/{}/cancel", c2.id),
            DEMO_API_KEY,
            &json!({ "reason": "고객 요청으로 취소" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let canceled: Charge = r.json().await.unwrap();
    assert_eq!(canceled.status, ChargeStatus::Canceled);
    assert_eq!(
        canceled.events.last().unwrap().detail.as_deref(),
        Some("고객 요청으로 취소")
    );
    assert_eq!(app.get_charge(&c2.id).await.status, ChargeStatus::Canceled);
    // Cancel of an unknown charge.
    let (status, code, _) = api_error(
        app.http
            .post(app.url("/v1/charges/ch_nope/cancel"))
            .bearer_auth(DEMO_API_KEY)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    // A paid charge cannot be canceled (refund instead).
    let c3 = app.charge(demo_charge(2_000, payer)).await;
    app.pay_by_phone(
        "01060000001",
        c3.virtual_number.as_deref().unwrap(),
        APPROVE_CARD,
    )
    .await;
    assert_eq!(app.get_charge(&c3.id).await.status, ChargeStatus::Approved);
    let (status, code, _) = api_error(
        app.http
            .post(app.url(&format!("/v1/charges/{}/cancel", c3.id)))
            .bearer_auth(DEMO_API_KEY)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "invalid_state")
    );
}

fn row<'a>(rows: &'a [SettlementRow], key: &str) -> &'a SettlementRow {
    rows.iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("no row {key} in {rows:?}"))
}

fn check_row(r: &SettlementRow, name: &str, counts: (u64, i64, u64, i64)) {
    assert_eq!(r.name, name, "{r:?}");
    assert_eq!(
        (
            r.approved_count,
            r.approved_amount,
            r.refunded_count,
            r.refunded_amount
        ),
        counts,
        "{r:?}"
    );
    assert_eq!(r.net_amount, r.approved_amount - r.refunded_amount, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_by_card_company_and_rep() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    // BC 10,000 (API), KB 55,000 (rep1), BC 30,000 (API, then refunded).
    let a = app.charge(demo_charge(10_000, "010-7000-0001")).await;
    let r = app
        .post_json(
            "/v1/charges",
            &rep.access_token,
            &demo_charge(55_000, "010-7000-0002"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let b: Charge = r.json().await.unwrap();
    assert_eq!(b.origin, ChargeOrigin::App);
    assert_eq!(b.rep_id.as_deref(), Some(rep.rep.id.as_str()));
    let c = app.charge(demo_charge(30_000, "010-7000-0003")).await;
    // One that stays unpaid counts nowhere.
    app.charge(demo_charge(99_000, "010-7000-0004")).await;

    app.pay_by_phone(
        "01070000001",
        a.virtual_number.as_deref().unwrap(),
        APPROVE_CARD,
    )
    .await;
    app.pay_by_phone(
        "01070000002",
        b.virtual_number.as_deref().unwrap(),
        CANARY_CARD,
    )
    .await;
    app.pay_by_phone(
        "01070000003",
        c.virtual_number.as_deref().unwrap(),
        APPROVE_CARD,
    )
    .await;
    for (id, issuer) in [(&a.id, "01"), (&b.id, "02"), (&c.id, "01")] {
        let paid = app.get_charge(id).await;
        assert_eq!(paid.status, ChargeStatus::Approved);
        assert_eq!(paid.payment.as_ref().unwrap().issuer_code, issuer);
    }
    let r = app
        .http
        .post(app.url(&format!("/v1/charges/{}/refund", c.id)))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let refunded: Charge = r.json().await.unwrap();
    assert_eq!(refunded.status, ChargeStatus::Refunded);
    assert!(refunded.payment.as_ref().unwrap().refunded_at.is_some());
    // A second refund answers the refunded charge again.
    let r = app
        .post_json(
            &format!("/v1/charges/{}/refund", c.id),
            DEMO_API_KEY,
            &json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Charge>().await.unwrap().status,
        ChargeStatus::Refunded
    );

    let r = app.get("/v1/settlement", DEMO_API_KEY).await;
    assert_eq!(r.status(), StatusCode::OK);
    let rep_today: SettlementReport = r.json().await.unwrap();
    let today = Utc::now()
        .with_timezone(&fieldpay_server::clock::kst())
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(rep_today.date, today);
    assert_eq!(
        rep_today.by_card_company.len(),
        2,
        "{:?}",
        rep_today.by_card_company
    );
    check_row(
        row(&rep_today.by_card_company, "01"),
        "BC카드",
        (2, 40_000, 1, 30_000),
    );
    check_row(
        row(&rep_today.by_card_company, "02"),
        "KB국민카드",
        (1, 55_000, 0, 0),
    );
    assert_eq!(rep_today.by_rep.len(), 2, "{:?}", rep_today.by_rep);
    check_row(
        row(&rep_today.by_rep, &rep.rep.id),
        "김영업",
        (1, 55_000, 0, 0),
    );
    check_row(row(&rep_today.by_rep, "api"), "API", (2, 40_000, 1, 30_000));
    check_row(&rep_today.total, "합계", (3, 95_000, 1, 30_000));
    assert_eq!(rep_today.total.net_amount, 65_000);
    let by_rep_net: i64 = rep_today.by_rep.iter().map(|r| r.net_amount).sum();
    assert_eq!(by_rep_net, rep_today.total.net_amount);

    // The same day named explicitly; another day is empty.
    let explicit: SettlementReport = app
        .get(&format!("/v1/settlement?date={today}"), DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(explicit, rep_today);
    let other: SettlementReport = app
        .get("/v1/settlement?date=2001-01-01", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert!(other.by_card_company.is_empty() && other.by_rep.is_empty());
    assert_eq!((other.total.approved_count, other.total.net_amount), (0, 0));
    // A rep (without the manager role) sees its own payments only: the same numbers as its
    // row of the merchant's report; the manager sees the merchant's report.
    let as_rep: SettlementReport = app
        .get("/v1/settlement", &rep.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(as_rep.by_rep.len(), 1, "{:?}", as_rep.by_rep);
    assert_eq!(&as_rep.by_rep[0], row(&rep_today.by_rep, &rep.rep.id));
    check_row(&as_rep.total, "합계", (1, 55_000, 0, 0));
    check_row(
        row(&as_rep.by_card_company, "02"),
        "KB국민카드",
        (1, 55_000, 0, 0),
    );
    let manager = login(&app, "manager", "demo1234").await;
    let as_manager: SettlementReport = app
        .get("/v1/settlement", &manager.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(as_manager, rep_today);

    // CSV: header and the same numbers.
    let r = app.get("/v1/settlement.csv", DEMO_API_KEY).await;
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "date,table,key,name,approved_count,approved_amount,refunded_count,refunded_amount,net_amount");
    let mut expected = vec![];
    for (table, rows) in [
        ("card_company", &rep_today.by_card_company),
        ("rep", &rep_today.by_rep),
    ] {
        for r in rows {
            expected.push((table, r.clone()));
        }
    }
    expected.push(("total", rep_today.total.clone()));
    assert_eq!(lines.len(), 1 + expected.len(), "{text}");
    for (line, (table, r)) in lines[1..].iter().zip(&expected) {
        let want = format!(
            "{today},{table},{},{},{},{},{},{},{}",
            r.key,
            r.name,
            r.approved_count,
            r.approved_amount,
            r.refunded_count,
            r.refunded_amount,
            r.net_amount
        );
        assert_eq!(*line, want);
    }
    assert!(
        text.contains(&format!(
            "{today},card_company,02,KB국민카드,1,55000,0,0,55000"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{today},total,total,{},3,95000,1,30000,65000",
            rep_today.total.name
        )),
        "{text}"
    );

    // Bad dates.
    for q in [
        "?date=2024-13-01",
        "?date=yesterday",
        "?date=20240101",
        "?day=2024-01-01",
    ] {
        let (status, code, _) =
            api_error(app.get(&format!("/v1/settlement{q}"), DEMO_API_KEY).await).await;
        assert_eq!(
            (status.as_u16(), code.as_str()),
            (422, "invalid_field"),
            "{q}"
        );
        let (status, _, _) = api_error(
            app.get(&format!("/v1/settlement.csv{q}"), DEMO_API_KEY)
                .await,
        )
        .await;
        assert_eq!(status.as_u16(), 422, "csv {q}");
    }
}

/// The served document lists every route, and each operation, called without credentials,
/// is served, answers 401 exactly when the document asks for the bearer, and answers a status
/// and content type the document lists for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    let text = r.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).expect("the OpenAPI document is JSON");
    let version = doc["openapi"].as_str().expect("an openapi version field");
    assert!(version.starts_with("3."), "{version}");
    assert!(doc["info"]["title"].is_string(), "info.title");
    let paths = doc["paths"].as_object().expect("a paths object");
    let served = [
        "/",
        "/health",
        "/v1/openapi.json",
        "/v1/charges",
        "/v1/charges/{id}",
        "/v1/charges/{id}/cancel",
        "/v1/charges/{id}/refund",
        "/v1/charges/{id}/resend",
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/sync",
        "/v1/mutations",
        "/v1/events",
        "/v1/settlement",
        "/v1/settlement.csv",
        "/v1/accounts",
        "/v1/accounts/{id}",
        "/v1/orders/{id}",
        "/v1/orders/{id}/pdf",
        "/v1/orders/{id}/shares",
        "/d/{token}",
        "/v1/manager/visits",
        "/v1/webhooks/deliveries",
        "/r/{token}",
        "/v1/payment-links",
        "/v1/payment-links/{id}",
        "/v1/payment-links/{id}/cancel",
        "/v1/manager/link-key",
        "/v1/manager/collections/{id}/void",
        "/pay/{merchant_code}",
        "/l/{id}",
        "/pay/s/{token}",
        "/pay/s/{token}/state",
        "/pay/s/{token}/events",
        "/web/style.css",
        "/web/status.js",
        "/telephony/twiml/voice",
        "/sandbox/phone",
        "/sandbox/sms",
        "/sandbox/calls",
        "/sandbox/calls/{id}/input",
        "/sandbox/clock/advance",
        "/admin/v1/merchants",
        "/admin/v1/merchants/{code}",
        "/admin/v1/merchants/{code}/numbers",
        "/admin/v1/operator-tokens",
        "/admin/v1/audit",
        "/v1/auth/password",
    ];
    let missing: Vec<&str> = served
        .iter()
        .copied()
        .filter(|p| !paths.contains_key(*p))
        .collect();
    assert!(
        missing.is_empty(),
        "paths missing from the OpenAPI document: {missing:?}"
    );
    let bearer = json!([{ "bearer": [] }]);
    let operator = json!([{ "operator": [] }]);
    let mut calls = 0;
    for (path, item) in paths {
        let ops = item.as_object().expect("a path item");
        assert!(!ops.is_empty(), "path {p} has no operations", p = path);
        for (method, op) in ops {
            let what = format!("{method} {path}");
            // Path parameters get a value no resource has; no body, no credentials.
            let url: Vec<&str> = path
                .split('/')
                .map(|s| if s.starts_with('{') { "unknown" } else { s })
                .collect();
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app
                .http
                .request(method, app.url(&url.join("/")))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let media = r.headers().get("content-type").map(|v| {
                v.to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .trim()
                    .to_string()
            });
            let body = r.bytes().await.unwrap();
            let unrouted = status == StatusCode::METHOD_NOT_ALLOWED
                || (status == StatusCode::NOT_FOUND && body.is_empty());
            assert!(!unrouted, "{what}: described but not served ({status})");
            assert_eq!(
                status == StatusCode::UNAUTHORIZED,
                op["security"] == bearer || op["security"] == operator,
                "{what}: answered {status} without credentials; security {}",
                op["security"]
            );
            let documented = &op["responses"][status.as_str()];
            assert!(
                documented.is_object(),
                "{what}: answered {status}, which the document does not list"
            );
            if let Some(media) = media.filter(|_| !body.is_empty()) {
                assert!(
                    documented["content"][media.as_str()].is_object(),
                    "{what}: answered {status} as {media}; documented {documented}"
                );
            }
            calls += 1;
        }
    }
    assert!(calls > served.len(), "{calls} operations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_follow_charges() {
    let app = spawn_app().await;
    let mut merchant_stream = EventStream::open(&app, DEMO_API_KEY).await;
    let c = app.charge(demo_charge(4_000, "010-8000-0001")).await;
    let seen = merchant_stream
        .charges_until(|e| e.charge_id == c.id && e.status == ChargeStatus::SmsSent)
        .await;
    let mine: Vec<ChargeStatus> = seen
        .iter()
        .filter(|e| e.charge_id == c.id)
        .map(|e| e.status)
        .collect();
    assert_eq!(mine, vec![ChargeStatus::Requested, ChargeStatus::SmsSent]);
    let first = &seen[0];
    assert_eq!((first.amount, first.rep_id.as_deref()), (4_000, None));
    assert!(!first.at.is_empty());

    // A rep's stream only carries the charges that rep requested.
    let rep = login(&app, "rep1", "demo1234").await;
    let rep2 = login(&app, "rep2", "demo1234").await;
    let mut rep_stream = EventStream::open(&app, &rep.access_token).await;
    let api_charge = app.charge(demo_charge(5_000, "010-8000-0002")).await;
    merchant_stream
        .charges_until(|e| e.charge_id == api_charge.id && e.status == ChargeStatus::SmsSent)
        .await;
    let r = app
        .post_json(
            "/v1/charges",
            &rep2.access_token,
            &demo_charge(5_500, "010-8000-0004"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rep2_charge: Charge = r.json().await.unwrap();
    merchant_stream
        .charges_until(|e| e.charge_id == rep2_charge.id && e.status == ChargeStatus::SmsSent)
        .await;
    let r = app
        .post_json(
            "/v1/charges",
            &rep.access_token,
            &demo_charge(6_000, "010-8000-0003"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rep_charge: Charge = r.json().await.unwrap();
    let seen = rep_stream
        .charges_until(|e| e.charge_id == rep_charge.id && e.status == ChargeStatus::SmsSent)
        .await;
    assert!(
        seen.iter().all(|e| e.charge_id == rep_charge.id),
        "the rep saw other charges: {seen:?}"
    );
    assert!(seen
        .iter()
        .all(|e| e.rep_id.as_deref() == Some(rep.rep.id.as_str())));
    assert_eq!(seen[0].status, ChargeStatus::Requested);
    // The merchant's stream sees the rep's charge as well; cancel shows on both.
    merchant_stream
        .charges_until(|e| e.charge_id == rep_charge.id && e.status == ChargeStatus::SmsSent)
        .await;
    let r = app
        .http
        .post(app.url(&format!("/v1/charges/{}/cancel", rep_charge.id)))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let seen = rep_stream
        .charges_until(|e| e.status == ChargeStatus::Canceled)
        .await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].charge_id, rep_charge.id);
    merchant_stream
        .charges_until(|e| e.charge_id == rep_charge.id && e.status == ChargeStatus::Canceled)
        .await;
    // Without credentials there is no stream.
    let r = app.http.get(app.url("/v1/events")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_clock_moves_the_whole_timeline() {
    // The sandbox clock can be moved forward (to show expiry); a payment made afterwards must
    // still be dated after its charge and count in the server's "today".
    let app = spawn_app().await;
    let r = app
        .http
        .post(app.url("/sandbox/clock/advance"))
        .json(&json!({ "minutes": 24 * 60 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c = app.charge(demo_charge(10_000, "010-9000-0001")).await;
    app.pay_by_phone(
        "01090000001",
        c.virtual_number.as_deref().unwrap(),
        APPROVE_CARD,
    )
    .await;
    let paid = app.get_charge(&c.id).await;
    assert_eq!(paid.status, ChargeStatus::Approved);
    let p = paid.payment.clone().unwrap();
    let approved_event = paid
        .events
        .iter()
        .find(|e| e.status == ChargeStatus::Approved)
        .unwrap();
    assert!(
        p.approved_at >= paid.created_at,
        "approved at {} before the charge was created at {}",
        p.approved_at,
        paid.created_at
    );
    assert!(
        (minutes_between(&p.approved_at, &approved_event.at)).abs() < 1.0,
        "payment time {} and approved event {} disagree",
        p.approved_at,
        approved_event.at
    );
    let report: SettlementReport = app
        .get("/v1/settlement", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report.total.approved_count, 1, "{report:?}");
    assert_eq!(report.total.approved_amount, 10_000);
}

fn minutes_between(a: &str, b: &str) -> f64 {
    let a = DateTime::parse_from_rfc3339(a).unwrap();
    let b = DateTime::parse_from_rfc3339(b).unwrap();
    (a - b).num_milliseconds() as f64 / 60_000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_by_creation_time_takes_any_rfc3339_offset() {
    let app = spawn_app().await;
    let c = app.charge(demo_charge(1_000, "010-9100-0001")).await;
    let created = DateTime::parse_from_rfc3339(&c.created_at)
        .unwrap()
        .with_timezone(&Utc);
    let kst = fieldpay_server::clock::kst();
    let fmt = |t: DateTime<Utc>, kst_form: bool| {
        if kst_form {
            t.with_timezone(&kst)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
        } else {
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        }
    };
    let second = chrono::Duration::seconds(1);
    for kst_form in [false, true] {
        let query = |pairs: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let r = app
                    .http
                    .get(app.url("/v1/charges"))
                    .bearer_auth(DEMO_API_KEY)
                    .query(&pairs)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let text = r.text().await.unwrap();
                assert_eq!(status, StatusCode::OK, "{pairs:?}: {text}");
                serde_json::from_str::<ChargeList>(&text)
                    .unwrap()
                    .items
                    .len()
            }
        };
        let around = vec![
            ("from", fmt(created - second, kst_form)),
            ("to", fmt(created + second, kst_form)),
        ];
        assert_eq!(
            query(around.clone()).await,
            1,
            "{around:?} (created {})",
            c.created_at
        );
        let before = vec![("to", fmt(created - second, kst_form))];
        assert_eq!(query(before.clone()).await, 0, "{before:?}");
        let later = vec![("from", fmt(created + second, kst_form))];
        assert_eq!(query(later.clone()).await, 0, "{later:?}");
    }
    for bad in ["yesterday", "2026-13-01T00:00:00Z", "12:00"] {
        let r = app
            .http
            .get(app.url("/v1/charges"))
            .bearer_auth(DEMO_API_KEY)
            .query(&[("from", bad)])
            .send()
            .await
            .unwrap();
        let (status, code, _) = api_error(r).await;
        assert_eq!(
            (status.as_u16(), code.as_str()),
            (422, "invalid_field"),
            "from={bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_refund_once() {
    let app = spawn_app().await;
    let accounts: Vec<Value> = app
        .get("/v1/accounts", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    let acc = accounts[1]["id"].as_str().unwrap().to_string();
    let balance = |app: &TestApp| {
        let (http, url) = (app.http.clone(), app.url(&format!("/v1/accounts/{acc}")));
        async move {
            let v: Value = http
                .get(url)
                .bearer_auth(DEMO_API_KEY)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["balance"].as_i64().unwrap()
        }
    };
    let start = balance(&app).await;
    let payer = "010-9200-0001";
    let mut body = demo_charge(20_000, payer);
    body["account_id"] = json!(acc);
    let c = app.charge(body).await;
    app.pay_by_phone(
        "01092000001",
        c.virtual_number.as_deref().unwrap(),
        APPROVE_CARD,
    )
    .await;
    assert_eq!(app.get_charge(&c.id).await.status, ChargeStatus::Approved);
    assert_eq!(
        balance(&app).await,
        start - 20_000,
        "the payment lowers the receivable"
    );
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (http, url) = (
            app.http.clone(),
            app.url(&format!("/v1/charges/{}/refund", c.id)),
        );
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(DEMO_API_KEY)
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.text().await.unwrap())
        }));
    }
    for t in tasks {
        let (status, text) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{text}");
        let ch: Charge = serde_json::from_str(&text).unwrap();
        assert_eq!(ch.status, ChargeStatus::Refunded);
    }
    let ch = app.get_charge(&c.id).await;
    assert_eq!(
        ch.events
            .iter()
            .filter(|e| e.status == ChargeStatus::Refunded)
            .count(),
        1,
        "{:?}",
        ch.events
    );
    assert_eq!(
        balance(&app).await,
        start,
        "one refund entry restores the receivable"
    );
    settle_sms(&app).await;
    let notices = app
        .sms(payer)
        .await
        .into_iter()
        .filter(|s| s.kind == SmsKind::Notice)
        .count();
    assert_eq!(notices, 1);
    let report: SettlementReport = app
        .get("/v1/settlement", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            report.total.refunded_count,
            report.total.refunded_amount,
            report.total.net_amount
        ),
        (1, 20_000, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_pending_charge_of_a_payer_gets_its_own_number() {
    let app = spawn_app().await;
    let payer = "010-9300-0001";
    let mut numbers = HashSet::new();
    let mut ids = Vec::new();
    for i in 0..10 {
        let c = app.charge(demo_charge(1_000 + i, payer)).await;
        assert!(
            numbers.insert(c.virtual_number.clone().unwrap()),
            "number reused: {:?}",
            c.virtual_number
        );
        ids.push(c.id);
    }
    // Another payer shares the numbers.
    let other = app.charge(demo_charge(1_000, "010-9300-0002")).await;
    assert_eq!(other.virtual_number.as_deref(), Some("1600-0010"));
    // The pool is used up for this payer: 503, nothing stored, no text.
    settle_sms(&app).await;
    let (status, code, _) =
        api_error(post_charge(&app, None, &demo_charge(5_000, payer)).await).await;
    assert_eq!(
        (status.as_u16(), code.as_str()),
        (503, "number_pool_exhausted")
    );
    settle_sms(&app).await;
    assert_eq!(
        all_charges(&app, DEMO_API_KEY, &format!("&payer_phone={payer}"))
            .await
            .len(),
        10
    );
    assert_eq!(bills_for(&app, payer, None).await, 10);
    // Ending one binding frees its number.
    let freed = app.get_charge(&ids[3]).await.virtual_number.unwrap();
    let r = app
        .http
        .post(app.url(&format!("/v1/charges/{}/cancel", ids[3])))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c = app.charge(demo_charge(5_000, payer)).await;
    assert_eq!(c.virtual_number.as_deref(), Some(freed.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_idempotency_key_make_one_charge() {
    let app = spawn_app().await;
    let payer = "010-4100-0001";
    let body = demo_charge(21_000, payer);
    // 24 at once: they land in the same group commits and in different ones.
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let (http, url, body) = (app.http.clone(), app.url("/v1/charges"), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(DEMO_API_KEY)
                .header("Idempotency-Key", "same-key-24")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<Charge>().await.unwrap())
        }));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for t in tasks {
        let (status, c) = t.await.unwrap();
        assert!(status == StatusCode::CREATED || status == StatusCode::OK);
        created += usize::from(status == StatusCode::CREATED);
        ids.insert(c.id);
    }
    assert_eq!(ids.len(), 1, "one charge for one key");
    assert_eq!(created, 1, "created once, replayed to the others");
    settle_sms(&app).await;
    assert_eq!(all_charges(&app, DEMO_API_KEY, "").await.len(), 1);
    assert_eq!(bills_for(&app, payer, None).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_charges_to_one_payer_never_share_a_number() {
    let app = spawn_app().await;
    let payer = "010-4100-0002";
    let pool = 10; // the demo merchant's numbers
    let mut tasks = Vec::new();
    for i in 0..pool + 4 {
        let (http, url, body) = (
            app.http.clone(),
            app.url("/v1/charges"),
            demo_charge(10_000 + i as i64, payer),
        );
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(DEMO_API_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut numbers = HashSet::new();
    let mut exhausted = 0;
    for t in tasks {
        let (status, v) = t.await.unwrap();
        if status == StatusCode::CREATED {
            assert!(numbers.insert(v["virtual_number"].as_str().unwrap().to_string()));
        } else {
            assert_eq!(v["error"]["code"], "number_pool_exhausted", "{v}");
            exhausted += 1;
        }
    }
    assert_eq!((numbers.len(), exhausted), (pool, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_api_key_is_refused_on_the_next_request() {
    let app = spawn_app().await;
    let key = app.second_merchant("revoker", &["15880009"]);
    let r = app.get("/v1/charges", &key).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the key works (and is now cached)"
    );
    let store = app.store();
    let hash = fieldpay_server::auth::hash_secret(&key);
    let owner = store.api_key(&hash).unwrap().unwrap();
    assert!(store
        .revoke_api_key(&owner.merchant_id, &owner.key_id)
        .unwrap());
    let (status, code, _) = api_error(app.get("/v1/charges", &key).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (status, _, _) = api_error(
        app.post_json("/v1/charges", &key, &demo_charge(1_000, "010-4100-0003"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Other keys are unaffected.
    assert_eq!(
        app.get("/v1/charges", DEMO_API_KEY).await.status(),
        StatusCode::OK
    );
}
