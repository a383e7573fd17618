//! Time rules shared by the server and the app: Korea time (KST, UTC+9, no daylight saving),
//! the one stored and wire form of an instant, and the ways people are shown one.

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};

/// Korea Standard Time is UTC+9 all year.
pub const KST_OFFSET_SECS: i32 = 9 * 3600;

/// Korea Standard Time.
pub fn kst() -> FixedOffset {
    FixedOffset::east_opt(KST_OFFSET_SECS).expect("UTC+9 is a valid offset")
}

/// The stored and wire form of an instant: UTC, RFC 3339, milliseconds, `Z`. Sorts as text.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An RFC 3339 instant with any offset.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The day in Korea at `t`.
pub fn kst_today(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&kst()).date_naive()
}

/// `2026-11-27`: the day in Korea at `t`.
pub fn kst_date(t: DateTime<Utc>) -> String {
    kst_today(t).format("%Y-%m-%d").to_string()
}

/// `11/27 15:30` in KST, as texts show deadlines.
pub fn kst_short(t: DateTime<Utc>) -> String {
    t.with_timezone(&kst()).format("%m/%d %H:%M").to_string()
}

/// `2026-11-27 15:30` in KST.
pub fn kst_minutes(t: DateTime<Utc>) -> String {
    t.with_timezone(&kst()).format("%Y-%m-%d %H:%M").to_string()
}

/// `2026-11-27 15:30:05` in KST.
pub fn kst_long(t: DateTime<Utc>) -> String {
    t.with_timezone(&kst())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korea_time() {
        let t = parse_ts("2026-11-27T15:00:05.123Z").unwrap();
        assert_eq!(ts(t), "2026-11-27T15:00:05.123Z");
        assert_eq!(parse_ts("2026-11-28T00:00:05.123+09:00"), Some(t));
        assert_eq!(kst_date(t), "2026-11-28");
        assert_eq!(kst_short(t), "11/28 00:00");
        assert_eq!(kst_minutes(t), "2026-11-28 00:00");
        assert_eq!(kst_long(t), "2026-11-28 00:00:05");
        assert_eq!(parse_ts("yesterday"), None);
    }
}
