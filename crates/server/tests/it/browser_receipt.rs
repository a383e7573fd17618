//! The sales slip (매출전표) at `/r/{token}` in a real browser: approved, partly refunded and
//! canceled, at a phone's and a desktop's width, and printed on A4.

use fieldpay_protocol::charge::Charge;
use fieldpay_server::demo::DEMO_API_KEY;
use fieldpay_server::domain::MerchantProfile;
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::{pdf_pages, screenshot_dir, Browser};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

    // On paper: one A4 page (kept beside the screenshots to look at).
    let pdf = b.print_a4().await;
    let dir = screenshot_dir().join("print");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("receipt-canceled.pdf"), &pdf).unwrap();
    assert_eq!(pdf_pages(&pdf), 1, "the slip prints on one A4 page");
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slip_of_an_order_shows_its_number_hash_and_figures_in_english_too() {
    let app = spawn_app().await;
    demo_profile(&app);
    let rep = login(&app, "rep1", "demo1234").await;
    let res = crate::orders::order_signed_and_submitted(&app, &rep).await;
    let order = match &res.results.last().unwrap().outcome {
        fieldpay_protocol::sync::MutationOutcome::Applied { order: Some(o), .. } => o.clone(),
        other => panic!("the order was not registered: {other:?}"),
    };
    let number = order.number.clone().expect("an order number");
    let hash = order.signature.as_ref().unwrap().content_hash.clone();
    let mut body = demo_charge(order.totals.total, "010-3300-0002");
    body["order_ref"] = json!(order.id);
    body["goods_name"] = json!(format!("발주 {number}"));
    let c = app.charge(body).await;
    app.pay_by_phone(
        "01033000002",
        c.virtual_number.as_deref().unwrap(),
        APPROVE_CARD,
    )
    .await;
    let c = app.wait_status(&c.id, "approved").await;
    let p = c.payment.unwrap();
    let link = p.receipt_url.unwrap();

    let mut b = Browser::start().await;
    b.goto(&link).await;
    b.wait_attr("#slip", "data-status", "approved").await;
    assert_eq!(b.text("#order-hash").await, hash);
    let text = b.body_text().await;
    assert!(text.contains(&number), "{text}");
    // The order's own supply and VAT (VAT = floor(supply / 10)), not a split of the total.
    let supply = fieldpay_protocol::money::format_krw(order.totals.supply);
    let vat = fieldpay_protocol::money::format_krw(order.totals.vat);
    assert!(text.contains(&supply) && text.contains(&vat), "{text}");
    // Times in Korea time, whatever the browser's zone (UTC here).
    let approved = fieldpay_server::clock::parse_ts(&p.approved_at).unwrap();
    let kst = fieldpay_server::clock::kst_long(approved);
    assert!(text.contains(&kst), "approval time {kst} (KST) in: {text}");
    assert_eq!(b.attr("html", "lang").await.as_deref(), Some("ko"));
    b.shoot("receipt-order").await;

    // The language link leads to the English slip.
    b.click("a.lang").await;
    b.wait_css("html[lang=en] #slip").await;
    let text = b.body_text().await;
    assert!(text.contains("Card sales slip"), "{text}");
    assert!(text.contains("Purchase order hash"), "{text}");
    assert!(text.contains("BC Card"), "{text}");
    b.shoot("receipt-order-en").await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_receipt_is_a_clear_not_found_page() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(app.url("/r/no-such-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("data-code=\"not_found\""), "{html}");

    let mut b = Browser::start().await;
    b.goto(&app.url("/r/no-such-token")).await;
    b.wait_attr("#error", "data-code", "not_found").await;
    assert!(b.body_text().await.contains("영수증을 찾을 수 없습니다"));
    b.shoot("receipt-not-found").await;
    b.finish().await;
}
