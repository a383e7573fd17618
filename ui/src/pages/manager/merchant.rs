//! Merchant settings: every setting a manager sees; the ones the operator allows are editable
//! (the rest show their value with "operator only"). Saving sends only what changed.

use fieldpay_protocol::manager::{ManagerSetting, ManagerSettings, ManagerSettingsPatch};
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
    pub credit_policy: CreditPolicy,
    pub require_birth_date: bool,
    pub require_password: bool,
    pub expiry: String,
    /// Empty: no manual prices below the price list.
    pub discount: String,
}

impl Draft {
    pub fn of(s: &ManagerSettings) -> Draft {
        Draft {
            credit_policy: s.credit_policy,
            require_birth_date: s.require_birth_date,
            require_password: s.require_password,
            expiry: s.default_expiry_minutes.to_string(),
            discount: s
                .manual_price_max_discount_pct
                .map(|d| d.to_string())
                .unwrap_or_default(),
        }
    }
}

/// What changed from `s` among the editable settings, or the setting whose number is not one.
pub fn patch_of(s: &ManagerSettings, d: &Draft) -> Result<ManagerSettingsPatch, ManagerSetting> {
    let may = |k: ManagerSetting| s.editable.contains(&k);
    let mut p = ManagerSettingsPatch::default();
    if may(ManagerSetting::CreditPolicy) && d.credit_policy != s.credit_policy {
        p.credit_policy = Some(d.credit_policy);
    }
    if may(ManagerSetting::RequireBirthDate) && d.require_birth_date != s.require_birth_date {
        p.require_birth_date = Some(d.require_birth_date);
    }
    if may(ManagerSetting::RequirePassword) && d.require_password != s.require_password {
        p.require_password = Some(d.require_password);
    }
    if may(ManagerSetting::DefaultExpiryMinutes) {
        let m: u32 = d
            .expiry
            .trim()
            .parse()
            .map_err(|_| ManagerSetting::DefaultExpiryMinutes)?;
        if m != s.default_expiry_minutes {
            p.default_expiry_minutes = Some(m);
        }
    }
    if may(ManagerSetting::ManualPriceMaxDiscountPct) {
        let v = d.discount.trim();
        let pct = if v.is_empty() {
            None
        } else {
            Some(
                v.parse::<u8>()
                    .ok()
                    .filter(|p| *p <= 100)
                    .ok_or(ManagerSetting::ManualPriceMaxDiscountPct)?,
            )
        };
        if pct != s.manual_price_max_discount_pct {
            p.manual_price_max_discount_pct = Some(pct);
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
    let data: RwSignal<Load<ManagerSettings>> = RwSignal::new(Load::Loading);
    let load = move || spawn_local(async move { data.set(manager::settings().await.into()) });
    Effect::new(move |_| load());
    let retry = Callback::new(move |_| {
        data.set(Load::Loading);
        load()
    });
    view! {
        <section class="page merchant-settings">
            <OnlineHint/>
            {mgr_load_view(data, retry, move |s: ManagerSettings| view! { <Form s data/> }.into_any())}
        </section>
    }
}

#[component]
fn Form(s: ManagerSettings, data: RwSignal<Load<ManagerSettings>>) -> impl IntoView {
    let draft = RwSignal::new(Draft::of(&s));
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);
    let bad: RwSignal<Option<ManagerSetting>> = RwSignal::new(None);
    let orig = StoredValue::new(s.clone());
    let may = move |k: ManagerSetting| orig.with_value(|s| s.editable.contains(&k));

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
                    {(!editable).then(|| view! { <span class="badge muted">"🔒 " {t(T::OperatorOnly)}</span> })}
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
    let on_off = move |v: bool| i18n::tr(if v { T::On } else { T::Off }).to_string();
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
    let policy = view! {
        <div class="segmented">
            <button class="seg" class:on=move || draft.with(|d| d.credit_policy == CreditPolicy::Warn)
                    data-testid=id::SETTING_INPUT data-setting="credit_policy" data-value="warn"
                    on:click=move |_| draft.update(|d| d.credit_policy = CreditPolicy::Warn)>{t(T::PolicyWarn)}</button>
            <button class="seg" class:on=move || draft.with(|d| d.credit_policy == CreditPolicy::Block)
                    data-testid=id::SETTING_INPUT data-setting="credit_policy" data-value="block"
                    on:click=move |_| draft.update(|d| d.credit_policy = CreditPolicy::Block)>{t(T::PolicyBlock)}</button>
        </div>
    }
    .into_any();
    let expiry = view! {
        <input class="input short" inputmode="numeric" data-testid=id::SETTING_INPUT
               data-setting="default_expiry_minutes"
               prop:value=move || draft.with(|d| d.expiry.clone())
               on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| d.expiry = v) }/>
    }
    .into_any();
    let discount = view! {
        <input class="input short" inputmode="numeric" data-testid=id::SETTING_INPUT
               data-setting="manual_price_max_discount_pct" placeholder=t(T::SetDiscountNone)
               prop:value=move || draft.with(|d| d.discount.clone())
               on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| d.discount = v) }/>
    }
    .into_any();
    let policy_text = i18n::tr(match s.credit_policy {
        CreditPolicy::Warn => T::PolicyWarn,
        CreditPolicy::Block => T::PolicyBlock,
    })
    .to_string();
    let any_editable = !s.editable.is_empty();
    view! {
        <div class="card">
            <ul class="list settings-list">
                {row(ManagerSetting::CreditPolicy, T::SetCreditPolicy, policy, policy_text)}
                {row(ManagerSetting::RequireBirthDate, T::SetBirthDate,
                     switch(ManagerSetting::RequireBirthDate, |d| d.require_birth_date, |d, v| d.require_birth_date = v),
                     on_off(s.require_birth_date))}
                {row(ManagerSetting::RequirePassword, T::SetPassword,
                     switch(ManagerSetting::RequirePassword, |d| d.require_password, |d, v| d.require_password = v),
                     on_off(s.require_password))}
                {row(ManagerSetting::DefaultExpiryMinutes, T::SetExpiry, expiry, s.default_expiry_minutes.to_string())}
                {row(ManagerSetting::ManualPriceMaxDiscountPct, T::SetDiscount, discount,
                     s.manual_price_max_discount_pct.map(|d| format!("{d}%")).unwrap_or_else(|| i18n::tr(T::SetDiscountNone).to_string()))}
                <li class="setting-row" data-testid=id::SETTING_ROW data-setting="auto_pay" data-editable="false">
                    <div class="setting-label">
                        <span class="row-title">{t(T::SetAutoPay)}</span>
                        <span class="badge muted">"🔒 " {t(T::OperatorOnly)}</span>
                    </div>
                    <div class="setting-control"><span class="setting-value">{on_off(s.auto_pay)}</span></div>
                </li>
                <li class="setting-row" data-testid=id::SETTING_ROW data-setting="installments" data-editable="false">
                    <div class="setting-label">
                        <span class="row-title">{t(T::SetInstallments)}</span>
                        <span class="badge muted">"🔒 " {t(T::OperatorOnly)}</span>
                    </div>
                    <div class="setting-control"><span class="setting-value">{on_off(s.installments)}</span></div>
                </li>
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

    fn settings(editable: Vec<ManagerSetting>) -> ManagerSettings {
        ManagerSettings {
            credit_policy: CreditPolicy::Block,
            require_birth_date: true,
            require_password: false,
            default_expiry_minutes: 60,
            manual_price_max_discount_pct: Some(10),
            auto_pay: false,
            installments: true,
            editable,
        }
    }

    #[test]
    fn only_changed_editable_settings_are_sent() {
        let s = settings(vec![
            ManagerSetting::CreditPolicy,
            ManagerSetting::DefaultExpiryMinutes,
            ManagerSetting::ManualPriceMaxDiscountPct,
        ]);
        let mut d = Draft::of(&s);
        assert_eq!(patch_of(&s, &d).unwrap(), ManagerSettingsPatch::default());
        d.credit_policy = CreditPolicy::Warn;
        // Not editable: not sent even when changed.
        d.require_birth_date = false;
        d.expiry = " 90 ".into();
        d.discount = String::new();
        let p = patch_of(&s, &d).unwrap();
        assert_eq!(p.credit_policy, Some(CreditPolicy::Warn));
        assert_eq!(p.require_birth_date, None);
        assert_eq!(p.default_expiry_minutes, Some(90));
        assert_eq!(p.manual_price_max_discount_pct, Some(None));
        d.expiry = "an hour".into();
        assert_eq!(patch_of(&s, &d), Err(ManagerSetting::DefaultExpiryMinutes));
        d.expiry = "60".into();
        d.discount = "101".into();
        assert_eq!(
            patch_of(&s, &d),
            Err(ManagerSetting::ManualPriceMaxDiscountPct)
        );
        // Nothing editable: nothing sent, whatever the form says.
        let ro = settings(Vec::new());
        let mut d = Draft::of(&ro);
        d.expiry = "oops".into();
        d.require_password = true;
        assert_eq!(patch_of(&ro, &d).unwrap(), ManagerSettingsPatch::default());
    }
}
