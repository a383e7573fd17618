//! Sharing by text (문자로 보내기): a signed purchase order's PDF link or a paid charge's
//! receipt link texted to a mobile phone once per share id, logged with the order; the PDF
//! link serves the signed PDF and an unknown token is a 404 page; bad phones, charges of
//! other orders and the sixth text of an order are refused with nothing sent.

use fieldpay_protocol::share::{OrderShare, OrderShares};
use fieldpay_protocol::sms::SmsKind;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{api_error, login, settle_sms, spawn_app, TestApp, APPROVE_CARD};
use crate::sync::{applied_order, demo, push, sign, submit, uid, upsert, PDF, PNG_1X1};

async fn share(app: &TestApp, bearer: &str, order_id: &str, body: &Value) -> reqwest::Response {
    app.post_json(&format!("/v1/orders/{order_id}/shares"), bearer, body)
        .await
}

async fn shared(app: &TestApp, bearer: &str, order_id: &str, body: &Value) -> OrderShare {
    let r = share(app, bearer, order_id, body).await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// A share as stored, whatever its text's progress since.
fn without_status(s: &OrderShare) -> OrderShare {
    OrderShare {
        status: fieldpay_protocol::sms::SmsStatus::Pending,
        ..s.clone()
    }
}

async fn texts_of(app: &TestApp, phone: &str, kind: SmsKind) -> Vec<String> {
    settle_sms(app).await;
    app.sms(phone)
        .await
        .into_iter()
        .filter(|s| s.kind == kind)
        .map(|s| s.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_order_and_a_receipt_by_text() {
    let app = spawn_app().await;
    let d = demo(&app).await;
    let rep = d.rep.access_token.as_str();
    let account = d
        .accounts
        .iter()
        .max_by_key(|a| a.credit_limit)
        .unwrap()
        .clone();
    let p = &d.products[0];
    let order_id = uid();
    let charge_id = uid();
    let payer = "010-2300-0001";
    let res = push(
        &app,
        rep,
        &json!([
            upsert(
                &order_id,
                &account.id,
                json!([{ "product_id": p.id, "quantity": 2 }])
            ),
            sign(
                &d,
                &order_id,
                &account.id,
                &[(p, 2, p.unit_price)],
                PNG_1X1,
                Some(PDF)
            ),
            submit(&order_id),
        ]),
    )
    .await;
    let order = applied_order(&res.results[2].outcome);
    let number = order.number.clone().unwrap();

    // The purchase order's link: texted once per share id, whatever the retries.
    let to = "010-2300-0099";
    let body = json!({ "share_id": uid(), "to_phone": to, "kind": "purchase_order" });
    let first = shared(&app, rep, &order_id, &body).await;
    let again = shared(&app, rep, &order_id, &body).await;
    assert_eq!(without_status(&first), without_status(&again));
    assert_eq!(first.to_phone, to);
    assert!(first.link.starts_with(&app.url("/d/")), "{}", first.link);
    let po_texts = texts_of(&app, "01023000099", SmsKind::Share).await;
    assert_eq!(po_texts.len(), 1, "{po_texts:?}");
    assert!(
        po_texts[0].contains(&number) && po_texts[0].contains(&first.link),
        "{}",
        po_texts[0]
    );

    // The link answers the signed PDF, without credentials.
    let r = app.http.get(&first.link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);
    // Unknown tokens: a 404 page.
    for bad in ["/d/no-such-token", "/d/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let r = app.http.get(app.url(bad)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(r.text().await.unwrap().contains("not_found"));
    }

    // The same share id with another phone: a conflict, nothing sent.
    let mut other = body.clone();
    other["to_phone"] = json!("010-2300-0098");
    let (status, code, _) = api_error(share(&app, rep, &order_id, &other).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::CONFLICT, "conflict"));

    // Bad phones and bodies: refused, nothing sent.
    for (bad, want) in [
        (
            json!({ "share_id": uid(), "to_phone": "02-123-4567", "kind": "purchase_order" }),
            "invalid_phone",
        ),
        (
            json!({ "share_id": uid(), "to_phone": "010-12", "kind": "purchase_order" }),
            "invalid_phone",
        ),
        (
            json!({ "share_id": uid(), "to_phone": "전화번호", "kind": "purchase_order" }),
            "invalid_phone",
        ),
        (
            json!({ "share_id": "x", "to_phone": to, "kind": "purchase_order" }),
            "invalid_field",
        ),
        (
            json!({ "share_id": uid(), "to_phone": to, "kind": "receipt" }),
            "invalid_field",
        ),
        (
            json!({ "share_id": uid(), "to_phone": to, "kind": "purchase_order", "charge_id": charge_id }),
            "invalid_field",
        ),
        (
            json!({ "share_id": uid(), "to_phone": to, "kind": "fax" }),
            "malformed_body",
        ),
    ] {
        let (status, code, _) = api_error(share(&app, rep, &order_id, &bad).await).await;
        assert_eq!(code, want, "{bad}");
        assert!(status.is_client_error());
    }
    // A receipt before anything is paid; another order's or an unknown charge.
    let r = push(
        &app,
        rep,
        &json!([{ "client_id": uid(), "op": { "type": "request_charge", "charge_id": charge_id, "request": {
            "amount": order.totals.total, "goods_name": "주문 결제", "payer_phone": payer,
            "account_id": account.id, "order_ref": order_id } } }]),
    )
    .await;
    assert_eq!(r.results.len(), 1);
    let receipt =
        json!({ "share_id": uid(), "to_phone": to, "kind": "receipt", "charge_id": charge_id });
    let (status, code, _) = api_error(share(&app, rep, &order_id, &receipt).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "invalid_state")
    );
    let unknown =
        json!({ "share_id": uid(), "to_phone": to, "kind": "receipt", "charge_id": uid() });
    let (status, _, _) = api_error(share(&app, rep, &order_id, &unknown).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(texts_of(&app, "01023000099", SmsKind::Share).await.len(), 1);

    // Paid: the receipt link goes out (about the charge, so its text history shows it).
    let c = app.wait_status(&charge_id, "sms_sent").await;
    app.pay_by_phone(
        "01023000001",
        c.virtual_number.as_deref().unwrap(),
        APPROVE_CARD,
    )
    .await;
    app.wait_status(&charge_id, "approved").await;
    let sent = shared(&app, rep, &order_id, &receipt).await;
    assert!(sent.link.contains("/r/"), "{}", sent.link);
    let r = app.http.get(&sent.link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    settle_sms(&app).await;
    let about_charge: Vec<_> = app
        .sms("01023000099")
        .await
        .into_iter()
        .filter(|s| s.kind == SmsKind::Share && s.charge_id.as_deref() == Some(charge_id.as_str()))
        .collect();
    assert_eq!(about_charge.len(), 1);

    // The order's history: newest first; another rep sees no such order.
    let r = app.get(&format!("/v1/orders/{order_id}/shares"), rep).await;
    assert_eq!(r.status(), StatusCode::OK);
    let list: OrderShares = r.json().await.unwrap();
    assert_eq!(list.shares.len(), 2);
    assert_eq!(list.shares[0].id, sent.id);
    assert_eq!(list.shares[1].id, first.id);
    assert!(list
        .shares
        .iter()
        .all(|s| s.status == fieldpay_protocol::sms::SmsStatus::Sent));
    let rep2 = login(&app, "rep2", "demo1234").await;
    let r = app
        .get(&format!("/v1/orders/{order_id}/shares"), &rep2.access_token)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (status, _, _) = api_error(
        share(
            &app,
            &rep2.access_token,
            &order_id,
            &json!({ "share_id": uid(), "to_phone": to, "kind": "purchase_order" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Five texts per order: the sixth is refused, nothing sent.
    for _ in 0..3 {
        shared(
            &app,
            rep,
            &order_id,
            &json!({ "share_id": uid(), "to_phone": to, "kind": "purchase_order" }),
        )
        .await;
    }
    let (status, code, _) = api_error(
        share(
            &app,
            rep,
            &order_id,
            &json!({ "share_id": uid(), "to_phone": "010-2300-0097", "kind": "purchase_order" }),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(texts_of(&app, "01023000097", SmsKind::Share)
        .await
        .is_empty());
    // A retry of an earlier share still answers it.
    assert_eq!(
        without_status(&shared(&app, rep, &order_id, &body).await),
        without_status(&first)
    );
    assert_eq!(texts_of(&app, "01023000099", SmsKind::Share).await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_order_has_no_pdf_to_send() {
    let app = spawn_app().await;
    let d = demo(&app).await;
    let rep = d.rep.access_token.as_str();
    let account = &d.accounts[0];
    let order_id = uid();
    push(
        &app,
        rep,
        &json!([upsert(
            &order_id,
            &account.id,
            json!([{ "product_id": d.products[0].id, "quantity": 1 }])
        )]),
    )
    .await;
    let body = json!({ "share_id": uid(), "to_phone": "010-2300-0002", "kind": "purchase_order" });
    let (status, code, _) = api_error(share(&app, rep, &order_id, &body).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "invalid_state")
    );
    let (status, _, _) = api_error(share(&app, rep, &uid(), &body).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(texts_of(&app, "01023000002", SmsKind::Share)
        .await
        .is_empty());
}
