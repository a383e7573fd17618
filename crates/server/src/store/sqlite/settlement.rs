//! [`SettlementStore`] on SQLite.

use fieldpay_protocol::manager::TeamMember;
use fieldpay_protocol::settlement::{SettlementReport, SettlementRow};
use fieldpay_protocol::{MerchantId, RepId};
use rusqlite::{named_params, params, Connection};

use super::SqliteStore;
use crate::store::settlement::{report, team_member, Period, TEAM_SQL};
use crate::store::{SettlementStore, StoreResult};

fn settlement_rows(
    c: &Connection,
    merchant_id: &str,
    key_sql: &str,
    name_sql: &str,
    (from, to): (&str, &str),
    rep: Option<&str>,
) -> StoreResult<Vec<SettlementRow>> {
    let sql = format!(
        "SELECT key, MAX(name), SUM(ac), SUM(aa), SUM(rc), SUM(ra) FROM (
            SELECT {key_sql} AS key, {name_sql} AS name, 1 AS ac, p.amount AS aa, 0 AS rc, 0 AS ra
              FROM payments p WHERE p.merchant_id = ?1 AND p.approved_at >= ?2 AND p.approved_at < ?3
                AND (?4 IS NULL OR p.rep_id = ?4)
            UNION ALL
            SELECT {key_sql}, {name_sql}, 0, 0, 1, f.amount
              FROM refunds f JOIN payments p ON p.charge_id = f.charge_id
              WHERE f.merchant_id = ?1 AND f.state = 'done' AND f.refunded_at >= ?2 AND f.refunded_at < ?3
                AND (?4 IS NULL OR p.rep_id = ?4)
         ) GROUP BY key ORDER BY key"
    );
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt
        .query_map(params![merchant_id, from, to, rep], |r| {
            let aa: i64 = r.get(3)?;
            let ra: i64 = r.get(5)?;
            Ok(SettlementRow {
                key: r.get(0)?,
                name: r.get(1)?,
                approved_count: r.get::<_, i64>(2)? as u64,
                approved_amount: aa,
                refunded_count: r.get::<_, i64>(4)? as u64,
                refunded_amount: ra,
                net_amount: aa - ra,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

impl SettlementStore for SqliteStore {
    fn settlement(
        &self,
        merchant_id: &MerchantId,
        period: Period,
        rep: Option<&RepId>,
    ) -> StoreResult<SettlementReport> {
        let merchant_id = merchant_id.as_str();
        let rep = rep.map(RepId::as_str);
        let (from, to) = period.bounds()?;
        self.read(|c| {
            let day = (from.as_str(), to.as_str());
            let by_card_company =
                settlement_rows(c, merchant_id, "p.issuer_code", "p.issuer_name", day, rep)?;
            let by_rep = settlement_rows(
                c,
                merchant_id,
                "COALESCE(p.rep_id, 'api')",
                "COALESCE((SELECT name FROM reps r WHERE r.id = p.rep_id), 'API')",
                day,
                rep,
            )?;
            Ok(report(period, by_card_company, by_rep))
        })
    }

    fn team(&self, merchant_id: &MerchantId, period: Period) -> StoreResult<Vec<TeamMember>> {
        let (from, to) = period.bounds()?;
        self.read(|c| {
            let mut stmt = c.prepare(TEAM_SQL)?;
            let rows = stmt
                .query_map(
                    named_params! {"$1": merchant_id.as_str(), "$2": from, "$3": to},
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get::<_, String>(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?],
                        ))
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, login, name, role, active, must, counts)| {
                    team_member(id, login, name, &role, active, must, counts)
                })
                .collect()
        })
    }
}
