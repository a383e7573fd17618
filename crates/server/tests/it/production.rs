//! Production mode end to end: a server with `mode = "production"`, its card connector Toss
//! Payments key-in and its text provider Solapi, both pointed at their strict stand-ins on
//! loopback. A charge is texted through Solapi, paid in a TwiML call through Toss, slipped by
//! text, refunded in part; the canary card number is nowhere but in the one key-in request.

use std::time::Duration;

use fieldpay_protocol::charge::Charge;
use fieldpay_server::auth::hash_secret;
use fieldpay_server::config::{CardProvider, Mode, SmsProvider};
use fieldpay_server::domain::MerchantSettings;
use fieldpay_standins::{solapi, toss};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const TOSS_SECRET: &str = "test_sk_production_e2e_0001";
const SOLAPI_KEY: &str = "NCSPRODE2E000001";
const SOLAPI_SECRET: &str = "solapi-secret-e2e-0001";
const SENDER: &str = "16000000";
const CARRIER_TOKEN: &str = "carrier-auth-token-e2e";
/// 32 bytes in base64.
const CREDENTIALS_KEY: &str = "ZmllbGRwYXktdGVzdC1jcmVkZW50aWFscy1rZXktMzI=";
const API_KEY: &str = "fpk_live_e2e_merchant_key_0000000000000000";
const PAYER: &str = "01055501234";
/// A Luhn-valid number that is nowhere else in this suite.
const CANARY: &str = "5409261234567893";

async fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A server in production mode over the Toss and Solapi stand-ins, with one merchant.
struct Live {
    app: TestApp,
    toss_server: fieldpay_standins::StandIn,
    toss: toss::TossHandle,
    solapi_server: fieldpay_standins::StandIn,
    solapi: solapi::Handle,
}

async fn live() -> Live {
    let (toss_server, toss) = toss::start(TOSS_SECRET).await;
    let (solapi_server, solapi) = solapi::start(SOLAPI_KEY, SOLAPI_SECRET, SENDER).await;
    toss.set_issuer("540926", "41", "41");
    let app = spawn_app_configured(&[1, 1, 1], |s| {
        s.mode = Mode::Production;
        s.allow_insecure_public_url = true;
        s.sandbox_clock = false;
        s.twilio_auth_token = CARRIER_TOKEN.into();
        s.card.provider = CardProvider::Toss;
        s.card.secret_key = Some(TOSS_SECRET.into());
        s.card.base_url = Some(toss_server.base_url.clone());
        s.card.timeout_secs = 5;
        s.sms.provider = SmsProvider::Solapi;
        s.sms.api_key = Some(SOLAPI_KEY.into());
        s.sms.api_secret = Some(SOLAPI_SECRET.into());
        s.sms.sender = Some("1600-0000".into());
        s.sms.base_url = Some(solapi_server.base_url.clone());
        s.credentials_key = Some(CREDENTIALS_KEY.into());
    })
    .await;
    // Nothing of the sandbox is served.
    for path in ["/sandbox/phone", "/sandbox/sms"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert!(app.state().sandbox_network.is_none());

    // A merchant (onboarding has no API yet: straight through the store).
    let store = app.store();
    let merchant = tokio::task::spawn_blocking(move || {
        let settings = MerchantSettings {
            require_birth_date: true,
            require_password: true,
            number_pool: vec!["16000101".into(), "16000102".into()],
            business_number: fieldpay_server::demo::business_number(4_242),
            ..MerchantSettings::default()
        };
        let m = store
            .create_merchant("live01", "라이브약품", &settings)
            .unwrap();
        store
            .create_api_key(&m.id, &hash_secret(API_KEY), &API_KEY[..12], "test")
            .unwrap();
        m
    })
    .await
    .unwrap();

    drop(merchant);
    Live {
        app,
        toss_server,
        toss,
        solapi_server,
        solapi,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_in_production_through_toss_and_solapi() {
    let Live {
        app,
        toss_server,
        toss,
        solapi_server,
        solapi,
    } = live().await;
    // The charge: its bill goes out through Solapi.
    let r = app
        .post_json(
            "/v1/charges",
            API_KEY,
            &json!({ "amount": 88_000, "goods_name": "비타민 외 3건", "payer_phone": PAYER }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let c: Charge = r.json().await.unwrap();
    let number = c.virtual_number.clone().unwrap();
    let national: String = number.chars().filter(char::is_ascii_digit).collect();
    let bill = wait_for("the bill at Solapi", || {
        solapi.sent().into_iter().find(|m| m.to == PAYER)
    })
    .await;
    assert_eq!(bill.from, SENDER);
    assert!(
        bill.text.contains("라이브약품") && bill.text.contains("88,000원"),
        "{}",
        bill.text
    );
    assert!(bill.text.contains(&number), "{}", bill.text);
    wait_status_with(&app, &c.id, "sms_sent").await;

    // The call over TwiML, signed with the carrier's token.
    let sid = "CA00000000000000000000000production";
    let x = app
        .twiml_start(sid, &e164(PAYER), &format!("+82{national}"))
        .await;
    assert!(x.contains("<Gather"), "{x}");
    app.twiml_digits(sid, "1").await;
    app.twiml_digits(sid, CANARY).await;
    let mut x = app.twiml_digits(sid, "1230").await;
    if x.contains("할부") {
        x = app.twiml_digits(sid, "0#").await;
    }
    assert!(x.contains("생년월일"), "{x}");
    app.twiml_digits(sid, "800101").await;
    let x = app.twiml_digits(sid, "12").await;
    assert!(x.contains("<Hangup"), "{x}");
    assert!(!x.contains(CANARY));

    // Approved at Toss once, under the charge's first attempt key.
    let c = wait_status_with(&app, &c.id, "approved").await;
    let payment = c.payment.clone().unwrap();
    assert_eq!(payment.masked_card, "540926******7893");
    assert_eq!(payment.issuer_name, "신한카드");
    assert_eq!(toss.approved_count(), 1);
    let at_toss = toss
        .payment(&c.id)
        .expect("Toss knows the order by the charge id");
    assert_eq!(at_toss["totalAmount"], 88_000);
    assert_eq!(at_toss["status"], "DONE");

    // The slip text.
    let slip = wait_for("the slip at Solapi", || {
        solapi
            .sent()
            .into_iter()
            .find(|m| m.to == PAYER && m.text.contains(&payment.approval_number))
    })
    .await;
    assert!(
        slip.text.contains("540926******7893") || slip.text.contains("7893"),
        "{}",
        slip.text
    );
    assert!(!slip.text.contains(CANARY));

    // A partial refund, then the rest.
    let r = app
        .post_json(
            &format!("/v1/charges/{}/refund", c.id),
            API_KEY,
            &json!({ "amount": 30_000, "reason": "반품 1건" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let at_toss = toss.payment(&c.id).unwrap();
    assert_eq!(at_toss["status"], "PARTIAL_CANCELED");
    assert_eq!(at_toss["balanceAmount"], 58_000);
    let c = app_charge(&app, &c.id).await;
    assert_eq!(c.status.as_str(), "approved");
    assert_eq!(c.payment.as_ref().unwrap().refunded_amount, 30_000);
    let r = app
        .post_json(&format!("/v1/charges/{}/refund", c.id), API_KEY, &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    assert_eq!(toss.payment(&c.id).unwrap()["status"], "CANCELED");
    let c = app_charge(&app, &c.id).await;
    assert_eq!(c.status.as_str(), "refunded");
    assert_eq!(c.payment.as_ref().unwrap().refunded_amount, 88_000);
    assert_eq!(toss.cancel_count(&c.id), 2);

    // The canary: only in the key-in request body at Toss; nowhere at Solapi, in any file
    // the server wrote, or in the logs.
    let key_ins: Vec<_> = toss_server
        .requests()
        .into_iter()
        .filter(|r| r.as_text().contains(CANARY))
        .collect();
    assert_eq!(key_ins.len(), 1);
    assert_eq!(key_ins[0].path, "/v1/payments/key-in");
    assert!(!key_ins[0].headers.iter().any(|(_, v)| v.contains(CANARY)));
    for r in solapi_server.requests() {
        assert!(!r.as_text().contains(CANARY), "{}", r.as_text());
    }
    for (path, bytes) in app.data_files() {
        assert!(!contains(&bytes, CANARY), "canary in {}", path.display());
    }
    let logs = logs();
    assert!(!logs.contains(CANARY), "canary in the logs");
    for secret in [TOSS_SECRET, SOLAPI_SECRET, CARRIER_TOKEN] {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
}

/// A charge of `amount` (under 50,000 KRW: no installment step) to [`PAYER`], its bill sent,
/// and call `sid` about it keyed up to the password prompt with the canary card.
async fn charge_to_password(app: &TestApp, amount: i64, goods: &str, sid: &str) -> Charge {
    let r = app
        .post_json(
            "/v1/charges",
            API_KEY,
            &json!({ "amount": amount, "goods_name": goods, "payer_phone": PAYER }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let c: Charge = r.json().await.unwrap();
    wait_status_with(app, &c.id, "sms_sent").await;
    let national: String = c
        .virtual_number
        .as_deref()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    app.twiml_start(sid, &e164(PAYER), &format!("+82{national}"))
        .await;
    for digits in ["1", CANARY, "1230"] {
        app.twiml_digits(sid, digits).await;
    }
    let x = app.twiml_digits(sid, "800101").await;
    assert!(x.contains("<Gather"), "{x}");
    c
}

async fn app_charge(app: &TestApp, id: &str) -> Charge {
    let r = app.get(&format!("/v1/charges/{id}"), API_KEY).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn wait_status_with(app: &TestApp, id: &str, status: &str) -> Charge {
    for _ in 0..200 {
        let c = app_charge(app, id).await;
        if c.status.as_str() == status {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c: Value = app
        .get(&format!("/v1/charges/{id}"), API_KEY)
        .await
        .json()
        .await
        .unwrap();
    panic!("charge {id} never reached {status}: {c}");
}

/// Seals a merchant's own provider settings (`[card]`, `[sms]`) in the store; what was set.
fn seal_credentials(
    store: &dyn fieldpay_server::store::Store,
    merchant_id: &fieldpay_protocol::MerchantId,
    text: &str,
) -> Vec<String> {
    let sealer = fieldpay_server::credentials::Sealer::new(&CREDENTIALS_KEY.into()).unwrap();
    fieldpay_server::credentials::set_merchant_credentials(
        store,
        &sealer,
        merchant_id,
        text,
        "2026-12-03T00:00:00.000Z",
    )
    .unwrap()
}

/// A merchant with its own PG contract: its approvals go to its own Toss account (the keys
/// sealed in the store), the server's account sees nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_with_its_own_credentials_pays_through_them() {
    let Live {
        app,
        toss,
        toss_server: _toss_server,
        solapi_server: _solapi_server,
        ..
    } = live().await;
    let (own_server, own) = toss::start("test_sk_merchant_own_contract").await;
    let store = app.store();
    let text = format!(
        "[card]\nprovider = \"toss\"\nsecret_key = \"test_sk_merchant_own_contract\"\nbase_url = \"{}\"\n",
        own_server.base_url
    );
    tokio::task::spawn_blocking(move || {
        let m = store.merchant_by_code("live01").unwrap().unwrap();
        assert_eq!(
            seal_credentials(store.as_ref(), &m.id, &text),
            ["card: toss"]
        );
    })
    .await
    .unwrap();
    let sid = "CA000000000000000000000000000owncred";
    let c = charge_to_password(&app, 15_000, "소화제", sid).await;
    let x = app.twiml_digits(sid, "12").await;
    assert!(x.contains("<Hangup"), "{x}");
    wait_status_with(&app, &c.id, "approved").await;
    assert_eq!(own.approved_count(), 1);
    assert_eq!(toss.approved_count(), 0);
    assert!(own.payment(&c.id).is_some());
}

/// A carrier that gives up on the request carrying the last digits (its connection closes
/// while the card network is still answering) does not cut the approval off: it is made and
/// recorded, not left in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_giving_up_mid_approval_leaves_nothing_hanging() {
    // The stand-ins stop when dropped: keep them.
    let Live {
        app,
        toss,
        toss_server: _toss_server,
        solapi_server: _solapi_server,
        ..
    } = live().await;
    let sid = "CA0000000000000000000000000carrier";
    let c = charge_to_password(&app, 12_000, "감기약", sid).await;
    // Toss answers in 1.5 s; the carrier waits 0.3 s and hangs up on the request.
    toss.delay_next(1_500);
    let params = vec![
        ("CallSid".to_string(), sid.to_string()),
        ("Digits".to_string(), "12".to_string()),
        ("CallStatus".to_string(), "in-progress".to_string()),
    ];
    let path = "/telephony/twiml/voice";
    let sig = fieldpay_server::telephony::twiml::signature(
        CARRIER_TOKEN,
        &format!("{}{path}", app.public_base),
        &params,
    );
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let gave_up = impatient
        .post(app.url(path))
        .header("X-Twilio-Signature", sig)
        .form(&params)
        .send()
        .await;
    assert!(gave_up.is_err(), "the carrier was meant to give up");
    // The approval goes on without it and is recorded.
    let c = wait_status_with(&app, &c.id, "approved").await;
    assert_eq!(toss.approved_count(), 1);
    assert!(c.payment.is_some());
}

/// A server in production refuses to start on a database with the sandbox demo merchant,
/// one line per problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_refuses_the_sandbox_demo_data() {
    // A sandbox server seeds the demo merchant into its store; stopped, its data kept.
    let mut app = spawn_app().await;
    let mut settings = app.state().settings.as_ref().clone();
    app.stop().await;
    settings.mode = Mode::Production;
    settings.allow_insecure_public_url = true;
    settings.sandbox_clock = false;
    settings.twilio_auth_token = CARRIER_TOKEN.into();
    settings.card.provider = CardProvider::Toss;
    settings.card.secret_key = Some(TOSS_SECRET.into());
    settings.sms.provider = SmsProvider::Solapi;
    settings.sms.api_key = Some(SOLAPI_KEY.into());
    settings.sms.api_secret = Some(SOLAPI_SECRET.into());
    settings.sms.sender = Some("1600-0000".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = match fieldpay_server::app::start_configured(settings, listener).await {
        Ok(_) => panic!("a production server started on the demo data"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("demo API key"), "{err}");
    assert!(err.contains("demo merchant"), "{err}");
    drop(app);
}

/// Texts of several merchants sent together: each goes through its merchant's own provider
/// when it has one (its keys sealed in the store), the others through the server's. The
/// sender is looked up once per merchant of a batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_merchants_texts_go_through_its_own_provider() {
    let Live {
        app,
        solapi,
        solapi_server: _solapi_server,
        toss_server: _toss_server,
        ..
    } = live().await;
    let (own_server, own) = solapi::start("NCSOWNMERCHANT01", "own-secret-0001", "15880000").await;
    let store = app.store();
    let text = format!(
        "[sms]\nprovider = \"solapi\"\napi_key = \"NCSOWNMERCHANT01\"\napi_secret = \"own-secret-0001\"\nsender = \"1588-0000\"\nbase_url = \"{}\"\n",
        own_server.base_url
    );
    const OWN_KEY: &str = "fpk_live_e2e_own_sms_merchant_00000000000000";
    tokio::task::spawn_blocking(move || {
        let settings = MerchantSettings {
            number_pool: vec!["16000201".into()],
            business_number: fieldpay_server::demo::business_number(4_243),
            ..MerchantSettings::default()
        };
        let m = store
            .create_merchant("own01", "자체문자상사", &settings)
            .unwrap();
        store
            .create_api_key(&m.id, &hash_secret(OWN_KEY), &OWN_KEY[..12], "test")
            .unwrap();
        assert_eq!(
            seal_credentials(store.as_ref(), &m.id, &text),
            ["sms: solapi"]
        );
    })
    .await
    .unwrap();
    // Bills of both merchants, made together (the sender gathers them into one batch).
    let bills = [
        (API_KEY, "01055502001"),
        (OWN_KEY, "01055502002"),
        (API_KEY, "01055502003"),
        (OWN_KEY, "01055502004"),
    ];
    let bodies: Vec<Value> = bills
        .iter()
        .map(|(_, phone)| json!({ "amount": 10_000, "goods_name": "소화제", "payer_phone": phone }))
        .collect();
    let made = bills
        .iter()
        .zip(&bodies)
        .map(|((key, _), body)| app.post_json("/v1/charges", key, body));
    for r in futures_util::future::join_all(made).await {
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let to = |sent: Vec<solapi::SentMessage>| {
        let mut to: Vec<String> = sent.into_iter().map(|m| m.to).collect();
        to.sort();
        to
    };
    wait_for("every bill at a provider", || {
        (solapi.sent().len() + own.sent().len() >= bills.len()).then_some(())
    })
    .await;
    assert_eq!(to(solapi.sent()), ["01055502001", "01055502003"]);
    assert_eq!(to(own.sent()), ["01055502002", "01055502004"]);
    assert!(own.sent().iter().all(|m| m.from == "15880000"));
}
