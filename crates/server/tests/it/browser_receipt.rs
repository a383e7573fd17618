//! The sales slip (매출전표) at `/r/{token}` in a real browser: approved, partly refunded and
//! canceled, at a phone's and a desktop's width, and printed on A4.

use fieldpay_protocol::charge::Charge;
use fieldpay_server::demo::DEMO_API_KEY;
use fieldpay_server::domain::MerchantProfile;
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::{pdf_pages, Browser};
use crate::helpers::*;

/// Gives the demo merchant the business details a slip shows.
pub fn demo_profile(app: &TestApp) {
    let store = app.store();
    let m = store.merchant_by_code("demo").unwrap().unwrap();
    store
        .update_merchant_profile(
            &m.id,
            &m.name,
            &MerchantProfile {
                representative: "김대표".into(),
                phone: "0212345678".into(),
                address: "서울특별시 중구 세종대로 110, 3층".into(),
            },
        )
        .unwrap();
}

/// A charge of `amount` paid by keypad through the sandbox phone (3 months' installments from
/// 50,000 won); answers it approved.
pub async fn paid_charge(app: &TestApp, amount: i64, payer: &str) -> Charge {
    let c = app.charge(demo_charge(amount, payer)).await;
    let digits: String = payer.chars().filter(char::is_ascii_digit).collect();
    app.pay_by_phone(&digits, c.virtual_number.as_deref().unwrap(), APPROVE_CARD)
        .await;
    app.wait_status(&c.id, "approved").await
}

async fn refund(app: &TestApp, id: &str, amount: Option<i64>) {
    let body = match amount {
        Some(a) => json!({ "amount": a }),
        None => json!({}),
    };
    let r = app
        .post_json(&format!("/v1/charges/{id}/refund"), DEMO_API_KEY, &body)
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn the_sales_slip_approved_then_partly_refunded_then_canceled() {
    let app = spawn_app().await;
    demo_profile(&app);
    let c = paid_charge(&app, 55_000, "010-3300-0001").await;
    let p = c.payment.clone().unwrap();
    let link = p.receipt_url.clone().expect("a receipt link");

    let mut b = Browser::start().await;
    b.goto(&link).await;
    b.wait_attr("#slip", "data-status", "approved").await;
    let text = b.body_text().await;
    assert!(text.contains(&p.approval_number), "{text}");
    b.shoot("receipt-approved").await;

    refund(&app, &c.id, Some(20_000)).await;
    b.goto(&link).await;
    b.wait_attr("#slip", "data-status", "partially_refunded")
        .await;
    b.shoot("receipt-partially-refunded").await;

    refund(&app, &c.id, None).await;
    b.goto(&link).await;
    b.wait_attr("#slip", "data-status", "canceled").await;
    b.shoot("receipt-canceled").await;

    let pdf = b.print_a4().await;
    assert_eq!(pdf_pages(&pdf), 1, "the slip prints on one A4 page");
    b.finish().await;
}
