//! Sync problems: each action the server refused, with its reason; retry or discard, or open
//! the order / charge to fix it.

use fieldpay_protocol::app::SyncProblem;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::sync;
use crate::components::icon::{Icon, Svg};
use crate::components::{load_view, Empty};
use crate::format;
use crate::i18n::{self, t, T};
use crate::pages::home::track_changes;
use crate::state::{go, st, toast, Load, Route};
use crate::testids as id;

#[component]
pub fn ProblemsPage() -> impl IntoView {
    let data: RwSignal<Load<Vec<SyncProblem>>> = RwSignal::new(Load::Loading);
    let load = move || spawn_local(async move { data.set(sync::problems().await.into()) });
    Effect::new(move |_| {
        track_changes();
        st().status.with(|s| s.problems);
        load();
    });
    let retry = Callback::new(move |_| load());
    view! {
        <section class="page problems">
            <p class="hint">{t(T::ProblemsLead)}</p>
            {load_view(data, retry, move |list: Vec<SyncProblem>| {
                if list.is_empty() {
                    view! { <Empty text=T::NoProblems/> }.into_any()
                } else {
                    view! {
                        <ul class="list">
                            {list.into_iter().map(|p| view! { <ProblemRow p reload=retry/> }).collect_view()}
                        </ul>
                    }.into_any()
                }
            })}
        </section>
    }
}

#[component]
fn ProblemRow(p: SyncProblem, reload: Callback<()>) -> impl IntoView {
    let busy = RwSignal::new(false);
    let cid = StoredValue::new(p.client_id.clone());
    let act = move |retry: bool| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let c = cid.get_value();
        spawn_local(async move {
            let r = if retry {
                sync::retry_problem(&c).await
            } else {
                sync::discard_problem(&c).await
            };
            busy.set(false);
            match r {
                Ok(()) => {
                    toast(i18n::tr(if retry { T::Retried } else { T::Discarded }));
                    if let Ok(s) = sync::sync_now().await {
                        st().status.set(s);
                    }
                    reload.try_run(());
                }
                Err(e) => toast(e.message),
            }
        });
    };
    let is_charge = p.action.contains("charge");
    let entity = p.entity_id.clone();
    let open = move |_| {
        if is_charge {
            go(Route::ChargeView(entity.clone()))
        } else {
            go(Route::OrderView(entity.clone()))
        }
    };
    view! {
        <li class="problem card" data-testid=id::PROBLEM_ROW data-id=p.client_id.clone() data-code=p.error.code.as_str()>
            <div class="problem-head">
                <strong>{i18n::action(&p.action)}</strong>
                <span class="row-sub">{format::short_date_time(&p.created_at)}</span>
            </div>
            <p class="problem-reason"><span class="label">{t(T::Reason)}</span> " " {p.error.message.clone()}</p>
            <p class="row-sub mono">{p.error.code.as_str()} " · " {p.entity_id.clone()}</p>
            <div class="actions three">
                <button class="btn" data-testid=id::PROBLEM_OPEN on:click=open>{t(T::Open)}</button>
                <button class="btn primary" data-testid=id::PROBLEM_RETRY disabled=move || busy.get()
                        on:click=move |_| act(true)><Svg icon=Icon::Retry/> {t(T::RetrySend)}</button>
                <button class="btn danger" data-testid=id::PROBLEM_DISCARD disabled=move || busy.get()
                        on:click=move |_| act(false)>{t(T::Discard)}</button>
            </div>
        </li>
    }
}
