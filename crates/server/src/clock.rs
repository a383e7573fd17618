//! Time, with an offset the sandbox can move forward (to show expiry without waiting).

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// How far this clock is ahead of the real time (zero unless the sandbox moved it).
    pub fn offset(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Sandbox only: move time forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

pub use fieldpay_protocol::time::{kst, kst_long, kst_short, parse_ts, ts};
