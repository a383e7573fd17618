//! Purchase orders from devices: numbering, pricing and signature evidence checked by the
//! server.

use fieldpay_protocol::records::OrderStatus;
use fieldpay_protocol::sync::{ChangeData, MutationOutcome, MutationResults, SyncPage};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{evidence, login, spawn_app, TestApp, Tokens};

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

/// The first account and product (id, list price) a rep's device pulls.
async fn first_account_and_product(app: &TestApp, rep: &Tokens) -> (String, (String, i64)) {
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
        ChangeData::Product(p) => Some((p.id.clone(), p.unit_price)),
        _ => None,
    });
    (account.unwrap(), product.unwrap())
}

/// Upserts, signs and submits a one-line order the way a device does; returns the answers.
pub async fn order_signed_and_submitted(app: &TestApp, rep: &Tokens) -> MutationResults {
    let (account, (product, price)) = first_account_and_product(app, rep).await;
    let order_id = uuid::Uuid::now_v7().to_string();
    let id = || uuid::Uuid::now_v7().to_string();
    let m = &rep.rep.merchant_id;
    let signed = evidence(m, &account, &order_id, &[(&product, 1, price)], "");
    push(
        app,
        &rep.access_token,
        json!([
            { "client_id": id(), "op": { "type": "upsert_order", "order_id": order_id,
              "account_id": account, "lines": [{ "product_id": product, "quantity": 1 }] } },
            { "client_id": id(), "op": { "type": "sign_order", "order_id": order_id,
              "evidence": signed, "signature_png": PNG_1X1 } },
            { "client_id": id(), "op": { "type": "submit_order", "order_id": order_id } }
        ]),
    )
    .await
}

/// A signed, unsubmitted one-line order of `rep`'s device; returns its id.
pub async fn signed_order(app: &TestApp, rep: &Tokens) -> String {
    let (account, (product, price)) = first_account_and_product(app, rep).await;
    let order_id = uuid::Uuid::now_v7().to_string();
    let id = || uuid::Uuid::now_v7().to_string();
    let m = &rep.rep.merchant_id;
    let signed = evidence(m, &account, &order_id, &[(&product, 1, price)], "");
    let res = push(
        app,
        &rep.access_token,
        json!([
            { "client_id": id(), "op": { "type": "upsert_order", "order_id": order_id,
              "account_id": account, "lines": [{ "product_id": product, "quantity": 1 }] } },
            { "client_id": id(), "op": { "type": "sign_order", "order_id": order_id,
              "evidence": signed, "signature_png": PNG_1X1 } }
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
    app.exec_sql("UPDATE counters SET value = value - 1 WHERE name LIKE 'order:%'")
        .await;

    let (account, (product, price)) = first_account_and_product(&app, &rep).await;
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
              "evidence": evidence(&rep.rep.merchant_id, &account, &x, &[(&product, 2, price)], ""),
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

fn rejection(res: &MutationResults, i: usize) -> fieldpay_protocol::ErrorCode {
    match &res.results[i].outcome {
        MutationOutcome::Rejected { error } => error.code,
        other => panic!("mutation {i} was not refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_prices_come_from_the_price_list_unless_the_merchant_allows_manual_ones() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let (account, (product, list)) = first_account_and_product(&app, &rep).await;
    let id = || uuid::Uuid::now_v7().to_string();
    let upsert = |order: &str, price: i64| {
        json!({ "client_id": id(), "op": { "type": "upsert_order", "order_id": order, "account_id": account,
            "lines": [{ "product_id": product, "quantity": 2, "unit_price": price }] } })
    };
    // The device's own price, away from the list: refused, nothing stored.
    let cheap = id();
    let res = push(&app, &rep.access_token, json!([upsert(&cheap, list / 2)])).await;
    assert_eq!(
        rejection(&res, 0),
        fieldpay_protocol::ErrorCode::InvalidAmount
    );
    let r = app
        .get(&format!("/v1/orders/{cheap}"), &rep.access_token)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The list price itself is fine.
    let res = push(&app, &rep.access_token, json!([upsert(&id(), list)])).await;
    assert!(matches!(
        res.results[0].outcome,
        MutationOutcome::Applied { .. }
    ));

    // A merchant that lets reps give up to 10% off: 5% off is taken and flagged, 20% is not.
    let store = app.store();
    let m = store.merchant_by_code("demo").unwrap().unwrap();
    let mut settings = m.settings.clone();
    settings.manual_price_max_discount_pct = Some(10);
    store.update_merchant_settings(&m.id, &settings).unwrap();
    let res = push(
        &app,
        &rep.access_token,
        json!([upsert(&id(), list - list / 20)]),
    )
    .await;
    match &res.results[0].outcome {
        MutationOutcome::Applied { order: Some(o), .. } => {
            assert!(o.lines[0].manual_price, "{o:?}");
            assert_eq!(o.lines[0].unit_price, list - list / 20);
        }
        other => panic!("{other:?}"),
    }
    let res = push(
        &app,
        &rep.access_token,
        json!([upsert(&id(), list - list / 5)]),
    )
    .await;
    assert_eq!(
        rejection(&res, 0),
        fieldpay_protocol::ErrorCode::InvalidAmount
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_over_other_lines_than_the_order_holds_is_refused() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let (account, (product, price)) = first_account_and_product(&app, &rep).await;
    let m = rep.rep.merchant_id.clone();
    let order = uuid::Uuid::now_v7().to_string();
    let id = || uuid::Uuid::now_v7().to_string();
    // The client saw (and signed) one box; the order sent holds three.
    let seen = evidence(&m, &account, &order, &[(&product, 1, price)], "");
    let res = push(
        &app,
        &rep.access_token,
        json!([
            { "client_id": id(), "op": { "type": "upsert_order", "order_id": order, "account_id": account,
              "lines": [{ "product_id": product, "quantity": 3 }] } },
            { "client_id": id(), "op": { "type": "sign_order", "order_id": order, "evidence": seen, "signature_png": PNG_1X1 } },
            { "client_id": id(), "op": { "type": "submit_order", "order_id": order } }
        ]),
    )
    .await;
    assert_eq!(
        rejection(&res, 1),
        fieldpay_protocol::ErrorCode::InvalidField
    );
    // Not signed, so not registered either; no receivable was booked.
    assert_eq!(
        rejection(&res, 2),
        fieldpay_protocol::ErrorCode::InvalidState
    );
    let o: Value = app
        .get(&format!("/v1/orders/{order}"), &rep.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o["status"], "draft");
    // A signature over what the order holds is taken.
    let right = evidence(&m, &account, &order, &[(&product, 3, price)], "");
    let res = push(
        &app,
        &rep.access_token,
        json!([{ "client_id": id(), "op": { "type": "sign_order", "order_id": order, "evidence": right, "signature_png": PNG_1X1 } }]),
    )
    .await;
    assert!(
        matches!(res.results[0].outcome, MutationOutcome::Applied { .. }),
        "{res:?}"
    );
}

/// Upserts, signs (with `number`, as the device gives it at signing) and submits a one-line
/// order of `rep`'s device; returns the order's id and the answers.
async fn numbered_order(
    app: &TestApp,
    rep: &Tokens,
    number: Option<&str>,
) -> (String, MutationResults) {
    let (account, (product, price)) = first_account_and_product(app, rep).await;
    let order_id = uuid::Uuid::now_v7().to_string();
    let id = || uuid::Uuid::now_v7().to_string();
    let m = &rep.rep.merchant_id;
    let signed = crate::helpers::evidence_numbered(
        m,
        &account,
        &order_id,
        &[(&product, 1, price)],
        "",
        number,
    );
    let mut sign = json!({ "type": "sign_order", "order_id": order_id,
        "evidence": signed, "signature_png": PNG_1X1 });
    if let Some(n) = number {
        sign["number"] = json!(n);
    }
    let res = push(
        app,
        &rep.access_token,
        json!([
            { "client_id": id(), "op": { "type": "upsert_order", "order_id": order_id,
              "account_id": account, "lines": [{ "product_id": product, "quantity": 1 }] } },
            { "client_id": id(), "op": sign },
            { "client_id": id(), "op": { "type": "submit_order", "order_id": order_id } }
        ]),
    )
    .await;
    (order_id, res)
}

/// Issue 16: each rep gets its number series at sign-in; an order signed on the device with a
/// number of that series (on the signature's KST day) is registered under that number, the
/// one the PDF carries; another rep's series, another day or a number already used in the
/// merchant is refused with a typed error and nothing is registered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_registered_under_the_number_signed_on_the_device() {
    use fieldpay_protocol::ErrorCode;
    let app = spawn_app().await;
    let rep1 = login(&app, "rep1", "demo1234").await;
    let rep2 = login(&app, "rep2", "demo1234").await;
    assert_eq!(
        (rep1.rep.series.as_str(), rep2.rep.series.as_str()),
        ("R01", "R02")
    );
    // SIGNED_AT is 2026-03-02 10:02 KST.
    let (first, res) = numbered_order(&app, &rep1, Some("PO-20260302-R01-0001")).await;
    assert_eq!(registered_number(&res), "PO-20260302-R01-0001");
    let (_, res) = numbered_order(&app, &rep2, Some("PO-20260302-R02-0001")).await;
    assert_eq!(registered_number(&res), "PO-20260302-R02-0001");

    let refused = [
        (&rep1, "PO-20260302-R01-0001", ErrorCode::Conflict),
        (&rep2, "PO-20260302-R01-0002", ErrorCode::InvalidField),
        (&rep1, "PO-20260303-R01-0002", ErrorCode::InvalidField),
        (&rep1, "PO-20260302-0002", ErrorCode::InvalidField),
    ];
    for (rep, number, code) in refused {
        let (order_id, res) = numbered_order(&app, rep, Some(number)).await;
        assert!(
            matches!(res.results[0].outcome, MutationOutcome::Applied { .. }),
            "{res:?}"
        );
        assert_eq!(rejection(&res, 1), code, "{number}");
        // Not signed, so not registered either.
        assert_eq!(rejection(&res, 2), ErrorCode::InvalidState, "{number}");
        let order: fieldpay_protocol::records::Order = app
            .get(&format!("/v1/orders/{order_id}"), &rep.access_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(order.status, OrderStatus::Draft, "{number}");
        assert_eq!(order.number, None, "{number}");
    }
    // The first order still has its number.
    let order: fieldpay_protocol::records::Order = app
        .get(&format!("/v1/orders/{first}"), &rep1.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order.number.as_deref(), Some("PO-20260302-R01-0001"));
    // An order signed without a number (an older app) is numbered at registration.
    let (_, res) = numbered_order(&app, &rep1, None).await;
    let n = registered_number(&res);
    assert!(
        n.starts_with("PO-") && n.ends_with("-0001") && !n.contains("-R"),
        "{n}"
    );
}
