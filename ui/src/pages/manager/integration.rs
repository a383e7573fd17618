//! Integration: API keys (created and shown once, revoked), the webhook URL and its recent
//! deliveries with their status, and the payment-link key (comes with the web channels).

use fieldpay_protocol::manager::{ApiKeyInfo, DeliveryStatus, Integration, WebhookDelivery};
use fieldpay_protocol::ApiError;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{mgr_load_view, Confirm, Gate, OnlineHint, SecretOnce};
use crate::backend::manager;
use crate::components::icon::{Icon, Svg};
use crate::components::{Empty, FieldError, FormError};
use crate::format;
use crate::i18n::{self, t, T};
use crate::state::{toast, Load};
use crate::testids as id;

pub fn delivery_tone(s: DeliveryStatus) -> (&'static str, T) {
    match s {
        DeliveryStatus::Pending => ("warn", T::DelPending),
        DeliveryStatus::Delivered => ("good", T::DelDelivered),
        DeliveryStatus::Failed => ("bad", T::DelFailed),
    }
}

#[component]
pub fn IntegrationPage() -> impl IntoView {
    view! { <Gate><IntegrationView/></Gate> }
}

#[component]
fn IntegrationView() -> impl IntoView {
    let data: RwSignal<Load<Integration>> = RwSignal::new(Load::Loading);
    let load = move || spawn_local(async move { data.set(manager::integration().await.into()) });
    Effect::new(move |_| load());
    let retry = Callback::new(move |_| {
        data.set(Load::Loading);
        load()
    });
    let reload = Callback::new(move |_| load());
    // The key just made: (name, secret).
    let secret: RwSignal<Option<(String, String)>> = RwSignal::new(None);
    // The payment-link key just made.
    let link_secret: RwSignal<Option<String>> = RwSignal::new(None);
    view! {
        <section class="page integration">
            <OnlineHint/>
            {move || secret.get().map(|(name, key)| view! {
                <SecretOnce title=T::ApiKeySecret hint=T::ApiKeyOnce subject=name value=key
                            testid=id::API_KEY_SECRET on_dismiss=Callback::new(move |_| secret.set(None))/>
            })}
            {move || link_secret.get().map(|key| view! {
                <SecretOnce title=T::LinkKeySecret hint=T::LinkKeyOnce subject=String::new() value=key
                            testid=id::LINK_KEY_SECRET on_dismiss=Callback::new(move |_| link_secret.set(None))/>
            })}
            {mgr_load_view(data, retry, move |i: Integration| {
                view! {
                    <div class="columns">
                        <div class="card">
                            <h3 class="card-title">{t(T::ApiKeys)}</h3>
                            <NewKey secret reload/>
                            {if i.api_keys.is_empty() {
                                view! { <Empty text=T::NoApiKeys/> }.into_any()
                            } else {
                                view! {
                                    <ul class="list keys">
                                        {i.api_keys.into_iter().map(|k| view! { <KeyRow k reload/> }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </div>
                        <div>
                            <div class="card">
                                <h3 class="card-title">{t(T::Webhook)}</h3>
                                {match i.webhook_url {
                                    Some(u) => view! { <p class="mono wrap" data-testid=id::WEBHOOK_URL>{u}</p> }.into_any(),
                                    None => view! { <p class="muted" data-testid=id::WEBHOOK_URL data-empty="true">{t(T::WebhookNone)}</p> }.into_any(),
                                }}
                                <h4 class="section-title">{t(T::Deliveries)}</h4>
                                {if i.recent_deliveries.is_empty() {
                                    view! { <Empty text=T::NoDeliveries/> }.into_any()
                                } else {
                                    view! {
                                        <ul class="list deliveries">
                                            {i.recent_deliveries.into_iter().map(delivery_row).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                            </div>
                            <div class="card">
                                <h3 class="card-title">{t(T::LinkKey)}</h3>
                                <p class="hint">{t(T::LinkKeyHint)}</p>
                                {match i.link_key_created_at {
                                    Some(at) => view! {
                                        <p data-testid=id::LINK_KEY>{t(T::LinkKeyMade)} " " {format::date_time(&at)}</p>
                                    }.into_any(),
                                    None => view! { <p class="muted" data-testid=id::LINK_KEY data-empty="true">{t(T::LinkKeyNone)}</p> }.into_any(),
                                }}
                                <RotateLinkKey shown=link_secret reload/>
                            </div>
                        </div>
                    </div>
                }.into_any()
            })}
        </section>
    }
}

fn delivery_row(d: WebhookDelivery) -> impl IntoView {
    let (tone, label) = delivery_tone(d.status);
    view! {
        <li class="delivery" data-testid=id::DELIVERY_ROW data-status=d.status.as_str()>
            <div class="delivery-head">
                <span class="mono">{d.event_type.clone()}</span>
                <span class=format!("badge {tone}")>{t(label)}</span>
            </div>
            <div class="row-sub">
                {format::short_date_time(&d.created_at)} " · " {t(T::Attempts)} " " {d.attempts}
                {d.last_status.map(|c| view! { " · HTTP " <span class="mono">{c}</span> })}
            </div>
            {d.last_error.clone().map(|e| view! { <div class="row-sub bad-text ellipsis">{e}</div> })}
        </li>
    }
}

#[component]
fn KeyRow(k: ApiKeyInfo, reload: Callback<()>) -> impl IntoView {
    let busy = RwSignal::new(false);
    let kid = StoredValue::new(k.id.clone());
    let revoke = Callback::new(move |_| {
        busy.set(true);
        spawn_local(async move {
            match manager::revoke_api_key(&kid.get_value()).await {
                Ok(()) => {
                    toast(i18n::tr(T::RevokedDone));
                    reload.run(());
                }
                Err(e) => toast(e.message),
            }
            busy.set(false);
        });
    });
    let revoked = k.revoked_at.is_some();
    view! {
        <li class="key-row" class:inactive=revoked data-testid=id::KEY_ROW data-id=k.id.clone()
            data-revoked=revoked.to_string()>
            <div class="key-main">
                <span class="row-title">{k.name.clone()}</span>
                <span class="mono row-sub">{format!("{}…", k.prefix)}</span>
                <span class="row-sub">
                    {format::short_date_time(&k.created_at)} " · " {t(T::LastUsed)} " "
                    {match k.last_used_at.clone() {
                        Some(u) => format::short_date_time(&u).into_any(),
                        None => t(T::NeverUsed).into_any(),
                    }}
                </span>
            </div>
            {if revoked {
                view! { <span class="badge muted">{t(T::Revoked)}</span> }.into_any()
            } else {
                view! { <Confirm label=T::Revoke testid=id::KEY_REVOKE danger=true busy on_yes=revoke/> }.into_any()
            }}
        </li>
    }
}

#[component]
fn NewKey(secret: RwSignal<Option<(String, String)>>, reload: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let tried = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);
    let name_err = Signal::derive(move || {
        (tried.get() && name.with(|n| n.trim().is_empty())).then(|| i18n::tr(T::Required))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        tried.set(true);
        error.set(None);
        if busy.get_untracked() || name_err.get_untracked().is_some() {
            return;
        }
        busy.set(true);
        let n = name.get_untracked().trim().to_string();
        spawn_local(async move {
            match manager::create_api_key(&n).await {
                Ok(k) => {
                    secret.set(Some((k.key.name.clone(), k.secret.expose().to_string())));
                    name.set(String::new());
                    tried.set(false);
                    crate::components::reveal("[data-testid=api-key-secret]");
                    reload.run(());
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="form new-key" on:submit=submit novalidate=true>
            <label class="field">
                <span class="label">{t(T::ApiKeyName)}</span>
                <input class="input" id=id::KEY_NAME data-testid=id::KEY_NAME autocomplete="off"
                       placeholder=t(T::ApiKeyNameHint) bind:value=name/>
                <FieldError field=id::KEY_NAME msg=name_err/>
            </label>
            <FormError err=error/>
            <button class="btn primary big wide" type="submit" data-testid=id::KEY_CREATE disabled=move || busy.get()>
                <Svg icon=Icon::Plus/> {t(T::CreateKey)}
            </button>
        </form>
    }
}

/// "Make a new link key", asked twice (links signed with the old key stop at once).
#[component]
fn RotateLinkKey(shown: RwSignal<Option<String>>, reload: Callback<()>) -> impl IntoView {
    let busy = RwSignal::new(false);
    let rotate = Callback::new(move |_| {
        busy.set(true);
        spawn_local(async move {
            match manager::rotate_link_key().await {
                Ok(k) => {
                    shown.set(Some(k.key.expose().to_string()));
                    crate::components::reveal("[data-testid=link-key-secret]");
                    reload.run(());
                }
                Err(e) => toast(e.message),
            }
            busy.set(false);
        });
    });
    view! { <Confirm label=T::LinkKeyRotate testid=id::LINK_KEY_ROTATE danger=true busy on_yes=rotate/> }
}
