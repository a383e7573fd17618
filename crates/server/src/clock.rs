//! Time, with an offset the sandbox can move forward (to show expiry without waiting).

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

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

/// Korea Standard Time (UTC+9, no daylight saving).
pub fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("valid offset")
}

/// The stored form of a time: UTC, RFC 3339, milliseconds, `Z`. Sorts as text.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `11/27 15:30` in KST, as texts show deadlines.
pub fn kst_short(t: DateTime<Utc>) -> String {
    t.with_timezone(&kst()).format("%m/%d %H:%M").to_string()
}

/// `2026-11-27 15:30:05` in KST.
pub fn kst_long(t: DateTime<Utc>) -> String {
    t.with_timezone(&kst())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}
