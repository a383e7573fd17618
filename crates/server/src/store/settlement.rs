//! Settlement (정산): approved and refunded amounts of a KST day or month, by card company
//! and by rep.

use chrono::NaiveDate;
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::manager::TeamMember;
use fieldpay_protocol::settlement::{SettlementPeriod, SettlementReport, SettlementRow};
use fieldpay_protocol::{MerchantId, RepId};

use super::StoreResult;

pub trait SettlementStore {
    /// The settlement of a KST day or month; of one rep's payments only when `rep` is given.
    fn settlement(
        &self,
        merchant_id: &MerchantId,
        period: Period,
        rep: Option<&RepId>,
    ) -> StoreResult<SettlementReport>;

    /// Every rep of the merchant (active first, then by name) with its orders and approved
    /// payments in the period.
    fn team(&self, merchant_id: &MerchantId, period: Period) -> StoreResult<Vec<TeamMember>>;
}

/// [`SettlementStore::team`]'s query on both stores: `$1` the merchant, `[$2, $3)` the period
/// in stored times. Orders count once signed (signed or registered), by when they were made;
/// payments by when they were approved (refunds are not taken off).
pub(crate) const TEAM_SQL: &str = "
    SELECT r.id, r.login, r.name, r.role, CASE WHEN r.active THEN 1 ELSE 0 END,
           CASE WHEN r.must_change_password THEN 1 ELSE 0 END,
           (SELECT CAST(COUNT(*) AS BIGINT) FROM orders o
             WHERE o.merchant_id = r.merchant_id AND o.rep_id = r.id
               AND o.status IN ('signed', 'registered') AND o.created_at >= $2 AND o.created_at < $3),
           (SELECT CAST(COALESCE(SUM(o.total), 0) AS BIGINT) FROM orders o
             WHERE o.merchant_id = r.merchant_id AND o.rep_id = r.id
               AND o.status IN ('signed', 'registered') AND o.created_at >= $2 AND o.created_at < $3),
           (SELECT CAST(COUNT(*) AS BIGINT) FROM payments p
             WHERE p.merchant_id = r.merchant_id AND p.rep_id = r.id
               AND p.approved_at >= $2 AND p.approved_at < $3),
           (SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM payments p
             WHERE p.merchant_id = r.merchant_id AND p.rep_id = r.id
               AND p.approved_at >= $2 AND p.approved_at < $3)
      FROM reps r WHERE r.merchant_id = $1
     ORDER BY r.active DESC, r.name, r.login";

/// One row of [`TEAM_SQL`] (columns in its order), as read by either store.
#[allow(clippy::too_many_arguments)]
pub(crate) fn team_member(
    id: String,
    login: String,
    name: String,
    role: &str,
    active: i32,
    must_change_password: i32,
    counts: [i64; 4],
) -> StoreResult<TeamMember> {
    let count =
        |v: i64| u64::try_from(v).map_err(|_| super::StoreError::corrupt("a negative count"));
    Ok(TeamMember {
        id,
        login,
        name,
        role: Role::parse(role).ok_or_else(|| super::StoreError::corrupt("reps.role"))?,
        active: active != 0,
        must_change_password: must_change_password != 0,
        orders: count(counts[0])?,
        orders_amount: counts[1],
        collected_count: count(counts[2])?,
        collected_amount: counts[3],
    })
}

/// A KST settlement period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day(NaiveDate),
    /// The month holding this date.
    Month(NaiveDate),
}

impl Period {
    /// The KST dates `[first, after)` of the period.
    fn dates(self) -> StoreResult<(NaiveDate, NaiveDate)> {
        use chrono::Datelike;
        let bad = || super::StoreError::corrupt("date");
        Ok(match self {
            Period::Day(d) => (d, d.succ_opt().ok_or_else(bad)?),
            Period::Month(d) => {
                let first = d.with_day(1).ok_or_else(bad)?;
                (
                    first,
                    first
                        .checked_add_months(chrono::Months::new(1))
                        .ok_or_else(bad)?,
                )
            }
        })
    }

    /// The UTC bounds `[from, to)` of the period, as stored times.
    pub(crate) fn bounds(self) -> StoreResult<(String, String)> {
        use chrono::{TimeZone, Utc};
        let (first, after) = self.dates()?;
        let start = |d: NaiveDate| -> StoreResult<String> {
            let t = crate::clock::kst()
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
                .single()
                .ok_or_else(|| super::StoreError::corrupt("date"))?
                .with_timezone(&Utc);
            Ok(crate::clock::ts(t))
        };
        Ok((start(first)?, start(after)?))
    }

    /// `YYYY-MM-DD` for a day, `YYYY-MM` for a month.
    pub fn label(self) -> String {
        match self {
            Period::Day(d) => d.format("%Y-%m-%d").to_string(),
            Period::Month(d) => d.format("%Y-%m").to_string(),
        }
    }
}

/// The report of a period from its rows by card company and by rep: the total is the sum of
/// the card companies'.
pub(crate) fn report(
    period: Period,
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
        date: period.label(),
        period: match period {
            Period::Day(_) => SettlementPeriod::Day,
            Period::Month(_) => SettlementPeriod::Month,
        },
        by_card_company,
        by_rep,
        total,
    }
}
