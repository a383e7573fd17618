//! The app frame: top bar (back, title, sync badge), a left sidebar on wide screens
//! (≥ 900 px) or a bottom tab bar on phones, the sandbox banner and the toast.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::sync;
use crate::components::icon::{Icon, Svg};
use crate::i18n::{self, t, T};
use crate::state::{back, go, st, toast, Route, Tab};
use crate::testids as id;

/// Width from which the sidebar replaces the tab bar.
pub const WIDE_PX: f64 = 900.0;

pub fn route_title(r: &Route) -> T {
    match r {
        Route::SignIn => T::TitleSignIn,
        Route::Home => T::TitleHome,
        Route::Clients => T::TitleClients,
        Route::Client(_) => T::TitleClient,
        Route::NewOrder { .. } => T::TitleNewOrder,
        Route::NewReturn(_) => T::TitleNewReturn,
        Route::EditOrder(_) => T::TitleEditOrder,
        Route::Sign(_) => T::TitleSign,
        Route::OrderView(_) => T::TitleOrder,
        Route::Orders => T::TitleOrders,
        Route::NewCharge { .. } => T::TitleCharge,
        Route::ChargeView(_) => T::TitleChargeView,
        Route::NewCollection(_) => T::TitleCollection,
        Route::Payments => T::TitlePayments,
        Route::Closing => T::TitleClosing,
        Route::Problems => T::TitleProblems,
        Route::Settings => T::TitleSettings,
        Route::More => T::TitleMore,
        Route::Manager => T::TitleManager,
        Route::Team => T::TitleTeam,
        Route::AllPayments => T::TitleAllPayments,
        Route::Settlement => T::TitleSettlement,
        Route::Integration => T::TitleIntegration,
        Route::MerchantSettings => T::TitleMerchantSettings,
    }
}

/// Online / offline / queued count / problems. Tap: the problems list when there are any,
/// else sync now.
#[component]
pub fn SyncBadge() -> impl IntoView {
    let s = st();
    let busy = RwSignal::new(false);
    let on_click = move |_| {
        let status = s.status.get_untracked();
        if status.problems > 0 {
            go(Route::Problems);
            return;
        }
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match sync::sync_now().await {
                Ok(status) => s.status.set(status),
                Err(e) => toast(e.message),
            }
            busy.set(false);
        });
    };
    view! {
        <button
            class="sync-badge"
            data-testid=id::SYNC_BADGE
            data-online=move || s.status.with(|x| x.online.to_string())
            data-queued=move || s.status.with(|x| x.queued.to_string())
            data-problems=move || s.status.with(|x| x.problems.to_string())
            class:offline=move || s.status.with(|x| !x.online)
            class:problems=move || s.status.with(|x| x.problems > 0)
            on:click=on_click
        >
            <span class="dot" aria-hidden="true"></span>
            <span class="sync-label">
                {move || {
                    let x = s.status.get();
                    if x.syncing || busy.get() {
                        i18n::tr(T::SyncSyncing)
                    } else if x.online {
                        i18n::tr(T::SyncOnline)
                    } else {
                        i18n::tr(T::SyncOffline)
                    }
                }}
            </span>
            {move || {
                let x = s.status.get();
                (x.queued > 0).then(|| view! {
                    <span class="pill warn" title=t(T::SyncQueued)>
                        <span class="pill-icon"><Svg icon=Icon::Upload/></span>{x.queued}
                        <span class="pill-t">" " {t(T::SyncQueued)}</span>
                    </span>
                })
            }}
            {move || {
                let x = s.status.get();
                (x.problems > 0).then(|| view! {
                    <span class="pill bad" title=t(T::SyncProblemsShort)>
                        <span class="pill-icon"><Svg icon=Icon::Warning/></span>{x.problems}
                        <span class="pill-t">" " {t(T::SyncProblemsShort)}</span>
                    </span>
                })
            }}
        </button>
    }
}

struct NavItem {
    tab: Option<Tab>,
    route: Route,
    testid: &'static str,
    label: T,
    icon: Icon,
}

fn nav_items(wide: bool, manager: bool) -> Vec<NavItem> {
    let mut v = vec![
        NavItem {
            tab: Some(Tab::Home),
            route: Route::Home,
            testid: id::NAV_HOME,
            label: T::NavHome,
            icon: Icon::Home,
        },
        NavItem {
            tab: Some(Tab::Clients),
            route: Route::Clients,
            testid: id::NAV_CLIENTS,
            label: T::NavClients,
            icon: Icon::Clients,
        },
        NavItem {
            tab: Some(Tab::Orders),
            route: Route::Orders,
            testid: id::NAV_ORDERS,
            label: T::NavOrders,
            icon: Icon::Pencil,
        },
        NavItem {
            tab: Some(Tab::Payments),
            route: Route::Payments,
            testid: id::NAV_PAYMENTS,
            label: T::NavPayments,
            icon: Icon::Won,
        },
    ];
    if wide {
        v.push(NavItem {
            tab: None,
            route: Route::Closing,
            testid: id::NAV_CLOSING,
            label: T::NavClosing,
            icon: Icon::Report,
        });
        v.push(NavItem {
            tab: None,
            route: Route::Problems,
            testid: id::NAV_PROBLEMS,
            label: T::NavProblems,
            icon: Icon::Warning,
        });
        v.push(NavItem {
            tab: None,
            route: Route::Settings,
            testid: id::NAV_SETTINGS,
            label: T::NavSettings,
            icon: Icon::Gear,
        });
        if manager {
            v.push(NavItem {
                tab: None,
                route: Route::Manager,
                testid: id::NAV_MANAGER,
                label: T::NavManager,
                icon: Icon::Star,
            });
        }
    } else {
        v.push(NavItem {
            tab: Some(Tab::More),
            route: Route::More,
            testid: id::NAV_MORE,
            label: T::NavMore,
            icon: Icon::More,
        });
    }
    v
}

#[component]
fn Nav(wide: bool) -> impl IntoView {
    let s = st();
    let items = move || {
        nav_items(wide, crate::state::is_manager())
            .into_iter()
            .map(|item| {
                let NavItem {
                    tab,
                    route,
                    testid,
                    label,
                    icon,
                } = item;
                let r2 = route.clone();
                let active = move || {
                    let cur = s.route.get();
                    match tab {
                        Some(tb) => cur.tab() == tb,
                        None if r2 == Route::Manager => {
                            matches!(
                                cur,
                                Route::Manager
                                    | Route::Team
                                    | Route::AllPayments
                                    | Route::Settlement
                                    | Route::Integration
                                    | Route::MerchantSettings
                            )
                        }
                        None => cur == r2,
                    }
                };
                let show_count = route == Route::Problems;
                view! {
                    <button class="nav-item" class:active=active data-testid=testid
                            on:click=move |_| go(route.clone())>
                        <span class="nav-icon"><Svg icon=icon/></span>
                        <span class="nav-label">{t(label)}</span>
                        {move || (show_count && s.status.with(|x| x.problems > 0)).then(|| view! {
                            <span class="pill bad">{s.status.with(|x| x.problems)}</span>
                        })}
                    </button>
                }
            })
            .collect_view()
    };
    if wide {
        view! {
            <aside class="sidebar">
                <div class="brand">
                    <span class="brand-mark">"F"</span>
                    <span class="brand-name">{t(T::AppName)}</span>
                </div>
                <nav class="side-nav">{items}</nav>
                <div class="side-foot">
                    {move || s.info.get().and_then(|i| i.session).map(|r| view! {
                        <div class="who">
                            <strong>{r.name}</strong>
                            <span>{r.merchant_name}</span>
                        </div>
                    })}
                </div>
            </aside>
        }
        .into_any()
    } else {
        view! { <nav class="tabbar">{items}</nav> }.into_any()
    }
}

/// The frame around every signed-in screen.
#[component]
pub fn Frame(wide: Signal<bool>, children: Children) -> impl IntoView {
    let s = st();
    let sandbox = move || {
        s.info
            .with(|i| i.as_ref().map(|i| i.sandbox).unwrap_or(false))
    };
    view! {
        <div class="app" class:wide=move || wide.get()>
            {move || wide.get().then(|| view! { <Nav wide=true/> })}
            <div class="content">
                <header class="topbar">
                    {move || {
                        let sidebar_root = wide.get()
                            && s.route.with(|r| matches!(r, Route::Closing | Route::Problems | Route::Settings | Route::Manager));
                        !(s.route.with(|r| r.is_root()) || sidebar_root)
                    }.then(|| view! {
                        <button class="icon-btn back" data-testid=id::BACK
                                aria-label=t(T::Back) on:click=move |_| back()><Svg icon=Icon::Back/></button>
                    })}
                    <h1 class="title">{move || {
                        let r = s.route.get();
                        let own = s.title_for.with(|t| t.as_ref().filter(|(at, _)| *at == r).map(|(_, t)| *t));
                        i18n::tr(own.unwrap_or_else(|| route_title(&r)))
                    }}</h1>
                    <SyncBadge/>
                </header>
                {move || sandbox().then(|| view! {
                    <div class="sandbox-banner">{t(T::SandboxBanner)}</div>
                })}
                {move || s.status.with(|x| x.signed_in && !x.online).then(|| view! {
                    <div class="offline-banner" role="status">{t(T::OfflineBanner)}</div>
                })}
                <main class="screen" data-testid=id::SCREEN
                      data-screen=move || s.route.with(|r| r.name())>
                    {children()}
                </main>
            </div>
            {move || (!wide.get()).then(|| view! { <Nav wide=false/> })}
            <Toast/>
        </div>
    }
}

#[component]
pub fn Toast() -> impl IntoView {
    let s = st();
    move || {
        s.toast.get().map(|(_, msg)| {
            view! { <div class="toast" data-testid=id::TOAST role="status">{msg}</div> }
        })
    }
}
