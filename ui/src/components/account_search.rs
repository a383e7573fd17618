//! One search box for client accounts, with results as you type: name, 초성 initials,
//! phone or business number (the engine's search does the matching).

use fieldpay_protocol::app::AccountSummary;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::{accounts, charges, orders};
use crate::components::icon::{Icon, Svg};
use crate::components::{Empty, ErrorBox, Spinner};
use crate::format;
use crate::i18n::{t, T};
use crate::state::{latest_search, remember_name, st, Load};
use crate::testids as id;

const LIMIT: usize = 50;
const RECENT: usize = 6;

#[component]
pub fn AccountSearch(
    /// The text in the box (kept by the caller so a return to the screen keeps it).
    query: RwSignal<String>,
    on_pick: Callback<AccountSummary>,
    #[prop(optional)] autofocus: bool,
) -> impl IntoView {
    let results: RwSignal<Option<Load<Vec<AccountSummary>>>> = RwSignal::new(None);
    let seq = StoredValue::new(0u64);

    let run = move |q: String| {
        latest_search(seq, results, q, |q| async move {
            let r = accounts::search_accounts(&q, LIMIT).await;
            if let Ok(list) = &r {
                for a in list {
                    remember_name(&a.account.id, &a.account.name);
                }
            }
            r
        });
    };

    // Search on every change of the text, and again when the records change (sync).
    let records = st().records_tick;
    Effect::new(move |_| {
        records.track();
        run(query.get());
    });

    let retry = Callback::new(move |_| run(query.get_untracked()));

    view! {
        <div class="search-box">
            <span class="search-icon"><Svg icon=Icon::Search/></span>
            <input
                type="search"
                class="input search"
                id=id::ACCOUNT_SEARCH
                data-testid=id::ACCOUNT_SEARCH
                placeholder=t(T::SearchClientsHint)
                autocomplete="off"
                autofocus=autofocus
                bind:value=query
            />
        </div>
        {move || match results.get() {
            None => view! { <Empty text=T::SearchStart/> <RecentAccounts on_pick/> }.into_any(),
            Some(Load::Loading) => view! { <Spinner/> }.into_any(),
            Some(Load::Failed(err)) => view! { <ErrorBox err=err on_retry=retry/> }.into_any(),
            Some(Load::Ready(list)) if list.is_empty() => view! { <Empty text=T::NoResults/> }.into_any(),
            Some(Load::Ready(list)) => view! {
                <ul class="list">
                    {list.into_iter().map(|a| view! { <AccountRow summary=a on_pick=on_pick/> }).collect_view()}
                </ul>
            }.into_any(),
        }}
    }
}

/// Clients of the latest orders and payments (while the search box is empty).
#[component]
fn RecentAccounts(on_pick: Callback<AccountSummary>) -> impl IntoView {
    let data: RwSignal<Vec<AccountSummary>> = RwSignal::new(Vec::new());
    spawn_local(async move {
        let mut seen: Vec<(String, String)> = Vec::new();
        if let Ok(list) = orders::orders(None, 40).await {
            seen.extend(
                list.into_iter()
                    .map(|o| (o.order.updated_at, o.order.account_id)),
            );
        }
        if let Ok(list) = charges::charges(None, 40).await {
            seen.extend(
                list.into_iter()
                    .filter_map(|c| c.charge.account_id.map(|a| (c.charge.created_at, a))),
            );
        }
        // Newest first (RFC 3339 UTC times sort as text).
        seen.sort_by(|a, b| b.0.cmp(&a.0));
        let mut ids: Vec<String> = Vec::new();
        for (_, id) in seen {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut out = Vec::new();
        for id in ids.into_iter().take(RECENT) {
            if let Ok(d) = accounts::account_detail(&id).await {
                remember_name(&d.account.id, &d.account.name);
                out.push(AccountSummary {
                    account: d.account,
                    balance: d.balance,
                });
            }
        }
        data.set(out);
    });
    move || {
        let list = data.get();
        (!list.is_empty()).then(|| view! {
            <h2 class="section-title">{t(T::RecentClients)}</h2>
            <ul class="list">
                {list.into_iter().map(|a| view! { <AccountRow summary=a on_pick testid=id::RECENT_ACCOUNT_ROW/> }).collect_view()}
            </ul>
        })
    }
}

#[component]
pub fn AccountRow(
    summary: AccountSummary,
    on_pick: Callback<AccountSummary>,
    #[prop(default = id::ACCOUNT_ROW)] testid: &'static str,
) -> impl IntoView {
    let a = summary.account.clone();
    let balance = summary.balance;
    let closed = a.closed;
    view! {
        <li>
            <button class="row" data-testid=testid data-id=a.id.clone()
                    on:click=move |_| on_pick.run(summary.clone())>
                <span class="row-main">
                    <span class="row-title">
                        {a.name.clone()}
                        {closed.then(|| view! { <span class="badge muted">{t(T::ClosedAccount)}</span> })}
                    </span>
                    <span class="row-sub">
                        {a.owner_name.clone()} " · " {format::phone(&a.phone)}
                    </span>
                    <span class="row-sub mono">
                        {a.code.clone()} " · " {format::business_number(&a.business_number)}
                    </span>
                </span>
                <span class="row-side">
                    <span class="row-label">{t(T::Balance)}</span>
                    <span class="amount" class:due=move || { balance > 0 }
                          data-testid=id::ACCOUNT_BALANCE>{format::won(balance)}</span>
                </span>
            </button>
        </li>
    }
}
