//! README's onboarding walkthrough, step by step, with the real `fieldpay-server admin`
//! commands run against the running server's store: the operator creates a merchant, its
//! numbers and its manager; the manager signs in (changing the one-time password), adds a
//! rep and an API key; the API creates a charge; the payer pays by phone in sandbox.

use std::process::Command;

use fieldpay_protocol::charge::{Charge, ChargeStatus};
use fieldpay_protocol::manager::{NewApiKey, RepPassword};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{demo_charge, spawn_app, TestApp, APPROVE_CARD};
use crate::manager::first_sign_in;

/// Runs `fieldpay-server --data <the app's> admin <args>` on the app's store: (success,
/// stdout, stderr).
fn admin(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fieldpay-server"));
    cmd.arg("--data")
        .arg(&app.data)
        .arg("admin")
        .args(args)
        .env_remove("FIELDPAY_CONFIG")
        .env_remove("FIELDPAY_DATA")
        .env_remove("FIELDPAY_DATABASE_URL")
        .env("RUST_LOG", "warn");
    if let Some(url) = &app.database_url {
        cmd.env("FIELDPAY_DATABASE_URL", url.expose());
    }
    let out = tokio::task::block_in_place(|| cmd.output()).expect("run fieldpay-server admin");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(app: &TestApp, args: &[&str]) -> String {
    let (success, stdout, stderr) = admin(app, args);
    assert!(success, "admin {args:?}:\n{stdout}\n{stderr}");
    stdout
}

/// The value after `label` on its line of `out`.
fn after<'a>(out: &'a str, label: &str) -> &'a str {
    let at = out
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} not in {out}"))
        + label.len();
    out[at..].lines().next().unwrap().trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_nothing_to_a_paid_charge() {
    let app = spawn_app().await;
    let bn = fieldpay_server::demo::business_number(4242);

    // The operator: a merchant, five numbers, a manager.
    let out = ok(
        &app,
        &[
            "merchant",
            "create",
            "--code",
            "dawon",
            "--name",
            "다원약품",
            "--business-number",
            &bn,
            "--representative",
            "김대표",
            "--phone",
            "02-555-1234",
            "--address",
            "서울 강남구 테헤란로 1",
        ],
    );
    assert!(out.contains("dawon") && out.contains("다원약품"), "{out}");
    let out = ok(
        &app,
        &[
            "numbers",
            "add",
            "--merchant",
            "dawon",
            "1600-7000..1600-7004",
        ],
    );
    assert!(out.contains("added 5 numbers"), "{out}");
    let out = ok(
        &app,
        &[
            "rep",
            "create",
            "--merchant",
            "dawon",
            "--login",
            "boss",
            "--name",
            "박사장",
            "--role",
            "manager",
        ],
    );
    let otp = after(&out, "to change at first sign-in): ").to_string();
    assert!(otp.len() >= 8, "{out}");

    // Refusals leave nothing behind: a code taken, a number in another pool, no merchant.
    let (success, _, stderr) = admin(
        &app,
        &[
            "merchant",
            "create",
            "--code",
            "dawon",
            "--name",
            "x",
            "--business-number",
            &bn,
            "--representative",
            "x",
            "--phone",
            "02-555-1234",
            "--address",
            "x",
        ],
    );
    assert!(!success && stderr.contains("error: "), "{stderr}");
    let (success, _, stderr) = admin(
        &app,
        &[
            "numbers",
            "add",
            "--merchant",
            "dawon",
            "1600-7004..1600-7006",
        ],
    );
    assert!(!success && stderr.contains("error: "), "{stderr}");
    let (success, _, stderr) = admin(
        &app,
        &[
            "rep",
            "create",
            "--merchant",
            "nobody",
            "--login",
            "x",
            "--name",
            "x",
        ],
    );
    assert!(!success && stderr.contains("error: "), "{stderr}");
    let out = ok(&app, &["numbers", "list", "--merchant", "dawon"]);
    assert_eq!(out.lines().count(), 5, "{out}");

    // The manager (in the app): first sign-in, a rep, an API key.
    let boss = first_sign_in(&app, "dawon", "boss", &otp, "dawon-boss-pw").await;
    let r = app
        .post_json(
            "/v1/manager/reps",
            &boss.access_token,
            &json!({ "login": "kim", "name": "김영업", "role": "rep" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let kim: RepPassword = r.json().await.unwrap();
    first_sign_in(
        &app,
        "dawon",
        "kim",
        kim.one_time_password.expose(),
        "kim-pw-1234",
    )
    .await;
    let r = app
        .post_json(
            "/v1/manager/api-keys",
            &boss.access_token,
            &json!({ "name": "ERP" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let key: NewApiKey = r.json().await.unwrap();

    // The merchant's system asks a payer to pay; the payer pays by phone.
    let r = app
        .post_json(
            "/v1/charges",
            key.secret.expose(),
            &demo_charge(33_000, "010-7300-0001"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let charge: Charge = r.json().await.unwrap();
    let number = charge.virtual_number.clone().unwrap();
    assert!(number.starts_with("1600-700"), "{number}");
    app.pay_by_phone("01073000001", &number, APPROVE_CARD).await;
    let r = app
        .get(&format!("/v1/charges/{}", charge.id), key.secret.expose())
        .await;
    let paid: Charge = r.json().await.unwrap();
    assert_eq!(paid.status, ChargeStatus::Approved);
    // The other merchant's key does not see it.
    let r = app
        .get(
            &format!("/v1/charges/{}", charge.id),
            fieldpay_server::demo::DEMO_API_KEY,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The audit log holds it all: the operator's commands and the manager's changes.
    let out = ok(&app, &["audit", "--merchant", "dawon"]);
    for action in [
        "merchant.create",
        "numbers.add",
        "rep.create",
        "api_key.create",
    ] {
        assert!(out.contains(action), "{action} not in {out}");
    }
    assert!(
        out.contains("cli") && out.contains(&format!("manager:{}", boss.rep.id)),
        "{out}"
    );
    assert!(
        !out.contains(&otp) && !out.contains(key.secret.expose()),
        "no secret in the log"
    );
}
