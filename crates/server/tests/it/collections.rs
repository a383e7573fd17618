//! Collections other than card (현금·계좌이체·어음 수금) pushed by a rep's device: the
//! collection, its ledger entry and the client's receipt text, once however often the device
//! retries; bad input refused with nothing stored; a manager's void (an offsetting entry, an
//! audit row), refused to a rep, an API key, without a reason, and the second time.

use fieldpay_protocol::auth::Role;
use fieldpay_protocol::collection::{Collection, CollectionMethod};
use fieldpay_protocol::records::{Account, LedgerKind};
use fieldpay_protocol::sms::SmsKind;
use fieldpay_protocol::sync::{ChangeData, MutationOutcome, SyncPage};
use fieldpay_protocol::{AccountId, ErrorCode, MerchantId};
use fieldpay_server::demo::{DEMO_API_KEY, DEMO_MERCHANT_NAME};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{api_error, login, settle_sms, spawn_app, TestApp, Tokens};
use crate::orders::push;

fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The merchant's accounts (a rep's device pulls only its own).
async fn accounts(app: &TestApp) -> Vec<Account> {
    app.get("/v1/accounts", DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap()
}

/// An open account of `rep` with a mobile phone, and one of another rep.
async fn own_and_other(app: &TestApp, rep: &Tokens) -> (Account, Account) {
    let all = accounts(app).await;
    let own = all
        .iter()
        .find(|a| a.rep_id.as_deref() == Some(rep.rep.id.as_str()) && a.phone.starts_with("010"))
        .cloned()
        .expect("an account of the rep with a mobile phone");
    let other = all
        .iter()
        .find(|a| a.rep_id.is_some() && a.rep_id.as_deref() != Some(rep.rep.id.as_str()))
        .cloned()
        .expect("another rep's account");
    (own, other)
}

fn record(collection_id: &str, account: &str, method: &str, amount: i64, extra: Value) -> Value {
    let mut c = json!({
        "collection_id": collection_id,
        "account_id": account,
        "method": method,
        "amount": amount,
        "memo": "12월분",
        "collected_at": fieldpay_protocol::time::ts(chrono::Utc::now()),
    });
    if let Value::Object(more) = extra {
        for (k, v) in more {
            c[k] = v;
        }
    }
    json!({ "type": "record_collection", "collection": c })
}

fn applied(o: &MutationOutcome) -> Collection {
    match o {
        MutationOutcome::Applied {
            collection: Some(c),
            ..
        } => Collection::clone(c),
        other => panic!("expected an applied collection: {other:?}"),
    }
}

fn balance(app: &TestApp, mid: &str, account: &str) -> i64 {
    app.store()
        .balance(&MerchantId::new(mid), &AccountId::new(account))
        .unwrap()
}

/// The receipt texts sent to `phone` (once the outbox has sent what was queued).
async fn receipts(app: &TestApp, phone: &str) -> Vec<String> {
    settle_sms(app).await;
    app.store()
        .sms_for_phone(phone, 100)
        .unwrap()
        .into_iter()
        .filter(|s| s.kind == SmsKind::Receipt)
        .map(|s| s.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cash_collection_lowers_the_receivable_once_and_texts_one_receipt() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let mid = rep.rep.merchant_id.clone();
    let (own, _) = own_and_other(&app, &rep).await;
    let before = balance(&app, &mid, &own.id);

    let (client_id, collection_id) = (id(), id());
    let m = json!([{ "client_id": client_id, "op": record(&collection_id, &own.id, "cash", 50_000, json!({})) }]);
    let first = push(&app, &rep.access_token, m.clone()).await;
    let c = applied(&first.results[0].outcome);
    assert_eq!(c.id, collection_id);
    assert_eq!(c.method, CollectionMethod::Cash);
    assert_eq!(c.amount, 50_000);
    assert_eq!(c.rep_id.as_deref(), Some(rep.rep.id.as_str()));
    assert!(c.voided.is_none());
    assert_eq!(balance(&app, &mid, &own.id), before - 50_000);

    // The device did not hear the answer and sends it again: the first answer, nothing new.
    let again = push(&app, &rep.access_token, m).await;
    assert_eq!(again.results, first.results);
    // The same collection under a new client id (a retried item after a reinstall): answered
    // as stored, nothing booked twice.
    let other_client = push(
        &app,
        &rep.access_token,
        json!([{ "client_id": id(), "op": record(&collection_id, &own.id, "cash", 50_000, json!({})) }]),
    )
    .await;
    assert_eq!(applied(&other_client.results[0].outcome), c);
    assert_eq!(balance(&app, &mid, &own.id), before - 50_000);

    // One receipt text to the client's phone: merchant, method, amount, what is still owed.
    let texts = receipts(&app, &own.phone).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    let body = &texts[0];
    for needle in [
        DEMO_MERCHANT_NAME,
        "수금 영수증",
        "현금",
        "50,000원",
        "남은 미수금",
        own.name.as_str(),
    ] {
        assert!(body.contains(needle), "{needle:?} not in {body}");
    }

    // Devices pull the collection and its ledger entry.
    let page: SyncPage = app
        .get("/v1/sync?limit=5000", &rep.access_token)
        .await
        .json()
        .await
        .unwrap();
    let pulled = page.changes.iter().find_map(|ch| match &ch.data {
        ChangeData::Collection(x) if x.id == collection_id => Some(x.clone()),
        _ => None,
    });
    assert_eq!(pulled.as_ref(), Some(&c));
    let entries: Vec<_> = page
        .changes
        .iter()
        .filter_map(|ch| match &ch.data {
            ChangeData::Ledger(l) if l.ref_id.as_deref() == Some(collection_id.as_str()) => {
                Some(l.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].kind, LedgerKind::Collection);
    assert_eq!(entries[0].amount, -50_000);
    assert!(entries[0].memo.contains("현금 수금"), "{}", entries[0].memo);

    // Another rep of the merchant does not get this rep's collection.
    let rep2 = login(&app, "rep2", "demo1234").await;
    let page2: SyncPage = app
        .get("/v1/sync?limit=5000", &rep2.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(!page2
        .changes
        .iter()
        .any(|ch| matches!(&ch.data, ChangeData::Collection(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_collection_keeps_its_note_and_names_it_in_the_receipt() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let (own, _) = own_and_other(&app, &rep).await;
    let today = fieldpay_protocol::time::kst_today(chrono::Utc::now());
    let due = (today + chrono::Duration::days(90))
        .format("%Y-%m-%d")
        .to_string();
    let note =
        json!({ "note": { "number": "AB-20261204", "issuer_bank": "국민은행", "due_date": due } });
    let res = push(
        &app,
        &rep.access_token,
        json!([{ "client_id": id(), "op": record(&id(), &own.id, "note", 1_200_000, note) }]),
    )
    .await;
    let c = applied(&res.results[0].outcome);
    assert_eq!(c.method, CollectionMethod::Note);
    let n = c.note.expect("the note");
    assert_eq!(
        (
            n.number.as_str(),
            n.issuer_bank.as_str(),
            n.due_date.as_str()
        ),
        ("AB-20261204", "국민은행", due.as_str())
    );
    let texts = receipts(&app, &own.phone).await;
    assert_eq!(texts.len(), 1);
    for needle in [
        "어음",
        "1,200,000원",
        "AB-20261204",
        "국민은행",
        due.as_str(),
    ] {
        assert!(texts[0].contains(needle), "{needle:?} not in {}", texts[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_collections_are_refused_with_a_typed_error_and_store_nothing() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let mid = rep.rep.merchant_id.clone();
    let (own, other) = own_and_other(&app, &rep).await;
    // A closed account of the rep.
    let closed = accounts(&app)
        .await
        .into_iter()
        .find(|a| a.rep_id.as_deref() == Some(rep.rep.id.as_str()) && a.id != own.id)
        .unwrap();
    app.exec_sql(&format!(
        "UPDATE accounts SET closed = TRUE WHERE id = '{}'",
        closed.id
    ))
    .await;
    let before = balance(&app, &mid, &own.id);
    let future = fieldpay_protocol::time::ts(chrono::Utc::now() + chrono::Duration::hours(3));
    let today = fieldpay_protocol::time::kst_today(chrono::Utc::now());
    let day = |d: i64| {
        (today + chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    let note = |due: &str| json!({ "note": { "number": "N-1", "issuer_bank": "신한은행", "due_date": due } });
    let cases: Vec<(Value, ErrorCode)> = vec![
        (
            record(&id(), &own.id, "cash", 0, json!({})),
            ErrorCode::InvalidAmount,
        ),
        (
            record(&id(), &own.id, "cash", -5_000, json!({})),
            ErrorCode::InvalidAmount,
        ),
        (
            record(&id(), &own.id, "transfer", 100_000_001, json!({})),
            ErrorCode::InvalidAmount,
        ),
        (
            record(&id(), &own.id, "note", 10_000, json!({})),
            ErrorCode::InvalidField,
        ),
        (
            record(&id(), &own.id, "note", 10_000, note("2026-02-30")),
            ErrorCode::InvalidField,
        ),
        (
            record(&id(), &own.id, "note", 10_000, note(&day(-1))),
            ErrorCode::InvalidField,
        ),
        (
            record(&id(), &own.id, "note", 10_000, note(&day(400))),
            ErrorCode::InvalidField,
        ),
        (
            record(&id(), &own.id, "cash", 10_000, note(&day(30))),
            ErrorCode::InvalidField,
        ),
        (
            record(
                &id(),
                &own.id,
                "cash",
                10_000,
                json!({ "memo": "가".repeat(201) }),
            ),
            ErrorCode::InvalidField,
        ),
        (
            record(
                &id(),
                &own.id,
                "cash",
                10_000,
                json!({ "collected_at": future }),
            ),
            ErrorCode::InvalidField,
        ),
        (
            record(
                &id(),
                &own.id,
                "cash",
                10_000,
                json!({ "collected_at": "yesterday" }),
            ),
            ErrorCode::InvalidField,
        ),
        (
            record("short", &own.id, "cash", 10_000, json!({})),
            ErrorCode::InvalidField,
        ),
        (
            record(&id(), "acc_nope", "cash", 10_000, json!({})),
            ErrorCode::NotFound,
        ),
        (
            record(&id(), &closed.id, "cash", 10_000, json!({})),
            ErrorCode::AccountClosed,
        ),
        (
            record(&id(), &other.id, "cash", 10_000, json!({})),
            ErrorCode::Forbidden,
        ),
    ];
    for (op, code) in &cases {
        let res = push(
            &app,
            &rep.access_token,
            json!([{ "client_id": id(), "op": op }]),
        )
        .await;
        match &res.results[0].outcome {
            MutationOutcome::Rejected { error } => {
                assert_eq!(error.code, *code, "{op}: {}", error.message);
                assert!(!error.message.is_empty());
            }
            other => panic!("{op} was not refused: {other:?}"),
        }
    }
    // An unknown method is a malformed push (the whole body is refused).
    let r = app
        .post_json(
            "/v1/mutations",
            &rep.access_token,
            &json!({ "mutations": [{ "client_id": id(), "op": record(&id(), &own.id, "gold", 1, json!({})) }] }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let stored = app
        .store()
        .collections(&MerchantId::new(mid.as_str()), None, 100)
        .unwrap();
    assert!(stored.is_empty(), "{stored:?}");
    assert_eq!(balance(&app, &mid, &own.id), before);
    assert!(receipts(&app, &own.phone).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_voids_a_collection_with_an_offsetting_entry_once() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let manager = login(&app, "manager", "demo1234").await;
    let mid = rep.rep.merchant_id.clone();
    let (own, _) = own_and_other(&app, &rep).await;
    let before = balance(&app, &mid, &own.id);
    let collection_id = id();
    let res = push(
        &app,
        &rep.access_token,
        json!([{ "client_id": id(), "op": record(&collection_id, &own.id, "transfer", 30_000, json!({})) }]),
    )
    .await;
    applied(&res.results[0].outcome);
    assert_eq!(balance(&app, &mid, &own.id), before - 30_000);
    let path = format!("/v1/manager/collections/{collection_id}/void");
    let body = json!({ "reason": "이중 입력" });

    // A rep and an API key are refused; a manager needs a reason.
    let (status, code, _) = api_error(app.post_json(&path, &rep.access_token, &body).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (status, _, _) = api_error(app.post_json(&path, DEMO_API_KEY, &body).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in [
        json!({ "reason": "  " }),
        json!({}),
        json!({ "reason": "x".repeat(201) }),
    ] {
        let (status, _, _) =
            api_error(app.post_json(&path, &manager.access_token, &bad).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (status, _, _) = api_error(
        app.post_json(
            "/v1/manager/collections/nope12345/void",
            &manager.access_token,
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(balance(&app, &mid, &own.id), before - 30_000);

    let r = app.post_json(&path, &manager.access_token, &body).await;
    assert_eq!(r.status(), StatusCode::OK);
    let voided: Collection = r.json().await.unwrap();
    let v = voided.voided.as_ref().expect("voided");
    assert_eq!(v.reason, "이중 입력");
    assert_eq!(v.by, manager.rep.id);
    assert_eq!(balance(&app, &mid, &own.id), before);

    // Twice: 409, nothing more booked.
    let (status, code, _) =
        api_error(app.post_json(&path, &manager.access_token, &body).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::CONFLICT, "conflict"));
    assert_eq!(balance(&app, &mid, &own.id), before);

    // The ledger keeps both entries; the void is audited; the rep's device pulls the voided
    // collection.
    let page: SyncPage = app
        .get("/v1/sync?limit=5000", &rep.access_token)
        .await
        .json()
        .await
        .unwrap();
    let mut kinds: Vec<(LedgerKind, i64)> = page
        .changes
        .iter()
        .filter_map(|ch| match &ch.data {
            ChangeData::Ledger(l) if l.ref_id.as_deref() == Some(collection_id.as_str()) => {
                Some((l.kind, l.amount))
            }
            _ => None,
        })
        .collect();
    kinds.sort_by_key(|k| k.1);
    assert_eq!(
        kinds,
        vec![
            (LedgerKind::Collection, -30_000),
            (LedgerKind::CollectionVoid, 30_000)
        ]
    );
    let pulled = page.changes.iter().find_map(|ch| match &ch.data {
        ChangeData::Collection(x) if x.id == collection_id => Some(x.clone()),
        _ => None,
    });
    assert_eq!(pulled, Some(voided.clone()));
    let audit = app
        .store()
        .audit(Some(&MerchantId::new(mid.as_str())), 20)
        .unwrap();
    let row = audit
        .iter()
        .find(|a| a.action == "collection.void")
        .expect("an audit row");
    assert_eq!(row.actor, format!("manager:{}", manager.rep.id));
    assert!(
        row.detail.to_string().contains(&collection_id),
        "{:?}",
        row.detail
    );

    // Another merchant's manager does not find it.
    app.merchant_with_rep("b", &["16009991"], "brep").await;
    let store = app.store();
    let b = store.merchant_by_code("b").unwrap().unwrap();
    let hash = fieldpay_server::auth::hash_password(&"b-secret-1".into()).unwrap();
    store
        .create_rep(&b.id, "bmgr", "김다른", &hash, Role::Manager)
        .unwrap();
    let b_manager = crate::helpers::login_at(&app, "b", "bmgr", "b-secret-1").await;
    let (status, _, _) =
        api_error(app.post_json(&path, &b_manager.access_token, &body).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
