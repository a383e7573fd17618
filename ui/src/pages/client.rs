//! Client page: receivables balance and aging, credit limit and available credit, recent
//! orders and payments; "new order" and "collect" (→ the charge form with the balance).

use fieldpay_protocol::app::AccountDetail;
use fieldpay_protocol::records::LedgerKind;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::accounts;
use crate::components::icon::{Icon, Svg};
use crate::components::{load_view, Empty};
use crate::format;
use crate::i18n::{self, t, T};
use crate::pages::home::{track_changes, ChargeRow, OrderRow};
use crate::state::{go, remember_name, Load, Route};
use crate::testids as id;

#[component]
pub fn ClientPage(account_id: String) -> impl IntoView {
    let data: RwSignal<Load<AccountDetail>> = RwSignal::new(Load::Loading);
    let aid = StoredValue::new(account_id);
    let load = move || {
        let a = aid.get_value();
        spawn_local(async move {
            let r = accounts::account_detail(&a).await;
            if let Ok(d) = &r {
                remember_name(&d.account.id, &d.account.name);
            }
            data.set(r.into());
        });
    };
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

        <div class="actions two">
            <button class="btn primary big" data-testid=id::NEW_ORDER
                    on:click=move |_| go(Route::NewOrder { account_id: Some(aid_order.clone()) })>
                <Svg icon=Icon::Pencil/> {t(T::NewOrder)}
            </button>
            <button class="btn accent big" data-testid=id::COLLECT
                    on:click=move |_| go(Route::NewCharge { account_id: Some(aid_collect.clone()), order_id: None, collect: true })>
                <Svg icon=Icon::Won/> {t(T::Collect)}
            </button>
        </div>

        <div class="stats">
            <div class="stat">
                <span class="stat-label">{t(T::Balance)}</span>
                <span class="stat-value" class:due=move || { balance > 0 } data-testid=id::ACCOUNT_BALANCE>{format::won(balance)}</span>
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
                                    let kind = match e.kind {
                                        LedgerKind::Order => i18n::pick("주문".into(), "Order".into()),
                                        LedgerKind::Payment => i18n::pick("결제".into(), "Payment".into()),
                                        LedgerKind::Refund => i18n::pick("환불".into(), "Refund".into()),
                                        LedgerKind::Adjustment => i18n::pick("조정".into(), "Adjustment".into()),
                                    };
                                    view! {
                                        <tr>
                                            <td class="muted">{format::short_date_time(&e.at)}</td>
                                            <td>{kind}</td>
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
