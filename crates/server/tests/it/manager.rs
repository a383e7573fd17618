//! The manager's routes: the team's day, payments by card company, the month's settlement,
//! and the rep/API-key/settings management the operator's service does. A plain rep is
//! refused each (403); one merchant's manager never reaches another merchant's records.

use chrono::Utc;
use fieldpay_protocol::charge::{Charge, ChargeList, ChargeStatus};
use fieldpay_protocol::manager::TeamReport;
use fieldpay_protocol::settlement::{SettlementPeriod, SettlementReport};
use fieldpay_server::demo::DEMO_API_KEY;
use reqwest::StatusCode;

use crate::helpers::{demo_charge, login, spawn_app, TestApp, APPROVE_CARD, CANARY_CARD};

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
    assert_eq!(boss.role, fieldpay_protocol::auth::Role::Manager);
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
