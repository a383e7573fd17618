//! Recording a collection (수금 등록) on a client: the method as three big choices (현금,
//! 계좌이체, 어음), the amount with thousands separators, a memo, the note's number, bank and
//! due date for 어음; then a confirmation, then the result (pending until synced: the balance
//! already shows it).

use fieldpay_protocol::app::{AccountDetail, CollectionForm, LocalCollection, SyncState};
use fieldpay_protocol::collection::{parse_date, CollectionMethod, PromissoryNote};
use fieldpay_protocol::money::{group_thousands, MAX_AMOUNT_KRW};
use fieldpay_protocol::ApiError;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::collections;
use crate::components::icon::{Icon, Svg};
use crate::components::{load_view, reveal, FieldError, FormError, FIRST_FIELD_ERROR};
use crate::format;
use crate::i18n::{self, t, T};
use crate::pages::home::track_changes;
use crate::state::{back, Load};
use crate::testids as id;

/// The name of a method in the current language.
pub fn method_name(m: CollectionMethod) -> String {
    i18n::pick(m.label_ko().into(), m.label_en().into())
}

pub fn method_icon(m: CollectionMethod) -> Icon {
    match m {
        CollectionMethod::Cash => Icon::Won,
        CollectionMethod::Transfer => Icon::Exchange,
        CollectionMethod::Note => Icon::Document,
    }
}

/// A collection's state as a badge: (class, text key, wire value).
pub fn state_badge(c: &LocalCollection) -> (&'static str, T, &'static str) {
    if c.collection.voided.is_some() {
        return ("badge bad", T::ColVoided, "voided");
    }
    match c.sync_state {
        SyncState::Synced => ("badge good", T::ColSynced, "synced"),
        SyncState::Rejected => ("badge bad", T::ColRejected, "rejected"),
        SyncState::Queued | SyncState::Local => ("badge warn", T::ColPending, "queued"),
    }
}

fn sync_name(s: SyncState) -> &'static str {
    match s {
        SyncState::Local => "local",
        SyncState::Queued => "queued",
        SyncState::Synced => "synced",
        SyncState::Rejected => "rejected",
    }
}

/// The first field the form refuses, with its message.
fn check(
    method: CollectionMethod,
    amount: Option<i64>,
    number: &str,
    bank: &str,
    due: &str,
    today: &str,
) -> Vec<(&'static str, T)> {
    let mut out = Vec::new();
    if !amount.is_some_and(|a| (1..=MAX_AMOUNT_KRW).contains(&a)) {
        out.push((id::COL_AMOUNT, T::ErrColAmount));
    }
    if method == CollectionMethod::Note {
        let n = number.trim();
        if n.is_empty()
            || n.chars().count() > 30
            || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            out.push((id::COL_NOTE_NUMBER, T::ErrColNoteNumber));
        }
        let b = bank.trim();
        if b.is_empty() || b.chars().count() > 30 {
            out.push((id::COL_NOTE_BANK, T::ErrColNoteBank));
        }
        let until = parse_date(today)
            .map(|(y, _, _)| format!("{:04}{}", y + 1, &today[4..]))
            .unwrap_or_default();
        if parse_date(due).is_none() || due < today || due > until.as_str() {
            out.push((id::COL_NOTE_DUE, T::ErrColNoteDue));
        }
    }
    out
}

#[derive(Clone, PartialEq)]
enum Step {
    Form,
    Confirm,
    Done(Box<LocalCollection>),
}

#[component]
pub fn CollectionPage(account_id: String) -> impl IntoView {
    let data: RwSignal<Load<AccountDetail>> = RwSignal::new(Load::Loading);
    let load = crate::pages::client::detail_loader(account_id, data);
    load();
    let retry = Callback::new(move |_| load());
    view! {
        <section class="page collection-new">
            {load_view(data, retry, |d: AccountDetail| view! { <Form d/> })}
        </section>
    }
}

#[component]
fn Form(d: AccountDetail) -> impl IntoView {
    let account = d.account.clone();
    let balance = d.balance;
    let method = RwSignal::new(CollectionMethod::Cash);
    let amount = RwSignal::new(String::new());
    let memo = RwSignal::new(String::new());
    let number = RwSignal::new(String::new());
    let bank = RwSignal::new(String::new());
    let due = RwSignal::new(String::new());
    let step = RwSignal::new(Step::Form);
    let tried = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);

    let amount_value = move || format::parse_amount(&amount.get());
    let errors = move || {
        check(
            method.get(),
            amount_value(),
            &number.get(),
            &bank.get(),
            &due.get(),
            &format::today_kst(),
        )
    };
    let err_of = move |field: &'static str| {
        Signal::derive(move || {
            if !tried.get() {
                return None;
            }
            errors()
                .into_iter()
                .find(|(f, _)| *f == field)
                .map(|(_, k)| i18n::tr(k))
        })
    };
    let amount_err = err_of(id::COL_AMOUNT);
    let number_err = err_of(id::COL_NOTE_NUMBER);
    let bank_err = err_of(id::COL_NOTE_BANK);
    let due_err = err_of(id::COL_NOTE_DUE);

    let review = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        tried.set(true);
        error.set(None);
        if errors().is_empty() {
            step.set(Step::Confirm);
        } else {
            reveal(FIRST_FIELD_ERROR);
        }
    };
    let aid = StoredValue::new(account.id.clone());
    let form_value = move || CollectionForm {
        account_id: aid.get_value(),
        method: method.get_untracked(),
        amount: amount_value().unwrap_or(0),
        memo: memo.get_untracked().trim().to_string(),
        note: (method.get_untracked() == CollectionMethod::Note).then(|| PromissoryNote {
            number: number.get_untracked().trim().to_string(),
            issuer_bank: bank.get_untracked().trim().to_string(),
            due_date: due.get_untracked(),
        }),
    };
    let record = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let form = form_value();
        spawn_local(async move {
            match collections::record_collection(&form).await {
                Ok(c) => {
                    busy.set(false);
                    step.set(Step::Done(Box::new(c)));
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e));
                    step.set(Step::Form);
                }
            }
        });
    };

    let name = account.name.clone();
    let head = view! {
        <div class="card slim">
            <span class="label">{t(T::Client)}</span>
            <strong>{name}</strong>
            <span class="row-sub">{t(T::Balance)} " " {format::won(balance)}</span>
        </div>
    };
    let choice = move |m: CollectionMethod| {
        view! {
            <button type="button" class="method" class:on=move || method.get() == m
                    data-testid=id::COL_METHOD data-method=m.as_str()
                    aria-pressed=move || (method.get() == m).to_string()
                    on:click=move |_| method.set(m)>
                <Svg icon=method_icon(m)/>
                <span>{move || method_name(m)}</span>
            </button>
        }
    };
    let form = move || {
        view! {
            <form class="form collection-form" on:submit=review novalidate=true>
                <div class="field">
                    <span class="label">{t(T::ColMethod)}</span>
                    <div class="method-choices" role="group">
                        {choice(CollectionMethod::Cash)}
                        {choice(CollectionMethod::Transfer)}
                        {choice(CollectionMethod::Note)}
                    </div>
                </div>
                <label class="field">
                    <span class="label">{t(T::ColAmount)}</span>
                    <div class="amount-input">
                        <input class="input big-input num" type="text" inputmode="numeric" id=id::COL_AMOUNT
                               data-testid=id::COL_AMOUNT placeholder="0"
                               aria-invalid=move || amount_err.get().is_some().to_string()
                               prop:value=move || amount_value().map(group_thousands).unwrap_or_default()
                               on:input=move |ev| amount.set(format::digits_only(&event_target_value(&ev)))/>
                        <span class="unit">"원"</span>
                    </div>
                    <span class="field-hint">{move || amount_value().map(format::won).unwrap_or_default()}</span>
                    <FieldError field=id::COL_AMOUNT msg=amount_err/>
                </label>
                {(balance > 0).then(|| view! {
                    <div class="chips">
                        <button type="button" class="chip" data-testid=id::AMOUNT_BALANCE
                                on:click=move |_| amount.set(balance.to_string())>
                            {t(T::AmountBalance)} " " {format::won(balance)}
                        </button>
                    </div>
                })}
                {move || (method.get() == CollectionMethod::Note).then(|| view! {
                    <div class="field-row">
                        <label class="field">
                            <span class="label">{t(T::ColNoteNumber)}</span>
                            <input class="input mono" id=id::COL_NOTE_NUMBER data-testid=id::COL_NOTE_NUMBER
                                   maxlength="30" autocomplete="off" bind:value=number/>
                            <FieldError field=id::COL_NOTE_NUMBER msg=number_err/>
                        </label>
                        <label class="field">
                            <span class="label">{t(T::ColNoteBank)}</span>
                            <input class="input" id=id::COL_NOTE_BANK data-testid=id::COL_NOTE_BANK
                                   maxlength="30" bind:value=bank/>
                            <FieldError field=id::COL_NOTE_BANK msg=bank_err/>
                        </label>
                    </div>
                    <label class="field">
                        <span class="label">{t(T::ColNoteDue)}</span>
                        <input class="input" type="date" id=id::COL_NOTE_DUE data-testid=id::COL_NOTE_DUE
                               prop:value=move || due.get()
                               on:change=move |ev| due.set(event_target_value(&ev))
                               on:input=move |ev| due.set(event_target_value(&ev))/>
                        <FieldError field=id::COL_NOTE_DUE msg=due_err/>
                    </label>
                })}
                <label class="field">
                    <span class="label">{t(T::ColMemo)}</span>
                    <input class="input" id=id::COL_MEMO data-testid=id::COL_MEMO maxlength="200" bind:value=memo/>
                </label>
                <FormError err=error/>
                <div class="sticky-actions">
                    <button type="submit" class="btn primary big wide" data-testid=id::COL_NEXT>
                        <Svg icon=Icon::Check/> {t(T::ColNext)}
                    </button>
                </div>
            </form>
        }
    };
    let confirm = move || {
        let f = form_value();
        let after = balance - f.amount;
        view! {
            <div class="card collection-summary" data-testid=id::COL_SUMMARY data-method=f.method.as_str()>
                <h3 class="card-title">{t(T::ColConfirmTitle)}</h3>
                <dl class="facts">
                    <dt>{t(T::ColMethod)}</dt>
                    <dd><span class="method-tag"><Svg icon=method_icon(f.method)/> {method_name(f.method)}</span></dd>
                    <dt>{t(T::ColAmount)}</dt>
                    <dd class="amount big">{format::won(f.amount)}</dd>
                    {f.note.clone().map(|n| view! {
                        <dt>{t(T::ColNoteNumber)}</dt><dd class="mono">{n.number}</dd>
                        <dt>{t(T::ColNoteBank)}</dt><dd>{n.issuer_bank}</dd>
                        <dt>{t(T::ColNoteDue)}</dt><dd>{n.due_date}</dd>
                    })}
                    {(!f.memo.is_empty()).then(|| view! { <dt>{t(T::ColMemo)}</dt><dd>{f.memo.clone()}</dd> })}
                    <dt>{t(T::ColBalanceAfter)}</dt>
                    <dd class="strong">{format::won(after)}</dd>
                </dl>
                <p class="hint-box">{t(T::ColReceiptNote)}</p>
                <div class="actions two">
                    <button class="btn big" data-testid=id::COL_EDIT on:click=move |_| step.set(Step::Form)>
                        <Svg icon=Icon::Pencil/> {t(T::ColEdit)}
                    </button>
                    <button class="btn primary big" data-testid=id::COL_CONFIRM disabled=move || busy.get()
                            on:click=record>
                        <Svg icon=Icon::Check/> {t(T::ColConfirm)}
                    </button>
                </div>
            </div>
        }
    };
    view! {
        {head}
        {move || match step.get() {
            Step::Form => form().into_any(),
            Step::Confirm => confirm().into_any(),
            Step::Done(c) => view! { <Done c=*c/> }.into_any(),
        }}
    }
}

/// The recorded collection, its state followed as the sync goes.
#[component]
fn Done(c: LocalCollection) -> impl IntoView {
    let current = RwSignal::new(c.clone());
    let (cid, aid) = (c.collection.id.clone(), c.collection.account_id.clone());
    Effect::new(move |_| {
        track_changes();
        let (cid, aid) = (cid.clone(), aid.clone());
        spawn_local(async move {
            if let Ok(list) = collections::collections(&aid).await {
                if let Some(x) = list.into_iter().find(|x| x.collection.id == cid) {
                    current.set(x);
                }
            }
        });
    });
    let col = c.collection;
    view! {
        <div class="card collection-result" data-testid=id::COL_RESULT
             data-id=col.id.clone()
             data-state=move || sync_name(current.get().sync_state)>
            <div class="result-head">
                <Svg icon=Icon::Check/>
                <h3 class="card-title">{t(T::ColSaved)}</h3>
                {move || {
                    let (class, key, _) = state_badge(&current.get());
                    view! { <span class=class>{t(key)}</span> }
                }}
            </div>
            <p class="amount big">
                <span class="method-tag"><Svg icon=method_icon(col.method)/> {method_name(col.method)}</span>
                " " {format::won(col.amount)}
            </p>
            {move || (current.get().sync_state != SyncState::Synced).then(|| view! {
                <p class="hint-box">{t(T::ColSavedOffline)}</p>
            })}
            <button class="btn primary big wide" data-testid=id::COL_BACK on:click=move |_| back()>
                {t(T::ColBackToClient)}
            </button>
        </div>
    }
}
