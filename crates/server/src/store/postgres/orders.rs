//! [`OrderStore`] on PostgreSQL: drafts priced from the catalogue, signatures, registration
//! with the credit check, the order number (per merchant and KST day) and the ledger entry.
//! The rules themselves are the shared ones of [`crate::store::orders`].

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use fieldpay_protocol::records::{Order, OrderKind, OrderLine, SignatureEvidence};
use fieldpay_protocol::returns::Returnable;
use fieldpay_protocol::{ErrorCode, MerchantId, OrderId, RepId};

use super::records::{
    account_exists, insert_ledger, load_account, product_from_row_at, sum_balance, PRODUCT_COLS,
};
use super::{changed, corrupt, rejected, PgStore, Row, Tx};
use crate::clock::ts;
pub(super) use crate::store::orders::ORDER_COLS;
use crate::store::orders::{self, RawOrder, Registration};
use crate::store::{MerchantStore, OrderDraft, OrderStore, StoreError, StoreResult};

/// An order from the columns [`ORDER_COLS`] starting at column `i`.
pub(super) fn order_from_row_at(r: &Row, i: usize) -> StoreResult<Order> {
    RawOrder {
        id: r.try_get(i)?,
        number: r.try_get(i + 1)?,
        account_id: r.try_get(i + 2)?,
        rep_id: r.try_get(i + 3)?,
        status: r.try_get(i + 4)?,
        lines: r.try_get(i + 5)?,
        supply: r.try_get(i + 6)?,
        vat: r.try_get(i + 7)?,
        total: r.try_get(i + 8)?,
        memo: r.try_get(i + 9)?,
        signature: r.try_get(i + 10)?,
        has_signature_image: r.try_get(i + 11)?,
        has_pdf: r.try_get(i + 12)?,
        reject_reason: r.try_get(i + 13)?,
        created_at: r.try_get(i + 14)?,
        updated_at: r.try_get(i + 15)?,
        kind: r.try_get(i + 16)?,
        original_order_id: r.try_get(i + 17)?,
    }
    .order()
}

/// One order of a merchant, if it exists.
pub(super) fn load_order(tx: &Tx<'_>, merchant_id: &str, id: &str) -> StoreResult<Option<Order>> {
    tx.query_opt(
        &format!("SELECT {ORDER_COLS} FROM orders WHERE merchant_id = $1 AND id = $2"),
        &[&merchant_id, &id],
    )?
    .map(|r| order_from_row_at(&r, 0))
    .transpose()
}

/// The merchant's next value of counter `name`.
fn next_counter(tx: &Tx<'_>, merchant_id: &str, name: &str) -> StoreResult<i64> {
    Ok(tx
        .query_one(
            "INSERT INTO counters (merchant_id, name, value) VALUES ($1, $2, 1)
             ON CONFLICT (merchant_id, name) DO UPDATE SET value = counters.value + 1
             RETURNING value",
            &[&merchant_id, &name],
        )?
        .try_get(0)?)
}

/// What a return of `original_id` (for `account_id`) may still bring back, from this
/// database (see [`orders::return_basis`]); the registered returns but `except` count.
fn return_basis(
    tx: &Tx<'_>,
    merchant_id: &str,
    kind: OrderKind,
    account_id: &str,
    original_id: Option<&str>,
    except: &str,
) -> StoreResult<Option<HashMap<String, Returnable>>> {
    let Some(original_id) = original_id else {
        return Ok(None);
    };
    let original = load_order(tx, merchant_id, original_id)?.ok_or_else(orders::no_original)?;
    let earlier = tx
        .query(
            &format!(
                "SELECT {ORDER_COLS} FROM orders WHERE merchant_id = $1 AND original_order_id = $2
                 AND status = 'registered' AND id <> $3"
            ),
            &[&merchant_id, &original_id, &except],
        )?
        .iter()
        .map(|r| order_from_row_at(r, 0))
        .collect::<StoreResult<Vec<_>>>()?;
    orders::return_basis(kind, account_id, Some(&original), &earlier)
}

/// Prices the draft's lines (see [`orders::price_lines`]) from this database.
fn price_lines(
    tx: &Tx<'_>,
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
            tx.query_opt(
                &format!("SELECT {PRODUCT_COLS} FROM products WHERE merchant_id = $1 AND id = $2"),
                &[&merchant_id, &product_id],
            )?
            .map(|r| product_from_row_at(&r, 0))
            .transpose()
        },
        |product_id| {
            tx.query_opt(
                "SELECT unit_price FROM account_prices
                 WHERE merchant_id = $1 AND account_id = $2 AND product_id = $3",
                &[&merchant_id, &draft.account_id.as_str(), &product_id],
            )?
            .map(|r| Ok(r.try_get(0)?))
            .transpose()
        },
    )
}

impl OrderStore for PgStore {
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
        let order_id = draft.order_id.as_str();
        let now = ts(now);
        self.write(|tx| {
            if !account_exists(tx, merchant_id, draft.account_id.as_str())? {
                return Err(rejected(ErrorCode::NotFound, "account not found"));
            }
            // Any merchant's: an order id names one order.
            let existing = tx
                .query_opt(
                    "SELECT merchant_id, status FROM orders WHERE id = $1",
                    &[&order_id],
                )?
                .map(|r| Ok::<_, StoreError>((r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?)))
                .transpose()?;
            orders::check_draft_replaceable(
                merchant_id,
                existing.as_ref().map(|(m, s)| (m.as_str(), s.as_str())),
            )?;
            let lines = price_lines(tx, merchant_id, manual_pct, draft)?;
            let totals = orders::order_totals(&lines)?;
            let lines_json = serde_json::to_string(&lines).map_err(|e| corrupt(&e.to_string()))?;
            tx.execute(
                "INSERT INTO orders (id, merchant_id, account_id, rep_id, status, lines, supply, vat, total, memo, created_at, updated_at, kind, original_order_id)
                 VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $9, $10, $10, $11, $12)
                 ON CONFLICT (merchant_id, id) DO UPDATE SET account_id = EXCLUDED.account_id, status = 'draft',
                    kind = EXCLUDED.kind, original_order_id = EXCLUDED.original_order_id,
                    lines = EXCLUDED.lines, supply = EXCLUDED.supply, vat = EXCLUDED.vat, total = EXCLUDED.total,
                    memo = EXCLUDED.memo, signature = NULL, signature_png = NULL, pdf = NULL,
                    evidence_hash = NULL, reject_reason = NULL, number = NULL, updated_at = EXCLUDED.updated_at",
                &[
                    &order_id,
                    &merchant_id,
                    &draft.account_id.as_str(),
                    &rep_id,
                    &lines_json,
                    &totals.supply,
                    &totals.vat,
                    &totals.total,
                    &draft.memo,
                    &now,
                    &draft.kind.as_str(),
                    &draft.original_order_id.as_ref().map(OrderId::as_str),
                ],
            )?;
            changed(tx, merchant_id, "order", order_id)?;
            load_order(tx, merchant_id, order_id)?.ok_or_else(|| corrupt("order vanished"))
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
        let ev = serde_json::to_string(evidence).map_err(|e| corrupt(&e.to_string()))?;
        self.write(|tx| {
            let order = load_order(tx, merchant_id, order_id)?
                .ok_or_else(|| rejected(ErrorCode::NotFound, "order not found"))?;
            orders::check_signature(merchant_id, &order, evidence, number)?;
            if let Some(number) = number {
                let series: Option<String> = match &order.rep_id {
                    Some(rep) => tx
                        .query_opt(
                            "SELECT series FROM reps WHERE merchant_id = $1 AND id = $2",
                            &[&merchant_id, rep],
                        )?
                        .map(|r| r.try_get(0))
                        .transpose()?,
                    None => None,
                };
                orders::check_signed_number(number, order.kind, series.as_deref(), evidence)?;
                let taken = tx.query_opt(
                    "SELECT id FROM orders WHERE merchant_id = $1 AND number = $2 AND id <> $3",
                    &[&merchant_id, &number, &order_id],
                )?;
                if taken.is_some() {
                    return Err(orders::number_taken(number));
                }
            }
            tx.execute(
                "UPDATE orders SET status = 'signed', signature = $3, signature_png = $4, pdf = $5,
                    evidence_hash = $6, reject_reason = NULL, updated_at = $7, number = $8
                 WHERE merchant_id = $1 AND id = $2",
                &[
                    &merchant_id,
                    &order_id,
                    &ev,
                    &png,
                    &pdf,
                    &evidence.content_hash,
                    &now,
                    &number,
                ],
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
        let merchant = self
            .merchant(merchant_id)?
            .ok_or_else(|| rejected(ErrorCode::NotFound, "merchant not found"))?;
        let merchant_id = merchant_id.as_str();
        let order_id = order_id.as_str();
        let now = ts(now_t);
        // The rejection is stored (so the device sees it after a pull) and also returned.
        self.write(|tx| {
            let order = load_order(tx, merchant_id, order_id)?
                .ok_or_else(|| rejected(ErrorCode::NotFound, "order not found"))?;
            if !orders::check_submittable(&order)? {
                return Ok(Ok(order));
            }
            let account = load_account(tx, merchant_id, &order.account_id)?
                .ok_or_else(|| rejected(ErrorCode::NotFound, "account not found"))?;
            let balance = sum_balance(tx, merchant_id, &account.id)?;
            let policy = merchant.settings.credit_policy;
            let refuse = |code: ErrorCode, msg: String| -> StoreResult<Result<Order, StoreError>> {
                tx.execute(
                    "UPDATE orders SET status = 'rejected', reject_reason = $3, updated_at = $4
                     WHERE merchant_id = $1 AND id = $2",
                    &[&merchant_id, &order_id, &msg, &now],
                )?;
                changed(tx, merchant_id, "order", order_id)?;
                Ok(Err(StoreError::rejected(code, msg)))
            };
            let warning = match orders::registration(&order, &account, balance, policy) {
                Registration::Refuse(code, msg) => return refuse(code, msg),
                Registration::Register { warning } => warning,
            };
            let basis = return_basis(
                tx,
                merchant_id,
                order.kind,
                &order.account_id,
                order.original_order_id.as_deref(),
                order_id,
            );
            let basis = match basis {
                Err(StoreError::Rejected { code, message }) => return refuse(code, message),
                other => other?,
            };
            if let Some((code, msg)) = basis
                .as_ref()
                .and_then(|b| orders::recheck_return(&order, b))
            {
                return refuse(code, msg);
            }
            // The number signed on the device, or (an order signed without one) the next of
            // the day's server series.
            let number = match order.number.clone() {
                Some(n) => n,
                None => {
                    let day = orders::order_day(now_t);
                    let word = orders::order_counter(order.kind);
                    let n = next_counter(tx, merchant_id, &format!("{word}:{day}"))?;
                    orders::order_number(order.kind, &day, n)
                }
            };
            tx.execute(
                "UPDATE orders SET status = 'registered', number = $3, reject_reason = NULL, updated_at = $4
                 WHERE merchant_id = $1 AND id = $2",
                &[&merchant_id, &order_id, &number, &now],
            )?;
            let entry = orders::order_ledger(&order, &number, warning.as_deref(), now_t);
            insert_ledger(tx, merchant_id, &entry)?;
            changed(tx, merchant_id, "order", order_id)?;
            Ok(Ok(load_order(tx, merchant_id, order_id)?
                .ok_or_else(|| corrupt("order vanished"))?))
        })?
    }

    fn order(&self, merchant_id: &MerchantId, order_id: &OrderId) -> StoreResult<Option<Order>> {
        let merchant_id = merchant_id.as_str();
        let order_id = order_id.as_str();
        self.read(|tx| load_order(tx, merchant_id, order_id))
    }

    fn order_pdf(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
    ) -> StoreResult<Option<Vec<u8>>> {
        let merchant_id = merchant_id.as_str();
        let order_id = order_id.as_str();
        self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT pdf FROM orders WHERE merchant_id = $1 AND id = $2",
                    &[&merchant_id, &order_id],
                )?
                .map(|r| r.try_get::<_, Option<Vec<u8>>>(0))
                .transpose()?
                .flatten())
        })
    }
}
