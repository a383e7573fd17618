//! Purchase orders (발주서) and returns (반품서): drafts, signatures with their evidence and
//! PDF, registration.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fieldpay_protocol::records::{Order, OrderKind, OrderLineInput, SignatureEvidence};
use fieldpay_protocol::returns::{self, Returnable};
use fieldpay_protocol::{AccountId, ApiError, MerchantId, OrderId, RepId};

use super::StoreResult;

/// An order's lines as the device sent them, before pricing.
#[derive(Debug, Clone)]
pub struct OrderDraft {
    pub order_id: OrderId,
    pub account_id: AccountId,
    pub lines: Vec<OrderLineInput>,
    pub memo: String,
    pub kind: OrderKind,
    /// The order a return takes goods back from.
    pub original_order_id: Option<OrderId>,
}

pub trait OrderStore {
    /// Creates or replaces a draft (priced from the products and the account's price list; a
    /// return of an earlier order at that order's prices, within what may still come back; see
    /// [`fieldpay_protocol::returns`]). A registered or canceled order no longer changes.
    fn upsert_order(
        &self,
        merchant_id: &MerchantId,
        rep_id: Option<&RepId>,
        draft: &OrderDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Order>;
    /// Attaches the signature (and the signed PDF). `number` is the final number the device
    /// gave the order at signing (printed on the PDF): it must be a number of the order's
    /// rep's series on the signature's day (see [`check_signed_number`]) that no other order
    /// of the merchant carries (else `Conflict`). Without one the order is numbered when it is
    /// registered.
    #[allow(clippy::too_many_arguments)]
    fn sign_order(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
        evidence: &SignatureEvidence,
        number: Option<&str>,
        png: &[u8],
        pdf: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> StoreResult<Order>;
    /// Credit check, order number (the signed one, or the next of the day when it has none),
    /// ledger entry. A return is checked again against its original (earlier returns may have
    /// been registered since it was drafted) and its total comes off the receivables; it has no
    /// credit check. A rejection is stored on the order and returned as `Err(Rejected)`.
    fn submit_order(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
        now: DateTime<Utc>,
    ) -> StoreResult<Order>;
    fn order(&self, merchant_id: &MerchantId, order_id: &OrderId) -> StoreResult<Option<Order>>;
    fn order_pdf(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
    ) -> StoreResult<Option<Vec<u8>>>;
}

// ---- the rules every store applies around its own SQL (shared, so the stores cannot drift)

/// The columns both stores read an order from, in [`RawOrder`]'s order.
pub(crate) const ORDER_COLS: &str = "id, number, account_id, rep_id, status, lines, supply, vat, total, memo, signature, signature_png IS NOT NULL, pdf IS NOT NULL, reject_reason, created_at, updated_at, kind, original_order_id";

/// An order row as either store reads it ([`ORDER_COLS`]).
pub(crate) struct RawOrder {
    pub id: String,
    pub number: Option<String>,
    pub account_id: String,
    pub rep_id: Option<String>,
    pub status: String,
    pub lines: String,
    pub supply: i64,
    pub vat: i64,
    pub total: i64,
    pub memo: String,
    pub signature: Option<String>,
    pub has_signature_image: bool,
    pub has_pdf: bool,
    pub reject_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub kind: String,
    pub original_order_id: Option<String>,
}

impl RawOrder {
    pub(crate) fn order(self) -> StoreResult<Order> {
        let corrupt = |what: String| StoreError::Corrupt(what);
        let lines: Vec<OrderLine> =
            serde_json::from_str(&self.lines).map_err(|e| corrupt(format!("order lines: {e}")))?;
        let signature: Option<SignatureEvidence> = self
            .signature
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| corrupt(format!("order signature: {e}")))?;
        Ok(Order {
            id: self.id,
            kind: OrderKind::parse(&self.kind)
                .ok_or_else(|| corrupt(format!("order kind {:?}", self.kind)))?,
            original_order_id: self.original_order_id,
            number: self.number,
            account_id: self.account_id,
            rep_id: self.rep_id,
            status: OrderStatus::parse(&self.status)
                .ok_or_else(|| corrupt(format!("order status {:?}", self.status)))?,
            lines,
            totals: OrderTotals {
                supply: self.supply,
                vat: self.vat,
                total: self.total,
            },
            memo: self.memo,
            signature,
            has_signature_image: self.has_signature_image,
            has_pdf: self.has_pdf,
            reject_reason: self.reject_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

use fieldpay_protocol::evidence::{content_hash, SignedContent};
use fieldpay_protocol::money::{format_krw, MAX_AMOUNT_KRW};
use fieldpay_protocol::records::{
    Account, LedgerKind, OrderLine, OrderStatus, OrderTotals, Product,
};
use fieldpay_protocol::time::kst_date;
use fieldpay_protocol::ErrorCode;

use super::StoreError;
use crate::clock::{kst, parse_ts};
use crate::domain::CreditPolicy;

/// Whether a stored order (its status, and the merchant that owns its id) may be replaced by a
/// new draft of `merchant_id`.
pub(crate) fn check_draft_replaceable(
    merchant_id: &str,
    existing: Option<(&str, &str)>,
) -> StoreResult<()> {
    match existing {
        Some((m, _)) if m != merchant_id => Err(StoreError::rejected(
            ErrorCode::InvalidField,
            "order_id is already taken",
        )),
        Some((_, "draft")) | Some((_, "signed")) | Some((_, "rejected")) | None => Ok(()),
        Some((_, s)) => Err(StoreError::rejected(
            ErrorCode::InvalidState,
            format!("order is {s} and can no longer change"),
        )),
    }
}

fn refused(e: ApiError) -> StoreError {
    StoreError::rejected(e.code, e.message)
}

/// What a return of `original` may still bring back, given the registered `earlier` returns
/// of it (see [`returns::returnable`]); `None` for a purchase or a return that names no
/// original. Refused when the original is not a registered purchase order of the draft's
/// account.
pub(crate) fn return_basis(
    draft_kind: OrderKind,
    account_id: &str,
    original: Option<&Order>,
    earlier: &[Order],
) -> StoreResult<Option<HashMap<String, Returnable>>> {
    let Some(original) = original else {
        return Ok(None);
    };
    if draft_kind != OrderKind::Return {
        return Err(StoreError::rejected(
            ErrorCode::InvalidField,
            "original_order_id: only a return names an original order",
        ));
    }
    returns::check_original(original, account_id).map_err(refused)?;
    Ok(Some(returns::returnable(original, earlier)))
}

/// At registration: whether a return still fits what is left of its original (other returns
/// of it may have been registered since it was drafted): the refusal when it does not.
pub(crate) fn recheck_return(
    order: &Order,
    returnable: &HashMap<String, Returnable>,
) -> Option<(ErrorCode, String)> {
    let mut taken: HashMap<&str, i64> = HashMap::new();
    for (i, l) in order.lines.iter().enumerate() {
        let already = taken.get(l.product_id.as_str()).copied().unwrap_or(0);
        if let Err(e) = returns::return_line_price(
            returnable,
            i,
            &l.product_id,
            &l.product_name,
            l.quantity,
            already,
        ) {
            return Some((e.code, e.message));
        }
        *taken.entry(&l.product_id).or_default() += l.quantity;
    }
    None
}

/// The refusal of an original order id that names no order of the merchant.
pub(crate) fn no_original() -> StoreError {
    StoreError::rejected(ErrorCode::InvalidField, "original_order_id: no such order")
}

/// Prices the lines from the catalogue and the account's price list. A device's own price is
/// accepted when it is the list price, or when the merchant lets reps price by hand (within
/// `manual_pct` below the list; the line is flagged); any other price is refused.
/// `product` finds one of the merchant's products by id; `account_price` the account's own
/// price of a product (by the product's id). A return's lines each need a reason; a return of
/// an original (`returnable`, from [`return_basis`]) is priced at the original's prices and
/// may bring back what is left of it; products no longer sold may come back.
pub(crate) fn price_lines(
    manual_pct: Option<u8>,
    draft: &OrderDraft,
    returnable: Option<&HashMap<String, Returnable>>,
    mut product: impl FnMut(&str) -> StoreResult<Option<Product>>,
    mut account_price: impl FnMut(&str) -> StoreResult<Option<i64>>,
) -> StoreResult<Vec<OrderLine>> {
    if draft.lines.is_empty() {
        return Err(StoreError::rejected(
            ErrorCode::InvalidField,
            "lines: an order needs at least one line",
        ));
    }
    if draft.lines.len() > 500 {
        return Err(StoreError::rejected(
            ErrorCode::InvalidField,
            "lines: at most 500 lines",
        ));
    }
    let mut out = Vec::with_capacity(draft.lines.len());
    for (i, l) in draft.lines.iter().enumerate() {
        if !(1..=100_000).contains(&l.quantity) {
            return Err(StoreError::rejected(
                ErrorCode::InvalidField,
                format!("lines[{i}].quantity: must be between 1 and 100000"),
            ));
        }
        returns::check_reason(draft.kind, i, l.reason).map_err(refused)?;
        let product = product(&l.product_id)?.ok_or_else(|| {
            StoreError::rejected(
                ErrorCode::InvalidField,
                format!("lines[{i}].product_id: no such product"),
            )
        })?;
        if let Some(returnable) = returnable {
            let already: i64 = draft.lines[..i]
                .iter()
                .filter(|x| x.product_id == l.product_id)
                .map(|x| x.quantity)
                .sum();
            let unit_price = returns::return_line_price(
                returnable,
                i,
                &product.id,
                &product.name,
                l.quantity,
                already,
            )
            .map_err(refused)?;
            if l.unit_price.is_some_and(|p| p != unit_price) {
                return Err(StoreError::rejected(
                    ErrorCode::InvalidAmount,
                    format!(
                        "lines[{i}].unit_price: 반품 단가는 원 주문의 단가 {}입니다 (the original order's price)",
                        format_krw(unit_price)
                    ),
                ));
            }
            out.push(OrderLine {
                product_id: product.id,
                product_code: product.code,
                product_name: product.name,
                quantity: l.quantity,
                unit_price,
                line_total: l.quantity * unit_price,
                manual_price: false,
                return_reason: l.reason,
            });
            continue;
        }
        if !product.active && draft.kind == OrderKind::Purchase {
            return Err(StoreError::rejected(
                ErrorCode::InvalidField,
                format!("lines[{i}]: product {} is no longer sold", product.code),
            ));
        }
        let list = account_price(&product.id)?.unwrap_or(product.unit_price);
        let (unit_price, manual_price) = match l.unit_price {
            None => (list, false),
            Some(p) if p == list => (list, false),
            Some(p) => {
                let floor = manual_pct.map(|pct| list - list * i64::from(pct.min(100)) / 100);
                if !floor.is_some_and(|floor| (floor..=list).contains(&p)) {
                    return Err(StoreError::rejected(
                        ErrorCode::InvalidAmount,
                        format!(
                            "lines[{i}].unit_price: {} 상품 단가 {}은 단가표({})와 다릅니다 (not the price list's)",
                            product.code,
                            format_krw(p),
                            format_krw(list)
                        ),
                    ));
                }
                (p, true)
            }
        };
        out.push(OrderLine {
            product_id: product.id,
            product_code: product.code,
            product_name: product.name,
            quantity: l.quantity,
            unit_price,
            line_total: l.quantity * unit_price,
            manual_price,
            return_reason: l.reason,
        });
    }
    Ok(out)
}

/// The totals of priced lines (VAT added), refused over the largest amount.
pub(crate) fn order_totals(lines: &[OrderLine]) -> StoreResult<OrderTotals> {
    let supply: i64 = lines.iter().map(|l| l.line_total).sum();
    let totals = OrderTotals::from_supply(supply);
    if totals.total > MAX_AMOUNT_KRW {
        return Err(StoreError::rejected(
            ErrorCode::InvalidAmount,
            "order total is over 100,000,000 won",
        ));
    }
    Ok(totals)
}

/// Whether `evidence` may sign `order` (of `merchant_id`) as stored, with the final `number`
/// the device gave it (if any): the status allows it and what the client signed is this order
/// under that number (its content hash recomputed here).
pub(crate) fn check_signature(
    merchant_id: &str,
    order: &Order,
    evidence: &SignatureEvidence,
    number: Option<&str>,
) -> StoreResult<()> {
    match order.status {
        OrderStatus::Draft | OrderStatus::Signed | OrderStatus::Rejected => {}
        s => {
            return Err(StoreError::rejected(
                ErrorCode::InvalidState,
                format!("order is {} and cannot be signed again", s.as_str()),
            ))
        }
    }
    let signed_at = parse_ts(&evidence.signed_at).ok_or_else(|| {
        StoreError::rejected(
            ErrorCode::InvalidField,
            "evidence.signed_at: an RFC 3339 time",
        )
    })?;
    let date = kst_date(signed_at);
    let expected = content_hash(&SignedContent {
        number,
        ..SignedContent::of(merchant_id, order, &date)
    });
    if !evidence.content_hash.eq_ignore_ascii_case(&expected) {
        return Err(StoreError::rejected(
            ErrorCode::InvalidField,
            "서명한 내용이 발주서와 다릅니다 (evidence.content_hash does not match the order's lines, totals and memo)",
        ));
    }
    Ok(())
}

/// Whether `number` may be the final number of an order of `kind` of a rep with `series`
/// (`None`: the order has no rep, or the rep no series) signed with `evidence`: a number of
/// that kind (`PO-…` or `RT-…`) of that series on the KST day of the signature.
pub(crate) fn check_signed_number(
    number: &str,
    kind: OrderKind,
    series: Option<&str>,
    evidence: &SignatureEvidence,
) -> StoreResult<()> {
    use fieldpay_protocol::numbering::parse_series_number;
    let bad = |why: String| StoreError::rejected(ErrorCode::InvalidField, format!("number: {why}"));
    let prefix = kind.doc_kind().prefix();
    let parsed = parse_series_number(number)
        .filter(|n| n.kind == kind.doc_kind())
        .ok_or_else(|| {
            let shown: String = number.chars().take(40).collect();
            bad(format!("{shown:?} is not {prefix}-YYYYMMDD-<series>-NNNN"))
        })?;
    let Some(series) = series.filter(|s| !s.is_empty()) else {
        return Err(bad("this order's rep has no number series".into()));
    };
    if parsed.series != series {
        return Err(bad(format!(
            "{number} is not of this rep's series {series}"
        )));
    }
    let signed_at = parse_ts(&evidence.signed_at).ok_or_else(|| {
        StoreError::rejected(
            ErrorCode::InvalidField,
            "evidence.signed_at: an RFC 3339 time",
        )
    })?;
    if parsed.day != order_day(signed_at) {
        return Err(bad(format!(
            "{number} is not of the day it was signed ({})",
            order_day(signed_at)
        )));
    }
    Ok(())
}

/// The refusal of a signed number another order of the merchant already carries.
pub(crate) fn number_taken(number: &str) -> StoreError {
    StoreError::rejected(
        ErrorCode::Conflict,
        format!("발주번호 {number}는 이미 다른 주문에 쓰였습니다 (number: already taken by another order)"),
    )
}

/// What registering an order does, decided before anything is written.
pub(crate) enum Registration {
    /// Refused for the account (closed, over its limit): the rejection is stored on the order.
    Refuse(ErrorCode, String),
    /// Registered; the credit warning (under [`CreditPolicy::Warn`]) goes into the ledger memo.
    Register { warning: Option<String> },
}

/// Whether a stored order is to be registered (`false`: it already is, answer it as it is);
/// refused when it cannot be. Then the account is read and [`registration`] decides.
pub(crate) fn check_submittable(order: &Order) -> StoreResult<bool> {
    match order.status {
        OrderStatus::Registered => return Ok(false),
        OrderStatus::Canceled => {
            return Err(StoreError::rejected(
                ErrorCode::InvalidState,
                "order is canceled",
            ))
        }
        _ => {}
    }
    // Only what the client signed is registered (a changed draft lost its signature).
    if order.signature.is_none() {
        return Err(StoreError::rejected(
            ErrorCode::InvalidState,
            "서명하지 않은 발주서는 등록할 수 없습니다 (sign the order first)",
        ));
    }
    Ok(true)
}

/// The credit check of a submittable order against its account and the account's balance.
pub(crate) fn registration(
    order: &Order,
    account: &Account,
    balance: i64,
    policy: CreditPolicy,
) -> Registration {
    // A return only lowers what the client owes: neither a closed account nor the limit
    // stops it.
    if order.kind.is_return() {
        return Registration::Register { warning: None };
    }
    if account.closed {
        return Registration::Refuse(
            ErrorCode::AccountClosed,
            format!(
                "{} 거래처는 거래가 종료되었습니다 (account closed)",
                account.name
            ),
        );
    }
    if balance + order.totals.total > account.credit_limit {
        let msg = format!(
            "여신 한도 초과: 미수금 {} + 주문 {} > 한도 {} (credit limit exceeded)",
            format_krw(balance),
            format_krw(order.totals.total),
            format_krw(account.credit_limit)
        );
        return match policy {
            CreditPolicy::Block => Registration::Refuse(ErrorCode::CreditLimitExceeded, msg),
            CreditPolicy::Warn => Registration::Register { warning: Some(msg) },
        };
    }
    Registration::Register { warning: None }
}

/// The KST day an order registered at `now` is numbered in (`YYYYMMDD`).
pub(crate) fn order_day(now: DateTime<Utc>) -> String {
    now.with_timezone(&kst()).format("%Y%m%d").to_string()
}

/// The first word of the name of the counter that numbers the orders of `kind` signed
/// without a number (one counter per KST day, see [`order_day`]).
pub(crate) fn order_counter(kind: OrderKind) -> &'static str {
    match kind {
        OrderKind::Purchase => "order",
        OrderKind::Return => "return",
    }
}

/// The order number of the `n`th order of `kind` on `day` (`PO-20261127-0001`).
pub(crate) fn order_number(kind: OrderKind, day: &str, n: i64) -> String {
    format!("{}-{day}-{n:04}", kind.doc_kind().prefix())
}

/// The ledger entry of a registered order (its number given): a purchase raises the
/// receivables by its total, a return lowers them by its total.
pub(crate) fn order_ledger(
    order: &Order,
    number: &str,
    warning: Option<&str>,
    at: DateTime<Utc>,
) -> super::NewLedger {
    let (kind, amount, word) = match order.kind {
        OrderKind::Purchase => (LedgerKind::Order, order.totals.total, "주문"),
        OrderKind::Return => (LedgerKind::Return, -order.totals.total, "반품"),
    };
    let memo = match warning {
        None => format!("{word} {number}"),
        Some(w) => format!("{word} {number} ({w})"),
    };
    super::NewLedger {
        account_id: AccountId::new(order.account_id.clone()),
        kind,
        amount,
        ref_id: Some(order.id.clone()),
        memo,
        at,
    }
}
