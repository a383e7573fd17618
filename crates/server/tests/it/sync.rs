//! Device sync: pull by cursor, push mutation batches (orders with signature and PDF, charges),
//! retried mutations applied once, per-mutation rejections, and CSV import (library and CLI).

use std::collections::{HashMap, HashSet};
use std::process::Command;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::Utc;
use fieldpay_protocol::charge::{Charge, ChargeOrigin, ChargeStatus};
use fieldpay_protocol::records::{Account, LedgerKind, Order, OrderStatus, Product};
use fieldpay_protocol::sms::SmsKind;
use fieldpay_protocol::sync::{Change, ChangeData, MutationOutcome, MutationResults, SyncPage};
use fieldpay_server::demo::DEMO_API_KEY;
use fieldpay_server::import::{import, ImportError, ImportKind};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{self, demo_charge, login, settle_sms, spawn_app, TestApp, Tokens};

/// A 1x1 PNG.
pub(crate) const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
pub(crate) const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

pub(crate) fn uid() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn entity(c: &Change) -> &'static str {
    match &c.data {
        ChangeData::Account(_) => "account",
        ChangeData::Product(_) => "product",
        ChangeData::AccountPrice(_) => "account_price",
        ChangeData::Ledger(_) => "ledger",
        ChangeData::Order(_) => "order",
        ChangeData::Charge(_) => "charge",
        ChangeData::Collection(_) => "collection",
    }
}

pub(crate) async fn pull(app: &TestApp, token: &str, cursor: i64, limit: u32) -> SyncPage {
    let r = app
        .get(&format!("/v1/sync?cursor={cursor}&limit={limit}"), token)
        .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Pulls every page from `cursor`; returns the changes and the final cursor.
pub(crate) async fn pull_all(
    app: &TestApp,
    token: &str,
    mut cursor: i64,
    limit: u32,
) -> (Vec<Change>, i64) {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let page = pull(app, token, cursor, limit).await;
        assert!(page.changes.len() <= limit as usize);
        for c in &page.changes {
            assert!(c.seq > cursor, "seq {} not after cursor {cursor}", c.seq);
        }
        if let Some(last) = page.changes.last() {
            assert_eq!(page.cursor, last.seq);
        } else {
            assert_eq!(page.cursor, cursor);
        }
        if page.has_more {
            assert_eq!(
                page.changes.len(),
                limit as usize,
                "a full page before more"
            );
        }
        cursor = page.cursor;
        out.extend(page.changes);
        if !page.has_more {
            return (out, cursor);
        }
    }
    panic!("pull never ended");
}

pub(crate) async fn push(app: &TestApp, token: &str, mutations: &Value) -> MutationResults {
    let r = app
        .post_json("/v1/mutations", token, &json!({ "mutations": mutations }))
        .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn applied_order(o: &MutationOutcome) -> Order {
    match o {
        MutationOutcome::Applied {
            order: Some(order), ..
        } => Order::clone(order),
        other => panic!("expected an applied order: {other:?}"),
    }
}

fn applied_charge(o: &MutationOutcome) -> Charge {
    match o {
        MutationOutcome::Applied {
            charge: Some(c), ..
        } => Charge::clone(c),
        other => panic!("expected an applied charge: {other:?}"),
    }
}

fn rejected(o: &MutationOutcome) -> (String, String) {
    match o {
        MutationOutcome::Rejected { error } => {
            (error.code.as_str().to_string(), error.message.clone())
        }
        other => panic!("expected a rejection: {other:?}"),
    }
}

pub(crate) struct Demo {
    pub rep: Tokens,
    pub accounts: Vec<Account>,
    pub products: Vec<Product>,
}

pub(crate) async fn demo(app: &TestApp) -> Demo {
    let rep = login(app, "rep1", "demo1234").await;
    let (changes, _) = pull_all(app, &rep.access_token, 0, 5000).await;
    let mut accounts = Vec::new();
    let mut products = Vec::new();
    for c in changes {
        match c.data {
            ChangeData::Account(a) => accounts.push(a),
            ChangeData::Product(p) => products.push(p),
            _ => {}
        }
    }
    accounts.sort_by(|a, b| a.code.cmp(&b.code));
    products.sort_by(|a, b| a.code.cmp(&b.code));
    Demo {
        rep,
        accounts,
        products,
    }
}

pub(crate) async fn balance(app: &TestApp, account_id: &str) -> i64 {
    let r = app
        .get(&format!("/v1/accounts/{account_id}"), DEMO_API_KEY)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["balance"].as_i64().unwrap()
}

pub(crate) fn upsert(order_id: &str, account_id: &str, lines: Value) -> Value {
    json!({ "client_id": uid(), "op": { "type": "upsert_order", "order_id": order_id, "account_id": account_id, "lines": lines, "memo": "오전 방문" } })
}

/// The device's signature of an order `upsert` made: `lines` are (product, quantity, unit
/// price the line is priced at), in the upsert's order.
pub(crate) fn sign(
    d: &Demo,
    order_id: &str,
    account_id: &str,
    lines: &[(&Product, i64, i64)],
    png_b64: &str,
    pdf: Option<&[u8]>,
) -> Value {
    let lines: Vec<(&str, i64, i64)> = lines
        .iter()
        .map(|(p, q, price)| (p.id.as_str(), *q, *price))
        .collect();
    let mut evidence = helpers::evidence(
        &d.rep.rep.merchant_id,
        account_id,
        order_id,
        &lines,
        "오전 방문",
    );
    evidence["device"] = json!("Galaxy Tab S9");
    evidence["gps"] = json!([37.5665, 126.978]);
    evidence["strokes_json"] = json!("[[{\"x\":1,\"y\":2,\"t\":0,\"pressure\":0.5}]]");
    let mut op = json!({
        "type": "sign_order",
        "order_id": order_id,
        "evidence": evidence,
        "signature_png": png_b64
    });
    if let Some(p) = pdf {
        op["pdf"] = json!(B64.encode(p));
    }
    json!({ "client_id": uid(), "op": op })
}

pub(crate) fn submit(order_id: &str) -> Value {
    json!({ "client_id": uid(), "op": { "type": "submit_order", "order_id": order_id } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_pull_pages_through_everything_then_deltas() {
    let app = spawn_app().await;
    let c1 = app.charge(demo_charge(1_000, "010-2100-0001")).await;
    let c2 = app.charge(demo_charge(2_000, "010-2100-0002")).await;
    app.wait_status(&c1.id, "sms_sent").await;
    app.wait_status(&c2.id, "sms_sent").await;
    // The manager's device gets every record of the merchant (a rep's gets its own charges
    // and orders only: see roles.rs).
    let rep = login(&app, "manager", "demo1234").await;

    let mut cursor = 0;
    let mut pages = 0;
    let mut changes = Vec::new();
    loop {
        let page = pull(&app, &rep.access_token, cursor, 20).await;
        pages += 1;
        assert!(page.changes.len() <= 20);
        for c in &page.changes {
            assert!(c.seq > cursor);
        }
        if page.has_more {
            assert_eq!(page.changes.len(), 20);
        }
        assert_eq!(
            page.cursor,
            page.changes.last().map(|c| c.seq).unwrap_or(cursor)
        );
        cursor = page.cursor;
        changes.extend(page.changes);
        if !page.has_more {
            break;
        }
        assert!(pages < 100);
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for c in &changes {
        *counts.entry(entity(c)).or_default() += 1;
    }
    assert_eq!(counts.get("account"), Some(&50), "{counts:?}");
    assert_eq!(counts.get("product"), Some(&100), "{counts:?}");
    assert_eq!(
        counts.get("ledger"),
        Some(&25),
        "opening balances of every other account: {counts:?}"
    );
    assert_eq!(counts.get("charge"), Some(&2), "{counts:?}");
    let total = changes.len();
    assert_eq!(total, 177);
    assert_eq!(pages, total.div_ceil(20));
    let seqs: Vec<i64> = changes.iter().map(|c| c.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seqs increase");
    // Each record once.
    let ids: HashSet<String> = changes
        .iter()
        .map(|c| match &c.data {
            ChangeData::Account(a) => a.id.clone(),
            ChangeData::Product(p) => p.id.clone(),
            ChangeData::Ledger(l) => l.id.clone(),
            ChangeData::Charge(c) => c.id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids.len(), total);
    // The pulled charges are current.
    for c in &changes {
        if let ChangeData::Charge(ch) = &c.data {
            assert_eq!(ch.status, ChargeStatus::SmsSent);
        }
    }
    // The ledger in the pull adds up to the balances.
    let mut sums: HashMap<String, i64> = HashMap::new();
    for c in &changes {
        if let ChangeData::Ledger(l) = &c.data {
            assert_eq!(l.kind, LedgerKind::Adjustment);
            *sums.entry(l.account_id.clone()).or_default() += l.amount;
        }
    }
    for (acc, sum) in sums.iter().take(3) {
        assert_eq!(balance(&app, acc).await, *sum);
    }

    // Nothing new: an empty page, same cursor.
    let again = pull(&app, &rep.access_token, cursor, 20).await;
    assert!(again.changes.is_empty());
    assert!(!again.has_more);
    assert_eq!(again.cursor, cursor);

    // A new charge, then its later changes: the delta holds it once, as it is now.
    let c3 = app.charge(demo_charge(3_000, "010-2100-0003")).await;
    let delta = pull(&app, &rep.access_token, cursor, 20).await;
    assert_eq!(delta.changes.len(), 1, "{:?}", delta.changes);
    match &delta.changes[0].data {
        ChangeData::Charge(c) => assert_eq!(c.id, c3.id),
        other => panic!("{other:?}"),
    }
    app.wait_status(&c3.id, "sms_sent").await;
    let r = app
        .http
        .post(app.url(&format!("/v1/charges/{}/cancel", c3.id)))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let delta = pull(&app, &rep.access_token, cursor, 20).await;
    assert_eq!(
        delta.changes.len(),
        1,
        "requested, sms_sent and canceled collapse into one: {:?}",
        delta.changes
    );
    match &delta.changes[0].data {
        ChangeData::Charge(c) => {
            assert_eq!(c.id, c3.id);
            assert_eq!(c.status, ChargeStatus::Canceled);
            assert_eq!(c.events.len(), 3);
        }
        other => panic!("{other:?}"),
    }
    assert!(!delta.has_more);
    let after = pull(&app, &rep.access_token, delta.cursor, 20).await;
    assert!(after.changes.is_empty());
    // Paging with limit 1 from the start still ends, at the same cursor.
    let (all, end) = pull_all(&app, &rep.access_token, 0, 1).await;
    assert_eq!(all.len(), total + 1);
    assert_eq!(end, delta.cursor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_signature_submit_and_charge_by_mutation() {
    let app = spawn_app().await;
    let d = demo(&app).await;
    // rep1's half of the demo clients, and the whole catalogue.
    assert_eq!((d.accounts.len(), d.products.len()), (25, 100));
    // The account with the highest limit.
    let account = d
        .accounts
        .iter()
        .max_by_key(|a| a.credit_limit)
        .unwrap()
        .clone();
    let before = balance(&app, &account.id).await;
    let (p1, p2) = (&d.products[0], &d.products[1]);
    // The merchant lets reps give up to 10% off the price list; the third line is priced by
    // hand within it.
    let store = app.store();
    let m = store.merchant_by_code("demo").unwrap().unwrap();
    let mut settings = m.settings.clone();
    settings.manual_price_max_discount_pct = Some(10);
    store.update_merchant_settings(&m.id, &settings).unwrap();
    let manual = p1.unit_price * 19 / 20 - 3;
    let order_id = uid();
    let lines = json!([
        { "product_id": p1.id, "quantity": 3 },
        { "product_id": p2.id, "quantity": 2 },
        { "product_id": p1.id, "quantity": 3, "unit_price": manual }
    ]);
    let priced = [
        (p1, 3, p1.unit_price),
        (p2, 2, p2.unit_price),
        (p1, 3, manual),
    ];
    let supply = 3 * p1.unit_price + 2 * p2.unit_price + 3 * manual;
    let vat = supply / 10;
    let charge_id = uid();
    let batch = json!([
        upsert(&order_id, &account.id, lines),
        sign(&d, &order_id, &account.id, &priced, PNG_1X1, Some(PDF)),
        submit(&order_id),
        { "client_id": uid(), "op": { "type": "request_charge", "charge_id": charge_id, "request": {
            "amount": supply + vat, "goods_name": format!("주문 {order_id}"), "payer_phone": "010-2200-0001",
            "account_id": account.id, "order_ref": order_id } } }
    ]);
    let res = push(&app, &d.rep.access_token, &batch).await;
    assert_eq!(res.results.len(), 4);
    for (r, m) in res.results.iter().zip(batch.as_array().unwrap()) {
        assert_eq!(r.client_id, m["client_id"].as_str().unwrap());
    }
    let draft = applied_order(&res.results[0].outcome);
    assert_eq!(draft.id, order_id);
    assert_eq!(draft.status, OrderStatus::Draft);
    assert_eq!(draft.rep_id.as_deref(), Some(d.rep.rep.id.as_str()));
    assert_eq!(draft.lines.len(), 3);
    assert_eq!(draft.lines[0].unit_price, p1.unit_price);
    assert_eq!(draft.lines[2].unit_price, manual);
    assert_eq!(draft.lines[2].line_total, 3 * manual);
    assert!(draft.lines[2].manual_price && !draft.lines[0].manual_price);
    assert_eq!(draft.memo, "오전 방문");
    let signed = applied_order(&res.results[1].outcome);
    assert_eq!(signed.status, OrderStatus::Signed);
    assert!(signed.has_signature_image && signed.has_pdf);
    assert_eq!(signed.signature.as_ref().unwrap().signer_name, "김민수");
    let order = applied_order(&res.results[2].outcome);
    assert_eq!(order.status, OrderStatus::Registered);
    let today = Utc::now()
        .with_timezone(&fieldpay_server::clock::kst())
        .format("%Y%m%d")
        .to_string();
    assert_eq!(
        order.number.as_deref(),
        Some(format!("PO-{today}-0001").as_str())
    );
    assert_eq!(order.totals.supply, supply);
    assert_eq!(order.totals.vat, vat);
    assert_eq!(order.totals.total, supply + vat);
    assert_eq!(
        vat,
        (supply - supply % 10) / 10,
        "VAT is floor(supply / 10)"
    );
    assert!(
        supply % 10 != 0,
        "the test needs a supply that is not a multiple of 10: {supply}"
    );
    assert_eq!(
        balance(&app, &account.id).await,
        before + order.totals.total
    );

    let charge = applied_charge(&res.results[3].outcome);
    assert_eq!(charge.id, charge_id);
    assert_eq!(charge.origin, ChargeOrigin::App);
    assert_eq!(charge.rep_id.as_deref(), Some(d.rep.rep.id.as_str()));
    assert_eq!(charge.account_id.as_deref(), Some(account.id.as_str()));
    assert_eq!(charge.amount, supply + vat);
    assert_eq!(app.get_charge(&charge_id).await.id, charge_id);

    // The order as read back, and its PDF byte for byte.
    let read: Order = app
        .get(&format!("/v1/orders/{order_id}"), &d.rep.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, order);
    let r = app
        .get(&format!("/v1/orders/{order_id}/pdf"), DEMO_API_KEY)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);

    // A pull shows the order, one order ledger entry and the charge.
    let (changes, _) = pull_all(&app, &d.rep.access_token, 0, 5000).await;
    let entries: Vec<_> = changes
        .iter()
        .filter_map(|c| match &c.data {
            ChangeData::Ledger(l) if l.ref_id.as_deref() == Some(order_id.as_str()) => {
                Some(l.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].kind, entries[0].amount),
        (LedgerKind::Order, supply + vat)
    );
    assert!(entries[0].memo.contains(order.number.as_deref().unwrap()));
    assert!(changes.iter().any(|c| matches!(&c.data, ChangeData::Order(o) if o.id == order_id && o.status == OrderStatus::Registered)));
    assert!(changes
        .iter()
        .any(|c| matches!(&c.data, ChangeData::Charge(ch) if ch.id == charge_id)));

    // Cancel the charge by mutation.
    let res = push(&app, &d.rep.access_token, &json!([{ "client_id": uid(), "op": { "type": "cancel_charge", "charge_id": charge_id, "reason": "재방문 예정" } }])).await;
    let canceled = applied_charge(&res.results[0].outcome);
    assert_eq!(canceled.status, ChargeStatus::Canceled);
    assert_eq!(
        canceled.events.last().unwrap().detail.as_deref(),
        Some("재방문 예정")
    );
    assert_eq!(
        app.get_charge(&charge_id).await.status,
        ChargeStatus::Canceled
    );
    // A registered order cannot be edited any more.
    let res = push(
        &app,
        &d.rep.access_token,
        &json!([upsert(
            &order_id,
            &account.id,
            json!([{ "product_id": p1.id, "quantity": 1 }])
        )]),
    )
    .await;
    assert_eq!(rejected(&res.results[0].outcome).0, "invalid_state");
    assert_eq!(
        balance(&app, &account.id).await,
        before + order.totals.total
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_batches_apply_once() {
    let app = spawn_app().await;
    let d = demo(&app).await;
    let account = d
        .accounts
        .iter()
        .max_by_key(|a| a.credit_limit)
        .unwrap()
        .clone();
    let before = balance(&app, &account.id).await;
    let order_id = uid();
    let charge_id = uid();
    let payer = "010-2300-0001";
    let batch = json!([
        upsert(&order_id, &account.id, json!([{ "product_id": d.products[5].id, "quantity": 4 }])),
        sign(&d, &order_id, &account.id, &[(&d.products[5], 4, d.products[5].unit_price)], PNG_1X1, None),
        submit(&order_id),
        { "client_id": uid(), "op": { "type": "request_charge", "charge_id": charge_id, "request": {
            "amount": 5000, "goods_name": "재시도 주문", "payer_phone": payer, "account_id": account.id } } }
    ]);
    let first = push(&app, &d.rep.access_token, &batch).await;
    let order = applied_order(&first.results[2].outcome);
    assert_eq!(order.status, OrderStatus::Registered);
    applied_charge(&first.results[3].outcome);
    app.wait_sms(payer, "bill", &charge_id).await;

    // The same batch again (the device did not get the answer): the same answers.
    let second = push(&app, &d.rep.access_token, &batch).await;
    assert_eq!(
        serde_json::to_value(&second).unwrap(),
        serde_json::to_value(&first).unwrap()
    );
    // Concurrently twice more.
    let (a, b) = tokio::join!(
        push(&app, &d.rep.access_token, &batch),
        push(&app, &d.rep.access_token, &batch)
    );
    assert_eq!(a, first);
    assert_eq!(b, first);

    settle_sms(&app).await;
    assert_eq!(
        balance(&app, &account.id).await,
        before + order.totals.total,
        "one ledger entry"
    );
    let (changes, _) = pull_all(&app, &d.rep.access_token, 0, 5000).await;
    let entries = changes
        .iter()
        .filter(|c| matches!(&c.data, ChangeData::Ledger(l) if l.ref_id.as_deref() == Some(order_id.as_str())))
        .count();
    assert_eq!(entries, 1);
    let charges: Vec<Value> = app
        .get(&format!("/v1/charges?payer_phone={payer}"), DEMO_API_KEY)
        .await
        .json::<Value>()
        .await
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(charges.len(), 1);
    let bills = app
        .sms(payer)
        .await
        .into_iter()
        .filter(|s| s.kind == SmsKind::Bill)
        .count();
    assert_eq!(bills, 1);
    // The order number counter was not advanced by the retries.
    let other = uid();
    let res = push(
        &app,
        &d.rep.access_token,
        &json!([
            upsert(
                &other,
                &account.id,
                json!([{ "product_id": d.products[6].id, "quantity": 1 }])
            ),
            sign(
                &d,
                &other,
                &account.id,
                &[(&d.products[6], 1, d.products[6].unit_price)],
                PNG_1X1,
                None
            ),
            submit(&other)
        ]),
    )
    .await;
    assert!(applied_order(&res.results[2].outcome)
        .number
        .unwrap()
        .ends_with("-0002"));

    // The same client id with another mutation answers the first result (the id is the key).
    let reused = json!([{ "client_id": batch[3]["client_id"], "op": { "type": "cancel_charge", "charge_id": charge_id } }]);
    let res = push(&app, &d.rep.access_token, &reused).await;
    assert_eq!(res.results[0].outcome, first.results[3].outcome);
    assert!(app.get_charge(&charge_id).await.status.is_pending());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_mutations_are_reported_and_the_rest_applies() {
    let app = spawn_app().await;
    let d = demo(&app).await;
    let small = d
        .accounts
        .iter()
        .min_by_key(|a| a.credit_limit)
        .unwrap()
        .clone();
    let big = d
        .accounts
        .iter()
        .max_by_key(|a| a.credit_limit)
        .unwrap()
        .clone();
    assert_ne!(small.id, big.id);
    let small_before = balance(&app, &small.id).await;
    let big_before = balance(&app, &big.id).await;
    let product = d.products.iter().max_by_key(|p| p.unit_price).unwrap();
    // Enough to go over the limit but stay under the 100,000,000 won order cap.
    let quantity = small.credit_limit / product.unit_price + 1;
    let over = uid();
    let fine = uid();
    let batch = json!([
        upsert(
            &over,
            &small.id,
            json!([{ "product_id": product.id, "quantity": quantity }])
        ),
        sign(
            &d,
            &over,
            &small.id,
            &[(product, quantity, product.unit_price)],
            PNG_1X1,
            None
        ),
        submit(&over),
        upsert(
            &fine,
            &big.id,
            json!([{ "product_id": product.id, "quantity": 1 }])
        ),
        sign(
            &d,
            &fine,
            &big.id,
            &[(product, 1, product.unit_price)],
            PNG_1X1,
            None
        ),
        submit(&fine),
    ]);
    let res = push(&app, &d.rep.access_token, &batch).await;
    assert_eq!(
        applied_order(&res.results[0].outcome).status,
        OrderStatus::Draft
    );
    let (code, message) = rejected(&res.results[2].outcome);
    assert_eq!(code, "credit_limit_exceeded");
    assert!(
        message.contains("한도") || message.contains("credit limit"),
        "{message}"
    );
    let registered = applied_order(&res.results[5].outcome);
    assert_eq!(registered.status, OrderStatus::Registered);
    let today = Utc::now()
        .with_timezone(&fieldpay_server::clock::kst())
        .format("%Y%m%d")
        .to_string();
    assert_eq!(
        registered.number.as_deref(),
        Some(format!("PO-{today}-0001").as_str()),
        "a rejection takes no number"
    );
    assert_eq!(balance(&app, &small.id).await, small_before);
    assert_eq!(
        balance(&app, &big.id).await,
        big_before + registered.totals.total
    );

    // The rejected order is stored as such, with its reason, and pulled.
    let stored: Order = app
        .get(&format!("/v1/orders/{over}"), DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored.status, OrderStatus::Rejected);
    assert_eq!(stored.reject_reason.as_deref(), Some(message.as_str()));
    assert!(stored.number.is_none());
    let (changes, _) = pull_all(&app, &d.rep.access_token, 0, 5000).await;
    let pulled = changes
        .iter()
        .find_map(|c| match &c.data {
            ChangeData::Order(o) if o.id == over => Some(o.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(pulled.status, OrderStatus::Rejected);
    assert_eq!(pulled.reject_reason.as_deref(), Some(message.as_str()));

    // Bad mutations, each refused with a typed error; none stores an order.
    let p = &d.products[0].id;
    let mut cases: Vec<(&str, Value, &str, Option<String>)> = Vec::new();
    let o1 = uid();
    cases.push((
        "unknown product",
        upsert(
            &o1,
            &big.id,
            json!([{ "product_id": "prd_nope", "quantity": 1 }]),
        ),
        "invalid_field",
        Some(o1),
    ));
    let o2 = uid();
    cases.push((
        "zero quantity",
        upsert(&o2, &big.id, json!([{ "product_id": p, "quantity": 0 }])),
        "invalid_field",
        Some(o2),
    ));
    let o3 = uid();
    cases.push((
        "negative quantity",
        upsert(&o3, &big.id, json!([{ "product_id": p, "quantity": -2 }])),
        "invalid_field",
        Some(o3),
    ));
    let o4 = uid();
    cases.push((
        "empty lines",
        upsert(&o4, &big.id, json!([])),
        "invalid_field",
        Some(o4),
    ));
    let o5 = uid();
    cases.push((
        "unknown account",
        upsert(&o5, "acc_nope", json!([{ "product_id": p, "quantity": 1 }])),
        "not_found",
        Some(o5),
    ));
    cases.push((
        "bad order id",
        upsert("x!", &big.id, json!([{ "product_id": p, "quantity": 1 }])),
        "invalid_field",
        None,
    ));
    let mut bad_client = upsert(&uid(), &big.id, json!([{ "product_id": p, "quantity": 1 }]));
    bad_client["client_id"] = json!("short");
    cases.push(("bad client id", bad_client, "invalid_field", None));
    let mut bad_client = upsert(&uid(), &big.id, json!([{ "product_id": p, "quantity": 1 }]));
    bad_client["client_id"] = json!("has spaces in it");
    cases.push(("client id with spaces", bad_client, "invalid_field", None));
    cases.push((
        "bad base64 png",
        sign(
            &d,
            &fine,
            &big.id,
            &[(product, 1, product.unit_price)],
            "%%% not base64 %%%",
            None,
        ),
        "invalid_field",
        None,
    ));
    cases.push((
        "not a png",
        sign(
            &d,
            &fine,
            &big.id,
            &[(product, 1, product.unit_price)],
            &B64.encode(b"GIF89a...."),
            None,
        ),
        "invalid_field",
        None,
    ));
    cases.push((
        "bad pdf",
        sign(
            &d,
            &fine,
            &big.id,
            &[(product, 1, product.unit_price)],
            PNG_1X1,
            Some(b"<html>"),
        ),
        "invalid_field",
        None,
    ));
    cases.push(("unknown order", submit(&uid()), "not_found", None));
    cases.push((
        "charge with bad phone",
        json!({ "client_id": uid(), "op": { "type": "request_charge", "charge_id": uid(), "request": { "amount": 1000, "goods_name": "x", "payer_phone": "02-123-4567" } } }),
        "invalid_phone",
        None,
    ));
    cases.push((
        "charge with bad id",
        json!({ "client_id": uid(), "op": { "type": "request_charge", "charge_id": "a b", "request": { "amount": 1000, "goods_name": "x", "payer_phone": "010-2400-0001" } } }),
        "invalid_field",
        None,
    ));
    cases.push((
        "cancel unknown charge",
        json!({ "client_id": uid(), "op": { "type": "cancel_charge", "charge_id": "ch_nope" } }),
        "not_found",
        None,
    ));
    let mutations: Vec<Value> = cases.iter().map(|c| c.1.clone()).collect();
    let witness = uid();
    let mut all = mutations.clone();
    all.push(upsert(
        &witness,
        &big.id,
        json!([{ "product_id": p, "quantity": 2 }]),
    ));
    let res = push(&app, &d.rep.access_token, &Value::Array(all)).await;
    assert_eq!(res.results.len(), cases.len() + 1);
    for ((what, _, code, _), r) in cases.iter().zip(&res.results) {
        let (got, message) = rejected(&r.outcome);
        assert_eq!(got, *code, "{what}: {message}");
        assert!(!message.is_empty());
    }
    assert_eq!(applied_order(&res.results[cases.len()].outcome).id, witness);
    for (what, _, _, order) in &cases {
        if let Some(o) = order {
            let r = app.get(&format!("/v1/orders/{o}"), DEMO_API_KEY).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{what} stored an order");
        }
    }
    // The registered order was not touched by the refused signature.
    let still: Order = app
        .get(&format!("/v1/orders/{fine}"), DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still, registered);
    assert!(app.sms("010-2400-0001").await.is_empty());
    let list: Value = app
        .get("/v1/charges", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
    // A malformed mutation (unknown op) fails the whole request as malformed, storing nothing.
    let r = app
        .post_json("/v1/mutations", &d.rep.access_token, &json!({ "mutations": [{ "client_id": uid(), "op": { "type": "delete_everything" } }] }))
        .await;
    assert_eq!(r.status().as_u16(), 422);
}

const ACCOUNTS_HEADER: &str =
    "code,name,owner_name,business_number,phone,address,credit_limit,rep_login\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_is_all_or_nothing() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let (_, cursor) = pull_all(&app, &rep.access_token, 0, 5000).await;
    let store = app.store();
    let count = || {
        store
            .accounts(&store.merchant_by_code("demo").unwrap().unwrap().id)
            .unwrap()
            .len()
    };
    assert_eq!(count(), 50);

    let bad = format!(
        "{ACCOUNTS_HEADER}N001,새로운약국,박새봄,220-81-62517,02-555-1234,서울 중구 1,\"5,000,000\",rep1\n\
         N002,다른약국,최다른,220-81-62518,010-5555-1234,서울 중구 2,1000000,rep2\n\
         N003,셋째약국,김셋째,220-81-62517,010-5555-9999,서울 중구 3,1000000,\n\
         N004,넷째약국,김넷째,220-81-62517,010-5555-8888,서울 중구 4,-1,ghost\n"
    );
    match import(store.as_ref(), "demo", ImportKind::Accounts, bad.as_bytes()) {
        Err(ImportError::Rows(errs)) => {
            let rows: HashSet<usize> = errs.iter().map(|e| e.row).collect();
            assert_eq!(rows, HashSet::from([3, 5]), "{errs:?}");
            assert!(
                errs.iter()
                    .any(|e| e.row == 3 && e.field == "business_number"),
                "{errs:?}"
            );
            assert!(
                errs.iter().any(|e| e.row == 5 && e.field == "credit_limit"),
                "{errs:?}"
            );
            assert!(
                errs.iter().any(|e| e.row == 5 && e.field == "rep_login"),
                "{errs:?}"
            );
            let text = ImportError::Rows(errs).to_string();
            assert!(text.contains("row 3") && text.contains("row 5"), "{text}");
        }
        other => panic!("expected row errors, got {other:?}"),
    }
    assert_eq!(count(), 50, "nothing stored");
    assert!(pull(&app, &rep.access_token, cursor, 100)
        .await
        .changes
        .is_empty());
    assert!(matches!(
        import(
            store.as_ref(),
            "demo",
            ImportKind::Accounts,
            ACCOUNTS_HEADER.as_bytes()
        ),
        Err(ImportError::Empty)
    ));
    assert!(matches!(
        import(
            store.as_ref(),
            "nosuch",
            ImportKind::Accounts,
            bad.as_bytes()
        ),
        Err(ImportError::NoMerchant(_))
    ));
    let bad_products = "code,name,unit_price,unit\nZ1,좋은약,1000,\nZ2,,1000,\nZ3,나쁜약,abc,\n";
    match import(
        store.as_ref(),
        "demo",
        ImportKind::Products,
        bad_products.as_bytes(),
    ) {
        Err(ImportError::Rows(errs)) => {
            let rows: HashSet<usize> = errs.iter().map(|e| e.row).collect();
            assert_eq!(rows, HashSet::from([3, 4]), "{errs:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(pull(&app, &rep.access_token, cursor, 100)
        .await
        .changes
        .is_empty());

    // All good: imported, and the next pull brings exactly those.
    let good = format!(
        "{ACCOUNTS_HEADER}N001,새로운약국,박새봄,220-81-62517,02-555-1234,서울 중구 1,\"5,000,000\",rep1\n\
         N002,다른약국,최다른,2208162517,010-5555-1234,서울 중구 2,1000000,\n"
    );
    let n = import(
        store.as_ref(),
        "demo",
        ImportKind::Accounts,
        good.as_bytes(),
    )
    .unwrap();
    assert_eq!(n, 2);
    assert_eq!(count(), 52);
    let delta = pull(&app, &rep.access_token, cursor, 100).await;
    let mut got: Vec<Account> = delta
        .changes
        .iter()
        .map(|c| match &c.data {
            ChangeData::Account(a) => a.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    got.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(got.len(), 2);
    assert_eq!(
        (
            got[0].code.as_str(),
            got[0].name.as_str(),
            got[0].credit_limit
        ),
        ("N001", "새로운약국", 5_000_000)
    );
    assert_eq!(got[0].business_number, "2208162517");
    assert_eq!(got[0].phone, "025551234");
    assert_eq!(got[0].rep_id.as_deref(), Some(rep.rep.id.as_str()));
    assert_eq!(
        (got[1].code.as_str(), got[1].rep_id.as_deref()),
        ("N002", None)
    );
    let listed: Vec<Value> = app
        .get("/v1/accounts", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 52);
    // Importing again updates in place (same ids, no duplicates).
    let again = good.replace("새로운약국", "새로운약국 본점");
    import(
        store.as_ref(),
        "demo",
        ImportKind::Accounts,
        again.as_bytes(),
    )
    .unwrap();
    assert_eq!(count(), 52);
    let delta2 = pull(&app, &rep.access_token, delta.cursor, 100).await;
    assert_eq!(delta2.changes.len(), 2);
    assert!(delta2.changes.iter().any(|c| matches!(&c.data, ChangeData::Account(a) if a.id == got[0].id && a.name == "새로운약국 본점")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_seed_and_import() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let database_url = crate::helpers::test_store();
    let bin = env!("CARGO_BIN_EXE_fieldpay-server");
    let run = |args: &[&str]| {
        let mut cmd = Command::new(bin);
        cmd.arg("--data")
            .arg(&data)
            .args(args)
            .env_remove("FIELDPAY_CONFIG")
            .env_remove("FIELDPAY_DATA")
            .env_remove("FIELDPAY_DATABASE_URL")
            .env("RUST_LOG", "warn");
        if let Some(url) = &database_url {
            cmd.env("FIELDPAY_DATABASE_URL", url.expose());
        }
        let out = cmd.output().expect("run fieldpay-server");
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (status, stdout, stderr) = tokio::task::block_in_place(|| run(&["seed-demo"]));
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("demo merchant created"), "{stdout}");
    let (status, stdout, stderr) = tokio::task::block_in_place(|| run(&["seed-demo"]));
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("already exists"), "{stdout}");

    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "code,name,unit_price,unit\nQ1,좋은약,1000,\nQ2,나쁜약,12abc,\nQ3,또좋은약,\"2,500\",박스\n").unwrap();
    let (status, stdout, stderr) =
        tokio::task::block_in_place(|| run(&["import", "products", bad.to_str().unwrap()]));
    assert!(
        !status.success(),
        "a bad file must fail: {stdout}\n{stderr}"
    );
    assert!(stderr.contains("row 3"), "stderr names the row: {stderr}");
    assert!(stderr.contains("unit_price"), "{stderr}");
    assert!(
        !stderr.contains("row 2") && !stderr.contains("row 4"),
        "{stderr}"
    );
    assert!(!stdout.contains("imported"), "{stdout}");
    let missing = tmp.path().join("missing.csv");
    let (status, _, stderr) =
        tokio::task::block_in_place(|| run(&["import", "products", missing.to_str().unwrap()]));
    assert!(!status.success());
    assert!(stderr.contains("missing.csv"), "{stderr}");

    // Nothing from the bad file was stored; a good one is.
    let good = tmp.path().join("good.csv");
    std::fs::write(
        &good,
        "code,name,unit_price,unit\nQ1,좋은약,1000,\nQ3,또좋은약,\"2,500\",박스\n",
    )
    .unwrap();
    let (status, stdout, stderr) =
        tokio::task::block_in_place(|| run(&["import", "products", good.to_str().unwrap()]));
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("imported 2 rows"), "{stdout}");
    let settings = fieldpay_server::config::Settings {
        data_dir: data.clone(),
        database_url,
        ..Default::default()
    };
    let store = tokio::task::spawn_blocking(move || fieldpay_server::app::open_store(&settings))
        .await
        .unwrap()
        .expect("the database the binary wrote");
    let m = store.merchant_by_code("demo").unwrap().unwrap();
    let products = store.products(&m.id).unwrap();
    assert_eq!(products.len(), 102, "100 demo products and the 2 good rows");
    let q3 = products.iter().find(|p| p.code == "Q3").unwrap();
    assert_eq!((q3.unit_price, q3.unit.as_str()), (2_500, "박스"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_of_a_new_batch_apply_once() {
    let app = spawn_app().await;
    let d = demo(&app).await;
    let account = d
        .accounts
        .iter()
        .max_by_key(|a| a.credit_limit)
        .unwrap()
        .clone();
    let before = balance(&app, &account.id).await;
    let rounds = 40;
    for round in 0..rounds {
        let order_id = uid();
        let charge_id = uid();
        let payer = format!("010-2500-{:04}", round);
        let batch = json!([
            upsert(&order_id, &account.id, json!([{ "product_id": d.products[round].id, "quantity": 2 }])),
            sign(&d, &order_id, &account.id, &[(&d.products[round], 2, d.products[round].unit_price)], PNG_1X1, Some(PDF)),
            submit(&order_id),
            { "client_id": uid(), "op": { "type": "request_charge", "charge_id": charge_id, "request": {
                "amount": 5000, "goods_name": "동시 재전송", "payer_phone": payer } } }
        ]);
        // A device that timed out and retried while the first push was still running.
        let mut tasks = Vec::new();
        // Staggered a little differently each round, so retries overlap the first push at
        // different mutations.
        for i in 0..6u64 {
            let (http, url, token, body) = (
                app.http.clone(),
                app.url("/v1/mutations"),
                d.rep.access_token.clone(),
                json!({ "mutations": batch }),
            );
            let delay = std::time::Duration::from_micros(i * (round as u64 + 1) * 300);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let r = http
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                r.json::<MutationResults>().await.unwrap()
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        for a in &answers[1..] {
            assert_eq!(a, &answers[0], "every retry gets the first answer");
        }
        let registered = applied_order(&answers[0].results[2].outcome);
        assert_eq!(registered.status, OrderStatus::Registered);
        // What is stored is what was answered: registered, signed, with its PDF.
        let stored: Order = app
            .get(&format!("/v1/orders/{order_id}"), DEMO_API_KEY)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(stored.status, OrderStatus::Registered);
        assert!(
            stored.has_signature_image && stored.has_pdf,
            "round {round}: the signature was lost: {stored:?}"
        );
        assert_eq!(stored, registered);
        settle_sms(&app).await;
        let bills = app
            .sms(&payer)
            .await
            .into_iter()
            .filter(|s| s.kind == SmsKind::Bill)
            .count();
        assert_eq!(bills, 1);
    }
    let (changes, _) = pull_all(&app, &d.rep.access_token, 0, 5000).await;
    let orders = changes
        .iter()
        .filter(|c| matches!(&c.data, ChangeData::Ledger(l) if l.kind == LedgerKind::Order))
        .count();
    assert_eq!(orders, rounds, "one ledger entry per order");
    let charges = changes
        .iter()
        .filter(|c| matches!(&c.data, ChangeData::Charge(_)))
        .count();
    assert_eq!(charges, rounds);
    assert!(balance(&app, &account.id).await > before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_charge_requests_is_answered_per_mutation() {
    let app = spawn_app().await;
    let d = demo(&app).await;
    let req = |client_id: &str, charge_id: &str, payer: &str| {
        json!({ "client_id": client_id, "op": { "type": "request_charge", "charge_id": charge_id,
            "request": { "amount": 7000, "goods_name": "묶음 요청", "payer_phone": payer } } })
    };
    let (a, b, c, e) = (uid(), uid(), uid(), uid());
    let (ca, cc, ce) = (uid(), uid(), uid());
    let order_id = uid();
    let account = d.accounts[0].id.clone();
    let batch = json!([
        req(&a, &ca, "010-2400-0001"),
        req(&b, &uid(), "02-123-4567"), // not a mobile: refused, the run goes on
        req(&a, &uid(), "010-2400-0009"), // the same client id again: the first answer
        req(&c, &cc, "010-2400-0002"),
        upsert(&order_id, &account, json!([{ "product_id": d.products[0].id, "quantity": 1 }])),
        req(&e, &ce, "010-2400-0003"),
        { "client_id": "bad", "op": { "type": "submit_order", "order_id": order_id } },
    ]);
    let first = push(&app, &d.rep.access_token, &batch).await;
    let r = &first.results;
    assert_eq!(r.len(), 7);
    assert_eq!(applied_charge(&r[0].outcome).id, ca);
    assert_eq!(rejected(&r[1].outcome).0, "invalid_phone");
    assert_eq!(r[2].outcome, r[0].outcome);
    assert_eq!(applied_charge(&r[3].outcome).id, cc);
    applied_order(&r[4].outcome);
    assert_eq!(applied_charge(&r[5].outcome).id, ce);
    assert_eq!(rejected(&r[6].outcome).0, "invalid_field");

    // Retried whole: the same answers, nothing applied twice.
    let again = push(&app, &d.rep.access_token, &batch).await;
    assert_eq!(again, first);
    settle_sms(&app).await;
    for payer in ["010-2400-0001", "010-2400-0002", "010-2400-0003"] {
        let list = app
            .get(&format!("/v1/charges?payer_phone={payer}"), DEMO_API_KEY)
            .await
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{payer}");
    }
    let list = app
        .get("/v1/charges?payer_phone=01024000009", DEMO_API_KEY)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
}
