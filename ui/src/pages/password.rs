//! First sign-in with a one-time password: the rep sets a new one before anything else (the
//! server refuses every other call until then).

use fieldpay_protocol::{ApiError, Secret};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::{manager, session};
use crate::components::{FieldError, FormError};
use crate::i18n::{self, t, T};
use crate::state::{replace, st, toast, Route};
use crate::testids as id;

/// The shortest password (the server's rule).
pub const MIN_CHARS: usize = 8;

/// What is wrong with the new password typed twice, if anything: (field, message).
pub fn check_new_password(current: &str, new: &str, confirm: &str) -> Option<(&'static str, T)> {
    if new.chars().count() < MIN_CHARS {
        return Some((id::PW_NEW, T::PwTooShort));
    }
    if new == current {
        return Some((id::PW_NEW, T::PwSame));
    }
    if new != confirm {
        return Some((id::PW_CONFIRM, T::PwMismatch));
    }
    None
}

#[component]
pub fn PasswordPage() -> impl IntoView {
    let s = st();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let tried = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);

    let problem = Memo::new(move |_| {
        if !tried.get() {
            return None;
        }
        check_new_password(&current.get(), &new.get(), &confirm.get())
    });
    let current_err = Signal::derive(move || {
        (tried.get() && current.with(|c| c.is_empty())).then(|| i18n::tr(T::Required))
    });
    let err_of = move |field: &'static str| {
        Signal::derive(move || {
            problem
                .get()
                .filter(|(f, _)| *f == field)
                .map(|(_, m)| i18n::tr(m))
        })
    };
    let new_err = err_of(id::PW_NEW);
    let confirm_err = err_of(id::PW_CONFIRM);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        tried.set(true);
        error.set(None);
        if busy.get_untracked()
            || current_err.get_untracked().is_some()
            || problem.get_untracked().is_some()
        {
            return;
        }
        busy.set(true);
        let cur = Secret::new(current.get_untracked());
        let nw = Secret::new(new.get_untracked());
        spawn_local(async move {
            match manager::change_password(cur, nw).await {
                Ok(info) => {
                    current.set(String::new());
                    new.set(String::new());
                    confirm.set(String::new());
                    s.status.set(info.status.clone());
                    s.info.set(Some(info));
                    toast(i18n::tr(T::PwChanged));
                    replace(Route::Home);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let sign_out = move |_| {
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
        });
    };
    let who = move || {
        s.info
            .get()
            .and_then(|i| i.session)
            .map(|r| format!("{} ({}) · {}", r.name, r.login, r.merchant_name))
            .unwrap_or_default()
    };
    view! {
        <div class="signin" data-testid=id::SCREEN data-screen="password">
            <div class="signin-card">
                <div class="signin-head">
                    <span class="brand-mark big">"F"</span>
                    <div>
                        <h1>{t(T::PwTitle)}</h1>
                        <p class="lead">{who}</p>
                    </div>
                </div>
                <p class="hint-box">{t(T::PwLead)}</p>
                <form class="form" on:submit=submit novalidate=true>
                    <label class="field">
                        <span class="label">{t(T::PwCurrent)}</span>
                        <input class="input" type="password" id=id::PW_CURRENT data-testid=id::PW_CURRENT
                               autocomplete="current-password" bind:value=current/>
                        <FieldError field=id::PW_CURRENT msg=current_err/>
                    </label>
                    <label class="field">
                        <span class="label">{t(T::PwNew)}</span>
                        <input class="input" type="password" id=id::PW_NEW data-testid=id::PW_NEW
                               autocomplete="new-password" bind:value=new/>
                        <FieldError field=id::PW_NEW msg=new_err/>
                    </label>
                    <label class="field">
                        <span class="label">{t(T::PwConfirm)}</span>
                        <input class="input" type="password" id=id::PW_CONFIRM data-testid=id::PW_CONFIRM
                               autocomplete="new-password" bind:value=confirm/>
                        <FieldError field=id::PW_CONFIRM msg=confirm_err/>
                    </label>
                    <FormError err=error/>
                    <button class="btn primary wide big" type="submit" data-testid=id::PW_SUBMIT
                            disabled=move || busy.get()>
                        {move || i18n::tr(if busy.get() { T::Working } else { T::PwSubmit })}
                    </button>
                </form>
                <button class="btn ghost wide" data-testid=id::SIGN_OUT on:click=sign_out>{t(T::SignOut)}</button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_password_is_long_enough_new_and_typed_twice_alike() {
        assert_eq!(
            check_new_password("otp-1234", "short", "short"),
            Some((id::PW_NEW, T::PwTooShort))
        );
        // Eight characters counted as characters, not bytes.
        assert_eq!(
            check_new_password("x", "비밀번호비밀번호", "비밀번호비밀번호"),
            None
        );
        assert_eq!(
            check_new_password("비밀번호", "비밀번호", "비밀번호"),
            Some((id::PW_NEW, T::PwTooShort))
        );
        assert_eq!(
            check_new_password("otp-12345", "otp-12345", "otp-12345"),
            Some((id::PW_NEW, T::PwSame))
        );
        assert_eq!(
            check_new_password("otp-1234", "new-pass-1", "new-pass-2"),
            Some((id::PW_CONFIRM, T::PwMismatch))
        );
        assert_eq!(
            check_new_password("otp-1234", "new-pass-1", "new-pass-1"),
            None
        );
    }
}
