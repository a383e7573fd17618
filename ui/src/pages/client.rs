//! Client page: receivables balance and aging, credit limit and available credit, recent
//! orders and payments; "new order" and "collect" (→ the charge form with the balance).

use fieldpay_protocol::app::{AccountDetail, LocalCollection, LocalVisit, SyncState};
use fieldpay_protocol::records::LedgerKind;
use fieldpay_protocol::ApiError;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::{accounts, collections, visits};
use crate::components::icon::{Icon, Svg};
use crate::components::{load_view, Empty, FieldError, FormError};
use crate::format;
use crate::i18n::{self, t, T};
use crate::pages::collection::{method_icon, method_name, state_badge};
use crate::pages::home::{track_changes, ChargeRow, OrderRow, VisitRow};
use crate::pages::manager::Confirm;
use crate::state::{go, is_manager, remember_name, st, toast, Load, Route};
use crate::testids as id;

/// Loads a client's detail into `data` (its name remembered for lists), each time the
/// returned function is called: the client page and the collection form use it.
pub fn detail_loader(
    account_id: String,
    data: RwSignal<Load<AccountDetail>>,
) -> impl Fn() + Copy + 'static {
    let aid = StoredValue::new(account_id);
    move || {
        let a = aid.get_value();
        spawn_local(async move {
            let r = accounts::account_detail(&a).await;
            if let Ok(d) = &r {
                remember_name(&d.account.id, &d.account.name);
            }
            data.set(r.into());
        });
    }
}

#[component]
pub fn ClientPage(account_id: String) -> impl IntoView {
    let data: RwSignal<Load<AccountDetail>> = RwSignal::new(Load::Loading);
    let load = detail_loader(account_id, data);
    Effect::new(move |_| {
        track_changes();
        load();
    });
    let retry = Callback::new(move |_| load());

    view! {
        <section class="page client">
            {load_view(data, retry, |d: AccountDetail| view! { <ClientDetail d/> })}
        </section>
    }
}

#[component]
fn ClientDetail(d: AccountDetail) -> impl IntoView {
    let a = d.account.clone();
    let aid_order = a.id.clone();
    let aid_collect = a.id.clone();
    let aid_record = a.id.clone();
    let aid_return = a.id.clone();
    let pending_collected = d.pending_collected;
    let collections = d.collections.clone();
    let balance = d.balance;
    let aging = d.aging;
    let limit = a.credit_limit;
    let available = d.credit_available;
    let bucket = move |label: T, testid: &'static str, amount: i64| {
        let pct = if balance > 0 {
            (amount.max(0) * 100 / balance).min(100)
        } else {
            0
        };
        view! {
            <div class="aging-row">
                <span class="aging-label">{t(label)}</span>
                <span class="aging-bar"><span class="aging-fill" style=format!("width:{pct}%")></span></span>
                <span class="amount" data-testid=testid>{format::won(amount)}</span>
            </div>
        }
    };
    let tel = format!("tel:{}", format::digits_only(&a.phone));
    let ledger: Vec<_> = d.ledger.iter().rev().take(10).cloned().collect();
    let orders = d.recent_orders.clone();
    let charges = d.recent_charges.clone();
    view! {
        <div class="card account-card">
            <div class="account-head">
                <div>
                    <h2 class="account-name" data-testid=id::ACCOUNT_NAME>{a.name.clone()}</h2>
                    <p class="row-sub">{a.owner_name.clone()} " · " <span class="mono">{a.code.clone()}</span></p>
                </div>
                <a class="btn ghost" href=tel data-testid=id::CALL_CLIENT><Svg icon=Icon::Phone/> {format::phone(&a.phone)}</a>
            </div>
            <dl class="facts">
                <dt>{t(T::BusinessNo)}</dt><dd class="mono">{format::business_number(&a.business_number)}</dd>
                <dt>{t(T::Address)}</dt><dd>{a.address.clone()}</dd>
            </dl>
        </div>

        <div class="actions four client-actions">
            <button class="btn primary big" data-testid=id::NEW_ORDER
                    on:click=move |_| go(Route::NewOrder { account_id: Some(aid_order.clone()) })>
                <Svg icon=Icon::Pencil/> {t(T::NewOrder)}
            </button>
            <button class="btn accent big" data-testid=id::RECORD_COLLECTION
                    on:click=move |_| go(Route::NewCollection(aid_record.clone()))>
                <Svg icon=Icon::Receipt/> {t(T::RecordCollection)}
            </button>
            <button class="btn big" data-testid=id::COLLECT
                    on:click=move |_| go(Route::NewCharge { account_id: Some(aid_collect.clone()), order_id: None, collect: true })>
                <Svg icon=Icon::Phone/> {t(T::Collect)}
            </button>
            <button class="btn big" data-testid=id::NEW_RETURN
                    on:click=move |_| go(Route::NewReturn(aid_return.clone()))>
                <Svg icon=Icon::Retry/> {t(T::NewReturn)}
            </button>
        </div>

        <div class="stats">
            <div class="stat">
                <span class="stat-label">{t(T::Balance)}</span>
                <span class="stat-value" class:due=move || { balance > 0 } data-testid=id::ACCOUNT_BALANCE
                      data-pending=pending_collected.to_string()>{format::won(balance)}</span>
                {(pending_collected > 0).then(|| view! {
                    <span class="stat-sub pending-note" title=move || i18n::tr(T::ColPendingNote)>
                        {t(T::ColPending)} " -" {format::won(pending_collected)}
                    </span>
                })}
            </div>
            <div class="stat">
                <span class="stat-label">{t(T::CreditLimit)}</span>
                <span class="stat-value" data-testid=id::ACCOUNT_CREDIT_LIMIT>{format::won(limit)}</span>
            </div>
            <div class="stat">
                <span class="stat-label">{t(T::CreditAvailable)}</span>
                <span class="stat-value" class:bad-text=move || { available < 0 } data-testid=id::ACCOUNT_CREDIT_AVAILABLE>{format::won(available)}</span>
            </div>
        </div>

        <div class="columns">
            <div class="card">
                <h3 class="card-title">{t(T::Aging)}</h3>
                {bucket(T::Aging0_30, id::AGING_0_30, aging.days_0_30)}
                {bucket(T::Aging31_60, id::AGING_31_60, aging.days_31_60)}
                {bucket(T::Aging61_90, id::AGING_61_90, aging.days_61_90)}
                {bucket(T::AgingOver90, id::AGING_OVER_90, aging.days_over_90)}
            </div>
            <div class="card">
                <h3 class="card-title">{move || i18n::pick("원장 (최근)".into(), "Ledger (recent)".into())}</h3>
                {if ledger.is_empty() {
                    view! { <Empty text=T::NoOrdersYet/> }.into_any()
                } else {
                    view! {
                        <table class="table compact">
                            <tbody>
                                {ledger.into_iter().map(|e| {
                                    let kind = ledger_kind(e.kind);
                                    // A collection's memo names its method (현금 수금, 어음 수금 ...).
                                    let detail = matches!(e.kind, LedgerKind::Collection | LedgerKind::CollectionVoid)
                                        .then(|| e.memo.clone());
                                    view! {
                                        <tr data-testid=id::LEDGER_ROW data-kind=e.kind.to_string()>
                                            <td class="muted">{format::short_date_time(&e.at)}</td>
                                            <td>{t(kind)} {detail.map(|m| view! { <small class="row-sub ledger-memo">{m}</small> })}</td>
                                            <td class="num" class:good-text=move || { e.amount < 0 }>{format::won(e.amount)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </div>
        </div>

        <VisitPanel account_id=a.id.clone()/>

        <div class="card">
            <h3 class="card-title">{t(T::Collections)}</h3>
            <CollectionList list=collections/>
        </div>

        <div class="columns">
            <div>
                <h3 class="section-title">{t(T::RecentOrders)}</h3>
                {if orders.is_empty() {
                    view! { <Empty text=T::NoOrdersYet/> }.into_any()
                } else {
                    view! { <ul class="list">{orders.into_iter().map(|o| view! { <OrderRow order=o/> }).collect_view()}</ul> }.into_any()
                }}
            </div>
            <div>
                <h3 class="section-title">{t(T::RecentPayments)}</h3>
                {if charges.is_empty() {
                    view! { <Empty text=T::NoPaymentsYet/> }.into_any()
                } else {
                    view! { <ul class="list">{charges.into_iter().map(|c| view! { <ChargeRow charge=c testid=id::PAYMENT_ROW/> }).collect_view()}</ul> }.into_any()
                }}
            </div>
        </div>
    }
}

fn ledger_kind(k: LedgerKind) -> T {
    match k {
        LedgerKind::Order => T::LedgerOrder,
        LedgerKind::Payment => T::LedgerPayment,
        LedgerKind::Refund => T::LedgerRefund,
        LedgerKind::Adjustment => T::LedgerAdjustment,
        LedgerKind::Collection => T::LedgerCollection,
        LedgerKind::CollectionVoid => T::LedgerCollectionVoid,
        LedgerKind::Return => T::LedgerReturn,
    }
}

/// The client's collections: method, amount, state; a manager may void one (with a reason).
#[component]
fn CollectionList(list: Vec<LocalCollection>) -> impl IntoView {
    if list.is_empty() {
        return view! { <Empty text=T::NoCollectionsYet/> }.into_any();
    }
    view! {
        <ul class="list collections">
            {list.into_iter().map(|c| view! { <CollectionRow c/> }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn CollectionRow(c: LocalCollection) -> impl IntoView {
    let (class, key, state) = state_badge(&c);
    let col = c.collection.clone();
    let voidable = is_manager() && col.voided.is_none() && c.sync_state == SyncState::Synced;
    let voiding = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let tried = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);
    let reason_err = Signal::derive(move || {
        (tried.get() && reason.with(|r| r.trim().is_empty())).then(|| i18n::tr(T::ErrColVoidReason))
    });
    let cid = StoredValue::new(col.id.clone());
    let on_yes = Callback::new(move |_| {
        tried.set(true);
        let r = reason.get_untracked();
        if r.trim().is_empty() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let id = cid.get_value();
        spawn_local(async move {
            match collections::void_collection(&id, r.trim()).await {
                Ok(_) => {
                    busy.set(false);
                    voiding.set(false);
                    toast(i18n::tr(T::ColVoidDone));
                    st().records_tick.update(|n| *n += 1);
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e));
                }
            }
        });
    });
    let detail = col
        .note
        .as_ref()
        .map(|n| format!("{} · {} · {}", n.number, n.issuer_bank, n.due_date));
    let void_reason = col.voided.as_ref().map(|v| v.reason.clone());
    view! {
        <li class="row collection-row" data-testid=id::COLLECTION_ROW data-id=col.id.clone()
            data-method=col.method.as_str() data-state=state data-voided=col.voided.is_some().to_string()>
            <div class="row-main">
                <span class="row-title">
                    <span class="method-tag"><Svg icon=method_icon(col.method)/> {method_name(col.method)}</span>
                    " " <span class="amount" class:struck=col.voided.is_some()>{format::won(col.amount)}</span>
                </span>
                <span class="row-sub">
                    {format::short_date_time(&col.collected_at)}
                    {detail.map(|d| view! { " · " <span class="mono">{d}</span> })}
                    {(!col.memo.is_empty()).then(|| format!(" · {}", col.memo))}
                </span>
                {void_reason.map(|r| view! { <span class="row-sub bad-text">{t(T::ColVoidReason)} ": " {r}</span> })}
                {move || voiding.get().then(|| view! {
                    <div class="void-box">
                        <label class="field">
                            <span class="label">{t(T::ColVoidReason)}</span>
                            <input class="input" id=id::COL_VOID_REASON data-testid=id::COL_VOID_REASON
                                   maxlength="200" bind:value=reason/>
                            <FieldError field=id::COL_VOID_REASON msg=reason_err/>
                        </label>
                        <FormError err=error/>
                        <div class="actions">
                            <button class="btn ghost" on:click=move |_| voiding.set(false)>{t(T::Cancel)}</button>
                            <Confirm label=T::ColVoidConfirm testid=id::COL_VOID_CONFIRM danger=true busy on_yes/>
                        </div>
                    </div>
                })}
            </div>
            <div class="row-side">
                <span class=class data-status=state>{t(key)}</span>
                {move || (voidable && !voiding.get()).then(|| view! {
                    <button class="btn ghost small-btn" data-testid=id::COL_VOID
                            on:click=move |_| voiding.set(true)>
                        <Svg icon=Icon::Undo/> {t(T::ColVoid)}
                    </button>
                })}
            </div>
        </li>
    }
}

/// How long the check-in waits for the OS's location before going on without it.
const LOCATION_TIMEOUT_MS: u32 = 3000;

/// "방문 체크인" with an optional note (the location when the OS grants it in time), and the
/// client's recent visits; an open visit can be checked out.
#[component]
fn VisitPanel(account_id: String) -> impl IntoView {
    let aid = StoredValue::new(account_id);
    let list: RwSignal<Load<Vec<LocalVisit>>> = RwSignal::new(Load::Loading);
    let load = move || {
        let a = aid.get_value();
        spawn_local(async move { list.set(visits::account_visits(&a, 5).await.into()) });
    };
    Effect::new(move |_| {
        track_changes();
        load();
    });
    let retry = Callback::new(move |_| load());
    let open = RwSignal::new(false);
    let note = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);
    let confirm = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let n = note.get_untracked();
        spawn_local(async move {
            let location = visits::current_location(LOCATION_TIMEOUT_MS).await;
            match visits::check_in(&aid.get_value(), &n, location).await {
                Ok(_) => {
                    toast(i18n::tr(T::CheckedIn));
                    note.set(String::new());
                    open.set(false);
                    load();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="card visit-panel">
            {move || if open.get() {
                view! {
                    <div class="form">
                        <label class="field">
                            <span class="label">{t(T::VisitNote)}</span>
                            <textarea class="input" rows="2" maxlength="500" data-testid=id::VISIT_NOTE id=id::VISIT_NOTE
                                      placeholder=t(T::VisitNoteHint) bind:value=note></textarea>
                        </label>
                        <FormError err=error/>
                        <div class="actions two">
                            <button class="btn ghost big" type="button" on:click=move |_| open.set(false)>{t(T::Cancel)}</button>
                            <button class="btn primary big" type="button" data-testid=id::CHECK_IN_CONFIRM
                                    disabled=move || busy.get() on:click=confirm>
                                <Svg icon=Icon::Pin/> {move || i18n::tr(if busy.get() { T::Working } else { T::CheckInConfirm })}
                            </button>
                        </div>
                    </div>
                }.into_any()
            } else {
                view! {
                    <button class="btn big wide" type="button" data-testid=id::CHECK_IN on:click=move |_| open.set(true)>
                        <Svg icon=Icon::Pin/> {t(T::CheckIn)}
                    </button>
                }.into_any()
            }}
            <h3 class="card-title">{t(T::RecentVisits)}</h3>
            {load_view(list, retry, move |vs: Vec<LocalVisit>| {
                if vs.is_empty() {
                    return view! { <Empty text=T::NoVisitsYet/> }.into_any();
                }
                view! {
                    <ul class="list">
                        {vs.into_iter().map(|v| {
                            let extra = v.visit.checked_out_at.is_none().then(|| {
                                let vid = v.visit.id.clone();
                                view! {
                                    <button class="btn ghost" type="button" data-testid=id::CHECK_OUT data-id=vid.clone()
                                            on:click=move |_| {
                                                let vid = vid.clone();
                                                spawn_local(async move {
                                                    match visits::check_out(&vid).await {
                                                        Ok(_) => { toast(i18n::tr(T::CheckedOut)); load(); }
                                                        Err(e) => toast(e.message),
                                                    }
                                                });
                                            }>
                                        <Svg icon=Icon::Check/> {t(T::CheckOut)}
                                    </button>
                                }.into_any()
                            });
                            view! { <VisitRow v testid=id::VISIT_ROW show_client=false extra=extra/> }
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </div>
    }
}
