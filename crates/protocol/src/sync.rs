//! Device sync: pull by server cursor (`GET /v1/sync?cursor=`), push a batch of mutations
//! (`POST /v1/mutations`), each keyed by a client-generated id.

use serde::{Deserialize, Serialize};

use crate::charge::{Charge, CreateCharge};
use crate::collection::{Collection, CollectionInput};
use crate::error::ApiError;
use crate::records::{
    Account, AccountPrice, LedgerEntry, Order, OrderKind, OrderLineInput, Product,
    SignatureEvidence,
};

fn is_purchase(k: &OrderKind) -> bool {
    *k == OrderKind::Purchase
}
use crate::visit::GeoPoint;

/// One changed record. Records are sent whole; the newest seq wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "entity", content = "data", rename_all = "snake_case")]
pub enum ChangeData {
    Account(Account),
    Product(Product),
    AccountPrice(AccountPrice),
    Ledger(LedgerEntry),
    Order(Order),
    Charge(Charge),
    /// A collection (현금·계좌이체·어음), also when it is voided.
    Collection(Collection),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub seq: i64,
    #[serde(flatten)]
    pub data: ChangeData,
}

/// Whether a device keeps `account` (the sync scope): a plain rep's device (`device_rep`)
/// keeps the accounts assigned to that rep or to no one, a merchant-wide device (`None`: a
/// manager's) every account. The server sends a rep's device an account moved away from it
/// as it stands now, naming its new rep: the device drops it with its ledger and prices.
pub fn device_keeps(device_rep: Option<&str>, account: &Account) -> bool {
    match (device_rep, account.rep_id.as_deref()) {
        (Some(me), Some(rep)) => me == rep,
        _ => true,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncPage {
    pub changes: Vec<Change>,
    /// Pass back as `cursor` for the next page.
    pub cursor: i64,
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MutationKind {
    /// Create or replace a draft order or return (its id is chosen by the device).
    UpsertOrder {
        order_id: String,
        account_id: String,
        lines: Vec<OrderLineInput>,
        #[serde(default)]
        memo: String,
        /// A purchase order (the default) or a return.
        #[serde(default, skip_serializing_if = "is_purchase")]
        kind: OrderKind,
        /// The order a return takes goods back from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        original_order_id: Option<String>,
    },
    /// Attach the signature and purchase-order PDF to an order.
    SignOrder {
        order_id: String,
        evidence: SignatureEvidence,
        /// PNG, base64.
        signature_png: String,
        /// PDF, base64.
        #[serde(default)]
        pdf: Option<String>,
        /// The order's final number, given by the device at signing from the rep's series
        /// (`PO-YYYYMMDD-<series>-NNNN`, see [`crate::numbering`]) and printed on
        /// the signed PDF. Absent: the server numbers the order when it registers it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<String>,
    },
    /// Register the order: credit check, order number, receivables ledger (a return: checked
    /// against its original, its total comes off the receivables).
    SubmitOrder { order_id: String },
    /// Request an ARS charge (its id is chosen by the device).
    RequestCharge {
        charge_id: String,
        request: CreateCharge,
    },
    CancelCharge {
        charge_id: String,
        #[serde(default)]
        reason: Option<String>,
    },
    /// Record a cash, transfer or note collection (its id is chosen by the device): the
    /// collection, its ledger entry and the client's receipt text.
    RecordCollection { collection: CollectionInput },
    /// A visit at a client account (its id is chosen by the device).
    CheckIn {
        visit_id: String,
        account_id: String,
        /// When the rep checked in (RFC 3339).
        at: String,
        /// Where, when the OS gave a location.
        #[serde(default)]
        location: Option<GeoPoint>,
        #[serde(default)]
        note: String,
    },
    /// The end of a visit.
    CheckOut {
        visit_id: String,
        /// When the rep checked out (RFC 3339).
        at: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// Client-generated (UUIDv7): the idempotency key of this mutation.
    pub client_id: String,
    pub op: MutationKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MutationBatch {
    pub mutations: Vec<Mutation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum MutationOutcome {
    Applied {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<Box<Order>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        charge: Option<Box<Charge>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        collection: Option<Box<Collection>>,
    },
    /// Refused for a reason the rep must see (credit limit, closed account, bad input).
    Rejected { error: ApiError },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutationResult {
    pub client_id: String,
    #[serde(flatten)]
    pub outcome: MutationOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutationResults {
    pub results: Vec<MutationResult>,
}
