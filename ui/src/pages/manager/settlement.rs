//! Settlement (정산) of a day or a month: by card company (with the total) and by rep, from
//! the server; the server's CSV saved under `exports/`, and a PDF made by the app.

use fieldpay_protocol::app::PdfDoc;
use fieldpay_protocol::settlement::SettlementReport;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{mgr_load_view, Gate, OnlineHint};
use crate::backend::{documents, manager};
use crate::components::icon::{Icon, Svg};
use crate::components::pdf::PdfPanel;
use crate::components::Empty;
use crate::format;
use crate::i18n::{self, t, T};
use crate::pages::closing::{head, row_view};
use crate::state::{toast, Load};
use crate::testids as id;

/// `YYYY-MM` of a `YYYY-MM-DD` day.
pub fn month_of(day: &str) -> String {
    day.get(..7).unwrap_or(day).to_string()
}

#[component]
pub fn SettlementPage() -> impl IntoView {
    view! { <Gate><Settlement/></Gate> }
}

#[component]
fn Settlement() -> impl IntoView {
    let monthly = RwSignal::new(false);
    let day = RwSignal::new(format::today_kst());
    let month = RwSignal::new(month_of(&format::today_kst()));
    let period = Memo::new(move |_| {
        if monthly.get() {
            month.get()
        } else {
            day.get()
        }
    });
    let data: RwSignal<Load<SettlementReport>> = RwSignal::new(Load::Loading);
    let load = move || {
        let p = period.get_untracked();
        data.set(Load::Loading);
        spawn_local(async move { data.set(manager::settlement(&p).await.into()) });
    };
    Effect::new(move |_| {
        period.track();
        load();
    });
    let retry = Callback::new(move |_| load());
    let csv_path: RwSignal<Option<String>> = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let save_csv = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let p = period.get_untracked();
        spawn_local(async move {
            match manager::export_settlement_csv(&p).await {
                Ok(path) => csv_path.set(Some(path)),
                Err(e) => toast(e.message),
            }
            busy.set(false);
        });
    };
    let open_csv = move |_| {
        if let Some(p) = csv_path.get_untracked() {
            spawn_local(async move {
                if let Err(e) = documents::open_export(&p).await {
                    toast(e.message);
                }
            });
        }
    };
    let mode = move |m: bool, label: T| {
        view! {
            <button class="seg" class:on=move || monthly.get() == m data-testid=id::SETTLE_MODE
                    data-mode=if m { "month" } else { "day" }
                    on:click=move |_| { csv_path.set(None); monthly.set(m) }>{t(label)}</button>
        }
    };
    view! {
        <section class="page settlement">
            <OnlineHint/>
            <div class="toolbar settle-bar">
                <div class="segmented">{mode(false, T::Day)}{mode(true, T::Month)}</div>
                {move || if monthly.get() {
                    view! {
                        <input class="input" type="month" data-testid=id::SETTLE_MONTH id=id::SETTLE_MONTH
                               aria-label=t(T::Month) placeholder="YYYY-MM"
                               prop:value=move || month.get()
                               on:change=move |ev| { let v = event_target_value(&ev); if v.len() == 7 { csv_path.set(None); month.set(v) } }/>
                    }.into_any()
                } else {
                    view! {
                        <input class="input" type="date" data-testid=id::SETTLE_DATE id=id::SETTLE_DATE
                               aria-label=t(T::Date)
                               prop:value=move || day.get()
                               on:change=move |ev| { let v = event_target_value(&ev); if !v.is_empty() { csv_path.set(None); day.set(v) } }/>
                    }.into_any()
                }}
            </div>
            {mgr_load_view(data, retry, move |r: SettlementReport| {
                let period = r.date.clone();
                let empty = r.by_card_company.is_empty() && r.total.approved_count == 0 && r.total.refunded_count == 0;
                let mut total = r.total.clone();
                total.name = i18n::tr(T::TotalRow).to_string();
                view! {
                    <div class="columns">
                        <div class="card">
                            <h3 class="card-title">{t(T::ByCardCompany)} " " <small class="muted">{t(T::UnitWon)}</small></h3>
                            {if empty {
                                view! { <Empty text=T::NoSalesPeriod/> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap">
                                        <table class="table">
                                            {head(T::CardCompany)}
                                            <tbody>{r.by_card_company.into_iter().map(|x| row_view(x, id::SETTLE_ROW)).collect_view()}</tbody>
                                            <tfoot>{row_view(total, id::SETTLE_TOTAL)}</tfoot>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                        </div>
                        <div class="card">
                            <h3 class="card-title">{t(T::ByRep)} " " <small class="muted">{t(T::UnitWon)}</small></h3>
                            {if r.by_rep.is_empty() {
                                view! { <Empty text=T::NoSalesPeriod/> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap">
                                        <table class="table">
                                            {head(T::RepCol)}
                                            <tbody>{r.by_rep.into_iter().map(|x| row_view(x, id::SETTLE_ROW)).collect_view()}</tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                        </div>
                    </div>
                    <div class="card">
                        <div class="actions">
                            <button class="btn big" data-testid=id::EXPORT_CSV disabled=move || busy.get() on:click=save_csv>
                                <Svg icon=Icon::Download/> {t(T::ExportCsv)}
                            </button>
                        </div>
                        {move || csv_path.get().map(|p| view! {
                            <div class="pdf-path">
                                <span class="label">{t(T::CsvSaved)}</span>
                                <code data-testid=id::CSV_PATH>{p}</code>
                                <button class="btn" on:click=open_csv>{t(T::Open)}</button>
                            </div>
                        })}
                        <PdfPanel doc=PdfDoc::Settlement { period } title=T::PdfTitleSettlement/>
                    </div>
                }.into_any()
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_days_month() {
        assert_eq!(super::month_of("2026-12-03"), "2026-12");
        assert_eq!(super::month_of("bad"), "bad");
    }
}
