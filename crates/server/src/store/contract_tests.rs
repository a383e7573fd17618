//! Behaviour every store must have, written once over `dyn Store` and run by each store's
//! tests (`sqlite::tests`, `postgres::tests`).

use std::sync::Arc;
use std::time::Duration;

use super::{Store, StoreError};
use crate::auth::limits::KeyedLimit;

/// The effects of a new charge in these tests: its bill texted to the payer, counted against
/// `quota` when given.
pub(crate) fn bill_text(
    rec: &super::ChargeRecord,
    quota: Option<super::TextLimits>,
) -> super::Effects {
    super::Effects {
        sms: vec![super::NewSms {
            to: rec.payer_phone.clone(),
            kind: fieldpay_protocol::sms::SmsKind::Bill,
            body: format!("bill {}", rec.charge.id),
            quota,
        }],
        webhooks: Vec::new(),
    }
}

/// One bill per payer phone and clock hour; no limit per merchant.
pub(crate) fn one_text_per_phone_hour() -> super::TextLimits {
    super::TextLimits {
        per_phone_per_hour: 1,
        per_merchant_per_hour: None,
    }
}

/// Text-quota rows as the table of one row per scope and hour held them, for the migrations
/// to one row per scope (SQLite 21, PostgreSQL 12).
pub(crate) const QUOTA_ROWS_PER_HOUR: &str = "INSERT INTO text_quota (scope, hour, count) VALUES
   ('phone:01030000001', '2026-12-05T10', 3),
   ('phone:01030000001', '2026-12-05T11', 1),
   ('phone:01030000002', '2026-12-04T09', 2),
   ('merchant:m1', '2026-12-05T11', 7);";

/// What those migrations keep of [`QUOTA_ROWS_PER_HOUR`] (ordered by scope): each scope's
/// latest hour and its count.
pub(crate) fn assert_latest_quota_hours(rows: &[(String, String, i64)]) {
    let row = |scope: &str, hour: &str, count: i64| (scope.to_string(), hour.to_string(), count);
    assert_eq!(
        rows,
        [
            row("merchant:m1", "2026-12-05T11", 7),
            row("phone:01030000001", "2026-12-05T11", 1),
            row("phone:01030000002", "2026-12-04T09", 2),
        ]
    );
}

/// A bare API charge of 12,000 won to `phone`, made at `at` (expiring ten minutes later).
pub(crate) fn api_charge(
    id: &str,
    merchant_id: &fieldpay_protocol::MerchantId,
    phone: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> super::NewCharge {
    let body: fieldpay_protocol::charge::CreateCharge = serde_json::from_value(
        serde_json::json!({ "amount": 12_000, "goods_name": "감기약", "payer_phone": phone }),
    )
    .unwrap();
    super::NewCharge {
        id: id.into(),
        merchant_id: merchant_id.clone(),
        rep_id: None,
        api_key_id: None,
        origin: fieldpay_protocol::charge::ChargeOrigin::Api,
        request: crate::domain::ChargeRequest::parse(&body).unwrap(),
        expires_at: at + chrono::Duration::minutes(10),
        idempotency_key: None,
        request_hash: None,
        link: None,
    }
}

/// A lease has one holder until it runs out; the holder renews it; giving it up frees it.
pub(crate) fn leases(s: &dyn Store) {
    let ttl = Duration::from_millis(300);
    assert!(s.take_lease("sweep", "a", ttl).unwrap());
    assert!(!s.take_lease("sweep", "b", ttl).unwrap());
    assert!(s.take_lease("sweep", "a", ttl).unwrap());
    std::thread::sleep(Duration::from_millis(400));
    assert!(s.take_lease("sweep", "b", ttl).unwrap());
    assert!(!s.take_lease("sweep", "a", ttl).unwrap());
    s.release_lease("sweep", "a").unwrap(); // not a's: nothing happens
    assert!(!s.take_lease("sweep", "a", ttl).unwrap());
    s.release_lease("sweep", "b").unwrap();
    assert!(s.take_lease("sweep", "a", ttl).unwrap());
}

/// Attempts taken at once by many threads (as by many instances) come out of one allowance:
/// a burst of 10 lets exactly 10 through, and the refused ones are told how long to wait.
pub(crate) fn one_allowance_for_all(s: Arc<dyn Store>) {
    let limit = KeyedLimit::new(1, 10).unwrap(); // one a minute after 10
    let now = chrono::Utc::now().timestamp_millis();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| {
                        let mut refused = None;
                        s.take_allowance("k", now, &mut |stored| match limit.decide(stored, now) {
                            Ok(next) => {
                                refused = None;
                                Some(next)
                            }
                            Err(wait) => {
                                refused = Some(wait);
                                None
                            }
                        })
                        .unwrap();
                        refused
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<Option<Duration>> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(answers.iter().filter(|a| a.is_none()).count(), 10);
    assert!(answers
        .iter()
        .flatten()
        .all(|wait| *wait == Duration::from_secs(60)));
    // Another key has its own allowance.
    let mut taken = false;
    s.take_allowance("other", now, &mut |stored| {
        taken = limit.decide(stored, now).is_ok();
        limit.decide(stored, now).ok()
    })
    .unwrap();
    assert!(taken);
}

// ------------------------------------------------------------------ partial refunds

mod refunds {
    use chrono::{Duration, Utc};
    use fieldpay_protocol::charge::{ChargeOrigin, ChargeStatus, CreateCharge};
    use fieldpay_protocol::records::LedgerKind;
    use fieldpay_protocol::sync::ChangeData;
    use fieldpay_protocol::{AccountId, ChargeId, ErrorCode, MerchantId};

    use crate::domain::{ChargeRequest, MerchantSettings};
    use crate::store::*;

    pub(super) struct Paid {
        pub merchant: MerchantId,
        pub account: AccountId,
        pub charge: ChargeId,
    }

    fn no_effects(_: &ChargeRecord) -> Effects {
        Effects::default()
    }

    pub(super) fn code<T: std::fmt::Debug>(r: StoreResult<T>) -> ErrorCode {
        match r {
            Err(StoreError::Rejected { code, .. }) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// A merchant (`code`) with a client account, and an approved charge of `amount` KRW that
    /// names the account.
    pub(super) fn paid_charge(s: &dyn Store, code: &str, amount: i64) -> Paid {
        let settings = MerchantSettings {
            number_pool: vec![format!("1600{:04}", code.len() * 7 % 10_000)],
            ..MerchantSettings::default()
        };
        let m = s.create_merchant(code, "상사", &settings).unwrap();
        s.upsert_accounts(
            &m.id,
            &[NewAccount {
                code: "A1".into(),
                name: "익수제약".into(),
                owner_name: "김민수".into(),
                business_number: "1234567891".into(),
                phone: "01012345678".into(),
                address: "서울".into(),
                credit_limit: 10_000_000,
                rep_login: None,
            }],
        )
        .unwrap();
        let account = AccountId::new(s.accounts(&m.id).unwrap()[0].id.clone());
        let body: CreateCharge = serde_json::from_value(serde_json::json!({
            "amount": amount, "goods_name": "감기약", "payer_phone": "010-4000-0001",
            "account_id": account.as_str(),
        }))
        .unwrap();
        let id = ChargeId::new(format!("ch_{code}"));
        let now = Utc::now();
        let new = NewCharge {
            id: id.clone(),
            merchant_id: m.id.clone(),
            rep_id: None,
            api_key_id: None,
            origin: ChargeOrigin::Api,
            request: ChargeRequest::parse(&body).unwrap(),
            expires_at: now + Duration::minutes(60),
            idempotency_key: None,
            request_hash: None,
            link: None,
        };
        s.create_charges(&[new], now, &no_effects).unwrap()[0]
            .as_ref()
            .unwrap();
        let limits = ApprovalLimits {
            declines_per_charge: 3,
            declines_per_caller_per_hour: 10,
        };
        s.begin_approval(&id, &limits, "inst", now).unwrap();
        let payment = NewPayment {
            connector: "test".into(),
            approval_number: format!("A{code}"),
            issuer_code: "01".into(),
            issuer_name: "BC카드".into(),
            acquirer_code: "01".into(),
            masked_card: "940100******0014".into(),
            installment_months: 0,
            amount,
            approved_at: now,
            receipt_token: format!("rt_{code}"),
        };
        let rec = s.record_approval(&id, &payment, now, &no_effects).unwrap();
        assert_eq!(rec.charge.status, ChargeStatus::Approved);
        Paid {
            merchant: m.id,
            account,
            charge: id,
        }
    }

    /// Claims and completes a refund; the claim's number.
    pub(super) fn refund(s: &dyn Store, p: &Paid, amount: Option<i64>) -> (u32, ChargeRecord) {
        let claim = s
            .begin_refund(&p.merchant, &p.charge, amount, Some("요청"), Utc::now())
            .unwrap();
        let c = claim.refund.expect("a refund claimed");
        let rec = s
            .record_refund(&p.charge, c.n, Utc::now(), &no_effects)
            .unwrap();
        (c.n, rec)
    }

    /// The Refund entries of the ledger: (ref_id, amount).
    pub(super) fn refund_entries(s: &dyn Store, p: &Paid) -> Vec<(String, i64)> {
        s.pull(&p.merchant, 0, 1000, None)
            .unwrap()
            .changes
            .into_iter()
            .filter_map(|c| match c.data {
                ChangeData::Ledger(l) if l.kind == LedgerKind::Refund => {
                    Some((l.ref_id.unwrap_or_default(), l.amount))
                }
                _ => None,
            })
            .collect()
    }

    pub(super) fn record(s: &dyn Store, p: &Paid) -> ChargeRecord {
        s.charge(&p.merchant, &p.charge).unwrap().unwrap()
    }

    pub(super) fn no_fx(rec: &ChargeRecord) -> Effects {
        no_effects(rec)
    }
}

/// A partial refund, then the rest: each refund counts once in the payment's refunded total,
/// has its own ledger entry and its amount in the day's settlement; the charge stays approved
/// until nothing remains. Asking more than remains is refused and changes nothing.
pub(crate) fn partial_then_rest(s: &dyn Store) {
    use fieldpay_protocol::charge::ChargeStatus;
    use fieldpay_protocol::ErrorCode;
    use refunds::*;

    let p = paid_charge(s, "pr", 50_000);
    let start = s.balance(&p.merchant, &p.account).unwrap();
    let now = chrono::Utc::now();

    let (n, rec) = refund(s, &p, Some(20_000));
    assert_eq!(n, 1);
    assert_eq!(rec.charge.status, ChargeStatus::Approved);
    let pay = rec.charge.payment.as_ref().unwrap();
    assert_eq!((pay.amount, pay.refunded_amount), (50_000, 20_000));
    assert_eq!(pay.refunds.len(), 1);
    assert_eq!(pay.refunds[0].amount, 20_000);
    assert_eq!(pay.refunds[0].reason.as_deref(), Some("요청"));
    assert_eq!(pay.refunded_at, None, "not refunded in full");
    assert_eq!(s.balance(&p.merchant, &p.account).unwrap(), start + 20_000);
    // Told again: nothing more.
    s.record_refund(&p.charge, 1, now, &no_fx).unwrap();
    assert_eq!(s.balance(&p.merchant, &p.account).unwrap(), start + 20_000);
    assert_eq!(
        record(s, &p).charge.payment.unwrap().refunded_amount,
        20_000
    );

    // More than remains, or nothing: refused, nothing claimed.
    assert_eq!(
        code(s.begin_refund(&p.merchant, &p.charge, Some(30_001), None, now)),
        ErrorCode::RefundExceedsRemaining
    );
    assert_eq!(
        code(s.begin_refund(&p.merchant, &p.charge, Some(0), None, now)),
        ErrorCode::InvalidAmount
    );

    // The rest.
    let (n, rec) = refund(s, &p, None);
    assert_eq!(n, 2);
    assert_eq!(rec.charge.status, ChargeStatus::Refunded);
    let pay = rec.charge.payment.as_ref().unwrap();
    assert_eq!(pay.refunded_amount, 50_000);
    assert_eq!(
        pay.refunds
            .iter()
            .map(|r| (r.n, r.amount))
            .collect::<Vec<_>>(),
        vec![(1, 20_000), (2, 30_000)]
    );
    assert!(pay.refunded_at.is_some());
    assert_eq!(
        rec.charge
            .events
            .iter()
            .filter(|e| e.status == ChargeStatus::Refunded)
            .count(),
        1
    );
    assert_eq!(s.balance(&p.merchant, &p.account).unwrap(), start + 50_000);
    let id = p.charge.as_str();
    assert_eq!(
        refund_entries(s, &p),
        vec![(id.to_string(), 20_000), (format!("{id}-r2"), 30_000)]
    );

    // Refunded in full: a whole refund again is nothing to do; any amount is refused.
    let again = s
        .begin_refund(&p.merchant, &p.charge, None, None, now)
        .unwrap();
    assert!(again.refund.is_none());
    assert_eq!(again.record.charge.status, ChargeStatus::Refunded);
    assert_eq!(
        code(s.begin_refund(&p.merchant, &p.charge, Some(1), None, now)),
        ErrorCode::RefundExceedsRemaining
    );

    // The day's settlement: approved 50,000, two refunds of 50,000 in all.
    let day = fieldpay_protocol::time::kst_date(now);
    let day = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap();
    use crate::store::settlement::Period;
    let report = s.settlement(&p.merchant, Period::Day(day), None).unwrap();
    assert_eq!(report.total.approved_amount, 50_000);
    assert_eq!(report.total.refunded_count, 2);
    assert_eq!(report.total.refunded_amount, 50_000);
    assert_eq!(report.total.net_amount, 0);
    // The month holds the same; the month before and after, nothing.
    let month = s.settlement(&p.merchant, Period::Month(day), None).unwrap();
    assert_eq!(month.total, report.total);
    assert_eq!(
        month.period,
        fieldpay_protocol::settlement::SettlementPeriod::Month
    );
    assert_eq!(month.date, day.format("%Y-%m").to_string());
    use chrono::Months;
    for other in [day - Months::new(1), day + Months::new(1)] {
        let r = s
            .settlement(&p.merchant, Period::Month(other), None)
            .unwrap();
        assert_eq!(
            r.total.approved_count + r.total.refunded_count,
            0,
            "{other}"
        );
    }
}

/// A refund interrupted between its claim and its completion (a crash) stays pending: another
/// amount is refused while it is; the same amount asked again is the same refund (same n, so
/// the same idempotency key at the network) and completes once. A refund the network refused
/// is given up: its number stays used, the next refund gets a new one.
pub(crate) fn retry_after_a_crash(s: &dyn Store) {
    use fieldpay_protocol::charge::ChargeStatus;
    use fieldpay_protocol::ErrorCode;
    use refunds::*;

    let p = paid_charge(s, "crash", 10_000);
    let start = s.balance(&p.merchant, &p.account).unwrap();
    let now = chrono::Utc::now();
    let claim = s
        .begin_refund(&p.merchant, &p.charge, Some(4_000), None, now)
        .unwrap()
        .refund
        .unwrap();
    assert_eq!((claim.n, claim.amount, claim.retry), (1, 4_000, false));
    // ... the process dies here, before the network's answer is recorded. The worker finds
    // it once it is old enough.
    let second = chrono::Duration::seconds(1);
    assert!(s.pending_refunds(now - second, 10).unwrap().is_empty());
    let pending = s.pending_refunds(now + second, 10).unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (
            &pending[0].charge_id,
            &pending[0].merchant_id,
            pending[0].n,
            pending[0].amount
        ),
        (&p.charge, &p.merchant, 1, 4_000)
    );
    assert_eq!(
        record(s, &p).charge.payment.unwrap().refunded_amount,
        0,
        "a pending refund is not counted"
    );
    assert_eq!(
        code(s.begin_refund(&p.merchant, &p.charge, Some(3_000), None, now)),
        ErrorCode::InvalidState
    );
    let retry = s
        .begin_refund(&p.merchant, &p.charge, Some(4_000), None, now)
        .unwrap()
        .refund
        .unwrap();
    assert_eq!((retry.n, retry.amount, retry.retry), (1, 4_000, true));
    s.record_refund(&p.charge, 1, now, &no_fx).unwrap();
    assert!(s.pending_refunds(now + second, 10).unwrap().is_empty());
    s.record_refund(&p.charge, 1, now, &no_fx).unwrap();
    assert_eq!(record(s, &p).charge.payment.unwrap().refunded_amount, 4_000);
    assert_eq!(s.balance(&p.merchant, &p.account).unwrap(), start + 4_000);

    // A refund the network refused: given up; its number is not used again.
    let c = s
        .begin_refund(&p.merchant, &p.charge, Some(2_000), None, now)
        .unwrap()
        .refund
        .unwrap();
    assert_eq!(c.n, 2);
    s.fail_refund(&p.charge, 2, now).unwrap();
    assert_eq!(
        code(s.record_refund(&p.charge, 2, now, &no_fx)),
        ErrorCode::InvalidState
    );
    let (n, rec) = refund(s, &p, None);
    assert_eq!(n, 3);
    assert_eq!(rec.charge.status, ChargeStatus::Refunded);
    let pay = rec.charge.payment.unwrap();
    assert_eq!(pay.refunded_amount, 10_000);
    assert_eq!(
        pay.refunds
            .iter()
            .map(|r| (r.n, r.amount))
            .collect::<Vec<_>>(),
        vec![(1, 4_000), (3, 6_000)]
    );
    assert_eq!(s.balance(&p.merchant, &p.account).unwrap(), start + 10_000);
    // Whole refund of the whole payment after a crash: the same (no amount) again.
    let q = paid_charge(s, "crash2", 7_000);
    let c = s
        .begin_refund(&q.merchant, &q.charge, None, None, now)
        .unwrap()
        .refund
        .unwrap();
    let again = s
        .begin_refund(&q.merchant, &q.charge, None, None, now)
        .unwrap()
        .refund
        .unwrap();
    assert_eq!((again.n, again.amount, again.retry), (c.n, 7_000, true));
    assert!(again.whole_rest);
}

/// Refunds of one charge asked at once from many threads (as from many instances) never
/// refund more than was approved: each refund that is claimed is counted once, and the
/// refunded total is the sum of the refunds claimed and completed.
pub(crate) fn concurrent_refunds(s: Arc<dyn Store>) {
    use fieldpay_protocol::charge::ChargeStatus;
    use fieldpay_protocol::ErrorCode;
    use refunds::*;

    let p = paid_charge(s.as_ref(), "race", 10_000);
    let start = s.balance(&p.merchant, &p.account).unwrap();
    let threads: Vec<_> = (1..=8i64)
        .map(|i| {
            let (s, m, c) = (s.clone(), p.merchant.clone(), p.charge.clone());
            std::thread::spawn(move || {
                // Each thread's own amount: 1,000 .. 8,000 KRW.
                let amount = i * 1_000;
                for _ in 0..200 {
                    match s.begin_refund(&m, &c, Some(amount), None, chrono::Utc::now()) {
                        Ok(claim) => {
                            let r = claim.refund.expect("a claim");
                            assert!(!r.retry, "{r:?}");
                            s.record_refund(&c, r.n, chrono::Utc::now(), &no_fx)
                                .unwrap();
                            return Some((r.n, amount));
                        }
                        Err(StoreError::Rejected {
                            code: ErrorCode::InvalidState,
                            ..
                        }) => std::thread::sleep(std::time::Duration::from_millis(2)),
                        Err(StoreError::Rejected {
                            code: ErrorCode::RefundExceedsRemaining,
                            ..
                        }) => return None,
                        Err(e) => panic!("{e:?}"),
                    }
                }
                panic!("never claimed");
            })
        })
        .collect();
    let mut made: Vec<(u32, i64)> = threads
        .into_iter()
        .filter_map(|t| t.join().unwrap())
        .collect();
    made.sort_unstable();
    let total: i64 = made.iter().map(|(_, a)| a).sum();
    assert!(total <= 10_000, "{made:?}");
    assert!(!made.is_empty());
    let ns: Vec<u32> = made.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        ns,
        (1..=made.len() as u32).collect::<Vec<_>>(),
        "one n each"
    );
    let rec = record(s.as_ref(), &p);
    let pay = rec.charge.payment.as_ref().unwrap();
    assert_eq!(pay.refunded_amount, total);
    assert_eq!(
        pay.refunds
            .iter()
            .map(|r| (r.n, r.amount))
            .collect::<Vec<_>>(),
        made
    );
    assert_eq!(rec.charge.status == ChargeStatus::Refunded, total == 10_000);
    assert_eq!(s.balance(&p.merchant, &p.account).unwrap(), start + total);
    assert_eq!(refund_entries(s.as_ref(), &p).len(), made.len());
}

/// A batch of marks mixing sent and failed texts: every sent text is marked; each sent bill
/// moves its charge to sms_sent once (a second bill of the same charge, or a bill of a charge
/// past requested, moves nothing); the moves come back in the texts' order; a failed text
/// waits for its retry.
pub(crate) fn a_batch_of_marks_moves_each_bill_once_in_order(s: &dyn Store) {
    use chrono::{Duration as Span, Utc};
    use fieldpay_protocol::charge::ChargeStatus;
    use fieldpay_protocol::sms::{SmsKind, SmsStatus};

    use super::{Effects, NewSms, SmsAttempt};
    use crate::domain::MerchantSettings;

    let settings = MerchantSettings {
        number_pool: vec!["16000001".into()],
        ..MerchantSettings::default()
    };
    let m = s.create_merchant("m", "상사", &settings).unwrap();
    let t0 = Utc::now();
    let charge = |id: &str, phone: &str| api_charge(id, &m.id, phone, t0);
    let group = [
        charge("ch_1", "010-3000-0001"),
        charge("ch_2", "010-3000-0002"),
        charge("ch_3", "010-3000-0003"),
        charge("ch_4", "010-3000-0004"),
    ];
    for r in s
        .create_charges(&group, t0, &|_| Effects::default())
        .unwrap()
    {
        r.unwrap();
    }
    s.cancel_charge(&m.id, &"ch_3".into(), None, t0, &|_| Effects::default())
        .unwrap();
    // Texts in this order: c1's bill, c2's bill, c1's bill again, c3's bill, a notice, c4's.
    let texts = [
        (Some("ch_1"), SmsKind::Bill, "01030000001"),
        (Some("ch_2"), SmsKind::Bill, "01030000002"),
        (Some("ch_1"), SmsKind::Bill, "01030000001"),
        (Some("ch_3"), SmsKind::Bill, "01030000003"),
        (None, SmsKind::Notice, "01030000005"),
        (Some("ch_4"), SmsKind::Bill, "01030000004"),
    ];
    for (i, (charge_id, kind, to)) in texts.iter().enumerate() {
        let sms = NewSms {
            to: (*to).into(),
            kind: *kind,
            body: format!("text {i}"),
            quota: None,
        };
        s.enqueue_sms(&m.id, charge_id.map(Into::into).as_ref(), &sms, t0)
            .unwrap();
    }
    let mut claimed = s.claim_sms(10, t0, t0 + Span::seconds(20)).unwrap();
    claimed.sort_by_key(|t| t.body.clone());
    assert_eq!(claimed.len(), texts.len());
    let sent = || SmsAttempt::Sent {
        provider: "sandbox".into(),
        provider_id: Some("p".into()),
    };
    // Sent, failed (retried later), then four sent: two runs of sent texts around a failure.
    let marks: Vec<(i64, SmsAttempt)> = claimed
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let attempt = if i == 1 {
                SmsAttempt::Failed {
                    reason: "timed out".into(),
                    retry_at: Some(t0 + Span::seconds(30)),
                }
            } else {
                sent()
            };
            (t.id, attempt)
        })
        .collect();
    let at = t0 + Span::seconds(2);
    let moved = s
        .mark_sms_batch(&marks, at, &|_| Effects::default())
        .unwrap();
    let moved: Vec<&str> = moved.iter().map(|c| c.event.charge_id.as_str()).collect();
    assert_eq!(moved, ["ch_1", "ch_4"]);
    let status = |id: &str| s.charge(&m.id, &id.into()).unwrap().unwrap();
    for (id, want) in [
        ("ch_1", ChargeStatus::SmsSent),
        ("ch_2", ChargeStatus::Requested),
        ("ch_3", ChargeStatus::Canceled),
        ("ch_4", ChargeStatus::SmsSent),
    ] {
        let c = status(id);
        assert_eq!(c.charge.status, want, "{id}");
        let sent_events = c
            .charge
            .events
            .iter()
            .filter(|e| e.status == ChargeStatus::SmsSent)
            .count();
        assert_eq!(
            sent_events,
            usize::from(want == ChargeStatus::SmsSent),
            "{id}"
        );
    }
    for (i, (_, _, to)) in texts.iter().enumerate().filter(|(i, _)| *i != 1) {
        let mine: Vec<_> = s
            .sms_for_phone(to, 10)
            .unwrap()
            .into_iter()
            .filter(|t| t.body == format!("text {i}"))
            .collect();
        assert_eq!(mine.len(), 1, "text {i}");
        assert_eq!(
            (mine[0].status, mine[0].attempts),
            (SmsStatus::Sent, 1),
            "text {i}"
        );
    }
    let waiting = s.pending_sms(10).unwrap();
    let waiting: Vec<_> = waiting
        .iter()
        .map(|t| (t.body.as_str(), t.attempts))
        .collect();
    assert_eq!(waiting, [("text 1", 1)]);
}

/// A text that fails waits for its retry time (and is not claimed before it, nor while
/// another sender holds it); every attempt is counted; given up, it is failed and its charge
/// gets a `text_failed` event with the reason while its status stays; a bill sent again after
/// that moves the charge on.
pub(crate) fn text_retries_and_final_failure(s: &dyn Store) {
    use chrono::{Duration as Span, Utc};
    use fieldpay_protocol::charge::{ChargeEventKind, ChargeOrigin, ChargeStatus, CreateCharge};
    use fieldpay_protocol::sms::{SmsKind, SmsStatus};

    use super::{Effects, NewCharge, NewSms, SmsAttempt};
    use crate::domain::{ChargeRequest, MerchantSettings};

    let settings = MerchantSettings {
        number_pool: vec!["16000001".into()],
        ..MerchantSettings::default()
    };
    let m = s.create_merchant("m", "상사", &settings).unwrap();
    let body: CreateCharge = serde_json::from_value(
        serde_json::json!({ "amount": 12_000, "goods_name": "감기약", "payer_phone": "010-3000-0001" }),
    )
    .unwrap();
    let t0 = Utc::now();
    let new = NewCharge {
        id: "ch_text".into(),
        merchant_id: m.id.clone(),
        rep_id: None,
        api_key_id: None,
        origin: ChargeOrigin::Api,
        request: ChargeRequest::parse(&body).unwrap(),
        expires_at: t0 + Span::minutes(60),
        idempotency_key: None,
        request_hash: None,
        link: None,
    };
    let created = s
        .create_charges(&[new], t0, &|rec| bill_text(rec, None))
        .unwrap();
    let charge_id = created[0].as_ref().unwrap().0.charge.id.clone();
    let cid: fieldpay_protocol::ChargeId = charge_id.clone().into();

    // First attempt: claimed, fails, waits 10 s.
    let got = s.claim_sms(10, t0, t0 + Span::seconds(20)).unwrap();
    assert_eq!(got.len(), 1);
    let id = got[0].id;
    assert_eq!((got[0].attempts, got[0].last_error.clone()), (0, None));
    let changed = s
        .mark_sms_batch(
            &[(
                id,
                SmsAttempt::Failed {
                    reason: "Solapi: timed out".into(),
                    retry_at: Some(t0 + Span::seconds(10)),
                },
            )],
            t0,
            &|_| Effects::default(),
        )
        .unwrap();
    assert!(changed.is_empty(), "a retry changes no charge");
    assert!(s
        .claim_sms(10, t0 + Span::seconds(9), t0 + Span::seconds(30))
        .unwrap()
        .is_empty());
    assert_eq!(s.pending_sms(10).unwrap().len(), 1, "still pending");

    // Due: taken by one sender; another does not take it while the claim lasts.
    let t1 = t0 + Span::seconds(11);
    let got = s.claim_sms(10, t1, t1 + Span::seconds(20)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].attempts, 1);
    assert_eq!(got[0].last_error.as_deref(), Some("Solapi: timed out"));
    assert!(s
        .claim_sms(10, t1 + Span::seconds(5), t1 + Span::seconds(25))
        .unwrap()
        .is_empty());

    // Refused: given up at once. The charge shows it; its status stays; what the text's
    // failure causes (the merchant's webhook) is written with it.
    let hook = |rec: &super::ChargeRecord| Effects {
        sms: Vec::new(),
        webhooks: vec![super::NewWebhook {
            id: "msg_text_failed".into(),
            event_type: "charge.text_failed".into(),
            payload: format!("{{\"id\":\"{}\"}}", rec.charge.id),
            url: "https://example.com/hook".into(),
        }],
    };
    let changed = s
        .mark_sms_batch(
            &[(
                id,
                SmsAttempt::Failed {
                    reason: "수신거부 번호 (Solapi 3059)".into(),
                    retry_at: None,
                },
            )],
            t1,
            &hook,
        )
        .unwrap();
    let hooks = s.webhooks(&m.id, 10).unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].event_type, "charge.text_failed");
    assert_eq!(hooks[0].payload, format!("{{\"id\":\"{charge_id}\"}}"));
    assert_eq!(changed.len(), 1);
    let stored = s.charge(&m.id, &cid).unwrap().unwrap();
    assert_eq!(changed[0], stored.status_change());
    let c = &stored.charge;
    assert_eq!(c.status, ChargeStatus::Requested);
    let last = c.events.last().unwrap();
    assert_eq!(last.kind, ChargeEventKind::TextFailed);
    assert_eq!(last.status, ChargeStatus::Requested);
    assert_eq!(
        last.detail.as_deref(),
        Some("결제 요청 문자: 수신거부 번호 (Solapi 3059)")
    );
    assert!(s.pending_sms(10).unwrap().is_empty());
    let far = t1 + Span::days(1);
    assert!(s.claim_sms(10, far, far).unwrap().is_empty());
    // Marking it again (a late answer of another sender) changes nothing.
    assert!(s
        .mark_sms_batch(
            &[(
                id,
                SmsAttempt::Failed {
                    reason: "again".into(),
                    retry_at: None
                }
            )],
            t1,
            &hook
        )
        .unwrap()
        .is_empty());
    assert_eq!(s.webhooks(&m.id, 10).unwrap().len(), 1, "no second webhook");
    assert!(s.sms_for_phone("01030000001", 10).unwrap().is_empty());

    // The rep sends the bill again: sent, the charge moves on.
    s.enqueue_sms(
        &m.id,
        Some(&cid),
        &NewSms {
            to: "01030000001".into(),
            kind: SmsKind::Bill,
            body: "bill again".into(),
            quota: None,
        },
        t1,
    )
    .unwrap();
    let got = s.claim_sms(10, t1, t1 + Span::seconds(20)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].attempts, 0);
    let changed = s
        .mark_sms_batch(
            &[(
                got[0].id,
                SmsAttempt::Sent {
                    provider: "solapi".into(),
                    provider_id: Some("G4V1".into()),
                },
            )],
            t1,
            &|_| Effects::default(),
        )
        .unwrap();
    let stored = s.charge(&m.id, &cid).unwrap().unwrap();
    assert_eq!(changed, [stored.status_change()]);
    assert_eq!(stored.charge.status, ChargeStatus::SmsSent);
    let kinds: Vec<(ChargeStatus, ChargeEventKind)> = stored
        .charge
        .events
        .iter()
        .map(|e| (e.status, e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (ChargeStatus::Requested, ChargeEventKind::Status),
            (ChargeStatus::Requested, ChargeEventKind::TextFailed),
            (ChargeStatus::SmsSent, ChargeEventKind::Status),
        ]
    );
    let texts = s.sms_for_phone("01030000001", 10).unwrap();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].status, SmsStatus::Sent);
    assert_eq!(texts[0].attempts, 1);
}

// ------------------------------------------------------------------ administration

/// Merchants' profiles and status, pools of numbers (one pool per number, all or none, a
/// bound number stays), reps' passwords, API key listings and their last use, operator
/// tokens and the audit log.
pub(crate) fn administration(s: &dyn Store) {
    use chrono::{Duration, Utc};
    use fieldpay_protocol::auth::Role;
    use fieldpay_protocol::charge::{ChargeOrigin, CreateCharge};
    use fieldpay_protocol::{ChargeId, ErrorCode, MerchantId, Secret};

    use crate::domain::{ChargeRequest, MerchantProfile, MerchantSettings, MerchantStatus};
    use crate::store::{Effects, NewAudit, NewCharge};

    let code = |r: Result<(), StoreError>| match r {
        Err(StoreError::Rejected { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let profile = MerchantProfile {
        representative: "김대표".into(),
        phone: "0212345678".into(),
        address: "서울 중구".into(),
    };
    let settings = MerchantSettings {
        number_pool: vec!["16000101".into()],
        ..MerchantSettings::default()
    };
    let a = s
        .create_merchant_with("a-co", "에이상사", &profile, &settings)
        .unwrap();
    assert_eq!(a.status, MerchantStatus::Active);
    assert_eq!(s.merchant(&a.id).unwrap().unwrap(), a);
    let b = s
        .create_merchant("b-co", "비상사", &MerchantSettings::default())
        .unwrap();
    let codes: Vec<String> = s
        .list_merchants()
        .unwrap()
        .into_iter()
        .map(|m| m.code)
        .collect();
    assert_eq!(codes, ["a-co", "b-co"]);

    // Profile and status.
    let mut p2 = profile.clone();
    p2.address = "부산".into();
    assert!(s.update_merchant_profile(&a.id, "에이", &p2).unwrap());
    assert!(!s
        .update_merchant_profile(&MerchantId::from("m_nope"), "x", &p2)
        .unwrap());
    let got = s.merchant(&a.id).unwrap().unwrap();
    assert_eq!((got.name.as_str(), &got.profile), ("에이", &p2));
    assert!(s
        .set_merchant_status(&a.id, MerchantStatus::Suspended)
        .unwrap());
    assert!(!s
        .set_merchant_status(&a.id, MerchantStatus::Suspended)
        .unwrap());
    assert_eq!(
        s.merchant(&a.id).unwrap().unwrap().status,
        MerchantStatus::Suspended
    );
    assert!(s
        .set_merchant_status(&a.id, MerchantStatus::Active)
        .unwrap());

    // Numbers: appended in order; one in any pool refuses the whole call.
    s.add_numbers(&a.id, &["16000102".into(), "16000103".into()])
        .unwrap();
    assert_eq!(
        s.merchant(&a.id).unwrap().unwrap().settings.number_pool,
        ["16000101", "16000102", "16000103"]
    );
    for (m, n) in [(&b.id, "16000103"), (&a.id, "16000101")] {
        let r = s.add_numbers(m, &["16000199".into(), n.into()]);
        assert_eq!(code(r), ErrorCode::Conflict);
    }
    assert_eq!(
        s.merchant_by_number("16000199").unwrap(),
        None,
        "nothing added"
    );
    assert_eq!(
        code(s.remove_number(&b.id, "16000101")),
        ErrorCode::NotFound
    );
    // A number bound to a pending charge stays.
    let body: CreateCharge = serde_json::from_value(serde_json::json!({
        "amount": 1000, "goods_name": "감기약", "payer_phone": "010-4000-0002",
    }))
    .unwrap();
    let now = Utc::now();
    let charge = NewCharge {
        id: ChargeId::new("ch_admin"),
        merchant_id: a.id.clone(),
        rep_id: None,
        api_key_id: None,
        origin: ChargeOrigin::Api,
        request: ChargeRequest::parse(&body).unwrap(),
        expires_at: now + Duration::minutes(60),
        idempotency_key: None,
        request_hash: None,
        link: None,
    };
    let rec = s
        .create_charges(&[charge], now, &|_| Effects::default())
        .unwrap()
        .remove(0)
        .unwrap()
        .0;
    assert_eq!(rec.virtual_number, "16000101");
    assert_eq!(
        code(s.remove_number(&a.id, "16000101")),
        ErrorCode::InvalidState
    );
    s.remove_number(&a.id, "16000102").unwrap();
    assert_eq!(
        s.merchant(&a.id).unwrap().unwrap().settings.number_pool,
        ["16000101", "16000103"]
    );
    s.cancel_charge(
        &a.id,
        &ChargeId::from(rec.charge.id.as_str()),
        None,
        now,
        &|_| Effects::default(),
    )
    .unwrap();
    // A suspended merchant's charge is refused in the store's own transaction (whatever a
    // cache says), and nothing is stored.
    s.set_merchant_status(&a.id, MerchantStatus::Suspended)
        .unwrap();
    let body: CreateCharge = serde_json::from_value(serde_json::json!({
        "amount": 1000, "goods_name": "감기약", "payer_phone": "010-4000-0003",
    }))
    .unwrap();
    let refused = s
        .create_charges(
            &[NewCharge {
                id: ChargeId::new("ch_suspended"),
                merchant_id: a.id.clone(),
                rep_id: None,
                api_key_id: None,
                origin: ChargeOrigin::Api,
                request: ChargeRequest::parse(&body).unwrap(),
                expires_at: now + Duration::minutes(60),
                idempotency_key: None,
                request_hash: None,
                link: None,
            }],
            now,
            &|_| Effects::default(),
        )
        .unwrap()
        .remove(0);
    assert_eq!(code(refused.map(|_| ())), ErrorCode::MerchantSuspended);
    assert!(s
        .charge_any(&ChargeId::new("ch_suspended"))
        .unwrap()
        .is_none());
    s.set_merchant_status(&a.id, MerchantStatus::Active)
        .unwrap();
    s.remove_number(&a.id, "16000101").unwrap();
    assert_eq!(s.merchant_by_number("16000101").unwrap(), None);

    // Reps: the one-time password flag goes with the hash.
    let rep = s
        .create_rep(&a.id, "kim", "김영업", &Secret::from("h1"), Role::Rep)
        .unwrap();
    s.create_rep(&a.id, "lee", "이영업", &Secret::from("h2"), Role::Manager)
        .unwrap();
    assert!(!s.rep(&a.id, &rep).unwrap().unwrap().must_change_password);
    assert!(s
        .set_rep_password(&a.id, &rep, &Secret::from("h3"), true)
        .unwrap());
    let r = s.rep(&a.id, &rep).unwrap().unwrap();
    assert!(r.must_change_password && r.password_hash.expose() == "h3");
    assert!(!s
        .set_rep_password(&b.id, &rep, &Secret::from("h4"), false)
        .unwrap());
    assert_eq!(s.rep(&b.id, &rep).unwrap().map(|r| r.id), None);
    let logins: Vec<String> = s
        .list_reps(&a.id)
        .unwrap()
        .into_iter()
        .map(|r| r.login)
        .collect();
    assert_eq!(logins, ["kim", "lee"]);

    // API keys: listed with names; the last use written at most once a minute.
    let k1 = s.create_api_key(&a.id, "hash-a1", "fpk_a1", "ERP").unwrap();
    let keys = s.list_api_keys(&a.id).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (keys[0].name.as_str(), keys[0].prefix.as_str()),
        ("ERP", "fpk_a1")
    );
    assert_eq!(
        (keys[0].last_used_at.clone(), keys[0].revoked_at.clone()),
        (None, None)
    );
    let t0 = Utc::now();
    s.touch_api_key(&k1, t0).unwrap();
    let first = s.list_api_keys(&a.id).unwrap()[0]
        .last_used_at
        .clone()
        .unwrap();
    s.touch_api_key(&k1, t0 + Duration::seconds(30)).unwrap();
    assert_eq!(
        s.list_api_keys(&a.id).unwrap()[0].last_used_at.as_ref(),
        Some(&first)
    );
    s.touch_api_key(&k1, t0 + Duration::seconds(61)).unwrap();
    assert_ne!(
        s.list_api_keys(&a.id).unwrap()[0].last_used_at.as_ref(),
        Some(&first)
    );
    assert!(s.revoke_api_key(&a.id, &k1).unwrap());
    assert!(s.list_api_keys(&a.id).unwrap()[0].revoked_at.is_some());
    assert!(s.list_api_keys(&b.id).unwrap().is_empty());

    // Operator tokens.
    let op = s
        .create_operator_token("op-hash", "fpo_abc", "ops")
        .unwrap();
    let found = s.operator_token("op-hash").unwrap().unwrap();
    assert_eq!(
        (found.id.as_str(), found.name.as_str()),
        (op.as_str(), "ops")
    );
    assert_eq!(s.operator_token("nope").unwrap(), None);
    assert!(s.revoke_operator_token(&op).unwrap());
    assert!(!s.revoke_operator_token(&op).unwrap());
    assert_eq!(s.operator_token("op-hash").unwrap(), None);

    // The audit log: newest first, by merchant or all.
    let detail = serde_json::json!({ "n": 1 });
    for (action, m) in [("one", Some(&a.id)), ("two", Some(&b.id)), ("three", None)] {
        s.append_audit(&NewAudit {
            actor: "cli",
            action,
            merchant_id: m,
            detail: &detail,
        })
        .unwrap();
    }
    let all: Vec<String> = s
        .audit(None, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(all, ["three", "two", "one"]);
    let of_a = s.audit(Some(&a.id), 10).unwrap();
    assert_eq!(of_a.len(), 1);
    assert_eq!(
        (
            of_a[0].actor.as_str(),
            of_a[0].merchant_id.as_deref(),
            &of_a[0].detail
        ),
        ("cli", Some(a.id.as_str()), &detail)
    );
    assert_eq!(s.audit(None, 2).unwrap().len(), 2);
}

/// Payment links: stored and read four ways; a signed link is stored on its first charge and
/// found again by its signature; a link has at most one live charge (a second claim answers
/// the first charge), a declined-for-good or expired charge lets a new one be made, a paid
/// link takes no more and cannot be canceled, a canceled or expired link takes none; a charge
/// refused for another reason leaves no signed link behind.
pub(crate) fn payment_links(s: Arc<dyn Store>) {
    use super::links::{LinkMode, LinkSource, LinkState, LinkUse, NewPaymentLink};
    use super::{ApprovalLimits, NewCharge};
    use crate::domain::{ChargeRequest, MerchantSettings};
    use chrono::{Duration as Span, Utc};
    use fieldpay_protocol::charge::{ChargeOrigin, ChargeStatus, CreateCharge};
    use fieldpay_protocol::{ChargeId, ErrorCode};

    let settings = MerchantSettings {
        number_pool: vec!["16001111".into(), "16002222".into()],
        ..MerchantSettings::default()
    };
    let m = s.create_merchant("links", "링크상사", &settings).unwrap();
    let t0 = Utc::now();
    let link = |id: &str, source: LinkSource, sig: Option<&str>| NewPaymentLink {
        id: id.into(),
        merchant_id: m.id.clone(),
        source,
        signature: sig.map(str::to_string),
        mode: LinkMode::Shop,
        goods_name: "한우 세트".into(),
        amount: 50_000,
        payer_name: Some("김민수".into()),
        payer_phone: Some("01040000001".into()),
        payer_email: None,
        order_ref: Some("O-1".into()),
        orderer_name: None,
        orderer_phone: None,
        expires_at: t0 + Span::hours(1),
        installments: true,
        status_token: format!("tok_{id}"),
        created_by: "test".into(),
    };
    let no_fx = |_: &super::ChargeRecord| super::Effects::default();
    let charge = |id: &str, phone: &str, link: LinkUse, now| {
        let body: CreateCharge = serde_json::from_value(serde_json::json!({
            "amount": 50000, "goods_name": "한우 세트", "payer_phone": phone,
        }))
        .unwrap();
        let new = NewCharge {
            id: ChargeId::new(id),
            merchant_id: m.id.clone(),
            rep_id: None,
            api_key_id: None,
            origin: ChargeOrigin::WebLink,
            request: ChargeRequest::parse(&body).unwrap(),
            expires_at: t0 + Span::minutes(30),
            idempotency_key: None,
            request_hash: None,
            link: Some(link),
        };
        s.create_charges(&[new], now, &no_fx).unwrap().remove(0)
    };

    // An API link: stored, read by id, by token; not another merchant's.
    let api = s
        .create_payment_link(&link("pl_a", LinkSource::Api, None), t0)
        .unwrap();
    assert_eq!(api.state(t0), LinkState::Open);
    assert_eq!(api.link.payer_phone.as_deref(), Some("01040000001"));
    assert_eq!(s.payment_link(&m.id, "pl_a").unwrap().unwrap(), api);
    assert_eq!(s.payment_link_any("pl_a").unwrap().unwrap(), api);
    assert_eq!(s.payment_link_by_token("tok_pl_a").unwrap().unwrap(), api);
    let other_settings = MerchantSettings {
        number_pool: vec!["16003333".into()],
        ..MerchantSettings::default()
    };
    let other = s.create_merchant("other", "남", &other_settings).unwrap();
    assert!(s.payment_link(&other.id, "pl_a").unwrap().is_none());
    assert!(matches!(
        s.create_payment_link(&link("pl_a", LinkSource::Api, None), t0),
        Err(StoreError::Rejected {
            code: ErrorCode::Conflict,
            ..
        })
    ));

    // The first charge claims it; a second claim (a double submit) answers the same charge.
    let (c1, created) =
        charge("ch_l1", "010-4000-0001", LinkUse::Stored("pl_a".into()), t0).unwrap();
    assert!(created);
    let (again, created) =
        charge("ch_l2", "010-4000-0002", LinkUse::Stored("pl_a".into()), t0).unwrap();
    assert!(!created);
    assert_eq!(again.charge.id, c1.charge.id);
    assert!(s.charge_any(&ChargeId::new("ch_l2")).unwrap().is_none());
    let rec = s.payment_link(&m.id, "pl_a").unwrap().unwrap();
    assert_eq!(rec.charge_id, Some(ChargeId::new("ch_l1")));
    assert!(rec.charge_live);

    // Its charge expires: the link is open again and the next charge is made.
    let later = t0 + Span::minutes(31);
    s.expire_due(later, &no_fx).unwrap();
    let rec = s.payment_link(&m.id, "pl_a").unwrap().unwrap();
    assert_eq!(rec.charge_status, Some(ChargeStatus::Expired));
    assert_eq!(rec.state(later), LinkState::Open);
    let (c3, created) = charge(
        "ch_l3",
        "010-4000-0001",
        LinkUse::Stored("pl_a".into()),
        later,
    )
    .unwrap();
    assert!(created);

    // Paid: no further charge, no cancel.
    let limits = ApprovalLimits {
        declines_per_charge: 3,
        declines_per_caller_per_hour: 10,
    };
    s.begin_approval(&c3.id(), &limits, "inst", later).unwrap();
    let payment = super::NewPayment {
        connector: "test".into(),
        approval_number: "A1".into(),
        issuer_code: "01".into(),
        issuer_name: "BC카드".into(),
        acquirer_code: "01".into(),
        masked_card: "940100******0014".into(),
        installment_months: 0,
        amount: 50_000,
        approved_at: later,
        receipt_token: "rt_links".into(),
    };
    s.record_approval(&c3.id(), &payment, later, &no_fx)
        .unwrap();
    let rec = s.payment_link(&m.id, "pl_a").unwrap().unwrap();
    assert_eq!(rec.state(later), LinkState::Paid);
    assert_eq!(rec.state(t0 + Span::days(9)), LinkState::Paid);
    let refused = charge(
        "ch_l4",
        "010-4000-0001",
        LinkUse::Stored("pl_a".into()),
        later,
    );
    assert!(matches!(
        refused,
        Err(StoreError::Rejected {
            code: ErrorCode::InvalidState,
            ..
        })
    ));
    assert!(s.charge_any(&ChargeId::new("ch_l4")).unwrap().is_none());
    assert!(s.cancel_payment_link(&m.id, "pl_a", later).is_err());

    // Canceled: twice is fine; no charge; unknown links are not found.
    s.create_payment_link(&link("pl_b", LinkSource::Api, None), t0)
        .unwrap();
    let c = s.cancel_payment_link(&m.id, "pl_b", t0).unwrap();
    assert_eq!(c.state(t0), LinkState::Canceled);
    assert_eq!(
        s.cancel_payment_link(&m.id, "pl_b", t0).unwrap().state(t0),
        LinkState::Canceled
    );
    assert!(charge("ch_b", "010-4000-0003", LinkUse::Stored("pl_b".into()), t0).is_err());
    assert!(matches!(
        s.cancel_payment_link(&m.id, "pl_none", t0),
        Err(StoreError::Rejected {
            code: ErrorCode::NotFound,
            ..
        })
    ));
    assert!(charge(
        "ch_n",
        "010-4000-0003",
        LinkUse::Stored("pl_none".into()),
        t0
    )
    .is_err());

    // Expired: no charge.
    s.create_payment_link(&link("pl_c", LinkSource::Api, None), t0)
        .unwrap();
    let past = t0 + Span::hours(2);
    assert!(charge(
        "ch_c",
        "010-4000-0003",
        LinkUse::Stored("pl_c".into()),
        past
    )
    .is_err());
    assert_eq!(
        s.payment_link(&m.id, "pl_c").unwrap().unwrap().state(past),
        LinkState::Expired
    );

    // A signed link: stored with its first charge, found by its signature; the same signature
    // again (a new id offered) is the same link.
    let sig = "ab".repeat(32);
    let (s1, created) = charge(
        "ch_s1",
        "010-4000-0004",
        LinkUse::Signed(Box::new(link("pl_s1", LinkSource::Signed, Some(&sig)))),
        t0,
    )
    .unwrap();
    assert!(created);
    let stored = s.payment_link_by_signature(&m.id, &sig).unwrap().unwrap();
    assert_eq!(stored.id(), "pl_s1");
    assert_eq!(stored.link.source, LinkSource::Signed);
    assert_eq!(stored.charge_id, Some(s1.id()));
    let (s2, created) = charge(
        "ch_s2",
        "010-4000-0004",
        LinkUse::Signed(Box::new(link("pl_s2", LinkSource::Signed, Some(&sig)))),
        t0,
    )
    .unwrap();
    assert!(!created);
    assert_eq!(s2.charge.id, "ch_s1");
    assert!(s.payment_link_any("pl_s2").unwrap().is_none());
    assert!(s
        .payment_link_by_signature(&other.id, &sig)
        .unwrap()
        .is_none());

    // A signed link whose first charge is refused (every number bound to this phone) is not
    // stored.
    let sig2 = "cd".repeat(32);
    for (i, n) in ["ch_p1", "ch_p2"].iter().enumerate() {
        let l = link(
            &format!("pl_p{i}"),
            LinkSource::Signed,
            Some(&format!("{i}{}", "e".repeat(63))),
        );
        charge(n, "010-4000-0009", LinkUse::Signed(Box::new(l)), t0).unwrap();
    }
    let refused = charge(
        "ch_s3",
        "010-4000-0009",
        LinkUse::Signed(Box::new(link("pl_s3", LinkSource::Signed, Some(&sig2)))),
        t0,
    );
    assert!(matches!(
        refused,
        Err(StoreError::Rejected {
            code: ErrorCode::NumberPoolExhausted,
            ..
        })
    ));
    assert!(s.payment_link_by_signature(&m.id, &sig2).unwrap().is_none());
}

// ------------------------------------------------------------------ collections

/// A collection is written with its ledger entry, change-log row and receipt in one
/// transaction; the same id is answered as stored (nothing written twice); a refusal writes
/// nothing; a void offsets the entry, is audited, and is refused the second time. Another
/// merchant's collection of the same id is its own.
pub(crate) fn collections(s: &dyn Store) {
    use chrono::Utc;
    use fieldpay_protocol::auth::Role;
    use fieldpay_protocol::collection::{CollectionInput, CollectionMethod, PromissoryNote};
    use fieldpay_protocol::records::LedgerKind;
    use fieldpay_protocol::sms::SmsKind;
    use fieldpay_protocol::sync::ChangeData;
    use fieldpay_protocol::{AccountId, ErrorCode, RepId};

    use self::refunds::code;
    use crate::domain::MerchantSettings;
    use crate::store::*;

    let setup = |code: &str| {
        let m = s
            .create_merchant(code, "상사", &MerchantSettings::default())
            .unwrap();
        let secret = fieldpay_protocol::Secret::from("x".to_string());
        let rep = s
            .create_rep(&m.id, "r1", "김영업", &secret, Role::Rep)
            .unwrap();
        let other = s
            .create_rep(&m.id, "r2", "이영업", &secret, Role::Rep)
            .unwrap();
        let row = |code: &str, login: &str, phone: &str| NewAccount {
            code: code.into(),
            name: format!("{code}약국"),
            owner_name: "김민수".into(),
            business_number: "1234567891".into(),
            phone: phone.into(),
            address: "서울".into(),
            credit_limit: 10_000_000,
            rep_login: Some(login.into()),
        };
        s.upsert_accounts(
            &m.id,
            &[
                row("A1", "r1", "01012345678"),
                row("A2", "r2", "01022223333"),
            ],
        )
        .unwrap();
        let accounts = s.accounts(&m.id).unwrap();
        let id_of = |code: &str| {
            AccountId::new(accounts.iter().find(|a| a.code == code).unwrap().id.clone())
        };
        s.add_ledger(
            &m.id,
            &NewLedger {
                account_id: id_of("A1"),
                kind: LedgerKind::Adjustment,
                amount: 300_000,
                ref_id: None,
                memo: "기초 잔액".into(),
                at: Utc::now(),
            },
        )
        .unwrap();
        (m.id, rep, other, id_of("A1"), id_of("A2"))
    };
    let (mid, rep, other_rep, own, others) = setup("colA");
    let input = |id: &str, account: &AccountId, method, amount| CollectionInput {
        collection_id: id.into(),
        account_id: account.as_str().into(),
        method,
        amount,
        memo: String::new(),
        note: None,
        collected_at: "2026-12-04T01:00:00.000Z".into(),
    };
    let receipt = |c: &fieldpay_protocol::collection::Collection,
                   a: &fieldpay_protocol::records::Account,
                   balance: i64| {
        Some(NewSms {
            to: a.phone.clone(),
            kind: SmsKind::Receipt,
            body: format!("{} {} 잔액 {balance}", c.method, c.amount),
            quota: None,
        })
    };
    // Queued (nothing sends them here).
    let receipts = |phone: &str| {
        s.pending_sms(1000)
            .unwrap()
            .into_iter()
            .filter(|x| x.kind == SmsKind::Receipt && x.to == phone)
            .map(|x| x.body)
            .collect::<Vec<_>>()
    };
    let now = Utc::now();

    let cash = input("col_00000001", &own, CollectionMethod::Cash, 100_000);
    let c = s
        .record_collection(&mid, &rep, Some(&rep), &cash, now, &receipt)
        .unwrap();
    assert_eq!(
        (c.amount, c.method, c.voided.is_none()),
        (100_000, CollectionMethod::Cash, true)
    );
    assert_eq!(s.balance(&mid, &own).unwrap(), 200_000);
    assert_eq!(
        receipts("01012345678"),
        vec!["cash 100000 잔액 200000".to_string()]
    );
    // Again: as stored, nothing more.
    let again = s
        .record_collection(&mid, &rep, Some(&rep), &cash, now, &receipt)
        .unwrap();
    assert_eq!(again, c);
    assert_eq!(s.balance(&mid, &own).unwrap(), 200_000);
    assert_eq!(receipts("01012345678").len(), 1);
    // The id is another rep's: refused.
    assert_eq!(
        code(s.record_collection(&mid, &other_rep, None, &cash, now, &receipt)),
        ErrorCode::Conflict
    );

    // Refusals write nothing: another rep's account, an unknown account.
    let theirs = input("col_00000002", &others, CollectionMethod::Transfer, 5_000);
    assert_eq!(
        code(s.record_collection(&mid, &rep, Some(&rep), &theirs, now, &receipt)),
        ErrorCode::Forbidden
    );
    let nowhere = input(
        "col_00000003",
        &AccountId::new("acc_x"),
        CollectionMethod::Cash,
        5_000,
    );
    assert_eq!(
        code(s.record_collection(&mid, &rep, Some(&rep), &nowhere, now, &receipt)),
        ErrorCode::NotFound
    );
    assert!(s.collection(&mid, "col_00000002").unwrap().is_none());
    assert!(receipts("01022223333").is_empty());
    // A manager (no `only`) may record on any account of the merchant; a note keeps its note.
    let mut note = input("col_00000004", &others, CollectionMethod::Note, 70_000);
    note.note = Some(PromissoryNote {
        number: "AB-1".into(),
        issuer_bank: "국민은행".into(),
        due_date: "2027-01-04".into(),
    });
    let n = s
        .record_collection(&mid, &rep, None, &note, now, &receipt)
        .unwrap();
    assert_eq!(n.note, note.note);
    assert_eq!(s.balance(&mid, &others).unwrap(), -70_000);

    let list = s.collections(&mid, Some(&own), 10).unwrap();
    assert_eq!(list, vec![c.clone()]);
    assert_eq!(s.collections(&mid, None, 10).unwrap().len(), 2);

    // The change feed carries the collection and its entry.
    let page = s.pull(&mid, 0, 1000, None).unwrap();
    assert!(page
        .changes
        .iter()
        .any(|ch| matches!(&ch.data, ChangeData::Collection(x) if x.id == c.id)));
    assert!(page.changes.iter().any(|ch| matches!(&ch.data,
        ChangeData::Ledger(l) if l.kind == LedgerKind::Collection && l.ref_id.as_deref() == Some("col_00000001") && l.amount == -100_000)));
    let cursor = page.cursor;

    // Void: offset, marked, audited, logged; twice refused; unknown not found.
    let manager = RepId::new("rep_manager");
    let v = s
        .void_collection(&mid, &c.id, "중복 입력", &manager, now)
        .unwrap();
    let voided = v.voided.clone().expect("voided");
    assert_eq!(
        (voided.reason.as_str(), voided.by.as_str()),
        ("중복 입력", "rep_manager")
    );
    assert_eq!(s.balance(&mid, &own).unwrap(), 300_000);
    assert_eq!(
        code(s.void_collection(&mid, &c.id, "again", &manager, now)),
        ErrorCode::Conflict
    );
    assert_eq!(s.balance(&mid, &own).unwrap(), 300_000);
    assert_eq!(
        code(s.void_collection(&mid, "col_nope", "x", &manager, now)),
        ErrorCode::NotFound
    );
    let audit = s.audit(Some(&mid), 10).unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "collection.void")
            .count(),
        1
    );
    let page = s.pull(&mid, cursor, 1000, None).unwrap();
    assert!(page
        .changes
        .iter()
        .any(|ch| matches!(&ch.data, ChangeData::Collection(x) if x.voided.is_some())));
    assert!(page.changes.iter().any(|ch| matches!(&ch.data,
        ChangeData::Ledger(l) if l.kind == LedgerKind::CollectionVoid && l.amount == 100_000)));

    // Another merchant: the same collection id is its own; the first merchant's void does not
    // reach it.
    let (mid_b, rep_b, _, own_b, _) = setup("colB");
    let b = s
        .record_collection(
            &mid_b,
            &rep_b,
            Some(&rep_b),
            &input("col_00000001", &own_b, CollectionMethod::Cash, 1_000),
            now,
            &|_, _, _| None,
        )
        .unwrap();
    assert!(b.voided.is_none());
    assert_eq!(
        code(s.void_collection(&mid, "col_00000004x", "x", &manager, now)),
        ErrorCode::NotFound
    );
    assert!(s.collection(&mid_b, "col_00000004").unwrap().is_none());
}

/// Issue 16: reps have a number series (R01, R02 in the order they were created, per
/// merchant); an order signed with a number of its rep's series on the signature's day keeps
/// it when registered; a number of another series or day, a malformed one, or one another
/// order of the merchant carries is refused (typed) and nothing changes; an order signed
/// without a number is numbered at registration as before.
pub(crate) fn signed_order_numbers(s: &dyn Store) {
    use chrono::{DateTime, TimeZone, Utc};
    use fieldpay_protocol::auth::Role;
    use fieldpay_protocol::evidence::{content_hash, SignedContent};
    use fieldpay_protocol::records::{Order, OrderLineInput, OrderStatus, SignatureEvidence};
    use fieldpay_protocol::time::kst_date;
    use fieldpay_protocol::{AccountId, ErrorCode, MerchantId, OrderId, RepId, Secret};

    use crate::domain::MerchantSettings;
    use crate::store::{NewAccount, NewProduct, OrderDraft};

    let code = |e: StoreError| match e {
        StoreError::Rejected { code, .. } => code,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let with_account = |code: &str| {
        let m = s
            .create_merchant(code, "상사", &MerchantSettings::default())
            .unwrap();
        s.upsert_accounts(
            &m.id,
            &[NewAccount {
                code: "A1".into(),
                name: "거래처".into(),
                owner_name: "김민수".into(),
                business_number: "1234567891".into(),
                phone: "01012345678".into(),
                address: "서울".into(),
                credit_limit: 10_000_000,
                rep_login: None,
            }],
        )
        .unwrap();
        s.upsert_products(
            &m.id,
            &[NewProduct {
                code: "P1".into(),
                name: "상품".into(),
                unit_price: 10_000,
                unit: "EA".into(),
            }],
        )
        .unwrap();
        let acc = s.accounts(&m.id).unwrap().remove(0).id;
        let product = s.products(&m.id).unwrap().remove(0).id;
        (m.id, acc, product)
    };
    let (m, acc, product) = with_account("num-a");
    let (other, other_acc, other_product) = with_account("num-b");

    // Series in the order reps are created, per merchant.
    let kim = s
        .create_rep(&m, "kim", "김", &Secret::from("h"), Role::Rep)
        .unwrap();
    let lee = s
        .create_rep(&m, "lee", "이", &Secret::from("h"), Role::Manager)
        .unwrap();
    let park = s
        .create_rep(&other, "park", "박", &Secret::from("h"), Role::Rep)
        .unwrap();
    let series = |m: &MerchantId, r: &RepId| s.rep(m, r).unwrap().unwrap().series;
    assert_eq!(series(&m, &kim), "R01");
    assert_eq!(series(&m, &lee), "R02");
    assert_eq!(series(&other, &park), "R01");
    assert_eq!(
        s.rep_by_login(&m, "lee").unwrap().unwrap().series,
        "R02",
        "sign-in reads the series"
    );

    // 2026-12-03 10:00 KST.
    let t = Utc.with_ymd_and_hms(2026, 12, 3, 1, 0, 0).unwrap();
    let draft = |m: &MerchantId, rep: &RepId, id: &str, acc: &str, product: &str| {
        s.upsert_order(
            m,
            Some(rep),
            &OrderDraft {
                order_id: OrderId::from(id),
                account_id: AccountId::from(acc),
                lines: vec![OrderLineInput {
                    product_id: product.into(),
                    quantity: 1,
                    unit_price: None,
                    reason: None,
                }],
                memo: String::new(),
                kind: Default::default(),
                original_order_id: None,
            },
            t,
        )
        .unwrap()
    };
    // What the device signs: the order under its number.
    let evidence =
        |m: &MerchantId, o: &Order, number: Option<&str>, at: DateTime<Utc>| SignatureEvidence {
            signer_name: "김민수".into(),
            signed_at: crate::clock::ts(at),
            device: "test".into(),
            gps: None,
            content_hash: content_hash(&SignedContent {
                number,
                ..SignedContent::of(m.as_str(), o, &kst_date(at))
            }),
            strokes_json: None,
        };
    let sign = |m: &MerchantId, o: &Order, number: Option<&str>, at: DateTime<Utc>| {
        s.sign_order(
            m,
            &OrderId::from(o.id.as_str()),
            &evidence(m, o, number, at),
            number,
            b"png",
            None,
            at,
        )
    };

    let o1 = draft(&m, &kim, "num-o1", &acc, &product);
    let signed = sign(&m, &o1, Some("PO-20261203-R01-0001"), t).unwrap();
    assert_eq!(signed.status, OrderStatus::Signed);
    assert_eq!(signed.number.as_deref(), Some("PO-20261203-R01-0001"));
    let registered = s.submit_order(&m, &OrderId::from("num-o1"), t).unwrap();
    assert_eq!(registered.status, OrderStatus::Registered);
    assert_eq!(registered.number.as_deref(), Some("PO-20261203-R01-0001"));
    assert_eq!(
        s.balance(&m, &AccountId::from(acc.as_str())).unwrap(),
        11_000
    );
    // Answered again as it is (a retried submit).
    assert_eq!(
        s.submit_order(&m, &OrderId::from("num-o1"), t)
            .unwrap()
            .number
            .as_deref(),
        Some("PO-20261203-R01-0001")
    );

    // Refusals: nothing changes on the order.
    let o2 = draft(&m, &kim, "num-o2", &acc, &product);
    for (number, at, expected) in [
        // Another order of the merchant carries it (even another rep's series would not do).
        ("PO-20261203-R01-0001", t, ErrorCode::Conflict),
        // Another rep's series.
        ("PO-20261203-R02-0001", t, ErrorCode::InvalidField),
        // Not the day of the signature (KST).
        ("PO-20261202-R01-0002", t, ErrorCode::InvalidField),
        // Malformed, or an old server-style number.
        ("PO-20261203-0001", t, ErrorCode::InvalidField),
        ("PO-20261203-R01-0000", t, ErrorCode::InvalidField),
        ("PO-20261203-R01-2", t, ErrorCode::InvalidField),
        ("", t, ErrorCode::InvalidField),
    ] {
        let e = sign(&m, &o2, Some(number), at).unwrap_err();
        assert_eq!(code(e), expected, "{number}");
        let o = s.order(&m, &OrderId::from("num-o2")).unwrap().unwrap();
        assert_eq!(o.status, OrderStatus::Draft, "{number}");
        assert_eq!(o.number, None, "{number}");
    }
    // The same number in another merchant is fine (unique per merchant).
    let p1 = draft(&other, &park, "num-p1", &other_acc, &other_product);
    sign(&other, &p1, Some("PO-20261203-R01-0001"), t).unwrap();
    assert_eq!(
        s.submit_order(&other, &OrderId::from("num-p1"), t)
            .unwrap()
            .number
            .as_deref(),
        Some("PO-20261203-R01-0001")
    );
    // The next number of the series; a changed draft loses it with its signature, and a
    // signing again may give another one (a gap is fine).
    sign(&m, &o2, Some("PO-20261203-R01-0002"), t).unwrap();
    let again = draft(&m, &kim, "num-o2", &acc, &product);
    assert_eq!(again.number, None);
    sign(&m, &again, Some("PO-20261203-R01-0003"), t).unwrap();
    let r = s.submit_order(&m, &OrderId::from("num-o2"), t).unwrap();
    assert_eq!(r.number.as_deref(), Some("PO-20261203-R01-0003"));
    // Just after midnight KST the day is the next one.
    let t2 = Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).unwrap();
    let o3 = draft(&m, &lee, "num-o3", &acc, &product);
    let e = sign(&m, &o3, Some("PO-20261203-R02-0001"), t2).unwrap_err();
    assert_eq!(code(e), ErrorCode::InvalidField);
    sign(&m, &o3, Some("PO-20261204-R02-0001"), t2).unwrap();
    assert_eq!(
        s.submit_order(&m, &OrderId::from("num-o3"), t2)
            .unwrap()
            .number
            .as_deref(),
        Some("PO-20261204-R02-0001")
    );
    // Signed without a number (an older app): numbered at registration as before.
    let o4 = draft(&m, &kim, "num-o4", &acc, &product);
    let signed = sign(&m, &o4, None, t).unwrap();
    assert_eq!(signed.number, None);
    let r = s.submit_order(&m, &OrderId::from("num-o4"), t).unwrap();
    assert_eq!(r.number.as_deref(), Some("PO-20261203-0001"));
}

// ------------------------------------------------------------------ visits

/// Check-ins and check-outs: stored once per visit id (the same visit again answers the
/// stored one; other content under its id is a conflict); accounts of another merchant or
/// (for a plain rep) of another rep, and check-outs that do not fit, are refused with nothing
/// stored; the day's list is per merchant and rep, oldest first, with names.
pub(crate) fn visits(s: &dyn Store) {
    use chrono::{Duration, Utc};
    use fieldpay_protocol::auth::Role;
    use fieldpay_protocol::visit::GeoPoint;
    use fieldpay_protocol::{AccountId, ErrorCode};

    use super::visits::NewVisit;
    use super::NewAccount;
    use crate::domain::MerchantSettings;

    let code = |r: Result<fieldpay_protocol::visit::Visit, StoreError>| match r {
        Err(StoreError::Rejected { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let hash = fieldpay_protocol::Secret::new("x");
    let m = s
        .create_merchant("vis", "방문상사", &MerchantSettings::default())
        .unwrap();
    let other = s
        .create_merchant("vis2", "남의상사", &MerchantSettings::default())
        .unwrap();
    let kim = s
        .create_rep(&m.id, "kim", "김영업", &hash, Role::Rep)
        .unwrap();
    let lee = s
        .create_rep(&m.id, "lee", "이현장", &hash, Role::Rep)
        .unwrap();
    let account = |code: &str, name: &str, rep: Option<&str>| NewAccount {
        code: code.into(),
        name: name.into(),
        owner_name: "김민수".into(),
        business_number: "1234567891".into(),
        phone: "01012345678".into(),
        address: "서울".into(),
        credit_limit: 1_000_000,
        rep_login: rep.map(Into::into),
    };
    s.upsert_accounts(
        &m.id,
        &[
            account("A1", "가나약국", Some("kim")),
            account("A2", "다라약국", Some("lee")),
            account("A3", "공용약국", None),
        ],
    )
    .unwrap();
    s.upsert_accounts(&other.id, &[account("B1", "남의약국", None)])
        .unwrap();
    let id_of = |mid, code: &str| {
        AccountId::new(
            s.accounts(mid)
                .unwrap()
                .into_iter()
                .find(|a| a.code == code)
                .unwrap()
                .id,
        )
    };
    let (a1, a2, a3, b1) = (
        id_of(&m.id, "A1"),
        id_of(&m.id, "A2"),
        id_of(&m.id, "A3"),
        id_of(&other.id, "B1"),
    );
    let now = Utc::now();
    let visit = |id: &str, account: &AccountId, at| NewVisit {
        id: id.into(),
        account_id: account.clone(),
        rep_id: kim.clone(),
        at,
        location: Some(GeoPoint {
            lat: 37.5,
            lng: 127.0,
            accuracy_m: None,
        }),
        note: "첫 방문".into(),
    };
    let first = visit("visit-0001", &a1, now - Duration::minutes(20));
    let v = s.check_in(&m.id, &first, true).unwrap();
    assert_eq!(
        (v.account_name.as_str(), v.rep_name.as_str()),
        ("가나약국", "김영업")
    );
    assert_eq!(v.location, first.location);
    // The same visit again: the stored one, nothing new.
    assert_eq!(s.check_in(&m.id, &first, true).unwrap(), v);
    let mut changed = first.clone();
    changed.note = "다른 메모".into();
    assert_eq!(code(s.check_in(&m.id, &changed, true)), ErrorCode::Conflict);
    // Unassigned accounts are everyone's; another rep's only for a manager.
    let second = NewVisit {
        location: None,
        ..visit("visit-0002", &a3, now - Duration::minutes(10))
    };
    s.check_in(&m.id, &second, true).unwrap();
    assert_eq!(
        code(s.check_in(&m.id, &visit("visit-0003", &a2, now), true)),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(s.check_in(&m.id, &visit("visit-0004", &b1, now), true)),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(s.check_in(&other.id, &visit("visit-0005", &a1, now), false)),
        ErrorCode::NotFound
    );
    let by_manager = visit("visit-0006", &a2, now - Duration::minutes(5));
    s.check_in(&m.id, &by_manager, false).unwrap();

    // Check-out: once; the same time again is the same answer; others refused.
    let out = now - Duration::minutes(15);
    let v = s.check_out(&m.id, &kim, "visit-0001", out).unwrap();
    assert_eq!(v.checked_out_at, Some(crate::clock::ts(out)));
    assert_eq!(s.check_out(&m.id, &kim, "visit-0001", out).unwrap(), v);
    assert_eq!(
        code(s.check_out(&m.id, &kim, "visit-0001", now)),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(s.check_out(&m.id, &kim, "visit-0002", now - Duration::hours(1))),
        ErrorCode::InvalidField
    );
    assert_eq!(
        code(s.check_out(&m.id, &lee, "visit-0002", now)),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(s.check_out(&other.id, &kim, "visit-0002", now)),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(s.check_out(&m.id, &kim, "nope-0000", now)),
        ErrorCode::NotFound
    );

    // The day's list.
    let (from, to) = (now - Duration::hours(1), now + Duration::hours(1));
    let all = s.visits(&m.id, from, to, None).unwrap();
    let ids: Vec<&str> = all.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["visit-0001", "visit-0002", "visit-0006"]);
    assert_eq!(all[0].note, "첫 방문");
    assert!(all[1].location.is_none() && all[1].checked_out_at.is_none());
    assert_eq!(s.visits(&m.id, from, to, Some(&lee)).unwrap().len(), 0);
    assert_eq!(s.visits(&m.id, from, to, Some(&kim)).unwrap().len(), 3);
    assert!(s
        .visits(
            &m.id,
            now + Duration::hours(1),
            now + Duration::hours(2),
            None
        )
        .unwrap()
        .is_empty());
    assert!(s.visits(&other.id, from, to, None).unwrap().is_empty());
}

/// Text quotas count per clock hour: with one bill per phone an hour, a second bill to the
/// same phone in the hour is refused (and its charge not made), another phone's is not, the
/// next hour starts afresh, and a text stamped with an earlier hour (a lagging clock) counts
/// in the current one.
pub(crate) fn text_quotas_count_per_clock_hour(s: &dyn Store) {
    use chrono::{DateTime, Utc};
    use fieldpay_protocol::ErrorCode;

    use crate::domain::MerchantSettings;

    let settings = MerchantSettings {
        number_pool: vec!["16000001".into(), "16000002".into(), "16000003".into()],
        ..MerchantSettings::default()
    };
    let m = s.create_merchant("m", "상사", &settings).unwrap();
    let bill = |rec: &super::ChargeRecord| bill_text(rec, Some(one_text_per_phone_hour()));
    let create = |id: &str, phone: &str, at: &str| {
        let at: DateTime<Utc> = at.parse().unwrap();
        let new = api_charge(id, &m.id, phone, at);
        match s.create_charges(&[new], at, &bill).unwrap().remove(0) {
            Ok(_) => Ok(()),
            Err(StoreError::Rejected { code, .. }) => Err(code),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(
        create("ch_q1", "010-3000-0001", "2026-12-05T10:10:00Z"),
        Ok(())
    );
    assert_eq!(
        create("ch_q2", "010-3000-0001", "2026-12-05T10:50:00Z"),
        Err(ErrorCode::RateLimited)
    );
    assert!(s.charge(&m.id, &"ch_q2".into()).unwrap().is_none());
    assert_eq!(
        create("ch_q3", "010-3000-0002", "2026-12-05T10:55:00Z"),
        Ok(())
    );
    assert_eq!(
        create("ch_q4", "010-3000-0001", "2026-12-05T11:05:00Z"),
        Ok(())
    );
    assert_eq!(
        create("ch_q5", "010-3000-0001", "2026-12-05T11:30:00Z"),
        Err(ErrorCode::RateLimited)
    );
    // An instance whose clock lags behind the hour's turn: its text counts in the phone's
    // current hour (already used), it does not start 10:00 again.
    assert_eq!(
        create("ch_q6", "010-3000-0001", "2026-12-05T10:59:58Z"),
        Err(ErrorCode::RateLimited)
    );
}

/// Charges refused by a text quota in the middle of a group leave nothing behind, whichever
/// quota refused them: the payer's (refused before anything of the charge was written) or the
/// merchant's (refused after the payer's hour was counted), and the rest of the group is made.
pub(crate) fn quota_refusals_in_a_group_leave_nothing(s: &dyn Store) {
    use chrono::Utc;
    use fieldpay_protocol::ErrorCode;

    use crate::domain::MerchantSettings;

    let settings = MerchantSettings {
        number_pool: vec!["16000001".into(), "16000002".into()],
        ..MerchantSettings::default()
    };
    let m = s.create_merchant("m", "상사", &settings).unwrap();
    let limits = super::TextLimits {
        per_phone_per_hour: 1,
        per_merchant_per_hour: Some(3),
    };
    let at = Utc::now();
    let group = [
        api_charge("ch_g1", &m.id, "010-3000-0001", at),
        // The payer's second bill of the hour.
        api_charge("ch_g2", &m.id, "010-3000-0001", at),
        api_charge("ch_g3", &m.id, "010-3000-0002", at),
        api_charge("ch_g4", &m.id, "010-3000-0003", at),
        // The merchant's fourth and fifth: their payers' hours were free.
        api_charge("ch_g5", &m.id, "010-3000-0004", at),
        api_charge("ch_g6", &m.id, "010-3000-0005", at),
    ];
    let out = s
        .create_charges(&group, at, &|rec| bill_text(rec, Some(limits)))
        .unwrap();
    let answers: Vec<Result<String, ErrorCode>> = out
        .into_iter()
        .map(|r| match r {
            Ok((rec, true)) => Ok(rec.charge.id),
            Err(StoreError::Rejected { code, .. }) => Err(code),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        answers,
        [
            Ok("ch_g1".to_string()),
            Err(ErrorCode::RateLimited),
            Ok("ch_g3".to_string()),
            Ok("ch_g4".to_string()),
            Err(ErrorCode::RateLimited),
            Err(ErrorCode::RateLimited),
        ]
    );
    for refused in ["ch_g2", "ch_g5", "ch_g6"] {
        assert!(s.charge(&m.id, &refused.into()).unwrap().is_none());
    }
    let texts: Vec<String> = s
        .pending_sms(100)
        .unwrap()
        .into_iter()
        .map(|t| t.body)
        .collect();
    assert_eq!(texts, ["bill ch_g1", "bill ch_g3", "bill ch_g4"]);
    // The group's three bills were counted for the merchant: its next one this hour is
    // refused, by the merchant's quota for a payer with bills left, by the payer's (as alone)
    // for one without.
    let refusal = |id: &str, phone: &str| {
        let new = api_charge(id, &m.id, phone, at);
        match s
            .create_charges(&[new], at, &|rec| bill_text(rec, Some(limits)))
            .unwrap()
            .remove(0)
        {
            Err(StoreError::Rejected { code, message }) => (code, message),
            other => panic!("{other:?}"),
        }
    };
    let (code, message) = refusal("ch_g8", "010-3000-0009");
    assert_eq!(code, ErrorCode::RateLimited);
    assert!(message.contains("merchant"), "{message}");
    let (code, message) = refusal("ch_g9", "010-3000-0001");
    assert_eq!(code, ErrorCode::RateLimited);
    assert!(message.contains("phone"), "{message}");
    // Neither refusal counted the payer's hour: without the merchant's limit, ch_g5's payer
    // has one bill left this hour.
    let no_merchant_limit =
        |rec: &super::ChargeRecord| bill_text(rec, Some(one_text_per_phone_hour()));
    let again = api_charge("ch_g7", &m.id, "010-3000-0004", at);
    assert!(s.create_charges(&[again], at, &no_merchant_limit).unwrap()[0].is_ok());
}

/// A new charge is answered (and its texts composed) from the values its transaction wrote,
/// not read back: the answer must be exactly what the store then gives for it, whatever the
/// request carried (a rep and a client account, a third-party orderer, installments) or left
/// out.
pub(crate) fn a_new_charge_is_answered_as_stored(s: &dyn Store) {
    use chrono::{Duration as Span, Utc};
    use fieldpay_protocol::auth::Role;
    use fieldpay_protocol::charge::{ChargeOrigin, CreateCharge};

    use super::{ChargeRecord, Effects, NewAccount, NewCharge};
    use crate::domain::{ChargeRequest, MerchantSettings};

    let settings = MerchantSettings {
        number_pool: vec!["16000001".into(), "16000002".into()],
        ..MerchantSettings::default()
    };
    let m = s.create_merchant("m", "상사", &settings).unwrap();
    let rep = s
        .create_rep(
            &m.id,
            "kim",
            "김영업",
            &fieldpay_protocol::Secret::from("h".to_string()),
            Role::Rep,
        )
        .unwrap();
    s.upsert_accounts(
        &m.id,
        &[NewAccount {
            code: "A1".into(),
            name: "온누리약국".into(),
            owner_name: "김민수".into(),
            business_number: "1234567891".into(),
            phone: "01012345678".into(),
            address: "서울".into(),
            credit_limit: 10_000_000,
            rep_login: Some("kim".into()),
        }],
    )
    .unwrap();
    let account = s.accounts(&m.id).unwrap().remove(0).id;
    let composed = std::sync::Mutex::new(Vec::new());
    let compose = |rec: &ChargeRecord| {
        composed.lock().unwrap().push(format!("{rec:?}"));
        Effects::default()
    };
    let now = Utc::now();
    let create = |id: &str, body: serde_json::Value, by_rep: bool| {
        let body: CreateCharge = serde_json::from_value(body).unwrap();
        let new = NewCharge {
            id: id.into(),
            merchant_id: m.id.clone(),
            rep_id: by_rep.then(|| rep.clone()),
            api_key_id: None,
            origin: if by_rep {
                ChargeOrigin::App
            } else {
                ChargeOrigin::Api
            },
            request: ChargeRequest::parse(&body).unwrap(),
            expires_at: now + Span::minutes(30),
            idempotency_key: None,
            request_hash: None,
            link: None,
        };
        let (rec, created) = s
            .create_charges(&[new], now, &compose)
            .unwrap()
            .remove(0)
            .unwrap();
        assert!(created);
        rec
    };
    let cases = [
        (
            "ch_full",
            serde_json::json!({
                "amount": 1_250_000, "goods_name": "3월 주문", "payer_phone": "010-2222-3333",
                "payer_name": "박지불", "order_ref": "PO-7", "account_id": account,
                "orderer": { "name": "김민수", "phone": "010-1234-5678" },
                "installments": true,
            }),
            true,
        ),
        (
            "ch_same_orderer",
            serde_json::json!({
                "amount": 9_900, "goods_name": "감기약", "payer_phone": "010-1234-5678",
                "orderer": { "name": "김민수", "phone": "010-1234-5678" },
            }),
            true,
        ),
        (
            "ch_bare",
            serde_json::json!({ "amount": 1_000, "goods_name": "파스", "payer_phone": "01099998888" }),
            false,
        ),
    ];
    for (id, body, by_rep) in cases {
        let answered = create(id, body, by_rep);
        let stored = s.charge_any(&id.into()).unwrap().unwrap();
        assert_eq!(format!("{answered:?}"), format!("{stored:?}"), "{id}");
        assert_eq!(
            composed.lock().unwrap().pop().unwrap(),
            format!("{stored:?}"),
            "{id}: composed from"
        );
    }

    // Their bills sent: each charge's move to sms_sent is told from the values written, and
    // must be what the stored charge says.
    let ids = ["ch_full", "ch_same_orderer", "ch_bare"];
    for id in ids {
        let bill = super::NewSms {
            to: "01022223333".into(),
            kind: fieldpay_protocol::sms::SmsKind::Bill,
            body: format!("bill {id}"),
            quota: None,
        };
        s.enqueue_sms(&m.id, Some(&id.into()), &bill, now).unwrap();
    }
    let sent_at = now + Span::seconds(3);
    let marks: Vec<(i64, super::SmsAttempt)> = s
        .claim_sms(10, sent_at, sent_at + Span::seconds(20))
        .unwrap()
        .into_iter()
        .map(|t| {
            let sent = super::SmsAttempt::Sent {
                provider: "sandbox".into(),
                provider_id: None,
            };
            (t.id, sent)
        })
        .collect();
    let changes = s
        .mark_sms_batch(&marks, sent_at, &|_| Effects::default())
        .unwrap();
    let stored: Vec<super::StatusChange> = ids
        .iter()
        .map(|id| {
            s.charge_any(&(*id).into())
                .unwrap()
                .unwrap()
                .status_change()
        })
        .collect();
    assert_eq!(changes, stored);
    assert!(changes
        .iter()
        .all(|c| c.event.status == fieldpay_protocol::charge::ChargeStatus::SmsSent));
}
