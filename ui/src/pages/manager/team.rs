//! Team: every rep with the day's orders and collections; add a rep (its one-time password is
//! shown once), reset a password, deactivate.

use fieldpay_protocol::auth::Role;
use fieldpay_protocol::manager::{TeamMember, TeamReport};
use fieldpay_protocol::visit::VisitList;
use fieldpay_protocol::ApiError;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{mgr_load_view, Confirm, Gate, OnlineHint, SecretOnce};
use crate::backend::{manager, visits};
use crate::components::icon::{Icon, Svg};
use crate::components::{Empty, FieldError, FormError};
use crate::format;
use crate::i18n::{self, t, T};
use crate::state::{st, toast, Load};
use crate::testids as id;

/// A sign-in id as the server takes it: 2 to 32 of `a-z 0-9 . _ -`.
pub fn login_ok(login: &str) -> bool {
    let n = login.chars().count();
    (2..=32).contains(&n)
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

#[component]
pub fn TeamPage() -> impl IntoView {
    view! { <Gate><Team/></Gate> }
}

#[component]
fn Team() -> impl IntoView {
    let date = RwSignal::new(format::today_kst());
    let data: RwSignal<Load<TeamReport>> = RwSignal::new(Load::Loading);
    let load = move || {
        let d = date.get_untracked();
        spawn_local(async move { data.set(manager::team(Some(&d)).await.into()) });
    };
    Effect::new(move |_| {
        date.track();
        data.set(Load::Loading);
        load();
    });
    let retry = Callback::new(move |_| {
        data.set(Load::Loading);
        load()
    });
    // The one-time password just made: (login, password).
    let secret: RwSignal<Option<(String, String)>> = RwSignal::new(None);
    let reload = Callback::new(move |_| load());

    view! {
        <section class="page team">
            <OnlineHint/>
            {move || secret.get().map(|(login, pw)| view! {
                <SecretOnce title=T::OneTimePassword hint=T::OneTimeHint subject=login value=pw
                            testid=id::ONE_TIME_PASSWORD on_dismiss=Callback::new(move |_| secret.set(None))/>
            })}
            <div class="columns">
                <div>
                    <div class="toolbar">
                        <label class="field inline">
                            <span class="label">{t(T::Date)}</span>
                            <input class="input" type="date" data-testid=id::TEAM_DATE id=id::TEAM_DATE
                                   prop:value=move || date.get()
                                   on:change=move |ev| { let v = event_target_value(&ev); if !v.is_empty() { date.set(v) } }/>
                        </label>
                    </div>
                    {mgr_load_view(data, retry, move |r: TeamReport| {
                        if r.reps.is_empty() {
                            return view! { <Empty text=T::NoReps/> }.into_any();
                        }
                        view! {
                            <ul class="list team-list">
                                {r.reps.iter().cloned().map(|m| view! { <MemberRow m secret reload/> }).collect_view()}
                            </ul>
                            <TeamVisits date reps=r.reps/>
                        }.into_any()
                    })}
                </div>
                <AddRep secret reload/>
            </div>
        </section>
    }
}

#[component]
fn MemberRow(
    m: TeamMember,
    secret: RwSignal<Option<(String, String)>>,
    reload: Callback<()>,
) -> impl IntoView {
    let s = st();
    let me = s
        .info
        .with_untracked(|i| {
            i.as_ref()
                .and_then(|i| i.session.as_ref())
                .map(|r| r.id.clone())
        })
        .is_some_and(|me| me == m.id);
    let busy = RwSignal::new(false);
    let rid = StoredValue::new(m.id.clone());
    let login = StoredValue::new(m.login.clone());
    let reset = Callback::new(move |_| {
        busy.set(true);
        spawn_local(async move {
            match manager::reset_password(&rid.get_value()).await {
                Ok(otp) => {
                    secret.set(Some((
                        login.get_value(),
                        otp.one_time_password.expose().to_string(),
                    )));
                    crate::components::reveal("[data-testid=one-time-password]");
                    reload.run(());
                }
                Err(e) => toast(e.message),
            }
            busy.set(false);
        });
    });
    let deactivate = Callback::new(move |_| {
        busy.set(true);
        spawn_local(async move {
            match manager::deactivate(&rid.get_value()).await {
                Ok(()) => {
                    toast(i18n::tr(T::Deactivated));
                    reload.run(());
                }
                Err(e) => toast(e.message),
            }
            busy.set(false);
        });
    });
    let role = m.role;
    view! {
        <li class="team-row" class:inactive=!m.active data-testid=id::TEAM_ROW data-id=m.id.clone()
            data-login=m.login.clone() data-active=m.active.to_string() data-role=role.as_str()>
            <div class="team-head">
                <span class="row-title">{m.name.clone()}</span>
                <span class="mono row-sub">{m.login.clone()}</span>
                {me.then(|| view! { <span class="badge info">{t(T::You)}</span> })}
                <span class=if role == Role::Manager { "badge info" } else { "badge muted" }>
                    {t(if role == Role::Manager { T::RoleManager } else { T::RoleRep })}
                </span>
                {if m.active {
                    view! { <span class="badge good">{t(T::Active)}</span> }.into_any()
                } else {
                    view! { <span class="badge muted">{t(T::Inactive)}</span> }.into_any()
                }}
                {m.must_change_password.then(|| view! { <span class="badge warn">{t(T::MustChange)}</span> })}
            </div>
            <div class="team-stats">
                <div class="team-stat">
                    <span class="stat-label">{t(T::OrdersToday)}</span>
                    <span class="num">{move || i18n::count(m.orders)} " · " {format::won(m.orders_amount)}</span>
                </div>
                <div class="team-stat">
                    <span class="stat-label">{t(T::CollectedToday)}</span>
                    <span class="num strong">{move || i18n::count(m.collected_count)} " · " {format::won(m.collected_amount)}</span>
                </div>
            </div>
            {(m.active && !me).then(|| view! {
                <div class="actions team-actions">
                    <Confirm label=T::ResetPassword testid=id::REP_RESET busy on_yes=reset/>
                    <Confirm label=T::Deactivate testid=id::REP_DEACTIVATE danger=true busy on_yes=deactivate/>
                </div>
            })}
        </li>
    }
}

/// The reps' visits of the team's day (방문 기록), of one rep or all.
#[component]
fn TeamVisits(date: RwSignal<String>, reps: Vec<TeamMember>) -> impl IntoView {
    let rep: RwSignal<String> = RwSignal::new(String::new());
    let data: RwSignal<Load<VisitList>> = RwSignal::new(Load::Loading);
    let load = move || {
        let (d, r) = (date.get_untracked(), rep.get_untracked());
        spawn_local(async move {
            let r = (!r.is_empty()).then_some(r);
            data.set(visits::manager_visits(Some(&d), r.as_deref()).await.into())
        });
    };
    Effect::new(move |_| {
        date.track();
        rep.track();
        data.set(Load::Loading);
        load();
    });
    let retry = Callback::new(move |_| {
        data.set(Load::Loading);
        load()
    });
    view! {
        <div class="card team-visits">
            <div class="toolbar">
                <h3 class="card-title">{t(T::Visits)}</h3>
                <select class="input" data-testid=id::MVISIT_REP
                        on:change=move |ev| rep.set(event_target_value(&ev))>
                    <option value="">{t(T::AllReps)}</option>
                    {reps.into_iter().map(|m| view! { <option value=m.id.clone()>{m.name.clone()}</option> }).collect_view()}
                </select>
            </div>
            {mgr_load_view(data, retry, move |l: VisitList| {
                if l.visits.is_empty() {
                    return view! { <Empty text=T::NoVisitsYet/> }.into_any();
                }
                view! {
                    <table class="table compact">
                        <tbody>
                            {l.visits.into_iter().map(|v| {
                                let time: String = format::time_of_day(&v.checked_in_at).chars().take(5).collect();
                                let out: Option<String> = v.checked_out_at.as_deref().map(|o| format::time_of_day(o).chars().take(5).collect());
                                view! {
                                    <tr data-testid=id::MVISIT_ROW data-id=v.id.clone() data-rep=v.rep_id.clone()
                                        data-located=v.location.is_some().to_string()>
                                        <td class="mono">{time}{out.map(|o| format!(" - {o}"))}</td>
                                        <td>{v.rep_name.clone()}</td>
                                        <td>
                                            <strong>{v.account_name.clone()}</strong>
                                            {v.location.map(|l| view! {
                                                " " <span class="pin" title=format!("{:.5}, {:.5}", l.lat, l.lng)><Svg icon=Icon::Pin/></span>
                                            })}
                                            {(!v.note.is_empty()).then(|| view! { <div class="row-sub">{v.note.clone()}</div> })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
        </div>
    }
}

#[component]
fn AddRep(secret: RwSignal<Option<(String, String)>>, reload: Callback<()>) -> impl IntoView {
    let login = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Rep);
    let tried = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);
    let login_err = Signal::derive(move || {
        if !tried.get() {
            return None;
        }
        let l = login.get();
        let l = l.trim();
        if l.is_empty() {
            Some(i18n::tr(T::Required))
        } else if !login_ok(l) {
            Some(i18n::tr(T::RepLoginHint))
        } else {
            None
        }
    });
    let name_err = Signal::derive(move || {
        (tried.get() && name.with(|n| n.trim().is_empty())).then(|| i18n::tr(T::Required))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        tried.set(true);
        error.set(None);
        if busy.get_untracked()
            || login_err.get_untracked().is_some()
            || name_err.get_untracked().is_some()
        {
            return;
        }
        busy.set(true);
        let (l, n, r) = (
            login.get_untracked().trim().to_string(),
            name.get_untracked().trim().to_string(),
            role.get_untracked(),
        );
        spawn_local(async move {
            match manager::add_rep(&l, &n, r).await {
                Ok(new) => {
                    secret.set(Some((
                        new.login.clone(),
                        new.one_time_password.expose().to_string(),
                    )));
                    login.set(String::new());
                    name.set(String::new());
                    tried.set(false);
                    toast(i18n::tr(T::RepAdded));
                    crate::components::reveal("[data-testid=one-time-password]");
                    reload.run(());
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let role_btn = move |r: Role, label: T| {
        view! {
            <button type="button" class="seg" class:on=move || role.get() == r data-testid=id::REP_ROLE
                    data-role=r.as_str() on:click=move |_| role.set(r)>{t(label)}</button>
        }
    };
    view! {
        <form class="card form add-rep" on:submit=submit novalidate=true>
            <h3 class="card-title">"＋ " {t(T::AddRep)}</h3>
            <label class="field">
                <span class="label">{t(T::RepLogin)}</span>
                <input class="input" id=id::REP_LOGIN data-testid=id::REP_LOGIN autocapitalize="off"
                       autocomplete="off" placeholder=t(T::RepLoginHint) bind:value=login/>
                <FieldError field=id::REP_LOGIN msg=login_err/>
            </label>
            <label class="field">
                <span class="label">{t(T::RepName)}</span>
                <input class="input" id=id::REP_NAME data-testid=id::REP_NAME autocomplete="off" bind:value=name/>
                <FieldError field=id::REP_NAME msg=name_err/>
            </label>
            <div class="field">
                <span class="label">{t(T::Role)}</span>
                <div class="segmented">
                    {role_btn(Role::Rep, T::RoleRep)}
                    {role_btn(Role::Manager, T::RoleManager)}
                </div>
            </div>
            <FormError err=error/>
            <button class="btn primary big wide" type="submit" data-testid=id::REP_ADD disabled=move || busy.get()>
                {move || i18n::tr(if busy.get() { T::Working } else { T::AddRepButton })}
            </button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sign_in_ids_are_short_lower_case_words() {
        for ok in ["rep3", "kim.y", "a_b-c", "ab"] {
            assert!(super::login_ok(ok), "{ok}");
        }
        for bad in ["a", "Rep3", "김영업", "has space", &"x".repeat(33), ""] {
            assert!(!super::login_ok(bad), "{bad}");
        }
    }
}
