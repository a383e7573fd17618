//! Returns (반품): the rules a return follows against the order it takes goods back from,
//! written once for the device that builds the return and the server that registers it.
//!
//! A return names its original order or not. When it does, the original must be a registered
//! purchase order of the same client; every returned product must be on it, at most the
//! quantity bought less what earlier returns of it already took back, and at the price the
//! client paid. Every line of a return says why the goods come back.

use std::collections::HashMap;

use crate::error::{ApiError, ErrorCode};
use crate::records::{Order, OrderKind, OrderStatus, ReturnReason};

fn refuse(code: ErrorCode, msg: String) -> ApiError {
    ApiError::new(code, msg)
}

/// Whether `original` may be returned against by a return for `account_id`.
pub fn check_original(original: &Order, account_id: &str) -> Result<(), ApiError> {
    if original.kind != OrderKind::Purchase {
        return Err(refuse(
            ErrorCode::InvalidField,
            "original_order_id: 반품은 발주서에 대해서만 할 수 있습니다 (not a purchase order)"
                .into(),
        ));
    }
    if original.account_id != account_id {
        return Err(refuse(
            ErrorCode::InvalidField,
            "original_order_id: 다른 거래처의 주문입니다 (an order of another client)".into(),
        ));
    }
    if original.status != OrderStatus::Registered {
        return Err(refuse(
            ErrorCode::InvalidState,
            format!(
                "original_order_id: 등록된 주문만 반품할 수 있습니다 (the order is {})",
                original.status.as_str()
            ),
        ));
    }
    Ok(())
}

/// What each product of an original order may still bring back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returnable {
    pub unit_price: i64,
    /// Bought on the original less what earlier returns took back (never below 0).
    pub left: i64,
}

/// The quantities of `original` that may still come back, by product id, given the `earlier`
/// returns of it that count (the caller picks them: registered ones on the server; on a
/// device also those waiting to be sent, never the return being checked).
pub fn returnable<'a>(
    original: &Order,
    earlier: impl IntoIterator<Item = &'a Order>,
) -> HashMap<String, Returnable> {
    let mut out: HashMap<String, Returnable> = HashMap::new();
    for l in &original.lines {
        let e = out.entry(l.product_id.clone()).or_insert(Returnable {
            unit_price: l.unit_price,
            left: 0,
        });
        e.left += l.quantity;
    }
    for r in earlier {
        if r.kind != OrderKind::Return || r.original_order_id.as_deref() != Some(&original.id) {
            continue;
        }
        for l in &r.lines {
            if let Some(e) = out.get_mut(&l.product_id) {
                e.left = (e.left - l.quantity).max(0);
            }
        }
    }
    out
}

/// The unit price of line `i` (1-based in messages) of a return of an original with
/// `returnable` quantities: refused when the product is not on the original or more comes back
/// than is left (`name` names the product in the message). `already` is what earlier lines of
/// the same return took back of this product.
pub fn return_line_price(
    returnable: &HashMap<String, Returnable>,
    i: usize,
    product_id: &str,
    name: &str,
    quantity: i64,
    already: i64,
) -> Result<i64, ApiError> {
    let Some(r) = returnable.get(product_id) else {
        return Err(refuse(
            ErrorCode::InvalidField,
            format!(
                "lines[{i}]: {name}은(는) 원 주문에 없는 상품입니다 (not on the original order)"
            ),
        ));
    };
    if already + quantity > r.left {
        return Err(refuse(
            ErrorCode::InvalidField,
            format!(
                "lines[{i}].quantity: {name} 반품 가능 수량은 {}개입니다 (at most {} can come back)",
                (r.left - already).max(0),
                (r.left - already).max(0)
            ),
        ));
    }
    Ok(r.unit_price)
}

/// Whether line `i`'s reason fits the order's kind: every line of a return has one, a purchase
/// has none.
pub fn check_reason(
    kind: OrderKind,
    i: usize,
    reason: Option<ReturnReason>,
) -> Result<(), ApiError> {
    match (kind, reason) {
        (OrderKind::Return, None) => Err(refuse(
            ErrorCode::InvalidField,
            format!("lines[{i}].reason: 반품 사유를 고르세요 (a return line needs a reason)"),
        )),
        (OrderKind::Purchase, Some(_)) => Err(refuse(
            ErrorCode::InvalidField,
            format!(
                "lines[{i}].reason: 발주서에는 반품 사유가 없습니다 (only returns have reasons)"
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{OrderLine, OrderTotals};

    fn line(product: &str, quantity: i64, unit_price: i64) -> OrderLine {
        OrderLine {
            product_id: product.into(),
            product_code: product.into(),
            product_name: product.into(),
            quantity,
            unit_price,
            line_total: quantity * unit_price,
            manual_price: false,
            return_reason: None,
        }
    }

    fn order(id: &str, kind: OrderKind, original: Option<&str>, lines: Vec<OrderLine>) -> Order {
        Order {
            id: id.into(),
            kind,
            original_order_id: original.map(Into::into),
            number: None,
            account_id: "acc_1".into(),
            rep_id: None,
            status: OrderStatus::Registered,
            totals: OrderTotals::from_supply(lines.iter().map(|l| l.line_total).sum()),
            lines,
            memo: String::new(),
            signature: None,
            has_signature_image: false,
            has_pdf: false,
            reject_reason: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn what_is_left_after_earlier_returns() {
        let o = order(
            "o1",
            OrderKind::Purchase,
            None,
            vec![line("p1", 10, 3_000), line("p2", 2, 9_000)],
        );
        let r1 = order(
            "r1",
            OrderKind::Return,
            Some("o1"),
            vec![line("p1", 4, 3_000)],
        );
        let other = order(
            "r2",
            OrderKind::Return,
            Some("o9"),
            vec![line("p1", 5, 3_000)],
        );
        let left = returnable(&o, [&r1, &other]);
        assert_eq!(left["p1"].left, 6);
        assert_eq!(left["p2"].left, 2);
        assert_eq!(
            return_line_price(&left, 1, "p1", "p1", 6, 0).unwrap(),
            3_000
        );
        // Two lines of the same product add up.
        assert!(return_line_price(&left, 2, "p1", "p1", 1, 6).is_err());
        assert!(return_line_price(&left, 1, "p1", "p1", 7, 0).is_err());
        let e = return_line_price(&left, 1, "p9", "p9", 1, 0).unwrap_err();
        assert!(e.message.contains("not on the original"), "{}", e.message);
    }

    #[test]
    fn originals_and_reasons() {
        let mut o = order("o1", OrderKind::Purchase, None, vec![line("p1", 1, 100)]);
        assert!(check_original(&o, "acc_1").is_ok());
        assert!(check_original(&o, "acc_2").is_err());
        o.status = OrderStatus::Signed;
        assert_eq!(
            check_original(&o, "acc_1").unwrap_err().code,
            ErrorCode::InvalidState
        );
        let r = order("r1", OrderKind::Return, None, vec![]);
        assert!(check_original(&r, "acc_1").is_err());
        assert!(check_reason(OrderKind::Return, 1, None).is_err());
        assert!(check_reason(OrderKind::Return, 1, Some(ReturnReason::Damage)).is_ok());
        assert!(check_reason(OrderKind::Purchase, 1, Some(ReturnReason::Damage)).is_err());
        assert!(check_reason(OrderKind::Purchase, 1, None).is_ok());
    }
}
