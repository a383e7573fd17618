//! [`OrderStore`] on SQLite: drafts priced from the catalogue, signatures, registration with
//! the credit check, the order number and the ledger entry.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use fieldpay_protocol::records::{Order, OrderKind, OrderLine, SignatureEvidence};
use fieldpay_protocol::returns::Returnable;
use fieldpay_protocol::{ErrorCode, MerchantId, OrderId, RepId};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::records::{
    account_exists, account_from_row, insert_ledger, product_from_row, sum_balance, ACCOUNT_COLS,
    PRODUCT_COLS,
};
use super::{changed, corrupt, rejected, SqliteStore};
use crate::clock::ts;
use crate::store::orders::{self, RawOrder, Registration, ORDER_COLS};
use crate::store::{MerchantStore, OrderDraft, OrderStore, StoreError, StoreResult};

pub(super) fn load_order(
    c: &Connection,
    merchant_id: &str,
    id: &str,
) -> StoreResult<Option<Order>> {
    c.query_row(
        &format!("SELECT {ORDER_COLS} FROM orders WHERE merchant_id = ?1 AND id = ?2"),
        params![merchant_id, id],
        |r| {
            Ok(RawOrder {
                id: r.get(0)?,
                number: r.get(1)?,
                account_id: r.get(2)?,
                rep_id: r.get(3)?,
                status: r.get(4)?,
                lines: r.get(5)?,
                supply: r.get(6)?,
                vat: r.get(7)?,
                total: r.get(8)?,
                memo: r.get(9)?,
                signature: r.get(10)?,
                has_signature_image: r.get(11)?,
                has_pdf: r.get(12)?,
                reject_reason: r.get(13)?,
                created_at: r.get(14)?,
                updated_at: r.get(15)?,
                kind: r.get(16)?,
                original_order_id: r.get(17)?,
            })
        },
    )
    .optional()?
    .map(RawOrder::order)
    .transpose()
}

fn next_counter(tx: &Transaction<'_>, name: &str) -> StoreResult<i64> {
    tx.execute(
        "INSERT INTO counters (name, value) VALUES (?1, 1)
         ON CONFLICT (name) DO UPDATE SET value = value + 1",
        [name],
    )?;
    Ok(
        tx.query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
            r.get(0)
        })?,
    )
}

/// What a return of `original_id` (for `account_id`) may still bring back, from this
/// database (see [`orders::return_basis`]); the registered returns but `except` count.
fn return_basis(
    c: &Connection,
    merchant_id: &str,
    kind: OrderKind,
    account_id: &str,
    original_id: Option<&str>,
    except: &str,
) -> StoreResult<Option<HashMap<String, Returnable>>> {
    let Some(original_id) = original_id else {
        return Ok(None);
    };
    let original = load_order(c, merchant_id, original_id)?.ok_or_else(orders::no_original)?;
    let ids: Vec<String> = c
        .prepare(
            "SELECT id FROM orders WHERE merchant_id = ?1 AND original_order_id = ?2
             AND status = 'registered' AND id <> ?3",
        )?
        .query_map(params![merchant_id, original_id, except], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut earlier = Vec::with_capacity(ids.len());
    for id in ids {
        earlier.extend(load_order(c, merchant_id, &id)?);
    }
    orders::return_basis(kind, account_id, Some(&original), &earlier)
}

/// Prices the draft's lines (see [`orders::price_lines`]) from this database.
fn price_lines(
    tx: &Transaction<'_>,
    merchant_id: &str,
    manual_pct: Option<u8>,
    draft: &OrderDraft,
) -> StoreResult<Vec<OrderLine>> {
    let basis = return_basis(
        tx,
        merchant_id,
        draft.kind,
        draft.account_id.as_str(),
        draft.original_order_id.as_ref().map(OrderId::as_str),
        draft.order_id.as_str(),
    )?;
    orders::price_lines(
        manual_pct,
        draft,
        basis.as_ref(),
        |product_id| {
            Ok(tx
                .query_row(
                    &format!(
                        "SELECT {PRODUCT_COLS} FROM products WHERE merchant_id = ?1 AND id = ?2"
                    ),
                    params![merchant_id, product_id],
                    product_from_row,
                )
                .optional()?)
        },
        |product_id| {
            Ok(tx
                .query_row(
                    "SELECT unit_price FROM account_prices WHERE account_id = ?1 AND product_id = ?2",
                    params![draft.account_id.as_str(), product_id],
                    |r| r.get(0),
                )
                .optional()?)
        },
    )
}

impl OrderStore for SqliteStore {
    fn upsert_order(
        &self,
        merchant_id: &MerchantId,
        rep_id: Option<&RepId>,
        draft: &OrderDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Order> {
        let manual_pct = self
            .merchant(merchant_id)?
            .ok_or_else(|| rejected(ErrorCode::NotFound, "merchant not found"))?
            .settings
            .manual_price_max_discount_pct;
        let merchant_id = merchant_id.as_str();
        let rep_id = rep_id.map(RepId::as_str);
        let now = ts(now);
        self.write(|tx| {
            if !account_exists(tx, merchant_id, draft.account_id.as_str())? {
                return Err(rejected(ErrorCode::NotFound, "account not found"));
            }
            let existing: Option<(String, String)> = tx
                .query_row("SELECT merchant_id, status FROM orders WHERE id = ?1", [draft.order_id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            orders::check_draft_replaceable(
                merchant_id,
                existing.as_ref().map(|(m, s)| (m.as_str(), s.as_str())),
            )?;
            let lines = price_lines(tx, merchant_id, manual_pct, draft)?;
            let totals = orders::order_totals(&lines)?;
            let lines_json = serde_json::to_string(&lines).map_err(|e| corrupt(&e.to_string()))?;
            tx.execute(
                "INSERT INTO orders (id, merchant_id, account_id, rep_id, status, lines, supply, vat, total, memo, created_at, updated_at, kind, original_order_id)
                 VALUES (?1, ?2, ?3, ?4, 'draft', ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12)
                 ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, status = 'draft', lines = excluded.lines,
                    kind = excluded.kind, original_order_id = excluded.original_order_id,
                    supply = excluded.supply, vat = excluded.vat, total = excluded.total, memo = excluded.memo,
                    signature = NULL, signature_png = NULL, pdf = NULL, evidence_hash = NULL, reject_reason = NULL, number = NULL,
                    updated_at = excluded.updated_at",
                params![draft.order_id.as_str(), merchant_id, draft.account_id.as_str(), rep_id, lines_json, totals.supply, totals.vat, totals.total, draft.memo, now, draft.kind.as_str(), draft.original_order_id.as_ref().map(OrderId::as_str)],
            )?;
            changed(tx, merchant_id, "order", draft.order_id.as_str())?;
            load_order(tx, merchant_id, draft.order_id.as_str())?.ok_or_else(|| corrupt("order vanished"))
        })
    }

    fn sign_order(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
        evidence: &SignatureEvidence,
        number: Option<&str>,
        png: &[u8],
        pdf: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> StoreResult<Order> {
        let merchant_id = merchant_id.as_str();
        let order_id = order_id.as_str();
        let now = ts(now);
        self.write(|tx| {
            let order = load_order(tx, merchant_id, order_id)?.ok_or_else(|| rejected(ErrorCode::NotFound, "order not found"))?;
            orders::check_signature(merchant_id, &order, evidence, number)?;
            if let Some(number) = number {
                let series: Option<String> = match &order.rep_id {
                    Some(rep) => tx
                        .query_row("SELECT series FROM reps WHERE merchant_id = ?1 AND id = ?2", params![merchant_id, rep], |r| r.get(0))
                        .optional()?,
                    None => None,
                };
                orders::check_signed_number(number, order.kind, series.as_deref(), evidence)?;
                let taken: Option<String> = tx
                    .query_row("SELECT id FROM orders WHERE merchant_id = ?1 AND number = ?2 AND id <> ?3", params![merchant_id, number, order_id], |r| r.get(0))
                    .optional()?;
                if taken.is_some() {
                    return Err(orders::number_taken(number));
                }
            }
            let ev = serde_json::to_string(evidence).map_err(|e| corrupt(&e.to_string()))?;
            tx.execute(
                "UPDATE orders SET status = 'signed', signature = ?3, signature_png = ?4, pdf = ?5, evidence_hash = ?6,
                    reject_reason = NULL, updated_at = ?7, number = ?8 WHERE merchant_id = ?1 AND id = ?2",
                params![merchant_id, order_id, ev, png, pdf, evidence.content_hash, now, number],
            )?;
            changed(tx, merchant_id, "order", order_id)?;
            load_order(tx, merchant_id, order_id)?.ok_or_else(|| corrupt("order vanished"))
        })
    }

    fn submit_order(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
        now_t: DateTime<Utc>,
    ) -> StoreResult<Order> {
        let merchant_id = merchant_id.as_str();
        let order_id = order_id.as_str();
        let now = ts(now_t);
        let merchant = self
            .merchant(&MerchantId::new(merchant_id))?
            .ok_or_else(|| rejected(ErrorCode::NotFound, "merchant not found"))?;
        // The rejection is stored (so the device sees it after a pull) and also returned.
        let outcome = self.write(|tx| {
            let order = load_order(tx, merchant_id, order_id)?.ok_or_else(|| rejected(ErrorCode::NotFound, "order not found"))?;
            if !orders::check_submittable(&order)? {
                return Ok(Ok(order));
            }
            let account = tx
                .query_row(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = ?1 AND id = ?2"), params![merchant_id, order.account_id], account_from_row)
                .optional()?
                .ok_or_else(|| rejected(ErrorCode::NotFound, "account not found"))?;
            let refuse = |code: ErrorCode, msg: String| -> StoreResult<Result<Order, StoreError>> {
                tx.execute(
                    "UPDATE orders SET status = 'rejected', reject_reason = ?3, updated_at = ?4 WHERE merchant_id = ?1 AND id = ?2",
                    params![merchant_id, order_id, msg, now],
                )?;
                changed(tx, merchant_id, "order", order_id)?;
                Ok(Err(StoreError::rejected(code, msg)))
            };
            let balance = sum_balance(tx, &account.id)?;
            let warning = match orders::registration(&order, &account, balance, merchant.settings.credit_policy) {
                Registration::Refuse(code, msg) => return refuse(code, msg),
                Registration::Register { warning } => warning,
            };
            let basis = return_basis(tx, merchant_id, order.kind, &order.account_id, order.original_order_id.as_deref(), order_id);
            let basis = match basis {
                Err(StoreError::Rejected { code, message }) => return refuse(code, message),
                other => other?,
            };
            if let Some((code, msg)) = basis.as_ref().and_then(|b| orders::recheck_return(&order, b)) {
                return refuse(code, msg);
            }
            // The number signed on the device, or (an order signed without one) the next of
            // the day's server series.
            let number = match order.number.clone() {
                Some(n) => n,
                None => {
                    let day = orders::order_day(now_t);
                    let word = orders::order_counter(order.kind);
                    let n = next_counter(tx, &format!("{word}:{merchant_id}:{day}"))?;
                    orders::order_number(order.kind, &day, n)
                }
            };
            tx.execute(
                "UPDATE orders SET status = 'registered', number = ?3, reject_reason = NULL, updated_at = ?4 WHERE merchant_id = ?1 AND id = ?2",
                params![merchant_id, order_id, number, now],
            )?;
            insert_ledger(tx, merchant_id, &orders::order_ledger(&order, &number, warning.as_deref(), now_t))?;
            changed(tx, merchant_id, "order", order_id)?;
            Ok(Ok(load_order(tx, merchant_id, order_id)?.ok_or_else(|| corrupt("order vanished"))?))
        })?;
        outcome
    }

    fn order(&self, merchant_id: &MerchantId, order_id: &OrderId) -> StoreResult<Option<Order>> {
        let merchant_id = merchant_id.as_str();
        let order_id = order_id.as_str();
        self.read(|c| load_order(c, merchant_id, order_id))
    }

    fn order_pdf(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
    ) -> StoreResult<Option<Vec<u8>>> {
        let merchant_id = merchant_id.as_str();
        let order_id = order_id.as_str();
        self.read(|c| {
            Ok(c.query_row(
                "SELECT pdf FROM orders WHERE merchant_id = ?1 AND id = ?2",
                params![merchant_id, order_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
        })
    }
}
