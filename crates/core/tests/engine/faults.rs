//! A loopback TCP proxy between the engine and the server that drops requests, drops
//! responses after the server acted, delays, and answers 500 — 200 seeded rounds; after them
//! device and server agree, nothing lost, nothing doubled.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use fieldpay_protocol::app::{ChargeInput, SyncState};
use fieldpay_protocol::charge::{ChargeKind, ChargeList, ChargeStatus};
use fieldpay_protocol::records::OrderStatus;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Pass,
    /// Close the connection without forwarding the request.
    DropRequest,
    /// Forward the request, wait for the server to answer, then close without forwarding it.
    DropResponse,
    Delay(u64),
    /// Answer 500 without forwarding.
    Error500,
}

/// Small deterministic generator (tests must not depend on a random seed).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Proxy {
    addr: SocketAddr,
    /// Faults for the next connections, in order; Pass when empty.
    plan: Arc<Mutex<Vec<Fault>>>,
    /// Faults actually applied.
    injected: Arc<AtomicU64>,
}

/// Reads one HTTP/1.1 message (headers and a Content-Length body) from a stream.
async fn read_message(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}

/// One request per connection (the answer says `connection: close`), so every request meets
/// its own fault.
async fn pipe(mut client: TcpStream, upstream: SocketAddr, fault: Fault) {
    let Some(request) = read_message(&mut client).await else {
        return;
    };
    match fault {
        Fault::DropRequest => return,
        Fault::Error500 => {
            let _ = client.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            return;
        }
        Fault::Delay(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Fault::DropResponse | Fault::Pass => {}
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    if server.write_all(&request).await.is_err() {
        return;
    }
    let Some(response) = read_message(&mut server).await else {
        return;
    };
    if fault == Fault::DropResponse {
        // The server acted; its answer is lost.
        return;
    }
    let line_end = response.windows(2).position(|w| w == b"\r\n").unwrap_or(0) + 2;
    let mut out = response[..line_end].to_vec();
    out.extend_from_slice(b"connection: close\r\n");
    out.extend_from_slice(&response[line_end..]);
    let _ = client.write_all(&out).await;
}

impl Proxy {
    /// The next one to three connections misbehave: a lost request or answer, a 500, or a
    /// delay of up to 100 ms.
    fn one_to_three_faults(&self, rng: &mut Lcg) {
        let mut plan = self.plan.lock().unwrap();
        plan.clear();
        for _ in 0..1 + rng.below(3) {
            plan.push(match rng.below(4) {
                0 => Fault::DropRequest,
                1 => Fault::DropResponse,
                2 => Fault::Error500,
                _ => Fault::Delay(rng.below(100)),
            });
        }
    }

    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let plan: Arc<Mutex<Vec<Fault>>> = Arc::default();
        let injected = Arc::new(AtomicU64::new(0));
        let (p2, s2) = (plan.clone(), injected.clone());
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let fault = {
                    let mut p = p2.lock().unwrap();
                    if p.is_empty() {
                        Fault::Pass
                    } else {
                        p.remove(0)
                    }
                };
                if fault != Fault::Pass {
                    s2.fetch_add(1, Ordering::Relaxed);
                }
                tokio::spawn(pipe(sock, upstream, fault));
            }
        });
        Proxy {
            addr,
            plan,
            injected,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_rounds_of_network_faults_converge() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}", proxy.addr);
    let e = signed_in(dir.path(), &url).await;
    settle(&e, 20).await;
    let accounts = e.search_accounts("약국", 20).unwrap();
    assert!(accounts.len() >= 5);

    let mut rng = Lcg(0x5eed_f1e1_d9a7);
    let mut charges = Vec::new();
    let mut orders = Vec::new();
    let mut canceled = HashSet::new();
    for round in 0..200u64 {
        // Some local work.
        match rng.below(10) {
            0 => {
                let a = &accounts[rng.below(accounts.len() as u64) as usize].account;
                orders.push(order(&e, &a.id, 1));
            }
            1 if !charges.is_empty() => {
                let id: &String = &charges[rng.below(charges.len() as u64) as usize];
                if let Ok(c) = e.charge(id) {
                    if !c.charge.status.is_final() && canceled.insert(id.clone()) {
                        e.cancel_charge(id, Some("test"), Utc::now()).unwrap();
                    }
                }
            }
            _ => {
                let phone = format!("010-{:04}-{:04}", 1000 + round, 2000 + rng.below(5000));
                let input = ChargeInput {
                    account_id: None,
                    order_id: None,
                    amount: 1_000 + (rng.below(90) as i64) * 1_000,
                    goods_name: format!("라운드 {round}"),
                    payer_phone: phone,
                    payer_name: None,
                    orderer: None,
                    installments: false,
                    kind: ChargeKind::General,
                    expires_in_minutes: None,
                };
                charges.push(e.request_charge(&input, Utc::now()).unwrap().charge.id);
            }
        }
        // The network misbehaves for the next few connections.
        {
            let mut plan = proxy.plan.lock().unwrap();
            plan.clear();
            for _ in 0..rng.below(4) {
                plan.push(match rng.below(5) {
                    0 => Fault::DropRequest,
                    1 => Fault::DropResponse,
                    2 => Fault::Delay(rng.below(150)),
                    3 => Fault::Error500,
                    _ => Fault::Pass,
                });
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(20), e.sync_now()).await;
    }
    proxy.plan.lock().unwrap().clear();
    settle(&e, 50).await;
    let injected = proxy.injected.load(Ordering::Relaxed);
    assert!(injected >= 100, "faults injected: {injected}");

    // Every charge exists on the server exactly once, with the device's id, and the device
    // holds the server's status.
    let mut on_server: HashMap<String, ChargeStatus> = HashMap::new();
    let mut after = String::new();
    loop {
        let page: ChargeList = server
            .api_get(&format!("/v1/charges?limit=200{after}"))
            .await;
        for c in &page.items {
            assert!(
                on_server.insert(c.id.clone(), c.status).is_none(),
                "charge {} listed twice",
                c.id
            );
        }
        match page.next {
            Some(n) => after = format!("&after={n}"),
            None => break,
        }
    }
    // Charges canceled before they were ever sent stay on the device only.
    let mut withdrawn = 0;
    for id in &charges {
        let local = e.charge(id).unwrap();
        if local.sync_state == SyncState::Local {
            assert_eq!(local.charge.status, ChargeStatus::Canceled, "{id}");
            assert!(
                !on_server.contains_key(id),
                "{id} was withdrawn but reached the server"
            );
            withdrawn += 1;
            continue;
        }
        assert_eq!(local.sync_state, SyncState::Synced, "{id}");
        assert_eq!(Some(&local.charge.status), on_server.get(id), "{id}");
        let expected = if canceled.contains(id) {
            ChargeStatus::Canceled
        } else {
            ChargeStatus::SmsSent
        };
        let ok = local.charge.status == expected
            || (expected == ChargeStatus::SmsSent
                && local.charge.status == ChargeStatus::Requested);
        assert!(ok, "{id}: {:?}", local.charge.status);
    }
    assert_eq!(
        on_server.len() + withdrawn,
        charges.len(),
        "nothing lost, nothing doubled"
    );
    eprintln!(
        "fault rounds: {} charges ({withdrawn} withdrawn unsent), {} orders, {injected} faults injected",
        charges.len(),
        orders.len()
    );
    // One bill text per charge.
    let store = server.state().store.clone();
    for id in charges.iter().take(30) {
        let c = store.charge_any(&id.as_str().into()).unwrap().unwrap();
        let bills = store
            .sms_for_phone(&c.payer_phone, 50)
            .unwrap()
            .into_iter()
            .filter(|s| {
                s.kind == fieldpay_protocol::sms::SmsKind::Bill
                    && s.charge_id.as_ref().map(|c| c.as_str()) == Some(id.as_str())
            })
            .count();
        assert_eq!(bills, 1, "{id}");
    }
    // Orders registered once each, under the numbers signed on the device (each its own);
    // balances agree.
    let mut numbers = std::collections::HashSet::new();
    for id in &orders {
        let o = e.order(id).unwrap();
        assert_eq!(
            o.order.status,
            OrderStatus::Registered,
            "{id}: {:?}",
            o.order.reject_reason
        );
        let s: fieldpay_protocol::records::Order =
            server.api_get(&format!("/v1/orders/{id}")).await;
        assert_eq!(s.number, o.order.number);
        let n = o.order.number.clone().unwrap();
        assert!(n.starts_with("PO-") && n.contains("-R01-"), "{n}");
        assert!(numbers.insert(n.clone()), "{n} given twice");
    }
    for a in &accounts {
        let srv: serde_json::Value = server
            .api_get(&format!("/v1/accounts/{}", a.account.id))
            .await;
        let local = e
            .account_detail(&a.account.id, Utc::now().date_naive())
            .unwrap()
            .balance;
        assert_eq!(
            srv["balance"].as_i64().unwrap(),
            local,
            "balance of {}",
            a.account.name
        );
    }
    assert!(e.problems().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_through_network_faults_are_booked_once() {
    use crate::collections::{cash, own_account, server_balance, server_collections};
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}", proxy.addr);
    let e = signed_in(dir.path(), &url).await;
    settle(&e, 20).await;
    let account = own_account(&e, true);
    let today = Utc::now().date_naive();
    let before = e.account_detail(&account.id, today).unwrap().balance;

    let mut rng = Lcg(0x0c01_1ec7);
    let mut recorded = Vec::new();
    let mut total = 0;
    for round in 0..40u64 {
        let amount = 1_000 * (1 + rng.below(50) as i64);
        total += amount;
        recorded.push(
            e.record_collection(&cash(&account.id, amount), Utc::now())
                .unwrap()
                .collection
                .id,
        );
        proxy.one_to_three_faults(&mut rng);
        let _ = tokio::time::timeout(Duration::from_secs(20), e.sync_now()).await;
        assert_eq!(
            e.account_detail(&account.id, today).unwrap().balance,
            before - total,
            "round {round}: the device's balance counts every collection once"
        );
    }
    proxy.plan.lock().unwrap().clear();
    settle(&e, 50).await;
    settle(&e, 2).await;
    assert!(proxy.injected.load(Ordering::Relaxed) >= 40);

    // Each collection once on the server, with the device's id; one ledger entry and one
    // receipt text each; the balances agree.
    let on_server = server_collections(&server);
    let ids: HashSet<&str> = on_server.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        on_server.len(),
        recorded.len(),
        "nothing lost, nothing doubled"
    );
    assert!(recorded.iter().all(|id| ids.contains(id.as_str())));
    assert_eq!(server_balance(&server, &account.id), before - total);
    let d = e.account_detail(&account.id, today).unwrap();
    assert_eq!((d.balance, d.pending_collected), (before - total, 0));
    assert!(e
        .collections_for(&account.id)
        .unwrap()
        .iter()
        .all(|c| c.sync_state == SyncState::Synced));
    // One receipt text each (sent by the server's outbox worker: waited for).
    let store = server.state().store.clone();
    let mut receipts = 0;
    for _ in 0..200 {
        receipts = store
            .sms_for_phone(&account.phone, 500)
            .unwrap()
            .into_iter()
            .filter(|s| s.kind == fieldpay_protocol::sms::SmsKind::Receipt)
            .count();
        if receipts >= recorded.len() && store.pending_sms(10).unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(receipts, recorded.len());
    assert!(e.problems().unwrap().is_empty());
}

/// Check-ins and check-outs through a misbehaving network: each visit reaches the server
/// exactly once (a lost answer is retried under the same client id), with its check-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visits_through_network_faults_are_stored_exactly_once() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}", proxy.addr);
    let e = signed_in(dir.path(), &url).await;
    settle(&e, 20).await;
    let me = e.session().unwrap();
    let mine: Vec<_> = e
        .search_accounts("약", 100)
        .unwrap()
        .into_iter()
        .map(|a| a.account)
        .filter(|a| a.rep_id.as_ref().is_none_or(|r| *r == me.id))
        .collect();
    assert!(mine.len() >= 3);

    let mut rng = Lcg(0x0715_17ed);
    let mut made = Vec::new();
    let mut checked_out = HashSet::new();
    for round in 0..40u64 {
        let a = &mine[rng.below(mine.len() as u64) as usize];
        let location = (round % 3 != 0).then_some(fieldpay_protocol::visit::GeoPoint {
            lat: 37.4 + rng.below(100) as f64 / 1000.0,
            lng: 127.0 + rng.below(100) as f64 / 1000.0,
            accuracy_m: Some(20.0),
        });
        let v = e
            .check_in(&a.id, &format!("라운드 {round}"), location, Utc::now())
            .unwrap();
        if rng.below(2) == 0 {
            e.check_out(&v.visit.id, Utc::now()).unwrap();
            checked_out.insert(v.visit.id.clone());
        }
        made.push(v.visit.id);
        {
            let mut plan = proxy.plan.lock().unwrap();
            plan.clear();
            for _ in 0..rng.below(4) {
                plan.push(match rng.below(4) {
                    0 => Fault::DropRequest,
                    1 => Fault::DropResponse,
                    2 => Fault::Error500,
                    _ => Fault::Pass,
                });
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(20), e.sync_now()).await;
    }
    proxy.plan.lock().unwrap().clear();
    settle(&e, 50).await;
    assert!(proxy.injected.load(Ordering::Relaxed) >= 10);
    assert!(e.problems().unwrap().is_empty(), "{:?}", e.problems());

    let store = server.state().store.clone();
    let merchant = fieldpay_protocol::MerchantId::new(me.merchant_id.clone());
    let now = Utc::now();
    let stored = store
        .visits(
            &merchant,
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(1),
            None,
        )
        .unwrap();
    let ids: HashSet<&str> = stored.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(stored.len(), made.len(), "nothing lost, nothing doubled");
    assert_eq!(ids.len(), made.len());
    for v in &stored {
        assert!(made.contains(&v.id));
        assert_eq!(
            v.checked_out_at.is_some(),
            checked_out.contains(&v.id),
            "{}",
            v.id
        );
        let local = e.account_visits(&v.account_id, 100).unwrap();
        let l = local.iter().find(|l| l.visit.id == v.id).unwrap();
        assert_eq!(l.sync_state, SyncState::Synced);
        assert_eq!(l.visit.note, v.note);
        assert_eq!(l.visit.location, v.location);
        assert_eq!(l.visit.checked_in_at, v.checked_in_at);
        assert_eq!(l.visit.checked_out_at, v.checked_out_at);
    }
}

/// A share whose answer is lost (the server texted, the device never heard) is retried under
/// the same id: one text; a tap after a failed attempt reuses that id too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_with_a_lost_answer_is_texted_once() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}", proxy.addr);
    let e = signed_in(dir.path(), &url).await;
    settle(&e, 20).await;
    let account = e.search_accounts("약국", 1).unwrap().remove(0).account;
    let order_id = order(&e, &account.id, 1);
    settle(&e, 20).await;
    let kind = fieldpay_protocol::share::ShareKind::PurchaseOrder;
    let to = "010-5151-0001";

    // The answer is lost once: the engine asks again with the same id.
    proxy.plan.lock().unwrap().push(Fault::DropResponse);
    let first = e.share_order(&order_id, kind, to, None).await.unwrap();
    assert!(proxy.injected.load(Ordering::Relaxed) >= 1);
    // Every attempt fails: the rep is told; tapping again later reuses the pending id.
    proxy.plan.lock().unwrap().extend([
        Fault::DropResponse,
        Fault::DropResponse,
        Fault::DropResponse,
    ]);
    assert!(e
        .share_order(&order_id, kind, "010-5151-0002", None)
        .await
        .is_err());
    let second = e
        .share_order(&order_id, kind, "010-5151-0002", None)
        .await
        .unwrap();
    assert_ne!(first.id, second.id);
    let store = server.state().store.clone();
    for phone in ["01051510001", "01051510002"] {
        let texts: Vec<_> = store
            .sms_for_phone(phone, 50)
            .unwrap()
            .into_iter()
            .filter(|s| s.kind == fieldpay_protocol::sms::SmsKind::Share)
            .collect();
        assert_eq!(texts.len(), 1, "{phone}: {texts:?}");
    }
    let history = e.order_shares(&order_id).await.unwrap();
    assert_eq!(history.len(), 2);
    // A landline is refused on the device, before anything is sent.
    assert!(e
        .share_order(&order_id, kind, "02-123-4567", None)
        .await
        .is_err());
}

/// Returns through a misbehaving network: each is registered exactly once (one ledger entry,
/// its total off the receivables once), none goes over what is left of the original.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_through_network_faults_are_registered_once() {
    use crate::collections::server_balance;
    use crate::returns::{registered_order, return_one};
    use fieldpay_protocol::records::{LedgerKind, OrderKind};
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}", proxy.addr);
    let e = signed_in(dir.path(), &url).await;
    settle(&e, 20).await;
    let (account, original) = registered_order(&e, 30).await;
    let today = Utc::now().date_naive();
    let before = e.account_detail(&account, today).unwrap().balance;
    let unit = original.order.lines[0].unit_price;

    let mut rng = Lcg(0x0e70_2a11);
    let mut made = Vec::new();
    for _ in 0..15u64 {
        made.push(return_one(&e, &original.order.id, 2));
        proxy.one_to_three_faults(&mut rng);
        let _ = tokio::time::timeout(Duration::from_secs(20), e.sync_now()).await;
    }
    proxy.plan.lock().unwrap().clear();
    settle(&e, 50).await;
    settle(&e, 2).await;
    assert!(proxy.injected.load(Ordering::Relaxed) >= 15);

    // Fifteen returns of two: all thirty units came back, each return registered once.
    let total = 15 * fieldpay_protocol::records::OrderTotals::from_supply(2 * unit).total;
    for id in &made {
        let r = e.order(id).unwrap();
        assert_eq!(r.order.kind, OrderKind::Return);
        assert_eq!(r.order.status, OrderStatus::Registered, "{r:?}");
        assert_eq!(r.sync_state, SyncState::Synced);
    }
    assert_eq!(server_balance(&server, &account), before - total);
    let d = e.account_detail(&account, today).unwrap();
    assert_eq!(d.balance, before - total);
    let returns = d
        .ledger
        .iter()
        .filter(|l| l.kind == LedgerKind::Return)
        .count();
    assert!(
        returns >= 10,
        "recent ledger entries are returns: {returns}"
    );
    // Nothing of the first product is left to return.
    let left = e.start_return(&original.order.id, Utc::now()).unwrap();
    assert!(left
        .order
        .lines
        .iter()
        .all(|l| l.product_id != original.order.lines[0].product_id));
    assert!(e.problems().unwrap().is_empty());
}
