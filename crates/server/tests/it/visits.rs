//! Visits (방문 기록): check-ins and check-outs pushed by a rep's device are applied once
//! (a retried mutation, or the same visit again, stores nothing more); bad input is refused
//! with a typed error and stores nothing; the manager lists a day's visits per rep, and
//! everyone else is refused.

use chrono::{Duration, Utc};
use fieldpay_protocol::records::Account;
use fieldpay_protocol::sync::MutationOutcome;
use fieldpay_protocol::time::{kst_date, ts};
use fieldpay_protocol::visit::VisitList;
use fieldpay_server::demo::DEMO_API_KEY;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{api_error, login, spawn_app, TestApp};
use crate::sync::{push, uid};

fn accounts_of(app: &TestApp, rep_id: &str) -> Vec<Account> {
    let store = app.store();
    let m = store.merchant_by_code("demo").unwrap().unwrap();
    store
        .accounts(&m.id)
        .unwrap()
        .into_iter()
        .filter(|a| a.rep_id.as_deref() == Some(rep_id))
        .collect()
}

async fn visits(app: &TestApp, bearer: &str, query: &str) -> VisitList {
    let r = app
        .get(&format!("/v1/manager/visits?{query}"), bearer)
        .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn check_in(client_id: &str, visit_id: &str, account_id: &str, at: &str, extra: Value) -> Value {
    let mut op =
        json!({ "type": "check_in", "visit_id": visit_id, "account_id": account_id, "at": at });
    for (k, v) in extra.as_object().unwrap() {
        op[k] = v.clone();
    }
    json!({ "client_id": client_id, "op": op })
}

fn rejected_code(o: &MutationOutcome) -> String {
    match o {
        MutationOutcome::Rejected { error } => error.code.as_str().to_string(),
        other => panic!("expected a refusal: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_is_applied_once_and_the_manager_sees_it() {
    let app = spawn_app().await;
    let rep1 = login(&app, "rep1", "demo1234").await;
    let rep2 = login(&app, "rep2", "demo1234").await;
    let boss = login(&app, "manager", "demo1234").await;
    let m = boss.access_token.as_str();
    let mine = accounts_of(&app, &rep1.rep.id);
    let theirs = accounts_of(&app, &rep2.rep.id);
    let (a, b) = (&mine[0], &theirs[0]);
    let now = Utc::now();
    let today = kst_date(now);
    let at = ts(now - Duration::minutes(30));
    let visit_id = uid();
    let first = check_in(
        &uid(),
        &visit_id,
        &a.id,
        &at,
        json!({ "location": { "lat": 37.5665, "lng": 126.978, "accuracy_m": 25.0 }, "note": "  신제품 소개, 다음 주 재방문  " }),
    );

    // Applied; the same mutation again (a lost answer) gets the same answer; the same visit
    // under a new client id (a device that lost its outbox row's answer) is not stored twice.
    let r1 = push(&app, &rep1.access_token, &json!([first.clone()])).await;
    assert!(
        matches!(r1.results[0].outcome, MutationOutcome::Applied { .. }),
        "{r1:?}"
    );
    let r2 = push(&app, &rep1.access_token, &json!([first.clone()])).await;
    assert_eq!(r1.results[0].outcome, r2.results[0].outcome);
    let mut again = first.clone();
    again["client_id"] = json!(uid());
    let r3 = push(&app, &rep1.access_token, &json!([again])).await;
    assert!(
        matches!(r3.results[0].outcome, MutationOutcome::Applied { .. }),
        "{r3:?}"
    );

    let list = visits(&app, m, &format!("date={today}")).await;
    assert_eq!(list.date, today);
    assert_eq!(list.visits.len(), 1, "{list:?}");
    let v = &list.visits[0];
    assert_eq!(v.id, visit_id);
    assert_eq!(v.account_id, a.id);
    assert_eq!(v.account_name, a.name);
    assert_eq!(v.rep_id, rep1.rep.id);
    assert_eq!(v.rep_name, "김영업");
    assert_eq!(v.note, "신제품 소개, 다음 주 재방문");
    assert_eq!(v.checked_in_at, at);
    assert_eq!(v.checked_out_at, None);
    let loc = v.location.unwrap();
    assert_eq!(
        (loc.lat, loc.lng, loc.accuracy_m),
        (37.5665, 126.978, Some(25.0))
    );

    // Check-out: applied once; again with the same time is the same answer.
    let out_at = ts(now - Duration::minutes(5));
    let out = json!({ "client_id": uid(), "op": { "type": "check_out", "visit_id": visit_id, "at": out_at } });
    let r = push(&app, &rep1.access_token, &json!([out.clone(), out])).await;
    assert!(
        matches!(r.results[0].outcome, MutationOutcome::Applied { .. }),
        "{r:?}"
    );
    assert_eq!(r.results[0].outcome, r.results[1].outcome);
    let list = visits(&app, m, &format!("date={today}&rep={}", rep1.rep.id)).await;
    assert_eq!(list.visits.len(), 1);
    assert_eq!(
        list.visits[0].checked_out_at.as_deref(),
        Some(out_at.as_str())
    );

    // A second visit without a location; one rep's list and every rep's.
    let r = push(
        &app,
        &rep1.access_token,
        &json!([check_in(
            &uid(),
            &uid(),
            &mine[1].id,
            &ts(now - Duration::minutes(1)),
            json!({})
        )]),
    )
    .await;
    assert!(
        matches!(r.results[0].outcome, MutationOutcome::Applied { .. }),
        "{r:?}"
    );
    let list = visits(&app, m, &format!("date={today}")).await;
    assert_eq!(list.visits.len(), 2);
    assert!(
        list.visits[0].checked_in_at < list.visits[1].checked_in_at,
        "oldest first"
    );
    assert!(list.visits[1].location.is_none());
    assert!(
        visits(&app, m, &format!("date={today}&rep={}", rep2.rep.id))
            .await
            .visits
            .is_empty()
    );
    let yesterday = kst_date(now - Duration::days(1));
    assert!(visits(&app, m, &format!("date={yesterday}"))
        .await
        .visits
        .is_empty());

    // Bad input: each refused with its code, nothing stored.
    let far = ts(now + Duration::hours(2));
    let old = ts(now - Duration::days(40));
    let cases = [
        (
            check_in(&uid(), &uid(), "no-such-account", &at, json!({})),
            "not_found",
        ),
        (check_in(&uid(), &uid(), &b.id, &at, json!({})), "forbidden"),
        (
            check_in(
                &uid(),
                &uid(),
                &a.id,
                &at,
                json!({ "location": { "lat": 95.0, "lng": 127.0 } }),
            ),
            "invalid_field",
        ),
        (
            check_in(
                &uid(),
                &uid(),
                &a.id,
                &at,
                json!({ "location": { "lat": 37.0, "lng": -190.0 } }),
            ),
            "invalid_field",
        ),
        (
            check_in(
                &uid(),
                &uid(),
                &a.id,
                &at,
                json!({ "location": { "lat": 0.0, "lng": 0.0 } }),
            ),
            "invalid_field",
        ),
        (
            check_in(
                &uid(),
                &uid(),
                &a.id,
                &at,
                json!({ "note": "가".repeat(501) }),
            ),
            "invalid_field",
        ),
        (
            check_in(&uid(), &uid(), &a.id, &far, json!({})),
            "invalid_field",
        ),
        (
            check_in(&uid(), &uid(), &a.id, &old, json!({})),
            "invalid_field",
        ),
        (
            check_in(&uid(), &uid(), &a.id, "yesterday", json!({})),
            "invalid_field",
        ),
        (
            check_in(&uid(), "bad id!", &a.id, &at, json!({})),
            "invalid_field",
        ),
        // The same visit id with other content.
        (
            check_in(
                &uid(),
                &visit_id,
                &a.id,
                &at,
                json!({ "note": "다른 메모" }),
            ),
            "conflict",
        ),
        (
            json!({ "client_id": uid(), "op": { "type": "check_out", "visit_id": visit_id, "at": ts(now) } }),
            "invalid_state",
        ),
        (
            json!({ "client_id": uid(), "op": { "type": "check_out", "visit_id": uid(), "at": ts(now) } }),
            "not_found",
        ),
        (
            json!({ "client_id": uid(), "op": { "type": "check_out", "visit_id": visit_id, "at": far } }),
            "invalid_field",
        ),
    ];
    for (m1, code) in &cases {
        let r = push(&app, &rep1.access_token, &json!([m1])).await;
        assert_eq!(rejected_code(&r.results[0].outcome), *code, "{m1}");
    }
    // A check-out before the check-in, and another rep's visit.
    let early = json!({ "client_id": uid(), "op": { "type": "check_out", "visit_id": list.visits[1].id, "at": ts(now - Duration::hours(1)) } });
    let r = push(&app, &rep1.access_token, &json!([early])).await;
    assert_eq!(rejected_code(&r.results[0].outcome), "invalid_field");
    let foreign = json!({ "client_id": uid(), "op": { "type": "check_out", "visit_id": list.visits[1].id, "at": ts(now) } });
    let r = push(&app, &rep2.access_token, &json!([foreign])).await;
    assert_eq!(rejected_code(&r.results[0].outcome), "not_found");
    // A shape the protocol does not know is refused as a whole body.
    let r = app
        .post_json(
            "/v1/mutations",
            &rep1.access_token,
            &json!({ "mutations": [{ "client_id": uid(), "op": { "type": "check_in", "visit_id": uid(), "account_id": a.id, "at": at, "mood": "good" } }] }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let after = visits(&app, m, &format!("date={today}")).await;
    assert_eq!(
        after.visits.len(),
        2,
        "nothing stored by refusals: {after:?}"
    );
    assert_eq!(after.visits[0].note, "신제품 소개, 다음 주 재방문");
    assert!(visits(
        &app,
        m,
        &format!("date={}", kst_date(now - Duration::days(40)))
    )
    .await
    .visits
    .is_empty());

    // A manager may check in at any client.
    let r = push(
        &app,
        m,
        &json!([check_in(&uid(), &uid(), &b.id, &ts(now), json!({}))]),
    )
    .await;
    assert!(
        matches!(r.results[0].outcome, MutationOutcome::Applied { .. }),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_manager_lists_visits_and_only_its_own_merchants() {
    let app = spawn_app().await;
    let rep1 = login(&app, "rep1", "demo1234").await;
    let boss = login(&app, "manager", "demo1234").await;
    let today = kst_date(Utc::now());
    let a = &accounts_of(&app, &rep1.rep.id)[0];
    let r = push(
        &app,
        &rep1.access_token,
        &json!([check_in(
            &uid(),
            &uid(),
            &a.id,
            &ts(Utc::now()),
            json!({ "note": "방문" })
        )]),
    )
    .await;
    assert!(matches!(
        r.results[0].outcome,
        MutationOutcome::Applied { .. }
    ));

    for bearer in [rep1.access_token.as_str(), DEMO_API_KEY] {
        let r = app
            .get(&format!("/v1/manager/visits?date={today}"), bearer)
            .await;
        let (status, code, _) = api_error(r).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "forbidden")
        );
    }
    let r = app
        .get(&format!("/v1/manager/visits?date={today}"), "nope")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    for bad in [
        "",
        "date=2026-13-01",
        "date=today",
        &format!("date={today}&rep="),
        &format!("date={today}&x=1"),
    ] {
        let r = app
            .get(&format!("/v1/manager/visits?{bad}"), &boss.access_token)
            .await;
        let (status, _, _) = api_error(r).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // Another merchant: its rep cannot check in at this merchant's client, and its data is
    // its own.
    let (_, other) = app.merchant_with_rep("vb", &["16009991"], "vrep").await;
    let r = push(
        &app,
        &other.access_token,
        &json!([check_in(&uid(), &uid(), &a.id, &ts(Utc::now()), json!({}))]),
    )
    .await;
    assert_eq!(rejected_code(&r.results[0].outcome), "not_found");
    assert_eq!(
        visits(&app, &boss.access_token, &format!("date={today}"))
            .await
            .visits
            .len(),
        1
    );
}
