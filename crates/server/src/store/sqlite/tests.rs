//! Tests of the SQLite store that need its internals (group commit, caches, all-or-nothing
//! batches).

use chrono::Utc;
use fieldpay_protocol::charge::{ChargeOrigin, ChargeStatus};
use fieldpay_protocol::records::LedgerKind;
use fieldpay_protocol::sms::SmsKind;
use fieldpay_protocol::sync::ChangeData;
use fieldpay_protocol::{AccountId, ErrorCode, MerchantId};

use super::SqliteStore;
use crate::domain::{ChargeRequest, MerchantSettings};
use crate::store::*;

#[test]
fn ledger_batch_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let m = store
        .create_merchant("m", "상사", &MerchantSettings::default())
        .unwrap();
    let account = |code: &str| NewAccount {
        code: code.into(),
        name: "익수제약".into(),
        owner_name: "김민수".into(),
        business_number: "1234567891".into(),
        phone: "01012345678".into(),
        address: "서울".into(),
        credit_limit: 1_000_000,
        rep_login: None,
    };
    store
        .upsert_accounts(&m.id, &[account("A1"), account("A2")])
        .unwrap();
    let ids: Vec<AccountId> = store
        .accounts(&m.id)
        .unwrap()
        .into_iter()
        .map(|a| AccountId::new(a.id))
        .collect();
    let entry = |account_id: &str, amount: i64| NewLedger {
        account_id: AccountId::from(account_id),
        kind: LedgerKind::Adjustment,
        amount,
        ref_id: None,
        memo: "이월".into(),
        at: Utc::now(),
    };
    let batch = [
        entry(ids[0].as_str(), 1_000),
        entry(ids[0].as_str(), -300),
        entry(ids[1].as_str(), 50),
    ];
    assert_eq!(store.add_ledger_batch(&m.id, &batch).unwrap(), 3);
    assert_eq!(store.balance(&m.id, &ids[0]).unwrap(), 700);
    assert_eq!(store.balance(&m.id, &ids[1]).unwrap(), 50);
    let page = store.pull(&m.id, 0, 100, None).unwrap();
    let ledger = page
        .changes
        .iter()
        .filter(|c| matches!(c.data, ChangeData::Ledger(_)))
        .count();
    assert_eq!(ledger, 3);

    // One unknown account: nothing of the batch is written.
    let bad = [entry(ids[1].as_str(), 10), entry("acc_nope", 10)];
    assert!(matches!(
        store.add_ledger_batch(&m.id, &bad),
        Err(StoreError::Rejected { .. })
    ));
    assert_eq!(store.balance(&m.id, &ids[1]).unwrap(), 50);
    assert_eq!(
        store
            .pull(&m.id, page.cursor, 100, None)
            .unwrap()
            .changes
            .len(),
        0
    );
}

fn charge_to(id: &str, merchant_id: &MerchantId, payer: &str, key: Option<&str>) -> NewCharge {
    let body: fieldpay_protocol::charge::CreateCharge = serde_json::from_value(
        serde_json::json!({ "amount": 12_000, "goods_name": "감기약", "payer_phone": payer }),
    )
    .unwrap();
    NewCharge {
        id: id.into(),
        merchant_id: merchant_id.clone(),
        rep_id: None,
        api_key_id: None,
        origin: ChargeOrigin::Api,
        request: ChargeRequest::parse(&body).unwrap(),
        expires_at: Utc::now() + chrono::Duration::minutes(60),
        idempotency_key: key.map(str::to_string),
        request_hash: key.map(|_| "h1".to_string()),
        link: None,
    }
}

fn sent() -> SmsAttempt {
    SmsAttempt::Sent {
        provider: "sandbox".into(),
        provider_id: None,
    }
}

fn count(store: &SqliteStore, sql: &str) -> i64 {
    store
        .read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
        .unwrap()
}

#[test]
fn group_commit_keeps_each_charge_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let settings = MerchantSettings {
        number_pool: vec!["16000001".into(), "16000002".into()],
        ..MerchantSettings::default()
    };
    let m = store.create_merchant("m", "상사", &settings).unwrap();
    let bill = |rec: &ChargeRecord| Effects {
        sms: vec![NewSms {
            to: rec.payer_phone.clone(),
            kind: SmsKind::Bill,
            body: format!("bill {}", rec.charge.id),
            quota: None,
        }],
        webhooks: Vec::new(),
    };
    let mut on_account = charge_to("ch_bad_account", &m.id, "010-3000-0009", None);
    on_account.request.account_id = Some("acc_nope".into());
    let mut reused_key = charge_to("ch_conflict", &m.id, "010-3000-0008", Some("k1"));
    reused_key.request_hash = Some("h2".into());
    let batch = [
        charge_to("ch_a", &m.id, "010-3000-0001", Some("k1")),
        on_account,
        charge_to("ch_b", &m.id, "010-3000-0001", None),
        // The payer has both numbers now: refused, the others unaffected.
        charge_to("ch_c", &m.id, "010-3000-0001", None),
        // The same idempotency key and request: the first charge again.
        charge_to("ch_a_retry", &m.id, "010-3000-0001", Some("k1")),
        reused_key,
        // The same charge id: the first answer again.
        charge_to("ch_b", &m.id, "010-3000-0001", None),
        charge_to("ch_d", &m.id, "010-3000-0002", None),
    ];
    let out = store.create_charges(&batch, Utc::now(), &bill).unwrap();
    let code = |r: &StoreResult<(ChargeRecord, bool)>| match r {
        Err(StoreError::Rejected { code, .. }) => Some(*code),
        _ => None,
    };
    let created = |r: &StoreResult<(ChargeRecord, bool)>| {
        let (rec, new) = r.as_ref().unwrap();
        (rec.charge.id.clone(), *new)
    };
    assert_eq!(created(&out[0]), ("ch_a".into(), true));
    assert_eq!(code(&out[1]), Some(ErrorCode::NotFound));
    assert_eq!(created(&out[2]), ("ch_b".into(), true));
    assert_eq!(code(&out[3]), Some(ErrorCode::NumberPoolExhausted));
    assert_eq!(created(&out[4]), ("ch_a".into(), false));
    assert_eq!(code(&out[5]), Some(ErrorCode::IdempotencyConflict));
    assert_eq!(created(&out[6]), ("ch_b".into(), false));
    assert_eq!(created(&out[7]), ("ch_d".into(), true));
    let numbers: Vec<String> = [&out[0], &out[2]]
        .iter()
        .map(|r| r.as_ref().unwrap().0.virtual_number.clone())
        .collect();
    assert_ne!(numbers[0], numbers[1], "never two charges on one binding");

    // The refused ones left nothing: no charge, event, change, text.
    assert_eq!(count(&store, "SELECT COUNT(*) FROM charges"), 3);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM charge_events"), 3);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM changes WHERE entity = 'charge'"
        ),
        3
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sms_messages"), 3);

    // Marking the texts in one batch moves every charge to sms_sent.
    let ids: Vec<(i64, SmsAttempt)> = store
        .pending_sms(10)
        .unwrap()
        .iter()
        .map(|s| (s.id, sent()))
        .collect();
    let bills = store
        .mark_sms_batch(&ids, Utc::now(), &|_| Effects::default())
        .unwrap();
    assert_eq!(bills.len(), 3);
    assert!(bills
        .iter()
        .all(|b| b.event.status == ChargeStatus::SmsSent));
    assert!(store.pending_sms(10).unwrap().is_empty());
}

#[test]
fn a_revoked_api_key_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let m = store
        .create_merchant("m", "상사", &MerchantSettings::default())
        .unwrap();
    let other = store
        .create_merchant("o", "타사", &MerchantSettings::default())
        .unwrap();
    let key_id = store
        .create_api_key(&m.id, "hash-1", "fpk_abcd", "one")
        .unwrap();
    store
        .create_api_key(&m.id, "hash-2", "fpk_efgh", "two")
        .unwrap();
    assert_eq!(store.cached_api_key("hash-1"), None, "not read yet");
    let live = Some(ApiKeyOwner {
        key_id: key_id.clone(),
        merchant_id: m.id.clone(),
    });
    assert_eq!(store.api_key("hash-1").unwrap(), live);
    assert_eq!(store.cached_api_key("hash-1"), live, "kept in memory");
    assert!(store.api_key("hash-2").unwrap().is_some());
    assert_eq!(store.api_key("hash-x").unwrap(), None);

    // Another merchant cannot revoke it.
    assert!(!store.revoke_api_key(&other.id, &key_id).unwrap());
    assert_eq!(store.api_key("hash-1").unwrap(), live);
    assert!(store.revoke_api_key(&m.id, &key_id).unwrap());
    assert_eq!(store.cached_api_key("hash-1"), None);
    assert_eq!(store.api_key("hash-1").unwrap(), None);
    assert!(
        store.api_key("hash-2").unwrap().is_some(),
        "the other key lives"
    );
    assert!(!store.revoke_api_key(&m.id, &key_id).unwrap(), "once");

    // A reader that looked the key up before the revocation committed does not put it
    // back into the cache afterwards.
    let generation = store.api_keys.generation();
    store.api_keys.invalidate(|_, _| false);
    store
        .api_keys
        .put(generation, "hash-1", live.clone().unwrap());
    assert_eq!(store.cached_api_key("hash-1"), None);
}

#[test]
fn merchant_settings_changes_are_seen_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let m = store
        .create_merchant("m", "상사", &MerchantSettings::default())
        .unwrap();
    assert_eq!(store.merchant(&m.id).unwrap().unwrap(), m);
    assert_eq!(*store.cached_merchant(&m.id).unwrap(), m);
    let mut settings = m.settings.clone();
    settings.credit_policy = crate::domain::CreditPolicy::Warn;
    store.update_merchant_settings(&m.id, &settings).unwrap();
    assert_eq!(store.cached_merchant(&m.id), None);
    assert_eq!(store.merchant(&m.id).unwrap().unwrap().settings, settings);
    // The pool changes through its own calls, and is seen at once too.
    use crate::store::AdminStore;
    store.add_numbers(&m.id, &["16000009".into()]).unwrap();
    assert_eq!(store.cached_merchant(&m.id), None);
    settings.number_pool = vec!["16000009".into()];
    assert_eq!(store.merchant(&m.id).unwrap().unwrap().settings, settings);
}

#[test]
fn order_numbers_move_to_per_merchant_uniqueness_keeping_every_order() {
    // A database as version 2 left it, with an order, is upgraded in place.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for (version, sql) in &super::MIGRATIONS[..2] {
            c.execute_batch(&format!("{sql}\nPRAGMA user_version = {version};"))
                .unwrap();
        }
        c.execute_batch(
            "INSERT INTO merchants (id, code, name, settings, created_at) VALUES ('m1', 'a', 'A', '{}', 'x');
             INSERT INTO accounts (id, merchant_id, code, name, owner_name, business_number, phone, address, credit_limit, updated_at)
               VALUES ('acc1', 'm1', 'A1', 'n', 'o', 'b', 'p', 'ad', 1, 'x');
             INSERT INTO orders (id, merchant_id, account_id, status, lines, supply, vat, total, number, created_at, updated_at)
               VALUES ('o1', 'm1', 'acc1', 'registered', '[]', 10, 1, 11, 'PO-20261203-0001', 'x', 'x');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let latest = super::MIGRATIONS.last().unwrap().0;
    assert_eq!(store.schema_version().unwrap(), latest);
    let n: String = store
        .read(|c| {
            Ok(
                c.query_row("SELECT number FROM orders WHERE id = 'o1'", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .unwrap();
    assert_eq!(n, "PO-20261203-0001");
    // The same number in another merchant is now allowed; twice in one merchant is not.
    store
        .write(|tx| {
            tx.execute_batch(
                "INSERT INTO merchants (id, code, name, settings, created_at) VALUES ('m2', 'b', 'B', '{}', 'x');
                 INSERT INTO accounts (id, merchant_id, code, name, owner_name, business_number, phone, address, credit_limit, updated_at)
                   VALUES ('acc2', 'm2', 'B1', 'n', 'o', 'b', 'p', 'ad', 1, 'x');
                 INSERT INTO orders (id, merchant_id, account_id, status, lines, supply, vat, total, number, created_at, updated_at)
                   VALUES ('o2', 'm2', 'acc2', 'registered', '[]', 10, 1, 11, 'PO-20261203-0001', 'x', 'x');",
            )?;
            Ok(())
        })
        .unwrap();
    let twice = store.write(|tx| {
        tx.execute(
            "INSERT INTO orders (id, merchant_id, account_id, status, lines, supply, vat, total, number, created_at, updated_at)
             VALUES ('o3', 'm1', 'acc1', 'registered', '[]', 10, 1, 11, 'PO-20261203-0001', 'x', 'x')",
            [],
        )?;
        Ok(())
    });
    assert!(
        matches!(
            twice,
            Err(StoreError::Rejected {
                code: ErrorCode::Conflict,
                ..
            })
        ),
        "{twice:?}"
    );
}

fn sqlite() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (SqliteStore::open(&dir.path().join("t.db")).unwrap(), dir)
}

#[test]
fn administration() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::administration(&s);
}

#[test]
fn payment_links() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::payment_links(std::sync::Arc::new(s));
}

#[test]
fn collections() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::collections(&s);
}

#[test]
fn visits() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::visits(&s);
}

#[test]
fn a_new_charge_is_answered_as_stored() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::a_new_charge_is_answered_as_stored(&s);
}

#[test]
fn leases() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::leases(&s);
}

#[test]
fn signed_order_numbers() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::signed_order_numbers(&s);
}

#[test]
fn partial_refunds_then_the_rest() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::partial_then_rest(&s);
}

#[test]
fn a_refund_is_retried_after_a_crash() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::retry_after_a_crash(&s);
}

#[test]
fn concurrent_refunds_never_refund_more_than_approved() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::concurrent_refunds(std::sync::Arc::new(s));
}

#[test]
fn quota_refusals_in_a_group_leave_nothing() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::quota_refusals_in_a_group_leave_nothing(&s);
}

#[test]
fn text_quotas_count_per_clock_hour() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::text_quotas_count_per_clock_hour(&s);
    // The phone's count of 10:00 went when its first text of 11:00 was counted.
    let hours: Vec<String> = s
        .write(|tx| {
            let mut st =
                tx.prepare("SELECT hour FROM text_quota WHERE scope = 'phone:01030000001'")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .unwrap();
    assert_eq!(hours, vec!["2026-12-05T11".to_string()]);
}

#[test]
fn a_batch_of_marks_moves_each_bill_once_in_order() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::a_batch_of_marks_moves_each_bill_once_in_order(&s);
}

#[test]
fn text_retries_and_final_failure() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::text_retries_and_final_failure(&s);
}

#[test]
fn one_allowance_for_all() {
    let (s, _dir) = sqlite();
    crate::store::contract_tests::one_allowance_for_all(std::sync::Arc::new(s));
}

#[test]
fn a_lease_holder_is_known_while_the_lease_lasts() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let ttl = std::time::Duration::from_millis(300);
    assert_eq!(store.lease_holder("instance:a").unwrap(), None);
    assert!(store.take_lease("instance:a", "a", ttl).unwrap());
    assert_eq!(
        store.lease_holder("instance:a").unwrap().as_deref(),
        Some("a")
    );
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(store.lease_holder("instance:a").unwrap(), None, "ran out");
    assert!(store.take_lease("instance:a", "a", ttl).unwrap());
    store.release_lease("instance:a", "a").unwrap();
    assert_eq!(store.lease_holder("instance:a").unwrap(), None, "given up");
}

#[test]
fn a_call_keeps_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let mut call = CallSessionRecord {
        call_id: "CA1".into(),
        adapter: "twiml".into(),
        merchant_id: None,
        charge_id: None,
        dialled: "16000001".into(),
        caller: None,
        checkpoint: "{}".into(),
        trace: "[]".into(),
        outcome: None,
        started_at: crate::clock::ts(Utc::now()),
        ended_at: None,
        owner: Some("inst_a".into()),
        owner_url: Some("http://10.0.0.1:8640".into()),
    };
    store.save_call(&call, Utc::now()).unwrap();
    let got = store.call("CA1").unwrap().unwrap();
    assert_eq!(got.owner.as_deref(), Some("inst_a"));
    assert_eq!(got.owner_url.as_deref(), Some("http://10.0.0.1:8640"));
    call.owner = Some("inst_b".into());
    call.owner_url = Some("http://10.0.0.2:8640".into());
    store.save_call(&call, Utc::now()).unwrap();
    let got = store.call("CA1").unwrap().unwrap();
    assert_eq!(got.owner.as_deref(), Some("inst_b"));
    assert_eq!(got.owner_url.as_deref(), Some("http://10.0.0.2:8640"));
}

/// Version 13 moves a merchant's pool out of its settings JSON (the `virtual_numbers` rows
/// were always written beside it and stay the one source) and adds the profile, status, key
/// names and the one-time password flag with their defaults.
#[test]
fn version_12_merchants_keep_their_pool_from_the_numbers_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for (version, sql) in &super::MIGRATIONS[..12] {
            c.execute_batch(&format!("{sql}\nPRAGMA user_version = {version};"))
                .unwrap();
        }
        let mut old = serde_json::to_value(MerchantSettings::default()).unwrap();
        old["number_pool"] = serde_json::json!(["16000001", "16000002"]);
        c.execute(
            "INSERT INTO merchants (id, code, name, settings, created_at) VALUES ('m1', 'a', 'A', ?1, 'x')",
            [old.to_string()],
        )
        .unwrap();
        c.execute_batch(
            "INSERT INTO virtual_numbers (number, merchant_id, position) VALUES
               ('16000001', 'm1', 0), ('16000002', 'm1', 1);
             INSERT INTO reps (id, merchant_id, login, name, password_hash, created_at)
               VALUES ('rep1', 'm1', 'r', 'R', 'h', 'x');
             INSERT INTO api_keys (id, merchant_id, key_hash, prefix, created_at)
               VALUES ('k1', 'm1', 'kh', 'fpk_', 'x');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let m = store.merchant(&MerchantId::from("m1")).unwrap().unwrap();
    assert_eq!(m.settings.number_pool, ["16000001", "16000002"]);
    assert_eq!(m.status, crate::domain::MerchantStatus::Active);
    assert_eq!(m.profile, crate::domain::MerchantProfile::default());
    let json: String = store
        .read(|c| {
            Ok(
                c.query_row("SELECT settings FROM merchants WHERE id = 'm1'", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .unwrap();
    assert!(!json.contains("number_pool"), "{json}");
    let rep = store
        .rep(&m.id, &fieldpay_protocol::RepId::from("rep1"))
        .unwrap()
        .unwrap();
    assert!(!rep.must_change_password);
    let keys = store.list_api_keys(&m.id).unwrap();
    assert_eq!(
        (keys[0].name.as_str(), keys[0].last_used_at.as_deref()),
        ("", None)
    );
}

/// Version 15 rebuilds the ledger for the collection kinds: every entry is kept, the ledger
/// stays append-only, and the new kinds are taken.
#[test]
fn version_14_ledgers_keep_their_entries_and_stay_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for (version, sql) in &super::MIGRATIONS[..14] {
            c.execute_batch(&format!("{sql}\nPRAGMA user_version = {version};"))
                .unwrap();
        }
        c.execute_batch(
            "INSERT INTO merchants (id, code, name, settings, created_at) VALUES ('m1', 'a', 'A', '{}', 'x');
             INSERT INTO accounts (id, merchant_id, code, name, owner_name, business_number, phone, address, credit_limit, updated_at)
               VALUES ('acc1', 'm1', 'A1', 'n', 'o', 'b', 'p', 'ad', 1, 'x');
             INSERT INTO ledger (id, merchant_id, account_id, kind, amount, ref_id, memo, at)
               VALUES ('le1', 'm1', 'acc1', 'order', 1000, 'o1', '주문', 'x'),
                      ('le2', 'm1', 'acc1', 'payment', -400, 'p1', '결제', 'y');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store
            .balance(&MerchantId::from("m1"), &"acc1".into())
            .unwrap(),
        600
    );
    let refused = store.write(|tx| {
        tx.execute("UPDATE ledger SET amount = 0 WHERE id = 'le1'", [])?;
        Ok(())
    });
    assert!(refused.is_err(), "the ledger took an update");
    let refused = store.write(|tx| {
        tx.execute("DELETE FROM ledger WHERE id = 'le2'", [])?;
        Ok(())
    });
    assert!(refused.is_err(), "the ledger took a delete");
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO ledger (id, merchant_id, account_id, kind, amount, ref_id, memo, at)
                 VALUES ('le3', 'm1', 'acc1', 'collection', -100, 'c1', '현금 수금', 'z'),
                        ('le4', 'm1', 'acc1', 'collection_void', 100, 'c1', '수금 취소', 'z')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    assert_eq!(
        store
            .balance(&MerchantId::from("m1"), &"acc1".into())
            .unwrap(),
        600
    );
}

/// Version 21 keeps one text-quota row per scope: each scope's latest hour and its count.
#[test]
fn version_21_keeps_each_scopes_latest_hour() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for (version, sql) in super::MIGRATIONS.iter().filter(|(v, _)| *v < 21) {
            c.execute_batch(&format!("{sql}\nPRAGMA user_version = {version};"))
                .unwrap();
        }
        c.execute_batch(crate::store::contract_tests::QUOTA_ROWS_PER_HOUR)
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let rows: Vec<(String, String, i64)> = store
        .read(|c| {
            let mut st = c.prepare("SELECT scope, hour, count FROM text_quota ORDER BY scope")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .unwrap();
    crate::store::contract_tests::assert_latest_quota_hours(&rows);
}

/// Version 16 gives existing reps their number series, per merchant in the order they were
/// created (R01, R02, ...); a rep created afterwards gets the next one.
#[test]
fn version_16_existing_reps_get_their_series() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for (version, sql) in super::MIGRATIONS.iter().filter(|(v, _)| *v < 16) {
            c.execute_batch(&format!("{sql}\nPRAGMA user_version = {version};"))
                .unwrap();
        }
        c.execute_batch(
            "INSERT INTO merchants (id, code, name, settings, created_at) VALUES
               ('m1', 'a', 'A', '{}', 'x'), ('m2', 'b', 'B', '{}', 'x');
             INSERT INTO reps (id, merchant_id, login, name, password_hash, created_at) VALUES
               ('rep_b', 'm1', 'b', 'B', 'h', '2026-01-02T00:00:00.000Z'),
               ('rep_a', 'm1', 'a', 'A', 'h', '2026-01-01T00:00:00.000Z'),
               ('rep_c', 'm1', 'c', 'C', 'h', '2026-01-02T00:00:00.000Z'),
               ('rep_z', 'm2', 'z', 'Z', 'h', '2026-01-03T00:00:00.000Z');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let series = |m: &str, r: &str| {
        store
            .rep(&MerchantId::from(m), &fieldpay_protocol::RepId::from(r))
            .unwrap()
            .unwrap()
            .series
    };
    assert_eq!(series("m1", "rep_a"), "R01");
    assert_eq!(series("m1", "rep_b"), "R02");
    assert_eq!(series("m1", "rep_c"), "R03");
    assert_eq!(series("m2", "rep_z"), "R01");
    let new = store
        .create_rep(
            &MerchantId::from("m1"),
            "d",
            "D",
            &"h".into(),
            fieldpay_protocol::auth::Role::Rep,
        )
        .unwrap();
    assert_eq!(series("m1", new.as_str()), "R04");
}

/// The log is checkpointed by the checkpointer thread, not by the writer's commits (whose own
/// threshold is only a backstop at 40 MiB of log), and rewound once it holds ~8 MiB: writing
/// 32 MiB leaves a log file of about a quarter of that. Without the checkpointer the file grows
/// with every commit up to the backstop.
/// The checkpointer is woken by the log's growth, not by a clock: small commits stay in the
/// log (no pass, no fsync), a megabyte of them is copied into the database file.
#[test]
fn the_checkpointer_passes_when_the_log_grew() {
    let (s, dir) = sqlite();
    s.write(|tx| Ok(tx.execute_batch("CREATE TABLE scratch (b BLOB)")?))
        .unwrap();
    let insert = |rows: usize| {
        s.write(|tx| {
            let mut insert =
                tx.prepare_cached("INSERT INTO scratch (b) VALUES (zeroblob(4000))")?;
            for _ in 0..rows {
                insert.execute([])?;
            }
            Ok(())
        })
        .unwrap()
    };
    let db = dir.path().join("t.db");
    let size = || std::fs::metadata(&db).unwrap().len();
    let settle = || std::thread::sleep(std::time::Duration::from_millis(300));
    // A megabyte: a pass copies it (and the migrations' pages) into the file.
    insert(256);
    settle();
    let before = size();
    // Ten small commits (about 30 pages of log): they stay in the log.
    for _ in 0..10 {
        insert(1);
    }
    settle();
    assert_eq!(size(), before, "small commits were checkpointed");
    // Another megabyte: copied, the file grows by it.
    insert(256);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while size() < before + (1 << 20) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(size() >= before + (1 << 20), "the log was not checkpointed");
}

#[test]
fn the_log_is_checkpointed_and_rewound_off_the_writer() {
    let (s, dir) = sqlite();
    s.write(|tx| Ok(tx.execute_batch("CREATE TABLE scratch (b BLOB)")?))
        .unwrap();
    let wal = dir.path().join("t.db-wal");
    let mut largest = 0;
    for _ in 0..32 {
        // 1 MiB per commit, in rows of 4 KiB: about 260 pages of log each.
        s.write(|tx| {
            let mut insert =
                tx.prepare_cached("INSERT INTO scratch (b) VALUES (zeroblob(4000))")?;
            for _ in 0..256 {
                insert.execute([])?;
            }
            Ok(())
        })
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
        largest = largest.max(std::fs::metadata(&wal).unwrap().len());
    }
    // Rewound near 8 MiB; a slow fsync of a busy shared disk (hundreds of ms, seen once in a
    // loaded run) lets it grow further meanwhile. Without the checkpointer it reaches 35 MB.
    assert!(
        largest < 24 << 20,
        "the log file grew to {largest} bytes for 32 MiB written"
    );
    let rows: i64 = s
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM scratch", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(rows, 32 * 256);
    // Dropping the store stops the checkpointer and closes every connection: the last close
    // checkpoints the rest and removes the log, as a clean close does.
    drop(s);
    assert!(!wal.exists(), "the log outlived the store");
}
