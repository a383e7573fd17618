//! One search box for client accounts, with results as you type: name, 초성 initials,
//! phone or business number (the engine's search does the matching); on a rep's device, the
//! server's search for the clients it does not keep.

use fieldpay_protocol::app::{AccountSummary, ClientSort};
use fieldpay_protocol::records::AccountWithBalance;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::accounts;
use crate::components::icon::{Icon, Svg};
use crate::components::{load_view, Empty, ErrorBox, Spinner};
use crate::format;
use crate::i18n::{t, T};
use crate::state::{is_manager, latest_search, remember_name, st, Load};
use crate::testids as id;

const LIMIT: usize = 50;
/// Rows of the client list at first, and added by "more".
const LIST_PAGE: usize = 50;

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
            None => view! { <ClientList on_pick/> }.into_any(),
            Some(Load::Loading) => view! { <Spinner/> }.into_any(),
            Some(Load::Failed(err)) => view! { <ErrorBox err=err on_retry=retry/> }.into_any(),
            Some(Load::Ready(list)) if list.is_empty() => view! {
                <Empty text=T::NoResults/>
                {(!is_manager()).then(|| view! { <ServerSearch query/> })}
            }.into_any(),
            Some(Load::Ready(list)) => view! {
                <ul class="list">
                    {list.into_iter().map(|a| view! { <AccountRow summary=a on_pick=on_pick/> }).collect_view()}
                </ul>
                {(!is_manager()).then(|| view! { <ServerSearch query/> })}
            }.into_any(),
        }}
    }
}

/// A rep's device keeps only that rep's clients: "find on the server" asks for the others
/// (a client who moved to another rep), online, and shows them with their balances and
/// whose they are. They are not opened here (the device does not keep their records).
#[component]
fn ServerSearch(query: RwSignal<String>) -> impl IntoView {
    let found: RwSignal<Option<Load<Vec<AccountWithBalance>>>> = RwSignal::new(None);
    // A new text: the previous answer no longer applies.
    Effect::new(move |_| {
        query.track();
        found.set(None);
    });
    let ask = move || {
        let q = query.get_untracked();
        found.set(Some(Load::Loading));
        spawn_local(async move {
            found.set(Some(
                accounts::search_server_accounts(q.trim(), 20).await.into(),
            ));
        });
    };
    view! {
        <div class="server-search" data-testid=id::SERVER_SEARCH>
            {move || match found.get() {
                None => view! {
                    <button class="btn wide" data-testid=id::SERVER_SEARCH_BUTTON on:click=move |_| ask()>
                        <Svg icon=Icon::Search/> {t(T::SearchServer)}
                    </button>
                    <p class="hint">{t(T::SearchServerHint)}</p>
                }.into_any(),
                Some(Load::Loading) => view! { <Spinner/> }.into_any(),
                Some(Load::Failed(err)) => view! {
                    <ErrorBox err=err on_retry=Callback::new(move |_| ask())/>
                }.into_any(),
                Some(Load::Ready(list)) if list.is_empty() => view! {
                    <Empty text=T::NoServerResults/>
                }.into_any(),
                Some(Load::Ready(list)) => view! {
                    <h3 class="section-title">{t(T::ServerResults)}</h3>
                    <ul class="list">
                        {list.into_iter().map(|a| view! { <ServerRow found=a/> }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </div>
    }
}

#[component]
fn ServerRow(found: AccountWithBalance) -> impl IntoView {
    let a = found.account;
    let me = st().info.with_untracked(|i| {
        i.as_ref()
            .and_then(|i| i.session.as_ref())
            .map(|r| r.id.clone())
    });
    let whose = match &a.rep_id {
        Some(r) if Some(r) == me.as_ref() => T::YourClient,
        Some(_) => T::OtherRepsClient,
        None => T::UnassignedClient,
    };
    let balance = found.balance;
    view! {
        <li class="row static" data-testid=id::SERVER_ROW data-id=a.id.clone()>
            <span class="row-main">
                <span class="row-title">
                    {a.name.clone()} " "
                    <span class="badge muted" data-testid=id::SERVER_ROW_WHOSE>{t(whose)}</span>
                </span>
                <span class="row-sub">{a.owner_name.clone()} " · " {format::phone(&a.phone)}</span>
                <span class="row-sub mono">
                    {a.code.clone()} " · " {format::business_number(&a.business_number)}
                </span>
            </span>
            <span class="row-side">
                <span class="row-label">{t(T::Balance)}</span>
                <span class="amount" class:due=move || { balance > 0 }>{format::won(balance)}</span>
            </span>
        </li>
    }
}

/// The client list while the search box is empty: today's and recent clients first, then
/// receivables due (the engine's order), with a switch to sort by name or by balance, and
/// "more" for the next rows.
#[component]
fn ClientList(on_pick: Callback<AccountSummary>) -> impl IntoView {
    let sort = RwSignal::new(ClientSort::Recent);
    let shown = RwSignal::new(LIST_PAGE);
    let data: RwSignal<Load<Vec<AccountSummary>>> = RwSignal::new(Load::Loading);
    let records = st().records_tick;
    let load = move || {
        let (s, n) = (sort.get_untracked(), shown.get_untracked());
        spawn_local(async move {
            let r = accounts::client_list(s, n).await;
            if let Ok(list) = &r {
                for a in list {
                    remember_name(&a.account.id, &a.account.name);
                }
            }
            data.set(r.into());
        });
    };
    // Load on a change of sort or length, and again when the records change (sync).
    Effect::new(move |_| {
        records.track();
        sort.track();
        shown.track();
        load();
    });
    let retry = Callback::new(move |_| load());
    let choice = move |value: ClientSort, label: T| {
        view! {
            <button type="button" class="seg" class:on=move || sort.get() == value
                    aria-pressed=move || (sort.get() == value).to_string()
                    data-testid=id::CLIENT_SORT data-sort=sort_name(value)
                    on:click=move |_| { shown.set(LIST_PAGE); sort.set(value); }>
                {t(label)}
            </button>
        }
    };
    view! {
        <div class="segmented client-sort" role="group">
            {choice(ClientSort::Recent, T::SortRecent)}
            {choice(ClientSort::Name, T::SortName)}
            {choice(ClientSort::Balance, T::SortBalance)}
        </div>
        {load_view(data, retry, move |list: Vec<AccountSummary>| {
            let full = list.len() >= shown.get_untracked();
            if list.is_empty() {
                return view! { <Empty text=T::SearchStart/> }.into_any();
            }
            view! {
                <ul class="list" data-testid=id::CLIENT_LIST data-sort=sort_name(sort.get_untracked())>
                    {list.into_iter().map(|a| view! { <AccountRow summary=a on_pick testid=id::CLIENT_ROW/> }).collect_view()}
                </ul>
                {full.then(|| view! {
                    <button class="btn wide" data-testid=id::CLIENT_MORE
                            on:click=move |_| shown.update(|n| *n += LIST_PAGE)>{t(T::ShowMore)}</button>
                })}
            }.into_any()
        })}
    }
}

fn sort_name(s: ClientSort) -> &'static str {
    match s {
        ClientSort::Recent => "recent",
        ClientSort::Name => "name",
        ClientSort::Balance => "balance",
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
                    {summary.last_activity.clone().map(|at| {
                        let today = format::is_today(&at);
                        view! {
                            <span class="row-sub" data-testid=id::CLIENT_LAST data-today=today.to_string()>
                                {if today {
                                    view! { <span class="badge info">{t(T::Today)}</span> }.into_any()
                                } else {
                                    view! { {t(T::LastDealt)} " " {format::kst_day(&at)} }.into_any()
                                }}
                            </span>
                        }
                    })}
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
