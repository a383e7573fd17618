//! The sandbox network's tests: every rule, the ledger, fault injection, the recovery of
//! unknown outcomes, and the canary that card data never reaches the ledger file.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{Datelike, TimeZone, Utc};
use fieldpay_protocol::validate::luhn_check_digit;
use fieldpay_protocol::{CardNumber, CardNumberError, Secret};
use rand::Rng;

use super::super::testcards::{TestOutcome, TEST_CARDS};
use super::super::{
    approve_with_recovery, approve_with_recovery_policy, Approval, ApprovalFailure, ApproveRequest,
    CancelRequest, CardCompany, CardConnector, CardInput, ConnectorError, DeclineCode,
    PaymentMethod, RecoveryPolicy, TxnState, NETWORK_CANCEL_REASON,
};
use super::rules::expiry_valid;
use super::SandboxCardNetwork;

const MERCHANT: &str = "m_demo";

/// A valid expiry a few years ahead.
fn future_expiry() -> String {
    let kst = Utc::now().with_timezone(&crate::clock::kst());
    format!("12{:02}", (kst.year() + 3) % 100)
}

fn num(number: &str) -> CardNumber {
    CardNumber::parse(number).unwrap_or_else(|e| panic!("{number}: {e}"))
}

fn card<'a>(number: &'a CardNumber, expiry: &'a str) -> CardInput<'a> {
    CardInput {
        number,
        expiry_mmyy: expiry,
        birth_or_business: Some("880714"),
        password2: Some("12"),
    }
}

fn req<'a>(key: &'a str, amount: i64, installments: u8, card: CardInput<'a>) -> ApproveRequest<'a> {
    ApproveRequest {
        key,
        order_name: "sandbox test",
        amount,
        installment_months: installments,
        method: PaymentMethod::Card(card),
        merchant_id: MERCHANT,
    }
}

fn net() -> SandboxCardNetwork {
    SandboxCardNetwork::open_in_memory().unwrap()
}

fn fast() -> RecoveryPolicy {
    RecoveryPolicy {
        inquire_attempts: 3,
        cancel_attempts: 3,
        retry_delay: Duration::from_millis(1),
    }
}

fn code_of(r: Result<Approval, ConnectorError>) -> DeclineCode {
    match r {
        Err(ConnectorError::Declined { code, .. }) => code,
        other => panic!("expected a decline, got {other:?}"),
    }
}

fn with_check_digit(partial: &str) -> String {
    format!("{partial}{}", luhn_check_digit(partial).unwrap())
}

struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        let n: u64 = rand::rng().random();
        TempDb(std::env::temp_dir().join(format!(
            "fieldpay-card-{name}-{}-{n:x}.sqlite",
            std::process::id()
        )))
    }
    fn files(&self) -> Vec<PathBuf> {
        ["", "-wal", "-shm", "-journal"]
            .iter()
            .map(|s| PathBuf::from(format!("{}{s}", self.0.display())))
            .collect()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for f in self.files() {
            let _ = std::fs::remove_file(f);
        }
    }
}

#[tokio::test]
async fn every_test_card_has_its_outcome() {
    let net = net();
    let exp = future_expiry();
    for (i, tc) in TEST_CARDS.iter().enumerate() {
        let key = format!("chg_tc_{i}");
        let r = net
            .approve(&req(&key, 10_000, 0, card(&num(tc.number), &exp)))
            .await;
        match tc.outcome {
            TestOutcome::Approve => {
                let a = r.unwrap_or_else(|e| panic!("{}: {e:?}", tc.number));
                assert_eq!(a.issuer, tc.company);
                assert_eq!(a.acquirer_code, tc.company.acquirer_code());
                assert_eq!(a.amount, 10_000);
                assert_eq!(a.approval_number.len(), 8);
                assert!(a.approval_number.bytes().all(|b| b.is_ascii_digit()));
                assert_eq!(a.card_last4, &tc.number[12..]);
                assert_eq!(
                    a.masked_card,
                    format!("{}******{}", &tc.number[..6], &tc.number[12..])
                );
                assert_eq!(net.approval_count(&key), 1);
                assert_eq!(
                    net.inquire(&key).await.unwrap(),
                    Some(TxnState::Approved(a))
                );
            }
            TestOutcome::IssuerTimeout => {
                assert_eq!(r, Err(ConnectorError::Timeout));
                assert_eq!(net.inquire(&key).await.unwrap(), None);
                assert_eq!(net.approval_count(&key), 0);
            }
            TestOutcome::LostAnswer => {
                assert_eq!(r, Err(ConnectorError::Timeout));
                let state = net.inquire(&key).await.unwrap().expect("approved");
                assert!(matches!(state, TxnState::Approved(ref a) if a.issuer == tc.company));
                assert_eq!(net.approval_count(&key), 1);
                // A repeat of the key returns the approval that was lost.
                let again = net
                    .approve(&req(&key, 10_000, 0, card(&num(tc.number), &exp)))
                    .await
                    .unwrap();
                assert_eq!(&again, state.approval());
                assert_eq!(net.approval_count(&key), 1);
            }
            outcome => {
                let Err(ConnectorError::Declined {
                    code,
                    masked_card,
                    issuer,
                }) = r
                else {
                    panic!("{}: expected decline, got {r:?}", tc.number);
                };
                assert_eq!(Some(code), outcome.decline_code());
                assert_eq!(issuer, Some(tc.company));
                assert_eq!(
                    masked_card.as_deref(),
                    Some(&*format!("{}******{}", &tc.number[..6], &tc.number[12..]))
                );
                assert_eq!(net.approval_count(&key), 0);
                assert_eq!(net.inquire(&key).await.unwrap(), None);
            }
        }
    }
}

#[tokio::test]
async fn password_00_is_wrong_password_for_any_card() {
    let net = net();
    let exp = future_expiry();
    for (i, tc) in TEST_CARDS.iter().enumerate() {
        let n = num(tc.number);
        let mut c = card(&n, &exp);
        c.password2 = Some("00");
        let r = net
            .approve(&req(&format!("chg_pw_{i}"), 10_000, 0, c))
            .await;
        match tc.outcome {
            TestOutcome::IssuerTimeout => assert_eq!(r, Err(ConnectorError::Timeout)),
            TestOutcome::LostOrStolen => assert_eq!(code_of(r), DeclineCode::LostOrStolen),
            _ => assert_eq!(code_of(r), DeclineCode::WrongPassword, "{}", tc.number),
        }
    }
    assert!(net.transactions().await.unwrap().is_empty());
    // Malformed password digits, too.
    let n = num(TEST_CARDS[0].number);
    let mut c = card(&n, &exp);
    c.password2 = Some("1");
    assert_eq!(
        code_of(net.approve(&req("chg_pw_x", 1000, 0, c)).await),
        DeclineCode::WrongPassword
    );
}

#[tokio::test]
async fn other_valid_cards_with_known_bins_approve() {
    let net = net();
    let exp = future_expiry();
    for (i, (bin, company)) in super::super::company::BIN_TABLE.iter().enumerate() {
        let number = with_check_digit(&format!("{bin}123456789"));
        let a = net
            .approve(&req(
                &format!("chg_any_{i}"),
                1_000,
                0,
                card(&num(&number), &exp),
            ))
            .await
            .unwrap();
        assert_eq!(a.issuer, *company);
    }
    // 14- and 19-digit numbers are accepted lengths.
    for (i, len) in [14usize, 19].into_iter().enumerate() {
        let partial = format!("{}{}", "457973", "1".repeat(len - 7));
        let number = with_check_digit(&partial);
        assert_eq!(number.len(), len);
        let a = net
            .approve(&req(
                &format!("chg_len_{i}"),
                1_000,
                0,
                card(&num(&number), &exp),
            ))
            .await
            .unwrap();
        assert_eq!(a.masked_card, format!("457973******{}", &number[len - 4..]));
    }
}

#[tokio::test]
async fn invalid_number_bin_expiry_and_installments() {
    let net = net();
    let exp = future_expiry();
    let good_digits = TEST_CARDS[1].number; // KB, approves
    let good = num(good_digits);
    let cases: Vec<(String, &str)> = vec![
        // Luhn failure
        (
            format!(
                "{}{}",
                &good_digits[..15],
                (good_digits.as_bytes()[15] - b'0' + 1) % 10
            ),
            "invalid",
        ),
        ("4579-7300-0000-0013".into(), "invalid"),
        ("4579730000000014".into(), "invalid"), // Luhn failure
        ("45797300000a0013".into(), "invalid"),
        (with_check_digit("457973000000"), "invalid"), // 13 digits
        (with_check_digit("4579730000000000000"), "invalid"), // 20 digits
        (String::new(), "invalid"),
        (with_check_digit("123456000000001"), "bin"),
    ];
    for (i, (number, want)) in cases.iter().enumerate() {
        match *want {
            // Check 1 is the card number's type: an invalid number cannot be sent at all.
            "invalid" => assert!(CardNumber::parse(number).is_err(), "{number}"),
            _ => {
                let n = num(number);
                let r = net
                    .approve(&req(&format!("chg_bad_{i}"), 1_000, 0, card(&n, &exp)))
                    .await;
                let Err(ConnectorError::Declined {
                    code,
                    masked_card,
                    issuer,
                }) = r
                else {
                    panic!()
                };
                assert_eq!(code, DeclineCode::UnknownBin);
                assert_eq!(issuer, None);
                assert_eq!(
                    masked_card.as_deref(),
                    Some(&*format!("123456******{}", &number[12..]))
                );
            }
        }
    }

    for bad_exp in ["0120", "1300", "0025", "12", "12345", "ab30", "0030"] {
        let r = net
            .approve(&req("chg_exp", 1_000, 0, card(&good, bad_exp)))
            .await;
        assert_eq!(code_of(r), DeclineCode::Expired, "{bad_exp}");
    }

    let mut c = card(&good, &exp);
    c.birth_or_business = Some("881399");
    assert_eq!(
        code_of(net.approve(&req("chg_birth", 1_000, 0, c)).await),
        DeclineCode::Other
    );
    c.birth_or_business = Some("1234567890");
    assert_eq!(
        code_of(net.approve(&req("chg_birth", 1_000, 0, c)).await),
        DeclineCode::Other
    );
    c.birth_or_business = None;
    c.password2 = None;
    net.approve(&req("chg_nobirth", 1_000, 0, c)).await.unwrap();

    for (amount, months) in [
        (49_999, 2u8),
        (100_000, 1),
        (100_000, 13),
        (100_000, 24),
        (1_000, 3),
    ] {
        let r = net
            .approve(&req("chg_inst", amount, months, card(&good, &exp)))
            .await;
        assert_eq!(
            code_of(r),
            DeclineCode::InvalidInstallments,
            "{amount} {months}"
        );
    }
    for (i, months) in [0u8, 2, 3, 6, 12].into_iter().enumerate() {
        let a = net
            .approve(&req(
                &format!("chg_inst_ok_{i}"),
                50_000,
                months,
                card(&good, &exp),
            ))
            .await
            .unwrap();
        assert_eq!(a.installment_months, months);
    }
    for amount in [0, -1] {
        assert_eq!(
            code_of(
                net.approve(&req("chg_amt", amount, 0, card(&good, &exp)))
                    .await
            ),
            DeclineCode::Other
        );
    }
    assert!(matches!(
        net.approve(&req("", 1_000, 0, card(&good, &exp))).await,
        Err(ConnectorError::Unavailable(_))
    ));
    assert_eq!(
        net.approval_count("chg_exp")
            + net.approval_count("chg_inst")
            + net.approval_count("chg_amt"),
        0
    );
}

#[test]
fn expiry_uses_korean_time() {
    // 2026-01-31 14:59 UTC is still January in Korea; 15:00 UTC is 1 February 00:00 KST.
    let jan = Utc.with_ymd_and_hms(2026, 1, 31, 14, 59, 0).unwrap();
    let feb = Utc.with_ymd_and_hms(2026, 1, 31, 15, 0, 0).unwrap();
    assert!(expiry_valid("0126", jan));
    assert!(!expiry_valid("0126", feb));
    assert!(expiry_valid("0226", feb));
    assert!(!expiry_valid("1225", feb));
    assert!(expiry_valid("0199", feb));
    assert!(!expiry_valid("0026", feb));
    assert!(!expiry_valid("1326", feb));
}

#[tokio::test]
async fn approve_is_idempotent_by_key() {
    let net = net();
    let exp = future_expiry();
    let n = num(TEST_CARDS[2].number);
    let c = card(&n, &exp);
    let a1 = net.approve(&req("chg_idem", 77_000, 3, c)).await.unwrap();
    let a2 = net.approve(&req("chg_idem", 77_000, 3, c)).await.unwrap();
    assert_eq!(a1, a2);
    assert_eq!(net.approval_count("chg_idem"), 1);
    assert_eq!(net.transactions().await.unwrap().len(), 1);

    // Same key, different amount / card / merchant: not the same transaction.
    assert_eq!(
        code_of(net.approve(&req("chg_idem", 78_000, 3, c)).await),
        DeclineCode::Other
    );
    assert_eq!(
        code_of(
            net.approve(&req(
                "chg_idem",
                77_000,
                3,
                card(&num(TEST_CARDS[3].number), &exp)
            ))
            .await
        ),
        DeclineCode::Other
    );
    let mut other_merchant = req("chg_idem", 77_000, 3, c);
    other_merchant.merchant_id = "m_other";
    assert_eq!(
        code_of(net.approve(&other_merchant).await),
        DeclineCode::Other
    );
    assert_eq!(net.transactions().await.unwrap().len(), 1);

    // A declined attempt leaves the key free for another card.
    let poor_number = num("5404470000000519");
    let poor = card(&poor_number, &exp);
    assert_eq!(
        code_of(net.approve(&req("chg_retry", 10_000, 0, poor)).await),
        DeclineCode::InsufficientFunds
    );
    let ok = net.approve(&req("chg_retry", 10_000, 0, c)).await.unwrap();
    assert_eq!(
        net.approve(&req("chg_retry", 10_000, 0, c)).await.unwrap(),
        ok
    );
    assert_eq!(net.approval_count("chg_retry"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_approves_of_one_key_make_one_transaction() {
    let net = net();
    let exp = future_expiry();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let net = net.clone();
        let exp = exp.clone();
        tasks.push(tokio::spawn(async move {
            net.approve(&req(
                "chg_race",
                55_000,
                2,
                card(&num(TEST_CARDS[4].number), &exp),
            ))
            .await
        }));
    }
    let mut numbers = std::collections::HashSet::new();
    for t in tasks {
        let a = t.await.unwrap().expect("every caller gets the approval");
        numbers.insert(a.approval_number);
    }
    assert_eq!(numbers.len(), 1);
    assert_eq!(net.approval_count("chg_race"), 1);
    assert_eq!(net.transactions().await.unwrap().len(), 1);
}

#[tokio::test]
async fn ledger_survives_reopen() {
    let file = TempDb::new("reopen");
    let exp = future_expiry();
    let approval = {
        let net = SandboxCardNetwork::open(&file.0).unwrap();
        net.approve(&req(
            "chg_persist",
            12_300,
            0,
            card(&num(TEST_CARDS[5].number), &exp),
        ))
        .await
        .unwrap()
    };
    let net = SandboxCardNetwork::open(&file.0).unwrap();
    assert_eq!(
        net.inquire("chg_persist").await.unwrap(),
        Some(TxnState::Approved(approval.clone()))
    );
    // Still idempotent after the restart.
    let again = net
        .approve(&req(
            "chg_persist",
            12_300,
            0,
            card(&num(TEST_CARDS[5].number), &exp),
        ))
        .await
        .unwrap();
    assert_eq!(again, approval);
    let canceled = net
        .cancel(&full_cancel("chg_persist", "refund"))
        .await
        .unwrap();
    drop(net);
    let net = SandboxCardNetwork::open(&file.0).unwrap();
    assert_eq!(net.inquire("chg_persist").await.unwrap(), Some(canceled));
    let journal: String = net
        .inner
        .lock()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal.to_ascii_lowercase(), "wal");
}

#[tokio::test]
async fn cancel_and_inquire() {
    let net = net();
    let exp = future_expiry();
    assert_eq!(net.inquire("chg_none").await.unwrap(), None);
    assert_eq!(
        net.cancel(&full_cancel("chg_none", "x")).await,
        Err(ConnectorError::NotFound)
    );

    let a = net
        .approve(&req(
            "chg_c",
            60_000,
            0,
            card(&num(TEST_CARDS[6].number), &exp),
        ))
        .await
        .unwrap();
    let state = net
        .cancel(&full_cancel("chg_c", "고객 요청 환불"))
        .await
        .unwrap();
    let TxnState::Canceled {
        approval,
        canceled_at,
    } = &state
    else {
        panic!("{state:?}")
    };
    assert_eq!(approval, &a);
    assert!(*canceled_at >= a.approved_at);
    assert_eq!(net.inquire("chg_c").await.unwrap(), Some(state.clone()));
    // The same cancel again (same idempotency key): the same answer, nothing more canceled.
    assert_eq!(
        net.cancel(&full_cancel("chg_c", "again")).await,
        Ok(state.clone())
    );
    // Another cancel: nothing is left.
    assert_eq!(
        net.cancel(&CancelRequest {
            idempotency_key: "chg_c-r2",
            ..full_cancel("chg_c", "again")
        })
        .await,
        Err(ConnectorError::AlreadyCanceled)
    );

    // Approving a canceled key again is refused, and charges nothing.
    assert_eq!(
        code_of(
            net.approve(&req(
                "chg_c",
                60_000,
                0,
                card(&num(TEST_CARDS[6].number), &exp)
            ))
            .await
        ),
        DeclineCode::Other
    );
    let txns = net.transactions().await.unwrap();
    assert_eq!(txns.len(), 1);
    assert_eq!(txns[0].cancel_reason.as_deref(), Some("고객 요청 환불"));
    assert_eq!(txns[0].state, state);

    // Injected cancel failures.
    net.approve(&req(
        "chg_c2",
        1_000,
        0,
        card(&num(TEST_CARDS[6].number), &exp),
    ))
    .await
    .unwrap();
    net.fail_next_cancels(1);
    assert_eq!(
        net.cancel(&full_cancel("chg_c2", "x")).await,
        Err(ConnectorError::Timeout)
    );
    assert!(net
        .cancel(&full_cancel("chg_c2", "x"))
        .await
        .unwrap()
        .is_canceled());
}

/// Partial cancels add up to the approved amount: each answers the canceled total so far, the
/// last one `Canceled`; a cancel repeated under its idempotency key answers what it answered
/// and cancels nothing more; more than remains is refused and changes nothing.
#[tokio::test]
async fn partial_cancels_add_up_once_each() {
    let net = net();
    let exp = future_expiry();
    let a = net
        .approve(&req(
            "chg_p",
            50_000,
            0,
            card(&num(TEST_CARDS[6].number), &exp),
        ))
        .await
        .unwrap();
    let part = |idem: &'static str, amount: Option<i64>| CancelRequest {
        key: "chg_p",
        idempotency_key: idem,
        reason: "부분 환불",
        amount,
    };
    let first = net.cancel(&part("chg_p-r1", Some(20_000))).await.unwrap();
    let TxnState::PartiallyCanceled {
        approval,
        canceled_amount,
        canceled_at,
    } = &first
    else {
        panic!("{first:?}")
    };
    assert_eq!((approval, *canceled_amount), (&a, 20_000));
    assert!(*canceled_at >= a.approved_at);
    assert_eq!(net.inquire("chg_p").await.unwrap(), Some(first.clone()));
    // Repeated: the same answer, still 20,000 canceled.
    assert_eq!(
        net.cancel(&part("chg_p-r1", Some(20_000))).await,
        Ok(first.clone())
    );
    assert_eq!(
        net.inquire("chg_p")
            .await
            .unwrap()
            .unwrap()
            .canceled_amount(),
        20_000
    );
    // The same key for another amount is refused.
    assert!(matches!(
        net.cancel(&part("chg_p-r1", Some(5_000))).await,
        Err(ConnectorError::Unavailable(_))
    ));
    // More than remains: refused, nothing changes.
    assert!(matches!(
        net.cancel(&part("chg_p-r2", Some(30_001))).await,
        Err(ConnectorError::Unavailable(_))
    ));
    let second = net.cancel(&part("chg_p-r3", Some(10_000))).await.unwrap();
    assert_eq!(second.canceled_amount(), 30_000);
    assert!(!second.is_canceled());
    // The rest (no amount): canceled in full.
    let last = net.cancel(&part("chg_p-r4", None)).await.unwrap();
    assert!(last.is_canceled(), "{last:?}");
    assert_eq!(last.canceled_amount(), 50_000);
    assert_eq!(net.cancel(&part("chg_p-r4", None)).await, Ok(last.clone()));
    assert_eq!(
        net.cancel(&part("chg_p-r5", Some(1))).await,
        Err(ConnectorError::AlreadyCanceled)
    );
    // The first answer replayed after later cancels is still the first answer.
    assert_eq!(net.cancel(&part("chg_p-r1", Some(20_000))).await, Ok(first));
    let txns = net.transactions().await.unwrap();
    assert_eq!(txns.len(), 1);
    assert_eq!(txns[0].state, last);
}

/// A ledger file made before partial cancels existed gets the cancels table when opened.
#[tokio::test]
async fn an_old_ledger_file_gets_the_cancels_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE sandbox_txn (
                id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, merchant_id TEXT NOT NULL,
                amount INTEGER NOT NULL CHECK (amount > 0), installment_months INTEGER NOT NULL,
                issuer_code TEXT NOT NULL, acquirer_code TEXT NOT NULL, masked_card TEXT NOT NULL,
                card_last4 TEXT NOT NULL, approval_number TEXT NOT NULL UNIQUE,
                state TEXT NOT NULL CHECK (state IN ('approved', 'canceled')),
                approved_at_ms INTEGER NOT NULL, canceled_at_ms INTEGER, cancel_reason TEXT,
                auto_pay INTEGER NOT NULL DEFAULT 0);
             INSERT INTO sandbox_txn (key, merchant_id, amount, installment_months, issuer_code,
                acquirer_code, masked_card, card_last4, approval_number, state, approved_at_ms)
             VALUES ('chg_old', 'm', 9000, 0, '01', '01', '940100******0014', '0014', '12345678',
                'approved', 1700000000000);",
        )
        .unwrap();
    }
    let net = SandboxCardNetwork::open(&path).unwrap();
    let s = net
        .cancel(&CancelRequest {
            key: "chg_old",
            idempotency_key: "chg_old-r1",
            reason: "x",
            amount: Some(4_000),
        })
        .await
        .unwrap();
    assert_eq!(s.canceled_amount(), 4_000);
}

#[tokio::test]
async fn injected_inquire_failures_count_down() {
    let net = net();
    net.fail_next_inquiries(2);
    assert_eq!(net.inquire("k").await, Err(ConnectorError::Timeout));
    assert_eq!(net.inquire("k").await, Err(ConnectorError::Timeout));
    assert_eq!(net.inquire("k").await, Ok(None));
}

#[tokio::test]
async fn recovery_issuer_timeout_is_not_charged() {
    let net = net();
    let exp = future_expiry();
    let r = approve_with_recovery(
        &net,
        &req("chg_to", 10_000, 0, card(&num("5409260000000915"), &exp)),
    )
    .await;
    assert_eq!(r, Err(ApprovalFailure::NotCharged));
    assert_eq!(net.approval_count("chg_to"), 0);
}

#[tokio::test]
async fn recovery_lost_answer_is_approved_once() {
    let net = net();
    let exp = future_expiry();
    let lost_number = num("9401010000000682");
    let lost = card(&lost_number, &exp);
    let a = approve_with_recovery(&net, &req("chg_lost", 10_000, 0, lost))
        .await
        .unwrap();
    assert_eq!(a.issuer, CardCompany::Bc);
    assert_eq!(net.approval_count("chg_lost"), 1);
    assert_eq!(
        net.inquire("chg_lost").await.unwrap(),
        Some(TxnState::Approved(a.clone()))
    );
    // Running it again with the same key changes nothing.
    let again = approve_with_recovery(&net, &req("chg_lost", 10_000, 0, lost))
        .await
        .unwrap();
    assert_eq!(again, a);
    assert_eq!(net.approval_count("chg_lost"), 1);
    // Inquire failing once still resolves.
    net.fail_next_inquiries(2);
    let b = approve_with_recovery_policy(&net, &req("chg_lost2", 10_000, 0, lost), &fast())
        .await
        .unwrap();
    assert_eq!(
        net.inquire("chg_lost2").await.unwrap(),
        Some(TxnState::Approved(b))
    );
}

#[tokio::test]
async fn recovery_in_doubt_sends_network_cancel() {
    let net = net();
    let exp = future_expiry();
    net.fail_next_inquiries(100);
    let r = approve_with_recovery(
        &net,
        &req("chg_doubt", 10_000, 0, card(&num("9401010000000682"), &exp)),
    )
    .await;
    assert_eq!(r, Err(ApprovalFailure::NotCharged));
    net.fail_next_inquiries(0);
    let txns = net.transactions().await.unwrap();
    assert_eq!(txns.len(), 1);
    assert_eq!(txns[0].key, "chg_doubt");
    assert!(txns[0].state.is_canceled());
    assert_eq!(
        txns[0].cancel_reason.as_deref(),
        Some(NETWORK_CANCEL_REASON)
    );

    // In doubt on a card that approved nothing: the cancel answers NotFound -> not charged.
    net.fail_next_inquiries(100);
    let r = approve_with_recovery_policy(
        &net,
        &req(
            "chg_doubt2",
            10_000,
            0,
            card(&num("5409260000000915"), &exp),
        ),
        &fast(),
    )
    .await;
    assert_eq!(r, Err(ApprovalFailure::NotCharged));
    assert_eq!(net.approval_count("chg_doubt2"), 0);

    // Neither inquire nor cancel gets through: in doubt, and the approval stands.
    net.fail_next_inquiries(100);
    net.fail_next_cancels(100);
    let r = approve_with_recovery_policy(
        &net,
        &req(
            "chg_doubt3",
            10_000,
            0,
            card(&num("9401010000000682"), &exp),
        ),
        &fast(),
    )
    .await;
    assert_eq!(r, Err(ApprovalFailure::InDoubt));
    net.fail_next_inquiries(0);
    net.fail_next_cancels(0);
    assert!(matches!(
        net.inquire("chg_doubt3").await.unwrap(),
        Some(TxnState::Approved(_))
    ));
}

#[tokio::test]
async fn recovery_passes_declines_and_approvals_through() {
    let net = net();
    let exp = future_expiry();
    let a = approve_with_recovery(
        &net,
        &req("chg_ok", 10_000, 0, card(&num(TEST_CARDS[7].number), &exp)),
    )
    .await
    .unwrap();
    assert_eq!(a.issuer, CardCompany::Woori);
    let r = approve_with_recovery(
        &net,
        &req("chg_no", 10_000, 0, card(&num("5401590000000616"), &exp)),
    )
    .await;
    assert_eq!(
        r,
        Err(ApprovalFailure::Declined {
            code: DeclineCode::OverLimit,
            masked_card: Some("540159******0616".into()),
            issuer: Some(CardCompany::Lotte),
        })
    );
    let r = approve_with_recovery(
        &net,
        &req("", 10_000, 0, card(&num(TEST_CARDS[7].number), &exp)),
    )
    .await;
    assert_eq!(r, Err(ApprovalFailure::NotCharged));
}

#[tokio::test]
async fn register_and_auto_pay() {
    let net = net();
    let exp = future_expiry();
    let tok = net
        .register(MERCHANT, &card(&num(TEST_CARDS[8].number), &exp))
        .await
        .unwrap();
    assert!(tok.token.expose().starts_with("tok_") && tok.token.expose().len() > 12);
    assert_eq!(tok.issuer, CardCompany::Nh);
    assert_eq!(tok.last4, "0015");
    assert_eq!(tok.masked_card, "546112******0015");
    let tok2 = net
        .register(MERCHANT, &card(&num(TEST_CARDS[8].number), &exp))
        .await
        .unwrap();
    assert_ne!(tok.token, tok2.token);

    fn auto<'a>(key: &'a str, token: &'a Secret, amount: i64) -> ApproveRequest<'a> {
        ApproveRequest {
            key,
            order_name: "sandbox test",
            amount,
            installment_months: 0,
            method: PaymentMethod::Registered { token },
            merchant_id: MERCHANT,
        }
    }
    let token = &tok.token;
    let a = net.approve(&auto("chg_auto", token, 33_000)).await.unwrap();
    assert_eq!(a.issuer, CardCompany::Nh);
    assert_eq!(a.masked_card, tok.masked_card);
    assert_eq!(
        net.approve(&auto("chg_auto", token, 33_000)).await.unwrap(),
        a
    );
    let txns = net.transactions().await.unwrap();
    assert!(txns[0].auto_pay);

    // Unknown token, or another merchant's token.
    assert_eq!(
        code_of(
            net.approve(&auto("chg_auto2", &Secret::new("tok_nope"), 1_000))
                .await
        ),
        DeclineCode::InvalidCard
    );
    let mut foreign = auto("chg_auto3", token, 1_000);
    foreign.merchant_id = "m_other";
    assert_eq!(
        code_of(net.approve(&foreign).await),
        DeclineCode::InvalidCard
    );

    // Registration declines like approval; issuer state applies at each charge.
    assert_eq!(
        net.register(MERCHANT, &card(&num("4512450000000414"), &exp))
            .await
            .unwrap_err(),
        ConnectorError::Declined {
            code: DeclineCode::LostOrStolen,
            masked_card: Some("451245******0414".into()),
            issuer: Some(CardCompany::Samsung)
        }
    );
    // A number failing Luhn cannot be registered: it is not a `CardNumber`.
    assert_eq!(
        CardNumber::parse("4579730000000014").unwrap_err(),
        CardNumberError::CheckDigit
    );
    assert!(matches!(
        net.register(MERCHANT, &card(&num(TEST_CARDS[0].number), "0120"))
            .await,
        Err(ConnectorError::Declined {
            code: DeclineCode::Expired,
            ..
        })
    ));
    assert_eq!(
        net.register(MERCHANT, &card(&num("5409260000000915"), &exp))
            .await,
        Err(ConnectorError::Timeout)
    );
    let poor = net
        .register(MERCHANT, &card(&num("5404470000000519"), &exp))
        .await
        .unwrap();
    assert_eq!(
        code_of(net.approve(&auto("chg_auto4", &poor.token, 1_000)).await),
        DeclineCode::InsufficientFunds
    );
}

#[tokio::test]
async fn canary_card_data_never_reaches_the_ledger_file() {
    const CANARY: &str = "5409263141592659";
    const EXPIRY: &str = "0839";
    const BIRTH: &str = "880714";
    let file = TempDb::new("canary");
    let net = SandboxCardNetwork::open(&file.0).unwrap();
    let canary_number = num(CANARY);
    let canary = CardInput {
        number: &canary_number,
        expiry_mmyy: EXPIRY,
        birth_or_business: Some(BIRTH),
        password2: Some("47"),
    };
    let a = net
        .approve(&req("chg_canary", 120_000, 3, canary))
        .await
        .unwrap();
    assert_eq!(a.masked_card, "540926******2659");
    let tok = net.register(MERCHANT, &canary).await.unwrap();
    net.cancel(&full_cancel("chg_canary", "canary refund"))
        .await
        .unwrap();
    let _ = net
        .approve(&req("chg_canary2", 1_000, 0, canary))
        .await
        .unwrap();

    let mut scrub: Vec<String> = vec![tok.token.expose().to_owned()];
    for t in net.transactions().await.unwrap() {
        scrub.push(t.state.approval().approval_number.clone());
    }
    let check = |when: &str| {
        let mut found_any = false;
        let mut masked_seen = false;
        for path in file.files() {
            let Ok(mut bytes) = std::fs::read(&path) else {
                continue;
            };
            found_any = true;
            // Random values we did store may contain any 4 digits by chance: blank them.
            for s in &scrub {
                let s = s.as_bytes();
                let mut i = 0;
                while i + s.len() <= bytes.len() {
                    if &bytes[i..i + s.len()] == s {
                        bytes[i..i + s.len()].fill(0);
                    }
                    i += 1;
                }
            }
            for secret in [CANARY, "3141592", EXPIRY, BIRTH] {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{secret} found in {} ({when})",
                    path.display()
                );
            }
            // The masked form is what is kept (and shows the search sees the data).
            masked_seen |= bytes.windows(16).any(|w| w == b"540926******2659");
        }
        assert!(found_any && masked_seen, "ledger files not read ({when})");
    };
    check("open");
    drop(net);
    check("closed");
}

/// A cancel of the whole transaction `key`.
fn full_cancel<'a>(key: &'a str, reason: &'a str) -> CancelRequest<'a> {
    CancelRequest {
        key,
        idempotency_key: key,
        reason,
        amount: None,
    }
}
