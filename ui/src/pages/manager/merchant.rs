//! Merchant settings: every setting a manager sees; the ones the operator allows
//! (`manager_may_change`) are editable, the rest show their value with "operator only".
//! Saving sends only what changed.

use fieldpay_protocol::admin::{ManagerSetting, SettingsPatch, SettingsValues};
use fieldpay_protocol::records::CreditPolicy;
use fieldpay_protocol::ApiError;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{mgr_load_view, Gate, OnlineHint};
use crate::backend::manager;
use crate::components::FormError;
use crate::i18n::{self, t, T};
use crate::state::{toast, Load};
use crate::testids as id;

/// The form's values (numbers as typed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub require_birth_date: bool,
    pub require_password: bool,
    pub credit_policy: CreditPolicy,
    pub auto_pay: bool,
    pub installments_allowed: bool,
    pub expiry: String,
    pub attempts: String,
    /// Empty: no limit.
    pub texts_per_hour: String,
    /// Empty: price-list prices only.
    pub discount: String,
}

fn opt_text<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

impl Draft {
    pub fn of(s: &SettingsValues) -> Draft {
        Draft {
            require_birth_date: s.require_birth_date,
            require_password: s.require_password,
            credit_policy: s.credit_policy,
            auto_pay: s.auto_pay,
            installments_allowed: s.installments_allowed,
            expiry: s.default_expiry_minutes.to_string(),
            attempts: s.approval_attempt_limit.to_string(),
            texts_per_hour: opt_text(s.texts_per_hour),
            discount: opt_text(s.manual_price_max_discount_pct),
        }
    }
}

/// A number typed in `range`, or `k` (the setting that is wrong).
fn number<N: std::str::FromStr + PartialOrd>(
    v: &str,
    lo: N,
    hi: N,
    k: ManagerSetting,
) -> Result<N, ManagerSetting> {
    v.trim()
        .parse::<N>()
        .ok()
        .filter(|n| *n >= lo && *n <= hi)
        .ok_or(k)
}

/// An optional number (empty: none).
fn optional<N: std::str::FromStr + PartialOrd>(
    v: &str,
    lo: N,
    hi: N,
    k: ManagerSetting,
) -> Result<Option<N>, ManagerSetting> {
    if v.trim().is_empty() {
        Ok(None)
    } else {
        number(v, lo, hi, k).map(Some)
    }
}

/// What changed from `s` among the editable settings, or the setting whose number is wrong.
pub fn patch_of(s: &SettingsValues, d: &Draft) -> Result<SettingsPatch, ManagerSetting> {
    use ManagerSetting as M;
    let may = |k: M| s.manager_may_change.contains(&k);
    let changed = |k: M, differs: bool| may(k) && differs;
    let mut p = SettingsPatch::default();
    if changed(
        M::RequireBirthDate,
        d.require_birth_date != s.require_birth_date,
    ) {
        p.require_birth_date = Some(d.require_birth_date);
    }
    if changed(M::RequirePassword, d.require_password != s.require_password) {
        p.require_password = Some(d.require_password);
    }
    if changed(M::CreditPolicy, d.credit_policy != s.credit_policy) {
        p.credit_policy = Some(d.credit_policy);
    }
    if changed(M::AutoPay, d.auto_pay != s.auto_pay) {
        p.auto_pay = Some(d.auto_pay);
    }
    if changed(
        M::InstallmentsAllowed,
        d.installments_allowed != s.installments_allowed,
    ) {
        p.installments_allowed = Some(d.installments_allowed);
    }
    if may(M::DefaultExpiryMinutes) {
        let m = number(&d.expiry, 1u32, 10_080, M::DefaultExpiryMinutes)?;
        if m != s.default_expiry_minutes {
            p.default_expiry_minutes = Some(m);
        }
    }
    if may(M::ApprovalAttemptLimit) {
        let n = number(&d.attempts, 1u32, 20, M::ApprovalAttemptLimit)?;
        if n != s.approval_attempt_limit {
            p.approval_attempt_limit = Some(n);
        }
    }
    if may(M::TextsPerHour) {
        let n = optional(&d.texts_per_hour, 1u32, 1_000_000, M::TextsPerHour)?;
        if n != s.texts_per_hour {
            p.texts_per_hour = Some(n);
        }
    }
    if may(M::ManualPriceMaxDiscountPct) {
        let n = optional(&d.discount, 0u8, 100, M::ManualPriceMaxDiscountPct)?;
        if n != s.manual_price_max_discount_pct {
            p.manual_price_max_discount_pct = Some(n);
        }
    }
    Ok(p)
}

#[component]
pub fn MerchantSettingsPage() -> impl IntoView {
    view! { <Gate><SettingsView/></Gate> }
}

#[component]
fn SettingsView() -> impl IntoView {
    let data: RwSignal<Load<SettingsValues>> = RwSignal::new(Load::Loading);
    let load = move || spawn_local(async move { data.set(manager::settings().await.into()) });
    Effect::new(move |_| load());
    let retry = Callback::new(move |_| {
        data.set(Load::Loading);
        load()
    });
    view! {
        <section class="page merchant-settings">
            <OnlineHint/>
            {mgr_load_view(data, retry, move |s: SettingsValues| view! { <Form s data/> }.into_any())}
        </section>
    }
}

#[component]
fn Form(s: SettingsValues, data: RwSignal<Load<SettingsValues>>) -> impl IntoView {
    use ManagerSetting as M;
    let draft = RwSignal::new(Draft::of(&s));
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);
    let bad: RwSignal<Option<ManagerSetting>> = RwSignal::new(None);
    let orig = StoredValue::new(s.clone());
    let may = move |k: ManagerSetting| orig.with_value(|s| s.manager_may_change.contains(&k));

    let save = move |_| {
        error.set(None);
        bad.set(None);
        let p = match orig.with_value(|s| patch_of(s, &draft.get_untracked())) {
            Ok(p) => p,
            Err(k) => {
                bad.set(Some(k));
                return;
            }
        };
        if p.touched().is_empty() {
            toast(i18n::tr(T::NothingChanged));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match manager::update_settings(p).await {
                Ok(v) => {
                    toast(i18n::tr(T::SettingsSaved));
                    data.set(Load::Ready(v));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    let row = move |k: ManagerSetting, label: T, control: AnyView, value: String| {
        let editable = may(k);
        view! {
            <li class="setting-row" data-testid=id::SETTING_ROW data-setting=k.as_str()
                data-editable=editable.to_string()>
                <div class="setting-label">
                    <span class="row-title">{t(label)}</span>
                    {(!editable).then(|| view! { <span class="badge muted">{t(T::OperatorOnly)}</span> })}
                </div>
                <div class="setting-control">
                    {if editable { control } else { view! { <span class="setting-value">{value}</span> }.into_any() }}
                    {move || (bad.get() == Some(k)).then(|| view! {
                        <p class="field-error" data-testid=id::FIELD_ERROR data-field=k.as_str() role="alert">{t(T::NumberInvalid)}</p>
                    })}
                </div>
            </li>
        }
    };
    let on_off = |v: bool| i18n::tr(if v { T::On } else { T::Off }).to_string();
    let switch = move |k: ManagerSetting, get: fn(&Draft) -> bool, set: fn(&mut Draft, bool)| {
        view! {
            <div class="segmented">
                <button class="seg" class:on=move || draft.with(get) data-testid=id::SETTING_INPUT
                        data-setting=k.as_str() data-value="on"
                        on:click=move |_| draft.update(|d| set(d, true))>{t(T::On)}</button>
                <button class="seg" class:on=move || !draft.with(get) data-testid=id::SETTING_INPUT
                        data-setting=k.as_str() data-value="off"
                        on:click=move |_| draft.update(|d| set(d, false))>{t(T::Off)}</button>
            </div>
        }
        .into_any()
    };
    let num_input = move |k: ManagerSetting,
                          get: fn(&Draft) -> String,
                          set: fn(&mut Draft, String),
                          placeholder: Option<T>| {
        view! {
            <input class="input short" inputmode="numeric" data-testid=id::SETTING_INPUT
                   data-setting=k.as_str() placeholder=move || placeholder.map(i18n::tr).unwrap_or("")
                   prop:value=move || draft.with(get)
                   on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| set(d, v)) }/>
        }
        .into_any()
    };
    let policy_btn = move |p: CreditPolicy, label: T| {
        view! {
            <button class="seg" class:on=move || draft.with(|d| d.credit_policy == p)
                    data-testid=id::SETTING_INPUT data-setting="credit_policy"
                    data-value=if p == CreditPolicy::Warn { "warn" } else { "block" }
                    on:click=move |_| draft.update(|d| d.credit_policy = p)>{t(label)}</button>
        }
    };
    let policy = view! {
        <div class="segmented">
            {policy_btn(CreditPolicy::Warn, T::PolicyWarn)}
            {policy_btn(CreditPolicy::Block, T::PolicyBlock)}
        </div>
    }
    .into_any();
    let policy_text = i18n::tr(match s.credit_policy {
        CreditPolicy::Warn => T::PolicyWarn,
        CreditPolicy::Block => T::PolicyBlock,
    })
    .to_string();
    let none = |v: Option<String>, t: T| v.unwrap_or_else(|| i18n::tr(t).to_string());
    let any_editable = !s.manager_may_change.is_empty();
    view! {
        <div class="card">
            <ul class="list settings-list">
                {row(M::CreditPolicy, T::SetCreditPolicy, policy, policy_text)}
                {row(M::RequireBirthDate, T::SetBirthDate,
                     switch(M::RequireBirthDate, |d| d.require_birth_date, |d, v| d.require_birth_date = v),
                     on_off(s.require_birth_date))}
                {row(M::RequirePassword, T::SetPassword,
                     switch(M::RequirePassword, |d| d.require_password, |d, v| d.require_password = v),
                     on_off(s.require_password))}
                {row(M::AutoPay, T::SetAutoPay,
                     switch(M::AutoPay, |d| d.auto_pay, |d, v| d.auto_pay = v),
                     on_off(s.auto_pay))}
                {row(M::InstallmentsAllowed, T::SetInstallments,
                     switch(M::InstallmentsAllowed, |d| d.installments_allowed, |d, v| d.installments_allowed = v),
                     on_off(s.installments_allowed))}
                {row(M::DefaultExpiryMinutes, T::SetExpiry,
                     num_input(M::DefaultExpiryMinutes, |d| d.expiry.clone(), |d, v| d.expiry = v, None),
                     s.default_expiry_minutes.to_string())}
                {row(M::ApprovalAttemptLimit, T::SetAttempts,
                     num_input(M::ApprovalAttemptLimit, |d| d.attempts.clone(), |d, v| d.attempts = v, None),
                     s.approval_attempt_limit.to_string())}
                {row(M::TextsPerHour, T::SetTextsPerHour,
                     num_input(M::TextsPerHour, |d| d.texts_per_hour.clone(), |d, v| d.texts_per_hour = v, Some(T::NoLimit)),
                     none(s.texts_per_hour.map(|n| n.to_string()), T::NoLimit))}
                {row(M::ManualPriceMaxDiscountPct, T::SetDiscount,
                     num_input(M::ManualPriceMaxDiscountPct, |d| d.discount.clone(), |d, v| d.discount = v, Some(T::SetDiscountNone)),
                     none(s.manual_price_max_discount_pct.map(|d| format!("{d}%")), T::SetDiscountNone))}
            </ul>
            <FormError err=error/>
            {any_editable.then(|| view! {
                <button class="btn primary big wide" data-testid=id::SETTINGS_SAVE disabled=move || busy.get()
                        on:click=save>{t(T::SaveSettings)}</button>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(may: Vec<ManagerSetting>) -> SettingsValues {
        SettingsValues {
            require_birth_date: true,
            require_password: false,
            credit_policy: CreditPolicy::Block,
            default_expiry_minutes: 60,
            auto_pay: false,
            installments_allowed: true,
            approval_attempt_limit: 3,
            texts_per_hour: None,
            manual_price_max_discount_pct: Some(10),
            manager_may_change: may,
        }
    }

    #[test]
    fn only_changed_editable_settings_are_sent() {
        use ManagerSetting as M;
        let s = settings(vec![
            M::CreditPolicy,
            M::DefaultExpiryMinutes,
            M::ManualPriceMaxDiscountPct,
            M::TextsPerHour,
        ]);
        let mut d = Draft::of(&s);
        assert_eq!(patch_of(&s, &d).unwrap(), SettingsPatch::default());
        d.credit_policy = CreditPolicy::Warn;
        // Not editable: not sent even when changed.
        d.require_birth_date = false;
        d.expiry = " 90 ".into();
        d.discount = String::new();
        d.texts_per_hour = "30".into();
        let p = patch_of(&s, &d).unwrap();
        assert_eq!(p.credit_policy, Some(CreditPolicy::Warn));
        assert_eq!(p.require_birth_date, None);
        assert_eq!(p.default_expiry_minutes, Some(90));
        assert_eq!(p.manual_price_max_discount_pct, Some(None));
        assert_eq!(p.texts_per_hour, Some(Some(30)));
        assert_eq!(p.touched().len(), 4);
        d.expiry = "an hour".into();
        assert_eq!(patch_of(&s, &d), Err(M::DefaultExpiryMinutes));
        d.expiry = "0".into();
        assert_eq!(patch_of(&s, &d), Err(M::DefaultExpiryMinutes));
        d.expiry = "60".into();
        d.discount = "101".into();
        assert_eq!(patch_of(&s, &d), Err(M::ManualPriceMaxDiscountPct));
        // Nothing editable: nothing sent, whatever the form says.
        let ro = settings(Vec::new());
        let mut d = Draft::of(&ro);
        d.expiry = "oops".into();
        d.require_password = true;
        assert_eq!(patch_of(&ro, &d).unwrap(), SettingsPatch::default());
    }
}
