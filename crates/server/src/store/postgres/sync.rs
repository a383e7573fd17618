//! [`SyncStore`] on PostgreSQL: pull pages from the change log; saved mutation answers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fieldpay_protocol::records::{AccountPrice, LedgerEntry, LedgerKind};
use fieldpay_protocol::sync::{Change, ChangeData, MutationOutcome, SyncPage};
use fieldpay_protocol::{MerchantId, RepId};

use super::charges::{build_charges, charge_columns, CHARGE_COLS};
use super::collections::collection_from_row_at;
use super::orders::{order_from_row_at, ORDER_COLS};
use super::records::{account_from_row_at, product_from_row_at, ACCOUNT_COLS, PRODUCT_COLS};
use super::{corrupt, name_at, PgStore, Tx, ACCOUNT_MOVED};
use crate::clock::ts;
use crate::store::collections::COLLECTION_COLS;
use crate::store::sync::MAX_PULL_PAGE;
use crate::store::{StoreResult, SyncStore};

fn parse_outcome(json: &str) -> StoreResult<MutationOutcome> {
    serde_json::from_str(json).map_err(|e| corrupt(&format!("mutation result: {e}")))
}

impl SyncStore for PgStore {
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
        // One read-only REPEATABLE READ transaction: the page is a consistent snapshot.
        self.read(|tx| pull_page(tx, merchant_id, cursor, limit, rep))
    }

    fn mutation_results(
        &self,
        merchant_id: &MerchantId,
        client_ids: &[String],
    ) -> StoreResult<HashMap<String, MutationOutcome>> {
        let merchant_id = merchant_id.as_str();
        self.read(|tx| {
            let mut found = HashMap::new();
            for r in tx.query(
                "SELECT client_id, result FROM mutations WHERE merchant_id = $1 AND client_id = ANY($2)",
                &[&merchant_id, &client_ids],
            )? {
                let json: String = r.try_get(1)?;
                found.insert(r.try_get(0)?, parse_outcome(&json)?);
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
            let mut out = Vec::with_capacity(results.len());
            for ((client_id, outcome), json) in results.iter().zip(&jsons) {
                let inserted = tx.execute(
                    "INSERT INTO mutations (merchant_id, client_id, rep_id, result, created_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    &[&merchant_id, client_id, &rep_id, json, &now],
                )?;
                if inserted > 0 {
                    out.push(outcome.clone());
                } else {
                    // Saved before (a concurrent retry): answer what was kept.
                    let first: String = tx
                        .query_one(
                            "SELECT result FROM mutations WHERE merchant_id = $1 AND client_id = $2",
                            &[&merchant_id, client_id],
                        )?
                        .try_get(0)?;
                    out.push(parse_outcome(&first)?);
                }
            }
            Ok(out)
        })
    }
}

/// The kinds of record the change log names.
const ENTITIES: &[&str] = &[
    "account",
    "product",
    "ledger",
    "account_price",
    "order",
    "charge",
    "collection",
    ACCOUNT_MOVED,
];

/// One pull page: the change rows after `cursor`, then the records of the page read with one
/// join over the page's `seq` range per kind of record present (a 20 000-change page of a
/// first sync is a handful of statements), the charges' events and payments with one
/// statement each. Records deleted since their change was logged are left out.
///
/// A plain rep's device (`rep`) reads only the rows for it (audience `*` or the rep, see
/// migration 0011) through the audience index, so its pull costs what its own records cost,
/// not the merchant's whole log; an `account_moved` row sends it the account as it stands now
/// (its `rep_id` names the new rep: the device drops it).
fn pull_page(
    tx: &Tx<'_>,
    merchant_id: &str,
    cursor: i64,
    limit: u32,
    rep: Option<&str>,
) -> StoreResult<SyncPage> {
    // A page joins at most `limit` change rows to their records: looked up one by one through
    // the records' keys, that costs what the page holds. The planner's own choice is a hash
    // join over a scan of the whole table with parallel workers, for each page: for a
    // 20,000-entry page of a million-entry ledger 130-180 ms on three processes against
    // 100 ms on one (BENCHMARKS.md, round two part 11), and the workers take the cores the
    // device and the server need.
    tx.batch_execute(
        "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;
         SET LOCAL max_parallel_workers_per_gather = 0",
    )?;
    let n = i64::from(limit) + 1;
    let rows = match rep {
        None => tx.query(
            "SELECT seq, entity FROM changes WHERE merchant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&merchant_id, &cursor, &n],
        )?,
        // Each audience's rows in order, merged: a page reads at most `limit + 1` of each.
        Some(rep) => tx.query(
            "(SELECT seq, entity FROM changes WHERE merchant_id = $1 AND audience = '*' AND seq > $2
              ORDER BY seq LIMIT $3)
             UNION ALL
             (SELECT seq, entity FROM changes WHERE merchant_id = $1 AND audience = $4 AND seq > $2
              ORDER BY seq LIMIT $3)
             ORDER BY seq LIMIT $3",
            &[&merchant_id, &cursor, &n, &rep],
        )?,
    };
    let has_more = rows.len() > limit as usize;
    let rows = &rows[..rows.len().min(limit as usize)];
    let Some(last) = rows.last().map(|r| r.try_get::<_, i64>(0)).transpose()? else {
        return Ok(SyncPage {
            changes: Vec::new(),
            cursor,
            has_more,
        });
    };
    let mut present: HashMap<String, usize> = HashMap::new();
    for r in rows {
        *present.entry(r.try_get(1)?).or_default() += 1;
    }
    if let Some(other) = present.keys().find(|e| !ENTITIES.contains(&e.as_str())) {
        return Err(corrupt(&format!("change entity {other}")));
    }
    let has = |entity: &str| present.contains_key(entity);
    let mut changes: Vec<Change> = Vec::with_capacity(rows.len());
    // The change rows of one kind in the page, joined to their records.
    // For a rep, only the rows for it.
    let audience = if rep.is_some() {
        " AND c.audience IN ('*', $4)"
    } else {
        ""
    };
    let page = |entity: &str, table: &str, join: &str, cols: &str, extra: &str| {
        format!(
            "SELECT c.seq, {} FROM changes c JOIN {table} x ON x.merchant_id = c.merchant_id AND {join}
             WHERE c.merchant_id = $1 AND c.seq > $2 AND c.seq <= $3 AND c.entity = '{entity}'{audience}{extra}",
            prefixed("x", cols)
        )
    };
    let rep_arg = rep.unwrap_or_default();
    let range: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = match rep {
        None => vec![&merchant_id, &cursor, &last],
        Some(_) => vec![&merchant_id, &cursor, &last, &rep_arg],
    };
    let range = range.as_slice();
    if has("account") {
        for r in tx.query(
            &page(
                "account",
                "accounts",
                "x.id = c.entity_id",
                ACCOUNT_COLS,
                "",
            ),
            range,
        )? {
            changes.push(Change {
                seq: r.try_get(0)?,
                data: ChangeData::Account(account_from_row_at(&r, 1)?),
            });
        }
    }
    if has(ACCOUNT_MOVED) {
        for r in tx.query(
            &page(
                ACCOUNT_MOVED,
                "accounts",
                "x.id = split_part(c.entity_id, ':', 1)",
                ACCOUNT_COLS,
                "",
            ),
            range,
        )? {
            changes.push(Change {
                seq: r.try_get(0)?,
                data: ChangeData::Account(account_from_row_at(&r, 1)?),
            });
        }
    }
    if has("product") {
        for r in tx.query(
            &page(
                "product",
                "products",
                "x.id = c.entity_id",
                PRODUCT_COLS,
                "",
            ),
            range,
        )? {
            changes.push(Change {
                seq: r.try_get(0)?,
                data: ChangeData::Product(product_from_row_at(&r, 1)?),
            });
        }
    }
    if has("ledger") {
        let cols = "id, account_id, kind, amount, ref_id, memo, at";
        for r in tx.query(
            &page("ledger", "ledger", "x.id = c.entity_id", cols, ""),
            range,
        )? {
            changes.push(Change {
                seq: r.try_get(0)?,
                data: ChangeData::Ledger(LedgerEntry {
                    id: r.try_get(1)?,
                    account_id: r.try_get(2)?,
                    kind: name_at(&r, 3, LedgerKind::parse)?,
                    amount: r.try_get(4)?,
                    ref_id: r.try_get(5)?,
                    memo: r.try_get(6)?,
                    at: r.try_get(7)?,
                }),
            });
        }
    }
    if has("account_price") {
        // The entity id is `account_id:product_id`.
        let join = "x.account_id = split_part(c.entity_id, ':', 1)
                    AND x.product_id = substr(c.entity_id, strpos(c.entity_id, ':') + 1)
                    AND strpos(c.entity_id, ':') > 0";
        let malformed: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM changes WHERE merchant_id = $1 AND seq > $2 AND seq <= $3
                   AND entity = 'account_price' AND strpos(entity_id, ':') = 0)",
                &range[..3],
            )?
            .try_get(0)?;
        if malformed {
            return Err(corrupt("account_price id"));
        }
        let cols = "account_id, product_id, unit_price";
        for r in tx.query(
            &page("account_price", "account_prices", join, cols, ""),
            range,
        )? {
            changes.push(Change {
                seq: r.try_get(0)?,
                data: ChangeData::AccountPrice(AccountPrice {
                    account_id: r.try_get(1)?,
                    product_id: r.try_get(2)?,
                    unit_price: r.try_get(3)?,
                }),
            });
        }
    }
    if has("order") {
        for r in tx.query(
            &page("order", "orders", "x.id = c.entity_id", ORDER_COLS, ""),
            range,
        )? {
            changes.push(Change {
                seq: r.try_get(0)?,
                data: ChangeData::Order(order_from_row_at(&r, 1)?),
            });
        }
    }
    if has("charge") {
        let found = tx.query(
            &page("charge", "charges", "x.id = c.entity_id", CHARGE_COLS, ""),
            range,
        )?;
        let mut seqs = Vec::with_capacity(found.len());
        let mut cols = Vec::with_capacity(found.len());
        for r in &found {
            seqs.push(r.try_get::<_, i64>(0)?);
            cols.push(charge_columns(r, 1)?);
        }
        for (seq, rec) in seqs.into_iter().zip(build_charges(tx, cols)?) {
            changes.push(Change {
                seq,
                data: ChangeData::Charge(rec.charge),
            });
        }
    }
    if has("collection") {
        for r in tx.query(
            &page(
                "collection",
                "collections",
                "x.id = c.entity_id",
                COLLECTION_COLS,
                "",
            ),
            range,
        )? {
            changes.push(Change {
                seq: r.try_get(0)?,
                data: ChangeData::Collection(collection_from_row_at(&r, 1)?),
            });
        }
    }
    changes.sort_unstable_by_key(|ch| ch.seq);
    Ok(SyncPage {
        changes,
        cursor: last,
        has_more,
    })
}

/// `cols` ("a, b, ...") each prefixed with `alias.` (an expression column as a whole).
fn prefixed(alias: &str, cols: &str) -> String {
    cols.split(", ")
        .map(|col| format!("{alias}.{col}"))
        .collect::<Vec<_>>()
        .join(", ")
}
