//! App-wide state (signals) and the client-side router: a signal of the current screen plus a
//! history stack; the screen is mirrored in the URL hash (`#/clients/ACCOUNT_ID`), and a hash
//! typed or set from outside (WebDriver, a link) is followed.

use std::cell::Cell;
use std::collections::HashMap;

use fieldpay_protocol::app::{AppInfo, LocalOrder, SyncStatus};
use fieldpay_protocol::charge::Charge;
use fieldpay_protocol::ApiError;
use leptos::prelude::*;

/// The screens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    SignIn,
    Home,
    Clients,
    Client(String),
    /// A new order, for an account (or pick one first).
    NewOrder {
        account_id: Option<String>,
    },
    /// A new return (반품) for an account, naming no original order (one of an order starts
    /// from the order's screen).
    NewReturn(String),
    /// Continue a draft.
    EditOrder(String),
    /// The signature pad for an order.
    Sign(String),
    /// One purchase order.
    OrderView(String),
    /// Purchase orders (발주서 조회).
    Orders,
    /// ARS charge form; `collect` = the amount defaults to the receivable balance.
    NewCharge {
        account_id: Option<String>,
        order_id: Option<String>,
        collect: bool,
    },
    /// A charge's live timeline / payment detail.
    ChargeView(String),
    /// Record a cash, transfer or note collection (수금 등록) for a client account.
    NewCollection(String),
    Payments,
    Closing,
    Problems,
    Settings,
    More,
    /// The manager's menu and screens (manager role only).
    Manager,
    Team,
    AllPayments,
    Settlement,
    Integration,
    MerchantSettings,
}

/// Bottom tabs / sidebar sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Home,
    Clients,
    Orders,
    Payments,
    More,
}

fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn dec(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Route {
    /// The `data-screen` name of the screen.
    pub fn name(&self) -> &'static str {
        match self {
            Route::SignIn => "signin",
            Route::Home => "home",
            Route::Clients => "clients",
            Route::Client(_) => "client",
            Route::NewOrder { .. } | Route::NewReturn(_) | Route::EditOrder(_) => "order-edit",
            Route::Sign(_) => "sign",
            Route::OrderView(_) => "order",
            Route::Orders => "orders",
            Route::NewCharge { .. } => "charge-new",
            Route::ChargeView(_) => "charge",
            Route::NewCollection(_) => "collection-new",
            Route::Payments => "payments",
            Route::Closing => "closing",
            Route::Problems => "problems",
            Route::Settings => "settings",
            Route::More => "more",
            Route::Manager => "manager",
            Route::Team => "team",
            Route::AllPayments => "all-payments",
            Route::Settlement => "settlement",
            Route::Integration => "integration",
            Route::MerchantSettings => "merchant-settings",
        }
    }

    pub fn tab(&self) -> Tab {
        match self {
            Route::SignIn | Route::Home => Tab::Home,
            Route::Clients | Route::Client(_) | Route::NewCollection(_) => Tab::Clients,
            Route::NewOrder { .. }
            | Route::NewReturn(_)
            | Route::EditOrder(_)
            | Route::Sign(_)
            | Route::OrderView(_)
            | Route::Orders => Tab::Orders,
            Route::NewCharge { .. } | Route::ChargeView(_) | Route::Payments => Tab::Payments,
            Route::Closing
            | Route::Problems
            | Route::Settings
            | Route::More
            | Route::Manager
            | Route::Team
            | Route::AllPayments
            | Route::Settlement
            | Route::Integration
            | Route::MerchantSettings => Tab::More,
        }
    }

    /// Top-level screens (tab roots) have no back button.
    pub fn is_root(&self) -> bool {
        matches!(
            self,
            Route::SignIn
                | Route::Home
                | Route::Clients
                | Route::Orders
                | Route::Payments
                | Route::More
        )
    }

    /// The URL hash (without `#`).
    pub fn to_hash(&self) -> String {
        match self {
            Route::SignIn => "/signin".into(),
            Route::Home => "/home".into(),
            Route::Clients => "/clients".into(),
            Route::Client(id) => format!("/clients/{}", enc(id)),
            Route::NewOrder { account_id: None } => "/order/new".into(),
            Route::NewOrder {
                account_id: Some(a),
            } => format!("/order/new?account={}", enc(a)),
            Route::NewReturn(a) => format!("/return/new?account={}", enc(a)),
            Route::EditOrder(id) => format!("/order/{}/edit", enc(id)),
            Route::Sign(id) => format!("/order/{}/sign", enc(id)),
            Route::OrderView(id) => format!("/orders/{}", enc(id)),
            Route::Orders => "/orders".into(),
            Route::NewCharge {
                account_id,
                order_id,
                collect,
            } => {
                let mut q = Vec::new();
                if let Some(a) = account_id {
                    q.push(format!("account={}", enc(a)));
                }
                if let Some(o) = order_id {
                    q.push(format!("order={}", enc(o)));
                }
                if *collect {
                    q.push("collect=1".into());
                }
                if q.is_empty() {
                    "/charge/new".into()
                } else {
                    format!("/charge/new?{}", q.join("&"))
                }
            }
            Route::ChargeView(id) => format!("/charges/{}", enc(id)),
            Route::NewCollection(id) => format!("/clients/{}/collect", enc(id)),
            Route::Payments => "/payments".into(),
            Route::Closing => "/closing".into(),
            Route::Problems => "/problems".into(),
            Route::Settings => "/settings".into(),
            Route::More => "/more".into(),
            Route::Manager => "/manager".into(),
            Route::Team => "/manager/team".into(),
            Route::AllPayments => "/manager/payments".into(),
            Route::Settlement => "/manager/settlement".into(),
            Route::Integration => "/manager/integration".into(),
            Route::MerchantSettings => "/manager/settings".into(),
        }
    }

    /// Reads a URL hash (`#/clients/abc`, `/clients/abc` or empty).
    pub fn parse(hash: &str) -> Option<Route> {
        let h = hash.trim_start_matches('#');
        let (path, query) = match h.split_once('?') {
            Some((p, q)) => (p, q),
            None => (h, ""),
        };
        let param = |name: &str| query_param(query, name);
        let parts: Vec<String> = path.split('/').filter(|p| !p.is_empty()).map(dec).collect();
        let p: Vec<&str> = parts.iter().map(String::as_str).collect();
        Some(match p.as_slice() {
            [] => return None,
            ["signin"] => Route::SignIn,
            ["home"] => Route::Home,
            ["clients"] => Route::Clients,
            ["clients", id] => Route::Client(id.to_string()),
            ["clients", id, "collect"] => Route::NewCollection(id.to_string()),
            ["order", "new"] => Route::NewOrder {
                account_id: param("account"),
            },
            ["return", "new"] => Route::NewReturn(param("account")?),
            ["order", id, "edit"] => Route::EditOrder(id.to_string()),
            ["order", id, "sign"] => Route::Sign(id.to_string()),
            ["orders"] => Route::Orders,
            ["orders", id] => Route::OrderView(id.to_string()),
            ["charge", "new"] => Route::NewCharge {
                account_id: param("account"),
                order_id: param("order"),
                collect: param("collect").is_some(),
            },
            ["charges", id] => Route::ChargeView(id.to_string()),
            ["payments"] => Route::Payments,
            ["closing"] => Route::Closing,
            ["problems"] => Route::Problems,
            ["settings"] => Route::Settings,
            ["more"] => Route::More,
            ["manager"] => Route::Manager,
            ["manager", "team"] => Route::Team,
            ["manager", "payments"] => Route::AllPayments,
            ["manager", "settlement"] => Route::Settlement,
            ["manager", "integration"] => Route::Integration,
            ["manager", "settings"] => Route::MerchantSettings,
            _ => return None,
        })
    }
}

/// Runs a search whose answer fills `results`: an empty query clears them, and an answer to
/// a search overtaken by a newer one (the next keystroke) is dropped. `seq` numbers the
/// searches of one box.
pub fn latest_search<T, F>(
    seq: StoredValue<u64>,
    results: RwSignal<Option<Load<T>>>,
    query: String,
    fetch: impl FnOnce(String) -> F + 'static,
) where
    T: Send + Sync + 'static,
    F: std::future::Future<Output = Result<T, ApiError>> + 'static,
{
    let n = seq.get_value() + 1;
    seq.set_value(n);
    if query.trim().is_empty() {
        results.set(None);
        return;
    }
    if results.with_untracked(|r| r.is_none()) {
        results.set(Some(Load::Loading));
    }
    leptos::task::spawn_local(async move {
        let r = fetch(query.trim().to_string()).await;
        if seq.try_get_value() == Some(n) {
            results.set(Some(r.into()));
        }
    });
}

/// A value being loaded from the shell.
#[derive(Clone, Debug, PartialEq)]
pub enum Load<T> {
    Loading,
    Ready(T),
    Failed(ApiError),
}

impl<T> From<Result<T, ApiError>> for Load<T> {
    fn from(r: Result<T, ApiError>) -> Self {
        match r {
            Ok(v) => Load::Ready(v),
            Err(e) => Load::Failed(e),
        }
    }
}

impl<T> Load<T> {
    pub fn ready(&self) -> Option<&T> {
        match self {
            Load::Ready(v) => Some(v),
            _ => None,
        }
    }
}

/// Signals shared by every screen (Copy handles; created once at start).
#[derive(Clone, Copy)]
pub struct AppState {
    /// `app_info` (None until the first answer).
    pub info: RwSignal<Option<AppInfo>>,
    pub status: RwSignal<SyncStatus>,
    pub route: RwSignal<Route>,
    pub stack: RwSignal<Vec<Route>>,
    /// The last `charge_changed` event.
    pub charge_update: RwSignal<Option<Charge>>,
    /// The last `order_changed` event.
    pub order_update: RwSignal<Option<LocalOrder>>,
    /// Bumped on `records_changed` (and any charge/order change): lists reload.
    pub records_tick: RwSignal<u64>,
    pub toast: RwSignal<Option<(u64, String)>>,
    /// Account id -> name, filled from every account seen (lists show names of ids).
    pub names: RwSignal<HashMap<String, String>>,
    /// The clients screen's search text (kept across visits).
    pub client_query: RwSignal<String>,
    /// A screen's own title for its route (a return's screens say 반품서), shown while that
    /// route is current.
    pub title_for: RwSignal<Option<(Route, crate::i18n::T)>>,
}

thread_local! {
    static STATE: Cell<Option<AppState>> = const { Cell::new(None) };
}

impl AppState {
    /// Creates the signals (call once, inside the root owner).
    pub fn init(start: Route) -> AppState {
        let s = AppState {
            info: RwSignal::new(None),
            status: RwSignal::new(SyncStatus::default()),
            route: RwSignal::new(start),
            stack: RwSignal::new(Vec::new()),
            charge_update: RwSignal::new(None),
            order_update: RwSignal::new(None),
            records_tick: RwSignal::new(0),
            toast: RwSignal::new(None),
            names: RwSignal::new(HashMap::new()),
            client_query: RwSignal::new(String::new()),
            title_for: RwSignal::new(None),
        };
        STATE.with(|c| c.set(Some(s)));
        s
    }
}

/// The signed-in rep has the manager role (the manager's screens are shown).
pub fn is_manager() -> bool {
    st().info.with(|i| {
        i.as_ref()
            .and_then(|i| i.session.as_ref())
            .is_some_and(|r| r.role == fieldpay_protocol::auth::Role::Manager)
    })
}

/// The app state (after [`AppState::init`]).
pub fn st() -> AppState {
    STATE
        .with(|c| c.get())
        .expect("AppState::init was not called")
}

fn write_hash(route: &Route) {
    let Some(w) = web_sys::window() else { return };
    let url = format!("#{}", route.to_hash());
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// Opens a screen; Back returns to the current one.
pub fn go(route: Route) {
    let s = st();
    let cur = s.route.get_untracked();
    if cur == route {
        return;
    }
    if route.is_root() {
        s.stack.set(Vec::new());
    } else {
        s.stack.update(|st| {
            st.push(cur);
            if st.len() > 50 {
                st.remove(0);
            }
        });
    }
    write_hash(&route);
    s.route.set(route);
    scroll_top();
}

/// Replaces the current screen (no Back entry), e.g. after saving a new draft.
/// Titles the current screen `title` (instead of its route's title) while its route lasts.
pub fn set_title(title: crate::i18n::T) {
    let s = st();
    s.title_for.set(Some((s.route.get_untracked(), title)));
}

pub fn replace(route: Route) {
    let s = st();
    write_hash(&route);
    s.route.set(route);
}

/// Back to the previous screen (Home when there is none).
pub fn back() {
    let s = st();
    let prev = s.stack.try_update(|st| st.pop()).flatten();
    let to = prev.unwrap_or(Route::Home);
    write_hash(&to);
    s.route.set(to);
    scroll_top();
}

fn scroll_top() {
    if let Some(w) = web_sys::window() {
        w.scroll_to_with_x_and_y(0.0, 0.0);
    }
}

/// The route the URL hash names, if any.
pub fn route_from_location() -> Option<Route> {
    let hash = web_sys::window()?.location().hash().ok()?;
    Route::parse(&hash)
}

/// A query parameter of the URL hash (`#/clients?q=abc` -> `q` = `abc`).
pub fn hash_param(name: &str) -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let (_, query) = hash.split_once('?')?;
    query_param(query, name)
}

/// A non-empty, decoded parameter of a query string (`a=1&q=abc`).
fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| dec(v))
        .filter(|v| !v.is_empty())
}

/// A short message at the bottom of the screen for a few seconds.
pub fn toast(msg: impl Into<String>) {
    let s = st();
    let id = (crate::format::now_ms() as u64) ^ 0x9e37;
    s.toast.set(Some((id, msg.into())));
    set_timeout(
        move || {
            if s.toast.get_untracked().map(|(i, _)| i) == Some(id) {
                s.toast.set(None);
            }
        },
        std::time::Duration::from_millis(3500),
    );
}

/// Remembers account names for lists that only carry ids.
pub fn remember_name(id: &str, name: &str) {
    let s = st();
    let known = s
        .names
        .with_untracked(|m| m.get(id).map(|n| n == name).unwrap_or(false));
    if !known {
        s.names.update(|m| {
            m.insert(id.to_string(), name.to_string());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip() {
        let routes = vec![
            Route::SignIn,
            Route::Home,
            Route::Clients,
            Route::Client("acc 1/가".into()),
            Route::NewOrder { account_id: None },
            Route::NewOrder {
                account_id: Some("a1".into()),
            },
            Route::NewReturn("acc 1/가".into()),
            Route::EditOrder("o1".into()),
            Route::Sign("o1".into()),
            Route::OrderView("o1".into()),
            Route::Orders,
            Route::NewCharge {
                account_id: Some("a1".into()),
                order_id: Some("o1".into()),
                collect: false,
            },
            Route::NewCharge {
                account_id: Some("a1".into()),
                order_id: None,
                collect: true,
            },
            Route::ChargeView("c1".into()),
            Route::NewCollection("acc 1/가".into()),
            Route::Payments,
            Route::Closing,
            Route::Problems,
            Route::Settings,
            Route::More,
            Route::Manager,
            Route::Team,
            Route::AllPayments,
            Route::Settlement,
            Route::Integration,
            Route::MerchantSettings,
        ];
        for r in routes {
            assert_eq!(
                Route::parse(&format!("#{}", r.to_hash())),
                Some(r.clone()),
                "{r:?}"
            );
        }
        assert_eq!(Route::parse(""), None);
        assert_eq!(Route::parse("#/nope"), None);
    }
}
