//! Webhook delivery against real endpoints: redirects are not followed, a URL the rule refuses
//! fails its delivery once with the reason, and a hanging endpoint holds up neither another
//! merchant's webhooks nor the texts.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fieldpay_server::demo::{DEMO_API_KEY, DEMO_MERCHANT_CODE};
use fieldpay_server::store::{DeliveryStatus, WebhookRecord};
use reqwest::StatusCode;

use crate::helpers::*;

/// Creates a charge with `key` and cancels it, so a `charge.canceled` webhook is queued.
/// Returns the charge id.
async fn canceled_charge(app: &TestApp, key: &str, payer: &str) -> String {
    let r = app
        .post_json("/v1/charges", key, &demo_charge(12_000, payer))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let c: fieldpay_protocol::charge::Charge = r.json().await.unwrap();
    let r = app
        .post_json(
            &format!("/v1/charges/{}/cancel", c.id),
            key,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    c.id
}

/// The merchant's first delivery once it has been attempted (or None after `within`).
async fn first_attempt(app: &TestApp, code: &str, within: Duration) -> Option<WebhookRecord> {
    let store = app.store();
    let m = store.merchant_by_code(code).unwrap().unwrap();
    let deadline = Instant::now() + within;
    loop {
        let rows = store.webhooks(&m.id, 10).unwrap();
        if let Some(w) = rows.into_iter().find(|w| w.attempts > 0) {
            return Some(w);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    let app = spawn_app().await;
    let (target, target_rx) = webhook_receiver(0).await;
    let (redirector, redirected) = redirecting_receiver(&target).await;
    set_webhook(&app, &redirector);
    canceled_charge(&app, DEMO_API_KEY, "010-5100-0001").await;

    let w = first_attempt(&app, DEMO_MERCHANT_CODE, Duration::from_secs(5))
        .await
        .expect("the webhook was attempted");
    assert!(redirected.load(Ordering::SeqCst) >= 1);
    assert_eq!(w.last_status, Some(307), "{w:?}");
    assert_eq!(w.status, DeliveryStatus::Pending, "retried later: {w:?}");
    let error = w.last_error.clone().unwrap_or_default();
    assert!(error.contains("redirect"), "{error}");
    // Nothing reached the redirect's target, now or a moment later.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(target_rx.got.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_url_fails_its_delivery_once() {
    let app = spawn_app().await;
    // Sandbox mode allows plain http only to loopback; 192.0.2.1 (TEST-NET-1) is not.
    set_webhook(&app, "http://192.0.2.1/hook");
    canceled_charge(&app, DEMO_API_KEY, "010-5100-0002").await;

    let w = first_attempt(&app, DEMO_MERCHANT_CODE, Duration::from_secs(3))
        .await
        .expect("the webhook was attempted");
    assert_eq!(w.status, DeliveryStatus::Failed, "not retried: {w:?}");
    assert_eq!(w.attempts, 1);
    assert_eq!(w.last_status, None);
    let error = w.last_error.clone().unwrap_or_default();
    assert!(error.contains("https"), "{error}");
}

/// The demo merchant's endpoint takes the request and never answers (the webhook timeout is
/// the default 10 s); meanwhile another merchant's bill text goes out and its webhook arrives
/// promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_endpoint_delays_no_one_else() {
    let app = spawn_app().await;
    let (slow, hung) = hanging_receiver().await;
    set_webhook(&app, &slow);
    let other_key = app.second_merchant("beta", &["15880002"]);
    let (fast, fast_rx) = webhook_receiver(0).await;
    set_webhook_for(&app, "beta", &fast);

    canceled_charge(&app, DEMO_API_KEY, "010-5100-0003").await;
    let started = Instant::now();
    while hung.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the slow endpoint was never called"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // While the slow endpoint hangs: the other merchant's charge, its bill text and then its
    // webhook.
    let t0 = Instant::now();
    let payer = "010-5100-0004";
    let r = app
        .post_json("/v1/charges", &other_key, &demo_charge(12_000, payer))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let c: fieldpay_protocol::charge::Charge = r.json().await.unwrap();
    app.wait_sms(payer, "bill", &c.id).await;
    let bill_after = t0.elapsed();
    assert!(
        bill_after < Duration::from_secs(2),
        "bill text after {bill_after:?}"
    );
    let r = app
        .post_json(
            &format!("/v1/charges/{}/cancel", c.id),
            &other_key,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t1 = Instant::now();
    let hook = fast_rx
        .wait_for("charge.canceled", &c.id, Duration::from_secs(5))
        .await;
    let hook_after = t1.elapsed();
    assert!(hook.is_some(), "the other merchant's webhook never came");
    assert!(
        hook_after < Duration::from_secs(2),
        "other merchant's webhook after {hook_after:?}"
    );
    // All of it while the slow delivery was still hanging.
    assert!(started.elapsed() < Duration::from_secs(9));
    let w = first_attempt(&app, DEMO_MERCHANT_CODE, Duration::ZERO).await;
    assert!(w.is_none(), "the slow attempt has not ended yet: {w:?}");
}
