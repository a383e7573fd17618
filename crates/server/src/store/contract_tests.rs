//! Behaviour every store must have, written once over `dyn Store` and run by each store's
//! tests (`sqlite::tests`, `postgres::tests`).

use std::sync::Arc;
use std::time::Duration;

use super::Store;
use crate::auth::limits::KeyedLimit;

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
