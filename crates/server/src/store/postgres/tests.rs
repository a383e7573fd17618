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
fn partial_refunds_then_the_rest() {
    crate::store::contract_tests::partial_then_rest(&store().0);
}

#[test]
fn a_refund_is_retried_after_a_crash() {
    crate::store::contract_tests::retry_after_a_crash(&store().0);
}

#[test]
fn concurrent_refunds_never_refund_more_than_approved() {
    crate::store::contract_tests::concurrent_refunds(std::sync::Arc::new(store().0));
}

#[test]
fn payment_links() {
    crate::store::contract_tests::payment_links(std::sync::Arc::new(store().0));
}

#[test]
fn administration() {
    crate::store::contract_tests::administration(&store().0);
}

#[test]
fn a_new_charge_is_answered_as_stored() {
    let s = store().0;
    crate::store::contract_tests::a_new_charge_is_answered_as_stored(&s);
}

#[test]
fn leases() {
    crate::store::contract_tests::leases(&store().0);
}

#[test]
fn collections() {
    crate::store::contract_tests::collections(&store().0);
}

#[test]
fn signed_order_numbers() {
    crate::store::contract_tests::signed_order_numbers(&store().0);
}

/// Version 8 gives existing reps their number series, per merchant in the order they were
/// created (run here again on reps stored without one).
#[test]
fn version_8_existing_reps_get_their_series() {
    use crate::store::{AdminStore, MerchantStore};
    use fieldpay_protocol::MerchantId;
    let (s, _) = store();
    s.write(|tx| {
        tx.batch_execute(
            "ALTER TABLE reps DROP COLUMN series;
             INSERT INTO merchants (id, code, name, settings, created_at) VALUES
               ('m1', 'a', 'A', '{}', 'x'), ('m2', 'b', 'B', '{}', 'x');
             INSERT INTO reps (merchant_id, id, login, name, password_hash, created_at) VALUES
               ('m1', 'rep_b', 'b', 'B', 'h', '2026-01-02T00:00:00.000Z'),
               ('m1', 'rep_a', 'a', 'A', 'h', '2026-01-01T00:00:00.000Z'),
               ('m1', 'rep_c', 'c', 'C', 'h', '2026-01-02T00:00:00.000Z'),
               ('m2', 'rep_z', 'z', 'Z', 'h', '2026-01-03T00:00:00.000Z');",
        )?;
        let sql = MIGRATIONS.iter().find(|(v, _)| *v == 8).unwrap().1;
        tx.batch_execute(sql)?;
        Ok(())
    })
    .unwrap();
    let series = |m: &str, r: &str| {
        s.rep(&MerchantId::from(m), &fieldpay_protocol::RepId::from(r))
            .unwrap()
            .unwrap()
            .series
    };
    assert_eq!(series("m1", "rep_a"), "R01");
    assert_eq!(series("m1", "rep_b"), "R02");
    assert_eq!(series("m1", "rep_c"), "R03");
    assert_eq!(series("m2", "rep_z"), "R01");
    let new = s
        .create_rep(
            &MerchantId::from("m1"),
            "d",
            "D",
            &Secret::from("h"),
            fieldpay_protocol::auth::Role::Rep,
        )
        .unwrap();
    assert_eq!(series("m1", new.as_str()), "R04");
}

/// Version 12 keeps one text-quota row per scope: each scope's latest hour and its count (run
/// here again on the table of one row per scope and hour).
#[test]
fn version_12_keeps_each_scopes_latest_hour() {
    let (s, _) = store();
    let rows = s
        .write(|tx| {
            tx.batch_execute(
                "DROP TABLE text_quota;
                 CREATE TABLE text_quota (
                     scope TEXT NOT NULL, hour TEXT NOT NULL, count BIGINT NOT NULL,
                     PRIMARY KEY (scope, hour));",
            )?;
            tx.batch_execute(crate::store::contract_tests::QUOTA_ROWS_PER_HOUR)?;
            let sql = MIGRATIONS.iter().find(|(v, _)| *v == 12).unwrap().1;
            tx.batch_execute(sql)?;
            Ok(tx
                .query(
                    "SELECT scope, hour, count FROM text_quota ORDER BY scope",
                    &[],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect::<Vec<(String, String, i64)>>())
        })
        .unwrap();
    crate::store::contract_tests::assert_latest_quota_hours(&rows);
}

#[test]
fn visits() {
    crate::store::contract_tests::visits(&store().0);
}

#[test]
fn quota_refusals_in_a_group_leave_nothing() {
    let s = store().0;
    crate::store::contract_tests::quota_refusals_in_a_group_leave_nothing(&s);
}

#[test]
fn text_quotas_count_per_clock_hour() {
    let s = store().0;
    crate::store::contract_tests::text_quotas_count_per_clock_hour(&s);
    // The phone's count of 10:00 went when its first text of 11:00 was counted.
    let hours: Vec<String> = s
        .read(|tx| {
            Ok(tx
                .query(
                    "SELECT hour FROM text_quota WHERE scope = 'phone:01030000001'",
                    &[],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
        .unwrap();
    assert_eq!(hours, vec!["2026-12-05T11".to_string()]);
}

#[test]
fn a_batch_of_marks_moves_each_bill_once_in_order() {
    crate::store::contract_tests::a_batch_of_marks_moves_each_bill_once_in_order(&store().0);
}

#[test]
fn text_retries_and_final_failure() {
    crate::store::contract_tests::text_retries_and_final_failure(&store().0);
}

#[test]
fn one_allowance_for_all() {
    crate::store::contract_tests::one_allowance_for_all(std::sync::Arc::new(store().0));
}

#[test]
fn a_lease_holder_is_known_while_the_lease_lasts() {
    use crate::store::LeaseStore;
    let (s, _) = store();
    let ttl = std::time::Duration::from_millis(300);
    assert_eq!(s.lease_holder("instance:a").unwrap(), None);
    assert!(s.take_lease("instance:a", "a", ttl).unwrap());
    assert_eq!(s.lease_holder("instance:a").unwrap().as_deref(), Some("a"));
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(s.lease_holder("instance:a").unwrap(), None, "ran out");
    assert!(s.take_lease("instance:a", "a", ttl).unwrap());
    s.release_lease("instance:a", "a").unwrap();
    assert_eq!(s.lease_holder("instance:a").unwrap(), None, "given up");
}

/// The sharding rule of the schema: every table that carries `merchant_id` (but the routing
/// tables read before the merchant is known) has it in every unique index, its key included.
#[test]
fn every_unique_index_of_a_tenant_table_includes_the_merchant() {
    let (s, _) = store();
    let routing = [
        "merchants",
        "virtual_numbers",
        "api_keys",
        // A link's public page and status page find it by its id or token alone.
        "payment_links",
        // A purchase order's shared PDF link (`/d/{token}`) is found by its token alone.
        "document_links",
        "token_families",
        "tokens",
        "call_sessions",
        // The operator's log, across merchants (merchant_id is optional there).
        "audit_log",
    ];
    let rows = s
        .read(|tx| {
            tx.query(
                "SELECT t.relname::text, i.relname::text,
                        bool_or(a.attname = 'merchant_id') AS has_merchant
                 FROM pg_index x
                 JOIN pg_class t ON t.oid = x.indrelid
                 JOIN pg_class i ON i.oid = x.indexrelid
                 JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
                 LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (x.indkey)
                 WHERE x.indisunique
                   AND EXISTS (SELECT 1 FROM pg_attribute m
                               WHERE m.attrelid = t.oid AND m.attname = 'merchant_id')
                 GROUP BY 1, 2",
                &[],
            )
        })
        .unwrap();
    let mut checked = 0;
    for r in rows {
        let (table, index, has): (String, String, bool) = (r.get(0), r.get(1), r.get(2));
        if routing.contains(&table.as_str()) {
            continue;
        }
        checked += 1;
        assert!(
            has,
            "unique index {index} of {table} leaves merchant_id out"
        );
    }
    assert!(checked > 20, "only {checked} unique indexes checked");
}

/// What one instance sends on a channel, every instance receives, in the order sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_reaches_every_instance_in_order() {
    let url = fresh_test_database();
    let (stop, _) = tokio::sync::watch::channel(false);
    let inbox = |tag: &'static str| {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let ch = NotifyChannel::start(
            &url,
            "fieldpay_test",
            move |m| {
                let _ = tx.send(format!("{tag}:{m}"));
            },
            stop.subscribe(),
        );
        (ch, rx)
    };
    let (a, mut a_rx) = inbox("a");
    let (_b, mut b_rx) = inbox("b");
    // Wait until both listen: send probes until each has seen one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (mut a_ready, mut b_ready) = (false, false);
    while !(a_ready && b_ready) {
        assert!(
            std::time::Instant::now() < deadline,
            "listeners never started"
        );
        a.send("probe".into());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        while let Ok(m) = a_rx.try_recv() {
            a_ready |= m == "a:probe";
        }
        while let Ok(m) = b_rx.try_recv() {
            b_ready |= m == "b:probe";
        }
    }
    for i in 0..20 {
        a.send(format!("m{i}"));
    }
    for (rx, tag) in [(&mut a_rx, "a"), (&mut b_rx, "b")] {
        let mut got = Vec::new();
        while got.len() < 20 {
            let m = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
                .await
                .expect("a message in time")
                .unwrap();
            if m != format!("{tag}:probe") {
                got.push(m);
            }
        }
        let want: Vec<String> = (0..20).map(|i| format!("{tag}:m{i}")).collect();
        assert_eq!(got, want);
    }
    stop.send_replace(true);
}

// ---- merchants, records, orders, settlement

mod aggregates {
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use fieldpay_protocol::auth::Role;
    use fieldpay_protocol::evidence::{content_hash, SignedContent};
    use fieldpay_protocol::records::{
        LedgerKind, Order, OrderLineInput, OrderStatus, SignatureEvidence,
    };
    use fieldpay_protocol::time::kst_date;
    use fieldpay_protocol::{AccountId, ErrorCode, MerchantId, OrderId, RepId, Secret};

    use super::super::PgStore;
    use crate::domain::{CreditPolicy, Merchant, MerchantSettings};
    use crate::store::merchants::{NewTokens, Revocation, Rotation};
    use crate::store::*;

    fn store() -> PgStore {
        PgStore::open(&super::super::fresh_test_database(), 4).expect("open")
    }

    fn merchant(s: &PgStore, code: &str) -> Merchant {
        s.create_merchant(code, "상사", &MerchantSettings::default())
            .unwrap()
    }

    fn code_of(e: StoreError) -> ErrorCode {
        match e {
            StoreError::Rejected { code, .. } => code,
            other => panic!("not a rejection: {other:?}"),
        }
    }

    fn account(code: &str, credit_limit: i64) -> NewAccount {
        NewAccount {
            code: code.into(),
            name: format!("거래처 {code}"),
            owner_name: "김민수".into(),
            business_number: "1234567891".into(),
            phone: "01012345678".into(),
            address: "서울".into(),
            credit_limit,
            rep_login: None,
        }
    }

    fn product(code: &str, unit_price: i64) -> NewProduct {
        NewProduct {
            code: code.into(),
            name: format!("상품 {code}"),
            unit_price,
            unit: "EA".into(),
        }
    }

    /// The change numbers of `entity`, by id.
    fn change_seqs(s: &PgStore, m: &MerchantId, entity: &str) -> Vec<(String, i64)> {
        s.read(|tx| {
            tx.query(
                "SELECT entity_id, seq FROM changes WHERE merchant_id = $1 AND entity = $2 ORDER BY seq",
                &[&m.as_str(), &entity],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })
        .unwrap()
    }

    #[test]
    fn merchants_numbers_and_reps() {
        let s = store();
        let settings = MerchantSettings {
            number_pool: vec!["16000001".into(), "16000002".into()],
            ..MerchantSettings::default()
        };
        let m = s.create_merchant("m", "상사", &settings).unwrap();
        assert_eq!(s.cached_merchant(&m.id), None, "not read yet");
        assert_eq!(s.merchant(&m.id).unwrap().unwrap(), m);
        assert_eq!(*s.cached_merchant(&m.id).unwrap(), m);
        assert_eq!(s.merchant_by_code("m").unwrap().unwrap(), m);
        assert_eq!(s.merchant_by_number("16000002").unwrap().unwrap(), m);
        assert_eq!(s.merchant_by_number("16000009").unwrap(), None);
        assert_eq!(s.merchant(&MerchantId::from("m_nope")).unwrap(), None);
        // A code or a number is one merchant's.
        let e = s.create_merchant("m", "또", &MerchantSettings::default());
        assert_eq!(code_of(e.unwrap_err()), ErrorCode::Conflict);
        let e = s.create_merchant("o", "또", &settings);
        assert_eq!(code_of(e.unwrap_err()), ErrorCode::Conflict);
        assert_eq!(s.merchant_by_code("o").unwrap(), None, "nothing written");

        let mut changed = settings.clone();
        changed.credit_policy = CreditPolicy::Warn;
        s.update_merchant_settings(&m.id, &changed).unwrap();
        assert_eq!(s.cached_merchant(&m.id), None, "dropped at once");
        assert_eq!(s.merchant(&m.id).unwrap().unwrap().settings, changed);
        // The pool changes through its own calls (the settings leave it alone).
        use crate::store::AdminStore;
        s.add_numbers(&m.id, &["16000009".into()]).unwrap();
        s.remove_number(&m.id, "16000001").unwrap();
        s.remove_number(&m.id, "16000002").unwrap();
        changed.number_pool = vec!["16000009".into()];
        assert_eq!(s.merchant(&m.id).unwrap().unwrap().settings, changed);
        assert_eq!(s.merchant_by_number("16000001").unwrap(), None);
        assert_eq!(s.merchant_by_number("16000009").unwrap().unwrap().id, m.id);

        let rep = s
            .create_rep(
                &m.id,
                "kim",
                "김영업",
                &Secret::from("argon-hash"),
                Role::Manager,
            )
            .unwrap();
        let found = s.rep_by_login(&m.id, "kim").unwrap().unwrap();
        assert_eq!(found.id, rep);
        assert_eq!(found.merchant_id, m.id);
        assert_eq!(found.name, "김영업");
        assert_eq!(found.password_hash.expose(), "argon-hash");
        assert!(found.active);
        assert_eq!(found.role, Role::Manager);
        let other = merchant(&s, "other");
        assert!(s.rep_by_login(&other.id, "kim").unwrap().is_none());
        let e = s.create_rep(&m.id, "kim", "또", &Secret::from("h"), Role::Rep);
        assert_eq!(code_of(e.unwrap_err()), ErrorCode::Conflict);
        // The same login in another merchant is another rep.
        s.create_rep(&other.id, "kim", "김", &Secret::from("h"), Role::Rep)
            .unwrap();
    }

    #[test]
    fn a_revoked_api_key_is_refused_at_once() {
        let s = store();
        let m = merchant(&s, "m");
        let other = merchant(&s, "o");
        let key_id = s
            .create_api_key(&m.id, "hash-1", "fpk_abcd", "one")
            .unwrap();
        s.create_api_key(&m.id, "hash-2", "fpk_efgh", "two")
            .unwrap();
        assert_eq!(s.cached_api_key("hash-1"), None, "not read yet");
        let live = Some(ApiKeyOwner {
            key_id: key_id.clone(),
            merchant_id: m.id.clone(),
        });
        assert_eq!(s.api_key("hash-1").unwrap(), live);
        assert_eq!(s.cached_api_key("hash-1"), live, "kept in memory");
        assert!(s.api_key("hash-2").unwrap().is_some());
        assert_eq!(s.api_key("hash-x").unwrap(), None);
        assert_eq!(
            s.cached_api_key("hash-x"),
            None,
            "unknown keys are not kept"
        );

        assert!(!s.revoke_api_key(&other.id, &key_id).unwrap());
        assert_eq!(s.api_key("hash-1").unwrap(), live);
        assert!(s.revoke_api_key(&m.id, &key_id).unwrap());
        assert_eq!(s.cached_api_key("hash-1"), None);
        assert_eq!(s.api_key("hash-1").unwrap(), None);
        assert!(
            s.api_key("hash-2").unwrap().is_some(),
            "the other key lives"
        );
        assert!(!s.revoke_api_key(&m.id, &key_id).unwrap(), "once");
    }

    fn tokens(tag: &str, now: DateTime<Utc>) -> NewTokens {
        NewTokens {
            refresh_hash: format!("refresh-{tag}"),
            refresh_expires_at: now + Duration::days(30),
            access_hash: format!("access-{tag}"),
            access_expires_at: now + Duration::minutes(15),
        }
    }

    #[test]
    fn token_families_rotate_and_a_reused_token_revokes_in_order() {
        let s = store();
        let m = merchant(&s, "m");
        s.create_rep(&m.id, "rep", "Rep", &Secret::from("hash"), Role::Rep)
            .unwrap();
        let rep = s.rep_by_login(&m.id, "rep").unwrap().unwrap();
        let t0 = Utc::now();
        let grace = Duration::seconds(10);
        let family = s
            .start_session(&rep, Some("phone"), &tokens("1", t0))
            .unwrap();
        let live = |hash: &str, kind| s.token(hash, kind, t0).unwrap().is_some();
        let rotate = |old: &str, tag: &str, at: DateTime<Utc>| {
            s.rotate_refresh(old, &tokens(tag, at), at, grace).unwrap()
        };
        assert!(live("access-1", TokenKind::Access) && live("refresh-1", TokenKind::Refresh));
        assert!(!live("access-1", TokenKind::Refresh), "of the other kind");
        assert_eq!(
            s.token("access-1", TokenKind::Access, t0)
                .unwrap()
                .unwrap()
                .id,
            rep.id
        );
        assert!(s
            .token("access-1", TokenKind::Access, t0 + Duration::minutes(16))
            .unwrap()
            .is_none());
        let fam = s.token_family("access-1").unwrap().unwrap();
        assert_eq!(
            (fam.id.as_str(), &fam.rep_id, &fam.merchant_id, fam.revoked),
            (family.as_str(), &rep.id, &m.id, false)
        );

        let r = rotate("refresh-1", "2", t0);
        assert!(matches!(r, Rotation::Rotated { family_id, .. } if family_id == family));
        assert!(
            !live("refresh-1", TokenKind::Refresh),
            "a used refresh token"
        );
        assert!(live("refresh-2", TokenKind::Refresh) && live("access-2", TokenKind::Access));
        // The loser of a race: refused, nothing revoked, nothing stored.
        let r = rotate("refresh-1", "3", t0 + Duration::seconds(9));
        assert!(matches!(r, Rotation::AlreadyUsed));
        assert!(live("refresh-2", TokenKind::Refresh));
        assert!(s.token_family("refresh-3").unwrap().is_none());
        assert_eq!(s.last_revocation().unwrap(), 0);
        // Past the grace period: the family ends, every token of it with it.
        let r = rotate("refresh-1", "4", t0 + Duration::seconds(11));
        assert!(matches!(r, Rotation::Reused { family_id, .. } if family_id == family));
        for hash in ["access-1", "access-2"] {
            assert!(!live(hash, TokenKind::Access), "{hash}");
        }
        assert!(!live("refresh-2", TokenKind::Refresh));
        assert!(matches!(rotate("refresh-2", "5", t0), Rotation::Refused));
        assert!(s.token_family("refresh-2").unwrap().unwrap().revoked);
        assert_eq!(
            s.revoked_families_after(0, 10).unwrap(),
            vec![(1, family.clone())]
        );
        assert!(!s.revoke_family(&family, Revocation::Logout).unwrap());
        assert!(matches!(rotate("unknown", "x", t0), Rotation::Refused));
        // An expired refresh token is refused without ending anything.
        let other = s.start_session(&rep, None, &tokens("6", t0)).unwrap();
        let r = rotate("refresh-6", "7", t0 + Duration::days(31));
        assert!(matches!(r, Rotation::Refused));
        assert!(!s.token_family("refresh-6").unwrap().unwrap().revoked);
        // A sign-out.
        let out = s.start_session(&rep, None, &tokens("8", t0)).unwrap();
        assert!(s.revoke_family(&out, Revocation::Logout).unwrap());
        assert!(!live("access-8", TokenKind::Access));
        // Deactivation ends every live family of the rep, numbered after the others, in id
        // order.
        let third = s.start_session(&rep, None, &tokens("9", t0)).unwrap();
        // Another merchant cannot deactivate the rep.
        let stranger = merchant(&s, "x");
        assert!(!s.deactivate_rep(&stranger.id, &rep.id).unwrap());
        assert!(live("access-9", TokenKind::Access));
        assert!(s.deactivate_rep(&m.id, &rep.id).unwrap());
        assert!(!s.deactivate_rep(&m.id, &rep.id).unwrap(), "once");
        assert!(!s.rep_by_login(&m.id, "rep").unwrap().unwrap().active);
        let mut expected = [other, third];
        expected.sort();
        let revoked = s.revoked_families_after(2, 10).unwrap();
        assert_eq!(
            revoked,
            vec![(3, expected[0].clone()), (4, expected[1].clone())]
        );
        assert_eq!(s.revoked_families_after(0, 2).unwrap().len(), 2, "limit");
        assert_eq!(s.last_revocation().unwrap(), 4);
        // A new session of an inactive rep is not honoured.
        s.start_session(&rep, None, &tokens("10", t0)).unwrap();
        assert!(!live("access-10", TokenKind::Access));
        assert!(matches!(rotate("refresh-10", "11", t0), Rotation::Refused));
    }

    /// Concurrent revocations: every position is given once, with no gap.
    #[test]
    fn revocation_positions_are_unique_under_concurrency() {
        let s = std::sync::Arc::new(store());
        let m = merchant(&s, "m");
        s.create_rep(&m.id, "rep", "Rep", &Secret::from("hash"), Role::Rep)
            .unwrap();
        let rep = s.rep_by_login(&m.id, "rep").unwrap().unwrap();
        let families: Vec<String> = (0..16)
            .map(|i| {
                s.start_session(&rep, None, &tokens(&i.to_string(), Utc::now()))
                    .unwrap()
            })
            .collect();
        let threads: Vec<_> = families
            .chunks(4)
            .map(|chunk| {
                let (s, chunk) = (s.clone(), chunk.to_vec());
                std::thread::spawn(move || {
                    for f in chunk {
                        assert!(s.revoke_family(&f, Revocation::Logout).unwrap());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let seqs: Vec<i64> = s
            .revoked_families_after(0, 100)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(seqs, (1..=16).collect::<Vec<_>>());
    }

    #[test]
    fn accounts_and_products_are_upserted_by_code() {
        let s = store();
        let m = merchant(&s, "m");
        let other = merchant(&s, "o");
        s.create_rep(&m.id, "kim", "김", &Secret::from("h"), Role::Rep)
            .unwrap();
        let mut b2 = account("B2", 500);
        b2.rep_login = Some("kim".into());
        assert_eq!(
            s.upsert_accounts(&m.id, &[account("a1", 100), b2.clone()])
                .unwrap(),
            2
        );
        let first = s.accounts(&m.id).unwrap();
        // Byte order of the code, as in SQLite.
        assert_eq!(
            first.iter().map(|a| a.code.as_str()).collect::<Vec<_>>(),
            ["B2", "a1"]
        );
        let rep = s.rep_by_login(&m.id, "kim").unwrap().unwrap();
        assert_eq!(first[0].rep_id.as_deref(), Some(rep.id.as_str()));
        assert_eq!(first[1].rep_id, None);
        assert!(!first[0].closed);
        let seqs = change_seqs(&s, &m.id, "account");
        assert_eq!(
            seqs,
            vec![(first[1].id.clone(), 1), (first[0].id.clone(), 2)]
        );

        // Again: updated in place (same ids), no duplicates, renumbered; a code given twice
        // keeps its last values.
        let mut a1 = account("a1", 900);
        a1.name = "바뀐 이름".into();
        let c3 = account("C3", 0);
        assert_eq!(
            s.upsert_accounts(&m.id, &[account("a1", 1), c3, a1])
                .unwrap(),
            3
        );
        let second = s.accounts(&m.id).unwrap();
        assert_eq!(second.len(), 3);
        assert_eq!(second[0], first[0], "B2 untouched");
        let a1 = second.iter().find(|a| a.code == "a1").unwrap();
        assert_eq!(
            (a1.id.as_str(), a1.name.as_str(), a1.credit_limit),
            (first[1].id.as_str(), "바뀐 이름", 900)
        );
        assert_eq!(
            s.account(&m.id, &AccountId::from(a1.id.as_str()))
                .unwrap()
                .as_ref(),
            Some(a1)
        );
        assert!(s
            .account(&other.id, &AccountId::from(a1.id.as_str()))
            .unwrap()
            .is_none());
        let c3 = second.iter().find(|a| a.code == "C3").unwrap();
        let seqs = change_seqs(&s, &m.id, "account");
        assert_eq!(
            seqs,
            vec![
                (first[0].id.clone(), 2),
                (c3.id.clone(), 3),
                (a1.id.clone(), 4)
            ]
        );

        // An unknown rep: refused, nothing written.
        let mut bad = account("D4", 1);
        bad.rep_login = Some("nobody".into());
        let e = s
            .upsert_accounts(&m.id, &[account("E5", 1), bad])
            .unwrap_err();
        assert_eq!(e.to_string(), "rep nobody does not exist");
        assert_eq!(code_of(e), ErrorCode::InvalidField);
        assert_eq!(s.accounts(&m.id).unwrap().len(), 3);
        // The rep of another merchant is unknown here.
        assert!(s.upsert_accounts(&other.id, &[b2]).is_err());
        assert!(s.accounts(&other.id).unwrap().is_empty());

        // Products.
        assert_eq!(
            s.upsert_products(&m.id, &[product("p2", 1000), product("P1", 500)])
                .unwrap(),
            2
        );
        let p = s.products(&m.id).unwrap();
        assert_eq!(
            p.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(),
            ["P1", "p2"]
        );
        assert!(p[0].active);
        let mut p2 = product("p2", 1200);
        p2.unit = "BOX".into();
        s.upsert_products(&m.id, &[p2]).unwrap();
        let again = s.products(&m.id).unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(
            (
                again[1].id.as_str(),
                again[1].unit_price,
                again[1].unit.as_str()
            ),
            (p[1].id.as_str(), 1200, "BOX")
        );
        let seqs = change_seqs(&s, &m.id, "product");
        assert_eq!(seqs, vec![(p[0].id.clone(), 6), (p[1].id.clone(), 7)]);
        assert!(s.products(&other.id).unwrap().is_empty());
    }

    #[test]
    fn a_large_import_goes_in_chunks() {
        let s = store();
        let m = merchant(&s, "m");
        let rows: Vec<NewAccount> = (0..12_345)
            .map(|i| account(&format!("A{i:05}"), 10))
            .collect();
        assert_eq!(s.upsert_accounts(&m.id, &rows).unwrap(), rows.len());
        let mut changed = rows.clone();
        changed[12_000].credit_limit = 77;
        assert_eq!(s.upsert_accounts(&m.id, &changed).unwrap(), rows.len());
        let all = s.accounts(&m.id).unwrap();
        assert_eq!(all.len(), rows.len());
        assert_eq!(all[12_000].credit_limit, 77);
        let seqs = change_seqs(&s, &m.id, "account");
        assert_eq!(seqs.len(), rows.len());
        assert_eq!(seqs[0], (all[0].id.clone(), 12_346));
        assert_eq!(seqs.last().unwrap().1, 24_690);
        let products: Vec<NewProduct> = (0..11_000)
            .map(|i| product(&format!("P{i:05}"), 5))
            .collect();
        assert_eq!(s.upsert_products(&m.id, &products).unwrap(), products.len());
        assert_eq!(s.products(&m.id).unwrap().len(), products.len());
    }

    fn entry(account_id: &str, amount: i64, ref_id: Option<&str>) -> NewLedger {
        NewLedger {
            account_id: AccountId::from(account_id),
            kind: LedgerKind::Adjustment,
            amount,
            ref_id: ref_id.map(Into::into),
            memo: "이월".into(),
            at: Utc::now(),
        }
    }

    /// A merchant with accounts A1 and A2 (limit 1,000,000 each); their ids.
    fn with_accounts(s: &PgStore, code: &str) -> (Merchant, Vec<String>) {
        let m = merchant(s, code);
        s.upsert_accounts(&m.id, &[account("A1", 1_000_000), account("A2", 1_000_000)])
            .unwrap();
        let ids = s
            .accounts(&m.id)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        (m, ids)
    }

    #[test]
    fn the_ledger_books_once_and_sums() {
        let s = store();
        let (m, ids) = with_accounts(&s, "m");
        let (other, _) = with_accounts(&s, "o");
        let a1 = AccountId::from(ids[0].as_str());
        assert_eq!(s.balance(&m.id, &a1).unwrap(), 0);
        let id = s
            .add_ledger(&m.id, &entry(&ids[0], 1_000, Some("ch_1")))
            .unwrap();
        s.add_ledger(&m.id, &entry(&ids[0], -250, None)).unwrap();
        s.add_ledger(&m.id, &entry(&ids[0], -250, None)).unwrap();
        assert_eq!(s.balance(&m.id, &a1).unwrap(), 500);
        // Once per (kind, ref_id): refused, nothing written.
        let e = s
            .add_ledger(&m.id, &entry(&ids[0], 1_000, Some("ch_1")))
            .unwrap_err();
        assert_eq!(code_of(e), ErrorCode::Conflict);
        assert_eq!(s.balance(&m.id, &a1).unwrap(), 500);
        let mut refund = entry(&ids[0], -1_000, Some("ch_1"));
        refund.kind = LedgerKind::Refund;
        s.add_ledger(&m.id, &refund).unwrap();
        assert_eq!(s.balance(&m.id, &a1).unwrap(), -500);
        // Another merchant's account is unknown here.
        let e = s
            .add_ledger(&other.id, &entry(&ids[0], 1, None))
            .unwrap_err();
        assert_eq!(e.to_string(), "account not found");
        assert_eq!(code_of(e), ErrorCode::NotFound);
        assert_eq!(
            code_of(s.balance(&other.id, &a1).unwrap_err()),
            ErrorCode::NotFound
        );
        let ledger = change_seqs(&s, &m.id, "ledger");
        assert_eq!(ledger.len(), 4);
        assert_eq!(ledger[0], (id, 3));

        // A batch: all or nothing.
        let batch = [
            entry(&ids[0], 1_000, None),
            entry(&ids[0], -300, None),
            entry(&ids[1], 50, Some("imp-1")),
        ];
        assert_eq!(s.add_ledger_batch(&m.id, &batch).unwrap(), 3);
        assert_eq!(s.balance(&m.id, &a1).unwrap(), 200);
        assert_eq!(
            s.balance(&m.id, &AccountId::from(ids[1].as_str())).unwrap(),
            50
        );
        let ledger = change_seqs(&s, &m.id, "ledger");
        assert_eq!(
            ledger.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            [3, 4, 5, 6, 7, 8, 9]
        );
        let bad = [entry(&ids[1], 10, None), entry("acc_nope", 10, None)];
        let e = s.add_ledger_batch(&m.id, &bad).unwrap_err();
        assert_eq!(e.to_string(), "account acc_nope not found");
        let twice = [entry(&ids[1], 10, None), entry(&ids[1], 10, Some("imp-1"))];
        assert_eq!(
            code_of(s.add_ledger_batch(&m.id, &twice).unwrap_err()),
            ErrorCode::Conflict
        );
        assert_eq!(
            s.balance(&m.id, &AccountId::from(ids[1].as_str())).unwrap(),
            50
        );
        assert_eq!(change_seqs(&s, &m.id, "ledger").len(), 7);
        assert_eq!(s.add_ledger_batch(&m.id, &[]).unwrap(), 0);
    }

    fn draft(order_id: &str, account_id: &str, lines: &[(&str, i64, Option<i64>)]) -> OrderDraft {
        OrderDraft {
            order_id: OrderId::from(order_id),
            account_id: AccountId::from(account_id),
            lines: lines
                .iter()
                .map(|(p, q, price)| OrderLineInput {
                    product_id: p.to_string(),
                    quantity: *q,
                    unit_price: *price,
                    reason: None,
                })
                .collect(),
            memo: "오전 배송".into(),
            kind: Default::default(),
            original_order_id: None,
        }
    }

    fn evidence(m: &MerchantId, o: &Order, at: DateTime<Utc>) -> SignatureEvidence {
        SignatureEvidence {
            signer_name: "김민수".into(),
            signed_at: crate::clock::ts(at),
            device: "test".into(),
            gps: None,
            content_hash: content_hash(&SignedContent::of(m.as_str(), o, &kst_date(at))),
            strokes_json: None,
        }
    }

    /// Drafts, signs and submits an order of `quantity` of product `p` (10,000 won each).
    fn place(
        s: &PgStore,
        m: &MerchantId,
        id: &str,
        acc: &str,
        p: &str,
        quantity: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Order> {
        let o = s.upsert_order(m, None, &draft(id, acc, &[(p, quantity, None)]), at)?;
        s.sign_order(
            m,
            &OrderId::from(id),
            &evidence(m, &o, at),
            None,
            b"png",
            None,
            at,
        )?;
        s.submit_order(m, &OrderId::from(id), at)
    }

    #[test]
    fn orders_are_priced_signed_and_numbered_per_merchant_and_day() {
        let s = store();
        let (m, ids) = with_accounts(&s, "m");
        let (other, other_ids) = with_accounts(&s, "o");
        s.upsert_products(&m.id, &[product("P1", 10_000), product("P2", 3_000)])
            .unwrap();
        s.upsert_products(&other.id, &[product("P1", 10_000)])
            .unwrap();
        let p = s.products(&m.id).unwrap();
        let op = s.products(&other.id).unwrap();
        let rep = s
            .create_rep(&m.id, "kim", "김", &Secret::from("h"), Role::Rep)
            .unwrap();
        // 2026-12-03 10:00 KST.
        let t = Utc.with_ymd_and_hms(2026, 12, 3, 1, 0, 0).unwrap();

        let o = s
            .upsert_order(
                &m.id,
                Some(&rep),
                &draft("o-1", &ids[0], &[(&p[0].id, 2, None), (&p[1].id, 1, None)]),
                t,
            )
            .unwrap();
        assert_eq!(o.status, OrderStatus::Draft);
        assert_eq!(
            (o.totals.supply, o.totals.vat, o.totals.total),
            (23_000, 2_300, 25_300)
        );
        assert_eq!(o.lines[0].line_total, 20_000);
        assert_eq!(o.rep_id.as_deref(), Some(rep.as_str()));
        assert!(!o.has_signature_image && !o.has_pdf && o.number.is_none());
        assert_eq!(s.order(&m.id, &OrderId::from("o-1")).unwrap().unwrap(), o);
        assert!(s.order(&other.id, &OrderId::from("o-1")).unwrap().is_none());
        // Refusals of the shared rules.
        let refused = |d: OrderDraft| code_of(s.upsert_order(&m.id, None, &d, t).unwrap_err());
        assert_eq!(refused(draft("o-x", &ids[0], &[])), ErrorCode::InvalidField);
        assert_eq!(
            refused(draft("o-x", &ids[0], &[(&p[0].id, 0, None)])),
            ErrorCode::InvalidField
        );
        assert_eq!(
            refused(draft("o-x", &ids[0], &[(&op[0].id, 1, None)])),
            ErrorCode::InvalidField
        );
        assert_eq!(
            refused(draft("o-x", &ids[0], &[(&p[0].id, 1, Some(9_000))])),
            ErrorCode::InvalidAmount
        );
        assert_eq!(
            refused(draft("o-x", "acc_nope", &[(&p[0].id, 1, None)])),
            ErrorCode::NotFound
        );
        assert_eq!(
            refused(draft("o-x", &ids[0], &[(&p[0].id, 100_000, None)])),
            ErrorCode::InvalidAmount
        );
        // The id is taken by this merchant's order.
        let e = s
            .upsert_order(
                &other.id,
                None,
                &draft("o-1", &other_ids[0], &[(&op[0].id, 1, None)]),
                t,
            )
            .unwrap_err();
        assert_eq!(e.to_string(), "order_id is already taken");

        // Unsigned: not registered.
        let e = s.submit_order(&m.id, &OrderId::from("o-1"), t).unwrap_err();
        assert_eq!(code_of(e), ErrorCode::InvalidState);
        let mut wrong = evidence(&m.id, &o, t);
        wrong.content_hash = "00".repeat(32);
        let e = s
            .sign_order(&m.id, &OrderId::from("o-1"), &wrong, None, b"png", None, t)
            .unwrap_err();
        assert_eq!(code_of(e), ErrorCode::InvalidField);
        let signed = s
            .sign_order(
                &m.id,
                &OrderId::from("o-1"),
                &evidence(&m.id, &o, t),
                None,
                b"png",
                Some(b"%PDF"),
                t,
            )
            .unwrap();
        assert_eq!(signed.status, OrderStatus::Signed);
        assert!(signed.has_signature_image && signed.has_pdf);
        assert_eq!(
            s.order_pdf(&m.id, &OrderId::from("o-1")).unwrap().unwrap(),
            b"%PDF"
        );
        assert_eq!(s.order_pdf(&other.id, &OrderId::from("o-1")).unwrap(), None);
        // A changed draft loses its signature.
        let o = s
            .upsert_order(
                &m.id,
                Some(&rep),
                &draft("o-1", &ids[0], &[(&p[0].id, 2, None), (&p[1].id, 1, None)]),
                t,
            )
            .unwrap();
        assert!(o.signature.is_none() && !o.has_pdf);
        assert_eq!(s.order_pdf(&m.id, &OrderId::from("o-1")).unwrap(), None);
        s.sign_order(
            &m.id,
            &OrderId::from("o-1"),
            &evidence(&m.id, &o, t),
            None,
            b"png",
            None,
            t,
        )
        .unwrap();
        let r = s.submit_order(&m.id, &OrderId::from("o-1"), t).unwrap();
        assert_eq!(r.status, OrderStatus::Registered);
        assert_eq!(r.number.as_deref(), Some("PO-20261203-0001"));
        assert_eq!(
            s.balance(&m.id, &AccountId::from(ids[0].as_str())).unwrap(),
            25_300
        );
        // Again: answered as it is, booked once.
        assert_eq!(s.submit_order(&m.id, &OrderId::from("o-1"), t).unwrap(), r);
        assert_eq!(
            s.balance(&m.id, &AccountId::from(ids[0].as_str())).unwrap(),
            25_300
        );
        let e = s
            .upsert_order(
                &m.id,
                None,
                &draft("o-1", &ids[0], &[(&p[0].id, 1, None)]),
                t,
            )
            .unwrap_err();
        assert_eq!(code_of(e), ErrorCode::InvalidState);
        let e = s
            .sign_order(
                &m.id,
                &OrderId::from("o-1"),
                &evidence(&m.id, &r, t),
                None,
                b"png",
                None,
                t,
            )
            .unwrap_err();
        assert_eq!(code_of(e), ErrorCode::InvalidState);

        // Numbers go on per merchant and per KST day.
        let n = |o: StoreResult<Order>| o.unwrap().number.unwrap();
        assert_eq!(
            n(place(&s, &m.id, "o-2", &ids[1], &p[0].id, 1, t)),
            "PO-20261203-0002"
        );
        assert_eq!(
            n(place(&s, &other.id, "o-3", &other_ids[0], &op[0].id, 1, t)),
            "PO-20261203-0001"
        );
        // 2026-12-04 00:30 KST is still 12-03 in UTC.
        let next_day = Utc.with_ymd_and_hms(2026, 12, 3, 15, 30, 0).unwrap();
        assert_eq!(
            n(place(&s, &m.id, "o-4", &ids[1], &p[0].id, 1, next_day)),
            "PO-20261204-0001"
        );
    }

    #[test]
    fn the_credit_check_refuses_or_warns() {
        let s = store();
        let (m, ids) = with_accounts(&s, "m");
        s.upsert_products(&m.id, &[product("P1", 10_000)]).unwrap();
        let p = s.products(&m.id).unwrap();
        let t = Utc::now();
        // 91 x 11,000 = 1,001,000 > 1,000,000: refused, the refusal stored on the order.
        let e = place(&s, &m.id, "o-1", &ids[0], &p[0].id, 91, t).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("credit limit exceeded"), "{msg}");
        assert_eq!(code_of(e), ErrorCode::CreditLimitExceeded);
        let stored = s.order(&m.id, &OrderId::from("o-1")).unwrap().unwrap();
        assert_eq!(stored.status, OrderStatus::Rejected);
        assert_eq!(stored.reject_reason.as_deref(), Some(msg.as_str()));
        assert_eq!(
            s.balance(&m.id, &AccountId::from(ids[0].as_str())).unwrap(),
            0
        );
        // Under Warn: registered with the warning in the ledger memo.
        let mut settings = m.settings.clone();
        settings.credit_policy = CreditPolicy::Warn;
        s.update_merchant_settings(&m.id, &settings).unwrap();
        let r = s.submit_order(&m.id, &OrderId::from("o-1"), t).unwrap();
        assert_eq!(r.status, OrderStatus::Registered);
        assert!(r.reject_reason.is_none());
        let memo: String = s
            .read(|tx| {
                Ok(tx
                    .query_one("SELECT memo FROM ledger WHERE ref_id = 'o-1'", &[])?
                    .try_get(0)?)
            })
            .unwrap();
        assert!(
            memo.starts_with(&format!("주문 {} (여신 한도 초과", r.number.unwrap())),
            "{memo}"
        );
        // A closed account.
        s.write(|tx| {
            tx.execute(
                "UPDATE accounts SET closed = TRUE WHERE id = $1",
                &[&ids[1]],
            )
        })
        .unwrap();
        let e = place(&s, &m.id, "o-2", &ids[1], &p[0].id, 1, t).unwrap_err();
        assert_eq!(code_of(e), ErrorCode::AccountClosed);
    }

    #[test]
    fn settlement_sums_a_kst_day_by_card_company_and_rep() {
        use crate::store::settlement::Period;
        let s = store();
        let m = merchant(&s, "m");
        let other = merchant(&s, "o");
        let rep = s
            .create_rep(&m.id, "kim", "김영업", &Secret::from("h"), Role::Rep)
            .unwrap();
        let pay = |mid: &MerchantId,
                   id: &str,
                   rep: Option<&RepId>,
                   issuer: (&str, &str),
                   amount: i64,
                   approved: &str,
                   refunded: Option<&str>| {
            let rep = rep.map(RepId::as_str);
            s.write(|tx| {
                tx.execute(
                    "INSERT INTO charges (merchant_id, id, rep_id, origin, kind, status, amount, goods_name,
                        payer_phone, installments, virtual_number, bound, created_at, expires_at, updated_at)
                     VALUES ($1, $2, $3, 'api', 'bill', 'approved', $4, 'g', '01012345678', 0, '16000001', FALSE, $5, $5, $5)",
                    &[&mid.as_str(), &id, &rep, &amount, &approved],
                )?;
                tx.execute(
                    "INSERT INTO payments (merchant_id, charge_id, rep_id, connector, approval_number, issuer_code,
                        issuer_name, acquirer_code, masked_card, installment_months, amount, approved_at, refunded_at)
                     VALUES ($1, $2, $3, 'mock', '1', $4, $5, 'a', '123456******1234', 0, $6, $7, $8)",
                    &[&mid.as_str(), &id, &rep, &issuer.0, &issuer.1, &amount, &approved, &refunded],
                )?;
                // A whole refund: refund 1 of the payment, as the refund path records it.
                tx.execute(
                    "INSERT INTO refunds (merchant_id, charge_id, n, amount, state, requested_at, refunded_at)
                     SELECT $1, $2, 1, $3, 'done', $4, $4 WHERE $4::TEXT IS NOT NULL",
                    &[&mid.as_str(), &id, &amount, &refunded],
                )
            })
            .unwrap();
        };
        let bc = ("11", "BC카드");
        let kb = ("06", "KB국민카드");
        // The KST day 2026-12-03 is [2026-12-02T15:00Z, 2026-12-03T15:00Z).
        pay(
            &m.id,
            "c1",
            Some(&rep),
            kb,
            10_000,
            "2026-12-02T15:00:00.000Z",
            None,
        );
        pay(
            &m.id,
            "c2",
            None,
            bc,
            5_000,
            "2026-12-03T14:59:59.999Z",
            Some("2026-12-03T14:59:59.999Z"),
        );
        pay(
            &m.id,
            "c3",
            Some(&rep),
            bc,
            7_000,
            "2026-12-01T10:00:00.000Z",
            Some("2026-12-03T01:00:00.000Z"),
        );
        pay(
            &m.id,
            "c4",
            Some(&rep),
            bc,
            1_000,
            "2026-12-03T15:00:00.000Z",
            None,
        );
        pay(
            &other.id,
            "c5",
            None,
            bc,
            99_000,
            "2026-12-03T01:00:00.000Z",
            None,
        );
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let r = s.settlement(&m.id, Period::Day(date), None).unwrap();
        assert_eq!(r.date, "2026-12-03");
        let rows = |rows: &[fieldpay_protocol::settlement::SettlementRow]| {
            rows.iter()
                .map(|r| {
                    (
                        r.key.clone(),
                        r.name.clone(),
                        r.approved_count,
                        r.approved_amount,
                        r.refunded_count,
                        r.refunded_amount,
                        r.net_amount,
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            rows(&r.by_card_company),
            vec![
                ("06".into(), "KB국민카드".into(), 1, 10_000, 0, 0, 10_000),
                ("11".into(), "BC카드".into(), 1, 5_000, 2, 12_000, -7_000),
            ]
        );
        assert_eq!(
            rows(&r.by_rep),
            vec![
                ("api".into(), "API".into(), 1, 5_000, 1, 5_000, 0),
                (rep.to_string(), "김영업".into(), 1, 10_000, 1, 7_000, 3_000),
            ]
        );
        assert_eq!(
            rows(std::slice::from_ref(&r.total)),
            vec![("total".into(), "합계".into(), 2, 15_000, 2, 12_000, 3_000)]
        );
        let mine = s.settlement(&m.id, Period::Day(date), Some(&rep)).unwrap();
        assert_eq!(
            rows(std::slice::from_ref(&mine.total)),
            vec![("total".into(), "합계".into(), 1, 10_000, 1, 7_000, 3_000)]
        );
        assert_eq!(mine.by_rep.len(), 1);
        let empty = s
            .settlement(
                &m.id,
                Period::Day(date.succ_opt().unwrap().succ_opt().unwrap()),
                None,
            )
            .unwrap();
        assert!(empty.by_card_company.is_empty() && empty.by_rep.is_empty());
        assert_eq!(empty.total.approved_count, 0);
    }
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
            link: None,
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
        crate::store::contract_tests::bill_text(
            rec,
            Some(crate::store::contract_tests::one_text_per_phone_hour()),
        )
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
        let ids: Vec<(i64, SmsAttempt)> = s
            .pending_sms(10)
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t.id,
                    SmsAttempt::Sent {
                        provider: "sandbox".into(),
                        provider_id: None,
                    },
                )
            })
            .collect();
        let bills = s
            .mark_sms_batch(&ids, Utc::now(), &|_| Effects::default())
            .unwrap();
        assert_eq!(bills.len(), 4);
        assert!(bills
            .iter()
            .all(|b| b.event.status == ChargeStatus::SmsSent));
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
        let rec = s.begin_approval(&id, &limits, "inst_test", now).unwrap();
        assert_eq!(rec.charge.status, ChargeStatus::CardEntered);
        assert!(rec.approving);
        // One approval at a time; no cancel while paying.
        assert_eq!(
            code(&s.begin_approval(&id, &limits, "inst_test", now)),
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
        s.begin_approval(&id, &limits, "inst_test", now).unwrap();
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
            code(&s.begin_approval(&id, &limits, "inst_test", now)),
            Some(ErrorCode::InvalidState)
        );

        // A third decline from the phone within the hour: the caller is refused everywhere.
        let id2 = ChargeId::new("ch_2".to_string());
        create_one(&s, charge_to("ch_2", &m, "010-3000-0001", None));
        s.begin_approval(&id2, &limits, "inst_test", now).unwrap();
        s.end_approval(&id2, Some("x"), &limits, now, &no_effects)
            .unwrap();
        assert_eq!(
            code(&s.begin_approval(&id2, &limits, "inst_test", now)),
            Some(ErrorCode::RateLimited)
        );
        // An hour later the phone may try again.
        let later = now + Duration::minutes(61);
        s.begin_approval(&id2, &limits, "inst_test", later).unwrap();
        assert_eq!(s.approvals_in_flight().unwrap().len(), 1);
        // A failure with nothing charged: back to verified.
        let rec = s
            .end_approval(&id2, None, &limits, later, &no_effects)
            .unwrap();
        assert_eq!(rec.charge.status, ChargeStatus::Verified);
        assert!(s.approvals_in_flight().unwrap().is_empty());

        // Approval, then refund.
        s.begin_approval(&id2, &limits, "inst_test", later).unwrap();
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
            code(&s.begin_refund(&m, &ChargeId::new("ch_1".to_string()), None, None, later)),
            Some(ErrorCode::InvalidState)
        );
        let claim = s
            .begin_refund(&m, &id2, None, Some("고객 요청"), later)
            .unwrap();
        let n = claim.refund.unwrap().n;
        let rec = s.record_refund(&id2, n, later, &no_effects).unwrap();
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
        s.mark_sms_batch(
            &[
                (
                    first,
                    SmsAttempt::Sent {
                        provider: "sandbox".into(),
                        provider_id: None,
                    },
                ),
                (
                    second,
                    SmsAttempt::Failed {
                        reason: "timed out".into(),
                        retry_at: Some(later),
                    },
                ),
            ],
            later,
            &|_| Effects::default(),
        )
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
        // A plain rep's device: its own charges and orders only (the log's rows for it: the
        // cursor ends at its last one, 10 — the charges of rep_2 and of the API come after).
        let rep = RepId::new("rep_1".to_string());
        let page = s.pull(&m, 0, 100, Some(&rep)).unwrap();
        assert_eq!(page.cursor, 10);
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
            collection: None,
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
            owner: Some("inst_a".into()),
            owner_url: Some("http://10.0.0.1:8640".into()),
        };
        s.save_call(&call, Utc::now()).unwrap();
        assert_eq!(
            s.call("call_1").unwrap().unwrap().owner_url.as_deref(),
            Some("http://10.0.0.1:8640")
        );
        call.merchant_id = Some(m.clone());
        call.owner = Some("inst_b".into());
        call.outcome = Some("paid".into());
        s.save_call(&call, Utc::now()).unwrap();
        let got = s.call("call_1").unwrap().unwrap();
        assert_eq!(got.merchant_id, Some(m));
        assert_eq!(got.outcome.as_deref(), Some("paid"));
        assert_eq!(got.owner.as_deref(), Some("inst_b"));
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
