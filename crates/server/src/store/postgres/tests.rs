//! Tests of the PostgreSQL store's own machinery (migrations, retries, the change counter).
//! The store's behaviour is tested through the traits by the integration suite, run against
//! both stores.

use super::*;

fn store() -> (PgStore, Secret) {
    let url = fresh_test_database();
    (PgStore::open(&url, 4).expect("open"), url)
}

#[test]
fn instances_starting_together_migrate_once() {
    let url = fresh_test_database();
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PgStore::open(&url, 2).map(|s| s.schema_version()))
        })
        .collect();
    for o in opened {
        let version = o.join().unwrap().expect("open").expect("version");
        assert_eq!(version, MIGRATIONS.last().unwrap().0);
    }
}

#[test]
fn the_ledger_refuses_updates_and_deletes() {
    let (s, _) = store();
    s.write(|tx| {
        tx.execute(
            "INSERT INTO merchants (id, code, name, settings, created_at) VALUES ('m', 'M', 'M', '{}', 'now')",
            &[],
        )?;
        tx.execute(
            "INSERT INTO accounts (merchant_id, id, code, name, owner_name, business_number, phone, address, credit_limit, updated_at)
             VALUES ('m', 'a', 'A', 'A', '', '', '', '', 0, 'now')",
            &[],
        )?;
        tx.execute(
            "INSERT INTO ledger (merchant_id, id, account_id, kind, amount, at) VALUES ('m', 'l', 'a', 'order', 100, 'now')",
            &[],
        )?;
        Ok(())
    })
    .unwrap();
    for sql in [
        "UPDATE ledger SET amount = 1",
        "DELETE FROM ledger",
        "TRUNCATE ledger",
    ] {
        let e = s.write(|tx| tx.execute(sql, &[])).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    let total: i64 = s
        .read(|tx| {
            Ok(tx
                .query_one("SELECT SUM(amount)::BIGINT FROM ledger", &[])?
                .try_get(0)?)
        })
        .unwrap();
    assert_eq!(total, 100);
}

/// Concurrent transactions that log changes of one merchant: every number is given once and
/// a reader never sees a number while a lower one is still to come.
#[test]
fn change_numbers_are_unique_and_visible_in_order() {
    let (s, _) = store();
    let s = std::sync::Arc::new(s);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    s.write(|tx| changed(tx, "m", "account", &format!("{w}-{i}")))
                        .unwrap();
                }
            })
        })
        .collect();
    let mut seen_max = 0i64;
    let mut checks = 0;
    while writers.iter().any(|w| !w.is_finished()) || checks == 0 {
        let seqs: Vec<i64> = s
            .read(|tx| {
                Ok(tx
                    .query(
                        "SELECT seq FROM changes WHERE merchant_id = 'm' ORDER BY seq",
                        &[],
                    )?
                    .iter()
                    .map(|r| r.get(0))
                    .collect())
            })
            .unwrap();
        // No gaps below the highest visible number: nothing lower can still appear.
        for (i, seq) in seqs.iter().enumerate() {
            assert_eq!(*seq, i as i64 + 1, "gap in {seqs:?}");
        }
        seen_max = seen_max.max(seqs.len() as i64);
        checks += 1;
    }
    for w in writers {
        w.join().unwrap();
    }
    let n: i64 = s
        .read(|tx| {
            Ok(tx
                .query_one("SELECT COUNT(*) FROM changes", &[])?
                .try_get(0)?)
        })
        .unwrap();
    assert_eq!(n, 100);
}

#[test]
fn a_url_gets_its_database_replaced() {
    assert_eq!(
        with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "x"),
        "postgres://u:p@h:5432/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}

#[test]
fn a_lease_has_one_holder_until_it_runs_out() {
    use crate::store::LeaseStore;
    let (s, _) = store();
    let ttl = std::time::Duration::from_millis(300);
    assert!(s.take_lease("sweep", "a", ttl).unwrap());
    assert!(!s.take_lease("sweep", "b", ttl).unwrap());
    // The holder renews it.
    assert!(s.take_lease("sweep", "a", ttl).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(s.take_lease("sweep", "b", ttl).unwrap());
    assert!(!s.take_lease("sweep", "a", ttl).unwrap());
    s.release_lease("sweep", "a").unwrap(); // not a's: nothing happens
    assert!(!s.take_lease("sweep", "a", ttl).unwrap());
    s.release_lease("sweep", "b").unwrap();
    assert!(s.take_lease("sweep", "a", ttl).unwrap());
}

// ---- charges, outbox, sync

mod charges_outbox_sync {
    use std::collections::HashSet;
    use std::sync::Arc;

    use chrono::{Duration, Utc};
    use fieldpay_protocol::charge::{ChargeOrigin, ChargeStatus, CreateCharge};
    use fieldpay_protocol::sms::SmsKind;
    use fieldpay_protocol::sync::{ChangeData, MutationOutcome};
    use fieldpay_protocol::{ApiError, ChargeId, ErrorCode, MerchantId, RepId};

    use super::super::{apply_effects, changed, changed_many, PgStore};
    use crate::domain::ChargeRequest;
    use crate::store::*;

    fn store() -> PgStore {
        PgStore::open(&super::super::fresh_test_database(), 4).expect("open")
    }

    /// A merchant row with its virtual numbers, written with plain SQL.
    fn merchant(s: &PgStore, id: &str, numbers: &[&str]) -> MerchantId {
        s.write(|tx| {
            tx.execute(
                "INSERT INTO merchants (id, code, name, settings, created_at) VALUES ($1, $1, '상사', '{}', '2026-01-01T00:00:00.000Z')",
                &[&id],
            )?;
            for (i, n) in numbers.iter().enumerate() {
                tx.execute(
                    "INSERT INTO virtual_numbers (number, merchant_id, position) VALUES ($1, $2, $3)",
                    &[n, &id, &(i as i64)],
                )?;
            }
            Ok(())
        })
        .unwrap();
        MerchantId::new(id.to_string())
    }

    fn charge_to(id: &str, m: &MerchantId, payer: &str, key: Option<&str>) -> NewCharge {
        let body: CreateCharge = serde_json::from_value(
            serde_json::json!({ "amount": 12_000, "goods_name": "감기약", "payer_phone": payer }),
        )
        .unwrap();
        NewCharge {
            id: id.into(),
            merchant_id: m.clone(),
            rep_id: None,
            api_key_id: None,
            origin: ChargeOrigin::Api,
            request: ChargeRequest::parse(&body).unwrap(),
            expires_at: Utc::now() + Duration::minutes(60),
            idempotency_key: key.map(str::to_string),
            request_hash: key.map(|_| "h1".to_string()),
        }
    }

    fn count(s: &PgStore, sql: &str) -> i64 {
        s.read(|tx| Ok(tx.query_one(sql, &[])?.try_get(0)?))
            .unwrap()
    }

    fn code<T>(r: &StoreResult<T>) -> Option<ErrorCode> {
        match r {
            Err(StoreError::Rejected { code, .. }) => Some(*code),
            _ => None,
        }
    }

    fn no_effects(_: &ChargeRecord) -> Effects {
        Effects::default()
    }

    fn bill(rec: &ChargeRecord) -> Effects {
        Effects {
            sms: vec![NewSms {
                to: rec.payer_phone.clone(),
                kind: SmsKind::Bill,
                body: format!("bill {}", rec.charge.id),
                quota: Some(TextLimits {
                    per_phone_per_hour: 1,
                    per_merchant_per_hour: None,
                }),
            }],
            webhooks: Vec::new(),
        }
    }

    fn create_one(s: &PgStore, new: NewCharge) -> ChargeRecord {
        let mut out = s.create_charges(&[new], Utc::now(), &no_effects).unwrap();
        out.remove(0).unwrap().0
    }

    #[test]
    fn create_charges_keeps_each_charge_all_or_nothing() {
        let s = store();
        let m = merchant(&s, "m", &["16000001", "16000002"]);
        let mut on_account = charge_to("ch_bad_account", &m, "010-3000-0009", None);
        on_account.request.account_id = Some("acc_nope".into());
        let mut reused_key = charge_to("ch_conflict", &m, "010-3000-0008", Some("k1"));
        reused_key.request_hash = Some("h2".into());
        let mut other_caller = charge_to("ch_e", &m, "010-3000-0003", Some("k1"));
        other_caller.rep_id = Some(RepId::new("rep_1".to_string()));
        let batch = [
            charge_to("ch_a", &m, "010-3000-0001", Some("k1")),
            on_account,
            // A second bill to 010-3000-0001 this hour: its text is over the phone's quota,
            // refused after the charge row was written (the savepoint takes it back).
            charge_to("ch_b", &m, "010-3000-0001", None),
            charge_to("ch_c", &m, "010-3000-0004", None),
            // The same idempotency key and request: the first charge again.
            charge_to("ch_a_retry", &m, "010-3000-0001", Some("k1")),
            reused_key,
            // The same key of another caller is another key.
            other_caller,
            // The same charge id: the first answer again.
            charge_to("ch_c", &m, "010-3000-0004", None),
            charge_to("ch_d", &m, "010-3000-0002", None),
        ];
        let out = s.create_charges(&batch, Utc::now(), &bill).unwrap();
        let created = |r: &StoreResult<(ChargeRecord, bool)>| {
            let (rec, new) = r.as_ref().unwrap();
            (rec.charge.id.clone(), *new)
        };
        assert_eq!(created(&out[0]), ("ch_a".into(), true));
        assert_eq!(code(&out[1]), Some(ErrorCode::NotFound));
        assert_eq!(code(&out[2]), Some(ErrorCode::RateLimited));
        assert_eq!(created(&out[3]), ("ch_c".into(), true));
        assert_eq!(created(&out[4]), ("ch_a".into(), false));
        assert_eq!(code(&out[5]), Some(ErrorCode::IdempotencyConflict));
        assert_eq!(created(&out[6]), ("ch_e".into(), true));
        assert_eq!(created(&out[7]), ("ch_c".into(), false));
        assert_eq!(created(&out[8]), ("ch_d".into(), true));

        // The refused ones left nothing: no charge, event, change, text.
        assert_eq!(count(&s, "SELECT COUNT(*) FROM charges"), 4);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM charge_events"), 4);
        assert_eq!(
            count(&s, "SELECT COUNT(*) FROM changes WHERE entity = 'charge'"),
            4
        );
        assert_eq!(count(&s, "SELECT COUNT(*) FROM sms_messages"), 4);

        // The payer of ch_a has one number left, then none: never two charges on a binding.
        let b = create_one(&s, charge_to("ch_b2", &m, "010-3000-0001", None));
        assert_ne!(b.virtual_number, out[0].as_ref().unwrap().0.virtual_number);
        let full = s
            .create_charges(
                &[charge_to("ch_f", &m, "010-3000-0001", None)],
                Utc::now(),
                &no_effects,
            )
            .unwrap();
        assert_eq!(code(&full[0]), Some(ErrorCode::NumberPoolExhausted));
        let found = s
            .charge_by_binding(&b.virtual_number, "01030000001", Utc::now())
            .unwrap()
            .unwrap();
        assert_eq!(found.charge.id, "ch_b2");

        // Marking the texts in one batch moves every charge to sms_sent.
        let ids: Vec<(i64, bool)> = s
            .pending_sms(10)
            .unwrap()
            .iter()
            .map(|t| (t.id, true))
            .collect();
        let bills = s.mark_sms_batch(&ids, Utc::now()).unwrap();
        assert_eq!(bills.len(), 4);
        assert!(bills
            .iter()
            .all(|b| b.charge.status == ChargeStatus::SmsSent));
        assert!(s.pending_sms(10).unwrap().is_empty());
        assert_eq!(s.sms_for_phone("01030000001", 10).unwrap().len(), 1);
    }

    #[test]
    fn approvals_follow_the_charge_rules_and_decline_limits() {
        let s = store();
        let m = merchant(&s, "m", &["16000001"]);
        let limits = ApprovalLimits {
            declines_per_charge: 2,
            declines_per_caller_per_hour: 3,
        };
        let id = ChargeId::new("ch_1".to_string());
        create_one(&s, charge_to("ch_1", &m, "010-3000-0001", None));
        let now = Utc::now();
        for st in [ChargeStatus::CallConnected, ChargeStatus::Verified] {
            let rec = s.record_status(&id, st, None, now, &no_effects).unwrap();
            assert_eq!(rec.charge.status, st);
        }
        let rec = s.begin_approval(&id, &limits, now).unwrap();
        assert_eq!(rec.charge.status, ChargeStatus::CardEntered);
        assert!(rec.approving);
        // One approval at a time; no cancel while paying.
        assert_eq!(
            code(&s.begin_approval(&id, &limits, now)),
            Some(ErrorCode::InvalidState)
        );
        assert_eq!(
            code(&s.cancel_charge(&m, &id, None, now, &no_effects)),
            Some(ErrorCode::InvalidState)
        );
        // A first decline: the payer may try another card.
        let rec = s
            .end_approval(&id, Some("insufficient_funds"), &limits, now, &no_effects)
            .unwrap();
        assert_eq!(rec.charge.status, ChargeStatus::Declined);
        assert!(rec.bound && !rec.approving);
        assert_eq!(
            rec.charge.decline_reason.as_deref(),
            Some("insufficient_funds")
        );
        // The second uses up the charge's attempts: declined for good.
        s.begin_approval(&id, &limits, now).unwrap();
        let rec = s
            .end_approval(&id, Some("bad_card"), &limits, now, &no_effects)
            .unwrap();
        assert!(!rec.bound);
        assert_eq!(
            rec.charge.decline_reason.as_deref(),
            Some(TOO_MANY_ATTEMPTS)
        );
        let last = rec.charge.events.last().unwrap();
        assert_eq!(
            last.detail.as_deref(),
            Some("too_many_attempts (2; last: bad_card)")
        );
        assert_eq!(
            code(&s.begin_approval(&id, &limits, now)),
            Some(ErrorCode::InvalidState)
        );

        // A third decline from the phone within the hour: the caller is refused everywhere.
        let id2 = ChargeId::new("ch_2".to_string());
        create_one(&s, charge_to("ch_2", &m, "010-3000-0001", None));
        s.begin_approval(&id2, &limits, now).unwrap();
        s.end_approval(&id2, Some("x"), &limits, now, &no_effects)
            .unwrap();
        assert_eq!(
            code(&s.begin_approval(&id2, &limits, now)),
            Some(ErrorCode::RateLimited)
        );
        // An hour later the phone may try again.
        let later = now + Duration::minutes(61);
        s.begin_approval(&id2, &limits, later).unwrap();
        assert_eq!(s.approvals_in_flight(None).unwrap().len(), 1);
        // A failure with nothing charged: back to verified.
        let rec = s
            .end_approval(&id2, None, &limits, later, &no_effects)
            .unwrap();
        assert_eq!(rec.charge.status, ChargeStatus::Verified);
        assert!(s.approvals_in_flight(None).unwrap().is_empty());

        // Approval, then refund.
        s.begin_approval(&id2, &limits, later).unwrap();
        let payment = NewPayment {
            connector: "test".into(),
            approval_number: "A1".into(),
            issuer_code: "01".into(),
            issuer_name: "카드사".into(),
            acquirer_code: "02".into(),
            masked_card: "123456******7890".into(),
            installment_months: 0,
            amount: 12_000,
            approved_at: later,
            receipt_token: "rt_1".into(),
        };
        let rec = s
            .record_approval(&id2, &payment, later, &no_effects)
            .unwrap();
        assert_eq!(rec.charge.status, ChargeStatus::Approved);
        assert!(!rec.bound && !rec.approving);
        assert_eq!(rec.acquirer_code.as_deref(), Some("02"));
        assert_eq!(rec.charge.payment.as_ref().unwrap().approval_number, "A1");
        // Told twice: one payment.
        s.record_approval(&id2, &payment, later, &no_effects)
            .unwrap();
        assert_eq!(s.receipt("rt_1").unwrap().unwrap().charge.id, "ch_2");
        assert_eq!(
            code(&s.begin_refund(&m, &ChargeId::new("ch_1".to_string()))),
            Some(ErrorCode::InvalidState)
        );
        s.begin_refund(&m, &id2).unwrap();
        let rec = s
            .record_refund(&id2, Some("고객 요청"), later, &no_effects)
            .unwrap();
        assert_eq!(rec.charge.status, ChargeStatus::Refunded);
        assert!(rec.charge.payment.unwrap().refunded_at.is_some());
        let list = s
            .list_charges(
                &m,
                &ChargeFilter {
                    limit: 1,
                    ..ChargeFilter::default()
                },
            )
            .unwrap();
        assert_eq!(list.items[0].id, "ch_2");
        let rest = s
            .list_charges(
                &m,
                &ChargeFilter {
                    limit: 10,
                    after: list.next.map(ChargeId::new),
                    ..ChargeFilter::default()
                },
            )
            .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.items[0].id, "ch_1");
        assert!(rest.next.is_none());
    }

    #[test]
    fn expire_due_expires_pending_charges_and_frees_the_binding() {
        let s = store();
        let m = merchant(&s, "m", &["16000001"]);
        let mut old = charge_to("ch_old", &m, "010-3000-0001", None);
        old.expires_at = Utc::now() - Duration::minutes(1);
        create_one(&s, old);
        create_one(&s, charge_to("ch_new", &m, "010-3000-0002", None));
        let now = Utc::now();
        let expired = s.expire_due(now, &no_effects).unwrap();
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].charge.id, "ch_old");
        assert_eq!(expired[0].charge.status, ChargeStatus::Expired);
        assert!(!expired[0].bound);
        assert!(s.expire_due(now, &no_effects).unwrap().is_empty());
        // The number is free for that payer again.
        let again = create_one(&s, charge_to("ch_again", &m, "010-3000-0001", None));
        assert_eq!(again.virtual_number, "16000001");
        let c = s
            .charge_any(&ChargeId::new("ch_old".to_string()))
            .unwrap()
            .unwrap();
        assert_eq!(c.charge.status, ChargeStatus::Expired);
        assert_eq!(
            code(&s.cancel_charge(&m, &c.id(), None, now, &no_effects)),
            Some(ErrorCode::InvalidState)
        );
    }

    #[test]
    fn claim_sms_never_hands_a_text_out_twice() {
        let s = Arc::new(store());
        merchant(&s, "m", &[]);
        let now = crate::clock::ts(Utc::now());
        s.write(|tx| {
            for i in 0..60 {
                let fx = Effects {
                    sms: vec![NewSms {
                        to: format!("0103000{i:04}"),
                        kind: SmsKind::Notice,
                        body: "안내".into(),
                        quota: None,
                    }],
                    webhooks: Vec::new(),
                };
                apply_effects(tx, "m", None, &fx, &now)?;
            }
            Ok(())
        })
        .unwrap();
        let claimers: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let now = Utc::now();
                        let got = s.claim_sms(7, now, now + Duration::minutes(5)).unwrap();
                        if got.is_empty() {
                            return mine;
                        }
                        assert!(got.windows(2).all(|w| w[0].id < w[1].id));
                        mine.extend(got.into_iter().map(|t| t.id));
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in claimers {
            all.extend(c.join().unwrap());
        }
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), 60, "every text claimed once");
        assert_eq!(distinct.len(), 60);
        // Held texts are still pending; a claim that ran out is taken again.
        assert_eq!(s.pending_sms(100).unwrap().len(), 60);
        let later = Utc::now() + Duration::minutes(6);
        assert_eq!(
            s.claim_sms(100, later, later + Duration::minutes(5))
                .unwrap()
                .len(),
            60
        );
        // A failed attempt ends the claim; a sent text leaves the outbox.
        let first = all.iter().min().copied().unwrap();
        let second = *all.iter().filter(|i| **i != first).min().unwrap();
        s.mark_sms_batch(&[(first, true), (second, false)], later)
            .unwrap();
        let again = s.claim_sms(100, later, later).unwrap();
        assert_eq!(again.iter().map(|t| t.id).collect::<Vec<_>>(), vec![second]);
    }

    #[test]
    fn claim_webhooks_one_per_merchant_at_a_time() {
        let s = store();
        let (m1, m2) = (merchant(&s, "m1", &[]), merchant(&s, "m2", &[]));
        let hook = |id: &str| NewWebhook {
            id: id.into(),
            event_type: "charge.approved".into(),
            payload: "{}".into(),
            url: "https://example.test/hook".into(),
        };
        let t0 = Utc::now() - Duration::minutes(10);
        for (m, id, at) in [
            ("m1", "wh_1a", t0),
            ("m1", "wh_1b", t0 + Duration::seconds(1)),
            ("m2", "wh_2a", t0 + Duration::seconds(2)),
            ("m2", "wh_2b", t0 + Duration::seconds(3)),
        ] {
            let at = crate::clock::ts(at);
            s.write(|tx| {
                let fx = Effects {
                    sms: Vec::new(),
                    webhooks: vec![hook(id)],
                };
                apply_effects(tx, m, None, &fx, &at)
            })
            .unwrap();
        }
        let now = Utc::now();
        let until = now + Duration::minutes(1);
        let ids = |w: Vec<WebhookRecord>| w.into_iter().map(|w| w.id).collect::<Vec<_>>();
        // `busy`: m1's deliveries are being sent by this instance.
        assert_eq!(
            ids(s
                .claim_webhooks(now, 10, std::slice::from_ref(&m1), until)
                .unwrap()),
            vec!["wh_2a"]
        );
        assert_eq!(
            ids(s.claim_webhooks(now, 10, &[], until).unwrap()),
            vec!["wh_1a"]
        );
        // Both merchants have a delivery held: nothing more.
        assert!(s.claim_webhooks(now, 10, &[], until).unwrap().is_empty());
        s.record_webhook_attempt("wh_1a", &WebhookAttempt::Delivered { status: 200 }, now)
            .unwrap();
        s.record_webhook_attempt(
            "wh_2a",
            &WebhookAttempt::Failed {
                status: Some(500),
                error: "server error".into(),
                retry_at: Some(now + Duration::minutes(5)),
            },
            now,
        )
        .unwrap();
        // m1's next; m2's first waits for its retry time, and only a claim holds a merchant
        // back: m2's next is due.
        assert_eq!(
            ids(s.claim_webhooks(now, 10, &[], until).unwrap()),
            vec!["wh_1b", "wh_2b"]
        );
        // A crashed instance's claims run out.
        let later = until + Duration::seconds(1);
        assert_eq!(
            ids(s
                .claim_webhooks(later, 1, &[], later + Duration::minutes(1))
                .unwrap()),
            vec!["wh_1b"]
        );
        let list = s.webhooks(&m2, 10).unwrap();
        let failed = list.iter().find(|w| w.id == "wh_2a").unwrap();
        assert_eq!(failed.attempts, 1);
        assert_eq!(failed.last_status, Some(500));
        assert_eq!(failed.status, DeliveryStatus::Pending);
        assert_eq!(s.webhooks(&m1, 10).unwrap().len(), 2);
    }

    #[test]
    fn pull_pages_by_cursor_with_the_rep_filter() {
        let s = store();
        let m = merchant(&s, "m", &["16000001", "16000002", "16000003"]);
        s.write(|tx| {
            for rep in ["rep_1", "rep_2"] {
                tx.execute(
                    "INSERT INTO reps (merchant_id, id, login, name, password_hash, created_at)
                     VALUES ('m', $1, $1, $1, 'x', '2026-01-01T00:00:00.000Z')",
                    &[&rep],
                )?;
            }
            let mut ids = Vec::new();
            for i in 0..5 {
                let id = format!("acc_{i}");
                tx.execute(
                    "INSERT INTO accounts (merchant_id, id, code, name, owner_name, business_number, phone, address, credit_limit, updated_at)
                     VALUES ('m', $1, $1, '약국', '김', '1234567891', '0212345678', '서울', 1000, '2026-01-01T00:00:00.000Z')",
                    &[&id],
                )?;
                ids.push(id);
            }
            changed_many(tx, "m", "account", &ids)?;
            tx.execute(
                "INSERT INTO products (merchant_id, id, code, name, unit_price, unit, updated_at)
                 VALUES ('m', 'prd_1', 'P1', '감기약', 500, '박스', '2026-01-01T00:00:00.000Z')",
                &[],
            )?;
            changed(tx, "m", "product", "prd_1")?;
            tx.execute(
                "INSERT INTO account_prices (merchant_id, account_id, product_id, unit_price) VALUES ('m', 'acc_0', 'prd_1', 450)",
                &[],
            )?;
            changed(tx, "m", "account_price", "acc_0:prd_1")?;
            tx.execute(
                "INSERT INTO orders (merchant_id, id, account_id, rep_id, status, lines, supply, vat, total, created_at, updated_at)
                 VALUES ('m', 'ord_1', 'acc_0', 'rep_2', 'draft', '[]', 0, 0, 0, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
                &[],
            )?;
            changed(tx, "m", "order", "ord_1")?;
            // A record deleted after its change was logged is left out.
            changed(tx, "m", "account", "acc_gone")
        })
        .unwrap();
        for (id, rep) in [
            ("ch_1", Some("rep_1")),
            ("ch_2", Some("rep_2")),
            ("ch_3", None),
        ] {
            let mut c = charge_to(id, &m, "010-3000-0001", None);
            c.rep_id = rep.map(|r| RepId::new(r.to_string()));
            create_one(&s, c);
        }
        // 5 accounts, product, price, order, the gone account, 3 charges: 12 changes.
        let mut cursor = 0;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = s.pull(&m, cursor, 5, None).unwrap();
            pages += 1;
            assert!(page.cursor > cursor);
            assert!(page.changes.windows(2).all(|w| w[0].seq < w[1].seq));
            assert!(page
                .changes
                .iter()
                .all(|c| c.seq > cursor && c.seq <= page.cursor));
            seen.extend(page.changes);
            cursor = page.cursor;
            if !page.has_more {
                break;
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(cursor, 12);
        assert_eq!(seen.len(), 11);
        let kinds: Vec<&str> = seen
            .iter()
            .map(|c| match &c.data {
                ChangeData::Account(_) => "account",
                ChangeData::Product(_) => "product",
                ChangeData::AccountPrice(p) => {
                    assert_eq!((p.product_id.as_str(), p.unit_price), ("prd_1", 450));
                    "price"
                }
                ChangeData::Order(o) => {
                    assert_eq!(o.rep_id.as_deref(), Some("rep_2"));
                    "order"
                }
                ChangeData::Charge(c) => {
                    assert_eq!(c.events.len(), 1);
                    "charge"
                }
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "account", "account", "account", "account", "account", "product", "price", "order",
                "charge", "charge", "charge"
            ]
        );
        // A plain rep's device: its own charges and orders only; the cursor still ends at 12.
        let rep = RepId::new("rep_1".to_string());
        let page = s.pull(&m, 0, 100, Some(&rep)).unwrap();
        assert_eq!(page.cursor, 12);
        assert!(!page.has_more);
        let mut theirs = page.changes.iter().filter_map(|c| match &c.data {
            ChangeData::Charge(c) => Some(c.id.as_str()),
            ChangeData::Order(o) => Some(o.id.as_str()),
            _ => None,
        });
        assert_eq!(theirs.next(), Some("ch_1"));
        assert_eq!(theirs.next(), None);
        assert_eq!(page.changes.len(), 8);
        // Nothing after the end.
        let end = s.pull(&m, 12, 100, None).unwrap();
        assert!(end.changes.is_empty() && !end.has_more);
        assert_eq!(end.cursor, 12);
        // A change renumbers its record: it moves past the cursor.
        s.cancel_charge(
            &m,
            &ChargeId::new("ch_1".to_string()),
            None,
            Utc::now(),
            &no_effects,
        )
        .unwrap();
        let next = s.pull(&m, 12, 100, Some(&rep)).unwrap();
        assert_eq!(next.changes.len(), 1);
        assert_eq!(next.cursor, 13);
    }

    #[test]
    fn save_mutation_results_keeps_the_first_answer() {
        let s = store();
        let m = merchant(&s, "m", &[]);
        let rep = RepId::new("rep_1".to_string());
        let refused = |msg: &str| MutationOutcome::Rejected {
            error: ApiError::new(ErrorCode::CreditLimitExceeded, msg),
        };
        let applied = MutationOutcome::Applied {
            order: None,
            charge: None,
        };
        let first = vec![
            ("mut_1".to_string(), refused("first")),
            ("mut_2".to_string(), applied.clone()),
        ];
        let kept = s
            .save_mutation_results(&m, &rep, &first, Utc::now())
            .unwrap();
        assert_eq!(kept, vec![refused("first"), applied.clone()]);
        // A retry that computed other answers gets the first ones back.
        let retry = vec![
            ("mut_3".to_string(), refused("new")),
            ("mut_1".to_string(), refused("second")),
        ];
        let kept = s
            .save_mutation_results(&m, &rep, &retry, Utc::now())
            .unwrap();
        assert_eq!(kept, vec![refused("new"), refused("first")]);
        let found = s
            .mutation_results(
                &m,
                &[
                    "mut_1".to_string(),
                    "mut_3".to_string(),
                    "mut_9".to_string(),
                ],
            )
            .unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found["mut_1"], refused("first"));
        // Another merchant's ids are its own.
        let other = merchant(&s, "m2", &[]);
        assert!(s
            .mutation_results(&other, &["mut_1".to_string()])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn registered_cards_and_call_sessions_are_upserted() {
        let s = store();
        let m = merchant(&s, "m", &[]);
        let card = |last4: &str| RegisteredCard {
            payer_phone: "01030000001".into(),
            token: fieldpay_protocol::Secret::new("tok".to_string()),
            issuer_code: "01".into(),
            issuer_name: "카드사".into(),
            last4: last4.into(),
            masked_card: format!("123456******{last4}"),
        };
        s.save_registered_card(&m, &card("1111")).unwrap();
        s.save_registered_card(&m, &card("2222")).unwrap();
        assert_eq!(
            s.registered_card(&m, "01030000001").unwrap(),
            Some(card("2222"))
        );
        assert_eq!(s.registered_card(&m, "01030000002").unwrap(), None);
        let mut call = CallSessionRecord {
            call_id: "call_1".into(),
            adapter: "test".into(),
            merchant_id: None,
            charge_id: None,
            dialled: "16000001".into(),
            caller: Some("01030000001".into()),
            checkpoint: "{}".into(),
            trace: "[]".into(),
            outcome: None,
            started_at: crate::clock::ts(Utc::now()),
            ended_at: None,
        };
        s.save_call(&call, Utc::now()).unwrap();
        call.merchant_id = Some(m.clone());
        call.outcome = Some("paid".into());
        s.save_call(&call, Utc::now()).unwrap();
        let got = s.call("call_1").unwrap().unwrap();
        assert_eq!(got.merchant_id, Some(m));
        assert_eq!(got.outcome.as_deref(), Some("paid"));
        assert!(s.call("call_2").unwrap().is_none());
    }

    /// A first sync of a merchant with 200 000 accounts: pages of 20 000 changes, each read
    /// with a few statements.
    #[test]
    fn a_large_first_sync_pulls_in_pages() {
        let s = store();
        let m = merchant(&s, "m", &[]);
        let n = 200_000;
        s.write(|tx| {
            tx.execute(
                "INSERT INTO accounts (merchant_id, id, code, name, owner_name, business_number, phone, address, credit_limit, updated_at)
                 SELECT 'm', 'acc_' || i, 'A' || i, '약국', '김', '1234567891', '0212345678', '서울', 1000, '2026-01-01T00:00:00.000Z'
                 FROM generate_series(1, $1::bigint) AS i",
                &[&(n as i64)],
            )?;
            let ids: Vec<String> = (1..=n).map(|i| format!("acc_{i}")).collect();
            changed_many(tx, "m", "account", &ids)
        })
        .unwrap();
        let started = std::time::Instant::now();
        let (mut cursor, mut total, mut pages) = (0, 0, 0);
        loop {
            let page = s.pull(&m, cursor, MAX_PULL_PAGE, None).unwrap();
            total += page.changes.len();
            pages += 1;
            cursor = page.cursor;
            if !page.has_more {
                break;
            }
        }
        assert_eq!((total, pages, cursor), (n, 10, n as i64));
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(60), "{took:?}");
    }

    /// Instances creating charges for one payer at once: PostgreSQL orders them, so a
    /// binding is never given twice and the ones past the pool are refused as such.
    #[test]
    fn concurrent_batches_never_share_a_binding() {
        let s = Arc::new(store());
        let m = merchant(&s, "m", &["16000001", "16000002", "16000003"]);
        let workers: Vec<_> = (0..6)
            .map(|i| {
                let (s, m) = (s.clone(), m.clone());
                std::thread::spawn(move || {
                    let batch = [charge_to(&format!("ch_{i}"), &m, "010-3000-0001", None)];
                    s.create_charges(&batch, Utc::now(), &no_effects)
                        .unwrap()
                        .remove(0)
                })
            })
            .collect();
        let mut numbers = HashSet::new();
        let mut refused = 0;
        for w in workers {
            match w.join().unwrap() {
                Ok((rec, true)) => assert!(numbers.insert(rec.virtual_number)),
                other => {
                    assert_eq!(code(&other), Some(ErrorCode::NumberPoolExhausted));
                    refused += 1;
                }
            }
        }
        assert_eq!((numbers.len(), refused), (3, 3));
    }

    /// Instances claiming webhooks at once: a merchant's deliveries go to one of them, one at
    /// a time.
    #[test]
    fn concurrent_webhook_claims_take_one_per_merchant() {
        let s = Arc::new(store());
        for m in ["m1", "m2"] {
            merchant(&s, m, &[]);
            let at = crate::clock::ts(Utc::now() - Duration::minutes(1));
            s.write(|tx| {
                let fx = Effects {
                    sms: Vec::new(),
                    webhooks: (0..5)
                        .map(|i| NewWebhook {
                            id: format!("wh_{m}_{i}"),
                            event_type: "charge.approved".into(),
                            payload: "{}".into(),
                            url: "https://example.test/hook".into(),
                        })
                        .collect(),
                };
                apply_effects(tx, m, None, &fx, &at)
            })
            .unwrap();
        }
        let claimers: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    let now = Utc::now();
                    s.claim_webhooks(now, 10, &[], now + Duration::minutes(1))
                        .unwrap()
                })
            })
            .collect();
        let mut merchants = Vec::new();
        for c in claimers {
            merchants.extend(c.join().unwrap().into_iter().map(|w| w.merchant_id));
        }
        merchants.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        let names: Vec<&str> = merchants.iter().map(MerchantId::as_str).collect();
        assert_eq!(names, ["m1", "m2"]);
    }
}
