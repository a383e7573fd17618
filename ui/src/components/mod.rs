//! Shared pieces: states (loading / empty / error), badges, form errors, the account search
//! box and the app frame.

pub mod account_search;
pub mod frame;
pub mod icon;
pub mod pdf;

use fieldpay_protocol::app::{LocalOrder, SyncState};
use fieldpay_protocol::charge::ChargeStatus;
use fieldpay_protocol::records::OrderStatus;
use fieldpay_protocol::ApiError;
use leptos::prelude::*;

use crate::i18n::{self, t, tr, T};
use crate::state::Load;
use crate::testids as id;

/// Loading state.
#[component]
pub fn Spinner() -> impl IntoView {
    view! {
        <div class="state loading" data-testid=id::LOADING role="status">
            <span class="spinner" aria-hidden="true"></span>
            <span>{t(T::Loading)}</span>
        </div>
    }
}

/// Empty state.
#[component]
pub fn Empty(text: T) -> impl IntoView {
    view! { <div class="state empty" data-testid=id::EMPTY>{t(text)}</div> }
}

/// A failed load: the shell's message (and code), with a retry button.
#[component]
pub fn ErrorBox(err: ApiError, #[prop(optional)] on_retry: Option<Callback<()>>) -> impl IntoView {
    let code = err.code.as_str();
    let message = if err.code == fieldpay_protocol::ErrorCode::Unavailable
        && !crate::backend::shell_present()
    {
        tr(T::NoShell).to_string()
    } else {
        err.message.clone()
    };
    view! {
        <div class="state error" data-testid=id::ERROR data-code=code role="alert">
            <strong>{t(T::LoadFailed)}</strong>
            <p class="error-message">{message}</p>
            <p class="error-code">{code}</p>
            {on_retry.map(|cb| view! {
                <button class="btn" data-testid=id::RETRY on:click=move |_| cb.run(())>
                    {t(T::Retry)}
                </button>
            })}
        </div>
    }
}

/// Scrolls the first element matching `selector` to the middle of the screen, after the next
/// render (a form shows what is wrong where the rep looks).
pub fn reveal(selector: &'static str) {
    request_animation_frame(move || {
        let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(selector).ok().flatten())
        else {
            return;
        };
        let opts = web_sys::ScrollIntoViewOptions::new();
        opts.set_block(web_sys::ScrollLogicalPosition::Center);
        opts.set_behavior(web_sys::ScrollBehavior::Smooth);
        el.scroll_into_view_with_scroll_into_view_options(&opts);
    });
}

/// Selector of the first field error.
pub const FIRST_FIELD_ERROR: &str = "[data-testid=field-error]";
/// Selector of the shell's refusal.
pub const FIRST_FORM_ERROR: &str = "[data-testid=form-error]";

/// Renders a [`Load`]: spinner, error (with retry) or the ready value.
pub fn load_view<T, V>(
    data: RwSignal<Load<T>>,
    retry: Callback<()>,
    ready: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || match data.get() {
        Load::Loading => view! { <Spinner/> }.into_any(),
        Load::Failed(err) => view! { <ErrorBox err=err on_retry=retry/> }.into_any(),
        Load::Ready(v) => ready(v).into_any(),
    }
}

/// An error under a form field (`data-testid="field-error"`, `id="<field>-error"`).
#[component]
pub fn FieldError(field: &'static str, msg: Signal<Option<&'static str>>) -> impl IntoView {
    let err_id = format!("{field}-error");
    move || {
        msg.get().map(|m| {
            view! {
                <p class="field-error" id=err_id.clone() data-testid=id::FIELD_ERROR
                   data-field=field role="alert">{m}</p>
            }
        })
    }
}

/// The shell refused an action: its typed message.
#[component]
pub fn FormError(err: RwSignal<Option<ApiError>>) -> impl IntoView {
    move || {
        err.get().map(|e| {
            view! {
                <div class="form-error" data-testid=id::FORM_ERROR data-code=e.code.as_str()
                     role="alert">
                    <strong>{t(T::ShellRefused)}</strong>
                    <span>{e.message.clone()}</span>
                    <small>{e.code.as_str()}</small>
                </div>
            }
        })
    }
}

/// The status a purchase order shows: draft, signed, queued (전송 대기), registered (등록),
/// rejected (반려), canceled.
pub fn order_display_status(o: &LocalOrder) -> (&'static str, T, &'static str) {
    let st = o.order.status;
    if st == OrderStatus::Rejected || o.sync_state == SyncState::Rejected {
        return ("rejected", T::StRejected, "bad");
    }
    if st == OrderStatus::Canceled {
        return ("canceled", T::StCanceled, "muted");
    }
    if st == OrderStatus::Registered {
        return ("registered", T::StRegistered, "good");
    }
    if o.sync_state == SyncState::Queued && st != OrderStatus::Draft {
        return ("queued", T::StQueued, "warn");
    }
    match st {
        OrderStatus::Draft => ("draft", T::StDraft, "muted"),
        _ => ("signed", T::StSigned, "info"),
    }
}

#[component]
pub fn OrderBadge(order: LocalOrder) -> impl IntoView {
    let (status, label, tone) = order_display_status(&order);
    let is_return = order.order.kind.is_return();
    view! {
        <span class="badges">
            {is_return.then(|| view! {
                <span class="badge warn" data-testid=id::RETURN_BADGE>{t(T::ReturnBadge)}</span>
            })}
            <span class=format!("badge {tone}") data-testid=id::ORDER_STATUS data-status=status>
                {t(label)}
            </span>
        </span>
    }
}

pub fn charge_tone(s: ChargeStatus) -> &'static str {
    match s {
        ChargeStatus::Approved => "good",
        ChargeStatus::Declined => "bad",
        ChargeStatus::Queued => "warn",
        ChargeStatus::Expired | ChargeStatus::Canceled | ChargeStatus::Refunded => "muted",
        _ => "info",
    }
}

#[component]
pub fn ChargeBadge(
    status: ChargeStatus,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    view! {
        <span class=format!("badge {}", charge_tone(status)) data-testid=testid
              data-status=status.as_str()>
            {move || i18n::charge_status(status)}
        </span>
    }
}

/// The account name for an id (from the cache; looked up once when unknown).
#[component]
pub fn AccountName(account_id: String) -> impl IntoView {
    let s = crate::state::st();
    let known = s.names.with_untracked(|m| m.contains_key(&account_id));
    if !known {
        let aid = account_id.clone();
        leptos::task::spawn_local(async move {
            if let Ok(d) = crate::backend::accounts::account_detail(&aid).await {
                crate::state::remember_name(&d.account.id, &d.account.name);
            }
        });
    }
    move || {
        s.names
            .with(|m| m.get(&account_id).cloned())
            .unwrap_or_else(|| "…".to_string())
    }
}
