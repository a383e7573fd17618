//! Whose data a device database is (security findings 8 and 13): another rep never sees or
//! sends the previous rep's records or queue, is refused on a database that is not theirs
//! before any token is stored, and gets a database of their own; the previous rep's queue goes
//! out once, as theirs, when they sign in again. A server address in plain http off loopback
//! is refused before anything is created.

use chrono::Utc;
use fieldpay_core::{DataFolder, Engine, Identity};
use fieldpay_protocol::charge::ChargeList;
use fieldpay_protocol::records::Order;
use fieldpay_protocol::{ErrorCode, Secret};

use crate::harness::*;

const PAYER: &str = "010-3131-4141";

fn password() -> Secret {
    Secret::from("demo1234")
}

/// Queues, while the server is away, a signed order and a charge request for 익수약국;
/// returns the order's id. The engine must have synced once (products, accounts).
async fn queue_offline(server: &mut Server, e: &Engine) -> String {
    let account = e.search_accounts("익수약국", 1).unwrap().remove(0).account;
    server.stop().await;
    let order_id = order(e, &account.id, 2);
    e.request_charge(&charge_input(Some(account.id), 22_000, PAYER), Utc::now())
        .unwrap();
    assert!(e.sync_now().await.is_err(), "the server is away");
    assert_eq!(e.status().queued, 4, "3 order actions + 1 charge");
    order_id
}

/// What the server has of the queued work: the order (None: never received) and the number
/// of charges to the payer.
async fn on_server(server: &Server, order_id: &str) -> (Option<Order>, usize) {
    let r = server
        .http()
        .get(format!("{}/v1/orders/{order_id}", server.base))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    let order = match r.status().as_u16() {
        404 => None,
        200 => Some(r.json().await.unwrap()),
        s => panic!("GET order: {s}"),
    };
    let charges: ChargeList = server
        .api_get(&format!("/v1/charges?payer_phone={PAYER}"))
        .await;
    (order, charges.items.len())
}

/// The queue of `rep_id` went out exactly once, under that rep.
async fn sent_once_by(server: &Server, order_id: &str, rep_id: &str) {
    let (order, charges) = on_server(server, order_id).await;
    let order = order.expect("the order reached the server");
    assert_eq!(order.rep_id.as_deref(), Some(rep_id), "{order:?}");
    assert_eq!(charges, 1, "one charge request");
    let list: ChargeList = server
        .api_get(&format!("/v1/charges?payer_phone={PAYER}"))
        .await;
    assert_eq!(list.items[0].rep_id.as_deref(), Some(rep_id));
}

/// Finding 8 on one database: rep1 queues work offline and signs out; rep2 signing in on the
/// same database is refused before any token is stored, sees and sends nothing; rep1 signs in
/// again and the queue goes out once, as rep1's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_rep_is_refused_on_a_database_before_any_token_is_stored() {
    let mut server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    e.sync_now().await.unwrap();
    let rep1 = e.session().unwrap().id;
    let order_id = queue_offline(&mut server, &e).await;
    e.sign_out().unwrap();
    assert!(stored_token(dir.path(), &server.base).is_none());
    server.restart().await;

    for (merchant, rep) in [("demo", "rep2"), ("demo", " rep2 "), ("other", "rep1")] {
        let err = e.login(merchant, rep, &password()).await.unwrap_err();
        assert_eq!(
            err.to_api().code,
            ErrorCode::Forbidden,
            "{merchant}/{rep}: {err}"
        );
        assert!(
            err.to_string().contains("다른 영업사원"),
            "Korean first: {err}"
        );
        assert!(
            stored_token(dir.path(), &server.base).is_none(),
            "{merchant}/{rep}: a token was stored"
        );
        assert!(e.session().is_none() && !e.status().signed_in);
    }
    // Nothing was sent.
    assert!(e.sync_now().await.is_err());
    assert_eq!(e.status().queued, 4);
    assert_eq!(on_server(&server, &order_id).await.1, 0);
    assert!(on_server(&server, &order_id).await.0.is_none());

    // The owner again: the queue goes out once, as rep1's.
    e.login("demo", "rep1", &password()).await.unwrap();
    assert!(stored_token(dir.path(), &server.base).is_some());
    settle(&e, 20).await;
    settle(&e, 2).await;
    sent_once_by(&server, &order_id, &rep1).await;
}

/// Finding 8, the server's side of the check: the same words on another server (a reset one:
/// other ids) are refused after the server answered, before its token is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_login_on_a_reset_server_is_refused_before_its_token_is_stored() {
    let first = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &first.base).await;
    e.sync_now().await.unwrap();
    e.sign_out().unwrap();
    drop(e);

    let reset = Server::start().await;
    let e = engine_at(dir.path(), &reset.base);
    let err = e.login("demo", "rep1", &password()).await.unwrap_err();
    assert_eq!(err.to_api().code, ErrorCode::Forbidden, "{err}");
    assert!(stored_token(dir.path(), &reset.base).is_none());
    assert!(e.session().is_none());
    // The first server's rep still may.
    let e = engine_at(dir.path(), &first.base);
    e.login("demo", "rep1", &password()).await.unwrap();
    assert!(stored_token(dir.path(), &first.base).is_some());
}

/// Finding 8 as the app does it: each (server, merchant, rep) opens a database of its own.
/// rep2 after rep1 sees none of rep1's records and pushes nothing of rep1's; rep1's token is
/// not rep2's; rep1 back on the device finds the queue, which goes out once, as rep1's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rep_has_a_database_of_their_own() {
    let mut server = Server::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let folder = DataFolder::new(tmp.path(), "test-device");
    let id1 = Identity::at(&server.base, "demo", "rep1").unwrap();
    let id2 = Identity::at(&server.base, "demo", "rep2").unwrap();
    assert_ne!(folder.dir_of(&id1), folder.dir_of(&id2));

    let e1 = folder.open(&id1, &server.base).unwrap();
    e1.login("demo", "rep1", &password()).await.unwrap();
    folder.remember(Some(&id1)).unwrap();
    e1.sync_now().await.unwrap();
    let rep1 = e1.session().unwrap().id;
    let order_id = queue_offline(&mut server, &e1).await;
    let charge_ids: Vec<String> = e1
        .charges(None, 100)
        .unwrap()
        .into_iter()
        .map(|c| c.charge.id)
        .collect();
    e1.sign_out().unwrap();
    folder.remember(None).unwrap();
    drop(e1);
    server.restart().await;

    let e2 = folder.open(&id2, &server.base).unwrap();
    assert!(e2.orders(None, 100).unwrap().is_empty());
    assert!(e2.charges(None, 100).unwrap().is_empty());
    assert_eq!(e2.status().queued, 0);
    e2.login("demo", "rep2", &password()).await.unwrap();
    folder.remember(Some(&id2)).unwrap();
    settle(&e2, 20).await;
    let s = e2.sync_now().await.unwrap();
    assert_eq!(s.queued, 0);
    assert!(e2.order(&order_id).is_err(), "rep2 sees rep1's order");
    let charges = e2.charges(None, 100).unwrap();
    assert!(
        charges.iter().all(|c| !charge_ids.contains(&c.charge.id)),
        "rep2 sees rep1's charge request"
    );
    // rep2's device has rep2's clients.
    let theirs = fieldpay_server::demo::demo_accounts()
        .into_iter()
        .find(|a| a.rep_login.as_deref() == Some("rep2"))
        .unwrap();
    assert!(e2
        .search_accounts(&theirs.code, 5)
        .unwrap()
        .iter()
        .any(|h| h.account.code == theirs.code));
    // Nothing of rep1's went out, and rep1 holds no token any more.
    let (order, charges) = on_server(&server, &order_id).await;
    assert!(order.is_none() && charges == 0, "{order:?}, {charges}");
    assert!(stored_token(&folder.dir_of(&id1), &server.base).is_none());
    assert!(stored_token(&folder.dir_of(&id2), &server.base).is_some());
    assert_eq!(folder.last(), Some(id2.clone()));
    e2.sign_out().unwrap();
    drop(e2);

    // rep1 again: the same database, its queue still there, sent once.
    let e1 = folder.open(&id1, &server.base).unwrap();
    assert_eq!(e1.status().queued, 4);
    e1.login("demo", "rep1", &password()).await.unwrap();
    settle(&e1, 20).await;
    settle(&e1, 2).await;
    sent_once_by(&server, &order_id, &rep1).await;
}

/// Finding 13: a plain-http address off loopback is refused (`invalid_field`, Korean first)
/// before anything is created; loopback http (the sandbox, local servers) stays allowed.
#[tokio::test]
async fn plain_http_off_loopback_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for url in [
        "http://192.0.2.10:8640",
        "http://pay.example.kr",
        "http://[2001:db8::1]:8640",
    ] {
        let dir = tmp.path().join("device");
        let err = match Engine::open(config(&dir, url)) {
            Ok(_) => panic!("{url} was accepted"),
            Err(e) => e,
        };
        assert_eq!(err.to_api().code, ErrorCode::InvalidField, "{url}: {err}");
        assert!(err.to_string().starts_with("http:// 주소는"), "{err}");
        assert!(!dir.exists(), "{url}: a device folder was created");
        let err = Identity::at(url, "demo", "rep1").unwrap_err();
        assert_eq!(err.to_api().code, ErrorCode::InvalidField);
    }
    for (i, url) in [
        "http://127.0.0.1:9",
        "http://localhost:9",
        "http://[::1]:9",
        "https://pay.example.kr",
    ]
    .into_iter()
    .enumerate()
    {
        let dir = tmp.path().join(format!("ok-{i}"));
        let e = Engine::open(config(&dir, url)).unwrap_or_else(|e| panic!("{url}: {e}"));
        drop(e);
    }
}
