//! The web channels in a real browser: the shop flow (open the link, type the phone, see the
//! number, pay by phone, watch the page turn to approved without a reload, open the
//! receipt), the CRM/agent flow with auto-filled fields, and a tampered amount and an expired
//! signed link refused. Every page is looked at in both window sizes (`Browser::shoot`).

use fieldpay_protocol::charge::ChargeList;
use fieldpay_protocol::payment_link::PaymentLinkCreated;
use fieldpay_server::admin::{self, Actor};
use fieldpay_server::demo::DEMO_API_KEY;
use fieldpay_server::links;
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::Browser;
use crate::browser_receipt::demo_profile;
use crate::helpers::*;

/// A new link key for the demo merchant (as `admin link-key rotate` makes it).
fn link_key(app: &TestApp) -> String {
    let store = app.store();
    let m = store.merchant_by_code("demo").unwrap().unwrap();
    let (key, _) = admin::rotate_link_key(store.as_ref(), &Actor::Cli, &m.id).unwrap();
    key.expose().to_string()
}

/// The query of a signed link (the parameters as given, `sig` last), as a CRM builds it.
fn signed_query(key: &str, pairs: &[(&str, &str)]) -> String {
    let canonical = links::canonical(pairs.iter().copied());
    let sig = links::sign(key, &canonical);
    let mut q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", links::encode(k), links::encode(v)))
        .collect();
    q.push(format!("sig={sig}"));
    q.join("&")
}

fn unix_in(secs: i64) -> String {
    (chrono::Utc::now().timestamp() + secs).to_string()
}

/// Every charge of the demo merchant (to see that nothing was created).
async fn charge_count(app: &TestApp) -> usize {
    let r = app.get("/v1/charges?limit=200", DEMO_API_KEY).await;
    assert_eq!(r.status(), StatusCode::OK);
    let list: ChargeList = r.json().await.unwrap();
    list.items.len()
}

/// Pays the live charge of `payer` through the sandbox phone, from the dial: the call is
/// connected first (so the page can show it), then `then` keys in the card.
async fn pay_from_dial(app: &TestApp, b: &mut Browser, payer_digits: &str, virtual_number: &str) {
    let t = app.dial(Some(payer_digits), virtual_number).await;
    assert_eq!(t.turn.step, fieldpay_ivr::Step::ReadOut, "{:?}", t.turn);
    let id = t.call_id.clone();
    b.wait_attr("#status", "data-status", "call_connected")
        .await;
    b.shoot("registered-call-connected").await;
    let mut t = app.keys(&id, "1").await;
    let card = format!("{APPROVE_CARD}#");
    for _ in 0..8 {
        if t.turn.hangup {
            break;
        }
        let keys = match t.turn.step {
            fieldpay_ivr::Step::CardNumber => card.as_str(),
            fieldpay_ivr::Step::Expiry => "1230",
            fieldpay_ivr::Step::Installments => "0#",
            fieldpay_ivr::Step::BirthOrBusiness => "800101#",
            fieldpay_ivr::Step::Password => "12",
            other => panic!("unexpected step {other:?}"),
        };
        t = app.keys(&id, keys).await;
    }
    assert!(t.turn.hangup, "the call ended: {:?}", t.turn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_flow_from_the_link_to_the_receipt_without_a_reload() {
    let app = spawn_app().await;
    demo_profile(&app);
    let payer = "010-3400-0001";
    let r = app
        .post_json(
            "/v1/payment-links",
            DEMO_API_KEY,
            &json!({ "goods_name": "유기농 사과 5kg", "amount": 39_000, "order_ref": "SHOP-1001" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let link: PaymentLinkCreated = r.json().await.unwrap();

    let mut b = Browser::start().await;
    b.goto(&link.url).await;
    b.wait_attr("main#page", "data-page", "pay").await;
    assert_eq!(b.attr("html", "lang").await.as_deref(), Some("ko"));
    let text = b.body_text().await;
    assert!(
        text.contains("유기농 사과 5kg") && text.contains("39,000원"),
        "{text}"
    );
    b.shoot("pay").await;

    // The English page, by its language link, and back.
    b.click("a.lang").await;
    b.wait_css("html[lang=en] #pay-form").await;
    b.shoot("pay-en").await;
    b.click("a.lang").await;
    b.wait_css("html[lang=ko] #pay-form").await;

    // Sending without consent is stopped by the browser (the checkbox is required); with it,
    // the page registers the order.
    b.fill("#payer_phone", payer).await;
    b.click("#consent").await;
    b.click("#submit").await;
    b.wait_attr("main#page", "data-page", "registered").await;
    let href = b.attr("a#virtual-number", "href").await.unwrap();
    assert!(href.starts_with("tel:"), "{href}");
    let number: String = href
        .trim_start_matches("tel:")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert!(number.len() >= 8, "{href}");
    let shown = b.text("a#virtual-number").await;
    assert_eq!(
        shown
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>(),
        number
    );
    let deadline = b.text("#deadline").await;
    assert!(deadline.ends_with("KST"), "{deadline}");
    let text = b.body_text().await;
    assert!(
        text.contains("문자로 받은 번호로 전화해 카드 정보를 입력하세요"),
        "{text}"
    );
    b.wait_attr("#status", "data-status", "text_sent").await;
    b.shoot("registered").await;

    // The deadline is the charge's own, in Korea time.
    let charges: ChargeList = app
        .get("/v1/charges?limit=5", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    let c = charges
        .items
        .iter()
        .find(|c| c.goods_name == "유기농 사과 5kg")
        .expect("the link's charge")
        .clone();
    let kst =
        fieldpay_server::clock::kst_long(fieldpay_server::clock::parse_ts(&c.expires_at).unwrap());
    assert_eq!(deadline, format!("{kst} KST"));

    // From here the page must follow by itself: mark this document, pay, and see the mark
    // survive (a reload or a navigation would drop it).
    b.js(
        "window.__fieldpay_same_document = true; return true;",
        vec![],
    )
    .await;
    pay_from_dial(&app, &mut b, "01034000001", &number).await;
    b.wait_attr("#status", "data-status", "approved").await;
    assert_eq!(
        b.js("return window.__fieldpay_same_document === true;", vec![])
            .await,
        json!(true),
        "the page reloaded or navigated instead of following the status"
    );
    let receipt = b.attr("a#receipt-link", "href").await.unwrap();
    assert!(receipt.contains("/r/"), "{receipt}");
    b.shoot("result").await;

    b.click("a#receipt-link").await;
    b.wait_attr("#slip", "data-status", "approved").await;
    let text = b.body_text().await;
    assert!(
        text.contains("SHOP-1001") && text.contains("39,000원"),
        "{text}"
    );
    b.shoot("receipt-from-link").await;

    // The paid link shows that it is paid.
    b.goto(&link.url).await;
    b.wait_attr("#error", "data-code", "paid").await;
    b.shoot("error-paid").await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_flow_with_fields_filled_in_from_the_crm_link() {
    let app = spawn_app().await;
    let key = link_key(&app);
    let expires = unix_in(3600);
    let query = signed_query(
        &key,
        &[
            ("mode", "agent"),
            ("order_ref", "HOTEL-7781"),
            ("goods_name", "디럭스 트윈 2박"),
            ("amount", "286000"),
            ("payer_name", "박서연"),
            ("payer_phone", "01034000002"),
            ("payer_email", "seoyeon@example.com"),
            ("expires", &expires),
        ],
    );
    let url = app.url(&format!("/pay/demo?{query}"));

    let mut b = Browser::start().await;
    b.goto(&url).await;
    b.wait_attr("main#page", "data-page", "agent").await;
    for (name, want) in [
        ("order_ref", "HOTEL-7781"),
        ("goods_name", "디럭스 트윈 2박"),
        ("amount", "286000"),
        ("payer_name", "박서연"),
        ("payer_phone", "010-3400-0002"),
        ("payer_email", "seoyeon@example.com"),
    ] {
        let v = b
            .js(
                "return document.querySelector('#agent-form [name=\"' + arguments[0] + '\"]').value;",
                vec![json!(name)],
            )
            .await;
        assert_eq!(v, json!(want), "{name} filled in from the link");
    }
    let text = b.body_text().await;
    assert!(text.contains("카드 정보를 묻거나 보지 않습니다"), "{text}");
    // No field on the page is for card data.
    let card_fields = b
        .js(
            "return Array.from(document.querySelectorAll('input')).map(i => i.name + ' ' + (i.autocomplete || '')).filter(s => /card|cc-|cvc|expir|birth|password/i.test(s));",
            vec![],
        )
        .await;
    assert_eq!(card_fields, json!([]));
    b.shoot("agent").await;

    // The agent corrects the name before sending.
    b.fill("#agent-form [name=payer_name]", "박서연 (예약자)")
        .await;
    b.click("button#send").await;
    b.wait_css("#status[data-status]").await;
    b.wait_attr("#status", "data-status", "text_sent").await;
    assert!(b.has("button#send-again").await, "a send-again button");
    b.shoot("agent-sent").await;

    let charges: ChargeList = app
        .get("/v1/charges?limit=5", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    let c = charges
        .items
        .iter()
        .find(|c| c.order_ref.as_deref() == Some("HOTEL-7781"))
        .expect("the agent's charge")
        .clone();
    assert_eq!(c.amount, 286_000);
    assert_eq!(c.payer_name.as_deref(), Some("박서연 (예약자)"));
    let first = app.wait_sms("010-3400-0002", "bill", &c.id).await;
    assert!(first.body.contains("286,000원"), "{}", first.body);

    // Send again: the payer gets the bill text once more, for the same charge.
    b.click("button#send-again").await;
    b.wait_css("button#send-again").await;
    let mut bills = 0;
    for _ in 0..200 {
        bills = app
            .sms("010-3400-0002")
            .await
            .iter()
            .filter(|s| s.kind.as_str() == "bill" && s.charge_id.as_deref() == Some(c.id.as_str()))
            .count();
        if bills >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(bills, 2, "the bill text sent again");
    assert_eq!(charge_count(&app).await, 1, "still one charge");
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_amount_and_an_expired_link_are_refused() {
    let app = spawn_app().await;
    let key = link_key(&app);
    let expires = unix_in(3600);
    let good = signed_query(
        &key,
        &[
            ("goods_name", "정기구독 1개월"),
            ("amount", "15000"),
            ("payer_phone", "01034000003"),
            ("expires", &expires),
        ],
    );
    // The link as signed opens the pay page...
    let mut b = Browser::start().await;
    b.goto(&app.url(&format!("/pay/demo?{good}"))).await;
    b.wait_attr("main#page", "data-page", "pay").await;

    // ...but with the amount changed it is refused, and nothing is created.
    let tampered = good.replace("amount=15000", "amount=1500");
    assert_ne!(tampered, good);
    b.goto(&app.url(&format!("/pay/demo?{tampered}"))).await;
    b.wait_attr("#error", "data-code", "bad_signature").await;
    assert!(!b.has("form").await, "no form on the error page");
    b.shoot("error-bad-signature").await;
    let r = app
        .http
        .get(app.url(&format!("/pay/demo?{tampered}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // A link past its `expires` (signed correctly) is refused as expired.
    let expired = signed_query(
        &key,
        &[
            ("goods_name", "정기구독 1개월"),
            ("amount", "15000"),
            ("payer_phone", "01034000003"),
            ("expires", &unix_in(-60)),
        ],
    );
    b.goto(&app.url(&format!("/pay/demo?{expired}"))).await;
    b.wait_attr("#error", "data-code", "expired").await;
    b.shoot("error-expired").await;
    // The same in English (the link asks for it, inside the signature).
    let expired_en = signed_query(
        &key,
        &[
            ("goods_name", "정기구독 1개월"),
            ("amount", "15000"),
            ("expires", &unix_in(-60)),
            ("lang", "en"),
        ],
    );
    b.goto(&app.url(&format!("/pay/demo?{expired_en}"))).await;
    b.wait_css("html[lang=en] #error[data-code=expired]").await;
    b.shoot("error-expired-en").await;

    assert_eq!(charge_count(&app).await, 0, "nothing was created");
    b.finish().await;
}
