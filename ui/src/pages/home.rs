//! Home: today's collections and orders, pending charges, quick actions (the sync badge is in
//! the top bar).

use fieldpay_protocol::app::{
    LocalCharge, LocalOrder, LocalVisit, RouteStop, SyncState, TodayRoute,
};
use fieldpay_protocol::charge::ChargeStatus;
use fieldpay_protocol::records::OrderStatus;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::{charges, orders, visits};
use crate::components::icon::{Icon, Svg};
use crate::components::{load_view, AccountName, ChargeBadge, Empty, OrderBadge};
use crate::format;
use crate::i18n::{self, t, T};
use crate::state::{go, st, Load, Route};
use crate::testids as id;

/// Reload triggers: any engine change.
pub fn track_changes() {
    let s = st();
    s.records_tick.track();
    s.charge_update.track();
    s.order_update.track();
}

#[component]
pub fn HomePage() -> impl IntoView {
    let s = st();
    let charge_list: RwSignal<Load<Vec<LocalCharge>>> = RwSignal::new(Load::Loading);
    let order_list: RwSignal<Load<Vec<LocalOrder>>> = RwSignal::new(Load::Loading);
    let load = move || {
        spawn_local(async move {
            let c = charges::charges(None, 200).await;
            charge_list.set(c.into());
        });
        spawn_local(async move {
            let o = orders::orders(None, 200).await;
            order_list.set(o.into());
        });
    };
    Effect::new(move |_| {
        track_changes();
        load();
    });
    let retry = Callback::new(move |_| load());

    let greeting = move || {
        s.info.get().and_then(|i| i.session).map(|r| {
            view! {
                <div class="greeting">
                    <strong>{i18n::pick(format!("{}님, 안녕하세요", r.name), format!("Hello, {}", r.name))}</strong>
                    <span>{r.merchant_name}</span>
                </div>
            }
        })
    };

    let collected = move || {
        charge_list.with(|l| {
            l.ready().map(|list| {
                list.iter()
                    .filter(|c| c.charge.status == ChargeStatus::Approved)
                    .filter_map(|c| c.charge.payment.as_ref())
                    .filter(|p| format::is_today(&p.approved_at))
                    .fold((0u64, 0i64), |(n, sum), p| (n + 1, sum + p.amount))
            })
        })
    };
    let today_orders = move || {
        order_list.with(|l| {
            l.ready().map(|list| {
                list.iter()
                    .filter(|o| {
                        o.order.status != OrderStatus::Draft
                            && o.order.status != OrderStatus::Canceled
                    })
                    .filter(|o| format::is_today(&o.order.created_at))
                    .fold((0u64, 0i64), |(n, sum), o| {
                        (n + 1, sum + o.order.totals.total)
                    })
            })
        })
    };
    let pending_count = move || {
        charge_list.with(|l| {
            l.ready()
                .map(|list| list.iter().filter(|c| c.charge.status.is_pending()).count() as u64)
        })
    };

    let stat = move |label: T,
                     testid: &'static str,
                     value: Signal<Option<(u64, i64)>>,
                     show_amount: bool| {
        view! {
            <div class="stat" data-testid=testid>
                <span class="stat-label">{t(label)}</span>
                {move || match value.get() {
                    None => view! { <span class="stat-value muted">"—"</span> }.into_any(),
                    Some((n, sum)) => view! {
                        <span class="stat-value">{if show_amount { format::won(sum) } else { i18n::count(n) }}</span>
                        {show_amount.then(|| view! { <span class="stat-sub">{i18n::count(n)}</span> })}
                    }.into_any(),
                }}
            </div>
        }
    };

    view! {
        <section class="page home">
            {greeting}
            <div class="stats">
                {stat(T::TodayCollected, id::HOME_COLLECTED, Signal::derive(collected), true)}
                {stat(T::TodayOrders, id::HOME_ORDERS_TODAY, Signal::derive(today_orders), true)}
                {stat(T::PendingCharges, id::HOME_PENDING, Signal::derive(move || pending_count().map(|n| (n, 0))), false)}
            </div>

            <h2 class="section-title">{t(T::QuickActions)}</h2>
            <div class="quick">
                <button class="quick-btn primary" data-testid=id::QUICK_NEW_ORDER
                        on:click=move |_| go(Route::NewOrder { account_id: None })>
                    <span class="quick-icon"><Svg icon=Icon::Pencil/></span>{t(T::QuickNewOrder)}
                </button>
                <button class="quick-btn accent" data-testid=id::QUICK_COLLECT
                        on:click=move |_| go(Route::NewCharge { account_id: None, order_id: None, collect: true })>
                    <span class="quick-icon"><Svg icon=Icon::Won/></span>{t(T::QuickCollect)}
                </button>
                <button class="quick-btn" data-testid=id::QUICK_CLIENTS on:click=move |_| go(Route::Clients)>
                    <span class="quick-icon"><Svg icon=Icon::Search/></span>{t(T::QuickClients)}
                </button>
                <button class="quick-btn" data-testid=id::QUICK_CLOSING on:click=move |_| go(Route::Closing)>
                    <span class="quick-icon"><Svg icon=Icon::Report/></span>{t(T::QuickClosing)}
                </button>
            </div>

            <TodayRouteSection/>

            <div class="columns">
                <div>
                    <h2 class="section-title">{t(T::PendingCharges)}</h2>
                    {load_view(charge_list, retry, |list: Vec<LocalCharge>| {
                        let pending: Vec<LocalCharge> = list.into_iter().filter(|c| c.charge.status.is_pending()).collect();
                        if pending.is_empty() {
                            view! { <Empty text=T::NoPending/> }.into_any()
                        } else {
                            view! {
                                <ul class="list">
                                    {pending.into_iter().map(|c| view! { <ChargeRow charge=c testid=id::PENDING_ROW/> }).collect_view()}
                                </ul>
                            }.into_any()
                        }
                    })}
                </div>
                <div>
                    <h2 class="section-title">{t(T::TodayOrders)}</h2>
                    {load_view(order_list, retry, |list: Vec<LocalOrder>| {
                        let today: Vec<LocalOrder> = list.into_iter()
                            .filter(|o| format::is_today(&o.order.created_at) || format::is_today(&o.order.updated_at))
                            .take(8)
                            .collect();
                        if today.is_empty() {
                            view! { <Empty text=T::NoOrdersYet/> }.into_any()
                        } else {
                            view! {
                                <ul class="list">
                                    {today.into_iter().map(|o| view! { <OrderRow order=o/> }).collect_view()}
                                </ul>
                            }.into_any()
                        }
                    })}
                </div>
            </div>
        </section>
    }
}

/// A charge in a list: client, amount, status; opens its timeline.
#[component]
pub fn ChargeRow(charge: LocalCharge, testid: &'static str) -> impl IntoView {
    let c = charge.charge;
    let cid = c.id.clone();
    let status = c.status;
    let when = format::short_date_time(&c.created_at);
    view! {
        <li>
            <button class="row" data-testid=testid data-id=c.id.clone() data-status=status.as_str()
                    on:click=move |_| go(Route::ChargeView(cid.clone()))>
                <span class="row-main">
                    <span class="row-title">
                        {match c.account_id.clone() {
                            Some(a) => view! { <AccountName account_id=a/> }.into_any(),
                            None => view! { <span>{c.payer_name.clone().unwrap_or_else(|| format::phone(&c.payer_phone))}</span> }.into_any(),
                        }}
                    </span>
                    <span class="row-sub">{c.goods_name.clone()}</span>
                    <span class="row-sub">
                        {format::phone(&c.payer_phone)} " · " {when}
                        {c.virtual_number.clone().map(|v| view! { " · " <Svg icon=Icon::Phone/> " " <span class="mono">{v}</span> })}
                    </span>
                </span>
                <span class="row-side">
                    <span class="amount">{format::won(c.amount)}</span>
                    <ChargeBadge status=status/>
                </span>
            </button>
        </li>
    }
}

/// An order in a list: number, client, total, status; opens the order.
#[component]
pub fn OrderRow(order: LocalOrder) -> impl IntoView {
    let o = order.order.clone();
    let oid = o.id.clone();
    let is_draft = o.status == OrderStatus::Draft;
    let reason = o.reject_reason.clone();
    let lines = o.lines.len();
    let first = o
        .lines
        .first()
        .map(|l| l.product_name.clone())
        .unwrap_or_default();
    view! {
        <li>
            <button class="row" data-testid=id::ORDER_ROW data-id=o.id.clone()
                    on:click=move |_| {
                        if is_draft { go(Route::EditOrder(oid.clone())) } else { go(Route::OrderView(oid.clone())) }
                    }>
                <span class="row-main">
                    <span class="row-title"><AccountName account_id=o.account_id.clone()/></span>
                    <span class="row-sub">
                        {move || if lines > 1 {
                            i18n::pick(format!("{first} 외 {}건", lines - 1), format!("{first} and {} more", lines - 1))
                        } else { first.clone() }}
                    </span>
                    <span class="row-sub">
                        {match o.number.clone() {
                            Some(n) => view! { <span class="mono">{n}</span> }.into_any(),
                            None => view! { <span>{t(T::NotNumbered)}</span> }.into_any(),
                        }}
                        " · " {format::short_date_time(&o.created_at)}
                    </span>
                    {reason.map(|r| view! { <span class="row-sub bad-text" data-testid=id::REJECT_REASON>{r}</span> })}
                </span>
                <span class="row-side">
                    <span class="amount">{format::won(o.totals.total)}</span>
                    <OrderBadge order=order.clone()/>
                </span>
            </button>
        </li>
    }
}

/// Today's route: the day's visits in order (time, client, note, a pin when the location was
/// recorded), then the clients with orders today that have no visit yet.
#[component]
fn TodayRouteSection() -> impl IntoView {
    let route: RwSignal<Load<TodayRoute>> = RwSignal::new(Load::Loading);
    let load = move || spawn_local(async move { route.set(visits::today_route().await.into()) });
    Effect::new(move |_| {
        track_changes();
        load();
    });
    let retry = Callback::new(move |_| load());
    view! {
        <h2 class="section-title">{t(T::TodayRoute)}</h2>
        {load_view(route, retry, |r: TodayRoute| {
            let visited: Vec<String> = r.visits.iter().map(|v| v.visit.account_id.clone()).collect();
            let unvisited: Vec<RouteStop> = r
                .order_clients
                .into_iter()
                .filter(|c| !visited.contains(&c.account_id))
                .collect();
            if r.visits.is_empty() && unvisited.is_empty() {
                return view! { <Empty text=T::NoRouteYet/> }.into_any();
            }
            view! {
                <ol class="list route">
                    {r.visits.into_iter().map(|v| view! { <VisitRow v testid=id::ROUTE_VISIT show_client=true extra=None/> }).collect_view()}
                    {unvisited.into_iter().map(|c| {
                        let aid = c.account_id.clone();
                        view! {
                            <li>
                                <button class="row" data-testid=id::ROUTE_ORDER_CLIENT data-account=c.account_id.clone()
                                        on:click=move |_| go(Route::Client(aid.clone()))>
                                    <span class="row-main">
                                        <span class="row-title">{c.account_name.clone()}</span>
                                        <span class="row-sub">{t(T::OrderedToday)} " · " {move || i18n::count(u64::from(c.orders))}
                                            " · " <span class="muted">{t(T::NotVisited)}</span></span>
                                    </span>
                                    <span class="row-side"><span class="amount">{format::won(c.total)}</span></span>
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            }.into_any()
        })}
    }
}

/// `10:23` in KST.
fn hour_minute(ts: &str) -> String {
    format::time_of_day(ts).chars().take(5).collect()
}

/// A visit in a list: time (and check-out time), client, note, a pin when located; opens
/// the client.
#[component]
pub fn VisitRow(
    v: LocalVisit,
    testid: &'static str,
    show_client: bool,
    extra: Option<AnyView>,
) -> impl IntoView {
    let visit = v.visit;
    let aid = visit.account_id.clone();
    let located = visit.location.is_some();
    let open = visit.checked_out_at.is_none();
    // Today's route names the client at the time; a client's own list has the day instead.
    let start = if show_client {
        hour_minute(&visit.checked_in_at)
    } else {
        format::short_date_time(&visit.checked_in_at)
    };
    let when = match &visit.checked_out_at {
        Some(out) => format!("{start} - {}", hour_minute(out)),
        None => start,
    };
    let title = if show_client {
        visit.account_name.clone()
    } else {
        String::new()
    };
    let queued = v.sync_state != SyncState::Synced;
    view! {
        <li class="visit-item">
            <button class="row" data-testid=testid data-id=visit.id.clone() data-account=visit.account_id.clone()
                    data-located=located.to_string() data-open=open.to_string()
                    on:click=move |_| go(Route::Client(aid.clone()))>
                <span class="row-main">
                    <span class="row-title">
                        <span class="mono">{when}</span> " " {title}
                        {located.then(|| view! { <span class="pin" title=t(T::Located) aria-label=t(T::Located)><Svg icon=Icon::Pin/></span> })}
                    </span>
                    {(!visit.note.is_empty()).then(|| view! { <span class="row-sub">{visit.note.clone()}</span> })}
                </span>
                <span class="row-side">
                    {open.then(|| view! { <span class="badge info">{t(T::InProgress)}</span> })}
                    {queued.then(|| view! { <span class="badge muted"><Svg icon=Icon::Upload/></span> })}
                </span>
            </button>
            {extra}
        </li>
    }
}
