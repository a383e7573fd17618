//! Daily closing (일일 마감): totals by card company and by rep (the server's settlement) and
//! this device's payment requests of the day by status, from `daily_closing`; printable, and
//! as a PDF to preview, save and open.

use fieldpay_protocol::app::{DailyClosing, PdfDoc, StatusTotal};
use fieldpay_protocol::collection::MethodTotal;
use fieldpay_protocol::money::group_thousands;
use fieldpay_protocol::settlement::{SettlementReport, SettlementRow};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::charges;
use crate::components::icon::{Icon, Svg};
use crate::components::pdf::PdfPanel;
use crate::components::{load_view, Empty};
use crate::format;
use crate::i18n::{self, t, T};
use crate::state::Load;
use crate::testids as id;

#[component]
pub fn ClosingPage() -> impl IntoView {
    let date = RwSignal::new(format::today_kst());
    let closing: RwSignal<Load<DailyClosing>> = RwSignal::new(Load::Loading);
    let load = move || {
        let d = date.get_untracked();
        closing.set(Load::Loading);
        spawn_local(async move { closing.set(charges::daily_closing(Some(&d)).await.into()) });
    };
    Effect::new(move |_| {
        date.track();
        load();
    });
    let retry = Callback::new(move |_| load());
    let print = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };
    view! {
        <section class="page closing">
            <div class="toolbar no-print">
                <label class="field inline">
                    <span class="label">{t(T::Date)}</span>
                    <input class="input" type="date" data-testid=id::CLOSING_DATE id=id::CLOSING_DATE
                           prop:value=move || date.get()
                           on:change=move |ev| { let v = event_target_value(&ev); if !v.is_empty() { date.set(v) } }/>
                </label>
                <button class="btn" data-testid=id::CLOSING_PRINT on:click=print><Svg icon=Icon::Print/> {t(T::Print)}</button>
            </div>
            <h2 class="print-only">{t(T::TitleClosing)} " " {move || date.get()}</h2>
            {load_view(closing, retry, |c: DailyClosing| {
                let date = c.date.clone();
                view! {
                    <div class="columns">
                        <div class="card">
                            <h3 class="card-title">{t(T::ByCardCompany)} " " <small class="muted">{t(T::UnitWon)}</small></h3>
                            <Report r=c.settlement/>
                        </div>
                        <div class="card">
                            <h3 class="card-title">{t(T::ByStatus)} " " <small class="muted">{t(T::UnitWon)}</small></h3>
                            <ByStatus list=c.by_status/>
                        </div>
                    </div>
                    <div class="card">
                        <h3 class="card-title">{t(T::ByMethod)} " " <small class="muted">{t(T::UnitWon)}</small></h3>
                        <ByMethod list=c.collections/>
                    </div>
                    <div class="card no-print">
                        <PdfPanel doc=PdfDoc::Closing { date: Some(date) } title=T::PdfTitleClosing/>
                    </div>
                }
            })}
        </section>
    }
}

pub(crate) fn row_view(r: SettlementRow, testid: &'static str) -> impl IntoView {
    view! {
        <tr data-testid=testid data-key=r.key.clone()>
            <td>{r.name.clone()}</td>
            <td class="num">{r.approved_count}</td>
            <td class="num">{group_thousands(r.approved_amount)}</td>
            <td class="num hide-narrow">{group_thousands(r.refunded_amount)}</td>
            <td class="num strong">{group_thousands(r.net_amount)}</td>
        </tr>
    }
}

pub(crate) fn head(first: T) -> impl IntoView {
    view! {
        <thead>
            <tr>
                <th>{t(first)}</th>
                <th class="num">{t(T::CountCol)}</th>
                <th class="num">{t(T::Approved)}</th>
                <th class="num hide-narrow">{t(T::RefundedCol)}</th>
                <th class="num">{t(T::Net)}</th>
            </tr>
        </thead>
    }
}

#[component]
fn Report(r: SettlementReport) -> impl IntoView {
    if r.by_card_company.is_empty() && r.total.approved_count == 0 {
        return view! { <Empty text=T::NoSales/> }.into_any();
    }
    let mut total = r.total.clone();
    total.name = i18n::tr(T::TotalRow).to_string();
    view! {
        <div class="table-wrap">
            <table class="table">
                {head(T::CardCompany)}
                <tbody>
                    {r.by_card_company.into_iter().map(|row| row_view(row, id::CLOSING_ROW)).collect_view()}
                </tbody>
                <tfoot>{row_view(total, id::CLOSING_TOTAL)}</tfoot>
            </table>
        </div>
        {(!r.by_rep.is_empty()).then(|| view! {
            <h3 class="card-title">{t(T::ByRep)}</h3>
            <div class="table-wrap">
                <table class="table">
                    {head(T::RepCol)}
                    <tbody>{r.by_rep.into_iter().map(|row| row_view(row, id::CLOSING_ROW)).collect_view()}</tbody>
                </table>
            </div>
        })}
    }
    .into_any()
}

#[component]
fn ByStatus(list: Vec<StatusTotal>) -> impl IntoView {
    if list.is_empty() {
        return view! { <Empty text=T::NoPayments/> }.into_any();
    }
    let n: u64 = list.iter().map(|s| s.count).sum();
    let sum: i64 = list.iter().map(|s| s.amount).sum();
    view! {
        <table class="table">
            <thead>
                <tr><th>{t(T::Status)}</th><th class="num">{t(T::CountCol)}</th><th class="num">{t(T::Amount2)}</th></tr>
            </thead>
            <tbody>
                {list.into_iter().map(|StatusTotal { status: s, count, amount }| view! {
                    <tr data-testid=id::CLOSING_STATUS_ROW data-status=s.as_str()>
                        <td>{move || i18n::charge_status(s)}</td>
                        <td class="num">{count}</td>
                        <td class="num">{group_thousands(amount)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
            <tfoot>
                <tr><td>{t(T::TotalRow)}</td><td class="num">{n}</td><td class="num">{group_thousands(sum)}</td></tr>
            </tfoot>
        </table>
    }
    .into_any()
}

/// This device's collections of the day by method (cash, transfer, note), with the total.
#[component]
fn ByMethod(list: Vec<MethodTotal>) -> impl IntoView {
    if list.is_empty() {
        return view! { <Empty text=T::NoCollections/> }.into_any();
    }
    let n: u32 = list.iter().map(|s| s.count).sum();
    let sum: i64 = list.iter().map(|s| s.amount).sum();
    view! {
        <table class="table">
            <thead>
                <tr><th>{t(T::ColMethod)}</th><th class="num">{t(T::CountCol)}</th><th class="num">{t(T::Amount2)}</th></tr>
            </thead>
            <tbody>
                {list.into_iter().map(|MethodTotal { method, count, amount }| view! {
                    <tr data-testid=id::CLOSING_COLLECTION_ROW data-method=method.as_str()>
                        <td>{move || crate::pages::collection::method_name(method)}</td>
                        <td class="num">{count}</td>
                        <td class="num">{group_thousands(amount)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
            <tfoot>
                <tr data-testid=id::CLOSING_COLLECTION_TOTAL><td>{t(T::TotalRow)}</td><td class="num">{n}</td><td class="num">{group_thousands(sum)}</td></tr>
            </tfoot>
        </table>
    }
    .into_any()
}
