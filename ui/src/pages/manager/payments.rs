//! All payments of the merchant (every rep's, from the server) with filters — rep, status, card
//! company, date — and, on a payment, refund or partial refund with a reason, and resend.

use fieldpay_protocol::charge::{Charge, ChargeStatus};
use fieldpay_protocol::command::MerchantCharges;
use fieldpay_protocol::manager::TeamMember;
use fieldpay_protocol::{ApiError, ErrorCode};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{is_offline, Gate, Offline, OnlineHint};
use crate::backend::{charges, manager};
use crate::components::icon::{Icon, Svg};
use crate::components::{ChargeBadge, Empty, ErrorBox, FormError, Spinner};
use crate::format;
use crate::i18n::{self, t, Lang, T};
use crate::state::toast;
use crate::testids as id;

/// The card companies (issuer codes of the card network) the filter offers: (code, 한국어, English).
pub const CARD_COMPANIES: [(&str, &str, &str); 9] = [
    ("01", "BC카드", "BC Card"),
    ("02", "KB국민카드", "KB Kookmin"),
    ("03", "삼성카드", "Samsung Card"),
    ("04", "신한카드", "Shinhan Card"),
    ("05", "현대카드", "Hyundai Card"),
    ("06", "롯데카드", "Lotte Card"),
    ("07", "하나카드", "Hana Card"),
    ("08", "우리카드", "Woori Card"),
    ("09", "NH농협카드", "NH NongHyup"),
];

/// Rows per page.
const PAGE: u32 = 30;

/// The refund the form asks for: the amount (None: all that remains) and the reason; or why not.
pub fn refund_request(
    amount: &str,
    reason: &str,
    refundable: i64,
) -> Result<(Option<i64>, String), T> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(T::RefundReasonRequired);
    }
    let typed: String = amount
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '원'))
        .collect();
    let amount = match typed.as_str() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(a) if a > 0 && a <= refundable => Some(a),
            _ => return Err(T::RefundAmountInvalid),
        },
    };
    Ok((amount, reason.to_string()))
}

/// A list state: loading the first page, failed, or rows (and the next page's cursor).
#[derive(Clone)]
enum Rows {
    Loading,
    Failed(ApiError),
    Ready {
        items: Vec<Charge>,
        next: Option<String>,
    },
}

#[component]
pub fn AllPaymentsPage() -> impl IntoView {
    view! { <Gate><AllPayments/></Gate> }
}

#[component]
fn AllPayments() -> impl IntoView {
    let rep = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let card = RwSignal::new(String::new());
    let date = RwSignal::new(String::new());
    let rows = RwSignal::new(Rows::Loading);
    let more_busy = RwSignal::new(false);
    let open: RwSignal<Option<String>> = RwSignal::new(None);
    let team: RwSignal<Vec<TeamMember>> = RwSignal::new(Vec::new());
    spawn_local(async move {
        if let Ok(r) = manager::team(None).await {
            team.set(r.reps);
        }
    });
    let filter = move |after: Option<String>| {
        let opt = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.is_empty());
        MerchantCharges {
            rep_id: opt(rep).map(Into::into),
            status: opt(status),
            card_company: opt(card),
            date: opt(date),
            after,
            limit: Some(PAGE),
        }
    };
    let load = move || {
        rows.set(Rows::Loading);
        let f = filter(None);
        spawn_local(async move {
            rows.set(match manager::merchant_charges(f).await {
                Ok(l) => Rows::Ready {
                    items: l.items,
                    next: l.next,
                },
                Err(e) => Rows::Failed(e),
            });
        });
    };
    Effect::new(move |_| {
        rep.track();
        status.track();
        card.track();
        date.track();
        open.set(None);
        load();
    });
    let retry = Callback::new(move |_| load());
    let more = move |_| {
        let Rows::Ready { next: Some(n), .. } = rows.get_untracked() else {
            return;
        };
        more_busy.set(true);
        let f = filter(Some(n));
        spawn_local(async move {
            match manager::merchant_charges(f).await {
                Ok(l) => rows.update(|r| {
                    if let Rows::Ready { items, next } = r {
                        items.extend(l.items);
                        *next = l.next;
                    }
                }),
                Err(e) => toast(e.message),
            }
            more_busy.set(false);
        });
    };
    // A payment changed (refund, resend): its row shows the new state.
    let replace = Callback::new(move |c: Charge| {
        rows.update(|r| {
            if let Rows::Ready { items, .. } = r {
                if let Some(x) = items.iter_mut().find(|x| x.id == c.id) {
                    *x = c;
                }
            }
        })
    });
    let rep_name = move |rid: &Option<String>| {
        rid.as_ref().map(|r| {
            team.with(|t| t.iter().find(|m| &m.id == r).map(|m| m.name.clone()))
                .unwrap_or_else(|| r.clone())
        })
    };
    let clear = move |_| {
        rep.set(String::new());
        status.set(String::new());
        card.set(String::new());
        date.set(String::new());
    };
    let select_change = move |sig: RwSignal<String>| move |ev| sig.set(event_target_value(&ev));

    view! {
        <section class="page all-payments">
            <OnlineHint/>
            <div class="filters card slim">
                <select class="input" data-testid=id::FILTER_REP aria-label=t(T::RepCol)
                        prop:value=move || rep.get() on:change=select_change(rep)>
                    <option value="">{t(T::AllReps)}</option>
                    {move || team.get().into_iter().map(|m| view! {
                        <option value=m.id.clone()>{format!("{} ({})", m.name, m.login)}</option>
                    }).collect_view()}
                </select>
                <select class="input" data-testid=id::FILTER_STATUS aria-label=t(T::Status)
                        prop:value=move || status.get() on:change=select_change(status)>
                    <option value="">{t(T::AllStatuses)}</option>
                    {ChargeStatus::ALL.into_iter().filter(|s| *s != ChargeStatus::Queued).map(|s| view! {
                        <option value=s.as_str()>{move || i18n::charge_status(s)}</option>
                    }).collect_view()}
                </select>
                <select class="input" data-testid=id::FILTER_CARD aria-label=t(T::CardCompany)
                        prop:value=move || card.get() on:change=select_change(card)>
                    <option value="">{t(T::AllCards)}</option>
                    {CARD_COMPANIES.into_iter().map(|(code, ko, en)| view! {
                        <option value=code>{move || if i18n::lang() == Lang::Ko { ko } else { en }}</option>
                    }).collect_view()}
                </select>
                <input class="input" type="date" data-testid=id::FILTER_DATE aria-label=t(T::Date)
                       prop:value=move || date.get() on:change=select_change(date)/>
                <button class="btn" data-testid=id::FILTER_CLEAR on:click=clear>{t(T::ClearFilters)}</button>
            </div>
            {move || match rows.get() {
                Rows::Loading => view! { <Spinner/> }.into_any(),
                Rows::Failed(e) if is_offline(&e) => view! { <Offline on_retry=retry/> }.into_any(),
                Rows::Failed(e) => view! { <ErrorBox err=e on_retry=retry/> }.into_any(),
                Rows::Ready { items, .. } if items.is_empty() => view! { <Empty text=T::NoPayments/> }.into_any(),
                Rows::Ready { items, next } => {
                    let approved: i64 = items.iter().filter_map(|c| c.payment.as_ref()).map(|p| p.amount - p.refunded_amount).sum();
                    view! {
                        <p class="summary-line">
                            {i18n::count(items.len() as u64)} " · " {t(T::Net)} " " {format::won(approved)}
                        </p>
                        <ul class="list mpay-list">
                            {items.into_iter().map(|c| {
                                let who = rep_name(&c.rep_id);
                                view! { <PaymentRow c who open replace/> }
                            }).collect_view()}
                        </ul>
                        {next.is_some().then(|| view! {
                            <button class="btn big wide" data-testid=id::LOAD_MORE disabled=move || more_busy.get()
                                    on:click=more>{t(T::LoadMore)}</button>
                        })}
                    }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn PaymentRow(
    c: Charge,
    who: Option<String>,
    open: RwSignal<Option<String>>,
    replace: Callback<Charge>,
) -> impl IntoView {
    let cid = c.id.clone();
    let cid2 = c.id.clone();
    let is_open = Memo::new(move |_| open.get().as_deref() == Some(cid.as_str()));
    let toggle = move |_| {
        open.update(|o| {
            *o = if o.as_deref() == Some(cid2.as_str()) {
                None
            } else {
                Some(cid2.clone())
            }
        })
    };
    let card = c
        .payment
        .as_ref()
        .map(|p| format!("{} {}", p.issuer_name, p.masked_card));
    let detail = c.clone();
    view! {
        <li class="mpay" class:open=move || is_open.get() data-testid=id::MPAY_ROW data-id=c.id.clone()
            data-status=c.status.as_str()>
            <button class="row" aria-expanded=move || is_open.get().to_string() on:click=toggle>
                <span class="row-main">
                    <span class="row-title ellipsis">{c.goods_name.clone()}</span>
                    <span class="row-sub">
                        <span class="mono">{format::phone(&c.payer_phone)}</span>
                        {c.payer_name.clone().map(|n| view! { " " {n} })}
                        {who.map(|w| view! { " · " <span class="mpay-rep">{w}</span> })}
                    </span>
                    <span class="row-sub">
                        {format::short_date_time(&c.created_at)}
                        {card.map(|k| view! { " · " {k} })}
                    </span>
                </span>
                <span class="row-side">
                    <span class="amount">{format::won(c.amount)}</span>
                    <ChargeBadge status=c.status/>
                </span>
            </button>
            {move || is_open.get().then(|| view! { <Detail c=detail.clone() replace/> })}
        </li>
    }
}

#[component]
fn Detail(c: Charge, replace: Callback<Charge>) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);
    let reason = RwSignal::new(String::new());
    let amount = RwSignal::new(String::new());
    let cid = StoredValue::new(c.id.clone());
    let refundable = c.payment.as_ref().map(|p| p.refundable()).unwrap_or(0);
    let refund = move |_| {
        error.set(None);
        let (amt, why) =
            match refund_request(&amount.get_untracked(), &reason.get_untracked(), refundable) {
                Ok(x) => x,
                Err(msg) => {
                    error.set(Some(ApiError::new(ErrorCode::InvalidField, i18n::tr(msg))));
                    return;
                }
            };
        busy.set(true);
        spawn_local(async move {
            match charges::refund_charge(&cid.get_value(), amt, Some(&why)).await {
                Ok(lc) => {
                    toast(i18n::tr(T::Refunded));
                    replace.run(lc.charge);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let resend = move |_| {
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            match charges::resend_charge_sms(&cid.get_value()).await {
                Ok(lc) => {
                    toast(i18n::tr(T::Resent));
                    replace.run(lc.charge);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let status = c.status;
    let resendable = status.is_pending() && status != ChargeStatus::Queued;
    view! {
        <div class="mpay-detail" data-testid=id::MPAY_DETAIL>
            {c.payment.clone().map(|p| view! {
                <dl class="facts">
                    <dt>{t(T::ApprovalNo)}</dt><dd class="mono">{p.approval_number.clone()}</dd>
                    <dt>{t(T::Card)}</dt><dd>{p.issuer_name.clone()} " " <span class="mono">{p.masked_card.clone()}</span></dd>
                    <dt>{t(T::Approved)}</dt><dd>{format::date_time(&p.approved_at)}</dd>
                    {(p.refunded_amount > 0).then(|| view! {
                        <dt>{t(T::RefundedSoFar)}</dt>
                        <dd data-testid=id::REFUNDED_AMOUNT>{format::won(p.refunded_amount)} " / " {format::won(p.amount)}</dd>
                    })}
                    {p.refunds.iter().map(|r| view! {
                        <dt class="muted">{format!("#{}", r.n)}</dt>
                        <dd class="muted">{format::won(r.amount)} " · " {r.reason.clone().unwrap_or_default()}</dd>
                    }).collect_view()}
                </dl>
            })}
            <FormError err=error/>
            {(status == ChargeStatus::Approved && refundable > 0).then(|| view! {
                <div class="refund-form">
                    <p class="row-sub">{t(T::Refundable)} " " <strong>{format::won(refundable)}</strong></p>
                    <label class="field">
                        <span class="label">{t(T::RefundReason)}</span>
                        <input class="input" data-testid=id::REFUND_REASON placeholder=t(T::RefundReasonHint)
                               bind:value=reason/>
                    </label>
                    <label class="field">
                        <span class="label">{t(T::RefundPartHint)}</span>
                        <input class="input" data-testid=id::REFUND_AMOUNT inputmode="numeric" bind:value=amount/>
                    </label>
                    <button class="btn danger big wide" data-testid=id::MPAY_REFUND disabled=move || busy.get()
                            on:click=refund>{t(T::Refund)}</button>
                </div>
            })}
            {resendable.then(|| view! {
                <button class="btn big wide" data-testid=id::MPAY_RESEND disabled=move || busy.get()
                        on:click=resend><Svg icon=Icon::Mail/> {t(T::ResendSms)}</button>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_needs_a_reason_and_an_amount_within_what_remains() {
        assert_eq!(
            refund_request("", " ", 10_000),
            Err(T::RefundReasonRequired)
        );
        assert_eq!(
            refund_request("", "반품", 10_000),
            Ok((None, "반품".into()))
        );
        assert_eq!(
            refund_request("3,000원", " 일부 반품 ", 10_000),
            Ok((Some(3000), "일부 반품".into()))
        );
        for bad in ["0", "-5", "10001", "삼천"] {
            assert_eq!(
                refund_request(bad, "x", 10_000),
                Err(T::RefundAmountInvalid),
                "{bad}"
            );
        }
        assert_eq!(
            refund_request("10000", "x", 10_000),
            Ok((Some(10_000), "x".into()))
        );
    }

    #[test]
    fn card_company_codes_are_unique() {
        for (i, (a, _, _)) in CARD_COMPANIES.iter().enumerate() {
            assert!(CARD_COMPANIES[i + 1..].iter().all(|(b, _, _)| a != b));
        }
    }
}
