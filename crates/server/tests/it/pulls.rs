//! Sync pages read ahead (`fieldpay_server::pulls`): a device's next pages are read while it
//! works on the one it has; each request still gets exactly the page the store gives for its
//! merchant, scope, cursor and limit, and changes made after a page was read ahead still
//! reach the device.

use std::time::Duration;

use fieldpay_protocol::sync::{ChangeData, SyncPage};
use fieldpay_protocol::{MerchantId, RepId};
use fieldpay_server::demo;
use fieldpay_server::pulls::DEPTH;
use serde_json::Value;

use crate::helpers::{demo_charge, login, spawn_app, TestApp};
use crate::sync::{pull, pull_all};

fn demo_merchant(app: &TestApp) -> MerchantId {
    app.store().merchant_by_code("demo").unwrap().unwrap().id
}

/// The page as the store gives it now, read directly (no read ahead).
fn stored(app: &TestApp, mid: &MerchantId, cursor: i64, rep: Option<&RepId>) -> Value {
    let page = app.store().pull(mid, cursor, 7, rep).unwrap();
    serde_json::to_value(page).unwrap()
}

fn json(page: &SyncPage) -> Value {
    serde_json::to_value(page).unwrap()
}

/// Waits until `n` pages are held (read ahead, or being read).
async fn held(app: &TestApp, n: usize) {
    for _ in 0..500 {
        if app.state().read_ahead.len() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} pages held, not {n}", app.state().read_ahead.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_read_ahead_are_the_pages_the_store_gives() {
    let app = spawn_app().await;
    let mid = demo_merchant(&app);
    let token = login(&app, "manager", "demo1234").await.access_token;
    let first = pull(&app, &token, 0, 7).await;
    assert!(first.has_more);
    // The next pages are read while the device would be applying this one.
    held(&app, DEPTH).await;
    let mut cursor = first.cursor;
    let mut pages = 1;
    loop {
        let page = pull(&app, &token, cursor, 7).await;
        assert_eq!(
            json(&page),
            stored(&app, &mid, cursor, None),
            "page after {cursor}"
        );
        pages += 1;
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }
    assert!(pages > DEPTH + 2, "{pages} pages");
    // Every page read ahead was claimed: none left over.
    held(&app, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_read_ahead_goes_only_to_its_own_merchant_and_scope() {
    let app = spawn_app().await;
    let mid = demo_merchant(&app);
    let manager = login(&app, "manager", "demo1234").await.access_token;
    let rep1 = login(&app, "rep1", "demo1234").await;
    let first = pull(&app, &manager, 0, 7).await;
    held(&app, DEPTH).await;

    // A plain rep asking from the same cursor gets its own page, not the manager's.
    let mine = pull(&app, &rep1.access_token, first.cursor, 7).await;
    let rep_id = RepId::new(rep1.rep.id.clone());
    assert_eq!(json(&mine), stored(&app, &mid, first.cursor, Some(&rep_id)));
    // Another merchant's device from the same cursor: its own records only.
    let (_, other) = app.merchant_with_rep("b", &["16009990"], "brep").await;
    let theirs = pull(&app, &other.access_token, first.cursor, 7).await;
    let other_mid = app.store().merchant_by_code("b").unwrap().unwrap().id;
    let other_rep = RepId::new(other.rep.id.clone());
    assert_eq!(
        json(&theirs),
        stored(&app, &other_mid, first.cursor, Some(&other_rep))
    );
    // The manager's next page was read ahead and is still the manager's.
    let second = pull(&app, &manager, first.cursor, 7).await;
    assert_eq!(json(&second), stored(&app, &mid, first.cursor, None));
    assert_ne!(json(&second), json(&mine), "the scopes differ on this page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_after_a_page_was_read_ahead_still_reach_the_device() {
    let app = spawn_app().await;
    let manager = login(&app, "manager", "demo1234").await;
    let rep2 = login(&app, "rep2", "demo1234").await;
    let first = pull(&app, &manager.access_token, 0, 7).await;
    held(&app, DEPTH).await;

    // After the next pages were read: a new charge, and a client moved to another rep (its
    // change row moves to a later seq).
    let charge = app.charge(demo_charge(1_000, "010-2100-0009")).await;
    let moved = &demo::demo_accounts()[0].code;
    demo::reassign(app.store().as_ref(), moved, Some("rep2")).unwrap();

    let (rest, _) = pull_all(&app, &manager.access_token, first.cursor, 7).await;
    let seqs: Vec<i64> = rest.iter().map(|c| c.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seqs increase");
    assert!(rest
        .iter()
        .any(|c| matches!(&c.data, ChangeData::Charge(ch) if ch.id == charge.id)));
    // The device ends with the client as it is now (the last version it was sent).
    let last = rest
        .iter()
        .rev()
        .find_map(|c| match &c.data {
            ChangeData::Account(a) if &a.code == moved => Some(a),
            _ => None,
        })
        .expect("the moved client");
    assert_eq!(last.rep_id.as_deref(), Some(rep2.rep.id.as_str()));
}
