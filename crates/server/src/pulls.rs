//! Pull pages (`GET /v1/sync`), read ahead.
//!
//! A device pulling many pages (a first sync) asks for the next page as soon as it has one,
//! then decodes and applies the one it has. Without help, the next page's read from the store
//! and its encoding wait for that request, and the device waits for them: the sync takes the
//! sum of both sides' time. So once a page is answered with more to come, this server reads
//! the next page (and, when that one also has more, the one after, up to [`DEPTH`]) while
//! the device works, and answers the request from it.
//!
//! A page read ahead is the page a request would have read a moment earlier: the change log
//! is read in `seq` order, and a merchant's changes commit in `seq` order (a record changed
//! again moves to a new, later `seq`), so whatever changes after the read comes in a later
//! page, as with any page. A page goes only to a request with the same merchant, scope (the
//! rep a plain rep's device is limited to), cursor and limit, authenticated as usual; once.
//! Unclaimed pages are dropped after [`KEEP`]; at most [`MAX_HELD`] are held at once (beyond
//! that no read ahead starts: many devices syncing at once get what they get today). With
//! several instances, the next request may reach another instance: it reads the page itself
//! and this one's is dropped unclaimed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use fieldpay_protocol::{MerchantId, RepId};
use futures_util::future::{BoxFuture, FutureExt, Shared};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Pages read ahead for one scope (a merchant's whole-merchant devices, or one rep's) and
/// page size: a device's next pages; devices of one scope syncing at once share them.
pub const DEPTH: usize = 2;
/// Pages held at once, all devices together.
pub const MAX_HELD: usize = 8;
/// How long an unclaimed page is kept.
pub const KEEP: Duration = Duration::from_secs(30);

/// What a pull asks for (the caller's scope included).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub merchant_id: MerchantId,
    /// The rep a plain rep's device is limited to; `None` for the whole merchant.
    pub rep: Option<RepId>,
    pub cursor: i64,
    pub limit: u32,
}

impl PageKey {
    fn next(&self, cursor: i64) -> PageKey {
        PageKey {
            cursor,
            ..self.clone()
        }
    }

    fn same_scope(&self, other: &PageKey) -> bool {
        self.merchant_id == other.merchant_id && self.rep == other.rep && self.limit == other.limit
    }
}

/// A page as answered: its JSON body, and where the next page starts.
#[derive(Debug, Clone)]
pub struct Page {
    pub json: Bytes,
    pub cursor: i64,
    pub has_more: bool,
}

/// A page being read or read: `None` when the read failed (the request then reads it
/// itself, and gets the error if it happens again).
type Pending = Shared<BoxFuture<'static, Option<Page>>>;

struct Held {
    page: Pending,
    since: Instant,
}

/// The pages read ahead, by what they answer.
pub struct ReadAhead {
    held: Mutex<HashMap<PageKey, Held>>,
    keep: Duration,
}

impl Default for ReadAhead {
    fn default() -> Self {
        ReadAhead::new(KEEP)
    }
}

enum Start {
    /// Not held: the read was started.
    Started,
    /// Already held: read (`Some`) or being read.
    Held(Option<Option<Page>>),
    /// Too many held (in all, or for this scope).
    Full,
}

impl ReadAhead {
    /// Unclaimed pages are dropped after `keep`.
    pub fn new(keep: Duration) -> Self {
        ReadAhead {
            held: Mutex::new(HashMap::new()),
            keep,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PageKey, Held>> {
        // A panic while holding the lock leaves a plain map: still usable.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The held page for `key`, taken out (a second request for it reads its own).
    fn take(&self, key: &PageKey) -> Option<Pending> {
        let mut held = self.lock();
        self.prune(&mut held);
        held.remove(key).map(|h| h.page)
    }

    /// Starts `read` for `key` unless it is held or there is no room; an unclaimed page is
    /// dropped after `keep` (also when no other pull comes to prune it).
    fn start(self: &Arc<Self>, key: &PageKey, read: impl FnOnce() -> Pending) -> Start {
        let mut held = self.lock();
        self.prune(&mut held);
        if let Some(h) = held.get(key) {
            return Start::Held(h.page.peek().cloned());
        }
        let for_scope = held.keys().filter(|k| k.same_scope(key)).count();
        if held.len() >= MAX_HELD || for_scope >= DEPTH {
            return Start::Full;
        }
        let page = read();
        held.insert(
            key.clone(),
            Held {
                page: page.clone(),
                since: Instant::now(),
            },
        );
        drop(held);
        tokio::spawn(page);
        let this = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(this.keep).await;
            let mut held = this.lock();
            this.prune(&mut held);
        });
        Start::Started
    }

    fn prune(&self, held: &mut HashMap<PageKey, Held>) {
        held.retain(|_, h| h.since.elapsed() < self.keep);
    }

    /// Pages held now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The page for `key`: the one read ahead when there is one, else read now; then the pages
/// after it are read ahead.
pub async fn page(state: &AppState, key: PageKey) -> AppResult<Page> {
    let ahead = match state.read_ahead.take(&key) {
        Some(pending) => pending.await,
        None => None,
    };
    let page = match ahead {
        Some(page) => page,
        None => read(state, &key).await?,
    };
    if page.has_more {
        read_ahead(state, key.next(page.cursor));
    }
    Ok(page)
}

/// Reads ahead from `key` on: the first page of the device's run that is not held yet, when
/// there is room. A read ahead that ends with more to come goes on the same way.
fn read_ahead(state: &AppState, mut key: PageKey) {
    loop {
        let started = state.read_ahead.start(&key, || {
            let state = state.clone();
            let key = key.clone();
            async move {
                let page = read(&state, &key).await.ok()?;
                if page.has_more {
                    read_ahead(&state, key.next(page.cursor));
                }
                Some(page)
            }
            .boxed()
            .shared()
        });
        match started {
            Start::Held(Some(Some(page))) if page.has_more => key = key.next(page.cursor),
            Start::Started | Start::Held(_) | Start::Full => return,
        }
    }
}

/// One page from the store, encoded (off the async threads: a 20,000-change page is several
/// MB of JSON).
async fn read(state: &AppState, key: &PageKey) -> AppResult<Page> {
    let k = key.clone();
    let page = state
        .db(move |s| s.pull(&k.merchant_id, k.cursor, k.limit, k.rep.as_ref()))
        .await?;
    let (cursor, has_more) = (page.cursor, page.has_more);
    let json = tokio::task::spawn_blocking(move || serde_json::to_vec(&page))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    Ok(Page {
        json: Bytes::from(json),
        cursor,
        has_more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(merchant: &str, rep: Option<&str>, cursor: i64) -> PageKey {
        PageKey {
            merchant_id: MerchantId::new(merchant),
            rep: rep.map(RepId::new),
            cursor,
            limit: 7,
        }
    }

    fn ready(cursor: i64) -> impl FnOnce() -> Pending {
        move || {
            async move {
                Some(Page {
                    json: Bytes::from_static(b"{}"),
                    cursor,
                    has_more: true,
                })
            }
            .boxed()
            .shared()
        }
    }

    #[tokio::test]
    async fn pages_held_are_bounded_per_scope_and_in_all_and_taken_once() {
        let ahead = Arc::new(ReadAhead::default());
        let a = |c| key("m1", None, c);
        assert!(matches!(ahead.start(&a(1), ready(2)), Start::Started));
        assert!(matches!(ahead.start(&a(1), ready(2)), Start::Held(_)));
        assert!(matches!(ahead.start(&a(2), ready(3)), Start::Started));
        // A third page of the same scope waits until one is taken.
        assert!(matches!(ahead.start(&a(3), ready(4)), Start::Full));
        // Another scope of the same merchant has its own.
        assert!(matches!(
            ahead.start(&key("m1", Some("r1"), 1), ready(2)),
            Start::Started
        ));
        for m in 2..=MAX_HELD {
            let k = key(&format!("m{m}"), None, 1);
            let room = ahead.len() < MAX_HELD;
            assert_eq!(matches!(ahead.start(&k, ready(2)), Start::Started), room);
        }
        assert_eq!(ahead.len(), MAX_HELD);

        let page = ahead.take(&a(1)).expect("held").await.expect("read");
        assert_eq!(page.cursor, 2);
        assert!(ahead.take(&a(1)).is_none(), "taken once");
        // Room again: for this scope only up to its depth.
        assert!(matches!(ahead.start(&a(3), ready(4)), Start::Started));
        assert!(matches!(ahead.start(&a(4), ready(5)), Start::Full));
    }

    #[tokio::test]
    async fn a_held_page_that_is_read_tells_where_the_next_starts() {
        let ahead = Arc::new(ReadAhead::default());
        let k = key("m1", None, 1);
        let pending = ready(9)();
        assert!(matches!(
            ahead.start(&k, || pending.clone()),
            Start::Started
        ));
        pending.await;
        match ahead.start(&k, ready(0)) {
            Start::Held(Some(Some(page))) => assert_eq!(page.cursor, 9),
            _ => panic!("not held as read"),
        }
    }

    #[tokio::test]
    async fn an_unclaimed_page_is_dropped_after_its_time_without_another_pull() {
        let ahead = Arc::new(ReadAhead::new(Duration::from_millis(50)));
        assert!(matches!(
            ahead.start(&key("m1", None, 1), ready(2)),
            Start::Started
        ));
        assert_eq!(ahead.len(), 1);
        for _ in 0..100 {
            if ahead.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("still held after 1 s");
    }
}
