//! The sync scope through the engine and the real server: a rep's device keeps that rep's
//! clients (and unassigned ones) with their ledgers, finds the others by asking the server,
//! and follows a reassignment (the client and its whole ledger arrive on the new rep's device
//! and leave the old one's search, list and detail); a manager's device keeps everything.

use fieldpay_protocol::app::ClientSort;
use fieldpay_protocol::records::{Account, AccountWithBalance};
use fieldpay_server::demo;

use crate::harness::*;

/// Moves the demo account `code` to `rep_login`, as a CSV import does.
fn assign(server: &Server, code: &str, rep_login: &str) {
    demo::reassign(server.state().store.as_ref(), code, Some(rep_login)).unwrap();
}

fn listed(e: &fieldpay_core::Engine) -> Vec<String> {
    e.client_list(ClientSort::Name, 1000)
        .unwrap()
        .into_iter()
        .map(|a| a.account.id)
        .collect()
}

fn found(e: &fieldpay_core::Engine, name: &str) -> bool {
    e.search_accounts(name, 50)
        .unwrap()
        .iter()
        .any(|a| a.account.name == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_keeps_its_clients_finds_others_online_and_follows_a_reassignment() {
    let server = Server::start().await;
    let (d1, d2, dm) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let rep1 = signed_in_as(d1.path(), &server.base, "rep1").await;
    let rep2 = signed_in_as(d2.path(), &server.base, "rep2").await;
    let manager = signed_in_as(dm.path(), &server.base, "manager").await;
    for e in [&rep1, &rep2, &manager] {
        e.sync_now().await.unwrap();
    }
    let all: Vec<Account> = server.api_get("/v1/accounts").await;
    let rep1_id = rep1.session().unwrap().id;
    let own: Vec<&Account> = all
        .iter()
        .filter(|a| a.rep_id.as_deref() == Some(rep1_id.as_str()))
        .collect();
    assert_eq!(listed(&rep1).len(), own.len());
    assert_eq!(listed(&manager).len(), all.len());
    assert_eq!(listed(&rep1).len() + listed(&rep2).len(), all.len());

    // A client of rep1 with receivables moves to rep2; one of rep2's, with a distinct name,
    // moves to rep1.
    let leaving = own
        .iter()
        .find(|a| rep1.account_detail(&a.id, today()).unwrap().balance > 0)
        .copied()
        .cloned()
        .expect("a client of rep1 with receivables");
    let before = rep1.account_detail(&leaving.id, today()).unwrap();
    let names = |n: &str| all.iter().filter(|a| a.name == n).count();
    let coming = all
        .iter()
        .find(|a| a.rep_id.is_some() && a.rep_id != leaving.rep_id && names(&a.name) == 1)
        .cloned()
        .expect("a client of rep2 with a name of its own");
    assert!(!found(&rep1, &coming.name), "not on rep1's device yet");
    // Online, the server finds it, with its balance.
    let remote: Vec<AccountWithBalance> =
        rep1.search_server_accounts(&coming.name, 20).await.unwrap();
    let hit = remote
        .iter()
        .find(|a| a.account.id == coming.id)
        .expect("the server finds another rep's client");
    let coming_balance = hit.balance;

    assign(&server, &leaving.code, "rep2");
    assign(&server, &coming.code, "rep1");
    for e in [&rep1, &rep2, &manager] {
        e.sync_now().await.unwrap();
    }
    // Off rep1's device: search, list, detail.
    assert!(!found(&rep1, &leaving.name) || names(&leaving.name) > 1);
    assert!(!listed(&rep1).contains(&leaving.id));
    assert!(rep1.account_detail(&leaving.id, today()).is_err());
    // On rep2's with its whole ledger.
    assert!(listed(&rep2).contains(&leaving.id));
    let after = rep2.account_detail(&leaving.id, today()).unwrap();
    assert_eq!(after.balance, before.balance);
    assert_eq!(after.ledger, before.ledger);
    // And the other way round.
    assert!(found(&rep1, &coming.name));
    assert_eq!(
        rep1.account_detail(&coming.id, today()).unwrap().balance,
        coming_balance
    );
    assert!(!listed(&rep2).contains(&coming.id));
    // The manager's device has them all, with their new reps.
    assert_eq!(listed(&manager).len(), all.len());
    let moved = manager.account_detail(&leaving.id, today()).unwrap();
    assert_eq!(moved.account.rep_id, Some(rep2.session().unwrap().id));
    assert_eq!(moved.balance, before.balance);

    // A restart keeps the same picture (the indexes are rebuilt from the database).
    drop(rep1);
    let rep1 = engine_at(d1.path(), &server.base);
    assert!(!listed(&rep1).contains(&leaving.id));
    assert!(found(&rep1, &coming.name));
}

fn today() -> chrono::NaiveDate {
    fieldpay_protocol::time::kst_today(chrono::Utc::now())
}
