//! The daily closing (일일 마감) of one KST day: the server's settlement plus this device's
//! payment requests of the day by status, for the closing screen and its PDF.

use chrono::{DateTime, NaiveDate, Utc};
use fieldpay_protocol::app::StatusTotal;
use fieldpay_protocol::charge::{Charge, ChargeStatus};
use fieldpay_protocol::collection::{totals_by_method, Collection, MethodTotal};
use fieldpay_protocol::time::parse_ts;
use fieldpay_protocol::ErrorCode;

use crate::error::{CoreError, CoreResult};

/// Today in Korea: receivables age by the merchant's calendar.
pub use fieldpay_protocol::time::{kst_date, kst_today};

/// `date` as given (`YYYY-MM-DD`), or today in KST; a typed error for anything else.
pub fn closing_date(date: Option<&str>, now: DateTime<Utc>) -> CoreResult<String> {
    match date {
        None => Ok(kst_date(now)),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|d| d.format("%Y-%m-%d").to_string())
            .map_err(|_| {
                CoreError::invalid(
                    ErrorCode::InvalidField,
                    "날짜는 YYYY-MM-DD (date must be YYYY-MM-DD)",
                )
            }),
    }
}

/// Count and requested amount per status of the charges created on KST day `date`, in
/// [`ChargeStatus::ALL`] order, statuses without charges left out.
pub fn totals_by_status<'a>(
    charges: impl IntoIterator<Item = &'a Charge>,
    date: &str,
) -> Vec<StatusTotal> {
    let mut by: Vec<StatusTotal> = ChargeStatus::ALL
        .iter()
        .map(|s| StatusTotal {
            status: *s,
            count: 0,
            amount: 0,
        })
        .collect();
    for c in charges {
        let day = parse_ts(&c.created_at).map(kst_date);
        if day.as_deref() != Some(date) {
            continue;
        }
        if let Some(t) = by.iter_mut().find(|t| t.status == c.status) {
            t.count += 1;
            t.amount += c.amount;
        }
    }
    by.retain(|t| t.count > 0);
    by
}

/// Subtotals per method (cash, transfer, note) of the collections made on KST day `date`,
/// voided ones left out.
pub fn collections_by_method<'a>(
    list: impl IntoIterator<Item = &'a Collection>,
    date: &str,
) -> Vec<MethodTotal> {
    let of_day: Vec<&Collection> = list
        .into_iter()
        .filter(|c| parse_ts(&c.collected_at).map(kst_date).as_deref() == Some(date))
        .collect();
    totals_by_method(of_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(created_at: &str, status: ChargeStatus, amount: i64) -> Charge {
        let mut c: Charge = serde_json::from_value(serde_json::json!({
            "id": "ch_1", "status": "requested", "kind": "general", "origin": "api",
            "amount": 1, "goods_name": "x", "payer_phone": "010-1234-5678", "payer_name": null,
            "orderer": null, "third_party": false, "order_ref": null, "account_id": null,
            "rep_id": null, "installments": false, "virtual_number": null,
            "created_at": "2026-11-27T00:00:00Z", "expires_at": "2026-11-28T00:00:00Z",
            "events": [], "payment": null, "decline_reason": null
        }))
        .expect("a charge");
        c.created_at = created_at.into();
        c.status = status;
        c.amount = amount;
        c
    }

    #[test]
    fn counts_the_kst_day_only() {
        let list = [
            // 2026-11-26 15:00 UTC = 2026-11-27 00:00 KST: counted.
            charge("2026-11-26T15:00:00Z", ChargeStatus::Approved, 10_000),
            // 2026-11-26 14:59:59 UTC = 2026-11-26 23:59:59 KST: the day before.
            charge("2026-11-26T14:59:59Z", ChargeStatus::Approved, 99_999),
            charge("2026-11-27T09:00:00+09:00", ChargeStatus::Approved, 5_000),
            charge("2026-11-27T03:00:00.123Z", ChargeStatus::SmsSent, 7_000),
            charge("not a time", ChargeStatus::Declined, 1),
        ];
        let t = totals_by_status(&list, "2026-11-27");
        assert_eq!(
            t,
            vec![
                StatusTotal {
                    status: ChargeStatus::SmsSent,
                    count: 1,
                    amount: 7_000
                },
                StatusTotal {
                    status: ChargeStatus::Approved,
                    count: 2,
                    amount: 15_000
                },
            ]
        );
    }

    #[test]
    fn dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T16:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(closing_date(None, now).unwrap(), "2026-11-28");
        assert_eq!(closing_date(Some("2026-11-27"), now).unwrap(), "2026-11-27");
        for bad in ["27-11-2026", "2026-13-01", "", "2026-11-27T00:00"] {
            assert_eq!(
                closing_date(Some(bad), now).unwrap_err().to_api().code,
                ErrorCode::InvalidField,
                "{bad}"
            );
        }
    }
}
