//! Crashes: a child process (this test binary re-run in "child" mode) is killed with SIGKILL
//! right after a local write, before any push; and in the middle of applying a pull page.
//! After a restart the device converges with the server, with nothing lost or doubled.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use fieldpay_core::client::ServerClient;
use fieldpay_core::db::Db;
use fieldpay_protocol::app::SyncState;
use fieldpay_protocol::charge::ChargeList;
use fieldpay_protocol::records::OrderStatus;

use crate::harness::*;

const CHILD_ENV: &str = "FIELDPAY_CRASH_CHILD";
const READY: &str = "CRASH-CHILD-READY";

/// Runs this test binary's `crash_child` in a child process; returns it once it printed
/// the ready mark.
fn spawn_child(mode: &str, dir: &Path, url: &str) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "crash::crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .env("FIELDPAY_CRASH_DIR", dir)
        .env("FIELDPAY_CRASH_URL", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains(READY) => break,
            Some(Ok(_)) => continue,
            other => panic!("child ended before it was ready: {other:?}"),
        }
    }
    child
}

fn kill9(mut child: Child) {
    // SIGKILL: no destructor, no flush, no rollback by the process.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
}

/// The child side. Ignored unless run by `spawn_child`.
#[test]
#[ignore]
fn crash_child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = std::path::PathBuf::from(std::env::var("FIELDPAY_CRASH_DIR").unwrap());
    let url = std::env::var("FIELDPAY_CRASH_URL").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        match mode.as_str() {
            "local-write" => {
                // Offline work written locally; the process dies before pushing.
                let e = engine_at(&dir, &url);
                let account = e.search_accounts("익수약국", 1).unwrap().remove(0).account;
                order(&e, &account.id, 3);
                let input = charge_input(Some(account.id.clone()), 44_000, "010-9191-9292");
                e.request_charge(&input, Utc::now()).unwrap();
                println!("{READY}");
            }
            "collection-write" => {
                // A collection recorded offline; the process dies before pushing.
                let e = engine_at(&dir, &url);
                let account = crate::collections::own_account(&e, true);
                e.record_collection(&crate::collections::cash(&account.id, 33_000), Utc::now())
                    .unwrap();
                println!("{READY}");
            }
            "return-write" => {
                // A return signed offline; the process dies before pushing.
                let e = engine_at(&dir, &url);
                let original = e
                    .orders(None, 50)
                    .unwrap()
                    .into_iter()
                    .find(|o| o.order.status == OrderStatus::Registered)
                    .unwrap();
                crate::returns::return_one(&e, &original.order.id, 3);
                println!("{READY}");
            }
            "visit-write" => {
                // A check-in and its check-out written offline; the process dies before
                // pushing.
                let e = engine_at(&dir, &url);
                let me = e.session().unwrap();
                let account = e
                    .search_accounts("약", 100)
                    .unwrap()
                    .into_iter()
                    .map(|a| a.account)
                    .find(|a| a.rep_id.as_ref().is_none_or(|r| *r == me.id))
                    .unwrap();
                let v = e
                    .check_in(&account.id, "크래시 전 방문", None, Utc::now())
                    .unwrap();
                e.check_out(&v.visit.id, Utc::now()).unwrap();
                println!("{READY}");
            }
            "pull-page" => {
                // Applies a big pull page slowly; dies in the middle.
                let db = Db::open(&dir.join("fieldpay-device.db")).unwrap();
                let client = ServerClient::new(&url, config(&dir, &url).credentials()).unwrap();
                let page = client.pull(db.cursor().unwrap(), 5000).await.unwrap();
                assert!(page.changes.len() > 100);
                db.apply_page_with(&page, &mut |i| {
                    if i == 100 {
                        println!("{READY}");
                    }
                    if i >= 100 {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                })
                .unwrap();
            }
            other => panic!("unknown mode {other}"),
        }
        std::thread::sleep(Duration::from_secs(120));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_local_write_converges_exactly_once() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    e.sync_now().await.unwrap();
    drop(e);
    let child = spawn_child("local-write", dir.path(), &server.base);
    kill9(child);
    // Restart: the queued work is still there and goes out once.
    let e = engine_at(dir.path(), &server.base);
    assert_eq!(e.status().queued, 4, "{:?}", e.status());
    assert!(
        e.status().last_sync.is_some(),
        "the last sync time survives a restart"
    );
    settle(&e, 20).await;
    settle(&e, 2).await;
    let list: ChargeList = server
        .api_get("/v1/charges?payer_phone=010-9191-9292")
        .await;
    assert_eq!(list.items.len(), 1);
    let orders = e.orders(None, 10).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order.status, OrderStatus::Registered);
    assert_eq!(orders[0].sync_state, SyncState::Synced);
    // Registered under the number signed before the crash; the next one follows it.
    let first = orders[0].order.number.clone().unwrap();
    assert!(first.ends_with("-R01-0001"), "{first}");
    let account = e.search_accounts("익수약국", 1).unwrap().remove(0).account;
    let next = order(&e, &account.id, 1);
    let second = e.order(&next).unwrap().order.number.unwrap();
    assert_eq!(second, format!("{}0002", &first[..first.len() - 4]));
    settle(&e, 20).await;
    let s: fieldpay_protocol::records::Order = server.api_get(&format!("/v1/orders/{next}")).await;
    assert_eq!(s.number, Some(second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_in_the_middle_of_a_pull_page_applies_nothing_of_it() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Signed in, nothing pulled yet.
    let e = signed_in(dir.path(), &server.base).await;
    drop(e);
    let child = spawn_child("pull-page", dir.path(), &server.base);
    kill9(child);
    let db = Db::open(&dir.path().join("fieldpay-device.db")).unwrap();
    assert_eq!(db.cursor().unwrap(), 0, "the cursor did not move");
    assert_eq!(
        db.accounts().unwrap().len(),
        0,
        "no part of the page is visible"
    );
    drop(db);
    let e = engine_at(dir.path(), &server.base);
    e.sync_now().await.unwrap();
    // rep1's half of the demo's 50 clients.
    assert_eq!(e.search_accounts("약", 100).unwrap().len(), 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_recording_a_collection_books_it_exactly_once() {
    use crate::collections::{own_account, server_balance, server_collections};
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    e.sync_now().await.unwrap();
    let account = own_account(&e, true);
    let today = Utc::now().date_naive();
    let before = e.account_detail(&account.id, today).unwrap().balance;
    drop(e);
    let child = spawn_child("collection-write", dir.path(), &server.base);
    kill9(child);
    // Restart: the collection is still there, pending, and goes out once.
    let e = engine_at(dir.path(), &server.base);
    assert_eq!(e.status().queued, 1, "{:?}", e.status());
    let d = e.account_detail(&account.id, today).unwrap();
    assert_eq!((d.balance, d.pending_collected), (before - 33_000, 33_000));
    settle(&e, 20).await;
    settle(&e, 2).await;
    let on_server = server_collections(&server);
    assert_eq!(on_server.len(), 1, "{on_server:?}");
    assert_eq!(server_balance(&server, &account.id), before - 33_000);
    let d = e.account_detail(&account.id, today).unwrap();
    assert_eq!((d.balance, d.pending_collected), (before - 33_000, 0));
    assert_eq!(d.collections[0].sync_state, SyncState::Synced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_signing_a_return_registers_it_exactly_once() {
    use crate::collections::server_balance;
    use fieldpay_protocol::records::{LedgerKind, OrderKind};
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    e.sync_now().await.unwrap();
    let (account, original) = crate::returns::registered_order(&e, 4).await;
    let today = Utc::now().date_naive();
    let before = e.account_detail(&account, today).unwrap().balance;
    let unit = original.order.lines[0].unit_price;
    drop(e);
    let child = spawn_child("return-write", dir.path(), &server.base);
    kill9(child);
    // Restart: the signed return is still there, queued, and goes out once.
    let e = engine_at(dir.path(), &server.base);
    assert!(e.status().queued >= 1, "{:?}", e.status());
    let r = e
        .orders(Some(&account), 50)
        .unwrap()
        .into_iter()
        .find(|o| o.order.kind == OrderKind::Return)
        .expect("the return survived the kill");
    assert_eq!(r.sync_state, SyncState::Queued);
    settle(&e, 20).await;
    e.sync_now().await.unwrap();
    let total = fieldpay_protocol::records::OrderTotals::from_supply(3 * unit).total;
    assert_eq!(server_balance(&server, &account), before - total);
    let d = e.account_detail(&account, today).unwrap();
    assert_eq!(d.balance, before - total);
    assert_eq!(
        d.ledger
            .iter()
            .filter(|l| l.kind == LedgerKind::Return)
            .count(),
        1
    );
    let r = e.order(&r.order.id).unwrap();
    assert_eq!(
        (r.order.status, r.sync_state),
        (OrderStatus::Registered, SyncState::Synced)
    );
    assert!(r.order.number.unwrap().starts_with("RT-"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_written_before_a_kill_reaches_the_server_once() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    e.sync_now().await.unwrap();
    drop(e);
    let child = spawn_child("visit-write", dir.path(), &server.base);
    kill9(child);
    let e = engine_at(dir.path(), &server.base);
    assert_eq!(e.status().queued, 2, "{:?}", e.status());
    let route = e.today_route(Utc::now()).unwrap();
    assert_eq!(route.visits.len(), 1);
    assert_eq!(route.visits[0].sync_state, SyncState::Queued);
    settle(&e, 20).await;
    // Pushed again after the restart (and once more for good measure): one visit.
    e.sync_now().await.unwrap();
    let me = e.session().unwrap();
    let now = Utc::now();
    let stored = server
        .state()
        .store
        .visits(
            &fieldpay_protocol::MerchantId::new(me.merchant_id.clone()),
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(1),
            None,
        )
        .unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].note, "크래시 전 방문");
    assert!(stored[0].checked_out_at.is_some());
    let route = e.today_route(Utc::now()).unwrap();
    assert_eq!(route.visits[0].sync_state, SyncState::Synced);
    assert_eq!(route.visits[0].visit.id, stored[0].id);
    assert_eq!(e.status().queued, 0);
}
