use std::time::Duration;

use chrono::Utc;
use fieldpay_protocol::app::{EngineEvent, PdfDoc, SyncState};
use fieldpay_protocol::charge::{Charge, ChargeList, ChargeStatus};
use fieldpay_protocol::records::OrderStatus;
use fieldpay_protocol::ErrorCode;
use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_and_delta_sync_then_search() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    // The manager's device: it receives every charge of the merchant, those of API clients
    // too (a rep's device gets the rep's own only).
    let e = signed_in_as(dir.path(), &server.base, "manager").await;
    assert_eq!(
        e.search_accounts("익수", 10).unwrap().len(),
        0,
        "nothing before the first sync"
    );
    let s = e.sync_now().await.unwrap();
    assert!(s.online && s.queued == 0 && s.last_sync.is_some(), "{s:?}");
    // Initial consonants, mixed input, phone digits, business number.
    let hits = e.search_accounts("ㅇㅅㅈㅇ", 10).unwrap();
    assert_eq!(hits[0].account.name, "익수제약", "{hits:?}");
    let hits = e.search_accounts("익수ㅈ", 10).unwrap();
    assert_eq!(hits[0].account.name, "익수제약");
    let a = hits[0].account.clone();
    let tail = &a.phone[a.phone.len() - 4..];
    assert!(e
        .search_accounts(tail, 50)
        .unwrap()
        .iter()
        .any(|h| h.account.id == a.id));
    assert!(e
        .search_accounts(&a.business_number[..6], 50)
        .unwrap()
        .iter()
        .any(|h| h.account.id == a.id));
    // Balances came with the ledger.
    let rich = e.search_accounts("약국", 50).unwrap();
    assert!(rich.iter().any(|h| h.balance > 0));

    // Delta: a charge made through the API reaches the device on the next sync.
    let r = server
        .http()
        .post(format!("{}/v1/charges", server.base))
        .bearer_auth(KEY)
        .json(&json!({"amount": 12000, "goods_name": "박카스", "payer_phone": "010-3333-4444", "account_id": a.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let c: Charge = r.json().await.unwrap();
    e.sync_now().await.unwrap();
    let local = e.charge(&c.id).unwrap();
    assert_eq!(local.sync_state, SyncState::Synced);
    let detail = e.account_detail(&a.id, Utc::now().date_naive()).unwrap();
    assert!(detail.recent_charges.iter().any(|x| x.charge.id == c.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_order_and_charge_reach_the_server_exactly_once() {
    let mut server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    e.sync_now().await.unwrap();
    let account = e.search_accounts("익수약국", 1).unwrap().remove(0).account;
    let before = e
        .account_detail(&account.id, Utc::now().date_naive())
        .unwrap()
        .balance;

    server.stop().await;
    let order_id = order(&e, &account.id, 2);
    let ch = e
        .request_charge(
            &charge_input(Some(account.id.clone()), 33_000, "010-2020-3030"),
            Utc::now(),
        )
        .unwrap();
    assert_eq!(ch.charge.status, ChargeStatus::Queued);
    let err = e.sync_now().await.unwrap_err();
    assert!(
        matches!(err, fieldpay_core::CoreError::Offline(_)),
        "{err:?}"
    );
    let s = e.status();
    assert!(
        !s.online && s.queued == 4,
        "3 order actions + 1 charge: {s:?}"
    );
    assert_eq!(e.order(&order_id).unwrap().sync_state, SyncState::Queued);

    server.restart().await;
    settle(&e, 20).await;
    let o = e.order(&order_id).unwrap();
    assert_eq!(o.order.status, OrderStatus::Registered, "{o:?}");
    assert_eq!(o.sync_state, SyncState::Synced);
    assert!(o.order.number.as_deref().unwrap().starts_with("PO-"));
    let local = e.charge(&ch.charge.id).unwrap();
    assert!(
        local.charge.status != ChargeStatus::Queued && local.charge.virtual_number.is_some(),
        "{local:?}"
    );

    // Exactly once on the server.
    let list: ChargeList = server
        .api_get("/v1/charges?payer_phone=010-2020-3030")
        .await;
    assert_eq!(list.items.len(), 1);
    let server_order: fieldpay_protocol::records::Order =
        server.api_get(&format!("/v1/orders/{order_id}")).await;
    assert_eq!(server_order.status, OrderStatus::Registered);
    assert!(server_order.has_pdf && server_order.has_signature_image);
    let acc: serde_json::Value = server
        .api_get(&format!("/v1/accounts/{}", account.id))
        .await;
    assert_eq!(
        acc["balance"].as_i64().unwrap(),
        before + o.order.totals.total
    );
    let local_balance = e
        .account_detail(&account.id, Utc::now().date_naive())
        .unwrap()
        .balance;
    assert_eq!(
        local_balance,
        before + o.order.totals.total,
        "the device pulled the ledger entry"
    );
    // Syncing again changes nothing.
    e.sync_now().await.unwrap();
    let list: ChargeList = server
        .api_get("/v1/charges?payer_phone=010-2020-3030")
        .await;
    assert_eq!(list.items.len(), 1);
    // The PDF is kept on the device too.
    assert!(e.order_pdf(&order_id).unwrap().starts_with(b"%PDF"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejection_is_kept_as_a_problem_and_does_not_block_others() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    e.sync_now().await.unwrap();
    let account = e.search_accounts("익수약국", 1).unwrap().remove(0).account;
    // Another device takes the account's whole credit on the server first.
    let detail = e
        .account_detail(&account.id, Utc::now().date_naive())
        .unwrap();
    let store = server.state().store.clone();
    let m = store.merchant_by_code("demo").unwrap().unwrap();
    store
        .add_ledger(
            &m.id,
            &fieldpay_server::store::NewLedger {
                account_id: account.id.as_str().into(),
                kind: fieldpay_protocol::records::LedgerKind::Adjustment,
                amount: detail.credit_available,
                ref_id: None,
                memo: "other device".into(),
                at: Utc::now(),
            },
        )
        .unwrap();
    // This device still believes there is room.
    let order_id = order(&e, &account.id, 1);
    let ch = e
        .request_charge(&charge_input(None, 5_000, "010-5050-6060"), Utc::now())
        .unwrap();
    e.sync_now().await.unwrap();
    let problems = e.problems().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].error.code, ErrorCode::CreditLimitExceeded);
    assert_eq!(problems[0].action, "submit_order");
    assert!(problems[0].error.message.contains("한도"));
    let o = e.order(&order_id).unwrap();
    assert_eq!(o.sync_state, SyncState::Rejected);
    assert!(o.order.reject_reason.is_some());
    // The unrelated charge went through.
    assert_ne!(
        e.charge(&ch.charge.id).unwrap().charge.status,
        ChargeStatus::Queued
    );
    assert_eq!(e.status().problems, 1);
    // Discarding turns the order back into a local draft.
    e.discard_problem(&problems[0].client_id).unwrap();
    assert!(e.problems().unwrap().is_empty());
    assert_eq!(e.order(&order_id).unwrap().sync_state, SyncState::Local);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_locally_and_nothing_is_queued() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    e.sync_now().await.unwrap();
    let account = e.search_accounts("익수약국", 1).unwrap().remove(0).account;
    for (phone, amount, code) in [
        ("02-123-4567", 1000, ErrorCode::InvalidPhone),
        ("010-1234", 1000, ErrorCode::InvalidPhone),
        ("010-1234-5678", 0, ErrorCode::InvalidAmount),
        ("010-1234-5678", 100_000_001, ErrorCode::InvalidAmount),
    ] {
        let err = e
            .request_charge(&charge_input(None, amount, phone), Utc::now())
            .unwrap_err();
        assert_eq!(err.to_api().code, code, "{phone} {amount}: {err}");
    }
    let err = e
        .save_draft(&draft(&account.id, vec![]), Utc::now())
        .unwrap_err();
    assert_eq!(err.to_api().code, ErrorCode::InvalidField);
    assert_eq!(e.status().queued, 0);
    assert!(e.charges(None, 10).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_status_arrives_while_online() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    let mut events = e.subscribe();
    let handle = e.start();
    let ch = e
        .request_charge(&charge_input(None, 21_000, "010-7070-8080"), Utc::now())
        .unwrap();
    // The sync loop sends it; wait for its virtual number.
    let mut vn = None;
    for _ in 0..100 {
        let c = e.charge(&ch.charge.id).unwrap().charge;
        if let Some(v) = c.virtual_number {
            vn = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let vn = vn.expect("charge registered by the sync loop");
    // The payer pays on the sandbox phone.
    let http = server.http();
    let t: serde_json::Value = http
        .post(format!("{}/sandbox/calls", server.base))
        .json(&json!({"from": "010-7070-8080", "to": vn}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = t["call_id"].as_str().unwrap().to_string();
    for k in ["1", "9401000000000014#", "1230", "800101#", "12"] {
        http.post(format!("{}/sandbox/calls/{id}/input", server.base))
            .json(&json!({"digits": k}))
            .send()
            .await
            .unwrap();
    }
    let approved = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(EngineEvent::ChargeChanged(c))
                    if c.id == ch.charge.id && c.status == ChargeStatus::Approved =>
                {
                    return c
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await
    .expect("approved status arrives live");
    assert_eq!(approved.payment.unwrap().masked_card, "940100******0014");
    assert_eq!(
        e.charge(&ch.charge.id).unwrap().charge.status,
        ChargeStatus::Approved
    );
    handle.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_canceled_before_it_was_sent_never_reaches_the_payer() {
    let mut server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    e.sync_now().await.unwrap();
    server.stop().await;
    let ch = e
        .request_charge(&charge_input(None, 9_000, "010-4545-6767"), Utc::now())
        .unwrap();
    let c = e
        .cancel_charge(&ch.charge.id, Some("잘못 입력"), Utc::now())
        .unwrap();
    assert_eq!(c.charge.status, ChargeStatus::Canceled);
    assert_eq!(c.sync_state, SyncState::Local);
    assert_eq!(e.status().queued, 0);
    server.restart().await;
    e.sync_now().await.unwrap();
    let list: ChargeList = server
        .api_get("/v1/charges?payer_phone=010-4545-6767")
        .await;
    assert!(list.items.is_empty());
    // A charge that was sent is canceled through the server.
    let ch = e
        .request_charge(&charge_input(None, 9_000, "010-4545-6767"), Utc::now())
        .unwrap();
    e.sync_now().await.unwrap();
    e.cancel_charge(&ch.charge.id, None, Utc::now()).unwrap();
    e.sync_now().await.unwrap();
    assert_eq!(
        e.charge(&ch.charge.id).unwrap().charge.status,
        ChargeStatus::Canceled
    );
    let list: ChargeList = server
        .api_get("/v1/charges?payer_phone=010-4545-6767")
        .await;
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].status, ChargeStatus::Canceled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_refund_and_daily_closing_go_through_the_server() {
    let mut server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Refunds need the manager role: the manager's device.
    let e = signed_in_as(dir.path(), &server.base, "manager").await;
    let ch = e
        .request_charge(&charge_input(None, 15_000, "010-8181-8282"), Utc::now())
        .unwrap();
    e.sync_now().await.unwrap();
    e.resend_charge_sms(&ch.charge.id).await.unwrap();
    let store = server.state().store.clone();
    let mut bills = 0;
    for _ in 0..100 {
        bills = store
            .sms_for_phone("01081818282", 10)
            .unwrap()
            .iter()
            .filter(|s| s.kind == fieldpay_protocol::sms::SmsKind::Bill)
            .count();
        if bills == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(bills, 2, "the bill was texted again");
    // Paid on the sandbox phone, then refunded from the device.
    let vn = e
        .charge(&ch.charge.id)
        .unwrap()
        .charge
        .virtual_number
        .unwrap();
    let http = server.http();
    let t: serde_json::Value = http
        .post(format!("{}/sandbox/calls", server.base))
        .json(&json!({"from": "010-8181-8282", "to": vn}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = t["call_id"].as_str().unwrap().to_string();
    for k in ["1", "4579730000000013#", "1230", "800101#", "12"] {
        http.post(format!("{}/sandbox/calls/{id}/input", server.base))
            .json(&json!({"digits": k}))
            .send()
            .await
            .unwrap();
    }
    e.sync_now().await.unwrap();
    assert_eq!(
        e.charge(&ch.charge.id).unwrap().charge.status,
        ChargeStatus::Approved
    );
    // A plain rep's device is refused by the server (and nothing changes).
    let rep_dir = tempfile::tempdir().unwrap();
    let rep = signed_in(rep_dir.path(), &server.base).await;
    let refused = rep
        .refund_charge(&ch.charge.id, None, Some("고객 요청"))
        .await;
    assert_eq!(
        refused.map_err(|e| e.to_api().code).err(),
        Some(fieldpay_protocol::ErrorCode::Forbidden)
    );
    let r = e
        .refund_charge(&ch.charge.id, None, Some("고객 요청"))
        .await
        .unwrap();
    assert_eq!(r.charge.status, ChargeStatus::Refunded);
    let day = e.daily_closing(None, Utc::now()).await.unwrap();
    assert_eq!(day.settlement.total.approved_count, 1);
    assert_eq!(day.settlement.total.refunded_count, 1);
    assert_eq!(day.settlement.total.net_amount, 0);
    assert!(day
        .settlement
        .by_card_company
        .iter()
        .any(|r| r.name == "KB국민카드"));
    // This device's request of the day, by its status now.
    assert_eq!(day.by_status.len(), 1);
    assert_eq!(day.by_status[0].status, ChargeStatus::Refunded);
    assert_eq!(day.by_status[0].amount, 15_000);
    assert_eq!(
        e.daily_closing(Some("27-11-2026"), Utc::now())
            .await
            .unwrap_err()
            .to_api()
            .code,
        ErrorCode::InvalidField
    );
    // The closing as a PDF, saved under its date.
    let out = tempfile::tempdir().unwrap();
    let path = e
        .export_document(
            &PdfDoc::Closing {
                date: Some(day.date.clone()),
            },
            Utc::now(),
            out.path(),
        )
        .await
        .unwrap();
    assert_eq!(
        path.file_name().unwrap().to_string_lossy(),
        format!("일일마감-{}.pdf", day.date)
    );
    assert!(std::fs::read(&path).unwrap().starts_with(b"%PDF-1.5"));
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
    // Offline: a clear error, nothing changes.
    server.stop().await;
    let err = e.resend_charge_sms(&ch.charge.id).await.unwrap_err();
    assert_eq!(err.to_api().code, ErrorCode::Unavailable);
}

/// A sync of many pages (fetched ahead while the previous one is written; a first sync of
/// more than one page loads the ledger without its index and builds the search indexes from
/// the database at the end) leaves every account's kept balance equal to the server's, its
/// ledger complete, and every account searchable; entries added later (payments and refunds)
/// move the balances by a delta sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balances_after_a_sync_of_many_pages_match_the_server() {
    use fieldpay_protocol::records::LedgerKind;
    use fieldpay_server::store::NewLedger;

    let server = Server::start().await;
    let store = server.state().store.clone();
    let m = store.merchant_by_code("demo").unwrap().unwrap();
    let accounts = store.accounts(&m.id).unwrap();
    let kinds = [
        (LedgerKind::Order, 33_000),
        (LedgerKind::Payment, -21_000),
        (LedgerKind::Refund, 4_000),
        (LedgerKind::Adjustment, -1_500),
    ];
    let entries = |n: usize, salt: usize| -> Vec<NewLedger> {
        (0..n)
            .map(|i| {
                let (kind, amount) = kinds[(i + salt) % kinds.len()];
                NewLedger {
                    account_id: accounts[(i * 7 + salt) % accounts.len()].id.as_str().into(),
                    kind,
                    amount: amount + i as i64,
                    ref_id: None,
                    memo: format!("entry {i}"),
                    at: Utc::now() - chrono::Duration::minutes(i as i64),
                }
            })
            .collect()
    };
    // More than one page of changes (pages hold 20,000).
    let first = fieldpay_core::sync::PULL_PAGE as usize + 5_000;
    store.add_ledger_batch(&m.id, &entries(first, 0)).unwrap();

    // The manager's device: every account (a rep's keeps its own clients).
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in_as(dir.path(), &server.base, "manager").await;
    e.sync_now().await.unwrap();
    let today = Utc::now().date_naive();
    let check = |e: &fieldpay_core::Engine| {
        for a in &accounts {
            let want = store.balance(&m.id, &a.id.as_str().into()).unwrap();
            let detail = e.account_detail(&a.id, today).unwrap();
            assert_eq!(detail.balance, want, "balance of {}", a.code);
            let hit = e
                .search_accounts(&a.code, 50)
                .unwrap()
                .into_iter()
                .find(|h| h.account.id == a.id)
                .unwrap_or_else(|| panic!("{} is found by its code", a.code));
            assert_eq!(hit.balance, want, "search balance of {}", a.code);
        }
    };
    check(&e);
    let total: usize = accounts
        .iter()
        .map(|a| e.account_detail(&a.id, today).unwrap().ledger.len().min(50))
        .sum();
    assert!(total > 0);

    // Later entries, then a delta sync; a restart keeps the balances.
    store.add_ledger_batch(&m.id, &entries(300, 3)).unwrap();
    e.sync_now().await.unwrap();
    check(&e);
    drop(e);
    let e = engine_at(dir.path(), &server.base);
    check(&e);
}
