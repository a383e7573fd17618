//! Sync scope: a plain rep's device pulls the catalogue and the clients assigned to that rep
//! (or to no one) with their ledgers, a manager's device everything; a client moved to
//! another rep comes to the new rep's device with its whole ledger and goes off the old
//! one's; the server search finds any client of the merchant.

use std::collections::{HashMap, HashSet};

use fieldpay_protocol::records::{Account, AccountWithBalance};
use fieldpay_protocol::sync::{Change, ChangeData};
use fieldpay_server::demo::{self, DEMO_API_KEY};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{login, spawn_app, TestApp};
use crate::sync::pull_all;

/// What a device holds after applying pulled changes: accounts by id (the last version
/// sent) and ledger entry ids by account.
#[derive(Default)]
struct Device {
    accounts: HashMap<String, Account>,
    ledger: HashMap<String, HashSet<String>>,
    products: usize,
    cursor: i64,
    /// `Some(rep id)`: a plain rep's device, which drops an account sent with another rep.
    rep: Option<String>,
}

impl Device {
    fn apply(&mut self, changes: Vec<Change>) {
        for c in changes {
            match c.data {
                ChangeData::Account(a) => {
                    let theirs = matches!((&self.rep, &a.rep_id), (Some(me), Some(r)) if me != r);
                    if theirs {
                        self.accounts.remove(&a.id);
                        self.ledger.remove(&a.id);
                    } else {
                        self.accounts.insert(a.id.clone(), a);
                    }
                }
                ChangeData::Ledger(l) => {
                    self.ledger.entry(l.account_id).or_default().insert(l.id);
                }
                ChangeData::Product(_) => self.products += 1,
                _ => {}
            }
        }
    }

    async fn sync(&mut self, app: &TestApp, token: &str) {
        let (changes, cursor) = pull_all(app, token, self.cursor, 7).await;
        self.cursor = cursor;
        self.apply(changes);
    }
}

async fn rep_id(app: &TestApp, login_name: &str) -> (String, String) {
    let t = login(app, login_name, "demo1234").await;
    (t.rep.id, t.access_token)
}

/// Moves the demo account `code` to `rep_login` (as a CSV import would).
fn assign(app: &TestApp, code: &str, rep_login: Option<&str>) {
    demo::reassign(app.store().as_ref(), code, rep_login).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_pulls_its_clients_and_the_catalogue_a_manager_everything() {
    let app = spawn_app().await;
    let (rep1, t1) = rep_id(&app, "rep1").await;
    let (_, tm) = rep_id(&app, "manager").await;
    let mut manager = Device::default();
    manager.sync(&app, &tm).await;
    let mut device = Device {
        rep: Some(rep1.clone()),
        ..Device::default()
    };
    device.sync(&app, &t1).await;

    let all = demo::demo_accounts().len();
    assert_eq!(manager.accounts.len(), all);
    let mine: HashSet<&String> = manager
        .accounts
        .values()
        .filter(|a| a.rep_id.as_deref() == Some(rep1.as_str()))
        .map(|a| &a.id)
        .collect();
    assert!(
        !mine.is_empty() && mine.len() < all,
        "{} of {all}",
        mine.len()
    );
    assert_eq!(device.accounts.keys().collect::<HashSet<_>>(), mine);
    // Each of its clients' ledgers whole, and no other client's entry.
    for (account, entries) in &device.ledger {
        assert!(
            mine.contains(account),
            "another rep's ledger entry: {account}"
        );
        assert_eq!(Some(entries), manager.ledger.get(account));
    }
    assert!(!device.ledger.is_empty());
    assert_eq!(device.products, manager.products);
    assert!(device.products > 0);
    // The API key (a merchant-wide caller) pulls everything too.
    let (changes, _) = pull_all(&app, DEMO_API_KEY, 0, 1000).await;
    let accounts = changes
        .iter()
        .filter(|c| matches!(c.data, ChangeData::Account(_)))
        .count();
    assert_eq!(accounts, all);

    // An account assigned to no one is every device's.
    let (_, t2) = rep_id(&app, "rep2").await;
    let code = &demo::demo_accounts()[0].code;
    assign(&app, code, None);
    let mut rep2_device = Device::default();
    rep2_device.sync(&app, &t2).await;
    assert!(rep2_device.accounts.values().any(|a| &a.code == code));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_client_goes_with_its_ledger_to_the_new_rep_and_off_the_old_one() {
    let app = spawn_app().await;
    let (rep1, t1) = rep_id(&app, "rep1").await;
    let (rep2, t2) = rep_id(&app, "rep2").await;
    let (_, tm) = rep_id(&app, "manager").await;
    let mut d1 = Device {
        rep: Some(rep1.clone()),
        ..Device::default()
    };
    let mut d2 = Device {
        rep: Some(rep2.clone()),
        ..Device::default()
    };
    let mut manager = Device::default();
    d1.sync(&app, &t1).await;
    // A client of rep1's with a ledger (the demo's opening balance), and one entry more.
    let moved = d1
        .accounts
        .values()
        .find(|a| d1.ledger.contains_key(&a.id))
        .expect("a client of rep1 with a ledger")
        .clone();
    book(&app, &moved.id);
    d1.sync(&app, &t1).await;
    d2.sync(&app, &t2).await;
    manager.sync(&app, &tm).await;
    assert_eq!(d1.ledger[&moved.id].len(), 2);
    let history = d1.ledger[&moved.id].clone();
    let d1_before = d1.accounts.len();
    let d2_before = d2.accounts.len();
    assign(&app, &moved.code, Some("rep2"));

    d2.sync(&app, &t2).await;
    assert_eq!(d2.accounts.len(), d2_before + 1);
    assert_eq!(
        d2.accounts[&moved.id].rep_id.as_deref(),
        Some(rep2.as_str())
    );
    assert_eq!(
        d2.ledger.get(&moved.id),
        Some(&history),
        "the whole history"
    );

    d1.sync(&app, &t1).await;
    assert_eq!(d1.accounts.len(), d1_before - 1);
    assert!(!d1.accounts.contains_key(&moved.id));
    assert!(!d1.ledger.contains_key(&moved.id));

    manager.sync(&app, &tm).await;
    assert_eq!(manager.accounts.len(), demo::demo_accounts().len());
    assert_eq!(
        manager.accounts[&moved.id].rep_id.as_deref(),
        Some(rep2.as_str())
    );
    assert_eq!(manager.ledger.get(&moved.id), Some(&history));

    // An entry booked after the move goes to the new rep only.
    let entry = book(&app, &moved.id);
    d1.sync(&app, &t1).await;
    d2.sync(&app, &t2).await;
    assert!(!d1.ledger.contains_key(&moved.id));
    assert!(d2.ledger[&moved.id].contains(&entry));

    // Moved back, and a device that did not sync in between: it ends with what the server
    // says now.
    let mut late = Device {
        rep: Some(rep2.clone()),
        cursor: d2.cursor,
        accounts: d2.accounts.clone(),
        ledger: d2.ledger.clone(),
        ..Device::default()
    };
    assign(&app, &moved.code, Some("rep1"));
    d1.sync(&app, &t1).await;
    assert_eq!(d1.accounts.len(), d1_before);
    assert_eq!(d1.ledger[&moved.id].len(), history.len() + 1);
    assign(&app, &moved.code, Some("rep2"));
    assign(&app, &moved.code, Some("rep1"));
    late.sync(&app, &t2).await;
    assert!(!late.accounts.contains_key(&moved.id));
    d1.sync(&app, &t1).await;
    assert!(d1.accounts.contains_key(&moved.id));
    assert_eq!(d1.ledger[&moved.id].len(), history.len() + 1);
}

/// Books an adjustment of 1,000 won on the account; its entry id.
fn book(app: &TestApp, account_id: &str) -> String {
    let store = app.store();
    let m = store
        .merchant_by_code(demo::DEMO_MERCHANT_CODE)
        .unwrap()
        .unwrap();
    store
        .add_ledger(
            &m.id,
            &fieldpay_server::store::NewLedger {
                account_id: fieldpay_protocol::AccountId::new(account_id.to_string()),
                kind: fieldpay_protocol::records::LedgerKind::Adjustment,
                amount: 1_000,
                ref_id: None,
                memo: "조정".into(),
                at: chrono::Utc::now(),
            },
        )
        .unwrap()
}

async fn search(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.http
        .get(app.url("/v1/accounts/search"))
        .bearer_auth(token)
        .query(&[("q", query)])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_search_finds_any_client_of_the_merchant() {
    let app = spawn_app().await;
    let (rep1, t1) = rep_id(&app, "rep1").await;
    let theirs = demo::demo_accounts()
        .into_iter()
        .find(|a| a.rep_login.as_deref() == Some("rep2") && a.phone.starts_with("010"))
        .unwrap();

    // By a part of the name: another rep's client, with its balance.
    let r = search(&app, &t1, &theirs.name).await;
    assert_eq!(r.status(), StatusCode::OK);
    let found: Vec<AccountWithBalance> = r.json().await.unwrap();
    let hit = found
        .iter()
        .find(|a| a.account.code == theirs.code)
        .expect("found by name");
    assert_ne!(hit.account.rep_id.as_deref(), Some(rep1.as_str()));
    let r = app
        .get(&format!("/v1/accounts/{}", hit.account.id), DEMO_API_KEY)
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["balance"].as_i64(), Some(hit.balance));

    // By the phone as printed (with dashes), by code in lower case, by the business number.
    let printed = format!(
        "{}-{}-{}",
        &theirs.phone[..3],
        &theirs.phone[3..7],
        &theirs.phone[7..]
    );
    for q in [
        printed.as_str(),
        &theirs.code.to_lowercase(),
        &theirs.business_number,
    ] {
        let found: Vec<AccountWithBalance> = search(&app, &t1, q).await.json().await.unwrap();
        assert!(
            found.iter().any(|a| a.account.code == theirs.code),
            "{q}: {found:?}"
        );
    }
    let none: Vec<AccountWithBalance> = search(&app, &t1, "없는거래처이름")
        .await
        .json()
        .await
        .unwrap();
    assert!(none.is_empty());
    // A wildcard is a character like any other.
    let none: Vec<AccountWithBalance> = search(&app, &t1, "약%").await.json().await.unwrap();
    assert!(none.is_empty(), "{none:?}");

    // Bad queries: typed errors.
    for (path, field) in [
        ("/v1/accounts/search", "query"),
        ("/v1/accounts/search?q=", "q"),
        ("/v1/accounts/search?q=---", "q"),
        ("/v1/accounts/search?q=%EC%95%BD&limit=0", "limit"),
        ("/v1/accounts/search?q=%EC%95%BD&limit=101", "limit"),
        ("/v1/accounts/search?q=%EC%95%BD&sort=name", "query"),
    ] {
        let r = app.get(path, &t1).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_field", "{path}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{field}:")), "{path}: {v}");
    }
    let long = "약".repeat(51);
    let r = search(&app, &t1, &long).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Another merchant's rep and API key find none of the demo merchant's clients.
    let (b_key, b_rep) = app.merchant_with_rep("b", &["16009992"], "brep").await;
    for token in [b_key.as_str(), b_rep.access_token.as_str()] {
        let found: Vec<AccountWithBalance> = search(&app, token, &theirs.name)
            .await
            .json()
            .await
            .unwrap();
        assert!(found.is_empty(), "{found:?}");
    }
    // Without credentials: 401.
    let r = app
        .http
        .get(app.url("/v1/accounts/search?q=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// The charges' ids and statuses a device pulled (the last version of each).
async fn pulled_charges(app: &TestApp, token: &str) -> HashMap<String, String> {
    let (changes, _) = pull_all(app, token, 0, 50).await;
    changes
        .into_iter()
        .filter_map(|c| match c.data {
            ChangeData::Charge(ch) => Some((ch.id.to_string(), ch.status.as_str().to_string())),
            _ => None,
        })
        .collect()
}

/// A rep's charge goes to that rep's devices, created and again when its bill was sent; a
/// charge of no rep's (made with the API key) to the managers' only; another rep sees neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reps_charge_goes_to_its_devices_and_the_managers() {
    let app = spawn_app().await;
    let (_, t1) = rep_id(&app, "rep1").await;
    let (_, t2) = rep_id(&app, "rep2").await;
    let (_, tm) = rep_id(&app, "manager").await;
    let r = app
        .post_json(
            "/v1/charges",
            &t1,
            &crate::helpers::demo_charge(12_000, "010-7100-0001"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let reps: Value = r.json().await.unwrap();
    let reps = reps["id"].as_str().unwrap().to_string();
    let api = app
        .charge(crate::helpers::demo_charge(13_000, "010-7100-0002"))
        .await
        .id
        .to_string();
    app.wait_status(&reps, "sms_sent").await;
    app.wait_status(&api, "sms_sent").await;

    let rep1 = pulled_charges(&app, &t1).await;
    assert_eq!(rep1.get(&reps).map(String::as_str), Some("sms_sent"));
    assert!(
        !rep1.contains_key(&api),
        "a charge of no rep's on a rep's device"
    );
    let rep2 = pulled_charges(&app, &t2).await;
    assert!(!rep2.contains_key(&reps) && !rep2.contains_key(&api));
    let manager = pulled_charges(&app, &tm).await;
    assert_eq!(manager.get(&reps).map(String::as_str), Some("sms_sent"));
    assert_eq!(manager.get(&api).map(String::as_str), Some("sms_sent"));
}
