//! [`SyncStore`] on SQLite: pull pages from the change log; saved mutation answers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fieldpay_protocol::records::{AccountPrice, LedgerEntry, LedgerKind};
use fieldpay_protocol::sync::{Change, ChangeData, MutationOutcome, SyncPage};
use fieldpay_protocol::{MerchantId, RepId};
use rusqlite::{params, Connection, OptionalExtension};

use super::charges::load_charge;
use super::collections::load_collection;
use super::orders::load_order;
use super::records::{account_from_row_at, product_from_row_at, ACCOUNT_COLS, PRODUCT_COLS};
use super::{corrupt, SqliteStore, ACCOUNT_MOVED};
use crate::clock::ts;
use crate::store::sync::MAX_PULL_PAGE;
use crate::store::{StoreResult, SyncStore};

impl SyncStore for SqliteStore {
    fn pull(
        &self,
        merchant_id: &MerchantId,
        cursor: i64,
        limit: u32,
        rep: Option<&RepId>,
    ) -> StoreResult<SyncPage> {
        let merchant_id = merchant_id.as_str();
        let rep = rep.map(RepId::as_str);
        let limit = limit.clamp(1, MAX_PULL_PAGE);
        self.read(|c| {
            // One read transaction: the page is a consistent snapshot.
            c.execute_batch("BEGIN")?;
            let result = pull_page(c, merchant_id, cursor, limit, rep);
            c.execute_batch("COMMIT")?;
            result
        })
    }

    fn mutation_results(
        &self,
        merchant_id: &MerchantId,
        client_ids: &[String],
    ) -> StoreResult<HashMap<String, MutationOutcome>> {
        let merchant_id = merchant_id.as_str();
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT result FROM mutations WHERE merchant_id = ?1 AND client_id = ?2",
            )?;
            let mut found = HashMap::new();
            for id in client_ids {
                let json: Option<String> = stmt
                    .query_row(params![merchant_id, id], |r| r.get(0))
                    .optional()?;
                if let Some(j) = json {
                    let o = serde_json::from_str(&j)
                        .map_err(|e| corrupt(&format!("mutation result: {e}")))?;
                    found.insert(id.clone(), o);
                }
            }
            Ok(found)
        })
    }

    fn save_mutation_results(
        &self,
        merchant_id: &MerchantId,
        rep_id: &RepId,
        results: &[(String, MutationOutcome)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MutationOutcome>> {
        let merchant_id = merchant_id.as_str();
        let rep_id = rep_id.as_str();
        let jsons = results
            .iter()
            .map(|(_, o)| serde_json::to_string(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt(&e.to_string()))?;
        let now = ts(now);
        self.write(|tx| {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO mutations (merchant_id, client_id, rep_id, result, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut kept = tx.prepare_cached(
                "SELECT result FROM mutations WHERE merchant_id = ?1 AND client_id = ?2",
            )?;
            let mut out = Vec::with_capacity(results.len());
            for ((client_id, outcome), json) in results.iter().zip(&jsons) {
                if insert.execute(params![merchant_id, client_id, rep_id, json, now])? > 0 {
                    out.push(outcome.clone());
                } else {
                    // Saved before (a concurrent retry): answer what was kept.
                    let first: String =
                        kept.query_row(params![merchant_id, client_id], |r| r.get(0))?;
                    out.push(
                        serde_json::from_str(&first)
                            .map_err(|e| corrupt(&format!("mutation result: {e}")))?,
                    );
                }
            }
            Ok(out)
        })
    }
}

/// One pull page: the change rows after `cursor`, then the records of the page's accounts,
/// products and ledger entries each read with one join over the page's `seq` range (the bulk
/// of a first sync), and the few other entities one by one. Records deleted since their change
/// was logged are left out.
///
/// A plain rep's device (`rep`) reads only the rows for it (audience `*` or the rep, see
/// migration 0019) through the audience index, so its pull costs what its own records cost,
/// not the merchant's whole log; an `account_moved` row sends it the account as it stands now
/// (its `rep_id` names the new rep: the device drops it).
fn pull_page(
    c: &Connection,
    merchant_id: &str,
    cursor: i64,
    limit: u32,
    rep: Option<&str>,
) -> StoreResult<SyncPage> {
    let mut rows = match rep {
        None => c
            .prepare_cached(
                "SELECT seq, entity, entity_id FROM changes WHERE merchant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?
            .query_map(params![merchant_id, cursor, limit + 1], change_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        // Each audience's rows in order, merged: a page reads at most `limit + 1` of each.
        Some(rep) => c
            .prepare_cached(
                "SELECT seq, entity, entity_id FROM (
                   SELECT * FROM (SELECT seq, entity, entity_id FROM changes
                     WHERE merchant_id = ?1 AND audience = '*' AND seq > ?2 ORDER BY seq LIMIT ?3)
                   UNION ALL
                   SELECT * FROM (SELECT seq, entity, entity_id FROM changes
                     WHERE merchant_id = ?1 AND audience = ?4 AND seq > ?2 ORDER BY seq LIMIT ?3))
                 ORDER BY seq LIMIT ?3",
            )?
            .query_map(params![merchant_id, cursor, limit + 1, rep], change_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
    };
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let Some(last) = rows.last().map(|r| r.0) else {
        return Ok(SyncPage {
            changes: Vec::new(),
            cursor,
            has_more,
        });
    };
    // The page's rows of one kind joined to their records: for a rep, through the audience
    // index (its rows may be spread thinly over the whole log).
    let joined = |entity: &str, join: &str, cols: &str| match rep {
        None => format!(
            "SELECT c.seq, {cols} FROM changes c {join}
             WHERE c.merchant_id = ?1 AND c.seq > ?2 AND c.seq <= ?3 AND c.entity = '{entity}'"
        ),
        Some(_) => format!(
            "SELECT c.seq, {cols} FROM changes c INDEXED BY changes_audience {join}
             WHERE c.merchant_id = ?1 AND c.audience IN ('*', ?4) AND c.seq > ?2 AND c.seq <= ?3
               AND c.entity = '{entity}'"
        ),
    };
    let rep_arg = rep.unwrap_or_default();
    let range: Vec<&dyn rusqlite::ToSql> = match rep {
        None => vec![&merchant_id, &cursor, &last],
        Some(_) => vec![&merchant_id, &cursor, &last, &rep_arg],
    };
    let mut changes: Vec<Change> = Vec::with_capacity(rows.len());
    let count = |entity: &str| rows.iter().filter(|(_, e, _)| e == entity).count();
    if count("account") > 0 {
        let mut st = c.prepare_cached(&joined(
            "account",
            "JOIN accounts a ON a.id = c.entity_id AND a.merchant_id = c.merchant_id",
            &prefixed("a", ACCOUNT_COLS),
        ))?;
        let found = st.query_map(range.as_slice(), |r| {
            Ok(Change {
                seq: r.get(0)?,
                data: ChangeData::Account(account_from_row_at(r, 1)?),
            })
        })?;
        for ch in found {
            changes.push(ch?);
        }
    }
    if count("product") > 0 {
        let mut st = c.prepare_cached(&joined(
            "product",
            "JOIN products p ON p.id = c.entity_id AND p.merchant_id = c.merchant_id",
            &prefixed("p", PRODUCT_COLS),
        ))?;
        let found = st.query_map(range.as_slice(), |r| {
            Ok(Change {
                seq: r.get(0)?,
                data: ChangeData::Product(product_from_row_at(r, 1)?),
            })
        })?;
        for ch in found {
            changes.push(ch?);
        }
    }
    if count("ledger") > 0 {
        let mut st = c.prepare_cached(&joined(
            "ledger",
            "JOIN ledger l ON l.id = c.entity_id AND l.merchant_id = c.merchant_id",
            "l.id, l.account_id, l.kind, l.amount, l.ref_id, l.memo, l.at",
        ))?;
        let mut found = st.query(range.as_slice())?;
        while let Some(r) = found.next()? {
            let kind: String = r.get(3)?;
            changes.push(Change {
                seq: r.get(0)?,
                data: ChangeData::Ledger(LedgerEntry {
                    id: r.get(1)?,
                    account_id: r.get(2)?,
                    kind: LedgerKind::parse(&kind).ok_or_else(|| corrupt("ledger kind"))?,
                    amount: r.get(4)?,
                    ref_id: r.get(5)?,
                    memo: r.get(6)?,
                    at: r.get(7)?,
                }),
            });
        }
    }
    for (seq, entity, id) in rows {
        let data = match entity.as_str() {
            "account" | "product" | "ledger" => continue,
            "account_price" => {
                let (acc, prd) = id
                    .split_once(':')
                    .ok_or_else(|| corrupt("account_price id"))?;
                c.prepare_cached(
                    "SELECT unit_price FROM account_prices WHERE merchant_id = ?1 AND account_id = ?2 AND product_id = ?3",
                )?
                .query_row(params![merchant_id, acc, prd], |r| r.get(0))
                .optional()?
                .map(|unit_price| ChangeData::AccountPrice(AccountPrice { account_id: acc.into(), product_id: prd.into(), unit_price }))
            }
            ACCOUNT_MOVED => {
                let (acc, _) = id
                    .split_once(':')
                    .ok_or_else(|| corrupt("account_moved id"))?;
                c.prepare_cached(&format!(
                    "SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = ?1 AND id = ?2"
                ))?
                .query_row(params![merchant_id, acc], |r| account_from_row_at(r, 0))
                .optional()?
                .map(ChangeData::Account)
            }
            "order" => load_order(c, merchant_id, &id)?.map(ChangeData::Order),
            "charge" => load_charge(c, "merchant_id = ?1 AND id = ?2", &[&merchant_id, &id])?
                .map(|r| ChangeData::Charge(r.charge)),
            "collection" => load_collection(c, merchant_id, &id)?.map(ChangeData::Collection),
            other => return Err(corrupt(&format!("change entity {other}"))),
        };
        if let Some(data) = data {
            changes.push(Change { seq, data });
        }
    }
    changes.sort_unstable_by_key(|ch| ch.seq);
    Ok(SyncPage {
        changes,
        cursor: last,
        has_more,
    })
}

fn change_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn prefixed(alias: &str, cols: &str) -> String {
    cols.split(", ")
        .map(|col| format!("{alias}.{col}"))
        .collect::<Vec<_>>()
        .join(", ")
}
