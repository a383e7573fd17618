//! [`VisitStore`] on SQLite.

use chrono::{DateTime, Utc};
use fieldpay_protocol::visit::Visit;
use fieldpay_protocol::{MerchantId, RepId};
use rusqlite::{params, Connection, OptionalExtension};

use super::{corrupt, SqliteStore};
use crate::clock::ts;
use crate::store::visits::{
    check_account, check_out_rule, same_check_in, NewVisit, RawVisit, VisitStore, VISIT_COLS,
    VISIT_FROM,
};
use crate::store::StoreResult;

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawVisit> {
    Ok(RawVisit {
        id: r.get(0)?,
        account_id: r.get(1)?,
        account_name: r.get(2)?,
        rep_id: r.get(3)?,
        rep_name: r.get(4)?,
        checked_in_at: r.get(5)?,
        checked_out_at: r.get(6)?,
        lat: r.get(7)?,
        lng: r.get(8)?,
        accuracy_m: r.get(9)?,
        note: r.get(10)?,
    })
}

fn load(c: &Connection, merchant_id: &str, id: &str) -> StoreResult<Option<Visit>> {
    let sql =
        format!("SELECT {VISIT_COLS} FROM {VISIT_FROM} WHERE v.merchant_id = ?1 AND v.id = ?2");
    Ok(c.prepare_cached(&sql)?
        .query_row(params![merchant_id, id], raw)
        .optional()?
        .map(RawVisit::visit))
}

impl VisitStore for SqliteStore {
    fn check_in(
        &self,
        merchant_id: &MerchantId,
        visit: &NewVisit,
        only_own: bool,
    ) -> StoreResult<Visit> {
        let mid = merchant_id.as_str();
        self.write(|tx| {
            let account: Option<Option<String>> = tx
                .query_row(
                    "SELECT rep_id FROM accounts WHERE merchant_id = ?1 AND id = ?2",
                    params![mid, visit.account_id.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            check_account(account, &visit.rep_id, only_own)?;
            if let Some(stored) = load(tx, mid, &visit.id)? {
                same_check_in(&stored, visit)?;
                return Ok(stored);
            }
            let loc = visit.location;
            tx.execute(
                "INSERT INTO visits (merchant_id, id, account_id, rep_id, checked_in_at, lat, lng, accuracy_m, note, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    mid,
                    visit.id,
                    visit.account_id.as_str(),
                    visit.rep_id.as_str(),
                    ts(visit.at),
                    loc.map(|l| l.lat),
                    loc.map(|l| l.lng),
                    loc.and_then(|l| l.accuracy_m),
                    visit.note,
                    ts(Utc::now()),
                ],
            )?;
            load(tx, mid, &visit.id)?.ok_or_else(|| corrupt("visit vanished"))
        })
    }

    fn check_out(
        &self,
        merchant_id: &MerchantId,
        rep_id: &RepId,
        visit_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Visit> {
        let mid = merchant_id.as_str();
        let at = ts(at);
        self.write(|tx| {
            let stored = load(tx, mid, visit_id)?;
            if check_out_rule(stored.as_ref(), rep_id, &at)? {
                tx.execute(
                    "UPDATE visits SET checked_out_at = ?3 WHERE merchant_id = ?1 AND id = ?2",
                    params![mid, visit_id, at],
                )?;
            }
            load(tx, mid, visit_id)?.ok_or_else(|| corrupt("visit vanished"))
        })
    }

    fn visits(
        &self,
        merchant_id: &MerchantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rep: Option<&RepId>,
    ) -> StoreResult<Vec<Visit>> {
        let sql = format!(
            "SELECT {VISIT_COLS} FROM {VISIT_FROM}
             WHERE v.merchant_id = ?1 AND v.checked_in_at >= ?2 AND v.checked_in_at < ?3
               AND (?4 IS NULL OR v.rep_id = ?4)
             ORDER BY v.checked_in_at, v.id"
        );
        self.read(|c| {
            let rows = c
                .prepare_cached(&sql)?
                .query_map(
                    params![
                        merchant_id.as_str(),
                        ts(from),
                        ts(to),
                        rep.map(RepId::as_str)
                    ],
                    raw,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows.into_iter().map(RawVisit::visit).collect())
        })
    }
}
