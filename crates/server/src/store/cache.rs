//! A small read-through cache of rows that change rarely (merchants, API keys), used by both
//! stores. Every change made through a store drops the affected entries at once; the time to
//! live bounds how long a change made elsewhere (another instance, a tool) goes unseen.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

const CACHE_MAX: usize = 10_000;

/// `generation` closes the race between a reader that read the row before a change committed
/// and the change's invalidation: an entry read under an older generation is not stored.
pub(crate) struct Cache<T> {
    ttl: Duration,
    inner: Mutex<Entries<T>>,
}

/// The generation and the entries with the time each was read.
type Entries<T> = (u64, HashMap<String, (T, Instant)>);

impl<T: Clone> Cache<T> {
    pub(crate) fn new(ttl: Duration) -> Self {
        Cache {
            ttl,
            inner: Mutex::new((0, HashMap::new())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, key: &str) -> Option<T> {
        let g = self.lock();
        g.1.get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| v.clone())
    }

    pub(crate) fn generation(&self) -> u64 {
        self.lock().0
    }

    pub(crate) fn put(&self, generation: u64, key: &str, value: T) {
        let mut g = self.lock();
        if g.0 != generation {
            return;
        }
        if g.1.len() >= CACHE_MAX {
            g.1.clear();
        }
        g.1.insert(key.to_string(), (value, Instant::now()));
    }

    /// Drops the entries `stale` picks (after the change that made them stale committed).
    pub(crate) fn invalidate(&self, stale: impl Fn(&str, &T) -> bool) {
        let mut g = self.lock();
        g.0 += 1;
        g.1.retain(|k, (v, _)| !stale(k, v));
    }
}
