//! Settings (language, server, sync now, sign out, about, sandbox test phone) and the phone
//! "More" menu.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::{session, sync};
use crate::components::icon::{Icon, Svg};
use crate::format;
use crate::i18n::{self, t, Lang, T};
use crate::state::{go, replace, st, toast, Route};
use crate::testids as id;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let s = st();
    let busy = RwSignal::new(false);
    let sync_now = move |_| {
        busy.set(true);
        spawn_local(async move {
            match sync::sync_now().await {
                Ok(status) => {
                    s.status.set(status);
                    toast(i18n::tr(T::Synced));
                }
                Err(e) => toast(e.message),
            }
            busy.set(false);
        });
    };
    let sign_out = move |_| {
        busy.set(true);
        spawn_local(async move {
            match session::sign_out().await {
                Ok(info) => {
                    s.status.set(info.status.clone());
                    s.info.set(Some(info));
                    s.stack.set(Vec::new());
                    replace(Route::SignIn);
                }
                Err(e) => toast(e.message),
            }
            busy.set(false);
        });
    };
    let open_phone = move |_| {
        spawn_local(async move {
            if let Err(e) = session::open_test_phone().await {
                toast(e.message);
            }
        });
    };
    let info = move || s.info.get();
    view! {
        <section class="page settings">
            <div class="card">
                <h3 class="card-title">{t(T::Language)}</h3>
                <div class="segmented">
                    <button class="seg" class:on=move || i18n::lang() == Lang::Ko data-testid=id::LANG_KO
                            on:click=move |_| i18n::set_lang(Lang::Ko)>{t(T::Korean)}</button>
                    <button class="seg" class:on=move || i18n::lang() == Lang::En data-testid=id::LANG_EN
                            on:click=move |_| i18n::set_lang(Lang::En)>{t(T::English)}</button>
                </div>
            </div>

            <div class="card">
                <h3 class="card-title">{t(T::Server)}</h3>
                <dl class="facts">
                    <dt>{t(T::Server)}</dt>
                    <dd class="mono" data-testid=id::SERVER_URL>{move || info().and_then(|i| i.server_url).unwrap_or_else(|| "—".into())}</dd>
                    <dt>{t(T::SignedInAs)}</dt>
                    <dd>{move || info().and_then(|i| i.session).map(|r| format!("{} ({}) · {}", r.name, r.login, r.merchant_name)).unwrap_or_else(|| "—".into())}</dd>
                    <dt>{t(T::LastSync)}</dt>
                    <dd>{move || s.status.get().last_sync.map(|x| format::date_time(&x)).unwrap_or_else(|| i18n::tr(T::None_).to_string())}</dd>
                    {move || s.status.get().last_error.map(|e| view! { <dt><Svg icon=Icon::Warning/></dt><dd class="bad-text">{e}</dd> })}
                </dl>
                {move || {
                    let queued = s.status.get().queued;
                    (queued > 0).then(|| view! {
                        <p class="hint-box warn" data-testid=id::SIGN_OUT_NOTE>
                            {i18n::count(queued)} " · " {t(T::SignOutKeepsQueue)}
                        </p>
                    })
                }}
                <div class="actions two">
                    <button class="btn primary big" data-testid=id::SYNC_NOW disabled=move || busy.get() on:click=sync_now>
                        <Svg icon=Icon::Retry/> {t(T::SyncNow)}
                    </button>
                    <button class="btn danger big" data-testid=id::SIGN_OUT disabled=move || busy.get() on:click=sign_out>
                        {t(T::SignOut)}
                    </button>
                </div>
            </div>

            {move || info().map(|i| i.sandbox).unwrap_or(false).then(|| view! {
                <div class="card">
                    <h3 class="card-title">{t(T::Sandbox)}</h3>
                    <p class="hint">{t(T::SandboxHint)}</p>
                    {info().and_then(|i| i.sandbox_phone_url).map(|u| view! { <p class="mono row-sub">{u}</p> })}
                    <button class="btn accent big wide" data-testid=id::OPEN_TEST_PHONE on:click=open_phone>
                        <Svg icon=Icon::Mobile/> {t(T::OpenTestPhone)}
                    </button>
                </div>
            })}

            <div class="card">
                <h3 class="card-title">{t(T::About)}</h3>
                <p>{t(T::AboutText)}</p>
                <p class="row-sub">{t(T::Version)} " "
                    <span class="mono" data-testid=id::APP_VERSION>{move || info().map(|i| i.version).unwrap_or_default()}</span>
                    " · UI " {env!("CARGO_PKG_VERSION")}
                </p>
            </div>
        </section>
    }
}

#[component]
pub fn MorePage() -> impl IntoView {
    let s = st();
    let item = move |route: Route, testid: &'static str, label: T, icon: Icon| {
        view! {
            <li>
                <button class="row" data-testid=testid on:click=move |_| go(route.clone())>
                    <span class="row-main"><span class="row-title"><Svg icon=icon/>" " {t(label)}</span></span>
                    <span class="row-side inline">"›"</span>
                </button>
            </li>
        }
    };
    view! {
        <section class="page more">
            <ul class="list">
                {item(Route::Closing, id::NAV_CLOSING, T::NavClosing, Icon::Report)}
                <li>
                    <button class="row" data-testid=id::NAV_PROBLEMS on:click=move |_| go(Route::Problems)>
                        <span class="row-main"><span class="row-title"><Svg icon=Icon::Warning/> {t(T::NavProblems)}</span></span>
                        <span class="row-side inline">
                            {move || (s.status.get().problems > 0).then(|| view! { <span class="pill bad">{s.status.get().problems}</span> })}
                            "›"
                        </span>
                    </button>
                </li>
                {item(Route::Settings, id::NAV_SETTINGS, T::NavSettings, Icon::Gear)}
                {move || crate::state::is_manager().then(|| item(Route::Manager, id::NAV_MANAGER, T::NavManager, Icon::Star))}
            </ul>
        </section>
    }
}
