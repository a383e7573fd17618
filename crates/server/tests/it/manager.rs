//! The manager's routes: the team's day, payments by card company, the month's settlement,
//! and the rep/API-key/settings management the operator's service does. A plain rep is
//! refused each (403); one merchant's manager never reaches another merchant's records.

use chrono::Utc;
use fieldpay_protocol::admin::ManagerSetting;
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::charge::{Charge, ChargeList, ChargeStatus};
use fieldpay_protocol::manager::{
    ApiKeyInfo, Integration, NewApiKey, RepPassword, SettingsPatch, SettingsValues, TeamReport,
};
use fieldpay_protocol::settlement::{SettlementPeriod, SettlementReport};
use fieldpay_server::admin::{self, Actor};
use fieldpay_server::demo::DEMO_API_KEY;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{demo_charge, login, spawn_app, TestApp, Tokens, APPROVE_CARD, CANARY_CARD};

async fn paid(app: &TestApp, bearer: &str, amount: i64, payer: &str, card: &str) -> Charge {
    let r = app
        .post_json("/v1/charges", bearer, &demo_charge(amount, payer))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let c: Charge = r.json().await.unwrap();
    let digits: String = payer.chars().filter(char::is_ascii_digit).collect();
    app.pay_by_phone(&digits, c.virtual_number.as_deref().unwrap(), card)
        .await;
    let c = app.get_charge(&c.id).await;
    assert_eq!(c.status, ChargeStatus::Approved);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_the_month_and_payments_by_card_company() {
    let app = spawn_app().await;
    let rep1 = login(&app, "rep1", "demo1234").await;
    let manager = login(&app, "manager", "demo1234").await;
    let m = manager.access_token.as_str();
    let kb = paid(
        &app,
        &rep1.access_token,
        55_000,
        "010-7100-0001",
        CANARY_CARD,
    )
    .await;
    let bc = paid(
        &app,
        &rep1.access_token,
        12_000,
        "010-7100-0002",
        APPROVE_CARD,
    )
    .await;
    let by_key = paid(&app, DEMO_API_KEY, 30_000, "010-7100-0003", APPROVE_CARD).await;

    // The team: rep1 collected two payments today; the API's payment is no rep's.
    let r = app.get("/v1/manager/team", m).await;
    assert_eq!(r.status(), StatusCode::OK);
    let team: TeamReport = r.json().await.unwrap();
    let today = fieldpay_protocol::time::kst_date(Utc::now());
    assert_eq!(team.date, today);
    let one = team.reps.iter().find(|t| t.login == "rep1").unwrap();
    assert_eq!((one.collected_count, one.collected_amount), (2, 67_000));
    assert!(one.active && !one.must_change_password);
    let boss = team.reps.iter().find(|t| t.login == "manager").unwrap();
    assert_eq!(boss.role, Role::Manager);
    assert_eq!(boss.collected_count, 0);
    // Another day: nothing collected.
    let r = app.get("/v1/manager/team?date=2020-01-01", m).await;
    let old: TeamReport = r.json().await.unwrap();
    assert!(old
        .reps
        .iter()
        .all(|t| t.collected_count == 0 && t.orders == 0));
    for bad in ["date=2026-13-01", "date=today", "day=2026-01-01"] {
        let r = app.get(&format!("/v1/manager/team?{bad}"), m).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    // A plain rep is refused.
    let r = app.get("/v1/manager/team", &rep1.access_token).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Payments by card company (issuer code): BC is 01, KB 02.
    let list = |q: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/v1/charges?{q}"), m).await;
            assert_eq!(r.status(), StatusCode::OK, "{q}");
            let l: ChargeList = r.json().await.unwrap();
            let mut ids: Vec<String> = l.items.into_iter().map(|c| c.id).collect();
            ids.sort();
            ids
        }
    };
    let mut bcs = vec![bc.id.clone(), by_key.id.clone()];
    bcs.sort();
    assert_eq!(list("card_company=01").await, bcs);
    assert_eq!(list("card_company=02").await, vec![kb.id.clone()]);
    assert!(list("card_company=99").await.is_empty());
    let r = app
        .get(
            &format!("/v1/charges?card_company=01&rep_id={}", rep1.rep.id),
            m,
        )
        .await;
    let l: ChargeList = r.json().await.unwrap();
    assert_eq!(
        l.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        vec![bc.id.as_str()]
    );
    for bad in [
        "card_company=",
        "card_company=0%201",
        "card_company=%27%20OR%201",
    ] {
        let r = app.get(&format!("/v1/charges?{bad}"), m).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // The month's settlement holds today's payments; the rep sees its own only.
    let month = &today[..7];
    let r = app.get(&format!("/v1/settlement?month={month}"), m).await;
    assert_eq!(r.status(), StatusCode::OK);
    let s: SettlementReport = r.json().await.unwrap();
    assert_eq!(
        (s.period, s.date.as_str()),
        (SettlementPeriod::Month, month)
    );
    assert_eq!(s.total.approved_amount, 97_000);
    let r = app
        .get(&format!("/v1/settlement?month={month}"), &rep1.access_token)
        .await;
    let mine: SettlementReport = r.json().await.unwrap();
    assert_eq!(mine.total.approved_amount, 67_000);
    let r = app
        .get(&format!("/v1/settlement.csv?month={month}"), m)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains(&format!("settlement-{month}.csv")),
        "{disposition}"
    );
    for bad in [
        "month=2026-13",
        "month=2026-1",
        "month=202611",
        "month=2026-11&date=2026-11-01",
    ] {
        let r = app.get(&format!("/v1/settlement?{bad}"), m).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

/// Signs in at `merchant` and, when the password was a one-time one, changes it to
/// `new_password` first (as the app makes a rep do).
pub(crate) async fn first_sign_in(
    app: &TestApp,
    merchant: &str,
    login: &str,
    one_time: &str,
    new_password: &str,
) -> Tokens {
    let r = crate::helpers::sign_in(app, merchant, login, one_time).await;
    assert_eq!(r.status(), StatusCode::OK);
    let t: Tokens = r.json().await.unwrap();
    assert!(t.rep.must_change_password);
    // Nothing else until the password is changed.
    let r = app.get("/v1/charges", &t.access_token).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(r).await, "password_change_required");
    let r = app
        .post_json(
            "/v1/auth/password",
            &t.access_token,
            &json!({ "current_password": one_time, "new_password": new_password }),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = crate::helpers::sign_in(app, merchant, login, new_password).await;
    assert_eq!(r.status(), StatusCode::OK);
    let t: Tokens = r.json().await.unwrap();
    assert!(!t.rep.must_change_password);
    t
}

async fn error_code(r: reqwest::Response) -> String {
    let body: Value = r.json().await.unwrap();
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    bearer: &str,
    body: Value,
) -> reqwest::Response {
    let req = match method {
        "GET" => app.http.get(app.url(path)),
        "PATCH" => app.http.patch(app.url(path)).json(&body),
        _ => app.http.post(app.url(path)).json(&body),
    };
    req.bearer_auth(bearer).send().await.unwrap()
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String)> {
    let store = app.store();
    let mid = store
        .merchant_by_code(fieldpay_server::demo::DEMO_MERCHANT_CODE)
        .unwrap()
        .unwrap()
        .id;
    admin::audit(store.as_ref(), Some(&mid), 100)
        .unwrap()
        .into_iter()
        .map(|a| (a.actor, a.action))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_runs_the_team_and_the_integration() {
    let app = spawn_app().await;
    let manager = login(&app, "manager", "demo1234").await;
    let m = manager.access_token.as_str();
    let me = format!("manager:{}", manager.rep.id);
    let demo = fieldpay_server::demo::DEMO_MERCHANT_CODE;

    // A new rep: its one-time password works once, then must be changed.
    let r = app
        .post_json(
            "/v1/manager/reps",
            m,
            &json!({ "login": "kim", "name": "김신입", "role": "rep" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let new: RepPassword = r.json().await.unwrap();
    assert_eq!(new.login, "kim");
    let otp = new.one_time_password.expose().to_string();
    assert!(otp.len() >= 8);
    let team: TeamReport = app.get("/v1/manager/team", m).await.json().await.unwrap();
    let kim = team.reps.iter().find(|t| t.login == "kim").unwrap();
    assert!(kim.must_change_password && kim.active && kim.role == Role::Rep);
    let kim_tokens = first_sign_in(&app, demo, "kim", &otp, "kim-own-pw-1").await;
    // Taken login, bad login, bad role: refused, nothing added.
    for (body, status) in [
        (
            json!({ "login": "kim", "name": "다른김", "role": "rep" }),
            StatusCode::CONFLICT,
        ),
        (
            json!({ "login": "", "name": "x", "role": "rep" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "login": "a b", "name": "x", "role": "rep" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "login": "lee", "name": "x", "role": "boss" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "login": "lee", "name": "" , "role": "rep"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = app.post_json("/v1/manager/reps", m, &body).await;
        assert_eq!(r.status(), status, "{body}");
    }
    let team2: TeamReport = app.get("/v1/manager/team", m).await.json().await.unwrap();
    assert_eq!(team2.reps.len(), team.reps.len());

    // Reset: the old password stops working; the new one-time one must be changed.
    let r = app
        .post_json(
            &format!("/v1/manager/reps/{}/reset-password", new.rep_id),
            m,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let reset: RepPassword = r.json().await.unwrap();
    let r = crate::helpers::sign_in(&app, demo, "kim", "kim-own-pw-1").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    first_sign_in(
        &app,
        demo,
        "kim",
        reset.one_time_password.expose(),
        "kim-own-pw-2",
    )
    .await;

    // Deactivate: sign-in refused, sessions end; not twice; not oneself; not an unknown rep.
    let path = format!("/v1/manager/reps/{}/deactivate", new.rep_id);
    let r = app.post_json(&path, m, &json!({})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app.get("/v1/charges", &kim_tokens.access_token).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.post_json(&path, m, &json!({})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let own = format!("/v1/manager/reps/{}/deactivate", manager.rep.id);
    assert_eq!(
        app.post_json(&own, m, &json!({})).await.status(),
        StatusCode::FORBIDDEN
    );
    let none = "/v1/manager/reps/rep_nobody/deactivate";
    assert_eq!(
        app.post_json(none, m, &json!({})).await.status(),
        StatusCode::NOT_FOUND
    );

    // API keys: created (shown once), used, listed with its last use, revoked.
    let r = app
        .post_json("/v1/manager/api-keys", m, &json!({ "name": "ERP 연동" }))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let key: NewApiKey = r.json().await.unwrap();
    assert!(key.secret.expose().starts_with(&key.key.prefix));
    let c = app
        .post_json(
            "/v1/charges",
            key.secret.expose(),
            &demo_charge(5_000, "010-7200-0001"),
        )
        .await;
    assert_eq!(c.status(), StatusCode::CREATED);
    // The use is noted in the background (not on the request's path): wait for it.
    let mut keys: Vec<ApiKeyInfo> = Vec::new();
    for _ in 0..100 {
        keys = app
            .get("/v1/manager/api-keys", m)
            .await
            .json()
            .await
            .unwrap();
        if keys
            .iter()
            .any(|k| k.id == key.key.id && k.last_used_at.is_some())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let listed = keys.iter().find(|k| k.id == key.key.id).unwrap();
    assert_eq!(listed.name, "ERP 연동");
    assert!(listed.last_used_at.is_some() && listed.revoked_at.is_none());
    let text = serde_json::to_string(&keys).unwrap();
    assert!(
        !text.contains(key.secret.expose()),
        "a listed key shows only its prefix"
    );
    for name in ["", &"가".repeat(61)] {
        let r = app
            .post_json("/v1/manager/api-keys", m, &json!({ "name": name }))
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let revoke = format!("/v1/manager/api-keys/{}/revoke", key.key.id);
    assert_eq!(
        app.post_json(&revoke, m, &json!({})).await.status(),
        StatusCode::NO_CONTENT
    );
    let c = app
        .post_json(
            "/v1/charges",
            key.secret.expose(),
            &demo_charge(5_000, "010-7200-0002"),
        )
        .await;
    assert_eq!(c.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.post_json(&revoke, m, &json!({})).await.status(),
        StatusCode::NOT_FOUND
    );

    // The integration view: keys (the revoked one marked), webhook URL, deliveries.
    let i: Integration = app
        .get("/v1/manager/integration", m)
        .await
        .json()
        .await
        .unwrap();
    let k = i.api_keys.iter().find(|k| k.id == key.key.id).unwrap();
    assert!(k.revoked_at.is_some());
    assert!(i.link_key_created_at.is_none());
    assert!(i.recent_deliveries.len() <= 20);

    // Every change above is in the audit log under this manager.
    let audit = audit_actions(&app).await;
    for action in [
        "rep.create",
        "rep.reset_password",
        "rep.deactivate",
        "api_key.create",
        "api_key.revoke",
    ] {
        assert!(
            audit.iter().any(|(a, x)| a == &me && x == action),
            "{action} not audited: {audit:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_changes_only_the_settings_the_operator_allows() {
    let app = spawn_app().await;
    let manager = login(&app, "manager", "demo1234").await;
    let m = manager.access_token.as_str();
    let store = app.store();
    let mid = store
        .merchant_by_code(fieldpay_server::demo::DEMO_MERCHANT_CODE)
        .unwrap()
        .unwrap()
        .id;
    // The operator lets managers change the credit policy and the birth-date step.
    admin::update_merchant_settings(
        store.as_ref(),
        &Actor::Cli,
        &mid,
        &SettingsPatch {
            manager_may_change: Some(vec![
                ManagerSetting::CreditPolicy,
                ManagerSetting::RequireBirthDate,
            ]),
            ..Default::default()
        },
    )
    .unwrap();
    let before: SettingsValues = app
        .get("/v1/manager/settings", m)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before.manager_may_change.len(), 2);

    let r = send(
        &app,
        "PATCH",
        "/v1/manager/settings",
        m,
        json!({ "require_birth_date": !before.require_birth_date, "credit_policy": "warn" }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let after: SettingsValues = r.json().await.unwrap();
    assert_eq!(after.require_birth_date, !before.require_birth_date);
    assert_eq!(
        after.credit_policy,
        fieldpay_protocol::records::CreditPolicy::Warn
    );

    // Not allowed (even alongside an allowed one), the list itself, unknown fields, bad values:
    // refused whole, nothing changed.
    for (body, status) in [
        (json!({ "auto_pay": true }), StatusCode::FORBIDDEN),
        (
            json!({ "credit_policy": "block", "approval_attempt_limit": 9 }),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({ "manager_may_change": ["auto_pay"] }),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({ "favourite_colour": "blue" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "credit_policy": "maybe" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = send(&app, "PATCH", "/v1/manager/settings", m, body.clone()).await;
        assert_eq!(r.status(), status, "{body}");
    }
    let now: SettingsValues = app
        .get("/v1/manager/settings", m)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now, after);
    let me = format!("manager:{}", manager.rep.id);
    let audit = audit_actions(&app).await;
    assert_eq!(
        audit
            .iter()
            .filter(|(a, x)| a == &me && x == "settings.update")
            .count(),
        1,
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_routes_refuse_reps_api_keys_and_other_merchants() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let manager = login(&app, "manager", "demo1234").await;
    // Another merchant with its own manager.
    let store = app.store();
    app.second_merchant("other", &["16009901"]);
    let other = store.merchant_by_code("other").unwrap().unwrap();
    let (other_rep, otp) = admin::create_rep(
        store.as_ref(),
        &Actor::Cli,
        &other.id,
        "boss",
        "다른관리자",
        Role::Manager,
    )
    .unwrap();
    let boss = first_sign_in(&app, "other", "boss", otp.expose(), "boss-pw-123").await;

    let demo_rep = rep.rep.id.clone();
    let routes: Vec<(&str, String, Value)> = vec![
        ("GET", "/v1/manager/team".into(), json!(null)),
        (
            "POST",
            "/v1/manager/reps".into(),
            json!({ "login": "x1", "name": "x", "role": "rep" }),
        ),
        (
            "POST",
            format!("/v1/manager/reps/{demo_rep}/reset-password"),
            json!({}),
        ),
        (
            "POST",
            format!("/v1/manager/reps/{demo_rep}/deactivate"),
            json!({}),
        ),
        ("GET", "/v1/manager/api-keys".into(), json!(null)),
        (
            "POST",
            "/v1/manager/api-keys".into(),
            json!({ "name": "x" }),
        ),
        (
            "POST",
            "/v1/manager/api-keys/key_x/revoke".into(),
            json!({}),
        ),
        ("GET", "/v1/manager/integration".into(), json!(null)),
        ("GET", "/v1/manager/settings".into(), json!(null)),
        (
            "PATCH",
            "/v1/manager/settings".into(),
            json!({ "credit_policy": "warn" }),
        ),
    ];
    for (method, path, body) in &routes {
        // A plain rep, and an API key: 403. No credentials: 401.
        for bearer in [rep.access_token.as_str(), DEMO_API_KEY] {
            let r = send(&app, method, path, bearer, body.clone()).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path}");
        }
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert!(
            matches!(
                r.status(),
                StatusCode::UNAUTHORIZED | StatusCode::METHOD_NOT_ALLOWED
            ),
            "{method} {path}: {}",
            r.status()
        );
    }
    // The other merchant's manager cannot touch the demo's reps: they are not found.
    for action in ["reset-password", "deactivate"] {
        let r = app
            .post_json(
                &format!("/v1/manager/reps/{demo_rep}/{action}"),
                &boss.access_token,
                &json!({}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{action}");
    }
    let login_again = login(&app, "rep1", "demo1234").await;
    assert!(!login_again.rep.must_change_password);
    // Nor see them in its team; its team is its own.
    let t: TeamReport = app
        .get("/v1/manager/team", &boss.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        t.reps.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        vec![other_rep.as_str()]
    );
    // And the demo manager cannot touch the other's manager.
    let r = app
        .post_json(
            &format!("/v1/manager/reps/{other_rep}/deactivate"),
            &manager.access_token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
