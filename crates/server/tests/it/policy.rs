//! The merchant's settings are enforced by the server: auto-pay, approval attempts per charge,
//! texts per payer phone and per merchant.

use fieldpay_ivr::Step;
use fieldpay_server::demo;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{api_error, spawn_app, TestApp};

fn vn(c: &fieldpay_protocol::charge::Charge) -> String {
    c.virtual_number
        .clone()
        .expect("a pending charge has a virtual number")
}

async fn set_auto_pay(app: &TestApp, on: bool) {
    let store = app.store();
    let m = store
        .merchant_by_code(demo::DEMO_MERCHANT_CODE)
        .unwrap()
        .unwrap();
    let mut settings = m.settings.clone();
    settings.auto_pay = on;
    store.update_merchant_settings(&m.id, &settings).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_pay_only_where_the_merchant_allows_it() {
    let app = spawn_app().await;
    let payer = demo::DEMO_AUTOPAY_PHONE;
    let auto =
        json!({ "amount": 9_000, "goods_name": "파스", "payer_phone": payer, "kind": "auto_pay" });

    // Allowed: the registered card is offered.
    let pending = app.charge(auto.clone()).await;

    // Not allowed: no new auto-pay charge...
    set_auto_pay(&app, false).await;
    let r = app
        .post_json("/v1/charges", demo::DEMO_API_KEY, &auto)
        .await;
    let (status, code, _) = api_error(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );

    // ...and the one made before is paid by keyed card only: the registered card is not
    // offered (the call goes from the order read-out straight to card entry).
    let t = app.dial(Some(payer), &vn(&pending)).await;
    let t = app.keys(&t.call_id, "1").await;
    assert_eq!(t.turn.step, Step::CardNumber, "{:?}", t.turn);
}

const WRONG_PASSWORD_CARD: &str = "5155940000000553";
const INSUFFICIENT_FUNDS_CARD: &str = "5404470000000519";
const LOST_STOLEN_CARD: &str = "4512450000000414";

async fn declined_call(app: &TestApp, payer: &str, number: &str, card: &str) -> Vec<String> {
    let t = app.pay_by_phone(payer, number, card).await;
    assert!(t.turn.hangup, "{:?}", t.turn);
    assert!(
        matches!(t.turn.outcome, Some(fieldpay_ivr::Outcome::Declined(_))),
        "{:?}",
        t.turn
    );
    t.turn.say
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_takes_a_bounded_number_of_declined_cards() {
    let app = spawn_app().await;
    let payer = "010-5100-0001";
    let c = app
        .charge(json!({ "amount": 12_000, "goods_name": "감기약", "payer_phone": payer }))
        .await;
    let number = vn(&c);
    // The demo merchant allows 3 approval attempts per charge (the default).
    for _ in 0..2 {
        declined_call(&app, "01051000001", &number, WRONG_PASSWORD_CARD).await;
        let d = app.get_charge(&c.id).await;
        assert_eq!(
            d.virtual_number.as_deref(),
            Some(number.as_str()),
            "still payable"
        );
    }
    declined_call(&app, "01051000001", &number, WRONG_PASSWORD_CARD).await;
    // Declined for good: no longer payable, and the rep sees why.
    let d = app.get_charge(&c.id).await;
    assert_eq!(d.status.as_str(), "declined");
    assert_eq!(d.virtual_number, None, "{d:?}");
    assert_eq!(d.decline_reason.as_deref(), Some("too_many_attempts"));
    // A fourth call finds nothing to pay.
    let t = app.dial(Some("01051000001"), &number).await;
    assert_eq!(
        t.turn.outcome,
        Some(fieldpay_ivr::Outcome::NoCharge),
        "{:?}",
        t.turn
    );
    // And it cannot be canceled or paid any more, only seen.
    let r = app
        .post_json(
            &format!("/v1/charges/{}/cancel", c.id),
            demo::DEMO_API_KEY,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_attempts_are_limited_per_caller_across_charges() {
    let app = spawn_app().await;
    let payer = "010-5200-0002";
    let make =
        || app.charge(json!({ "amount": 12_000, "goods_name": "감기약", "payer_phone": payer }));
    let first = make().await;
    let second = make().await;
    // 3 declines end the first charge, 2 more on the second: 5 declines from this phone.
    for _ in 0..3 {
        declined_call(&app, "01052000002", &vn(&first), INSUFFICIENT_FUNDS_CARD).await;
    }
    for _ in 0..2 {
        declined_call(&app, "01052000002", &vn(&second), INSUFFICIENT_FUNDS_CARD).await;
    }
    // The second charge would allow a third try, but the phone has used its declines for the
    // hour: nothing is sent to the card network, the payer is told it did not go through.
    let t = app
        .pay_by_phone("01052000002", &vn(&second), crate::helpers::APPROVE_CARD)
        .await;
    assert_ne!(
        t.turn.outcome,
        Some(fieldpay_ivr::Outcome::Approved),
        "{:?}",
        t.turn
    );
    let net = app.state().sandbox_network.clone().unwrap();
    let txns = net.transactions().await.unwrap();
    assert!(
        !txns.iter().any(|t| t.key == second.id),
        "no approval reached the card network"
    );
    assert_ne!(app.get_charge(&second.id).await.status.as_str(), "approved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_reasons_are_spoken_in_categories_that_do_not_help_card_testing() {
    let app = spawn_app().await;
    let payer = "010-5300-0003";
    let said = |say: Vec<String>| say.join(" ");
    let mut heard = Vec::new();
    for card in [
        WRONG_PASSWORD_CARD,
        INSUFFICIENT_FUNDS_CARD,
        LOST_STOLEN_CARD,
    ] {
        let c = app
            .charge(json!({ "amount": 12_000, "goods_name": "감기약", "payer_phone": payer }))
            .await;
        heard.push(said(
            declined_call(&app, "01053000003", &vn(&c), card).await,
        ));
        app.post_json(
            &format!("/v1/charges/{}/cancel", c.id),
            demo::DEMO_API_KEY,
            &json!({}),
        )
        .await;
    }
    // A wrong password is "the card details do not match", never "wrong password".
    assert!(
        heard[0].contains("카드 정보가 맞지 않습니다"),
        "{}",
        heard[0]
    );
    assert!(!heard[0].contains("비밀번호"), "{}", heard[0]);
    // Insufficient funds and a lost or stolen card sound the same: a card tester cannot tell
    // a live card from a blocked one.
    assert_eq!(heard[1], heard[2]);
    assert!(
        !heard[1].contains("부족") && !heard[2].contains("제한"),
        "{heard:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bills_are_limited_per_payer_phone_and_per_merchant_each_hour() {
    let app = crate::helpers::spawn_app_configured(&[1], |s| s.bills_per_phone_per_hour = 3).await;
    let key = demo::DEMO_API_KEY;
    let to = |phone: &str| json!({ "amount": 5_000, "goods_name": "파스", "payer_phone": phone });
    // Three bills to one phone; the fourth request (a new charge or a resend) is refused and
    // nothing is created or texted.
    let first = app.charge(to("010-5400-0001")).await;
    app.charge(to("010-5400-0001")).await;
    app.charge(to("010-5400-0001")).await;
    let (status, code, _) = api_error(
        app.post_json("/v1/charges", key, &to("010-5400-0001"))
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let r = app
        .post_json(&format!("/v1/charges/{}/resend", first.id), key, &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let list: fieldpay_protocol::charge::ChargeList = app
        .get("/v1/charges?payer_phone=010-5400-0001&limit=50", key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.items.len(), 3, "the refused request created nothing");
    crate::helpers::settle_sms(&app).await;
    let bills = app
        .sms("010-5400-0001")
        .await
        .into_iter()
        .filter(|s| s.kind == fieldpay_protocol::sms::SmsKind::Bill)
        .count();
    assert_eq!(bills, 3);
    // Another phone is not affected...
    app.charge(to("010-5400-0002")).await;

    // ...until the merchant's own hourly limit: 4 bills so far, a limit of 5 takes one more.
    let store = app.store();
    let m = store
        .merchant_by_code(demo::DEMO_MERCHANT_CODE)
        .unwrap()
        .unwrap();
    let mut settings = m.settings.clone();
    settings.texts_per_hour = Some(5);
    store.update_merchant_settings(&m.id, &settings).unwrap();
    app.charge(to("010-5400-0003")).await;
    let (status, _, _) = api_error(
        app.post_json("/v1/charges", key, &to("010-5400-0004"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
