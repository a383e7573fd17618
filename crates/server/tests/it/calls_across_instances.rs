//! Calls across instances: two servers on one PostgreSQL database behind a load balancer that
//! does not stick by call. A TwiML call's request that reaches the instance not holding the
//! call is forwarded to the one that does; when that one is lost, the call ends politely and
//! the charge stays payable. PostgreSQL only (`FIELDPAY_TEST_STORE=postgres`): on SQLite one
//! instance has the database to itself.

use std::time::Duration;

use fieldpay_server::coordination::instance_lease;

use crate::helpers::*;

const CARD: &str = "9401000000000014";

/// Two instances on one database: `a` (whose address is the public URL) and `b`.
async fn two_instances() -> Option<(TestApp, TestApp)> {
    test_store()?;
    let a = spawn_app().await;
    let b = a.instance_beside().await;
    Some((a, b))
}

fn skipped() {
    eprintln!("skipped: needs FIELDPAY_TEST_STORE=postgres");
}

/// Answers of a call lost with its instance: a short goodbye, a hang-up, no gather.
fn assert_lost(x: &str) {
    assert!(x.contains("잠시 후 다시 전화해 주세요"), "{x}");
    assert!(x.contains("<Hangup/>") && !x.contains("<Gather"), "{x}");
}

/// Pays `charge` with a new call to `app` alone; the last answer.
async fn pay_with_a_new_call(app: &TestApp, sid: &str, payer: &str, vn: &str) -> String {
    let x = app.twiml_start(sid, &e164(payer), &e164(vn)).await;
    assert!(x.contains("<Gather"), "{x}");
    let mut x = String::new();
    for keys in ["1", CARD, "1230", "800101", "12"] {
        x = app.twiml_digits(sid, keys).await;
    }
    x
}

/// A call whose requests alternate between the two instances on every request is held by the
/// instance it started on and pays once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_alternating_between_instances_pays_once() {
    let Some((a, b)) = two_instances().await else {
        return skipped();
    };
    let c = a.charge(demo_charge(30_000, "010-4444-6001")).await;
    let vn = c.virtual_number.clone().unwrap();
    let sid = "CA_across_1";
    let x = a.twiml_start(sid, &e164("01044446001"), &e164(&vn)).await;
    assert!(x.contains("<Gather"), "{x}");
    let steps = [
        ("1", "카드 번호"),
        (CARD, "유효기간"),
        ("1230", "생년월일"),
        ("800101", "비밀번호"),
    ];
    for (i, (keys, next)) in steps.iter().enumerate() {
        let via = if i % 2 == 0 { &b } else { &a };
        let x = via.twiml_digits(sid, keys).await;
        assert!(x.contains(next), "step {i} via {}: {x}", via.base);
        assert!(!x.contains("다시 입력"), "nothing asked again: {x}");
    }
    let x = b.twiml_digits(sid, "12").await;
    assert!(x.contains("승인") && x.contains("<Hangup/>"), "{x}");

    let paid = b.wait_status(&c.id, "approved").await;
    assert_eq!(paid.payment.unwrap().masked_card, "940100******0014");
    let net = a.state().sandbox_network.clone().unwrap();
    assert_eq!(net.charge_approval_count(&c.id), 1);
    let slip = a.wait_sms("010-4444-6001", "slip", &c.id).await;
    assert_eq!(slip.charge_id.as_deref(), Some(c.id.as_str()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let slips = b
        .sms("010-4444-6001")
        .await
        .iter()
        .filter(|s| s.kind.as_str() == "slip" && s.charge_id.as_deref() == Some(c.id.as_str()))
        .count();
    assert_eq!(slips, 1, "one slip text");

    // The call was held by `a` from start to end; `b` kept no copy of it.
    let call = b.store().call(sid).unwrap().unwrap();
    assert_eq!(call.owner.as_deref(), Some(&*a.state().instance_id));
    assert_eq!(call.owner_url.as_deref(), Some(a.base.as_str()));
    assert_eq!(call.outcome.as_deref(), Some("approved"));
    assert_eq!(b.state().calls.count(), 0);
    assert!(!call.trace.contains(CARD) && !call.checkpoint.contains("9401"));
    let logs = logs();
    assert!(!logs.contains(CARD), "card number in the log");
}

/// Starts a call on `owner` and keys the card number through `other`: mid card entry (the
/// expiry is asked next), held by `owner`.
async fn call_mid_card_entry(owner: &TestApp, other: &TestApp, sid: &str, payer: &str, vn: &str) {
    let x = owner.twiml_start(sid, &e164(payer), &e164(vn)).await;
    assert!(x.contains("<Gather"), "{x}");
    let x = other.twiml_digits(sid, "1").await;
    assert!(x.contains("카드 번호"), "{x}");
    let x = owner.twiml_digits(sid, CARD).await;
    assert!(x.contains("유효기간"), "{x}");
}

/// After a lost call: ended as `instance_lost`, the charge unpaid and still payable, nothing
/// at the card network; a new call to the surviving instance pays it once.
async fn lost_then_paid_again(
    survivor: &TestApp,
    sid: &str,
    charge_id: &str,
    payer: &str,
    vn: &str,
) {
    let call = survivor.store().call(sid).unwrap().unwrap();
    assert_eq!(call.outcome.as_deref(), Some("instance_lost"));
    assert!(call.ended_at.is_some());
    let c = survivor.get_charge(charge_id).await;
    assert!(c.status.is_pending(), "still payable: {:?}", c.status);
    let net = survivor.state().sandbox_network.clone().unwrap();
    assert_eq!(net.charge_approval_count(charge_id), 0);
    // The carrier's end-of-call request afterwards is answered with a hang-up.
    let (s, x) = survivor
        .twiml(None, &[("CallSid", sid), ("CallStatus", "completed")])
        .await;
    assert!(s.is_success() && x.contains("<Hangup/>"), "{x}");

    let again = format!("{sid}_again");
    let x = pay_with_a_new_call(survivor, &again, payer, vn).await;
    assert!(x.contains("승인") && x.contains("<Hangup/>"), "{x}");
    survivor.wait_status(charge_id, "approved").await;
    assert_eq!(net.charge_approval_count(charge_id), 1);
}

/// The instance holding a call is stopped (gracefully: it gives its lease up) mid card entry:
/// the next request, to the other instance, ends the call politely; the charge stays payable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_of_a_stopped_instance_ends_and_the_charge_stays_payable() {
    let Some((mut a, b)) = two_instances().await else {
        return skipped();
    };
    let payer = "01044446002";
    let c = a.charge(demo_charge(30_000, payer)).await;
    let vn = c.virtual_number.clone().unwrap();
    let sid = "CA_across_stopped";
    call_mid_card_entry(&a, &b, sid, payer, &vn).await;

    let lease = instance_lease(&a.state().instance_id);
    a.stop().await;
    assert_eq!(b.store().lease_holder(&lease).unwrap(), None, "given up");

    let x = b.twiml_digits(sid, "1230").await;
    assert_lost(&x);
    lost_then_paid_again(&b, sid, &c.id, payer, &vn).await;
}

/// The instance holding two calls is killed mid card entry (no graceful stop: its lease is
/// left to run out). A request while the lease still lasts cannot reach it: that call ends;
/// once the lease has run out the other call ends without trying. Both charges stay payable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_of_a_killed_instance_end_and_the_charges_stay_payable() {
    let Some((mut a, b)) = two_instances().await else {
        return skipped();
    };
    let (p1, p2) = ("01044446003", "01044446004");
    let c1 = a.charge(demo_charge(30_000, p1)).await;
    let c2 = a.charge(demo_charge(30_000, p2)).await;
    let (vn1, vn2) = (
        c1.virtual_number.clone().unwrap(),
        c2.virtual_number.clone().unwrap(),
    );
    call_mid_card_entry(&a, &b, "CA_killed_1", p1, &vn1).await;
    call_mid_card_entry(&a, &b, "CA_killed_2", p2, &vn2).await;

    let instance = a.state().instance_id.to_string();
    let lease = instance_lease(&instance);
    a.kill().await;
    assert_eq!(
        b.store().lease_holder(&lease).unwrap().as_deref(),
        Some(instance.as_str()),
        "a killed instance's lease lasts until it runs out"
    );

    // Still leased, but unreachable: the forward fails, the call ends.
    let x = b.twiml_digits("CA_killed_1", "1230").await;
    assert_lost(&x);
    lost_then_paid_again(&b, "CA_killed_1", &c1.id, p1, &vn1).await;

    // The lease runs out (fieldpay_server::coordination::INSTANCE_LEASE).
    let mut waited = Duration::ZERO;
    while b.store().lease_holder(&lease).unwrap().is_some() {
        assert!(waited < Duration::from_secs(15), "the lease never ran out");
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += Duration::from_millis(200);
    }
    let x = b.twiml_digits("CA_killed_2", "1230").await;
    assert_lost(&x);
    lost_then_paid_again(&b, "CA_killed_2", &c2.id, p2, &vn2).await;
}
