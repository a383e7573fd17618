//! The merchant's records as they travel to devices: client accounts (거래처), products,
//! receivables ledger entries (외상 원장), orders / purchase orders (발주서).

use serde::{Deserialize, Serialize};

/// What to do when an order would take an account over its credit limit (여신 한도).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CreditPolicy {
    /// Register the order and flag it.
    Warn,
    /// Reject the order.
    #[default]
    Block,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub id: String,
    /// The merchant's own code for the account (unique per merchant).
    pub code: String,
    pub name: String,
    pub owner_name: String,
    /// 10 digits, no dashes.
    pub business_number: String,
    /// National digits.
    pub phone: String,
    pub address: String,
    pub credit_limit: i64,
    pub closed: bool,
    pub rep_id: Option<String>,
    pub updated_at: String,
}

/// An account with its receivables balance (`GET /v1/accounts/{id}`, and the server-side
/// search a rep's device asks for clients beyond its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountWithBalance {
    #[serde(flatten)]
    pub account: Account,
    /// What the client owes, KRW (the sum of its ledger entries).
    pub balance: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    pub id: String,
    pub code: String,
    pub name: String,
    /// Unit price in KRW, VAT excluded (공급가).
    pub unit_price: i64,
    pub unit: String,
    pub active: bool,
    pub updated_at: String,
}

/// A per-account price (price list) for a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountPrice {
    pub account_id: String,
    pub product_id: String,
    pub unit_price: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// An order registered on credit: the receivable grows.
    Order,
    /// A payment received: the receivable shrinks.
    Payment,
    /// A refunded payment: the receivable grows again.
    Refund,
    /// A manual correction (either sign).
    Adjustment,
    /// A collection other than card (cash, transfer, note): the receivable shrinks; `ref_id`
    /// is the collection's id.
    Collection,
    /// A voided collection's offset: the receivable grows back; `ref_id` is the collection's
    /// id.
    CollectionVoid,
    /// A registered return (반품): the receivable shrinks by its total; `ref_id` is the
    /// return's order id.
    Return,
}

text_names!(LedgerKind {
    Order => "order",
    Payment => "payment",
    Refund => "refund",
    Adjustment => "adjustment",
    Collection => "collection",
    CollectionVoid => "collection_void",
    Return => "return",
});

/// One append-only receivables entry. `amount` is signed: positive raises what the client owes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerEntry {
    pub id: String,
    pub account_id: String,
    pub kind: LedgerKind,
    pub amount: i64,
    pub ref_id: Option<String>,
    pub memo: String,
    pub at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Draft,
    Signed,
    /// Accepted by the server; on the receivables ledger.
    Registered,
    Rejected,
    Canceled,
}

text_names!(OrderStatus {
    Draft => "draft",
    Signed => "signed",
    Registered => "registered",
    Rejected => "rejected",
    Canceled => "canceled",
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrderLineInput {
    pub product_id: String,
    pub quantity: i64,
    /// VAT-excluded unit price; when None the account's price list or the product price applies
    /// (on a return of an earlier order: that order's price).
    #[serde(default)]
    pub unit_price: Option<i64>,
    /// Why the goods come back: required on every line of a return, refused on a purchase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReturnReason>,
}

/// A purchase order (발주서) or a return (반품서). A return's lines are goods coming back; its
/// totals are positive amounts that, once the server registers it, come off the client's
/// receivables (a ledger entry of kind [`LedgerKind::Return`] for `-total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    #[default]
    Purchase,
    Return,
}

text_names!(OrderKind {
    Purchase => "purchase",
    Return => "return",
});

impl OrderKind {
    pub fn is_return(self) -> bool {
        self == OrderKind::Return
    }

    /// The document's Korean title.
    pub fn title_ko(self) -> &'static str {
        match self {
            OrderKind::Purchase => "발주서",
            OrderKind::Return => "반품서",
        }
    }

    /// Its series of numbers (`PO-…`, `RT-…`).
    pub fn doc_kind(self) -> crate::numbering::DocKind {
        match self {
            OrderKind::Purchase => crate::numbering::DocKind::PurchaseOrder,
            OrderKind::Return => crate::numbering::DocKind::Return,
        }
    }
}

/// Why goods come back on a return (반품 사유).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    /// 유통기한 (expired or close to it).
    Expiry,
    /// 파손 (damaged).
    Damage,
    /// 오배송 (the wrong item was delivered).
    WrongItem,
    /// 기타.
    Other,
}

text_names!(ReturnReason {
    Expiry => "expiry",
    Damage => "damage",
    WrongItem => "wrong_item",
    Other => "other",
});

impl ReturnReason {
    pub fn label_ko(self) -> &'static str {
        match self {
            ReturnReason::Expiry => "유통기한",
            ReturnReason::Damage => "파손",
            ReturnReason::WrongItem => "오배송",
            ReturnReason::Other => "기타",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ReturnReason::Expiry => "Expiry",
            ReturnReason::Damage => "Damaged",
            ReturnReason::WrongItem => "Wrong item",
            ReturnReason::Other => "Other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLine {
    pub product_id: String,
    pub product_code: String,
    pub product_name: String,
    pub quantity: i64,
    pub unit_price: i64,
    /// quantity * unit_price (VAT excluded).
    pub line_total: i64,
    /// The rep priced this line by hand, away from the price list (within what the merchant
    /// allows).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual_price: bool,
    /// Why the goods come back (only on the lines of a return, [`OrderKind::Return`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_reason: Option<ReturnReason>,
}

/// Order totals: `supply` = sum of line totals, `vat` = floor(supply / 10), `total` = supply + vat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderTotals {
    pub supply: i64,
    pub vat: i64,
    pub total: i64,
}

impl OrderTotals {
    pub fn from_supply(supply: i64) -> OrderTotals {
        let vat = crate::money::vat_of_supply(supply);
        OrderTotals {
            supply,
            vat,
            total: supply + vat,
        }
    }
}

/// The signature evidence kept with a signed purchase order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignatureEvidence {
    pub signer_name: String,
    pub signed_at: String,
    pub device: String,
    #[serde(default)]
    pub gps: Option<(f64, f64)>,
    /// SHA-256 (hex) of the order content that was signed.
    pub content_hash: String,
    /// The raw strokes as JSON (points `{x, y, t, pressure}`).
    #[serde(default)]
    pub strokes_json: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: String,
    /// A purchase order or a return.
    #[serde(default)]
    pub kind: OrderKind,
    /// The order a return takes goods back from (its lines and prices), when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_order_id: Option<String>,
    /// Human order number: given by the device at signing from the rep's series
    /// (`PO-20261127-R01-0001`, printed on the signed PDF; see [`crate::numbering`]), or, for
    /// an order signed without one (before series existed), by the server on registration
    /// (`PO-20261127-0001`).
    pub number: Option<String>,
    pub account_id: String,
    pub rep_id: Option<String>,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub totals: OrderTotals,
    pub memo: String,
    pub signature: Option<SignatureEvidence>,
    pub has_signature_image: bool,
    pub has_pdf: bool,
    pub reject_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}
