//! Daily settlement (정산): approved and refunded amounts of a KST day, by card company and
//! by rep.

use chrono::NaiveDate;
use fieldpay_protocol::settlement::{SettlementReport, SettlementRow};
use fieldpay_protocol::{MerchantId, RepId};

use super::StoreResult;

pub trait SettlementStore {
    /// The settlement of a KST day; of one rep's payments only when `rep` is given.
    fn settlement(
        &self,
        merchant_id: &MerchantId,
        date: NaiveDate,
        rep: Option<&RepId>,
    ) -> StoreResult<SettlementReport>;
}

/// The UTC bounds `[from, to)` of a KST day, as stored times.
pub(crate) fn kst_day_bounds(date: NaiveDate) -> StoreResult<(String, String)> {
    use chrono::{TimeZone, Utc};
    let start = crate::clock::kst()
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .ok_or_else(|| super::StoreError::corrupt("date"))?
        .with_timezone(&Utc);
    let end = start + chrono::Duration::days(1);
    Ok((crate::clock::ts(start), crate::clock::ts(end)))
}

/// The report of a day from its rows by card company and by rep: the total is the sum of the
/// card companies'.
pub(crate) fn report(
    date: NaiveDate,
    by_card_company: Vec<SettlementRow>,
    by_rep: Vec<SettlementRow>,
) -> SettlementReport {
    let mut total = SettlementRow {
        key: "total".into(),
        name: "합계".into(),
        ..Default::default()
    };
    for r in &by_card_company {
        total.approved_count += r.approved_count;
        total.approved_amount += r.approved_amount;
        total.refunded_count += r.refunded_count;
        total.refunded_amount += r.refunded_amount;
        total.net_amount += r.net_amount;
    }
    SettlementReport {
        date: date.format("%Y-%m-%d").to_string(),
        by_card_company,
        by_rep,
        total,
    }
}
