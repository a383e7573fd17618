//! Payloads between the app's UI and its shell (Tauri commands and events), produced by the
//! on-device engine (`fieldpay-core`).

use serde::{Deserialize, Serialize};

use crate::charge::{Charge, ChargeKind};
use crate::collection::{Collection, CollectionMethod, MethodTotal, PromissoryNote};
use crate::error::ApiError;
use crate::records::{Account, LedgerEntry, Order, OrderLine, OrderTotals, Product};

/// How a local record stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Only on this device (a draft not sent).
    Local,
    /// Waiting in the outbox.
    Queued,
    /// The server has it.
    Synced,
    /// The server refused it (see sync problems).
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalOrder {
    pub order: Order,
    pub sync_state: SyncState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalCharge {
    pub charge: Charge,
    pub sync_state: SyncState,
}

/// A collection (현금·계좌이체·어음 수금) as this device has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalCollection {
    pub collection: Collection,
    pub sync_state: SyncState,
}

/// A collection the rep records on the client page (the engine chooses its id and time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionForm {
    pub account_id: String,
    pub method: CollectionMethod,
    pub amount: i64,
    #[serde(default)]
    pub memo: String,
    /// Only for a note (어음).
    #[serde(default)]
    pub note: Option<PromissoryNote>,
}

/// A refused action, shown in the sync-problems list with the server's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProblem {
    pub client_id: String,
    /// The order or charge it is about.
    pub entity_id: String,
    /// `upsert_order`, `sign_order`, `submit_order`, `request_charge`, `cancel_charge`.
    pub action: String,
    pub error: ApiError,
    pub created_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub signed_in: bool,
    pub online: bool,
    pub syncing: bool,
    /// Actions waiting to be sent.
    pub queued: u64,
    /// Actions the server refused (sync problems).
    pub problems: u64,
    pub last_sync: Option<String>,
    pub last_error: Option<String>,
}

/// What the engine tells the UI as it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EngineEvent {
    Status(SyncStatus),
    ChargeChanged(Box<Charge>),
    OrderChanged(Box<LocalOrder>),
    /// Accounts, products or the ledger changed (reload lists).
    RecordsChanged,
    /// The signed-in rep changed (e.g. the server now wants a new password: the manager
    /// reset it); read `app_info` again.
    SessionChanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInput {
    pub product_id: String,
    pub quantity: i64,
    /// Why the goods come back (a return's lines only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<crate::records::ReturnReason>,
}

/// The result of checking an order against the account's credit limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CreditCheck {
    Ok {
        available: i64,
    },
    /// Over the limit; the merchant registers it anyway (flagged).
    Warn {
        message: String,
        over_by: i64,
    },
    /// Over the limit; the merchant refuses such orders.
    Block {
        message: String,
        over_by: i64,
    },
}

/// Receivables by age, the oldest debt paid first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aging {
    pub days_0_30: i64,
    pub days_31_60: i64,
    pub days_61_90: i64,
    pub days_over_90: i64,
}

/// One row of the client list or of a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub account: Account,
    pub balance: i64,
    /// The client's latest order or payment on this device (UTC RFC 3339); filled in the
    /// client list, not in search results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<String>,
}

/// How the client list (while the search box is empty) is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientSort {
    /// Latest orders and payments first (today's at the top), then receivables due.
    #[default]
    Recent,
    /// By name (가나다).
    Name,
    /// Receivables, largest first.
    Balance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountDetail {
    pub account: Account,
    pub balance: i64,
    pub aging: Aging,
    /// credit_limit - balance - orders not yet registered (may be negative).
    pub credit_available: i64,
    pub recent_orders: Vec<LocalOrder>,
    pub recent_charges: Vec<LocalCharge>,
    pub ledger: Vec<LedgerEntry>,
    /// The account's collections on this device, newest first.
    #[serde(default)]
    pub collections: Vec<LocalCollection>,
    /// Collected on this device and not yet in the server's ledger: already taken off
    /// `balance`.
    #[serde(default)]
    pub pending_collected: i64,
}

/// An order being built: priced lines, totals and the credit check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderPreview {
    pub account_id: String,
    pub lines: Vec<OrderLine>,
    pub totals: OrderTotals,
    pub credit: CreditCheck,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductHit {
    pub product: Product,
    /// The price for the account in question (its price list), when one was given.
    pub unit_price: i64,
    /// In the account's usual items (an empty query with an account): how many of its orders
    /// had this product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times_ordered: Option<u32>,
}

/// One point of a hand-drawn stroke: position in canvas pixels, time in ms, pen pressure
/// 0..1 (0.5 when the device does not report it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
    pub t: u64,
    pub pressure: f32,
}

/// The pressure of a point whose device does not report one (mouse, most fingers).
pub const UNKNOWN_PRESSURE: f32 = 0.5;

impl Point {
    /// A point without pressure information.
    pub fn new(x: f32, y: f32, t: u64) -> Self {
        Point {
            x,
            y,
            t,
            pressure: UNKNOWN_PRESSURE,
        }
    }

    /// A point with a measured pressure (0..=1).
    pub fn with_pressure(x: f32, y: f32, t: u64, pressure: f32) -> Self {
        Point { x, y, t, pressure }
    }
}

pub type Stroke = Vec<Point>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureInput {
    pub signer_name: String,
    pub strokes: Vec<Stroke>,
    /// Canvas size the points are in.
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub gps: Option<(f64, f64)>,
}

/// A charge the rep asks for (ARS 결제 요청).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeInput {
    pub account_id: Option<String>,
    pub order_id: Option<String>,
    pub amount: i64,
    pub goods_name: String,
    pub payer_phone: String,
    pub payer_name: Option<String>,
    /// Third-party payment: the orderer's name and phone (the client), when someone else pays.
    pub orderer: Option<(String, String)>,
    pub installments: bool,
    pub kind: ChargeKind,
    pub expires_in_minutes: Option<u32>,
}

/// What the shell tells the UI at start and after sign-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {
    pub version: String,
    /// The embedded sandbox server is running (its address is `server_url`).
    pub sandbox: bool,
    pub server_url: Option<String>,
    /// The sandbox phone page, in sandbox mode.
    pub sandbox_phone_url: Option<String>,
    pub session: Option<crate::auth::RepInfo>,
    pub status: SyncStatus,
}

/// One status line of the day's payment requests (daily closing "by status").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusTotal {
    pub status: crate::charge::ChargeStatus,
    pub count: u64,
    /// Sum of the requested amounts, KRW.
    pub amount: i64,
}

/// The daily closing (일일 마감) of one KST day: the server's settlement by card company and by
/// rep, and this device's payment requests of the day by status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyClosing {
    /// KST date, `YYYY-MM-DD`.
    pub date: String,
    pub merchant_name: String,
    pub rep_name: String,
    pub settlement: crate::settlement::SettlementReport,
    /// In [`crate::charge::ChargeStatus::ALL`] order; statuses without requests are left out.
    pub by_status: Vec<StatusTotal>,
    /// This device's collections (cash, transfer, note) of the day by method, voided ones
    /// left out.
    #[serde(default)]
    pub collections: Vec<MethodTotal>,
}

/// A document the app can show, save and open as a PDF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PdfDoc {
    /// The signed purchase order (발주서), as made when it was signed.
    Order { order_id: String },
    /// The daily closing (일일 마감) of a KST day (`YYYY-MM-DD`; today when absent).
    Closing { date: Option<String> },
    /// The merchant's settlement (정산) of a KST day (`YYYY-MM-DD`) or month (`YYYY-MM`), by card
    /// company and by rep (the manager's; online only).
    Settlement { period: String },
}

/// A visit (방문 기록) as this device has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalVisit {
    pub visit: crate::visit::Visit,
    pub sync_state: SyncState,
}

/// A client with orders made today (a stop of the day's route without a check-in yet, or
/// with one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStop {
    pub account_id: String,
    pub account_name: String,
    pub orders: u32,
    /// KRW, the orders' totals.
    pub total: i64,
}

/// Today's route on the home screen: the rep's visits of the KST day in order, and the clients
/// with orders made today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TodayRoute {
    /// KST date, `YYYY-MM-DD`.
    pub date: String,
    pub visits: Vec<LocalVisit>,
    pub order_clients: Vec<RouteStop>,
}
