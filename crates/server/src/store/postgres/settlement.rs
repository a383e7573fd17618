//! [`SettlementStore`] on PostgreSQL.

use fieldpay_protocol::manager::TeamMember;
use fieldpay_protocol::settlement::{SettlementReport, SettlementRow};
use fieldpay_protocol::{MerchantId, RepId};

use super::{corrupt, PgStore, Tx};
use crate::store::settlement::{report, team_member, Period, TEAM_SQL};
use crate::store::{SettlementStore, StoreResult};

/// The approvals and refunds of `[from, to)` grouped by `key_sql` (named by `name_sql`), in
/// byte order of the key as SQLite sorts.
fn settlement_rows(
    tx: &Tx<'_>,
    merchant_id: &str,
    key_sql: &str,
    name_sql: &str,
    (from, to): (&str, &str),
    rep: Option<&str>,
) -> StoreResult<Vec<SettlementRow>> {
    let sql = format!(
        "SELECT key, MAX(name COLLATE \"C\"), SUM(ac)::BIGINT, SUM(aa)::BIGINT, SUM(rc)::BIGINT,
                SUM(ra)::BIGINT FROM (
            SELECT {key_sql} AS key, {name_sql} AS name, 1 AS ac, p.amount AS aa, 0 AS rc, 0::BIGINT AS ra
              FROM payments p WHERE p.merchant_id = $1 AND p.approved_at >= $2 AND p.approved_at < $3
                AND ($4::TEXT IS NULL OR p.rep_id = $4)
            UNION ALL
            SELECT {key_sql}, {name_sql}, 0, 0, 1, f.amount
              FROM refunds f JOIN payments p ON p.merchant_id = f.merchant_id AND p.charge_id = f.charge_id
              WHERE f.merchant_id = $1 AND f.state = 'done' AND f.refunded_at >= $2 AND f.refunded_at < $3
                AND ($4::TEXT IS NULL OR p.rep_id = $4)
         ) AS day GROUP BY key ORDER BY key COLLATE \"C\""
    );
    let count = |v: i64| u64::try_from(v).map_err(|_| corrupt("a negative count"));
    tx.query(&sql, &[&merchant_id, &from, &to, &rep])?
        .iter()
        .map(|r| {
            let aa: i64 = r.try_get(3)?;
            let ra: i64 = r.try_get(5)?;
            Ok(SettlementRow {
                key: r.try_get(0)?,
                name: r.try_get(1)?,
                approved_count: count(r.try_get(2)?)?,
                approved_amount: aa,
                refunded_count: count(r.try_get(4)?)?,
                refunded_amount: ra,
                net_amount: aa - ra,
            })
        })
        .collect()
}

impl SettlementStore for PgStore {
    fn settlement(
        &self,
        merchant_id: &MerchantId,
        period: Period,
        rep: Option<&RepId>,
    ) -> StoreResult<SettlementReport> {
        let merchant_id = merchant_id.as_str();
        let rep = rep.map(RepId::as_str);
        let (from, to) = period.bounds()?;
        self.read(|tx| {
            let day = (from.as_str(), to.as_str());
            let by_card_company =
                settlement_rows(tx, merchant_id, "p.issuer_code", "p.issuer_name", day, rep)?;
            let by_rep = settlement_rows(
                tx,
                merchant_id,
                "COALESCE(p.rep_id, 'api')",
                "COALESCE((SELECT name FROM reps r
                           WHERE r.merchant_id = p.merchant_id AND r.id = p.rep_id), 'API')",
                day,
                rep,
            )?;
            Ok(report(period, by_card_company, by_rep))
        })
    }

    fn team(&self, merchant_id: &MerchantId, period: Period) -> StoreResult<Vec<TeamMember>> {
        let (from, to) = period.bounds()?;
        self.read(|tx| {
            tx.query(TEAM_SQL, &[&merchant_id.as_str(), &from, &to])?
                .iter()
                .map(|r| {
                    team_member(
                        r.try_get(0)?,
                        r.try_get(1)?,
                        r.try_get(2)?,
                        r.try_get(3)?,
                        r.try_get(4)?,
                        r.try_get(5)?,
                        [r.try_get(6)?, r.try_get(7)?, r.try_get(8)?, r.try_get(9)?],
                    )
                })
                .collect()
        })
    }
}
