//! Collections (현금·계좌이체·어음 수금) on the device: recorded offline, the client's balance
//! drops at once (pending until the server's ledger has it), sent once when the server is
//! back, refused ones kept as problems; a manager's void reaches the rep's device.

use chrono::Utc;
use fieldpay_protocol::app::{CollectionForm, SyncState};
use fieldpay_protocol::collection::{CollectionMethod, PromissoryNote};
use fieldpay_protocol::records::{Account, LedgerKind};
use fieldpay_protocol::{AccountId, ErrorCode, MerchantId};

use crate::harness::*;

/// An open account of the signed-in rep (with a mobile phone when `mobile`).
pub fn own_account(e: &fieldpay_core::Engine, mobile: bool) -> Account {
    let me = e.session().unwrap().id;
    e.search_accounts("약", 100)
        .unwrap()
        .into_iter()
        .map(|h| h.account)
        .find(|a| {
            a.rep_id.as_deref() == Some(me.as_str())
                && !a.closed
                && (!mobile || a.phone.starts_with("010"))
        })
        .expect("an account of the rep")
}

pub fn cash(account: &str, amount: i64) -> CollectionForm {
    CollectionForm {
        account_id: account.into(),
        method: CollectionMethod::Cash,
        amount,
        memo: "현장 수금".into(),
        note: None,
    }
}

pub fn server_balance(server: &Server, account: &str) -> i64 {
    let store = server.state().store.clone();
    let m = store.merchant_by_code("demo").unwrap().unwrap();
    store.balance(&m.id, &AccountId::new(account)).unwrap()
}

pub fn server_collections(server: &Server) -> Vec<fieldpay_protocol::collection::Collection> {
    let store = server.state().store.clone();
    let m = store.merchant_by_code("demo").unwrap().unwrap();
    store
        .collections(&MerchantId::new(m.id.as_str()), None, 10_000)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_offline_the_balance_drops_at_once_and_the_server_books_it_once() {
    let mut server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    e.sync_now().await.unwrap();
    let account = own_account(&e, true);
    let today = Utc::now().date_naive();
    let before = e.account_detail(&account.id, today).unwrap().balance;
    assert_eq!(before, server_balance(&server, &account.id));

    server.stop().await;
    let c = e
        .record_collection(&cash(&account.id, 45_000), Utc::now())
        .unwrap();
    assert_eq!(c.sync_state, SyncState::Queued);
    let due = (fieldpay_protocol::time::kst_today(Utc::now()) + chrono::Duration::days(60))
        .format("%Y-%m-%d")
        .to_string();
    let note = e
        .record_collection(
            &CollectionForm {
                account_id: account.id.clone(),
                method: CollectionMethod::Note,
                amount: 500_000,
                memo: String::new(),
                note: Some(PromissoryNote {
                    number: "AB-777".into(),
                    issuer_bank: "우리은행".into(),
                    due_date: due,
                }),
            },
            Utc::now(),
        )
        .unwrap();
    // Offline: the balance drops at once, marked pending.
    let d = e.account_detail(&account.id, today).unwrap();
    assert_eq!(d.balance, before - 545_000);
    assert_eq!(d.pending_collected, 545_000);
    assert_eq!(d.collections.len(), 2);
    assert!(d
        .collections
        .iter()
        .all(|c| c.sync_state == SyncState::Queued));
    assert!(e.sync_now().await.is_err());
    assert_eq!(e.status().queued, 2);

    // Bad input is refused on the device with the server's own rules; nothing queued.
    for (form, code) in [
        (cash(&account.id, 0), ErrorCode::InvalidAmount),
        (cash(&account.id, 100_000_001), ErrorCode::InvalidAmount),
        (
            CollectionForm {
                method: CollectionMethod::Note,
                ..cash(&account.id, 1_000)
            },
            ErrorCode::InvalidField,
        ),
    ] {
        let err = e.record_collection(&form, Utc::now()).unwrap_err();
        assert_eq!(err.to_api().code, code, "{form:?}");
    }
    assert_eq!(e.status().queued, 2);

    server.restart().await;
    settle(&e, 20).await;
    settle(&e, 2).await;
    let on_server = server_collections(&server);
    assert_eq!(on_server.len(), 2, "{on_server:?}");
    assert!(on_server.iter().any(|s| s.id == c.collection.id));
    assert!(on_server.iter().any(|s| s.id == note.collection.id));
    let d = e.account_detail(&account.id, today).unwrap();
    assert_eq!(d.pending_collected, 0);
    assert_eq!(d.balance, before - 545_000);
    assert_eq!(d.balance, server_balance(&server, &account.id));
    assert!(d
        .collections
        .iter()
        .all(|c| c.sync_state == SyncState::Synced));
    let entries: Vec<_> = d
        .ledger
        .iter()
        .filter(|l| l.kind == LedgerKind::Collection)
        .collect();
    assert_eq!(entries.len(), 2, "{:?}", d.ledger);
    assert_eq!(
        e.collections_for(&account.id).unwrap()[0].collection.id,
        note.collection.id
    );
    assert!(e.problems().unwrap().is_empty());
}

/// Another rep's client is not on a rep's device (the sync scope): a collection for it is
/// refused on the device with a typed error, and nothing is queued or sent. (The server's own
/// refusal of such a collection is in the server's integration tests.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_reps_account_is_not_on_the_device_and_cannot_be_collected() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    e.sync_now().await.unwrap();
    let me = e.session().unwrap().id;
    let theirs = e
        .search_server_accounts("약", 100)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.account)
        .find(|a| a.rep_id.is_some() && a.rep_id.as_deref() != Some(me.as_str()))
        .unwrap();
    assert!(e
        .account_detail(&theirs.id, Utc::now().date_naive())
        .is_err());
    let err = e
        .record_collection(&cash(&theirs.id, 9_000), Utc::now())
        .unwrap_err();
    assert_eq!(err.to_api().code, ErrorCode::NotFound);
    assert_eq!(e.status().queued, 0);
    e.sync_now().await.unwrap();
    assert!(e.problems().unwrap().is_empty());
    assert!(server_collections(&server).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managers_void_reaches_the_reps_device() {
    let server = Server::start().await;
    let rep_dir = tempfile::tempdir().unwrap();
    let mgr_dir = tempfile::tempdir().unwrap();
    let rep = signed_in(rep_dir.path(), &server.base).await;
    rep.sync_now().await.unwrap();
    let account = own_account(&rep, false);
    let today = Utc::now().date_naive();
    let before = rep.account_detail(&account.id, today).unwrap().balance;
    let c = rep
        .record_collection(
            &CollectionForm {
                method: CollectionMethod::Transfer,
                ..cash(&account.id, 70_000)
            },
            Utc::now(),
        )
        .unwrap();
    settle(&rep, 20).await;

    // A rep cannot void (the server refuses).
    let err = rep
        .void_collection(&c.collection.id, "실수")
        .await
        .unwrap_err();
    assert_eq!(err.to_api().code, ErrorCode::Forbidden);

    let mgr = signed_in_as(mgr_dir.path(), &server.base, "manager").await;
    mgr.sync_now().await.unwrap();
    let err = mgr
        .void_collection(&c.collection.id, " ")
        .await
        .unwrap_err();
    assert_eq!(err.to_api().code, ErrorCode::InvalidField);
    let v = mgr
        .void_collection(&c.collection.id, "이중 입력")
        .await
        .unwrap();
    assert_eq!(
        v.collection.voided.as_ref().map(|x| x.reason.as_str()),
        Some("이중 입력")
    );
    let err = mgr
        .void_collection(&c.collection.id, "이중 입력")
        .await
        .unwrap_err();
    assert_eq!(err.to_api().code, ErrorCode::Conflict);

    rep.sync_now().await.unwrap();
    let d = rep.account_detail(&account.id, today).unwrap();
    assert_eq!(d.balance, before);
    assert_eq!(d.balance, server_balance(&server, &account.id));
    let local = rep.collection(&c.collection.id).unwrap();
    assert!(local.collection.voided.is_some());
    assert!(d
        .ledger
        .iter()
        .any(|l| l.kind == LedgerKind::CollectionVoid));
}
