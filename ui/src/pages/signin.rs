//! Sign-in: server address + merchant + rep id + password, or "Try sandbox" (`start_sandbox`).

use fieldpay_protocol::app::AppInfo;
use fieldpay_protocol::{ApiError, Secret};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::session;
use crate::components::{FieldError, FormError};
use crate::i18n::{self, t, Lang, T};
use crate::state::{st, toast, Route};
use crate::testids as id;

const SERVER_KEY: &str = "fieldpay.server";

fn stored_server() -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(SERVER_KEY)
        .ok()?
}

fn store_server(url: &str) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(SERVER_KEY, url);
    }
}

/// After a successful sign-in or sandbox start.
pub fn signed_in(info: AppInfo) {
    let s = st();
    s.status.set(info.status.clone());
    s.info.set(Some(info));
    s.stack.set(Vec::new());
    crate::state::go(Route::Home);
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let s = st();
    let server = RwSignal::new(
        s.info
            .get_untracked()
            .and_then(|i| i.server_url)
            .or_else(stored_server)
            .unwrap_or_default(),
    );
    let merchant = RwSignal::new(String::new());
    let rep = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let tried = RwSignal::new(false);
    let busy: RwSignal<Option<T>> = RwSignal::new(None);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);

    let server_err = Signal::derive(move || {
        if !tried.get() {
            return None;
        }
        let v = server.get();
        let v = v.trim();
        if v.is_empty() {
            Some(i18n::tr(T::Required))
        } else if !(v.starts_with("http://") || v.starts_with("https://")) {
            Some(i18n::tr(T::ErrServerUrl))
        } else {
            None
        }
    });
    let req = move |sig: RwSignal<String>| {
        Signal::derive(move || {
            (tried.get() && sig.with(|v| v.trim().is_empty())).then(|| i18n::tr(T::Required))
        })
    };
    let merchant_err = req(merchant);
    let rep_err = req(rep);
    let password_err = req(password);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        tried.set(true);
        error.set(None);
        if busy.get_untracked().is_some()
            || server_err.get_untracked().is_some()
            || merchant_err.get_untracked().is_some()
            || rep_err.get_untracked().is_some()
            || password_err.get_untracked().is_some()
        {
            return;
        }
        busy.set(Some(T::SigningIn));
        let url = server
            .get_untracked()
            .trim()
            .trim_end_matches('/')
            .to_string();
        let m = merchant.get_untracked().trim().to_string();
        let r = rep.get_untracked().trim().to_string();
        // Read once into a Secret (zeroized when dropped, never printed).
        let p = Secret::new(password.get_untracked());
        spawn_local(async move {
            match session::login(&url, &m, &r, p).await {
                Ok(info) => {
                    store_server(&url);
                    password.set(String::new());
                    busy.set(None);
                    signed_in(info);
                }
                Err(e) => {
                    busy.set(None);
                    error.set(Some(e));
                }
            }
        });
    };

    let sandbox = move |_| {
        if busy.get_untracked().is_some() {
            return;
        }
        error.set(None);
        busy.set(Some(T::StartingSandbox));
        spawn_local(async move {
            match session::start_sandbox().await {
                Ok(info) => {
                    busy.set(None);
                    signed_in(info);
                    toast(i18n::tr(T::SandboxBanner));
                }
                Err(e) => {
                    busy.set(None);
                    error.set(Some(e));
                }
            }
        });
    };

    view! {
        <div class="signin" data-testid=id::SCREEN data-screen="signin">
            <div class="signin-card">
                <div class="signin-head">
                    <span class="brand-mark big">"F"</span>
                    <div>
                        <h1>{t(T::AppName)}</h1>
                        <p class="lead">{t(T::SignInLead)}</p>
                    </div>
                    <div class="lang-switch">
                        <button class="chip" class:on=move || i18n::lang() == Lang::Ko
                                data-testid=id::LANG_KO on:click=move |_| i18n::set_lang(Lang::Ko)>
                            "한국어"
                        </button>
                        <button class="chip" class:on=move || i18n::lang() == Lang::En
                                data-testid=id::LANG_EN on:click=move |_| i18n::set_lang(Lang::En)>
                            "English"
                        </button>
                    </div>
                </div>

                <button class="btn sandbox-btn" data-testid=id::SANDBOX_START on:click=sandbox
                        disabled=move || busy.get().is_some()>
                    <span class="sandbox-title">{t(T::TrySandbox)}</span>
                    <span class="sandbox-sub">
                        {move || match i18n::lang() {
                            Lang::Ko => "Try sandbox · ".to_string() + i18n::tr(T::TrySandboxSub),
                            Lang::En => "샌드박스로 체험하기 · ".to_string() + i18n::tr(T::TrySandboxSub),
                        }}
                    </span>
                </button>

                <div class="divider"><span>{t(T::Or)}</span></div>

                <form class="form" on:submit=submit novalidate=true>
                    <label class="field">
                        <span class="label">{t(T::ServerAddress)}</span>
                        <input class="input" type="url" id=id::SIGNIN_SERVER data-testid=id::SIGNIN_SERVER
                               placeholder="https://pay.example.kr" autocomplete="url"
                               inputmode="url" bind:value=server/>
                        <FieldError field=id::SIGNIN_SERVER msg=server_err/>
                    </label>
                    <label class="field">
                        <span class="label">{t(T::Merchant)}</span>
                        <input class="input" id=id::SIGNIN_MERCHANT data-testid=id::SIGNIN_MERCHANT
                               autocomplete="organization" bind:value=merchant/>
                        <FieldError field=id::SIGNIN_MERCHANT msg=merchant_err/>
                    </label>
                    <label class="field">
                        <span class="label">{t(T::RepId)}</span>
                        <input class="input" id=id::SIGNIN_REP data-testid=id::SIGNIN_REP
                               autocomplete="username" autocapitalize="off" bind:value=rep/>
                        <FieldError field=id::SIGNIN_REP msg=rep_err/>
                    </label>
                    <label class="field">
                        <span class="label">{t(T::Password)}</span>
                        <input class="input" type="password" id=id::SIGNIN_PASSWORD
                               data-testid=id::SIGNIN_PASSWORD autocomplete="current-password"
                               bind:value=password/>
                        <FieldError field=id::SIGNIN_PASSWORD msg=password_err/>
                    </label>
                    <FormError err=error/>
                    <button class="btn primary wide" type="submit" data-testid=id::SIGNIN_SUBMIT
                            disabled=move || busy.get().is_some()>
                        {move || i18n::tr(busy.get().unwrap_or(T::SignInButton))}
                    </button>
                </form>
            </div>
        </div>
    }
}
