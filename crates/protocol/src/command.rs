//! The app's shell commands (docs/app-shell.md), each defined once: its name, its arguments and
//! its answer. The UI (`ui/src/backend`) calls them with `invoke(&args)` and the shell
//! (`src-tauri/src/command`) handles them with exactly these types, so a renamed command or
//! field fails to compile on both sides instead of failing at run time.
//!
//! Each command is its argument struct (a struct with no fields for a command without
//! arguments), which implements [`Command`]. On the wire the arguments are the struct itself: one
//! JSON object with snake_case keys, as `window.__TAURI__.core.invoke(NAME, args)` sends it; the
//! answer is the JSON of [`Command::Answer`], or raw bytes when the answer is [`Bytes`].
//! Every command answers `Result<Answer, ApiError>`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::app::{
    self, AccountSummary, ChargeInput, LineInput, LocalCharge, LocalOrder, OrderPreview, PdfDoc,
    ProductHit, SignatureInput, SyncProblem, SyncStatus,
};
use crate::ids::{AccountId, ApiKeyId, ChargeId, OrderId, RepId};
use crate::manager;
use crate::records::OrderKind;
use crate::secret::Secret;

/// One shell command: `Self` is its arguments.
pub trait Command: Serialize + DeserializeOwned {
    /// The name the UI invokes and the shell registers (the shell's handler function).
    const NAME: &'static str;
    /// What it answers: a JSON value (`Serialize + DeserializeOwned`), or [`Bytes`].
    type Answer;
}

/// The answer of a command that returns raw bytes instead of JSON (a PDF): the shell answers a
/// `tauri::ipc::Response`, the UI receives an `ArrayBuffer`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

/// The arguments of a list command (`orders`, `charges`): `{account_id?, limit?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListQuery {
    /// Only this client account's rows; all when absent.
    #[serde(default)]
    pub account_id: Option<AccountId>,
    /// Rows at most; the shell's default when absent.
    #[serde(default)]
    pub limit: Option<u32>,
}

// ---------------------------------------------------------------- session

/// The app's state at start: version, sandbox, session, sync status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {}

/// Starts the embedded sandbox server (demo data) and signs in as its first rep.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartSandbox {}

/// Signs in to a FieldPay server (needs the network).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Login {
    pub server_url: String,
    pub merchant: String,
    pub rep_id: String,
    pub password: Secret,
}

/// Forgets the tokens and stops syncing (the local data stays).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignOut {}

/// Syncs now (push the outbox, pull changes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncNow {}

/// Opens (or brings forward) the "Test phone" window on the sandbox phone page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenTestPhone {}

// ---------------------------------------------------------------- accounts and products

/// Client accounts matching `query` (name, owner, phone, business number, code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchAccounts {
    pub query: String,
    /// Rows at most; the shell's default when absent.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// The merchant's accounts matching `query` asked of the server (online): also the clients
/// of other reps, which a rep's device does not keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchServerAccounts {
    pub query: String,
    /// Rows at most (1 to 100); 20 when absent.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// The client list while the search box is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientList {
    #[serde(default)]
    pub sort: app::ClientSort,
    /// Rows at most; the shell's default when absent.
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountDetail {
    pub account_id: AccountId,
}

/// Products matching `query`, priced for `account_id` when given; an empty query with an
/// account answers its usual items (most often ordered first, `times_ordered` set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchProducts {
    pub query: String,
    #[serde(default)]
    pub account_id: Option<AccountId>,
    #[serde(default)]
    pub limit: Option<u32>,
}

// ---------------------------------------------------------------- orders

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewOrder {
    pub account_id: AccountId,
    pub lines: Vec<LineInput>,
    /// The draft being edited (its own total is not counted twice against the credit limit).
    #[serde(default)]
    pub order_id: Option<OrderId>,
    /// A purchase order (the default) or a return.
    #[serde(default)]
    pub kind: OrderKind,
    /// The order a return takes goods back from.
    #[serde(default)]
    pub original_order_id: Option<OrderId>,
}

/// Saves a draft: a new one when `order_id` is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveDraft {
    #[serde(default)]
    pub order_id: Option<OrderId>,
    pub account_id: AccountId,
    pub lines: Vec<LineInput>,
    #[serde(default)]
    pub memo: String,
    /// A purchase order (the default) or a return.
    #[serde(default)]
    pub kind: OrderKind,
    /// The order a return takes goods back from.
    #[serde(default)]
    pub original_order_id: Option<OrderId>,
}

/// A new return draft (반품) of a registered order: its lines with what may still come back,
/// the reasons left to the rep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartReturn {
    pub order_id: OrderId,
}

/// A new draft with a past order's lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reorder {
    pub order_id: OrderId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignAndSubmit {
    pub order_id: OrderId,
    pub signature: SignatureInput,
}

/// The latest orders, of one client account or of all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Orders(pub ListQuery);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: OrderId,
}

// ---------------------------------------------------------------- documents

/// The PDF's bytes, for the in-app preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pdf {
    pub doc: PdfDoc,
}

/// The hand-drawn signature of a signed purchase order as PNG (shown on the order screen).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureImage {
    pub order_id: OrderId,
}

/// Saves the PDF under the data folder's `exports/`; answers the file's path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportPdf {
    pub doc: PdfDoc,
}

/// Opens a file under `exports/` with the system's PDF viewer (other paths are refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenExport {
    pub path: String,
}

// ---------------------------------------------------------------- charges

/// Requests an ARS charge (queued, sent by the sync loop).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestCharge {
    pub input: ChargeInput,
}

/// Cancels a charge before payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelCharge {
    pub charge_id: ChargeId,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Texts the bill again (online only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResendChargeSms {
    pub charge_id: ChargeId,
}

/// Refund of an approved payment, whole or in part (online only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundCharge {
    pub charge_id: ChargeId,
    #[serde(default)]
    pub reason: Option<String>,
    /// KRW to refund; None = all that remains.
    #[serde(default)]
    pub amount: Option<i64>,
}

/// The latest charges, of one client account or of all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Charges(pub ListQuery);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub charge_id: ChargeId,
}

/// The daily closing of KST day `date` (`YYYY-MM-DD`; today when absent). Online only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DailyClosing {
    #[serde(default)]
    pub date: Option<String>,
}

// ---------------------------------------------------------------- collections

/// Records a cash, transfer or note collection against a client's receivables (queued, sent by
/// the sync loop; the balance drops at once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordCollection {
    pub form: app::CollectionForm,
}

/// A client account's collections on this device, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collections {
    pub account_id: AccountId,
}

/// A manager voids a collection with a reason (online only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoidCollection {
    pub collection_id: String,
    pub reason: String,
}

// ---------------------------------------------------------------- first sign-in

/// Sets a new password (online only): after signing in with a one-time password, before
/// anything else. Answers the app's state with the flag cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangePassword {
    pub current_password: Secret,
    pub new_password: Secret,
}

// ---------------------------------------------------------------- the manager (online only)

/// The team with the day's orders and collections (`date` KST `YYYY-MM-DD`; today when absent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagerTeam {
    #[serde(default)]
    pub date: Option<String>,
}

/// Adds a rep; the answer carries the one-time password, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagerAddRep {
    pub rep: manager::CreateRep,
}

/// A new one-time password for a rep (shown once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagerResetPassword {
    pub rep_id: RepId,
}

/// The rep can no longer sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagerDeactivateRep {
    pub rep_id: RepId,
}

/// API keys, the webhook and its recent deliveries, the payment-link key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagerIntegration {}

/// A new API key; the answer carries the key, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagerCreateApiKey {
    pub name: String,
}

/// A new payment-link key (the old one stops signing links at once); shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagerRotateLinkKey {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagerRevokeApiKey {
    pub key_id: ApiKeyId,
}

/// The merchant's settings and which ones the manager may change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagerSettings {}

/// Changes the settings given (only those the operator allows the manager).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagerUpdateSettings {
    pub patch: manager::SettingsPatch,
}

/// Every payment of the merchant (the server's list, newest first), filtered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MerchantCharges {
    #[serde(default)]
    pub rep_id: Option<RepId>,
    /// A charge status's wire name (`approved`, ...).
    #[serde(default)]
    pub status: Option<String>,
    /// A card company's issuer code (`01` BC ... `09` NH).
    #[serde(default)]
    pub card_company: Option<String>,
    /// Created on this KST day (`YYYY-MM-DD`).
    #[serde(default)]
    pub date: Option<String>,
    /// `next` of the previous page.
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// The settlement of a KST day (`YYYY-MM-DD`) or month (`YYYY-MM`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settlement {
    pub period: String,
}

/// Saves the settlement of a day or month as CSV under `exports/`; answers the file's path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportSettlementCsv {
    pub period: String,
}

// ---------------------------------------------------------------- visits

/// Checks in at a client account now (works offline; sent by the sync loop). `location` when
/// the OS gave one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckIn {
    pub account_id: AccountId,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub location: Option<crate::visit::GeoPoint>,
}

/// Checks out of a visit now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOut {
    pub visit_id: String,
}

/// Today's route: the day's visits and the clients with orders today.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TodayRoute {}

/// A client account's latest visits, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountVisits {
    pub account_id: AccountId,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// The reps' visits of a KST day (`YYYY-MM-DD`; today when absent), of one rep or all (the
/// manager's; online only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagerVisits {
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub rep_id: Option<RepId>,
}

// ---------------------------------------------------------------- sharing by text (online)

/// Texts the order's purchase-order PDF link, or the receipt link of its paid charge
/// (`charge_id`), to a Korean mobile number through the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareOrder {
    pub order_id: OrderId,
    pub kind: crate::share::ShareKind,
    pub to_phone: String,
    #[serde(default)]
    pub charge_id: Option<ChargeId>,
}

/// The texts sent about an order, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderShares {
    pub order_id: OrderId,
}

// ---------------------------------------------------------------- sync problems

/// Actions the server refused, with its reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Problems {}

/// Sends a refused action again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryProblem {
    pub client_id: String,
}

/// Drops a refused action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscardProblem {
    pub client_id: String,
}

// ---------------------------------------------------------------- the table

/// `Args = "name" -> Answer` for every command; builds [`ALL`].
macro_rules! commands {
    ($($args:ident = $name:literal -> $answer:ty;)*) => {
        $(
            impl Command for $args {
                const NAME: &'static str = $name;
                type Answer = $answer;
            }
        )*

        /// Every command's name, as the shell must register them.
        pub const ALL: &[&str] = &[$($name),*];
    };
}

commands! {
    AppInfo = "app_info" -> app::AppInfo;
    StartSandbox = "start_sandbox" -> app::AppInfo;
    Login = "login" -> app::AppInfo;
    SignOut = "sign_out" -> app::AppInfo;
    SyncNow = "sync_now" -> SyncStatus;
    OpenTestPhone = "open_test_phone" -> ();
    SearchAccounts = "search_accounts" -> Vec<AccountSummary>;
    SearchServerAccounts = "search_server_accounts" -> Vec<crate::records::AccountWithBalance>;
    ClientList = "client_list" -> Vec<AccountSummary>;
    AccountDetail = "account_detail" -> app::AccountDetail;
    SearchProducts = "search_products" -> Vec<ProductHit>;
    PreviewOrder = "preview_order" -> OrderPreview;
    SaveDraft = "save_draft" -> LocalOrder;
    Reorder = "reorder" -> LocalOrder;
    StartReturn = "start_return" -> LocalOrder;
    SignAndSubmit = "sign_and_submit" -> LocalOrder;
    Orders = "orders" -> Vec<LocalOrder>;
    Order = "order" -> LocalOrder;
    Pdf = "pdf" -> Bytes;
    SignatureImage = "signature_image" -> Bytes;
    ExportPdf = "export_pdf" -> String;
    OpenExport = "open_export" -> ();
    RequestCharge = "request_charge" -> LocalCharge;
    CancelCharge = "cancel_charge" -> LocalCharge;
    ResendChargeSms = "resend_charge_sms" -> LocalCharge;
    RefundCharge = "refund_charge" -> LocalCharge;
    Charges = "charges" -> Vec<LocalCharge>;
    Charge = "charge" -> LocalCharge;
    DailyClosing = "daily_closing" -> app::DailyClosing;
    RecordCollection = "record_collection" -> app::LocalCollection;
    Collections = "collections" -> Vec<app::LocalCollection>;
    VoidCollection = "void_collection" -> app::LocalCollection;
    Problems = "problems" -> Vec<SyncProblem>;
    RetryProblem = "retry_problem" -> ();
    DiscardProblem = "discard_problem" -> ();
    ChangePassword = "change_password" -> app::AppInfo;
    ManagerTeam = "manager_team" -> manager::TeamReport;
    ManagerAddRep = "manager_add_rep" -> manager::RepPassword;
    ManagerResetPassword = "manager_reset_password" -> manager::RepPassword;
    ManagerDeactivateRep = "manager_deactivate_rep" -> ();
    ManagerIntegration = "manager_integration" -> manager::Integration;
    ManagerCreateApiKey = "manager_create_api_key" -> manager::NewApiKey;
    ManagerRevokeApiKey = "manager_revoke_api_key" -> ();
    ManagerRotateLinkKey = "manager_rotate_link_key" -> manager::LinkKey;
    ManagerSettings = "manager_settings" -> manager::SettingsValues;
    ManagerUpdateSettings = "manager_update_settings" -> manager::SettingsValues;
    MerchantCharges = "merchant_charges" -> crate::charge::ChargeList;
    Settlement = "settlement" -> crate::settlement::SettlementReport;
    ExportSettlementCsv = "export_settlement_csv" -> String;
    CheckIn = "check_in" -> app::LocalVisit;
    CheckOut = "check_out" -> app::LocalVisit;
    TodayRoute = "today_route" -> app::TodayRoute;
    AccountVisits = "account_visits" -> Vec<app::LocalVisit>;
    ManagerVisits = "manager_visits" -> crate::visit::VisitList;
    ShareOrder = "share_order" -> crate::share::OrderShare;
    OrderShares = "order_shares" -> Vec<crate::share::OrderShare>;
}

/// `a == b`, usable in constants (the shell checks its handlers' names at compile time).
pub const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn contains(names: &[&str], name: &str) -> bool {
    let mut i = 0;
    while i < names.len() {
        if same_name(names[i], name) {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether `registered` names every command of [`ALL`], each once, and nothing else (checked
/// at compile time by the shell's handler list).
pub const fn registers_all(registered: &[&str]) -> bool {
    if registered.len() != ALL.len() {
        return false;
    }
    let mut i = 0;
    while i < ALL.len() {
        if !contains(registered, ALL[i]) {
            return false;
        }
        i += 1;
    }
    // Same length and every name of ALL present: a duplicate would have left one out.
    let mut i = 0;
    while i < registered.len() {
        if !contains(ALL, registered[i]) {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_snake_case() {
        for (i, a) in ALL.iter().enumerate() {
            assert!(
                a.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{a}"
            );
            assert!(!ALL[i + 1..].contains(a), "{a} twice");
        }
        assert!(registers_all(ALL));
        assert!(!registers_all(&ALL[1..]));
        let mut swapped: Vec<&str> = ALL.to_vec();
        swapped[0] = "app_inf";
        assert!(!registers_all(&swapped));
        assert!(same_name(Login::NAME, "login"));
        assert!(!same_name(Login::NAME, "logi"));
    }

    #[test]
    fn arguments_are_flat_snake_case_objects() {
        let login = Login {
            server_url: "http://127.0.0.1:8080".into(),
            merchant: "M1".into(),
            rep_id: "rep1".into(),
            password: Secret::new("pw-canary"),
        };
        let json = serde_json::to_value(&login).unwrap();
        assert_eq!(json["password"], "pw-canary");
        assert_eq!(json["rep_id"], "rep1");
        assert!(!format!("{login:?}").contains("pw-canary"));
        assert_eq!(serde_json::from_value::<Login>(json).unwrap(), login);
        // Without arguments: `{}`; optional arguments may be left out.
        assert_eq!(serde_json::to_string(&AppInfo {}).unwrap(), "{}");
        let c: Charges = serde_json::from_str("{}").unwrap();
        assert_eq!(c, Charges(ListQuery::default()));
        let o: Orders = serde_json::from_str(r#"{"account_id":"acc_1","limit":5}"#).unwrap();
        assert_eq!(o.0.account_id.unwrap(), "acc_1");
        assert_eq!(
            serde_json::to_string(&Orders(ListQuery::default())).unwrap(),
            r#"{"account_id":null,"limit":null}"#
        );
        let o: Order = serde_json::from_str(r#"{"order_id":"o1"}"#).unwrap();
        assert_eq!(o.order_id, "o1");
    }
}
