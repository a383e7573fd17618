//! The manager's screens (role `manager` only; the server refuses a plain rep too): the menu,
//! and the shared pieces — the role gate, the online-only load state, a two-step button for
//! risky actions, and the box that shows a secret once.

pub mod integration;
pub mod merchant;
pub mod payments;
pub mod settlement;
pub mod team;

use fieldpay_protocol::{ApiError, ErrorCode};
use leptos::prelude::*;

use crate::components::icon::{Icon, Svg};
use crate::components::{ErrorBox, Spinner};
use crate::i18n::{t, T};
use crate::state::{go, is_manager, st, Load, Route};
use crate::testids as id;

/// The manager's menu.
#[component]
pub fn ManagerPage() -> impl IntoView {
    let item = |route: Route, testid: &'static str, title: T, sub: T, icon: Icon| {
        view! {
            <li>
                <button class="row mgr-item" data-testid=testid on:click=move |_| go(route.clone())>
                    <span class="mgr-icon"><Svg icon=icon/></span>
                    <span class="row-main">
                        <span class="row-title">{t(title)}</span>
                        <span class="row-sub">{t(sub)}</span>
                    </span>
                    <span class="row-side inline">"›"</span>
                </button>
            </li>
        }
    };
    view! {
        <Gate>
            <section class="page manager">
                <OnlineHint/>
                <ul class="list mgr-menu">
                    {item(Route::Team, id::MGR_TEAM, T::TitleTeam, T::MgrTeamSub, Icon::Clients)}
                    {item(Route::AllPayments, id::MGR_PAYMENTS, T::TitleAllPayments, T::MgrPaymentsSub, Icon::Won)}
                    {item(Route::Settlement, id::MGR_SETTLEMENT, T::TitleSettlement, T::MgrSettlementSub, Icon::Report)}
                    {item(Route::Integration, id::MGR_INTEGRATION, T::TitleIntegration, T::MgrIntegrationSub, Icon::Exchange)}
                    {item(Route::MerchantSettings, id::MGR_SETTINGS, T::TitleMerchantSettings, T::MgrSettingsSub, Icon::Gear)}
                </ul>
            </section>
        </Gate>
    }
}

/// Shows its children to a manager only (a plain rep who opens the address sees why not).
#[component]
pub fn Gate(children: ChildrenFn) -> impl IntoView {
    move || {
        if is_manager() {
            children().into_any()
        } else {
            view! {
                <div class="state error" data-testid=id::MANAGER_ONLY role="alert">
                    <strong>{t(T::TitleManager)}</strong>
                    <p>{t(T::ManagerOnly)}</p>
                </div>
            }
            .into_any()
        }
    }
}

/// A line saying these screens read the server live; a warning while offline.
#[component]
pub fn OnlineHint() -> impl IntoView {
    let s = st();
    move || {
        if s.status.with(|x| x.online) {
            view! { <p class="row-sub online-hint">{t(T::OnlineOnlyHint)}</p> }.into_any()
        } else {
            view! { <p class="hint-box warn">{t(T::ManagerOffline)}</p> }.into_any()
        }
    }
}

/// Whether a failed load means "no connection" (the screens are online only).
pub fn is_offline(e: &ApiError) -> bool {
    e.code == ErrorCode::Unavailable && crate::backend::shell_present()
}

/// The offline state of a manager screen, with a retry.
#[component]
pub fn Offline(on_retry: Callback<()>) -> impl IntoView {
    view! {
        <div class="state error offline-state" data-testid=id::MANAGER_OFFLINE role="alert">
            <strong><Svg icon=Icon::Bolt/> {t(T::ManagerOfflineTitle)}</strong>
            <p>{t(T::ManagerOffline)}</p>
            <button class="btn big" data-testid=id::RETRY on:click=move |_| on_retry.run(())>
                {t(T::Retry)}
            </button>
        </div>
    }
}

/// Like `components::load_view`, with the offline state for a lost connection.
pub fn mgr_load_view<V, F>(data: RwSignal<Load<V>>, retry: Callback<()>, ready: F) -> impl IntoView
where
    V: Clone + Send + Sync + 'static,
    F: Fn(V) -> AnyView + Send + Sync + 'static,
{
    move || match data.get() {
        Load::Loading => view! { <Spinner/> }.into_any(),
        Load::Failed(e) if is_offline(&e) => view! { <Offline on_retry=retry/> }.into_any(),
        Load::Failed(e) => view! { <ErrorBox err=e on_retry=retry/> }.into_any(),
        Load::Ready(v) => ready(v),
    }
}

/// A button for a risky action (deactivate, revoke, reset): the first press asks, the second
/// (`confirm-action`) does it.
#[component]
pub fn Confirm(
    label: T,
    testid: &'static str,
    #[prop(optional)] danger: bool,
    busy: RwSignal<bool>,
    on_yes: Callback<()>,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let class = if danger { "btn danger" } else { "btn" };
    move || {
        if asking.get() {
            view! {
                <span class="confirm">
                    <span class="confirm-q">{t(T::ConfirmQ)}</span>
                    <button class="btn danger" data-testid=id::CONFIRM_ACTION disabled=move || busy.get()
                            on:click=move |_| { asking.set(false); on_yes.run(()) }>{t(T::Yes)}</button>
                    <button class="btn ghost" data-testid=id::CONFIRM_CANCEL
                            on:click=move |_| asking.set(false)>{t(T::Cancel)}</button>
                </span>
            }
            .into_any()
        } else {
            view! {
                <button class=class data-testid=testid disabled=move || busy.get()
                        on:click=move |_| asking.set(true)>{t(label)}</button>
            }
            .into_any()
        }
    }
}

/// A secret shown once (a one-time password, a new API key), until dismissed.
#[component]
pub fn SecretOnce(
    title: T,
    hint: T,
    /// Whom or what it is for (a login, a key name).
    subject: String,
    value: String,
    testid: &'static str,
    on_dismiss: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="card secret-once" role="status">
            <h3 class="card-title">{t(title)}</h3>
            <p class="row-sub">{t(T::ShownOnceFor)} ": " <strong>{subject.clone()}</strong></p>
            <code class="secret-value" data-testid=testid data-for=subject>{value}</code>
            <p class="hint-box warn">{t(hint)}</p>
            <button class="btn primary big wide" data-testid=id::SECRET_DISMISS
                    on:click=move |_| on_dismiss.run(())>{t(T::Dismiss)}</button>
        </div>
    }
}
