//! What a rep may do: its own charges and orders; refunds, other reps' records and the
//! webhook log need the manager role or an API key. Every refusal is checked on the server.

use fieldpay_protocol::charge::{Charge, ChargeList};
use fieldpay_protocol::settlement::SettlementReport;
use fieldpay_protocol::sync::{ChangeData, MutationOutcome, SyncPage};
use fieldpay_server::demo::DEMO_API_KEY;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{demo_charge, login, spawn_app, TestApp, Tokens, APPROVE_CARD};
use crate::orders::push;

async fn rep_charge(app: &TestApp, rep: &Tokens, payer: &str) -> Charge {
    let r = app
        .post_json("/v1/charges", &rep.access_token, &demo_charge(7_000, payer))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn status(app: &TestApp, method: &str, path: &str, bearer: &str) -> StatusCode {
    let req = match method {
        "GET" => app.http.get(app.url(path)),
        _ => app.http.post(app.url(path)).json(&json!({})),
    };
    req.bearer_auth(bearer).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_acts_on_its_own_charges_only() {
    let app = spawn_app().await;
    let rep1 = login(&app, "rep1", "demo1234").await;
    let rep2 = login(&app, "rep2", "demo1234").await;
    let mine = rep_charge(&app, &rep1, "010-6100-0001").await;
    let theirs = rep_charge(&app, &rep2, "010-6100-0002").await;
    let by_key = app.charge(demo_charge(9_000, "010-6100-0003")).await;

    // Lists and reads: own charges only (another rep's is "not found", as another merchant's).
    let list: ChargeList = app
        .get("/v1/charges?limit=200", &rep1.access_token)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list.items.iter().map(|c| c.id.as_str()).collect();
    assert!(ids.contains(&mine.id.as_str()), "{ids:?}");
    assert!(
        !ids.contains(&theirs.id.as_str()) && !ids.contains(&by_key.id.as_str()),
        "{ids:?}"
    );
    let t = &rep1.access_token;
    assert_eq!(
        status(&app, "GET", &format!("/v1/charges/{}", theirs.id), t).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(
            &app,
            "GET",
            &format!("/v1/charges?rep_id={}", rep2.rep.id),
            t
        )
        .await,
        StatusCode::FORBIDDEN
    );
    for action in ["cancel", "resend"] {
        let path = format!("/v1/charges/{}/{action}", theirs.id);
        assert_eq!(
            status(&app, "POST", &path, t).await,
            StatusCode::NOT_FOUND,
            "{action}"
        );
    }
    // The other rep's charge was not touched.
    assert!(app.get_charge(&theirs.id).await.status.is_pending());
    // Its own: read, resend, cancel.
    assert_eq!(
        status(&app, "GET", &format!("/v1/charges/{}", mine.id), t).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "POST", &format!("/v1/charges/{}/resend", mine.id), t).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "POST", &format!("/v1/charges/{}/cancel", mine.id), t).await,
        StatusCode::OK
    );

    // A device cannot cancel another rep's charge through sync either.
    let res = push(
        &app,
        t,
        json!([{ "client_id": uuid::Uuid::now_v7().to_string(), "op": { "type": "cancel_charge", "charge_id": theirs.id } }]),
    )
    .await;
    assert!(
        matches!(&res.results[0].outcome, MutationOutcome::Rejected { error } if error.code == fieldpay_protocol::ErrorCode::NotFound),
        "{res:?}"
    );
    // Not canceled: its bill goes out (the text is sent after the request is answered).
    app.wait_status(&theirs.id, "sms_sent").await;

    // Its device does not receive other reps' charges.
    let page: SyncPage = app
        .get("/v1/sync?limit=5000", t)
        .await
        .json()
        .await
        .unwrap();
    let seen: Vec<&str> = page
        .changes
        .iter()
        .filter_map(|c| match &c.data {
            ChangeData::Charge(ch) => Some(ch.id.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        seen.contains(&mine.id.as_str()) && !seen.contains(&theirs.id.as_str()),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_other_reps_figures_and_the_webhook_log_need_the_manager_role() {
    let app = spawn_app().await;
    let rep1 = login(&app, "rep1", "demo1234").await;
    let manager = login(&app, "manager", "demo1234").await;
    let paid = rep_charge(&app, &rep1, "010-6200-0001").await;
    app.pay_by_phone(
        "01062000001",
        paid.virtual_number.as_deref().unwrap(),
        APPROVE_CARD,
    )
    .await;
    app.wait_status(&paid.id, "approved").await;
    let refund = format!("/v1/charges/{}/refund", paid.id);
    let t = &rep1.access_token;

    // A rep: no refund (even of its own charge), no webhook log.
    assert_eq!(
        status(&app, "POST", &refund, t).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get_charge(&paid.id).await.status.as_str(), "approved");
    assert_eq!(
        status(&app, "GET", "/v1/webhooks/deliveries", t).await,
        StatusCode::FORBIDDEN
    );
    // Its settlement shows its own payments only (one rep row: its own).
    let own: SettlementReport = app.get("/v1/settlement", t).await.json().await.unwrap();
    assert!(own.by_rep.iter().all(|r| r.key == rep1.rep.id), "{own:?}");

    // The manager (and an API key) may: the manager sees every rep and refunds.
    assert_eq!(
        status(
            &app,
            "GET",
            "/v1/webhooks/deliveries",
            &manager.access_token
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "GET", "/v1/webhooks/deliveries", DEMO_API_KEY).await,
        StatusCode::OK
    );
    let list: ChargeList = app
        .get("/v1/charges?limit=200", &manager.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(list.items.iter().any(|c| c.id == paid.id));
    assert_eq!(
        status(&app, "POST", &refund, &manager.access_token).await,
        StatusCode::OK
    );
    app.wait_status(&paid.id, "refunded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_reads_and_changes_its_own_orders_only() {
    let app = spawn_app().await;
    let rep1 = login(&app, "rep1", "demo1234").await;
    let rep2 = login(&app, "rep2", "demo1234").await;
    let order = crate::orders::signed_order(&app, &rep2).await;
    let t = &rep1.access_token;
    assert_eq!(
        status(&app, "GET", &format!("/v1/orders/{order}"), t).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&app, "GET", &format!("/v1/orders/{order}/pdf"), t).await,
        StatusCode::NOT_FOUND
    );
    let id = || uuid::Uuid::now_v7().to_string();
    let res = push(
        &app,
        t,
        json!([{ "client_id": id(), "op": { "type": "submit_order", "order_id": order } }]),
    )
    .await;
    assert!(
        matches!(&res.results[0].outcome, MutationOutcome::Rejected { .. }),
        "{res:?}"
    );
    let o: serde_json::Value = app
        .get(&format!("/v1/orders/{order}"), &rep2.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o["status"], "signed", "rep2's order was left alone");
    assert_eq!(
        status(
            &app,
            "GET",
            &format!("/v1/orders/{order}"),
            &rep2.access_token
        )
        .await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_belong_to_the_caller_that_used_them() {
    let app = spawn_app().await;
    let rep1 = login(&app, "rep1", "demo1234").await;
    let key = "order-2026-0001";
    let post = |bearer: String, payer: &'static str| {
        let app = &app;
        async move {
            app.http
                .post(app.url("/v1/charges"))
                .bearer_auth(bearer)
                .header("Idempotency-Key", key)
                .json(&demo_charge(3_000, payer))
                .send()
                .await
                .unwrap()
        }
    };
    // The API key and a rep each use the key for their own request: two charges, no conflict.
    let a = post(DEMO_API_KEY.to_string(), "010-6300-0001").await;
    assert_eq!(a.status(), StatusCode::CREATED);
    let b = post(rep1.access_token.clone(), "010-6300-0002").await;
    assert_eq!(
        b.status(),
        StatusCode::CREATED,
        "{}",
        b.text().await.unwrap()
    );
    // Each caller's retry still gets its own first answer.
    let a2 = post(DEMO_API_KEY.to_string(), "010-6300-0001").await;
    assert_eq!(a2.status(), StatusCode::OK);
}
