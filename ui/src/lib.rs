//! FieldPay app UI: Leptos 0.8 (client-side rendering) compiled to wasm32, running inside the
//! Tauri shell (`src-tauri/`); it talks to the shell only through `backend` (docs/app-shell.md).

pub mod backend;
pub mod components;
pub mod format;
pub mod i18n;
pub mod pages;
pub mod state;
pub mod testids;

use fieldpay_protocol::app::EngineEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use crate::components::frame::{Frame, WIDE_PX};
use crate::i18n::{t, T};
use crate::state::{go, replace, route_from_location, st, AppState, Route};

fn window_width() -> f64 {
    web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|v| v.as_f64())
        .unwrap_or(400.0)
}

/// Applies one engine event to the app state.
fn on_engine_event(ev: EngineEvent) {
    let s = st();
    match ev {
        EngineEvent::Status(status) => s.status.set(status),
        EngineEvent::ChargeChanged(charge) => {
            s.charge_update.set(Some(*charge));
        }
        EngineEvent::OrderChanged(order) => {
            s.order_update.set(Some(*order));
        }
        EngineEvent::RecordsChanged => s.records_tick.update(|n| *n += 1),
        EngineEvent::SessionChanged => spawn_local(async move {
            if let Ok(info) = backend::session::app_info().await {
                s.status.set(info.status.clone());
                s.info.set(Some(info));
            }
        }),
    }
}

#[component]
pub fn App() -> impl IntoView {
    i18n::init();
    let from_hash = route_from_location();
    let s = AppState::init(from_hash.clone().unwrap_or(Route::Home));
    let booted = RwSignal::new(false);

    let wide = RwSignal::new(window_width() >= WIDE_PX);
    let _ = window_event_listener(leptos::ev::resize, move |_| {
        let w = window_width() >= WIDE_PX;
        if wide.get_untracked() != w {
            wide.set(w);
        }
    });
    // A hash set from outside (a link, WebDriver) opens that screen.
    let _ = window_event_listener(leptos::ev::hashchange, move |_| {
        if let Some(r) = route_from_location() {
            if r != s.route.get_untracked() {
                go(r);
            }
        }
    });

    spawn_local(async move {
        let info = backend::session::app_info().await;
        match info {
            Ok(info) => {
                let signed_in = info.session.is_some();
                s.status.set(info.status.clone());
                s.info.set(Some(info));
                match (&from_hash, signed_in) {
                    (_, false) => replace(Route::SignIn),
                    (None, true) => replace(Route::Home),
                    _ => {}
                }
            }
            Err(_) => replace(Route::SignIn),
        }
        booted.set(true);
        if let Err(e) = backend::listen_engine(on_engine_event).await {
            web_sys::console::warn_1(&JsValue::from_str(&format!(
                "engine events unavailable: {}",
                e.message
            )));
        }
    });

    let is_signin = Memo::new(move |_| s.route.with(|r| matches!(r, Route::SignIn)));
    // Signed in with a one-time password: a new password before anything else.
    let must_change = Memo::new(move |_| {
        s.info.with(|i| {
            i.as_ref()
                .and_then(|i| i.session.as_ref())
                .is_some_and(|r| r.must_change_password)
        })
    });
    move || {
        if !booted.get() {
            view! {
                <div class="splash" data-testid=testids::LOADING>
                    <span class="brand-mark big">"F"</span>
                    <span>{t(T::Loading)}</span>
                </div>
            }
            .into_any()
        } else if is_signin.get() {
            view! { <pages::signin::SignInPage/> }.into_any()
        } else if must_change.get() {
            view! { <pages::password::PasswordPage/> }.into_any()
        } else {
            view! { <Frame wide=wide.into()>{pages::current_page}</Frame> }.into_any()
        }
    }
}

#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}
