//! The manager's settlement (정산) of a KST day or month (the period's checks) and the
//! filters of the merchant's payment list.

use chrono::{Duration, NaiveDate};
use fieldpay_protocol::command::MerchantCharges;
use fieldpay_protocol::ErrorCode;

use crate::client::query_value;
use crate::error::{CoreError, CoreResult};

/// A settlement period: one KST day or one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day(NaiveDate),
    /// The month's first day.
    Month(NaiveDate),
}

impl Period {
    /// `YYYY-MM-DD` (a day) or `YYYY-MM` (a month); a typed error for anything else.
    pub fn parse(s: &str) -> CoreResult<Period> {
        let s = s.trim();
        let bad = || {
            CoreError::invalid(
                ErrorCode::InvalidField,
                "기간은 YYYY-MM-DD(일) 또는 YYYY-MM(월)로 입력하세요 (a period is YYYY-MM-DD or YYYY-MM)",
            )
        };
        match s.len() {
            10 => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Period::Day)
                .map_err(|_| bad()),
            7 => NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
                .map(Period::Month)
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// As the server takes it: `YYYY-MM-DD` or `YYYY-MM`.
    pub fn as_text(&self) -> String {
        match self {
            Period::Day(d) => d.format("%Y-%m-%d").to_string(),
            Period::Month(d) => d.format("%Y-%m").to_string(),
        }
    }
}

/// The query string of `GET /v1/charges` for the manager's filters (a KST day becomes the
/// `from`/`to` times). A bad date is a typed error.
pub fn charges_query(f: &MerchantCharges) -> CoreResult<String> {
    let mut q: Vec<String> = Vec::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
            q.push(format!("{k}={}", query_value(v)));
        }
    };
    put("status", f.status.as_deref());
    put("rep_id", f.rep_id.as_ref().map(|r| r.as_str()));
    put("card_company", f.card_company.as_deref());
    if let Some(d) = f.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        let day = match Period::parse(d)? {
            Period::Day(day) => day,
            Period::Month(_) => {
                return Err(CoreError::invalid(
                    ErrorCode::InvalidField,
                    "날짜는 YYYY-MM-DD (date must be YYYY-MM-DD)",
                ))
            }
        };
        let next = day + Duration::days(1);
        put(
            "from",
            Some(&format!("{}T00:00:00+09:00", day.format("%Y-%m-%d"))),
        );
        put(
            "to",
            Some(&format!("{}T00:00:00+09:00", next.format("%Y-%m-%d"))),
        );
    }
    put("after", f.after.as_deref());
    let limit = f.limit.unwrap_or(50).clamp(1, 200).to_string();
    put("limit", Some(&limit));
    Ok(q.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_a_day_or_a_month() {
        assert_eq!(Period::parse("2026-11-27").unwrap().as_text(), "2026-11-27");
        assert_eq!(Period::parse(" 2026-11 ").unwrap().as_text(), "2026-11");
        for bad in [
            "2026-13",
            "2026-02-30",
            "26-11-27",
            "",
            "2026/11/27",
            "2026-11-27x",
        ] {
            let e = Period::parse(bad).unwrap_err().to_api();
            assert_eq!(e.code, ErrorCode::InvalidField, "{bad}");
        }
    }

    #[test]
    fn charge_filters_become_the_servers_query() {
        let q = charges_query(&MerchantCharges {
            rep_id: Some("rep_1".into()),
            status: Some("approved".into()),
            card_company: Some("04".into()),
            date: Some("2026-11-30".into()),
            after: None,
            limit: Some(500),
        })
        .unwrap();
        assert_eq!(
            q,
            "status=approved&rep_id=rep_1&card_company=04&from=2026-11-30T00%3A00%3A00%2B09%3A00&to=2026-12-01T00%3A00%3A00%2B09%3A00&limit=200"
        );
        assert_eq!(
            charges_query(&MerchantCharges::default()).unwrap(),
            "limit=50"
        );
        let blank = MerchantCharges {
            status: Some(" ".into()),
            ..Default::default()
        };
        assert_eq!(charges_query(&blank).unwrap(), "limit=50");
        for bad in ["2026-11", "yesterday"] {
            let f = MerchantCharges {
                date: Some(bad.into()),
                ..Default::default()
            };
            assert_eq!(
                charges_query(&f).unwrap_err().to_api().code,
                ErrorCode::InvalidField
            );
        }
    }
}
