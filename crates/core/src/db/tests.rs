//! The compact ledger and the kept balances: pages, entries sent again, a page that fails
//! half-way, the upgrade of a version-1 database.

use std::panic::{catch_unwind, AssertUnwindSafe};

use fieldpay_protocol::records::{Account, LedgerEntry, LedgerKind};
use fieldpay_protocol::sync::{Change, ChangeData, SyncPage};
use rusqlite::Connection;

use super::Db;

fn account(n: u32) -> Account {
    Account {
        id: format!(
            "acc_{:032x}",
            0x0192_0000_0000_0000_0000_0000_0000_0000u128 + n as u128
        ),
        code: format!("A{n:04}"),
        name: format!("약국 {n}"),
        owner_name: "김민수".into(),
        business_number: "8230765569".into(),
        phone: "0212340000".into(),
        address: "서울 강남구 테헤란로 10".into(),
        credit_limit: 3_000_000,
        closed: false,
        rep_id: match n % 3 {
            0 => None,
            1 => Some("rep_01a21c4c33ad779fa1885040694a681b".into()),
            _ => Some("rep-7".into()),
        },
        updated_at: if n.is_multiple_of(2) {
            "2026-11-27T09:18:05.741Z".into()
        } else {
            "2026-11-27T18:18:05+09:00".into()
        },
    }
}

fn entry(i: u32, account: &Account, kind: LedgerKind, amount: i64) -> LedgerEntry {
    LedgerEntry {
        id: format!(
            "le_{:032x}",
            0x0193_0000_0000_0000_0000_0000_0000_0000u128 + i as u128
        ),
        account_id: account.id.clone(),
        kind,
        amount,
        ref_id: (kind == LedgerKind::Order).then(|| format!("ord_{i}")),
        memo: format!("메모 {i}"),
        at: format!("2026-0{}-1{}T10:00:00.{:03}Z", 1 + i % 9, i % 10, i % 1000),
    }
}

fn page(seq0: i64, data: Vec<ChangeData>, has_more: bool) -> SyncPage {
    let changes: Vec<Change> = data
        .into_iter()
        .enumerate()
        .map(|(i, data)| Change {
            seq: seq0 + i as i64,
            data,
        })
        .collect();
    SyncPage {
        cursor: changes.last().map(|c| c.seq).unwrap_or(seq0),
        changes,
        has_more,
    }
}

fn sum(entries: &[LedgerEntry], account: &Account) -> i64 {
    entries
        .iter()
        .filter(|e| e.account_id == account.id)
        .map(|e| e.amount)
        .sum()
}

#[test]
fn balances_follow_pages_entries_sent_again_and_refunds() {
    let db = Db::open_in_memory().unwrap();
    let (a, b, c) = (account(1), account(2), account(3));
    let mut all = vec![
        entry(1, &a, LedgerKind::Order, 120_000),
        entry(2, &b, LedgerKind::Adjustment, 50_000),
        entry(3, &a, LedgerKind::Payment, -20_000),
    ];
    // The ledger of `a` arrives before `a` itself (its change moved later in the log).
    let mut p1: Vec<ChangeData> = all.iter().cloned().map(ChangeData::Ledger).collect();
    p1.push(ChangeData::Account(b.clone()));
    db.apply_page(&page(1, p1, true)).unwrap();
    assert_eq!(db.balance(&a.id).unwrap(), 100_000);
    assert_eq!(db.balance(&b.id).unwrap(), 50_000);
    assert_eq!(db.balance(&c.id).unwrap(), 0);

    let more = vec![
        entry(4, &a, LedgerKind::Refund, 20_000),
        entry(5, &c, LedgerKind::Payment, -7_000),
        entry(6, &b, LedgerKind::Payment, -50_000),
    ];
    all.extend(more.clone());
    let mut p2: Vec<ChangeData> = vec![ChangeData::Account(a.clone())];
    p2.extend(more.into_iter().map(ChangeData::Ledger));
    p2.push(ChangeData::Account(c.clone()));
    // An entry sent again (same page twice, and one of page 1 again) counts once.
    p2.push(ChangeData::Ledger(all[0].clone()));
    let p2 = page(10, p2, false);
    db.apply_page(&p2).unwrap();
    db.apply_page(&p2).unwrap();
    for acc in [&a, &b, &c] {
        assert_eq!(db.balance(&acc.id).unwrap(), sum(&all, acc), "{}", acc.code);
    }
    assert_eq!(db.balance(&a.id).unwrap(), 120_000);
    assert_eq!(db.cursor().unwrap(), p2.cursor);

    // A changed copy of an entry replaces it: the balance moves by the difference.
    let mut fixed = all[1].clone();
    fixed.amount = 45_000;
    fixed.memo = "정정".into();
    db.apply_page(&page(20, vec![ChangeData::Ledger(fixed.clone())], false))
        .unwrap();
    all[1] = fixed;
    assert_eq!(db.balance(&b.id).unwrap(), sum(&all, &b));
    // (An entry never moves to another account or time: the server's ledger is append-only,
    // and the device finds an entry sent again by its account, time and id.)
    for acc in [&a, &b, &c] {
        assert_eq!(db.balance(&acc.id).unwrap(), sum(&all, acc), "{}", acc.code);
    }

    // Entries come back exactly, newest first.
    let mut want: Vec<LedgerEntry> = all
        .iter()
        .filter(|e| e.account_id == a.id)
        .cloned()
        .collect();
    want.sort_by(|x, y| y.at.cmp(&x.at).then(y.id.cmp(&x.id)));
    assert_eq!(db.ledger(&a.id, 100).unwrap(), want);
    assert_eq!(db.ledger(&a.id, 2).unwrap(), want[..2].to_vec());
    assert!(db.ledger("acc_unknown", 10).unwrap().is_empty());

    // Accounts come back exactly.
    for acc in [&a, &b, &c] {
        assert_eq!(db.account(&acc.id).unwrap().as_ref(), Some(acc));
    }
    assert_eq!(db.accounts().unwrap().len(), 3);

    // Summaries: in the order asked, unknown ids left out, balances included.
    let got = db
        .account_summaries(&[c.id.as_str(), "nope", a.id.as_str(), b.id.as_str()])
        .unwrap();
    let got: Vec<(String, i64)> = got.into_iter().map(|(x, bal)| (x.id, bal)).collect();
    assert_eq!(
        got,
        vec![
            (c.id.clone(), sum(&all, &c)),
            (a.id.clone(), sum(&all, &a)),
            (b.id.clone(), sum(&all, &b)),
        ]
    );
}

#[test]
fn summaries_of_more_than_one_statement_chunk() {
    let db = Db::open_in_memory().unwrap();
    let accounts: Vec<Account> = (0..120).map(account).collect();
    let mut data: Vec<ChangeData> = accounts.iter().cloned().map(ChangeData::Account).collect();
    data.extend(
        accounts
            .iter()
            .enumerate()
            .map(|(i, a)| ChangeData::Ledger(entry(i as u32, a, LedgerKind::Order, i as i64 * 10))),
    );
    db.apply_page(&page(1, data, false)).unwrap();
    let ids: Vec<&str> = accounts.iter().rev().map(|a| a.id.as_str()).collect();
    let got = db.account_summaries(&ids).unwrap();
    assert_eq!(got.len(), 120);
    for ((a, bal), want) in got.iter().zip(accounts.iter().rev()) {
        assert_eq!(a.id, want.id);
        assert_eq!(*bal, want.code[1..].parse::<i64>().unwrap() * 10);
    }
}

#[test]
fn a_page_that_fails_half_way_leaves_balances_and_cursor_as_they_were() {
    let db = Db::open_in_memory().unwrap();
    let a = account(1);
    let first = entry(1, &a, LedgerKind::Order, 10_000);
    db.apply_page(&page(1, vec![ChangeData::Ledger(first)], true))
        .unwrap();
    let data: Vec<ChangeData> = (2..40)
        .map(|i| ChangeData::Ledger(entry(i, &a, LedgerKind::Order, 1_000)))
        .collect();
    let p = page(2, data, false);
    let crashed = catch_unwind(AssertUnwindSafe(|| {
        db.apply_page_with(&p, &mut |i| {
            if i == 20 {
                panic!("crash in the middle of the page");
            }
        })
    }));
    assert!(crashed.is_err());
    assert_eq!(db.balance(&a.id).unwrap(), 10_000);
    assert_eq!(db.ledger(&a.id, 100).unwrap().len(), 1);
    assert_eq!(db.cursor().unwrap(), 1);
    // The page again, whole: every entry once.
    db.apply_page(&p).unwrap();
    assert_eq!(db.balance(&a.id).unwrap(), 10_000 + 38 * 1_000);
    assert_eq!(db.cursor().unwrap(), p.cursor);
}

#[test]
fn a_version_1_database_is_upgraded_with_its_ledger_and_balances() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fieldpay-device.db");
    let (a, b) = (account(1), account(2));
    let mut old = vec![
        entry(1, &a, LedgerKind::Order, 70_000),
        entry(2, &a, LedgerKind::Payment, -30_000),
        entry(3, &b, LedgerKind::Adjustment, 5_000),
    ];
    // Ids and times of other shapes survive too.
    old.push(LedgerEntry {
        id: "0192b3c4-5d6e-7f80-9a0b-1c2d3e4f5a6b".into(),
        at: "2026-03-01T19:00:00+09:00".into(),
        ..entry(4, &b, LedgerKind::Refund, 2_500)
    });
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(include_str!("0001_init.sql")).unwrap();
        c.execute_batch("PRAGMA user_version = 1").unwrap();
        for e in &old {
            c.execute(
                "INSERT INTO ledger (id, account_id, kind, amount, ref_id, memo, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![e.id, e.account_id, e.kind.as_str(), e.amount, e.ref_id, e.memo, e.at],
            )
            .unwrap();
        }
        for acc in [&a, &b] {
            c.execute(
                "INSERT INTO accounts (id, code, name, owner_name, business_number, phone, address, credit_limit, closed, rep_id, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                rusqlite::params![acc.id, acc.code, acc.name, acc.owner_name, acc.business_number, acc.phone, acc.address, acc.credit_limit, acc.closed, acc.rep_id, acc.updated_at],
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO sync_state (key, value) VALUES ('cursor', '77')",
            [],
        )
        .unwrap();
    }
    let db = Db::open(&path).unwrap();
    assert_eq!(db.cursor().unwrap(), 77);
    assert_eq!(db.account(&a.id).unwrap(), Some(a.clone()));
    assert_eq!(db.account(&b.id).unwrap(), Some(b.clone()));
    let summaries = db
        .account_summaries(&[b.id.as_str(), a.id.as_str()])
        .unwrap();
    assert_eq!(summaries, vec![(b.clone(), 7_500), (a.clone(), 40_000)]);
    assert_eq!(db.balance(&a.id).unwrap(), 40_000);
    assert_eq!(db.balance(&b.id).unwrap(), 7_500);
    let mut got = db.ledger(&b.id, 10).unwrap();
    got.extend(db.ledger(&a.id, 10).unwrap());
    for e in &old {
        assert!(got.contains(e), "{e:?} kept exactly");
    }
    assert_eq!(got.len(), old.len());
    drop(db);
    // Opening again runs nothing twice.
    let db = Db::open(&path).unwrap();
    assert_eq!(db.balance(&a.id).unwrap(), 40_000);
}

fn has_index(db_path: &std::path::Path, name: &str) -> bool {
    let c = Connection::open(db_path).unwrap();
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1)",
        [name],
        |r| r.get(0),
    )
    .unwrap()
}

/// The pages of a first sync, written with the ledger's index dropped (the entries' ids known
/// from memory) and without it, give the same ledger and balances: an entry sent again in the
/// same page or a later one counts once, as does one of a page that failed half-way and came
/// again, and one of an account dropped and sent again.
#[test]
fn a_bulk_load_counts_entries_sent_again_once() {
    // `c`'s entries come first in the page that fails half-way: its key, made by that page,
    // must not outlive the rollback.
    let (a, b, c) = (account(1), account(3), account(6));
    let entries: Vec<LedgerEntry> = (0..60)
        .map(|i| {
            let to = match (i < 30, i % 3) {
                (true, _) if i % 2 == 0 => &a,
                (true, _) => &b,
                (false, 0) => &c,
                (false, 1) => &a,
                _ => &b,
            };
            entry(i, to, LedgerKind::Order, 1_000 + i as i64)
        })
        .collect();
    let mut p1: Vec<ChangeData> = vec![
        ChangeData::Account(a.clone()),
        ChangeData::Account(b.clone()),
    ];
    p1.extend(entries[..30].iter().cloned().map(ChangeData::Ledger));
    p1.push(ChangeData::Ledger(entries[3].clone()));
    let mut p2: Vec<ChangeData> = entries[30..]
        .iter()
        .cloned()
        .map(ChangeData::Ledger)
        .collect();
    p2.extend(entries[10..15].iter().cloned().map(ChangeData::Ledger));
    let p1 = page(1, p1, true);
    let p2 = page(100, p2, true);
    // `b` leaves this device (another rep's now), then comes back with its ledger.
    let mut away = b.clone();
    away.rep_id = Some("rep-other".into());
    let p3 = page(200, vec![ChangeData::Account(away)], true);
    let mut p4 = vec![ChangeData::Account(b.clone())];
    p4.extend(
        entries
            .iter()
            .filter(|e| e.account_id == b.id)
            .cloned()
            .map(ChangeData::Ledger),
    );
    let p4 = page(300, p4, false);

    let load = |bulk: bool| {
        let db = Db::open_in_memory().unwrap();
        db.set_scope(Some("rep_01a21c4c33ad779fa1885040694a681b"))
            .unwrap();
        if bulk {
            assert!(db.begin_bulk_load().unwrap(), "empty ledger: bulk load");
        }
        db.apply_page(&p1).unwrap();
        let crashed = catch_unwind(AssertUnwindSafe(|| {
            db.apply_page_with(&p2, &mut |i| {
                if i == 25 {
                    panic!("crash in the middle of the page");
                }
            })
        }));
        assert!(crashed.is_err());
        db.apply_page(&p2).unwrap();
        db.apply_page(&p3).unwrap();
        assert_eq!(db.balance(&b.id).unwrap(), 0, "b dropped");
        db.apply_page(&p4).unwrap();
        // A new account after the failed page gets a key of its own.
        let d = account(9);
        let p5 = page(
            400,
            vec![ChangeData::Ledger(entry(99, &d, LedgerKind::Order, 7))],
            false,
        );
        db.apply_page(&p5).unwrap();
        if bulk {
            db.end_bulk_load().unwrap();
        }
        let mut ledgers = Vec::new();
        for x in [&a, &b, &c] {
            ledgers.extend(db.ledger(&x.id, 1_000).unwrap());
        }
        let balances: Vec<i64> = [&a, &b, &c, &d]
            .iter()
            .map(|x| db.balance(&x.id).unwrap())
            .collect();
        (balances, ledgers)
    };
    let bulk = load(true);
    assert_eq!(
        bulk.0,
        vec![sum(&entries, &a), sum(&entries, &b), sum(&entries, &c), 7]
    );
    assert_eq!(bulk.1.len(), entries.len());
    assert_eq!(bulk, load(false));
}

#[test]
fn a_bulk_load_stopped_half_way_gets_its_index_back_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fieldpay-device.db");
    let a = account(1);
    let db = Db::open(&path).unwrap();
    assert!(has_index(&path, "ledger_account"));
    assert!(db.begin_bulk_load().unwrap(), "empty ledger: bulk load");
    assert!(!has_index(&path, "ledger_account"));
    let data = (0..10)
        .map(|i| ChangeData::Ledger(entry(i, &a, LedgerKind::Order, 100)))
        .collect();
    db.apply_page(&page(1, data, true)).unwrap();
    assert_eq!(db.balance(&a.id).unwrap(), 1_000);
    assert_eq!(
        db.ledger(&a.id, 3).unwrap().len(),
        3,
        "readable without the index"
    );
    // The process dies here; the next open makes the index.
    drop(db);
    let db = Db::open(&path).unwrap();
    assert!(has_index(&path, "ledger_account"));
    assert!(!db.begin_bulk_load().unwrap(), "entries already there");
    assert!(has_index(&path, "ledger_account"));
    db.end_bulk_load().unwrap();
    assert_eq!(db.balance(&a.id).unwrap(), 1_000);
    let wal = std::fs::metadata(dir.path().join("fieldpay-device.db-wal")).unwrap();
    assert_eq!(wal.len(), 0, "the log is copied in and truncated");
}

/// How the `memo` column of every entry is kept: (typeof, count).
fn memo_types(c: &Connection) -> Vec<(String, i64)> {
    let mut st = c
        .prepare("SELECT typeof(memo), count(*) FROM ledger GROUP BY 1 ORDER BY 1")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Memos that repeat, that look like numbers, that are empty, and more kinds than the
/// dictionary holds: every one read back exactly.
#[test]
fn memos_are_dictionary_coded_and_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fieldpay-device.db");
    let db = Db::open(&path).unwrap();
    let a = account(1);
    let odd = [
        "",
        "5",
        "1",
        "0",
        " 카드 결제",
        "카드 결제 ",
        "-7",
        "x\n\u{0}y",
    ];
    let max = super::ledger::MEMO_DICT_MAX as u32;
    let mut all = Vec::new();
    let mut i = 0;
    let mut next = |memo: String| {
        i += 1;
        LedgerEntry {
            memo,
            ..entry(i, &a, LedgerKind::Payment, -1)
        }
    };
    // Two pages: repeated memos and the odd ones, then more new memos than fit.
    let mut first: Vec<LedgerEntry> = (0..300)
        .map(|k| next(["카드 결제", "계좌 입금", "발주 3건 출고"][k % 3].to_string()))
        .collect();
    first.extend(odd.iter().map(|m| next(m.to_string())));
    let second: Vec<LedgerEntry> = (0..max + 50).map(|k| next(format!("메모 {k}"))).collect();
    let mut seq = 1;
    for entries in [&first, &second] {
        let data = entries.iter().cloned().map(ChangeData::Ledger).collect();
        let p = page(seq, data, true);
        seq = p.cursor + 1;
        db.apply_page(&p).unwrap();
        all.extend(entries.iter().cloned());
    }
    // Sent again with another memo: the entry's memo is replaced.
    let again = LedgerEntry {
        memo: "현금 수금".into(),
        ..first[0].clone()
    };
    db.apply_page(&page(seq, vec![ChangeData::Ledger(again.clone())], false))
        .unwrap();
    all[0] = again;

    let mut got = db.ledger(&a.id, 100_000).unwrap();
    let mut want = all.clone();
    got.sort_by(|x, y| x.id.cmp(&y.id));
    want.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(got, want);
    drop(db);

    let c = Connection::open(&path).unwrap();
    let dict: i64 = c
        .query_row("SELECT count(*) FROM memos", [], |r| r.get(0))
        .unwrap();
    assert_eq!(dict, max as i64, "the dictionary stops at its size");
    let types = memo_types(&c);
    let text = types.iter().find(|t| t.0 == "text").map_or(0, |t| t.1);
    let int = types.iter().find(|t| t.0 == "integer").map_or(0, |t| t.1);
    assert_eq!(int + text, all.len() as i64);
    // 3 repeated + 8 odd memos in the dictionary, then room for max - 11 of the numbered
    // ones: the other 61, and the one sent again after the dictionary was full, as text.
    assert_eq!(
        text,
        50 + 11 + 1,
        "only the memos past the dictionary as text"
    );
    // The repeated memos are one row each in the dictionary.
    let repeated: i64 = c
        .query_row(
            "SELECT count(*) FROM memos WHERE text IN ('카드 결제', '계좌 입금', '발주 3건 출고')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(repeated, 3);
}

#[test]
fn a_version_2_database_gets_its_memos_coded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fieldpay-device.db");
    let (a, b) = (account(1), account(2));
    let mut old: Vec<LedgerEntry> = (0..40)
        .map(|i| LedgerEntry {
            memo: ["카드 결제", "7", "", "잔액 조정"][i as usize % 4].into(),
            ..entry(
                i,
                if i % 2 == 0 { &a } else { &b },
                LedgerKind::Order,
                1_000 + i as i64,
            )
        })
        .collect();
    old.push(LedgerEntry {
        memo: "한 번뿐인 메모\n둘째 줄".into(),
        at: "2026-03-01T19:00:00+09:00".into(),
        ..entry(99, &b, LedgerKind::Refund, 2_500)
    });
    {
        // Version 2 as a device had it: the version-1 tables, then migration 2.
        let c = Connection::open(&path).unwrap();
        c.execute_batch(include_str!("0001_init.sql")).unwrap();
        for e in &old {
            c.execute(
                "INSERT INTO ledger (id, account_id, kind, amount, ref_id, memo, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![e.id, e.account_id, e.kind.as_str(), e.amount, e.ref_id, e.memo, e.at],
            )
            .unwrap();
        }
        c.execute_batch(include_str!("0002_compact_ledger.sql"))
            .unwrap();
        super::ledger::migrate_v2(&c).unwrap();
        c.execute_batch("PRAGMA user_version = 2").unwrap();
        assert_eq!(memo_types(&c), vec![("text".to_string(), old.len() as i64)]);
    }
    let db = Db::open(&path).unwrap();
    let mut got = db.ledger(&a.id, 100).unwrap();
    got.extend(db.ledger(&b.id, 100).unwrap());
    got.sort_by(|x, y| x.id.cmp(&y.id));
    old.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(got, old);
    assert_eq!(db.balance(&a.id).unwrap(), sum(&old, &a));
    assert_eq!(db.balance(&b.id).unwrap(), sum(&old, &b));
    // New entries after the upgrade use the same dictionary.
    let new = LedgerEntry {
        memo: "7".into(),
        ..entry(200, &a, LedgerKind::Payment, -500)
    };
    db.apply_page(&page(1, vec![ChangeData::Ledger(new.clone())], false))
        .unwrap();
    assert!(db.ledger(&a.id, 100).unwrap().contains(&new));
    drop(db);
    let c = Connection::open(&path).unwrap();
    assert_eq!(
        memo_types(&c),
        vec![("integer".to_string(), old.len() as i64 + 1)]
    );
    let dict: i64 = c
        .query_row("SELECT count(*) FROM memos", [], |r| r.get(0))
        .unwrap();
    assert_eq!(dict, 5);
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, super::MIGRATIONS.last().unwrap().0);
    drop(c);
    // Opening again runs nothing twice.
    let db = Db::open(&path).unwrap();
    assert_eq!(db.ledger(&b.id, 100).unwrap().len(), 21);
}

fn order_at(i: u32, account: &Account, at: &str) -> fieldpay_protocol::records::Order {
    fieldpay_protocol::records::Order {
        id: format!("ord_{i}"),
        kind: Default::default(),
        original_order_id: None,
        number: None,
        account_id: account.id.clone(),
        rep_id: None,
        status: fieldpay_protocol::records::OrderStatus::Registered,
        lines: Vec::new(),
        totals: fieldpay_protocol::records::OrderTotals {
            supply: 0,
            vat: 0,
            total: 0,
        },
        memo: String::new(),
        signature: None,
        has_signature_image: false,
        has_pdf: false,
        reject_reason: None,
        created_at: at.into(),
        updated_at: at.into(),
    }
}

#[test]
fn the_client_list_puts_recent_clients_then_receivables_then_names() {
    use fieldpay_protocol::app::ClientSort;
    let db = Db::open_in_memory().unwrap();
    // Ten accounts, 약국 0 .. 약국 9 (by name in that order).
    let mut accounts: Vec<Account> = (0..10).map(account).collect();
    accounts[7].closed = true;
    let mut data: Vec<ChangeData> = accounts.iter().cloned().map(ChangeData::Account).collect();
    // Receivables: 3 owes most, then 5; 8 paid everything; 7 owes but is closed.
    for (i, (n, amount)) in [(3, 90_000), (5, 40_000), (8, 0), (7, 99_000)]
        .into_iter()
        .enumerate()
    {
        data.push(ChangeData::Ledger(entry(
            i as u32,
            &accounts[n],
            LedgerKind::Order,
            amount,
        )));
    }
    // Orders: 6 today, 1 yesterday, 7 (closed) just now.
    data.push(ChangeData::Order(order_at(
        1,
        &accounts[1],
        "2026-12-02T09:00:00.000Z",
    )));
    data.push(ChangeData::Order(order_at(
        2,
        &accounts[6],
        "2026-12-03T09:00:00.000Z",
    )));
    data.push(ChangeData::Order(order_at(
        3,
        &accounts[7],
        "2026-12-03T10:00:00.000Z",
    )));
    db.apply_page(&page(1, data, false)).unwrap();

    let codes = |sort, limit| -> Vec<(String, Option<String>)> {
        db.client_list(sort, limit)
            .unwrap()
            .into_iter()
            .map(|(a, _, last)| (a.code, last))
            .collect()
    };
    let just = |v: Vec<(String, Option<String>)>| v.into_iter().map(|x| x.0).collect::<Vec<_>>();
    assert_eq!(
        just(codes(ClientSort::Recent, 20)),
        ["A0006", "A0001", "A0003", "A0005", "A0000", "A0002", "A0004", "A0008", "A0009"],
        "recent orders, then receivables, then by name; closed accounts left out"
    );
    let recent = codes(ClientSort::Recent, 3);
    assert_eq!(recent.len(), 3);
    assert_eq!(recent[0].1.as_deref(), Some("2026-12-03T09:00:00.000Z"));
    assert_eq!(recent[2].1, None, "no order or payment on the device");
    assert_eq!(
        just(codes(ClientSort::Balance, 4)),
        ["A0003", "A0005", "A0000", "A0001"]
    );
    assert_eq!(
        just(codes(ClientSort::Name, 3)),
        ["A0000", "A0001", "A0002"]
    );
    assert_eq!(
        codes(ClientSort::Name, 3)[1].1.as_deref(),
        Some("2026-12-02T09:00:00.000Z")
    );
}

#[test]
fn usual_products_are_the_most_often_ordered_first() {
    use fieldpay_protocol::records::{OrderLine, OrderStatus};
    let db = Db::open_in_memory().unwrap();
    let a = account(1);
    let b = account(2);
    let line = |pid: &str, quantity: i64| OrderLine {
        product_id: pid.into(),
        product_code: pid.to_uppercase(),
        product_name: format!("품목 {pid}"),
        quantity,
        unit_price: 1_000,
        line_total: quantity * 1_000,
        manual_price: false,
        return_reason: None,
    };
    let with = |i: u32, acc: &Account, status: OrderStatus, lines: Vec<OrderLine>| {
        let mut o = order_at(i, acc, "2026-12-01T09:00:00.000Z");
        o.status = status;
        o.lines = lines;
        ChangeData::Order(o)
    };
    let data = vec![
        ChangeData::Account(a.clone()),
        ChangeData::Account(b.clone()),
        // p1 in three orders, p2 in two with more units than p3's two, p3 in two.
        with(
            1,
            &a,
            OrderStatus::Registered,
            vec![line("p1", 1), line("p2", 9)],
        ),
        with(
            2,
            &a,
            OrderStatus::Registered,
            vec![line("p1", 2), line("p3", 1)],
        ),
        with(
            3,
            &a,
            OrderStatus::Signed,
            vec![line("p1", 1), line("p2", 1), line("p3", 1)],
        ),
        // Not counted: a draft, a canceled order, another client's order, a return.
        with(4, &a, OrderStatus::Draft, vec![line("p4", 50)]),
        with(5, &a, OrderStatus::Canceled, vec![line("p4", 50)]),
        with(6, &b, OrderStatus::Registered, vec![line("p5", 1)]),
        {
            let mut r = order_at(7, &a, "2026-12-02T09:00:00.000Z");
            r.status = OrderStatus::Registered;
            r.kind = fieldpay_protocol::records::OrderKind::Return;
            r.lines = vec![line("p4", 1), line("p4", 1), line("p4", 1), line("p4", 1)];
            ChangeData::Order(r)
        },
    ];
    db.apply_page(&page(1, data, false)).unwrap();
    assert_eq!(
        db.usual_products(&a.id, 10).unwrap(),
        [
            ("p1".to_string(), 3),
            ("p2".to_string(), 2),
            ("p3".to_string(), 2)
        ]
    );
    assert_eq!(db.usual_products(&a.id, 1).unwrap().len(), 1);
    assert!(db.usual_products("acc_none", 10).unwrap().is_empty());
}

/// A visit queued with its check-in and check-out: answered (applied) it is synced; a refused
/// check-in is kept as a problem and, discarded, leaves no visit behind.
#[test]
fn visits_follow_their_answers() {
    use chrono::Utc;
    use fieldpay_protocol::app::SyncState;
    use fieldpay_protocol::sync::{MutationKind, MutationOutcome, MutationResult};
    use fieldpay_protocol::visit::Visit;
    use fieldpay_protocol::{ApiError, ErrorCode};

    let db = Db::open_in_memory().unwrap();
    let visit = |id: &str| Visit {
        id: id.into(),
        account_id: "acc_1".into(),
        account_name: "약국".into(),
        rep_id: "rep_1".into(),
        rep_name: "김영업".into(),
        checked_in_at: "2026-12-04T01:00:00.000Z".into(),
        checked_out_at: None,
        location: None,
        note: "메모".into(),
    };
    let check_in = |v: &Visit| MutationKind::CheckIn {
        visit_id: v.id.clone(),
        account_id: v.account_id.clone(),
        at: v.checked_in_at.clone(),
        location: None,
        note: v.note.clone(),
    };
    let now = Utc::now();
    let a = visit("visit-a");
    db.queue_visit(&a, "c-1", &check_in(&a), now).unwrap();
    let mut out = a.clone();
    out.checked_out_at = Some("2026-12-04T01:30:00.000Z".into());
    let op = MutationKind::CheckOut {
        visit_id: a.id.clone(),
        at: "2026-12-04T01:30:00.000Z".into(),
    };
    db.queue_visit(&out, "c-2", &op, now).unwrap();
    assert_eq!(
        db.visit("visit-a").unwrap().unwrap().sync_state,
        SyncState::Queued
    );
    let applied = |id: &str| MutationResult {
        client_id: id.into(),
        outcome: MutationOutcome::Applied {
            order: None,
            charge: None,
            collection: None,
        },
    };
    db.record_results(&[applied("c-1")], now).unwrap();
    assert_eq!(
        db.visit("visit-a").unwrap().unwrap().sync_state,
        SyncState::Queued,
        "the check-out is still to go"
    );
    db.record_results(&[applied("c-2")], now).unwrap();
    let got = db.visit("visit-a").unwrap().unwrap();
    assert_eq!(got.sync_state, SyncState::Synced);
    assert_eq!(got.visit, out);
    assert_eq!(db.queued_count().unwrap(), 0);

    let b = visit("visit-b");
    db.queue_visit(&b, "c-3", &check_in(&b), now).unwrap();
    db.record_results(
        &[MutationResult {
            client_id: "c-3".into(),
            outcome: MutationOutcome::Rejected {
                error: ApiError::new(ErrorCode::Forbidden, "다른 담당자의 거래처입니다"),
            },
        }],
        now,
    )
    .unwrap();
    assert_eq!(
        db.visit("visit-b").unwrap().unwrap().sync_state,
        SyncState::Rejected
    );
    let problems = db.problems().unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].action, "check_in");
    db.discard_problem("c-3").unwrap();
    assert!(db.visit("visit-b").unwrap().is_none());
    assert_eq!(db.account_visits("acc_1", 10).unwrap().len(), 1);
    assert_eq!(
        db.visits_between("2026-12-04T00:00:00.000Z", "2026-12-05T00:00:00.000Z")
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn the_sync_scope_drops_other_reps_clients_with_their_ledgers() {
    let db = Db::open_in_memory().unwrap();
    // account(1): rep_01a2…, account(2): rep-7, account(3): no one's.
    let (mine, theirs, shared) = (account(1), account(2), account(3));
    let me = mine.rep_id.clone().unwrap();
    let entries = [
        entry(1, &mine, LedgerKind::Order, 120_000),
        entry(2, &theirs, LedgerKind::Adjustment, 50_000),
        entry(3, &shared, LedgerKind::Order, 30_000),
        entry(4, &theirs, LedgerKind::Order, 70_000),
    ];
    let mut data: Vec<ChangeData> = [&mine, &theirs, &shared]
        .into_iter()
        .map(|a| ChangeData::Account(a.clone()))
        .collect();
    data.extend(entries.iter().cloned().map(ChangeData::Ledger));
    data.push(ChangeData::AccountPrice(
        fieldpay_protocol::records::AccountPrice {
            account_id: theirs.id.clone(),
            product_id: "prd_1".into(),
            unit_price: 900,
        },
    ));
    // A device that synced before pulls were scoped kept everything.
    db.apply_page(&page(1, data, false)).unwrap();
    assert_eq!(db.accounts().unwrap().len(), 3);
    assert_eq!(db.balance(&theirs.id).unwrap(), 120_000);

    // Scoped to its rep: the other rep's client goes, with its ledger and prices, once.
    assert_eq!(db.set_scope(Some(&me)).unwrap(), 1);
    assert_eq!(db.set_scope(Some(&me)).unwrap(), 0);
    let kept: Vec<String> = db.accounts().unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(kept.len(), 2);
    assert!(kept.contains(&mine.id) && kept.contains(&shared.id));
    assert_eq!(db.balance(&theirs.id).unwrap(), 0);
    assert!(db.ledger(&theirs.id, 10).unwrap().is_empty());
    assert_eq!(db.account_price(&theirs.id, "prd_1").unwrap(), None);
    assert_eq!(db.balance(&mine.id).unwrap(), 120_000);
    assert_eq!(db.balance(&shared.id).unwrap(), 30_000);

    // The server sends an account moved away as it stands now: dropped; moved here: kept
    // with the ledger sent again.
    let mut moved_away = shared.clone();
    moved_away.rep_id = Some("rep-7".into());
    let mut moved_here = theirs.clone();
    moved_here.rep_id = Some(me.clone());
    let mut data = vec![
        ChangeData::Account(moved_away),
        ChangeData::Account(moved_here),
    ];
    data.extend(
        [&entries[1], &entries[3]]
            .into_iter()
            .cloned()
            .map(ChangeData::Ledger),
    );
    db.apply_page(&page(10, data, false)).unwrap();
    let kept: Vec<String> = db.accounts().unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(kept.len(), 2);
    assert!(kept.contains(&mine.id) && kept.contains(&theirs.id));
    assert_eq!(db.balance(&shared.id).unwrap(), 0);
    assert_eq!(db.balance(&theirs.id).unwrap(), 120_000);
    assert_eq!(db.cursor().unwrap(), 13);

    // Widened (the rep became a manager): the next sync starts over to bring every client.
    assert_eq!(db.set_scope(None).unwrap(), 0);
    assert_eq!(db.cursor().unwrap(), 0);
    assert_eq!(db.accounts().unwrap().len(), 2);
}

#[test]
fn commits_leave_the_checkpoint_to_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let db = Db::open(&path).unwrap();
    let empty = std::fs::metadata(&path).unwrap().len();
    // Three commits of ~1.5 MB each: past SQLite's default automatic checkpoint (1,000
    // pages), which would copy the log into the database inside the third commit.
    for round in 0..3 {
        for i in 0..50 {
            db.set_state(&format!("key{i}"), &format!("{round}").repeat(30_000))
                .unwrap();
        }
    }
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        empty,
        "no commit copied the log into the database"
    );
    db.checkpoint_in_background().unwrap().join().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 1_000_000);
    assert_eq!(db.get_state("key7").unwrap(), Some("2".repeat(30_000)));
}

#[test]
fn a_background_checkpoint_lets_the_next_writes_reuse_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let wal = dir.path().join("device.db-wal");
    let db = Db::open(&path).unwrap();
    let write_round = |fill: &str| {
        for i in 0..50 {
            db.set_state(&format!("key{i}"), &fill.repeat(3000))
                .unwrap();
        }
    };
    let checkpoint = || {
        db.checkpoint_in_background()
            .expect("a checkpoint starts")
            .join()
            .unwrap()
    };
    // The log's header carries salts that change when the log starts again from the top
    // (SQLite's WAL format: bytes 16-23).
    let salts = || std::fs::read(&wal).unwrap()[16..24].to_vec();
    write_round("a");
    checkpoint();
    write_round("b");
    let after_b = salts();
    // Without a checkpoint, the next writes are appended to the log.
    write_round("c");
    assert_eq!(salts(), after_b);
    // After one, the next writes start it afresh (instead of growing it towards SQLite's
    // automatic checkpoint, which would run inside one of them).
    checkpoint();
    write_round("d");
    assert_ne!(salts(), after_b);
    drop(db);
    let db = Db::open(&path).unwrap();
    assert_eq!(db.get_state("key7").unwrap(), Some("d".repeat(3000)));
    // A database in memory has no log to copy.
    assert!(Db::open_in_memory()
        .unwrap()
        .checkpoint_in_background()
        .is_none());
}
