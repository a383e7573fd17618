//! The sandbox is not open to anyone (security finding 7): sandbox mode serves on loopback
//! only unless allowed (and then warns loudly), the published Twilio token is refused beyond
//! loopback, the sandbox phone presses keys on sandbox calls only, and the clock route exists
//! only with the test setting.

use fieldpay_server::app;
use fieldpay_server::config::SANDBOX_TWILIO_AUTH_TOKEN;
use fieldpay_server::demo::DEMO_API_KEY;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    api_error, demo_charge, e164, logs, spawn_app, spawn_app_configured, test_settings,
};

const SECRET_TOKEN: &str = "a-twilio-token-nobody-else-knows";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_mode_serves_on_loopback_only_unless_allowed() {
    logs(); // capture this test's logs too
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    // Every address of the machine: refused before anything is opened.
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = test_settings(&data, addr, &[1]);
    settings.twilio_auth_token = SECRET_TOKEN.into();
    let e = app::start_sandbox(settings, listener)
        .await
        .err()
        .expect("sandbox mode on 0.0.0.0 is refused");
    assert!(format!("{e:#}").contains("--allow-remote-sandbox"), "{e:#}");
    assert!(!data.exists(), "nothing is opened or seeded");

    // Loopback, but reached from elsewhere (a tunnel or proxy at the public URL): refused.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = test_settings(&data, addr, &[1]);
    settings.twilio_auth_token = SECRET_TOKEN.into();
    settings.public_url = "https://sandbox.example.com".into();
    let remote = settings.clone();
    assert!(app::start_sandbox(settings, listener).await.is_err());

    // The published Twilio token with a public URL elsewhere: refused, even when allowed.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut settings = remote.clone();
    settings.allow_remote_sandbox = true;
    settings.twilio_auth_token = SANDBOX_TWILIO_AUTH_TOKEN.into();
    let e = app::start_sandbox(settings, listener)
        .await
        .err()
        .expect("the published token beyond loopback is refused");
    assert!(format!("{e:#}").contains("twilio_auth_token"), "{e:#}");

    // Allowed, with a token of its own: served, with a loud warning.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut settings = remote;
    settings.allow_remote_sandbox = true;
    let running = app::start_sandbox(settings, listener)
        .await
        .expect("an allowed remote sandbox starts");
    assert!(logs().contains("SANDBOX MODE IS REACHABLE FROM OTHER MACHINES"));
    running.shutdown().await;
}

/// The keys of `/sandbox/calls/{id}/input` go to sandbox calls only: not to a carrier's call,
/// whose id a sandbox user could otherwise guess or read, and not to made-up ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_phone_presses_keys_on_sandbox_calls_only() {
    let app = spawn_app().await;
    let payer = "010-5300-0001";
    let c = app.charge(demo_charge(12_000, payer)).await;
    let number = c.virtual_number.clone().expect("a virtual number");
    let sid = "CAcarriercall0001";
    app.twiml_start(sid, &e164(payer), &e164(&number)).await;
    let store = app.store();
    let before = store
        .call(sid)
        .unwrap()
        .expect("the carrier's call is stored");
    assert_eq!(before.adapter, "twiml");

    for id in [sid, "SBnosuchcall", "nosuchcall"] {
        let r = app
            .http
            .post(app.url(&format!("/sandbox/calls/{id}/input")))
            .json(&json!({ "digits": "1" }))
            .send()
            .await
            .unwrap();
        let (status, code, _) = api_error(r).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{id}"
        );
    }
    let after = store.call(sid).unwrap().unwrap();
    assert_eq!(
        after.trace, before.trace,
        "the carrier's call was not driven"
    );
    assert_eq!(after.checkpoint, before.checkpoint);

    // The carrier's call goes on; a call of the sandbox phone takes keys.
    app.twiml_digits(sid, "1").await;
    let other = app.charge(demo_charge(13_000, "010-5300-0002")).await;
    let t = app
        .dial(
            Some("010-5300-0002"),
            other.virtual_number.as_deref().unwrap(),
        )
        .await;
    let next = app.keys(&t.call_id, "1").await;
    assert_eq!(next.turn.step, fieldpay_ivr::Step::CardNumber);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_route_exists_only_with_the_test_setting() {
    let advance = |app: &crate::helpers::TestApp| {
        app.http
            .post(app.url("/sandbox/clock/advance"))
            .json(&json!({ "minutes": 5 }))
            .send()
    };
    let app = spawn_app_configured(&[1], |s| s.sandbox_clock = false).await;
    let r = advance(&app).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let doc: Value = app
        .get("/v1/openapi.json", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.contains_key("/sandbox/clock/advance"));
    assert!(
        paths.contains_key("/sandbox/sms"),
        "the rest of the sandbox"
    );
    assert!(app.state().clock.offset().is_zero());

    // The integration tests' settings turn it on.
    let app = spawn_app().await;
    let r = advance(&app).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.state().clock.offset().num_minutes(), 5);
}
