//! Security: tenancy between merchants and between reps, authentication, typed refusals of
//! bad input that store nothing, and card numbers that never come back out.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use fieldpay_protocol::charge::{Charge, ChargeList, ChargeStatus};
use fieldpay_protocol::settlement::SettlementReport;
use fieldpay_protocol::sync::{ChangeData, MutationOutcome, MutationResults, SyncPage};
use fieldpay_server::demo::DEMO_API_KEY;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    self, api_error, contains, demo_charge, login, set_webhook, settle_sms, spawn_app,
    webhook_receiver, EventStream, TestApp, Tokens, APPROVE_CARD, CANARY_CARD,
};

const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

async fn post_empty(app: &TestApp, path: &str, bearer: &str) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
}

async fn count_charges(app: &TestApp, bearer: &str) -> usize {
    let r = app.get("/v1/charges?limit=200", bearer).await;
    assert_eq!(r.status(), StatusCode::OK);
    let l: ChargeList = r.json().await.unwrap();
    assert!(l.next.is_none());
    l.items.len()
}

async fn push(app: &TestApp, token: &str, mutations: Value) -> MutationResults {
    let r = app
        .post_json("/v1/mutations", token, &json!({ "mutations": mutations }))
        .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// A signed draft order of merchant A (with a PDF); returns its id.
async fn signed_order(app: &TestApp, rep: &Tokens) -> String {
    let accounts: Vec<Value> = app
        .get("/v1/accounts", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    let page: SyncPage = app
        .get("/v1/sync?limit=5000", &rep.access_token)
        .await
        .json()
        .await
        .unwrap();
    let product = page
        .changes
        .iter()
        .find_map(|c| match &c.data {
            ChangeData::Product(p) => Some((p.id.clone(), p.unit_price)),
            _ => None,
        })
        .unwrap();
    let order_id = uuid::Uuid::now_v7().to_string();
    let res = push(
        app,
        &rep.access_token,
        json!([
            { "client_id": uuid::Uuid::now_v7().to_string(), "op": { "type": "upsert_order", "order_id": order_id,
              "account_id": accounts[0]["id"], "lines": [{ "product_id": product.0, "quantity": 1 }] } },
            { "client_id": uuid::Uuid::now_v7().to_string(), "op": { "type": "sign_order", "order_id": order_id,
              "evidence": helpers::evidence(&rep.rep.merchant_id, accounts[0]["id"].as_str().unwrap(), &order_id, &[(&product.0, 1, product.1)], ""),
              "signature_png": PNG_1X1, "pdf": B64.encode(b"%PDF-1.4\n%%EOF\n") } }
        ]),
    )
    .await;
    for r in &res.results {
        assert!(
            matches!(r.outcome, MutationOutcome::Applied { .. }),
            "{r:?}"
        );
    }
    order_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchants_cannot_see_each_other() {
    let app = spawn_app().await;
    let b_key = app.second_merchant("b", &["16009990"]);
    let rep = login(&app, "rep1", "demo1234").await;

    // Merchant A: a pending charge, a paid one, an account, an order with a PDF.
    let pending = app.charge(demo_charge(11_000, "010-1100-0001")).await;
    let paid = app.charge(demo_charge(12_000, "010-1100-0002")).await;
    app.pay_by_phone(
        "01011000002",
        paid.virtual_number.as_deref().unwrap(),
        APPROVE_CARD,
    )
    .await;
    assert_eq!(
        app.get_charge(&paid.id).await.status,
        ChargeStatus::Approved
    );
    let accounts: Vec<Value> = app
        .get("/v1/accounts", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    let account = accounts[0]["id"].as_str().unwrap().to_string();
    let order = signed_order(&app, &rep).await;
    assert_eq!(
        app.get(&format!("/v1/orders/{order}"), DEMO_API_KEY)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/v1/orders/{order}/pdf"), DEMO_API_KEY)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/v1/accounts/{account}"), DEMO_API_KEY)
            .await
            .status(),
        StatusCode::OK
    );

    // B gets 404 for every one of A's records.
    let not_found = |r: (StatusCode, String, String), what: &str| {
        assert_eq!(
            (r.0, r.1.as_str()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{what}: {}",
            r.2
        );
    };
    for id in [&pending.id, &paid.id] {
        not_found(
            api_error(app.get(&format!("/v1/charges/{id}"), &b_key).await).await,
            "get charge",
        );
    }
    not_found(
        api_error(post_empty(&app, &format!("/v1/charges/{}/cancel", pending.id), &b_key).await)
            .await,
        "cancel",
    );
    not_found(
        api_error(post_empty(&app, &format!("/v1/charges/{}/refund", paid.id), &b_key).await).await,
        "refund",
    );
    not_found(
        api_error(app.get(&format!("/v1/accounts/{account}"), &b_key).await).await,
        "account",
    );
    not_found(
        api_error(app.get(&format!("/v1/orders/{order}"), &b_key).await).await,
        "order",
    );
    not_found(
        api_error(app.get(&format!("/v1/orders/{order}/pdf"), &b_key).await).await,
        "order pdf",
    );
    // ...and nothing changed for A.
    assert!(app.get_charge(&pending.id).await.status.is_pending());
    assert_eq!(
        app.get_charge(&paid.id).await.status,
        ChargeStatus::Approved
    );

    // B's lists, reports and sync hold none of A's data.
    assert_eq!(count_charges(&app, &b_key).await, 0);
    let b_accounts: Vec<Value> = app.get("/v1/accounts", &b_key).await.json().await.unwrap();
    assert!(b_accounts.is_empty());
    let b_settlement: SettlementReport = app
        .get("/v1/settlement", &b_key)
        .await
        .json()
        .await
        .unwrap();
    assert!(b_settlement.by_card_company.is_empty() && b_settlement.by_rep.is_empty());
    assert_eq!(
        (
            b_settlement.total.approved_count,
            b_settlement.total.approved_amount
        ),
        (0, 0)
    );
    let a_settlement: SettlementReport = app
        .get("/v1/settlement", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a_settlement.total.approved_amount, 12_000);
    let csv = app
        .get("/v1/settlement.csv", &b_key)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv.lines().count(),
        2,
        "header and the zero total only: {csv}"
    );
    let b_pull: SyncPage = app
        .get("/v1/sync?limit=5000", &b_key)
        .await
        .json()
        .await
        .unwrap();
    assert!(b_pull.changes.is_empty(), "{:?}", b_pull.changes.len());
    set_webhook(&app, "http://127.0.0.1:9/hook");
    app.charge(demo_charge(1_000, "010-1100-0009")).await;
    let b_hooks: Vec<Value> = app
        .get("/v1/webhooks/deliveries", &b_key)
        .await
        .json()
        .await
        .unwrap();
    assert!(b_hooks.is_empty());

    // B's own charge: its own number; A does not see it.
    let r = app
        .post_json("/v1/charges", &b_key, &demo_charge(2_000, "010-1100-0001"))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let b_charge: Charge = r.json().await.unwrap();
    assert_eq!(b_charge.virtual_number.as_deref(), Some("1600-9990"));
    let b_list: ChargeList = app.get("/v1/charges", &b_key).await.json().await.unwrap();
    assert_eq!(
        b_list
            .items
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        vec![b_charge.id.as_str()]
    );
    not_found(
        api_error(
            app.get(&format!("/v1/charges/{}", b_charge.id), DEMO_API_KEY)
                .await,
        )
        .await,
        "A reads B",
    );
    let a_list: ChargeList = app
        .get("/v1/charges?limit=200", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert!(a_list.items.iter().all(|c| c.id != b_charge.id));
    // A rep of A can neither read nor cancel B's charge (API or mutation).
    not_found(
        api_error(
            app.get(&format!("/v1/charges/{}", b_charge.id), &rep.access_token)
                .await,
        )
        .await,
        "rep reads B",
    );
    not_found(
        api_error(
            post_empty(
                &app,
                &format!("/v1/charges/{}/cancel", b_charge.id),
                &rep.access_token,
            )
            .await,
        )
        .await,
        "rep cancels B",
    );
    let res = push(
        &app,
        &rep.access_token,
        json!([{ "client_id": uuid::Uuid::now_v7().to_string(), "op": { "type": "cancel_charge", "charge_id": b_charge.id } }]),
    )
    .await;
    match &res.results[0].outcome {
        MutationOutcome::Rejected { error } => assert_eq!(error.code.as_str(), "not_found"),
        other => panic!("{other:?}"),
    }
    let b_again: Charge = app
        .get(&format!("/v1/charges/{}", b_charge.id), &b_key)
        .await
        .json()
        .await
        .unwrap();
    assert!(b_again.status.is_pending());
    let rep_list: ChargeList = app
        .get("/v1/charges?limit=200", &rep.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(rep_list.items.iter().all(|c| c.id != b_charge.id));
    // B's key may not take over a charge id or an order of A through B's own requests.
    let r = app.post_json("/v1/charges", &b_key, &json!({ "amount": 1000, "goods_name": "x", "payer_phone": "010-1100-0003", "account_id": account })).await;
    let (status, code, _) = api_error(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "not_found"),
        "A's account in B's charge"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_per_merchant() {
    let app = spawn_app().await;
    let b_key = app.second_merchant("b", &["16009990"]);
    let mut a_stream = EventStream::open(&app, DEMO_API_KEY).await;
    let mut b_stream = EventStream::open(&app, &b_key).await;
    let a = app.charge(demo_charge(3_000, "010-1200-0001")).await;
    a_stream
        .charges_until(|e| e.charge_id == a.id && e.status == ChargeStatus::SmsSent)
        .await;
    // Events are broadcast in order: whatever B's stream got of A's would come before B's own.
    let r = app
        .post_json("/v1/charges", &b_key, &demo_charge(4_000, "010-1200-0002"))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let b: Charge = r.json().await.unwrap();
    let seen = b_stream
        .charges_until(|e| e.charge_id == b.id && e.status == ChargeStatus::SmsSent)
        .await;
    assert!(
        seen.iter().all(|e| e.charge_id == b.id),
        "B saw A's events: {seen:?}"
    );
    // A's stream never carries B's charge (B's events were all broadcast by now).
    while let Some((_, data)) = a_stream.next(Duration::from_millis(500)).await {
        assert!(!data.contains(&b.id), "A saw B's event: {data}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_checked() {
    let app = spawn_app().await;
    let unauthorized = |r: (StatusCode, String, String), what: &str| {
        assert_eq!(
            (r.0, r.1.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{what}: {}",
            r.2
        );
    };
    let path = app.url("/v1/charges");
    unauthorized(
        api_error(app.http.get(&path).send().await.unwrap()).await,
        "no header",
    );
    for value in [
        format!("Basic {}", B64.encode("demo:demo1234")),
        format!("Token {DEMO_API_KEY}"),
        DEMO_API_KEY.to_string(),
        "Bearer ".to_string(),
        "Bearer    ".to_string(),
    ] {
        unauthorized(
            api_error(
                app.http
                    .get(&path)
                    .header("authorization", &value)
                    .send()
                    .await
                    .unwrap(),
            )
            .await,
            &value,
        );
    }
    let random_key = fieldpay_server::auth::new_api_key();
    for bad in [
        random_key.expose(),
        "fpk_",
        "fpk_sandbox_demo_0000000000000000000000000001",
        "at_notatoken",
        "x",
    ] {
        unauthorized(api_error(app.get("/v1/charges", bad).await).await, bad);
        unauthorized(
            api_error(
                app.post_json("/v1/charges", bad, &demo_charge(1_000, "010-1300-0001"))
                    .await,
            )
            .await,
            bad,
        );
    }
    assert!(app.sms("010-1300-0001").await.is_empty());
    assert_eq!(count_charges(&app, DEMO_API_KEY).await, 0);
    // Pages and the sandbox phone need no key; the API does.
    unauthorized(
        api_error(app.http.get(app.url("/v1/sync")).send().await.unwrap()).await,
        "sync",
    );
    unauthorized(
        api_error(
            app.http
                .get(app.url("/v1/settlement"))
                .send()
                .await
                .unwrap(),
        )
        .await,
        "settlement",
    );
    unauthorized(
        api_error(app.http.get(app.url("/v1/accounts")).send().await.unwrap()).await,
        "accounts",
    );
    unauthorized(
        api_error(
            app.http
                .get(app.url("/v1/webhooks/deliveries"))
                .send()
                .await
                .unwrap(),
        )
        .await,
        "deliveries",
    );

    // Wrong password, unknown rep, unknown merchant: one answer.
    let mut messages = Vec::new();
    for (m, rep, pw) in [
        ("demo", "rep1", "demo12345"),
        ("demo", "rep9", "demo1234"),
        ("nosuch", "rep1", "demo1234"),
        ("demo", "rep1", ""),
    ] {
        let r = app
            .http
            .post(app.url("/v1/auth/login"))
            .json(&json!({ "merchant": m, "rep_id": rep, "password": pw }))
            .send()
            .await
            .unwrap();
        let e = api_error(r).await;
        unauthorized(e.clone(), &format!("{m}/{rep}"));
        messages.push(e.2);
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "{messages:?}");
    let lower = messages[0].to_lowercase();
    assert!(
        !lower.contains("not found") && !lower.contains("unknown"),
        "{}",
        messages[0]
    );
    // A login body with an unknown field is malformed, not a sign-in attempt.
    let r = app
        .post_json(
            "/v1/auth/login",
            "x",
            &json!({ "merchant": "demo", "rep_id": "rep1", "password": "demo1234", "otp": 1 }),
        )
        .await;
    assert_eq!(api_error(r).await.1, "malformed_body");

    // A good sign-in; the access token works on the API.
    let t = login(&app, "rep1", "demo1234").await;
    assert_eq!(t.rep.login, "rep1");
    assert_eq!(t.rep.name, "김영업");
    assert_eq!(
        t.rep.merchant_name,
        fieldpay_server::demo::DEMO_MERCHANT_NAME
    );
    assert!(t.expires_in > 0);
    assert_ne!(t.access_token, t.refresh_token);
    let r = app.get("/v1/sync?limit=1", &t.access_token).await;
    assert_eq!(r.status(), StatusCode::OK);
    // The refresh token is not an access token, and the access token cannot refresh.
    unauthorized(
        api_error(app.get("/v1/sync", &t.refresh_token).await).await,
        "refresh as access",
    );
    let refresh = |token: String| {
        let app = &app;
        async move { app.refresh(&token).await }
    };
    unauthorized(
        api_error(refresh(t.access_token.clone()).await).await,
        "access as refresh",
    );

    // Refresh rotates: the new pair works, the old refresh token is dead.
    let r = refresh(t.refresh_token.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let t2: Tokens = r.json().await.unwrap();
    assert_ne!(t2.refresh_token, t.refresh_token);
    assert_ne!(t2.access_token, t.access_token);
    assert_eq!(t2.rep.id, t.rep.id);
    assert_eq!(
        app.get("/v1/sync?limit=1", &t2.access_token).await.status(),
        StatusCode::OK
    );
    unauthorized(
        api_error(refresh(t.refresh_token.clone()).await).await,
        "old refresh token",
    );
    let r = refresh(t2.refresh_token.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    unauthorized(
        api_error(refresh(t2.refresh_token.clone()).await).await,
        "second use",
    );
    unauthorized(
        api_error(refresh("rt_madeup".into()).await).await,
        "made-up refresh token",
    );

    // Concurrent use of one refresh token: exactly one wins.
    let t3 = login(&app, "rep2", "demo1234").await;
    let (a, b) = tokio::join!(
        refresh(t3.refresh_token.clone()),
        refresh(t3.refresh_token.clone())
    );
    let oks = [a.status(), b.status()]
        .iter()
        .filter(|s| **s == StatusCode::OK)
        .count();
    assert_eq!(oks, 1, "{} {}", a.status(), b.status());

    // Mutations are pushed by reps only.
    let r = app
        .post_json("/v1/mutations", DEMO_API_KEY, &json!({ "mutations": [] }))
        .await;
    let (status, code, _) = api_error(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let r = app
        .post_json(
            "/v1/mutations",
            &t2.access_token,
            &json!({ "mutations": [] }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let payer = "010-1400-0001";
    let ok = json!({ "amount": 10_000, "goods_name": "감기약", "payer_phone": payer });
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b.to_string()
    };
    let json_ct = "application/json";
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "malformed JSON",
            "{\"amount\": 10000, \"goods_name\": ".into(),
            json_ct,
            "malformed_body",
        ),
        ("not an object", "[1,2,3]".into(), json_ct, "malformed_body"),
        ("empty body", "".into(), json_ct, "malformed_body"),
        ("text/plain", ok.to_string(), "text/plain", "malformed_body"),
        (
            "form",
            "amount=10000&goods_name=x&payer_phone=01014000001".into(),
            "application/x-www-form-urlencoded",
            "malformed_body",
        ),
        (
            "unknown field",
            with("amout", json!(10_000)),
            json_ct,
            "malformed_body",
        ),
        (
            "missing field",
            json!({ "amount": 10_000, "payer_phone": payer }).to_string(),
            json_ct,
            "malformed_body",
        ),
        (
            "landline",
            with("payer_phone", json!("02-123-4567")),
            json_ct,
            "invalid_phone",
        ),
        (
            "short",
            with("payer_phone", json!("12345")),
            json_ct,
            "invalid_phone",
        ),
        (
            "too long",
            with("payer_phone", json!("010-1234-56789")),
            json_ct,
            "invalid_phone",
        ),
        (
            "letters",
            with("payer_phone", json!("010-abcd-5678")),
            json_ct,
            "invalid_phone",
        ),
        (
            "empty phone",
            with("payer_phone", json!("")),
            json_ct,
            "invalid_phone",
        ),
        (
            "1600 number",
            with("payer_phone", json!("1600-0010")),
            json_ct,
            "invalid_phone",
        ),
        (
            "amount 0",
            with("amount", json!(0)),
            json_ct,
            "invalid_amount",
        ),
        (
            "amount -1",
            with("amount", json!(-1)),
            json_ct,
            "invalid_amount",
        ),
        (
            "amount too big",
            with("amount", json!(100_000_001)),
            json_ct,
            "invalid_amount",
        ),
        (
            "amount 1.5",
            with("amount", json!(1.5)),
            json_ct,
            "malformed_body",
        ),
        (
            "amount string",
            with("amount", json!("10000")),
            json_ct,
            "malformed_body",
        ),
        (
            "amount null",
            with("amount", Value::Null),
            json_ct,
            "malformed_body",
        ),
        (
            "empty goods",
            with("goods_name", json!("")),
            json_ct,
            "invalid_field",
        ),
        (
            "blank goods",
            with("goods_name", json!("   ")),
            json_ct,
            "invalid_field",
        ),
        (
            "long goods",
            with("goods_name", json!("가".repeat(101))),
            json_ct,
            "invalid_field",
        ),
        (
            "control chars",
            with("goods_name", json!("감기\u{0007}약")),
            json_ct,
            "invalid_field",
        ),
        (
            "expiry 0",
            with("expires_in_minutes", json!(0)),
            json_ct,
            "invalid_field",
        ),
        (
            "expiry 20000",
            with("expires_in_minutes", json!(20_000)),
            json_ct,
            "invalid_field",
        ),
        (
            "expiry negative",
            with("expires_in_minutes", json!(-5)),
            json_ct,
            "malformed_body",
        ),
        (
            "orderer bad phone",
            with(
                "orderer",
                json!({ "name": "김주문", "phone": "02-123-4567" }),
            ),
            json_ct,
            "invalid_phone",
        ),
        (
            "orderer no name",
            with("orderer", json!({ "name": "", "phone": "010-1400-0002" })),
            json_ct,
            "invalid_field",
        ),
        (
            "orderer extra field",
            with(
                "orderer",
                json!({ "name": "a", "phone": "010-1400-0002", "x": 1 }),
            ),
            json_ct,
            "malformed_body",
        ),
        (
            "bad kind",
            with("kind", json!("crypto")),
            json_ct,
            "malformed_body",
        ),
        (
            "unknown account",
            with("account_id", json!("acc_nope")),
            json_ct,
            "not_found",
        ),
    ];
    let before = count_charges(&app, DEMO_API_KEY).await;
    assert_eq!(before, 0);
    for (what, body, ct, code) in &cases {
        let r = app
            .http
            .post(app.url("/v1/charges"))
            .bearer_auth(DEMO_API_KEY)
            .header("content-type", *ct)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let (status, got, message) = api_error(r).await;
        assert_eq!(got, *code, "{what}: {message}");
        let expected_status = if *code == "not_found" { 404 } else { 422 };
        assert_eq!(status.as_u16(), expected_status, "{what}");
        assert!(!message.contains("internal"), "{what}: {message}");
    }
    // A body with no Content-Type at all.
    let r = app
        .http
        .post(app.url("/v1/charges"))
        .bearer_auth(DEMO_API_KEY)
        .body(ok.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(api_error(r).await.1, "malformed_body");
    // Oversized body: refused without being stored.
    let huge = format!(
        "{{\"amount\":1000,\"goods_name\":\"{}\",\"payer_phone\":\"{payer}\"}}",
        "x".repeat(9 * 1024 * 1024)
    );
    let r = app
        .http
        .post(app.url("/v1/charges"))
        .bearer_auth(DEMO_API_KEY)
        .header("content-type", json_ct)
        .body(huge)
        .send()
        .await;
    // The server may answer 413 or close the connection while the body is still being sent.
    if let Ok(r) = r {
        assert!(r.status().is_client_error(), "{}", r.status());
    }

    // Nothing was stored: no charge, no text.
    settle_sms(&app).await;
    assert_eq!(count_charges(&app, DEMO_API_KEY).await, 0);
    for phone in [payer, "010-1400-0002"] {
        assert!(app.sms(phone).await.is_empty(), "{phone}");
    }
    let page: SyncPage = app
        .get("/v1/sync?cursor=0&limit=5000", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert!(!page
        .changes
        .iter()
        .any(|c| matches!(c.data, ChangeData::Charge(_))));

    // The same body, good, is accepted (the cases differ from it by one thing each).
    let r = app.post_json("/v1/charges", DEMO_API_KEY, &ok).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(count_charges(&app, DEMO_API_KEY).await, 1);
    let mut fine = ok.clone();
    fine["payer_phone"] = json!("+82 10-1400-0001");
    fine["expires_in_minutes"] = json!(1);
    assert_eq!(
        app.post_json("/v1/charges", DEMO_API_KEY, &fine)
            .await
            .status(),
        StatusCode::CREATED
    );

    // Bad input elsewhere is typed as well.
    let (status, code, _) = api_error(app.get("/v1/sync?cursor=-1", DEMO_API_KEY).await).await;
    assert_eq!((status.as_u16(), code.as_str()), (422, "invalid_field"));
    let (status, code, _) = api_error(app.get("/v1/sync?cursor=abc", DEMO_API_KEY).await).await;
    assert_eq!((status.as_u16(), code.as_str()), (422, "invalid_field"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_numbers_never_come_back_out() {
    let app = spawn_app().await;
    let (url, rx) = webhook_receiver(0).await;
    set_webhook(&app, &url);
    let rep = login(&app, "rep1", "demo1234").await;
    let payer = "010-1500-0001";
    let c = app.charge(demo_charge(52_000, payer)).await;
    let last = app
        .pay_by_phone(
            "01015000001",
            c.virtual_number.as_deref().unwrap(),
            CANARY_CARD,
        )
        .await;
    assert!(last.turn.hangup);
    let paid = app.get_charge(&c.id).await;
    assert_eq!(paid.status, ChargeStatus::Approved);
    let p = paid.payment.clone().unwrap();
    assert_eq!(p.issuer_code, "02");
    assert!(
        p.masked_card.starts_with("457973") && p.masked_card.ends_with("0013"),
        "{}",
        p.masked_card
    );
    assert!(!p.masked_card.contains(CANARY_CARD));
    // Say-prompts of the call did not read the card number back either.
    assert!(
        !last.turn.say.iter().any(|s| s.contains(CANARY_CARD)),
        "{:?}",
        last.turn.say
    );
    app.wait_sms(payer, "slip", &c.id).await;
    let r = post_empty(&app, &format!("/v1/charges/{}/refund", c.id), DEMO_API_KEY).await;
    assert_eq!(r.status(), StatusCode::OK);
    app.wait_sms(payer, "notice", &c.id).await;
    // Webhooks delivered (approved, refunded).
    for _ in 0..200 {
        let bodies: Vec<String> = rx
            .got
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.body.clone())
            .collect();
        if bodies.iter().any(|b| b.contains("charge.refunded")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let mut outputs: Vec<(String, String)> = Vec::new();
    for (what, path, bearer) in [
        (
            "charge",
            format!("/v1/charges/{}", c.id),
            DEMO_API_KEY.to_string(),
        ),
        (
            "charge list",
            "/v1/charges".to_string(),
            DEMO_API_KEY.to_string(),
        ),
        (
            "deliveries",
            "/v1/webhooks/deliveries".to_string(),
            DEMO_API_KEY.to_string(),
        ),
        (
            "settlement",
            "/v1/settlement".to_string(),
            DEMO_API_KEY.to_string(),
        ),
        (
            "settlement csv",
            "/v1/settlement.csv".to_string(),
            DEMO_API_KEY.to_string(),
        ),
        (
            "sync",
            "/v1/sync?limit=5000".to_string(),
            rep.access_token.clone(),
        ),
    ] {
        let r = app.get(&path, &bearer).await;
        assert_eq!(r.status(), StatusCode::OK, "{what}");
        outputs.push((what.to_string(), r.text().await.unwrap()));
    }
    let deliveries: Vec<Value> = serde_json::from_str(&outputs[2].1).unwrap();
    assert!(deliveries.len() >= 2, "{deliveries:?}");
    let sms = app.sms(payer).await;
    assert_eq!(sms.len(), 3, "bill, slip, notice");
    for s in &sms {
        outputs.push((format!("sms {}", s.kind), s.body.clone()));
    }
    let hooks: Vec<String> = rx
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.body.clone())
        .collect();
    assert!(
        hooks.iter().any(|b| b.contains("charge.approved")),
        "{hooks:?}"
    );
    for h in hooks {
        outputs.push(("webhook".into(), h));
    }
    let receipt = p.receipt_url.clone().expect("receipt link");
    let page = app
        .http
        .get(&receipt)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("0013"), "the receipt shows the masked card");
    outputs.push(("receipt".into(), page));
    for (what, text) in &outputs {
        assert!(
            !text.contains(CANARY_CARD),
            "{what} contains the card number: {text}"
        );
        // Not with separators either.
        assert!(
            !text.contains("4579-7300-0000-0013") && !text.contains("4579 7300 0000 0013"),
            "{what}"
        );
    }
    // Nor the server's logs, nor any file it wrote.
    assert!(
        !helpers::logs().contains(CANARY_CARD),
        "the logs contain the card number"
    );
    for (path, bytes) in app.data_files() {
        assert!(
            !contains(&bytes, CANARY_CARD),
            "{} contains the card number",
            path.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_merchants_rep_cannot_touch_records_by_id() {
    let app = spawn_app().await;
    let _b_key = app.second_merchant("b", &["16009990"]);
    let store = app.store();
    let b = store.merchant_by_code("b").unwrap().unwrap();
    store
        .create_rep(
            &b.id,
            "brep",
            "박다른",
            &fieldpay_server::auth::hash_password(&"b-secret-1".into()).unwrap(),
            fieldpay_protocol::auth::Role::Rep,
        )
        .unwrap();
    let r = app
        .http
        .post(app.url("/v1/auth/login"))
        .json(&json!({ "merchant": "b", "rep_id": "brep", "password": "b-secret-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let b_rep: Tokens = r.json().await.unwrap();
    assert_eq!(b.id, b_rep.rep.merchant_id.as_str());
    // A's rep password does not open B, nor B's rep's password A.
    let r = app
        .http
        .post(app.url("/v1/auth/login"))
        .json(&json!({ "merchant": "b", "rep_id": "rep1", "password": "demo1234" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .post(app.url("/v1/auth/login"))
        .json(&json!({ "merchant": "demo", "rep_id": "brep", "password": "b-secret-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Merchant A's order and charge.
    let a_rep = login(&app, "rep1", "demo1234").await;
    let order = signed_order(&app, &a_rep).await;
    let a_order: Value = app
        .get(&format!("/v1/orders/{order}"), DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    // A's rep's own charge (a rep acts on its own charges: it cancels it at the end).
    let a_charge: Charge = app
        .post_json(
            "/v1/charges",
            &a_rep.access_token,
            &demo_charge(8_000, "010-1600-0001"),
        )
        .await
        .json()
        .await
        .unwrap();

    // B's rep tries A's ids: refused, and A's records are unchanged.
    let products: SyncPage = app
        .get("/v1/sync?limit=5000", &b_rep.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        products.changes.is_empty(),
        "B has no records and sees none of A's"
    );
    let res = push(
        &app,
        &b_rep.access_token,
        json!([
            { "client_id": uuid::Uuid::now_v7().to_string(), "op": { "type": "upsert_order", "order_id": order,
              "account_id": a_order["account_id"], "lines": a_order["lines"].as_array().unwrap().iter().map(|l| json!({ "product_id": l["product_id"], "quantity": 5 })).collect::<Vec<_>>() } },
            { "client_id": uuid::Uuid::now_v7().to_string(), "op": { "type": "sign_order", "order_id": order,
              "evidence": { "signer_name": "침입자", "signed_at": "2026-01-01T00:00:00Z", "device": "x", "content_hash": "cd".repeat(32) },
              "signature_png": PNG_1X1 } },
            { "client_id": uuid::Uuid::now_v7().to_string(), "op": { "type": "submit_order", "order_id": order } },
            { "client_id": uuid::Uuid::now_v7().to_string(), "op": { "type": "cancel_charge", "charge_id": a_charge.id } },
            { "client_id": uuid::Uuid::now_v7().to_string(), "op": { "type": "request_charge", "charge_id": a_charge.id,
              "request": { "amount": 1, "goods_name": "x", "payer_phone": "010-1600-0002" } } }
        ]),
    )
    .await;
    for r in &res.results {
        match &r.outcome {
            MutationOutcome::Rejected { error } => {
                assert!(
                    ["not_found", "invalid_field"].contains(&error.code.as_str()),
                    "{error:?}"
                )
            }
            other => panic!("B's rep changed A's record: {other:?}"),
        }
    }
    let after: Value = app
        .get(&format!("/v1/orders/{order}"), DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after, a_order);
    let c = app.get_charge(&a_charge.id).await;
    assert!(c.status.is_pending());
    assert_eq!(c.amount, 8_000);
    assert!(app.sms("010-1600-0002").await.is_empty());
    // A's rep's client ids do not collide with B's: the same id is a new mutation for B.
    let shared_id = uuid::Uuid::now_v7().to_string();
    let a_res = push(&app, &a_rep.access_token, json!([{ "client_id": shared_id, "op": { "type": "cancel_charge", "charge_id": a_charge.id } }])).await;
    assert!(matches!(
        a_res.results[0].outcome,
        MutationOutcome::Applied { .. }
    ));
    let b_res = push(&app, &b_rep.access_token, json!([{ "client_id": shared_id, "op": { "type": "cancel_charge", "charge_id": a_charge.id } }])).await;
    assert!(
        matches!(b_res.results[0].outcome, MutationOutcome::Rejected { .. }),
        "B got A's answer: {:?}",
        b_res.results[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_expire_and_refresh_tokens_renew_them() {
    let app = spawn_app().await;
    let t = login(&app, "rep1", "demo1234").await;
    assert_eq!(
        app.get("/v1/sync?limit=1", &t.access_token).await.status(),
        StatusCode::OK
    );
    let advance = |minutes: i64| app.advance_clock(minutes);
    advance((t.expires_in as i64) / 60 + 1).await;
    let (status, code, _) = api_error(app.get("/v1/sync?limit=1", &t.access_token).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized"),
        "an expired access token"
    );
    let r = app
        .http
        .post(app.url("/v1/auth/refresh"))
        .json(&json!({ "refresh_token": t.refresh_token }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let t2: Tokens = r.json().await.unwrap();
    assert_eq!(
        app.get("/v1/sync?limit=1", &t2.access_token).await.status(),
        StatusCode::OK
    );
    // Past the refresh token's lifetime (30 days): sign in again.
    advance(60 * 24 * 30).await;
    advance(1).await;
    let r = app
        .http
        .post(app.url("/v1/auth/refresh"))
        .json(&json!({ "refresh_token": t2.refresh_token }))
        .send()
        .await
        .unwrap();
    assert_eq!(api_error(r).await.1, "unauthorized");
    // The API key does not expire.
    assert_eq!(
        app.get("/v1/charges", DEMO_API_KEY).await.status(),
        StatusCode::OK
    );
    // Oversized mutation batches are refused whole.
    let t3 = login(&app, "rep1", "demo1234").await;
    let many: Vec<Value> = (0..501).map(|_| json!({ "client_id": uuid::Uuid::now_v7().to_string(), "op": { "type": "submit_order", "order_id": "nope-nope" } })).collect();
    let r = app
        .post_json(
            "/v1/mutations",
            &t3.access_token,
            &json!({ "mutations": many }),
        )
        .await;
    let (status, code, _) = api_error(r).await;
    assert_eq!((status.as_u16(), code.as_str()), (422, "invalid_field"));
}
