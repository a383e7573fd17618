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

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::store::{StoreError, StoreResult};

/// Time between passes.
const PASS_EVERY: Duration = Duration::from_millis(10);

/// Log frames (pages of 4 KiB) after which the log is rewound under the writer's lock: the log
/// file stays near 8 MiB. (Tried: 8,000 frames made the rewinds rarer but longer; p99 at 6,000
/// charges/s went from ~20 to ~45 ms.)
const FINISH_FRAMES: i64 = 2_000;

/// How long the RESTART waits for readers of the old log.
const RESTART_WAIT: Duration = Duration::from_millis(5);

/// The writer's own (inline) checkpoint threshold: only a backstop for a checkpointer that
/// fails or falls behind.
pub(super) const WRITER_BACKSTOP_PAGES: i64 = 10_000;

/// The running checkpointer of a database: stopped, and waited for, when dropped. Its
/// connection closes then; when it is the last one, SQLite checkpoints the rest of the log and
/// removes the file, as on any clean close.
pub(super) struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the checkpointer of the database at `path`, whose writer is `writer`.
    pub(super) fn start(path: &Path, writer: Weak<Mutex<Connection>>) -> StoreResult<Checkpointer> {
        let conn = Connection::open(path)?;
        super::configure(&conn)?;
        // RESTART waits for readers of the old log (a sync page can read for 100 ms and more)
        // while the writer is held: it gives up after this long and the next pass tries again.
        conn.busy_timeout(RESTART_WAIT)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &writer, &stopped))
            .map_err(|e| StoreError::Db(Box::new(e)))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
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
    }
}

fn run(conn: &Connection, writer: &Weak<Mutex<Connection>>, stop: &AtomicBool) {
    // A failure (disk full, I/O error) is logged when it starts and when it ends, not on
    // every pass (100 a second).
    let mut failing = false;
    loop {
        std::thread::park_timeout(PASS_EVERY);
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
