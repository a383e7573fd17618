//! Signed document numbers: the device numbers what the client signs, without the server, from
//! the rep's own series. `PO-20261203-R01-0001` is the first purchase order signed on 3
//! December 2026 (KST) in series `R01`: the document kind, the KST day, the rep's series code
//! (unique within the merchant), a per-series per-day counter. The server checks the form, the
//! series (the signing rep's) and the day (the signature's), and that no other document of the
//! merchant carries the number.

/// The kind of signed document a number belongs to (its prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// 발주서.
    PurchaseOrder,
    /// 반품서.
    Return,
}

impl DocKind {
    pub fn prefix(self) -> &'static str {
        match self {
            DocKind::PurchaseOrder => "PO",
            DocKind::Return => "RT",
        }
    }
}

/// The highest counter of a series per day.
pub const MAX_COUNTER: u32 = 9999;

/// Whether `s` is a rep's series code: `R` and two to four digits (`R01`, `R123`).
pub fn is_series(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('R') else {
        return false;
    };
    (2..=4).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The series code of the `n`th rep of a merchant (`R01`, ..., `R99`, `R100`).
pub fn series_code(n: u32) -> String {
    format!("R{n:02}")
}

/// What a series number's counter is appended to: `PO-20261203-R01-`. `day` is `YYYYMMDD`.
pub fn number_prefix(kind: DocKind, day: &str, series: &str) -> String {
    format!("{}-{day}-{series}-", kind.prefix())
}

/// The `n`th number of `series` on `day` (`YYYYMMDD`).
pub fn series_number(kind: DocKind, day: &str, series: &str, n: u32) -> String {
    format!("{}{n:04}", number_prefix(kind, day, series))
}

/// A series number taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesNumber {
    pub kind: DocKind,
    /// `YYYYMMDD` (KST).
    pub day: String,
    pub series: String,
    pub counter: u32,
}

/// Parses a series number (`PO-20261203-R01-0001`); `None` when it is not one (an old
/// server-given `PO-20261203-0001` is not).
pub fn parse_series_number(s: &str) -> Option<SeriesNumber> {
    let mut parts = s.split('-');
    let kind = match parts.next()? {
        "PO" => DocKind::PurchaseOrder,
        "RT" => DocKind::Return,
        _ => return None,
    };
    let day = parts.next()?;
    let series = parts.next()?;
    let counter = parts.next()?;
    if parts.next().is_some()
        || day.len() != 8
        || !day.bytes().all(|b| b.is_ascii_digit())
        || !is_series(series)
        || counter.len() != 4
        || !counter.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let counter: u32 = counter.parse().ok()?;
    if counter == 0 {
        return None;
    }
    Some(SeriesNumber {
        kind,
        day: day.into(),
        series: series.into(),
        counter,
    })
}

/// The counter of `number` when it is a number of `kind` in `series` on `day`.
pub fn counter_in(number: &str, kind: DocKind, day: &str, series: &str) -> Option<u32> {
    parse_series_number(number)
        .filter(|n| n.kind == kind && n.day == day && n.series == series)
        .map(|n| n.counter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_bad_ones_are_refused() {
        let n = series_number(DocKind::PurchaseOrder, "20261203", "R01", 7);
        assert_eq!(n, "PO-20261203-R01-0007");
        assert_eq!(
            parse_series_number(&n),
            Some(SeriesNumber {
                kind: DocKind::PurchaseOrder,
                day: "20261203".into(),
                series: "R01".into(),
                counter: 7
            })
        );
        assert_eq!(
            counter_in(&n, DocKind::PurchaseOrder, "20261203", "R01"),
            Some(7)
        );
        assert_eq!(
            counter_in(&n, DocKind::PurchaseOrder, "20261204", "R01"),
            None
        );
        assert_eq!(
            counter_in(&n, DocKind::PurchaseOrder, "20261203", "R02"),
            None
        );
        for bad in [
            "PO-20261203-0001",
            "PO-20261203-R01-0000",
            "PO-20261203-R01-001",
            "PO-2026123-R01-0001",
            "PO-20261203-X01-0001",
            "PO-20261203-R1-0001",
            "XX-20261203-R01-0001",
            "PO-20261203-R01-0001-1",
            "PO-20261203-R01-00a1",
            "",
        ] {
            assert_eq!(parse_series_number(bad), None, "{bad}");
        }
        assert_eq!(series_code(1), "R01");
        assert_eq!(series_code(120), "R120");
        assert!(is_series("R01") && is_series("R1234"));
        assert!(!is_series("R1") && !is_series("01") && !is_series("R12345"));
    }
}
