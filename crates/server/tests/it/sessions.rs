//! Sessions can be revoked (security finding 6): a sign-in starts a session (a family of
//! refresh and access tokens); a used refresh token presented again ends the whole session,
//! except when it is the loser of a race (or a quick retry); `POST /v1/auth/logout` ends it;
//! a deactivated rep's sessions end, and with them the rep's open event streams.

use std::time::{Duration, Instant};

use fieldpay_protocol::RepId;
use fieldpay_server::demo::{DEMO_API_KEY, DEMO_MERCHANT_CODE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{api_error, demo_charge, login, spawn_app, EventStream, TestApp, Tokens};

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.refresh(token).await
}

async fn refreshed(app: &TestApp, token: &str) -> Tokens {
    let r = refresh(app, token).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn assert_unauthorized(r: reqwest::Response, what: &str) {
    let (status, code, message) = api_error(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized"),
        "{what}: {message}"
    );
}

/// Whether an access token works on the API.
async fn works(app: &TestApp, access: &str) -> bool {
    let status = app.get("/v1/sync?limit=1", access).await.status();
    assert!(
        status == StatusCode::OK || status == StatusCode::UNAUTHORIZED,
        "{status}"
    );
    status == StatusCode::OK
}

async fn logout(app: &TestApp, bearer: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url("/v1/auth/logout"))
        .bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_refresh_token_ends_the_whole_session() {
    let app = spawn_app().await;
    let device = login(&app, "rep1", "demo1234").await;
    let other_device = login(&app, "rep1", "demo1234").await;
    // A thief with a copy of the device's refresh token uses it first.
    let thief = refreshed(&app, &device.refresh_token).await;
    assert!(works(&app, &thief.access_token).await);
    // Later (past the grace period), the device presents its token: used already, so two
    // parties hold this session. It is refused, and the whole session ends.
    app.advance_clock(1).await;
    assert_unauthorized(refresh(&app, &device.refresh_token).await, "reused").await;
    assert_unauthorized(
        refresh(&app, &thief.refresh_token).await,
        "the thief's newer refresh token",
    )
    .await;
    assert!(
        !works(&app, &thief.access_token).await,
        "the thief's access token"
    );
    assert!(
        !works(&app, &device.access_token).await,
        "the device's access token"
    );
    // The rep's other session is not touched; signing in again works.
    assert!(works(&app, &other_device.access_token).await);
    let renewed = refreshed(&app, &other_device.refresh_token).await;
    assert!(works(&app, &renewed.access_token).await);
    let again = login(&app, "rep1", "demo1234").await;
    assert!(works(&app, &again.access_token).await);
    assert!(crate::helpers::logs().contains("a used refresh token was presented again"));
}

/// One device refreshing twice at once with the same token (two requests noticing the
/// expired access token together, or a retry): exactly one wins; the losers are refused, and
/// must not end the session the winner carries on. The same within the grace period after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_refreshes_keep_the_session() {
    let app = spawn_app().await;
    let t = login(&app, "rep1", "demo1234").await;
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let (http, url, token) = (
                app.http.clone(),
                app.url("/v1/auth/refresh"),
                t.refresh_token.clone(),
            );
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({ "refresh_token": token }))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    for r in racers {
        let r = r.await.unwrap();
        if r.status() == StatusCode::OK {
            winners.push(r.json::<Tokens>().await.unwrap());
        } else {
            assert_unauthorized(r, "a loser of the race").await;
        }
    }
    assert_eq!(winners.len(), 1, "exactly one refresh wins");
    let won = winners.pop().unwrap();
    assert!(works(&app, &won.access_token).await);
    // A retry with the used token a moment later: refused, the session kept.
    assert_unauthorized(refresh(&app, &t.refresh_token).await, "a quick retry").await;
    assert!(works(&app, &won.access_token).await);
    let next = refreshed(&app, &won.refresh_token).await;
    assert!(works(&app, &next.access_token).await);
    let after = refreshed(&app, &next.refresh_token).await;
    assert!(works(&app, &after.access_token).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let phone = login(&app, "rep1", "demo1234").await;
    let tablet = login(&app, "rep1", "demo1234").await;
    let mut stream = EventStream::open(&app, &phone.access_token).await;

    // Signing out with the access token alone ends its session: both tokens, and the stream.
    let r = logout(&app, &phone.access_token, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        stream.ends_within(Duration::from_secs(1)).await,
        "the session's event stream goes on"
    );
    assert!(!works(&app, &phone.access_token).await);
    assert_unauthorized(refresh(&app, &phone.refresh_token).await, "signed out").await;
    assert_unauthorized(
        logout(&app, &phone.access_token, None).await,
        "signed out twice",
    )
    .await;
    assert!(
        works(&app, &tablet.access_token).await,
        "another session of the rep"
    );

    // The body may name a refresh token of another session of the same rep: it ends too.
    let laptop = login(&app, "rep1", "demo1234").await;
    let r = logout(
        &app,
        &laptop.access_token,
        Some(json!({ "refresh_token": tablet.refresh_token })),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!works(&app, &laptop.access_token).await);
    assert!(!works(&app, &tablet.access_token).await);
    assert_unauthorized(refresh(&app, &tablet.refresh_token).await, "named").await;

    // Another rep's session named in the body is left alone.
    let rep2 = login(&app, "rep2", "demo1234").await;
    let mine = login(&app, "rep1", "demo1234").await;
    let r = logout(
        &app,
        &mine.access_token,
        Some(json!({ "refresh_token": rep2.refresh_token })),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(works(&app, &rep2.access_token).await);
    refreshed(&app, &rep2.refresh_token).await;

    // A refresh token as the bearer, an API key, no credentials, a bad body.
    let s = login(&app, "rep1", "demo1234").await;
    assert_unauthorized(
        logout(&app, &s.refresh_token, None).await,
        "refresh as bearer",
    )
    .await;
    let (status, code, _) = api_error(logout(&app, DEMO_API_KEY, None).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let r = app
        .http
        .post(app.url("/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_unauthorized(r, "no credentials").await;
    let (status, ..) = api_error(
        logout(
            &app,
            &s.access_token,
            Some(json!({ "refresh": s.refresh_token })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(works(&app, &s.access_token).await, "a refused sign-out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_rep_is_signed_out_everywhere() {
    let app = spawn_app().await;
    let phone = login(&app, "rep1", "demo1234").await;
    let tablet = login(&app, "rep1", "demo1234").await;
    let colleague = login(&app, "rep2", "demo1234").await;
    let mut phone_stream = EventStream::open(&app, &phone.access_token).await;
    let mut tablet_stream = EventStream::open(&app, &tablet.access_token).await;
    let mut colleague_stream = EventStream::open(&app, &colleague.access_token).await;
    let mut merchant_stream = EventStream::open(&app, DEMO_API_KEY).await;

    let store = app.store();
    let merchant = store.merchant_by_code(DEMO_MERCHANT_CODE).unwrap().unwrap();
    let rep_id = RepId::new(phone.rep.id.clone());
    let started = Instant::now();
    let (m, r) = (merchant.id.clone(), rep_id.clone());
    let was_active = tokio::task::spawn_blocking(move || store.deactivate_rep(&m, &r))
        .await
        .unwrap()
        .unwrap();
    assert!(was_active);
    // Both of the rep's open streams end within a second.
    assert!(
        phone_stream.ends_within(Duration::from_secs(1)).await,
        "the phone's stream goes on"
    );
    let left = Duration::from_secs(1).saturating_sub(started.elapsed());
    assert!(
        tablet_stream.ends_within(left).await,
        "the tablet's stream goes on"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    // Every token of the rep is refused, and so is signing in.
    for t in [&phone, &tablet] {
        assert!(!works(&app, &t.access_token).await);
        assert_unauthorized(refresh(&app, &t.refresh_token).await, "deactivated").await;
    }
    let r = app
        .http
        .post(app.url("/v1/auth/login"))
        .json(&json!({ "merchant": DEMO_MERCHANT_CODE, "rep_id": "rep1", "password": "demo1234" }))
        .send()
        .await
        .unwrap();
    assert_unauthorized(r, "sign-in of a deactivated rep").await;
    // Deactivating twice changes nothing.
    let store = app.store();
    let m = merchant.id.clone();
    let again = tokio::task::spawn_blocking(move || store.deactivate_rep(&m, &rep_id))
        .await
        .unwrap()
        .unwrap();
    assert!(!again);

    // Others' streams go on: a colleague's charge reaches the colleague and the merchant.
    assert!(works(&app, &colleague.access_token).await);
    let r = app
        .post_json(
            "/v1/charges",
            &colleague.access_token,
            &demo_charge(3_000, "010-5200-0001"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let charge: fieldpay_protocol::charge::Charge = r.json().await.unwrap();
    colleague_stream
        .charges_until(|e| e.charge_id == charge.id)
        .await;
    merchant_stream
        .charges_until(|e| e.charge_id == charge.id)
        .await;
}
