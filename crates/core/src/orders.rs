//! Order maths: pricing (the account's price list, else the product price; a return of an
//! earlier order at that order's prices), line totals, 10% VAT rounded down to the won
//! (`vat = floor(supply / 10)`), the credit check against the account's limit, receivables
//! aging, and reorder.

use std::collections::HashMap;

use fieldpay_protocol::app::{Aging, CreditCheck, LineInput, SyncState};
use fieldpay_protocol::money::{format_krw, MAX_AMOUNT_KRW};
use fieldpay_protocol::records::{
    Account, CreditPolicy, LedgerEntry, Order, OrderKind, OrderLine, OrderStatus, OrderTotals,
};
use fieldpay_protocol::returns::{self, Returnable};
use fieldpay_protocol::ErrorCode;

use crate::db::Db;
use crate::error::{CoreError, CoreResult};

pub const MAX_QUANTITY: i64 = 100_000;
pub const MAX_LINES: usize = 500;

/// What a return of `original_id` for `account_id` may still bring back on this device: the
/// original must be a registered purchase order of the account; the returns of it that the
/// server has or will have (sent, not refused) count, `except` (the return being made) not.
pub fn return_basis(
    db: &Db,
    account_id: &str,
    original_id: &str,
    except: Option<&str>,
) -> CoreResult<HashMap<String, Returnable>> {
    let original = db
        .order(original_id)?
        .ok_or(CoreError::NotFound("original order"))?
        .order;
    returns::check_original(&original, account_id).map_err(CoreError::Server)?;
    let earlier: Vec<Order> = db
        .returns_of(original_id)?
        .into_iter()
        .filter(|r| Some(r.order.id.as_str()) != except)
        .filter(|r| r.sync_state != SyncState::Local)
        .filter(|r| {
            !matches!(
                r.order.status,
                OrderStatus::Rejected | OrderStatus::Canceled
            )
        })
        .map(|r| r.order)
        .collect();
    Ok(returns::returnable(&original, &earlier))
}

/// Prices the lines for an account. Unknown or discontinued products and bad quantities are
/// typed errors naming the line. A return (`kind`) may bring back products no longer sold;
/// one of an original order (`basis`, from [`return_basis`]) is priced at the original's
/// prices, within what is left of it. Reasons are checked at signing (a draft may lack them).
pub fn price_lines(
    db: &Db,
    account_id: &str,
    kind: OrderKind,
    basis: Option<&HashMap<String, Returnable>>,
    lines: &[LineInput],
) -> CoreResult<Vec<OrderLine>> {
    if lines.is_empty() {
        return Err(CoreError::invalid(
            ErrorCode::InvalidField,
            "주문 품목이 없습니다 (the order has no lines)",
        ));
    }
    if lines.len() > MAX_LINES {
        return Err(CoreError::invalid(
            ErrorCode::InvalidField,
            format!("at most {MAX_LINES} lines"),
        ));
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&l.quantity) {
            return Err(CoreError::invalid(
                ErrorCode::InvalidField,
                format!(
                    "{}번째 품목: 수량은 1~{MAX_QUANTITY} (line {}: quantity)",
                    i + 1,
                    i + 1
                ),
            ));
        }
        let p = db.product(&l.product_id)?.ok_or_else(|| {
            CoreError::invalid(
                ErrorCode::InvalidField,
                format!(
                    "{}번째 품목: 없는 상품 (line {}: unknown product)",
                    i + 1,
                    i + 1
                ),
            )
        })?;
        if !p.active && kind == OrderKind::Purchase {
            return Err(CoreError::invalid(
                ErrorCode::InvalidField,
                format!("{}: 판매 중지된 상품 (no longer sold)", p.name),
            ));
        }
        let unit_price = match basis {
            Some(basis) => {
                let already: i64 = lines[..i]
                    .iter()
                    .filter(|x| x.product_id == l.product_id)
                    .map(|x| x.quantity)
                    .sum();
                returns::return_line_price(basis, i, &p.id, &p.name, l.quantity, already)
                    .map_err(CoreError::Server)?
            }
            None => db.account_price(account_id, &p.id)?.unwrap_or(p.unit_price),
        };
        out.push(OrderLine {
            product_id: p.id,
            product_code: p.code,
            product_name: p.name,
            quantity: l.quantity,
            unit_price,
            line_total: l.quantity * unit_price,
            manual_price: false,
            return_reason: if kind.is_return() { l.reason } else { None },
        });
    }
    Ok(out)
}

pub fn totals(lines: &[OrderLine]) -> CoreResult<OrderTotals> {
    let supply: i64 = lines.iter().map(|l| l.line_total).sum();
    let t = OrderTotals::from_supply(supply);
    if t.total > MAX_AMOUNT_KRW {
        return Err(CoreError::invalid(
            ErrorCode::InvalidAmount,
            format!(
                "합계가 {}을 넘습니다 (order total too large)",
                format_krw(MAX_AMOUNT_KRW)
            ),
        ));
    }
    Ok(t)
}

/// Open receivables + this device's orders not yet registered + this order, against the limit.
pub fn credit_check(
    db: &Db,
    account: &Account,
    order_id: Option<&str>,
    order_total: i64,
    policy: CreditPolicy,
) -> CoreResult<CreditCheck> {
    let balance = db.balance(&account.id)?;
    let pending = db.pending_order_total(&account.id, order_id)?;
    let used = balance + pending + order_total;
    if used <= account.credit_limit {
        return Ok(CreditCheck::Ok {
            available: account.credit_limit - used,
        });
    }
    let over_by = used - account.credit_limit;
    let message = format!(
        "여신 한도 초과: 미수금 {} + 미전송 주문 {} + 이번 주문 {} = {} (한도 {}, {} 초과)",
        format_krw(balance),
        format_krw(pending),
        format_krw(order_total),
        format_krw(used),
        format_krw(account.credit_limit),
        format_krw(over_by)
    );
    Ok(match policy {
        CreditPolicy::Warn => CreditCheck::Warn { message, over_by },
        CreditPolicy::Block => CreditCheck::Block { message, over_by },
    })
}

/// Receivables by age (days since the debt arose), paying the oldest debt first.
pub fn aging(entries: &[LedgerEntry], today: chrono::NaiveDate) -> Aging {
    let mut debts: Vec<(chrono::NaiveDate, i64)> = Vec::new();
    let mut credit = 0i64;
    let mut sorted: Vec<&LedgerEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.at.cmp(&b.at));
    for e in sorted {
        let day = chrono::DateTime::parse_from_rfc3339(&e.at)
            .map(|d| d.date_naive())
            .unwrap_or(today);
        if e.amount > 0 {
            debts.push((day, e.amount));
        } else {
            credit += -e.amount;
        }
    }
    let mut a = Aging::default();
    for (day, mut amount) in debts {
        let paid = credit.min(amount);
        credit -= paid;
        amount -= paid;
        if amount == 0 {
            continue;
        }
        match (today - day).num_days() {
            d if d <= 30 => a.days_0_30 += amount,
            d if d <= 60 => a.days_31_60 += amount,
            d if d <= 90 => a.days_61_90 += amount,
            _ => a.days_over_90 += amount,
        }
    }
    a
}

/// The lines of a past order, for a new order of the same things (current prices apply; a
/// return's reasons are kept).
pub fn reorder_lines(past: &Order) -> Vec<LineInput> {
    past.lines
        .iter()
        .map(|l| LineInput {
            product_id: l.product_id.clone(),
            quantity: l.quantity,
            reason: l.return_reason,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldpay_protocol::records::LedgerKind;

    fn e(at: &str, amount: i64) -> LedgerEntry {
        LedgerEntry {
            id: at.into(),
            account_id: "a".into(),
            kind: if amount > 0 {
                LedgerKind::Order
            } else {
                LedgerKind::Payment
            },
            amount,
            ref_id: None,
            memo: String::new(),
            at: format!("{at}T00:00:00.000Z"),
        }
    }

    #[test]
    fn aging_pays_oldest_first() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let a = aging(
            &[
                e("2026-07-01", 100_000),
                e("2026-10-01", 50_000),
                e("2026-11-20", 30_000),
                e("2026-11-21", -120_000),
            ],
            today,
        );
        // 120,000 paid: the July debt (100,000) and 20,000 of October's.
        assert_eq!(
            a,
            Aging {
                days_0_30: 30_000,
                days_31_60: 30_000,
                days_61_90: 0,
                days_over_90: 0
            }
        );
    }

    #[test]
    fn vat_rounds_down() {
        let t = OrderTotals::from_supply(12_345);
        assert_eq!((t.supply, t.vat, t.total), (12_345, 1_234, 13_579));
    }
}
