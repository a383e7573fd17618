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
        assert_eq!(s.cached_merchant(&m.id).unwrap(), m);
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
        changed.number_pool = vec!["16000009".into()];
        changed.credit_policy = CreditPolicy::Warn;
        s.update_merchant_settings(&m.id, &changed).unwrap();
        assert_eq!(s.cached_merchant(&m.id), None, "dropped at once");
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
        let key_id = s.create_api_key(&m.id, "hash-1", "fpk_abcd").unwrap();
        s.create_api_key(&m.id, "hash-2", "fpk_efgh").unwrap();
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
                })
                .collect(),
            memo: "오전 배송".into(),
        }
    }

    fn evidence(m: &MerchantId, o: &Order, at: DateTime<Utc>) -> SignatureEvidence {
        SignatureEvidence {
            signer_name: "김민수".into(),
            signed_at: crate::clock::ts(at),
            device: "test".into(),
            gps: None,
            content_hash: content_hash(&SignedContent {
                merchant_id: m.as_str(),
                account_id: &o.account_id,
                order_id: &o.id,
                date: &kst_date(at),
                lines: &o.lines,
                totals: o.totals,
                memo: &o.memo,
            }),
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
            .sign_order(&m.id, &OrderId::from("o-1"), &wrong, b"png", None, t)
            .unwrap_err();
        assert_eq!(code_of(e), ErrorCode::InvalidField);
        let signed = s
            .sign_order(
                &m.id,
                &OrderId::from("o-1"),
                &evidence(&m.id, &o, t),
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
        let r = s.settlement(&m.id, date, None).unwrap();
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
        let mine = s.settlement(&m.id, date, Some(&rep)).unwrap();
        assert_eq!(
            rows(std::slice::from_ref(&mine.total)),
            vec![("total".into(), "합계".into(), 1, 10_000, 1, 7_000, 3_000)]
        );
        assert_eq!(mine.by_rep.len(), 1);
        let empty = s
            .settlement(&m.id, date.succ_opt().unwrap().succ_opt().unwrap(), None)
            .unwrap();
        assert!(empty.by_card_company.is_empty() && empty.by_rep.is_empty());
        assert_eq!(empty.total.approved_count, 0);
    }
}
