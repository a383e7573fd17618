//! What a client signs on a purchase order (발주서), defined once for the device that signs
//! and the server that checks: the content hash of a signature is recomputed by the server
//! from the order it stores, so lines slipped in (or prices changed) after the client saw them
//! are refused.
//!
//! The signed content is what the server holds itself: the merchant, the client account and
//! the order (by id), the day it was signed (KST), every line (product id, quantity, unit
//! price, line total), the totals and the memo. Names and addresses printed on the PDF are not
//! part of it (they may change in the catalogue without the order changing).
//!
//! The order's final number, when the device gave it at signing (it is printed on the PDF the
//! client signs), is signed too; an order signed without one is hashed as before numbers
//! existed. A return (반품서) also signs that it is a return, the order it takes goods back from and the
//! reason of every line; these fields are written only for a return, so the hash of a purchase
//! order is what it always was.

use sha2::{Digest, Sha256};

use crate::records::{Order, OrderKind, OrderLine, OrderTotals};

/// Everything the hash of a signed order covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedContent<'a> {
    pub merchant_id: &'a str,
    pub account_id: &'a str,
    pub order_id: &'a str,
    /// The KST day of signing, `YYYY-MM-DD`.
    pub date: &'a str,
    pub lines: &'a [OrderLine],
    pub totals: OrderTotals,
    pub memo: &'a str,
    pub kind: OrderKind,
    /// The order a return takes goods back from.
    pub original_order_id: Option<&'a str>,
    /// The number given at signing (`PO-20261204-R01-0001`), printed on the signed PDF.
    pub number: Option<&'a str>,
}

impl<'a> SignedContent<'a> {
    /// What signing `order` (of `merchant_id`) on the KST day `date` (`YYYY-MM-DD`) covers.
    pub fn of(merchant_id: &'a str, order: &'a Order, date: &'a str) -> SignedContent<'a> {
        SignedContent {
            merchant_id,
            account_id: &order.account_id,
            order_id: &order.id,
            date,
            lines: &order.lines,
            totals: order.totals,
            memo: &order.memo,
            kind: order.kind,
            original_order_id: order.original_order_id.as_deref(),
            number: order.number.as_deref(),
        }
    }
}

/// The canonical serialization: UTF-8, `fieldpay-order/2` then one `KEY=LEN:VALUE\n` field per
/// value in a fixed order (LEN is VALUE's byte length, so any text is unambiguous; integers in
/// plain decimal).
pub fn canonical(c: &SignedContent<'_>) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, key: &str, value: &str) {
        out.extend_from_slice(format!("{key}={}:{value}\n", value.len()).as_bytes());
    }
    let mut out = b"fieldpay-order/2\n".to_vec();
    field(&mut out, "merchant_id", c.merchant_id);
    field(&mut out, "account_id", c.account_id);
    field(&mut out, "order_id", c.order_id);
    field(&mut out, "date", c.date);
    field(&mut out, "lines", &c.lines.len().to_string());
    for l in c.lines {
        field(&mut out, "line.product_id", &l.product_id);
        field(&mut out, "line.quantity", &l.quantity.to_string());
        field(&mut out, "line.unit_price", &l.unit_price.to_string());
        field(&mut out, "line.line_total", &l.line_total.to_string());
        if c.kind.is_return() {
            let reason = l.return_reason.map(|r| r.as_str()).unwrap_or("");
            field(&mut out, "line.return_reason", reason);
        }
    }
    field(&mut out, "supply", &c.totals.supply.to_string());
    field(&mut out, "vat", &c.totals.vat.to_string());
    field(&mut out, "total", &c.totals.total.to_string());
    field(&mut out, "memo", c.memo);
    if c.kind.is_return() {
        field(&mut out, "kind", c.kind.as_str());
        field(
            &mut out,
            "original_order_id",
            c.original_order_id.unwrap_or(""),
        );
    }
    if let Some(n) = c.number {
        field(&mut out, "number", n);
    }
    out
}

/// SHA-256 (lowercase hex) of [`canonical`]: the `content_hash` of the signature evidence and
/// the document hash printed on the purchase order.
pub fn content_hash(c: &SignedContent<'_>) -> String {
    Sha256::digest(canonical(c))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(product: &str, quantity: i64, unit_price: i64) -> OrderLine {
        OrderLine {
            product_id: product.into(),
            product_code: "P1".into(),
            product_name: "타이레놀정 10정".into(),
            quantity,
            unit_price,
            line_total: quantity * unit_price,
            manual_price: false,
            return_reason: None,
        }
    }

    #[test]
    fn a_return_signs_its_reasons_and_its_original() {
        use crate::records::ReturnReason;
        let mut lines = [line("prd_1", 2, 3_000)];
        lines[0].return_reason = Some(ReturnReason::Expiry);
        let base = SignedContent {
            merchant_id: "m_1",
            account_id: "acc_1",
            order_id: "r_1",
            date: "2026-12-04",
            lines: &lines,
            totals: OrderTotals::from_supply(6_000),
            memo: "",
            kind: OrderKind::Return,
            original_order_id: Some("o_1"),
            number: Some("RT-20261204-R01-0001"),
        };
        let h = content_hash(&base);
        let mut damaged = lines.clone();
        damaged[0].return_reason = Some(ReturnReason::Damage);
        assert_ne!(
            content_hash(&SignedContent {
                lines: &damaged,
                ..base
            }),
            h
        );
        assert_ne!(
            content_hash(&SignedContent {
                original_order_id: Some("o_2"),
                ..base
            }),
            h
        );
        assert_ne!(
            content_hash(&SignedContent {
                original_order_id: None,
                ..base
            }),
            h
        );
        assert_ne!(
            content_hash(&SignedContent {
                number: Some("RT-20261204-R01-0002"),
                ..base
            }),
            h
        );
        // A purchase ignores reasons (it has none) and is hashed as before returns existed.
        let purchase = SignedContent {
            kind: OrderKind::Purchase,
            original_order_id: None,
            number: None,
            ..base
        };
        assert!(!String::from_utf8_lossy(&canonical(&purchase)).contains("reason"));
    }

    #[test]
    fn covers_what_the_server_holds_and_nothing_else() {
        let lines = [line("prd_1", 2, 3_000), line("prd_2", 1, 12_000)];
        let base = SignedContent {
            merchant_id: "m_1",
            account_id: "acc_1",
            order_id: "o_1",
            date: "2026-12-03",
            lines: &lines,
            totals: OrderTotals::from_supply(18_000),
            memo: "오전 방문",
            kind: OrderKind::Purchase,
            original_order_id: None,
            number: None,
        };
        let h = content_hash(&base);
        assert_eq!(h.len(), 64);
        assert_eq!(h, content_hash(&base.clone()), "deterministic");
        // Product names (the catalogue's wording) are not part of it.
        let mut renamed = lines.clone();
        renamed[0].product_name = "타이레놀 10정".into();
        assert_eq!(
            content_hash(&SignedContent {
                lines: &renamed,
                ..base
            }),
            h
        );
        // Every signed value is.
        let more = [line("prd_1", 3, 3_000), line("prd_2", 1, 12_000)];
        let cheaper = [line("prd_1", 2, 2_900), line("prd_2", 1, 12_000)];
        let slipped = [lines[0].clone(), lines[1].clone(), line("prd_9", 1, 100)];
        for changed in [
            SignedContent {
                merchant_id: "m_2",
                ..base
            },
            SignedContent {
                account_id: "acc_2",
                ..base
            },
            SignedContent {
                order_id: "o_2",
                ..base
            },
            SignedContent {
                date: "2026-12-04",
                ..base
            },
            SignedContent {
                lines: &more,
                ..base
            },
            SignedContent {
                lines: &cheaper,
                ..base
            },
            SignedContent {
                lines: &slipped,
                ..base
            },
            SignedContent {
                totals: OrderTotals::from_supply(18_001),
                ..base
            },
            SignedContent { memo: "", ..base },
            SignedContent {
                kind: OrderKind::Return,
                ..base
            },
            SignedContent {
                number: Some("PO-20261203-R01-0001"),
                ..base
            },
        ] {
            assert_ne!(content_hash(&changed), h, "{changed:?}");
        }
        // Field lengths keep neighbouring values apart.
        let a = SignedContent {
            memo: "ab",
            order_id: "o",
            ..base
        };
        let b = SignedContent {
            memo: "b",
            order_id: "oa",
            ..base
        };
        assert_ne!(content_hash(&a), content_hash(&b));
    }
}
