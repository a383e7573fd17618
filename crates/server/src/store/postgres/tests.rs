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
        assert!(std::time::Instant::now() < deadline, "listeners never started");
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
