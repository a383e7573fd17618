//! Display formats: won amounts, Korean phone numbers, business numbers, KST dates.

pub use fieldpay_protocol::money::{INSTALLMENT_MIN_KRW, MAX_AMOUNT_KRW};

/// `1234567` -> `1,234,567원`.
pub fn won(amount: i64) -> String {
    fieldpay_protocol::money::format_krw(amount)
}

/// Keeps ASCII digits only (what phone and amount inputs accept).
pub fn digits_only(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// An amount typed with or without separators: `12,000` -> 12000. Empty -> None.
pub fn parse_amount(s: &str) -> Option<i64> {
    let d = digits_only(s);
    if d.is_empty() || d.len() > 15 {
        return None;
    }
    d.parse().ok()
}

/// Korean phone display: `01012345678` -> `010-1234-5678`, `0212345678` -> `02-1234-5678`,
/// `16000012` -> `1600-0012`. Unknown shapes are returned as typed.
pub fn phone(s: &str) -> String {
    let d = digits_only(s);
    let n = d.len();
    if d.starts_with("02") && (9..=10).contains(&n) {
        let mid = n - 6;
        return format!("{}-{}-{}", &d[..2], &d[2..2 + mid], &d[2 + mid..]);
    }
    if n == 8 && (d.starts_with("15") || d.starts_with("16") || d.starts_with("18")) {
        return format!("{}-{}", &d[..4], &d[4..]);
    }
    if d.starts_with('0') && n == 11 {
        return format!("{}-{}-{}", &d[..3], &d[3..7], &d[7..]);
    }
    if d.starts_with('0') && n == 10 {
        return format!("{}-{}-{}", &d[..3], &d[3..6], &d[6..]);
    }
    s.to_string()
}

/// `1234567890` -> `123-45-67890`.
pub fn business_number(s: &str) -> String {
    fieldpay_protocol::validate::format_business_number(s)
}

const KST_OFFSET_MS: i64 = 9 * 3600 * 1000;

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// RFC 3339 (`2026-11-27T01:23:45.123Z`, `...+09:00`) -> milliseconds since the epoch.
pub fn parse_ts(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 19 || !s.is_ascii() {
        return None;
    }
    let (date, rest) = s.split_at(10);
    let mut dp = date.split('-');
    let y = num(dp.next()?)?;
    let mo = num(dp.next()?)?;
    let d = num(dp.next()?)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let h = num(rest.get(0..2)?)?;
    let mi = num(rest.get(3..5)?)?;
    let sec = num(rest.get(6..8)?)?;
    let mut tail = &rest[8..];
    let mut millis = 0i64;
    if let Some(frac) = tail.strip_prefix('.') {
        let n = frac.bytes().take_while(|b| b.is_ascii_digit()).count();
        let digits = &frac[..n];
        let ms3: String = digits.chars().chain("000".chars()).take(3).collect();
        millis = num(&ms3)?;
        tail = &frac[n..];
    }
    let offset_ms = match tail {
        "" | "Z" | "z" => 0,
        t if t.len() == 6 && (t.starts_with('+') || t.starts_with('-')) => {
            let sign = if t.starts_with('-') { -1 } else { 1 };
            let oh = num(&t[1..3])?;
            let om = num(&t[4..6])?;
            sign * (oh * 3600 + om * 60) * 1000
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec) * 1000) + millis - offset_ms)
}

/// KST calendar parts of an instant: (year, month, day, hour, minute, second).
pub fn kst_parts(ms: i64) -> (i64, u32, u32, u32, u32, u32) {
    let local = ms + KST_OFFSET_MS;
    let days = local.div_euclid(86_400_000);
    let in_day = local.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = civil_from_days(days);
    (
        y,
        m,
        d,
        (in_day / 3600) as u32,
        (in_day % 3600 / 60) as u32,
        (in_day % 60) as u32,
    )
}

/// The KST day `YYYY-MM-DD` of an instant.
pub fn kst_day_of_ms(ms: i64) -> String {
    let (y, m, d, ..) = kst_parts(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The KST day of a timestamp string (empty when it cannot be read).
pub fn kst_day(ts: &str) -> String {
    parse_ts(ts).map(kst_day_of_ms).unwrap_or_default()
}

/// `2026-11-27 10:23` in KST.
pub fn date_time(ts: &str) -> String {
    match parse_ts(ts) {
        Some(ms) => {
            let (y, mo, d, h, mi, _) = kst_parts(ms);
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}")
        }
        None => ts.to_string(),
    }
}

/// `11/27 10:23` in KST (lists).
pub fn short_date_time(ts: &str) -> String {
    match parse_ts(ts) {
        Some(ms) => {
            let (_, mo, d, h, mi, _) = kst_parts(ms);
            format!("{mo:02}/{d:02} {h:02}:{mi:02}")
        }
        None => ts.to_string(),
    }
}

/// `10:23:05` in KST (timelines).
pub fn time_of_day(ts: &str) -> String {
    match parse_ts(ts) {
        Some(ms) => {
            let (.., h, mi, s) = kst_parts(ms);
            format!("{h:02}:{mi:02}:{s:02}")
        }
        None => ts.to_string(),
    }
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// Today in KST, `YYYY-MM-DD`.
pub fn today_kst() -> String {
    kst_day_of_ms(now_ms())
}

/// Same timestamp is on today's KST date.
pub fn is_today(ts: &str) -> bool {
    kst_day(ts) == today_kst()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(won(1_234_567), "1,234,567원");
        assert_eq!(parse_amount("12,000"), Some(12_000));
        assert_eq!(parse_amount(""), None);
        assert_eq!(parse_amount("abc"), None);
    }

    #[test]
    fn phones() {
        assert_eq!(phone("01012345678"), "010-1234-5678");
        assert_eq!(phone("010-1234-5678"), "010-1234-5678");
        assert_eq!(phone("0212345678"), "02-1234-5678");
        assert_eq!(phone("021234567"), "02-123-4567");
        assert_eq!(phone("0311234567"), "031-123-4567");
        assert_eq!(phone("16000012"), "1600-0012");
        assert_eq!(phone("123"), "123");
    }

    #[test]
    fn times() {
        let ms = parse_ts("2026-11-27T01:23:45.123Z").unwrap();
        assert_eq!(kst_parts(ms), (2026, 11, 27, 10, 23, 45));
        assert_eq!(date_time("2026-11-27T15:00:00Z"), "2026-11-28 00:00");
        assert_eq!(kst_day("2026-11-27T14:59:59+00:00"), "2026-11-27");
        assert_eq!(kst_day("2026-11-27T10:00:00+09:00"), "2026-11-27");
        assert_eq!(time_of_day("2026-01-01T00:00:00.5Z"), "09:00:00");
        assert_eq!(short_date_time("2024-02-29T03:04:00Z"), "02/29 12:04");
        assert_eq!(parse_ts("garbage"), None);
        assert_eq!(parse_ts("1970-01-01T00:00:00Z"), Some(0));
    }
}
