//! The sandbox phone page in a real browser: texts stamped in Korea time whatever the
//! browser's zone (the browser runs in UTC here), icons as inline SVG (no emoji), and a call
//! placed from a bill text with the keypad.

use chrono::Datelike;

use crate::browser::Browser;
use crate::helpers::*;

const PAYER: &str = "010-3300-0003";

/// `12/04 (목) 06:55:57 KST`: how the page stamps a text.
fn kst_stamp(at: &str) -> String {
    let t = fieldpay_server::clock::parse_ts(at)
        .unwrap()
        .with_timezone(&fieldpay_server::clock::kst());
    let day =
        ["월", "화", "수", "목", "금", "토", "일"][t.weekday().num_days_from_monday() as usize];
    format!("{} ({day}) {} KST", t.format("%m/%d"), t.format("%H:%M:%S"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_phone_shows_korea_time_and_svg_icons_and_places_a_call() {
    let app = spawn_app().await;
    let c = app.charge(demo_charge(12_000, PAYER)).await;
    let bill = app.wait_sms(PAYER, "bill", &c.id).await;

    let mut b = Browser::start().await;
    b.open(&app.url(&format!("/sandbox/phone?phone={PAYER}")))
        .await;
    b.wait_css(".sms.bill .dial-sms").await;
    let stamp = b.text(".sms.bill time").await;
    assert_eq!(stamp, kst_stamp(&bill.at), "the text's time in Korea time");
    assert!(
        b.has(".sms.bill .kind svg.icon").await,
        "the kind's icon is SVG"
    );
    assert!(b.has("header h1 svg.icon").await);
    b.shoot("sandbox-phone-inbox").await;

    // Call the number of the bill and press 1 (hear the charge, go on to the card).
    b.click(".sms.bill .dial-sms").await;
    b.wait_css("#gather:not([hidden]) #keypad button[data-key='1']")
        .await;
    let first = b.text("#transcript").await;
    assert!(
        first.contains("12,000") || first.contains("만 이천"),
        "{first}"
    );
    b.click("#keypad button[data-key='1']").await;
    b.wait_css("#transcript .msg.me").await;
    b.shoot("sandbox-phone-call").await;

    b.click("#hangup-btn").await;
    b.wait_css("#call-result:not([hidden]) svg.icon").await;
    let result = b.text("#call-result").await;
    assert!(result.contains("끊었습니다"), "{result}");
    b.shoot("sandbox-phone-ended").await;
    b.finish().await;
}
