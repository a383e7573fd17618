//! Purchase orders from devices: numbering, pricing and signature evidence checked by the
//! server.

use fieldpay_protocol::records::OrderStatus;
use fieldpay_protocol::sync::{ChangeData, MutationOutcome, MutationResults, SyncPage};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{login, spawn_app, TestApp, Tokens};

const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

pub async fn push(app: &TestApp, token: &str, mutations: Value) -> MutationResults {
    let r = app
        .post_json("/v1/mutations", token, &json!({ "mutations": mutations }))
        .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The first account and product a rep's device pulls.
async fn first_account_and_product(app: &TestApp, rep: &Tokens) -> (String, String) {
    let page: SyncPage = app
        .get("/v1/sync?limit=5000", &rep.access_token)
        .await
        .json()
        .await
        .unwrap();
    let account = page.changes.iter().find_map(|c| match &c.data {
        ChangeData::Account(a) => Some(a.id.clone()),
        _ => None,
    });
    let product = page.changes.iter().find_map(|c| match &c.data {
        ChangeData::Product(p) => Some(p.id.clone()),
        _ => None,
    });
    (account.unwrap(), product.unwrap())
}

/// Upserts, signs and submits a one-line order the way a device does; returns the answers.
async fn order_signed_and_submitted(app: &TestApp, rep: &Tokens) -> MutationResults {
    let (account, product) = first_account_and_product(app, rep).await;
    let order_id = uuid::Uuid::now_v7().to_string();
    let id = || uuid::Uuid::now_v7().to_string();
    push(
        app,
        &rep.access_token,
        json!([
            { "client_id": id(), "op": { "type": "upsert_order", "order_id": order_id,
              "account_id": account, "lines": [{ "product_id": product, "quantity": 1 }] } },
            { "client_id": id(), "op": { "type": "sign_order", "order_id": order_id,
              "evidence": { "signer_name": "김민수", "signed_at": "2026-01-01T00:00:00Z", "device": "test", "content_hash": "ab".repeat(32) },
              "signature_png": PNG_1X1 } },
            { "client_id": id(), "op": { "type": "submit_order", "order_id": order_id } }
        ]),
    )
    .await
}

/// A signed, unsubmitted one-line order of `rep`'s device; returns its id.
pub async fn signed_order(app: &TestApp, rep: &Tokens) -> String {
    let (account, product) = first_account_and_product(app, rep).await;
    let order_id = uuid::Uuid::now_v7().to_string();
    let id = || uuid::Uuid::now_v7().to_string();
    let res = push(
        app,
        &rep.access_token,
        json!([
            { "client_id": id(), "op": { "type": "upsert_order", "order_id": order_id,
              "account_id": account, "lines": [{ "product_id": product, "quantity": 1 }] } },
            { "client_id": id(), "op": { "type": "sign_order", "order_id": order_id,
              "evidence": { "signer_name": "김민수", "signed_at": "2026-01-01T00:00:00Z", "device": "test", "content_hash": "ab".repeat(32) },
              "signature_png": PNG_1X1 } }
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

fn registered_number(res: &MutationResults) -> String {
    match &res.results.last().unwrap().outcome {
        MutationOutcome::Applied {
            order: Some(order), ..
        } => {
            assert_eq!(order.status, OrderStatus::Registered, "{order:?}");
            order
                .number
                .clone()
                .expect("a registered order has a number")
        }
        other => panic!("the order was not registered: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_merchants_number_their_first_orders_of_the_day_alike() {
    let app = spawn_app().await;
    let (_, b_rep) = app.merchant_with_rep("b", &["16009990"], "brep").await;
    let a_rep = login(&app, "rep1", "demo1234").await;

    let a = registered_number(&order_signed_and_submitted(&app, &a_rep).await);
    // Merchant B's counter is its own: its first order of the day has the same number, and is
    // registered (not a failed push that blocks B's device).
    let b = registered_number(&order_signed_and_submitted(&app, &b_rep).await);
    assert!(a.ends_with("-0001") && b.ends_with("-0001"), "{a} {b}");
    assert_eq!(a, b);
    // Each merchant's next order goes on in its own series.
    let a2 = registered_number(&order_signed_and_submitted(&app, &a_rep).await);
    assert!(a2.ends_with("-0002"), "{a2}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constraint_refuses_one_mutation_not_the_batch() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let first = registered_number(&order_signed_and_submitted(&app, &rep).await);
    // Make the next number collide with the first (as a counter lost in a restore would).
    let db = rusqlite::Connection::open(app.data.join("fieldpay.db")).unwrap();
    db.execute(
        "UPDATE counters SET value = value - 1 WHERE name LIKE 'order:%'",
        [],
    )
    .unwrap();
    drop(db);

    let (account, product) = first_account_and_product(&app, &rep).await;
    let (x, y) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    let id = || uuid::Uuid::now_v7().to_string();
    let res = push(
        &app,
        &rep.access_token,
        json!([
            { "client_id": id(), "op": { "type": "upsert_order", "order_id": x,
              "account_id": account, "lines": [{ "product_id": product, "quantity": 2 }] } },
            { "client_id": id(), "op": { "type": "sign_order", "order_id": x,
              "evidence": { "signer_name": "김민수", "signed_at": "2026-01-01T00:00:00Z", "device": "test", "content_hash": "ab".repeat(32) },
              "signature_png": PNG_1X1 } },
            { "client_id": id(), "op": { "type": "submit_order", "order_id": x } },
            { "client_id": id(), "op": { "type": "upsert_order", "order_id": y,
              "account_id": account, "lines": [{ "product_id": product, "quantity": 3 }] } }
        ]),
    )
    .await;
    let outcomes: Vec<&MutationOutcome> = res.results.iter().map(|r| &r.outcome).collect();
    match outcomes[2] {
        MutationOutcome::Rejected { error } => {
            assert_eq!(
                error.code,
                fieldpay_protocol::ErrorCode::Conflict,
                "{error:?}"
            )
        }
        other => panic!("the colliding submit must be refused alone: {other:?}"),
    }
    assert!(
        matches!(outcomes[3], MutationOutcome::Applied { .. }),
        "{outcomes:?}"
    );
    // The refused order was left as it was (signed, no number), the first one untouched.
    let x_now: Value = app
        .get(&format!("/v1/orders/{x}"), &rep.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(x_now["status"], "signed");
    assert!(x_now["number"].is_null());
    assert!(first.ends_with("-0001"));
}
