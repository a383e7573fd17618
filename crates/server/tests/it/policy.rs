//! The merchant's settings are enforced by the server: auto-pay, approval attempts per charge,
//! texts per payer phone and per merchant.

use fieldpay_ivr::Step;
use fieldpay_server::demo;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{api_error, spawn_app, TestApp};

fn vn(c: &fieldpay_protocol::charge::Charge) -> String {
    c.virtual_number.clone().expect("a pending charge has a virtual number")
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
    let auto = json!({ "amount": 9_000, "goods_name": "파스", "payer_phone": payer, "kind": "auto_pay" });

    // Allowed: the registered card is offered.
    let pending = app.charge(auto.clone()).await;

    // Not allowed: no new auto-pay charge...
    set_auto_pay(&app, false).await;
    let r = app
        .post_json("/v1/charges", demo::DEMO_API_KEY, &auto)
        .await;
    let (status, code, _) = api_error(r).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "forbidden"));

    // ...and the one made before is paid by keyed card only: the registered card is not
    // offered (the call goes from the order read-out straight to card entry).
    let t = app.dial(Some(payer), &vn(&pending)).await;
    let t = app.keys(&t.call_id, "1").await;
    assert_eq!(t.turn.step, Step::CardNumber, "{:?}", t.turn);
}
