//! The operator API (`/admin/v1`) and the admin service behind it (and behind the manager
//! routes): a merchant brought from nothing to a charge, bad input refused with a typed error
//! and nothing stored, operator-token authentication, one-time passwords and the password
//! gate, API key use, webhook secret rotation, suspension, and the audit log.

use std::time::Duration;

use fieldpay_protocol::admin::{
    ApiKeyInfo, AuditEntry, MerchantView, NewApiKey, NewOperatorToken, NumberList, RepPassword,
    SettingsPatch, Suspended, WebhookSecret,
};
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::charge::Charge;
use fieldpay_protocol::ErrorCode;
use fieldpay_server::admin::{self, Actor, AdminError};
use fieldpay_server::demo::{DEMO_API_KEY, DEMO_MERCHANT_CODE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// A new operator token, made as `fieldpay-server admin operator-token create` does.
fn operator_token(app: &TestApp) -> String {
    let t = admin::create_operator_token(app.store().as_ref(), &Actor::Cli, "tests").unwrap();
    t.token.expose().to_string()
}

/// An `/admin/v1` request with `bearer`: (status, JSON body or Null).
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
    };
    (status, v)
}

/// The error code of an error answer.
fn code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {v}"))
}

fn new_merchant(code: &str) -> Value {
    json!({
        "code": code, "name": "새봄약품", "business_number": "220-81-62517",
        "representative": "정대표", "phone": "02-2345-6789", "address": "서울 종로구 종로 1",
        "settings": { "auto_pay": false, "credit_policy": "warn" },
    })
}

use crate::helpers::sign_in;

async fn audit_actions(app: &TestApp, op: &str, merchant: &str) -> Vec<AuditEntry> {
    let (s, v) = call(
        app,
        Method::GET,
        &format!("/admin/v1/audit?merchant={merchant}&limit=1000"),
        op,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    serde_json::from_value(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_operator_token_opens_the_operator_api() {
    let app = spawn_app().await;
    let rep = login(&app, "manager", "demo1234").await;
    for bearer in [
        DEMO_API_KEY,
        rep.access_token.as_str(),
        "fpo_not-a-token",
        "x",
    ] {
        let (s, v) = call(&app, Method::GET, "/admin/v1/merchants", bearer, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{bearer}: {v}");
        assert_eq!(code(&v), "unauthorized");
    }
    let r = app
        .http
        .get(app.url("/admin/v1/merchants"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // An operator token is not a key of the merchant API either.
    let op = operator_token(&app);
    let r = app.get("/v1/charges", &op).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let (s, v) = call(&app, Method::GET, "/admin/v1/merchants", &op, None).await;
    assert_eq!(s, StatusCode::OK);
    let all: Vec<MerchantView> = serde_json::from_value(v).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].code, DEMO_MERCHANT_CODE);
    assert_eq!(
        all[0].numbers.len(),
        10,
        "the demo pool, from virtual_numbers"
    );
    assert!(fieldpay_protocol::validate::business_number_valid(
        &all[0].business_number
    ));

    // A token made over the API works too, and its creation is audited (never the token).
    let (s, v) = call(
        &app,
        Method::POST,
        "/admin/v1/operator-tokens",
        &op,
        Some(json!({ "name": "second" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let t: NewOperatorToken = serde_json::from_value(v).unwrap();
    assert!(t.token.expose().starts_with("fpo_"));
    let (s, _) = call(
        &app,
        Method::GET,
        "/admin/v1/merchants",
        t.token.expose(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = call(&app, Method::GET, "/admin/v1/audit", &op, None).await;
    let text = v.to_string();
    assert!(text.contains("operator_token.create"), "{text}");
    assert!(
        !text.contains(t.token.expose()),
        "a secret in the audit log"
    );
    // Revoked: refused from then on.
    let revoke = format!("/admin/v1/operator-tokens/{}/revoke", t.id);
    let (s, _) = call(&app, Method::POST, &revoke, &op, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(
        &app,
        Method::GET,
        "/admin/v1/merchants",
        t.token.expose(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = call(&app, Method::POST, &revoke, &op, None).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_from_nothing_to_a_charge_over_the_operator_api() {
    let app = spawn_app().await;
    let op = operator_token(&app);

    // The merchant.
    let (s, v) = call(
        &app,
        Method::POST,
        "/admin/v1/merchants",
        &op,
        Some(new_merchant("saebom")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let m: MerchantView = serde_json::from_value(v).unwrap();
    assert_eq!(
        (
            m.business_number.as_str(),
            m.phone.as_str(),
            m.representative.as_str()
        ),
        ("2208162517", "0223456789", "정대표")
    );
    assert!(!m.settings.auto_pay);
    assert!(m.numbers.is_empty());
    let (s, v) = call(
        &app,
        Method::PATCH,
        "/admin/v1/merchants/saebom",
        &op,
        Some(json!({ "address": "서울 종로구 종로 2", "settings": { "texts_per_hour": 100, "manager_may_change": ["credit_policy"] } })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let m: MerchantView = serde_json::from_value(v).unwrap();
    assert_eq!(m.address, "서울 종로구 종로 2");
    assert_eq!(m.settings.texts_per_hour, Some(100));
    assert_eq!(
        m.settings.credit_policy,
        fieldpay_protocol::records::CreditPolicy::Warn
    );

    // Numbers: a range and a list.
    let (s, v) = call(
        &app,
        Method::POST,
        "/admin/v1/merchants/saebom/numbers",
        &op,
        Some(json!({ "numbers": ["1600-0110..1600-0112", "1600-0120"] })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let added: NumberList = serde_json::from_value(v).unwrap();
    assert_eq!(
        added.numbers,
        ["16000110", "16000111", "16000112", "16000120"]
    );
    let (s, _) = call(
        &app,
        Method::DELETE,
        "/admin/v1/merchants/saebom/numbers/1600-0120",
        &op,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(
        &app,
        Method::GET,
        "/admin/v1/merchants/saebom/numbers",
        &op,
        None,
    )
    .await;
    let pool: NumberList = serde_json::from_value(v).unwrap();
    assert_eq!(pool.numbers, ["16000110", "16000111", "16000112"]);

    // A manager with a one-time password: everything but changing it is refused.
    let (s, v) = call(
        &app,
        Method::POST,
        "/admin/v1/merchants/saebom/reps",
        &op,
        Some(json!({ "login": "boss", "name": "정관리", "role": "manager" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let boss: RepPassword = serde_json::from_value(v).unwrap();
    let otp = boss.one_time_password.expose().to_string();
    let r = sign_in(&app, "saebom", "boss", &otp).await;
    assert_eq!(r.status(), StatusCode::OK);
    let t: Tokens = r.json().await.unwrap();
    assert!(t.rep.must_change_password);
    assert_eq!(t.rep.role, Role::Manager);
    let r = app.get("/v1/charges", &t.access_token).await;
    let (status, c, _) = api_error(r).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::FORBIDDEN, "password_change_required")
    );
    let change = |current: &str, new: &str| {
        app.http
            .post(app.url("/v1/auth/password"))
            .bearer_auth(&t.access_token)
            .json(&json!({ "current_password": current, "new_password": new }))
            .send()
    };
    let (status, c, _) = api_error(change("wrong-one", "long-enough-1").await.unwrap()).await;
    assert_eq!((status, c.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, c, _) = api_error(change(&otp, "short").await.unwrap()).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
    );
    let r = change(&otp, "boss-password-1").await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app.get("/v1/charges", &t.access_token).await;
    assert_eq!(r.status(), StatusCode::OK, "the same session goes on");
    let r = sign_in(&app, "saebom", "boss", "boss-password-1").await;
    let again: Tokens = r.json().await.unwrap();
    assert!(!again.rep.must_change_password);
    // An API key has no password to change.
    let r = app
        .post_json(
            "/v1/auth/password",
            DEMO_API_KEY,
            &json!({ "current_password": "a", "new_password": "bbbbbbbbbb" }),
        )
        .await;
    assert_eq!(api_error(r).await.1, "forbidden");

    // An API key: shown once, used, its last use noted.
    let (s, v) = call(
        &app,
        Method::POST,
        "/admin/v1/merchants/saebom/api-keys",
        &op,
        Some(json!({ "name": "ERP" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let key: NewApiKey = serde_json::from_value(v).unwrap();
    assert_eq!(key.key.name, "ERP");
    assert!(key.secret.expose().starts_with(&key.key.prefix));
    assert_eq!(key.key.last_used_at, None);
    let r = app
        .post_json(
            "/v1/charges",
            key.secret.expose(),
            &demo_charge(33_000, "010-5300-0001"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let charge: Charge = r.json().await.unwrap();
    assert_eq!(
        charge
            .virtual_number
            .as_deref()
            .map(|n| n.replace('-', ""))
            .as_deref(),
        Some("16000110")
    );
    let mut used = None;
    for _ in 0..100 {
        let (_, v) = call(
            &app,
            Method::GET,
            "/admin/v1/merchants/saebom/api-keys",
            &op,
            None,
        )
        .await;
        let keys: Vec<ApiKeyInfo> = serde_json::from_value(v).unwrap();
        used = keys[0].last_used_at.clone();
        if used.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(used.is_some(), "the key's last use was noted");

    // A number with a pending charge bound to it stays.
    let (s, v) = call(
        &app,
        Method::DELETE,
        "/admin/v1/merchants/saebom/numbers/16000110",
        &op,
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "invalid_state"));

    // The payer pays by phone (sandbox): the new merchant's first paid charge.
    app.wait_sms("01053000001", "bill", &charge.id).await;
    app.pay_by_phone("01053000001", "16000110", APPROVE_CARD)
        .await;
    let mut paid = None;
    for _ in 0..200 {
        let r = app
            .get(&format!("/v1/charges/{}", charge.id), key.secret.expose())
            .await;
        let c: Charge = r.json().await.unwrap();
        if c.status.as_str() == "approved" {
            paid = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(paid.expect("approved").payment.is_some());

    // Revoked: refused from then on.
    let (s, _) = call(
        &app,
        Method::POST,
        &format!("/admin/v1/merchants/saebom/api-keys/{}/revoke", key.key.id),
        &op,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = app.get("/v1/charges", key.secret.expose()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, v) = call(
        &app,
        Method::POST,
        &format!("/admin/v1/merchants/saebom/api-keys/{}/revoke", key.key.id),
        &op,
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));

    // Reset and deactivate.
    let (s, v) = call(
        &app,
        Method::POST,
        "/admin/v1/merchants/saebom/reps/boss/reset-password",
        &op,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let reset: RepPassword = serde_json::from_value(v).unwrap();
    let r = sign_in(&app, "saebom", "boss", "boss-password-1").await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );
    let r = sign_in(&app, "saebom", "boss", reset.one_time_password.expose()).await;
    let t: Tokens = r.json().await.unwrap();
    assert!(t.rep.must_change_password);
    let (s, _) = call(
        &app,
        Method::POST,
        "/admin/v1/merchants/saebom/reps/boss/deactivate",
        &op,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = sign_in(&app, "saebom", "boss", reset.one_time_password.expose()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, v) = call(
        &app,
        Method::POST,
        "/admin/v1/merchants/saebom/reps/boss/deactivate",
        &op,
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "invalid_state"));

    // Every change is in the audit log, and no secret is.
    let entries = audit_actions(&app, &op, "saebom").await;
    let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "merchant.create",
            "merchant.update",
            "numbers.add",
            "numbers.remove",
            "rep.create",
            "rep.change_password",
            "api_key.create",
            "api_key.revoke",
            "rep.reset_password",
            "rep.deactivate",
        ]
    );
    assert!(entries
        .iter()
        .all(|e| e.actor.starts_with("operator:") || e.actor.starts_with("rep:")));
    let text = serde_json::to_string(&entries).unwrap();
    for secret in [
        &otp,
        reset.one_time_password.expose(),
        key.secret.expose(),
        "boss-password-1",
    ] {
        assert!(!text.contains(secret), "a secret in the audit log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_typed_error_and_nothing_stored() {
    let app = spawn_app().await;
    let op = operator_token(&app);
    let store = app.store();
    let post = |path: &'static str, body: Value| {
        let op = op.clone();
        let app = &app;
        async move { call(app, Method::POST, path, &op, Some(body)).await }
    };

    let mut bad_bn = new_merchant("bad-bn");
    bad_bn["business_number"] = json!("220-81-62518");
    let mut bad_phone = new_merchant("bad-phone");
    bad_phone["phone"] = json!("02-12");
    let mut bad_code = new_merchant("Bad Code!");
    bad_code["code"] = json!("Bad Code!");
    let mut bad_setting = new_merchant("bad-setting");
    bad_setting["settings"] = json!({ "approval_attempt_limit": 0 });
    for (body, status, want) in [
        (
            bad_bn,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_business_number",
        ),
        (bad_phone, StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone"),
        (bad_code, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (
            bad_setting,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            new_merchant(DEMO_MERCHANT_CODE),
            StatusCode::CONFLICT,
            "conflict",
        ),
        (
            json!({ "code": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "malformed_body",
        ),
    ] {
        let (s, v) = post("/admin/v1/merchants", body.clone()).await;
        assert_eq!((s, code(&v)), (status, want), "{body}: {v}");
    }
    assert_eq!(store.list_merchants().unwrap().len(), 1, "nothing stored");

    // Unknown merchant, everywhere.
    for (method, path) in [
        (Method::GET, "/admin/v1/merchants/nope"),
        (Method::PATCH, "/admin/v1/merchants/nope"),
        (Method::GET, "/admin/v1/merchants/nope/numbers"),
        (Method::POST, "/admin/v1/merchants/nope/suspend"),
        (Method::GET, "/admin/v1/merchants/nope/api-keys"),
        (Method::GET, "/admin/v1/audit?merchant=nope"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({}));
        let (s, v) = call(&app, method.clone(), path, &op, body).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{method} {path}"
        );
    }

    let (s, _) = post("/admin/v1/merchants", new_merchant("second")).await;
    assert_eq!(s, StatusCode::CREATED);
    let second = store.merchant_by_code("second").unwrap().unwrap();
    let audit_before = store.audit(None, 1000).unwrap().len();
    // Numbers: overlapping ranges, a number in another pool (the demo's 1600-0010), a mobile
    // number, not a number: none of them adds anything.
    for (numbers, status, want) in [
        (
            json!(["1600-0200..1600-0205", "1600-0205..1600-0209"]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!(["1600-0015..1600-0025"]),
            StatusCode::CONFLICT,
            "conflict",
        ),
        (
            json!(["010-1234-5678"]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_phone",
        ),
        (
            json!(["1600-00ab"]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_phone",
        ),
        (json!([]), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
    ] {
        let (s, v) = post(
            "/admin/v1/merchants/second/numbers",
            json!({ "numbers": numbers }),
        )
        .await;
        assert_eq!((s, code(&v)), (status, want), "{numbers}: {v}");
    }
    assert!(store
        .merchant(&second.id)
        .unwrap()
        .unwrap()
        .settings
        .number_pool
        .is_empty());
    let (s, v) = call(
        &app,
        Method::DELETE,
        "/admin/v1/merchants/second/numbers/1600-0010",
        &op,
        None,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::NOT_FOUND, "not_found"),
        "another merchant's number"
    );
    assert!(store.merchant_by_number("16000010").unwrap().is_some());

    // Reps: a bad login, a duplicate, a bad role.
    let (s, v) = post(
        "/admin/v1/merchants/second/reps",
        json!({ "login": "a b", "name": "x", "role": "rep" }),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
    );
    let (s, _) = post(
        "/admin/v1/merchants/second/reps",
        json!({ "login": "kim", "name": "김", "role": "rep" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = post(
        "/admin/v1/merchants/second/reps",
        json!({ "login": "kim", "name": "김", "role": "rep" }),
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"));
    let (s, v) = post(
        "/admin/v1/merchants/second/reps",
        json!({ "login": "lee", "name": "이", "role": "boss" }),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "malformed_body")
    );
    assert_eq!(store.list_reps(&second.id).unwrap().len(), 1);
    let (s, v) = call(
        &app,
        Method::POST,
        "/admin/v1/merchants/second/reps/nobody/reset-password",
        &op,
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));

    // Webhooks: plain http elsewhere than loopback; rotating with no endpoint.
    let (s, v) = call(
        &app,
        Method::PUT,
        "/admin/v1/merchants/second/webhook",
        &op,
        Some(json!({ "url": "http://example.com/hook" })),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
    );
    let (s, v) = call(
        &app,
        Method::POST,
        "/admin/v1/merchants/second/webhook/rotate-secret",
        &op,
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "invalid_state"));
    assert_eq!(
        store
            .merchant(&second.id)
            .unwrap()
            .unwrap()
            .settings
            .webhook_url,
        None
    );

    // API keys: an empty name. Settings: out of range.
    let (s, v) = post(
        "/admin/v1/merchants/second/api-keys",
        json!({ "name": " " }),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
    );
    assert!(store.list_api_keys(&second.id).unwrap().is_empty());
    let (s, v) = call(
        &app,
        Method::PATCH,
        "/admin/v1/merchants/second",
        &op,
        Some(json!({ "business_number": "123" })),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_business_number")
    );

    // Only the one good rep was audited among all of that.
    let after = store.audit(None, 1000).unwrap();
    assert_eq!(after.len(), audit_before + 1, "{after:?}");
    assert_eq!(after[0].action, "rep.create");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_refuses_new_charges_and_cancels_pending_ones_with_a_text() {
    let app = spawn_app().await;
    let op = operator_token(&app);
    let payer = "010-5400-0001";
    let pending = app.charge(demo_charge(21_000, payer)).await;
    let (s, v) = call(
        &app,
        Method::POST,
        &format!("/admin/v1/merchants/{DEMO_MERCHANT_CODE}/suspend"),
        &op,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let done: Suspended = serde_json::from_value(v).unwrap();
    assert_eq!(done.canceled_charges, std::slice::from_ref(&pending.id));
    assert_eq!(
        app.get_charge(&pending.id).await.status.as_str(),
        "canceled"
    );
    let text = app
        .wait_sms(&payer.replace('-', ""), "notice", &pending.id)
        .await;
    assert!(
        text.body.contains("결제 요청이 취소되었습니다"),
        "{}",
        text.body
    );
    let r = app
        .post_json("/v1/charges", DEMO_API_KEY, &demo_charge(5_000, payer))
        .await;
    let (status, c, _) = api_error(r).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::FORBIDDEN, "merchant_suspended")
    );
    let (_, v) = call(
        &app,
        Method::GET,
        &format!("/admin/v1/merchants/{DEMO_MERCHANT_CODE}"),
        &op,
        None,
    )
    .await;
    assert_eq!(v["status"], "suspended");
    // Again: nothing left to cancel.
    let (_, v) = call(
        &app,
        Method::POST,
        &format!("/admin/v1/merchants/{DEMO_MERCHANT_CODE}/suspend"),
        &op,
        None,
    )
    .await;
    assert_eq!(v["canceled_charges"], json!([]));
    // Active again: charges are taken.
    let (s, v) = call(
        &app,
        Method::POST,
        &format!("/admin/v1/merchants/{DEMO_MERCHANT_CODE}/activate"),
        &op,
        None,
    )
    .await;
    assert_eq!((s, &v["status"]), (StatusCode::OK, &json!("active")));
    let r = app
        .post_json("/v1/charges", DEMO_API_KEY, &demo_charge(5_000, payer))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let actions: Vec<String> = audit_actions(&app, &op, DEMO_MERCHANT_CODE)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "merchant.activate",
            "merchant.suspend",
            "merchant.suspend.cancel_charges",
            "merchant.suspend"
        ]
    );
}

/// A demo charge, canceled (so a `charge.canceled` webhook goes out).
async fn canceled(app: &TestApp, payer: &str) -> Charge {
    let c = app.charge(demo_charge(8_000, payer)).await;
    let r = app
        .post_json(
            &format!("/v1/charges/{}/cancel", c.id),
            DEMO_API_KEY,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_webhook_secret_signs_next_to_the_new_one_until_its_grace_ends() {
    let app = spawn_app().await;
    let op = operator_token(&app);
    let (url, rx) = webhook_receiver(0).await;
    let path = format!("/admin/v1/merchants/{DEMO_MERCHANT_CODE}/webhook");
    let (s, v) = call(&app, Method::PUT, &path, &op, Some(json!({ "url": url }))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first: WebhookSecret = serde_json::from_value(v).unwrap();
    assert!(first.secret.expose().starts_with("whsec_"));
    let (s, v) = call(
        &app,
        Method::POST,
        &format!("{path}/rotate-secret"),
        &op,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let second: WebhookSecret = serde_json::from_value(v).unwrap();
    assert_ne!(first.secret, second.secret);
    let until =
        fieldpay_server::clock::parse_ts(second.previous_valid_until.as_deref().unwrap()).unwrap();
    let hours = (until - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "{hours}");

    // A delivery now carries both signatures; each secret verifies it.
    let c = canceled(&app, "010-5500-0001").await;
    let got = rx
        .wait_for("charge.canceled", &c.id, Duration::from_secs(10))
        .await
        .expect("delivered");
    let header = |n: &str| got.headers.get(n).unwrap().to_str().unwrap().to_string();
    let (id, ts, sig) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    assert_eq!(sig.split(' ').count(), 2, "{sig}");
    let ts: i64 = ts.parse().unwrap();
    for secret in [&first.secret, &second.secret] {
        assert!(fieldpay_server::webhooks::verify(
            secret.expose(),
            &id,
            ts,
            &got.body,
            &sig,
            chrono::Utc::now()
        ));
    }
    // Past the grace period only the new secret signs.
    let store = app.store();
    let m = store.merchant_by_code(DEMO_MERCHANT_CODE).unwrap().unwrap();
    let mut settings = m.settings.clone();
    settings.webhook_previous_until = Some(fieldpay_server::clock::ts(
        chrono::Utc::now() - chrono::Duration::seconds(1),
    ));
    store.update_merchant_settings(&m.id, &settings).unwrap();
    let c = canceled(&app, "010-5500-0002").await;
    let got = rx
        .wait_for("charge.canceled", &c.id, Duration::from_secs(10))
        .await
        .expect("delivered");
    let sig = got
        .headers
        .get("webhook-signature")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(sig.split(' ').count(), 1, "{sig}");
    let (id, ts) = (
        got.headers
            .get("webhook-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string(),
        got.headers
            .get("webhook-timestamp")
            .unwrap()
            .to_str()
            .unwrap()
            .parse::<i64>()
            .unwrap(),
    );
    assert!(fieldpay_server::webhooks::verify(
        second.secret.expose(),
        &id,
        ts,
        &got.body,
        &sig,
        chrono::Utc::now()
    ));
    assert!(!fieldpay_server::webhooks::verify(
        first.secret.expose(),
        &id,
        ts,
        &got.body,
        &sig,
        chrono::Utc::now()
    ));
    // Setting the endpoint again starts over with one secret.
    let actions: Vec<String> = audit_actions(&app, &op, DEMO_MERCHANT_CODE)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["webhook.rotate_secret", "webhook.set"]);
}

fn refused<T>(r: Result<T, AdminError>) -> ErrorCode {
    match r {
        Err(e) => e.code(),
        Ok(_) => panic!("allowed"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_changes_only_what_the_operator_allowed() {
    let app = spawn_app().await;
    let store = app.store();
    let m = store.merchant_by_code(DEMO_MERCHANT_CODE).unwrap().unwrap();
    let manager = store.rep_by_login(&m.id, "manager").unwrap().unwrap();
    let me = Actor::Manager {
        rep_id: manager.id.clone(),
    };
    let s = store.as_ref();
    let credit = SettingsPatch {
        credit_policy: Some(fieldpay_protocol::records::CreditPolicy::Warn),
        ..SettingsPatch::default()
    };

    assert_eq!(
        refused(admin::update_merchant_settings(s, &me, &m.id, &credit)),
        ErrorCode::Forbidden
    );
    let allow = SettingsPatch {
        manager_may_change: Some(vec![fieldpay_protocol::admin::ManagerSetting::CreditPolicy]),
        ..SettingsPatch::default()
    };
    assert_eq!(
        refused(admin::update_merchant_settings(s, &me, &m.id, &allow)),
        ErrorCode::Forbidden
    );
    admin::update_merchant_settings(s, &Actor::Cli, &m.id, &allow).unwrap();
    let changed = admin::update_merchant_settings(s, &me, &m.id, &credit).unwrap();
    assert_eq!(
        changed.settings.credit_policy,
        fieldpay_protocol::records::CreditPolicy::Warn
    );
    let both = SettingsPatch {
        auto_pay: Some(false),
        ..credit.clone()
    };
    assert_eq!(
        refused(admin::update_merchant_settings(s, &me, &m.id, &both)),
        ErrorCode::Forbidden
    );
    assert!(
        store.merchant(&m.id).unwrap().unwrap().settings.auto_pay,
        "nothing changed"
    );
    // A manager runs its team but not itself out, nor the operator's things.
    assert_eq!(
        refused(admin::deactivate_rep(s, &me, &m.id, &manager.id)),
        ErrorCode::Forbidden
    );
    let (rep, otp) = admin::create_rep(s, &me, &m.id, "rep9", "구영업", Role::Rep).unwrap();
    assert_eq!(otp.expose().len(), 12);
    admin::deactivate_rep(s, &me, &m.id, &rep).unwrap();
    assert_eq!(
        refused(admin::create_operator_token(s, &me, "x")),
        ErrorCode::Forbidden
    );
    assert_eq!(
        refused(admin::add_numbers(s, &me, &m.id, &["1600-0300".into()])),
        ErrorCode::Forbidden
    );
    // Another merchant's rep is not found from this one.
    app.second_merchant("other", &["16000400"]);
    let other = store.merchant_by_code("other").unwrap().unwrap();
    assert_eq!(
        refused(admin::reset_rep_password(s, &me, &other.id, &manager.id)),
        ErrorCode::NotFound
    );
    let audit = admin::audit(s, Some(&m.id), 10).unwrap();
    assert_eq!(audit[0].actor, format!("manager:{}", manager.id));
    assert_eq!(audit[0].action, "rep.deactivate");
}
