//! Payments: every charge with its status; a row opens the detail (receipt, refund).

use fieldpay_protocol::app::LocalCharge;
use fieldpay_protocol::charge::ChargeStatus;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::charges;
use crate::components::icon::{Icon, Svg};
use crate::components::{load_view, Empty};
use crate::format;
use crate::i18n::{self, t, T};
use crate::pages::home::{track_changes, ChargeRow};
use crate::state::{go, Load, Route};
use crate::testids as id;

fn matches_filter(f: &str, s: ChargeStatus) -> bool {
    match f {
        "approved" => s == ChargeStatus::Approved,
        "pending" => s.is_pending(),
        "other" => matches!(
            s,
            ChargeStatus::Canceled | ChargeStatus::Expired | ChargeStatus::Refunded
        ),
        _ => true,
    }
}

#[component]
pub fn PaymentsPage() -> impl IntoView {
    let data: RwSignal<Load<Vec<LocalCharge>>> = RwSignal::new(Load::Loading);
    let load =
        move || spawn_local(async move { data.set(charges::charges(None, 300).await.into()) });
    Effect::new(move |_| {
        track_changes();
        load();
    });
    let retry = Callback::new(move |_| load());
    let filter = RwSignal::new("all");
    let chip = move |key: &'static str, label: T| {
        view! {
            <button class="chip" class:on=move || filter.get() == key data-testid=id::PAYMENT_FILTER
                    data-filter=key on:click=move |_| filter.set(key)>{t(label)}</button>
        }
    };
    view! {
        <section class="page payments">
            <div class="toolbar">
                <div class="chips">
                    {chip("all", T::FilterAll)}
                    {chip("approved", T::FilterApproved)}
                    {chip("pending", T::FilterPending)}
                    {chip("other", T::FilterOther)}
                </div>
                <button class="btn accent" data-testid=id::NEW_CHARGE
                        on:click=move |_| go(Route::NewCharge { account_id: None, order_id: None, collect: true })>
                    <Svg icon=Icon::Won/> {t(T::NewCharge)}
                </button>
            </div>
            {load_view(data, retry, move |list: Vec<LocalCharge>| {
                move || {
                    let f = filter.get();
                    let shown: Vec<LocalCharge> = list.iter().filter(|c| matches_filter(f, c.charge.status)).cloned().collect();
                    let approved: i64 = shown.iter().filter(|c| c.charge.status == ChargeStatus::Approved).map(|c| c.charge.amount).sum();
                    if shown.is_empty() {
                        view! { <Empty text=T::NoPayments/> }.into_any()
                    } else {
                        view! {
                            <p class="summary-line">
                                {i18n::count(shown.len() as u64)} " · " {t(T::Approved)} " " {format::won(approved)}
                            </p>
                            <ul class="list">
                                {shown.into_iter().map(|c| view! { <ChargeRow charge=c testid=id::PAYMENT_ROW/> }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                }
            })}
        </section>
    }
}
