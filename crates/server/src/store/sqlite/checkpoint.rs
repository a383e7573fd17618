//! The WAL checkpointer: a thread of its own copies committed pages from the write-ahead log
//! into the database file, so that the writer's commits no longer wait for that copy and its
//! fsyncs.
//!
//! Why (row 12, open loop at 6,000 charges/s; BENCHMARKS.md, round two, part 5): with SQLite's
//! checkpoint inline in the commit that crosses the threshold, commits held the write lock
//! ~180 ms of every second, nearly all of it checkpoints (one per ~1 MiB of log, each with two
//! fsyncs), and a slow fsync of a shared disk (20-90 ms at times) stalled every request queued
//! behind it. A PASSIVE checkpoint on another connection takes no lock a writer needs. Alone it
//! never lets the log start over: a pass cannot copy the frames committed while it runs, and
//! SQLite rewinds the log only after a pass copied all of it. So once the log holds
//! [`FINISH_FRAMES`], the checkpointer holds the writer's lock for one RESTART checkpoint (it
//! copies what the last pass left, waits for readers of the old log and rewinds it): a stall
//! of ~5-8 ms once per ~8 MiB of log instead of one per MiB.
//!
//! When: the writer's WAL hook (SQLite calls it after each commit with the size of the log;
//! it replaces SQLite's own automatic checkpoint, which used the same hook) wakes the thread
//! each time the log grows past another [`PASS_FRAMES`]. The first version woke every 10 ms,
//! idle or not.

use std::ffi::{c_char, c_int, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{ffi, Connection};

use crate::store::{StoreError, StoreResult};

/// New log frames (pages of 4 KiB) that call for a pass: the writer's commits wake the
/// checkpointer each time the log grows past a multiple of this (~1 MiB). An idle server
/// makes no passes, and a slow one no more than its log needs (a pass every 10 ms copied
/// and fsynced whatever the last 10 ms had committed, up to ~100 fsyncs a second).
const PASS_FRAMES: i64 = 256;

/// Log frames after which the log is rewound under the writer's lock: the log file stays near
/// 8 MiB. (Tried: 8,000 frames made the rewinds rarer but longer; p99 at 6,000 charges/s went
/// from ~20 to ~45 ms.)
const FINISH_FRAMES: i64 = 2_000;

/// How long the RESTART waits for readers of the old log.
const RESTART_WAIT: Duration = Duration::from_millis(5);

/// Log frames past which the writer checkpoints in its own commit, as SQLite's automatic
/// checkpoint does (the hook below replaces it): only a backstop for a checkpointer that
/// fails or falls behind.
const WRITER_BACKSTOP_PAGES: i64 = 10_000;

/// What the writer's commits tell the checkpointer: how many frames the log held after the
/// last one, and the thread to wake.
struct LogSize {
    frames: AtomicI64,
    checkpointer: std::thread::Thread,
}

/// The running checkpointer of a database: stopped, and waited for, when dropped. Its
/// connection closes then; when it is the last one, SQLite checkpoints the rest of the log and
/// removes the file, as on any clean close.
pub(super) struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    writer: Weak<Mutex<Connection>>,
    /// Lent to the writer's WAL hook (`Arc::into_raw`); taken back when the hook is removed.
    log: *const LogSize,
}

// SAFETY: `log` points to a `LogSize` (atomics and a thread handle, both `Sync`) owned through
// an `Arc` that this value releases only after the hook that reads it is gone.
unsafe impl Send for Checkpointer {}
unsafe impl Sync for Checkpointer {}

impl Checkpointer {
    /// Starts the checkpointer of the database at `path`, whose writer is `writer`, and hooks
    /// it to the writer's commits.
    pub(super) fn start(path: &Path, writer: &Arc<Mutex<Connection>>) -> StoreResult<Checkpointer> {
        let conn = Connection::open(path)?;
        super::configure(&conn)?;
        // RESTART waits for readers of the old log (a sync page can read for 100 ms and more)
        // while the writer is held: it gives up after this long and the next pass tries again.
        conn.busy_timeout(RESTART_WAIT)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let weak = Arc::downgrade(writer);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &weak, &stopped))
            .map_err(|e| StoreError::Db(Box::new(e)))?;
        let log = Arc::into_raw(Arc::new(LogSize {
            frames: AtomicI64::new(0),
            checkpointer: thread.thread().clone(),
        }));
        {
            let conn = super::lock(writer);
            // SAFETY: the handle is the writer's open connection, held locked; `log` stays
            // valid until `Drop` removes the hook (or the connection is closed).
            unsafe {
                ffi::sqlite3_wal_hook(conn.handle(), Some(on_commit), log as *mut c_void);
            }
        }
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
            writer: Arc::downgrade(writer),
            log,
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
        // Without the writer its connection is closed and the hook with it.
        if let Some(writer) = self.writer.upgrade() {
            let conn = super::lock(&writer);
            // SAFETY: as in `start`; no hook reads `log` after this.
            unsafe {
                ffi::sqlite3_wal_hook(conn.handle(), None, std::ptr::null_mut());
            }
        }
        // SAFETY: `log` came from `Arc::into_raw` in `start` and nothing uses it any more.
        drop(unsafe { Arc::from_raw(self.log) });
    }
}

/// The writer's WAL hook, called by SQLite after each of its commits with the frames the log
/// holds: wakes the checkpointer when the log grew past a multiple of [`PASS_FRAMES`], and
/// checkpoints in the commit past [`WRITER_BACKSTOP_PAGES`].
unsafe extern "C" fn on_commit(
    data: *mut c_void,
    db: *mut ffi::sqlite3,
    name: *const c_char,
    frames: c_int,
) -> c_int {
    // SAFETY: `data` is the `LogSize` lent in `Checkpointer::start`, valid while hooked.
    let log = unsafe { &*(data as *const LogSize) };
    let frames = i64::from(frames);
    let before = log.frames.swap(frames, Ordering::Relaxed);
    if frames / PASS_FRAMES > before / PASS_FRAMES {
        log.checkpointer.unpark();
    }
    if frames >= WRITER_BACKSTOP_PAGES {
        // SAFETY: SQLite's own automatic checkpoint makes this call from this hook.
        unsafe { ffi::sqlite3_wal_checkpoint(db, name) };
    }
    ffi::SQLITE_OK
}

fn run(conn: &Connection, writer: &Weak<Mutex<Connection>>, stop: &AtomicBool) {
    // A failure (disk full, I/O error) is logged when it starts and when it ends, not on
    // every pass.
    let mut failing = false;
    loop {
        // Woken by the writer's commits (or by `Drop`); a spurious wake makes a pass more.
        std::thread::park();
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let done = match checkpoint(conn, "PASSIVE") {
            Ok(log) if log >= FINISH_FRAMES => {
                let Some(writer) = writer.upgrade() else {
                    return;
                };
                let _no_commits = super::lock(&writer);
                checkpoint(conn, "RESTART")
            }
            other => other,
        };
        match done {
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "WAL checkpoints are failing (the writer's own checkpoint is the backstop)");
            }
            Ok(_) if failing => {
                failing = false;
                tracing::info!("WAL checkpoints work again");
            }
            _ => {}
        }
    }
}

/// One checkpoint in `mode`; the frames the log held.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(1))
}
