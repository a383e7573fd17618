//! ARS charge (ARS 결제 요청): the form (payer phone, third-party payment, amount, goods,
//! installments; checked before the shell is called, by the plain functions of [`checks`]) and the live timeline / payment detail
//! (virtual number, status updates from `charge_changed` events, cancel, resend SMS, refund,
//! receipt).

mod checks;

use fieldpay_protocol::app::{AccountDetail, LocalCharge, LocalOrder, SyncState};
use fieldpay_protocol::charge::{Charge, ChargeEventKind, ChargeStatus};
use fieldpay_protocol::ApiError;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::{accounts, charges, orders};
use crate::components::account_search::AccountSearch;
use crate::components::icon::{Icon, Svg};
use crate::components::{
    charge_tone, reveal, AccountName, ErrorBox, FieldError, FormError, Spinner, FIRST_FIELD_ERROR,
    FIRST_FORM_ERROR,
};
use crate::format::{self, INSTALLMENT_MIN_KRW};
use crate::i18n::{self, t, T};
use crate::state::{go, is_manager, replace, st, toast, Load, Route};
use crate::testids as id;

#[derive(Clone, Debug, PartialEq)]
struct Context {
    account: Option<AccountDetail>,
    order: Option<LocalOrder>,
}

#[component]
pub fn ChargeFormPage(
    account_id: Option<String>,
    order_id: Option<String>,
    collect: bool,
) -> impl IntoView {
    if account_id.is_none() && order_id.is_none() {
        let query = RwSignal::new(String::new());
        let on_pick = Callback::new(move |a: fieldpay_protocol::app::AccountSummary| {
            replace(Route::NewCharge {
                account_id: Some(a.account.id),
                order_id: None,
                collect,
            })
        });
        return view! {
            <section class="page charge-new">
                <p class="hint-box">{t(T::CollectPick)}</p>
                <AccountSearch query on_pick autofocus=true/>
            </section>
        }
        .into_any();
    }
    let data: RwSignal<Load<Context>> = RwSignal::new(Load::Loading);
    let ids = StoredValue::new((account_id, order_id));
    let load = move || {
        let (a, o) = ids.get_value();
        spawn_local(async move {
            let order = match &o {
                Some(o) => match orders::order(o).await {
                    Ok(x) => Some(x),
                    Err(e) => return data.set(Load::Failed(e)),
                },
                None => None,
            };
            let aid = a.or_else(|| order.as_ref().map(|x| x.order.account_id.clone()));
            let account = match aid {
                Some(a) => match accounts::account_detail(&a).await {
                    Ok(x) => Some(x),
                    Err(e) => return data.set(Load::Failed(e)),
                },
                None => None,
            };
            data.set(Load::Ready(Context { account, order }));
        });
    };
    load();
    let retry = Callback::new(move |_| load());
    view! {
        <section class="page charge-new">
            {move || match data.get() {
                Load::Loading => view! { <Spinner/> }.into_any(),
                Load::Failed(e) => view! { <ErrorBox err=e on_retry=retry/> }.into_any(),
                Load::Ready(ctx) => view! { <ChargeForm ctx collect/> }.into_any(),
            }}
        </section>
    }
    .into_any()
}

fn goods_for_order(o: &LocalOrder) -> String {
    let first = o
        .order
        .lines
        .first()
        .map(|l| l.product_name.clone())
        .unwrap_or_default();
    let n = o.order.lines.len();
    if n > 1 {
        i18n::pick(
            format!("{first} 외 {}건", n - 1),
            format!("{first} and {} more", n - 1),
        )
    } else {
        first
    }
}

#[component]
fn ChargeForm(ctx: Context, collect: bool) -> impl IntoView {
    // The client's phone is the payer's by default when it can receive the text (a mobile).
    let client_phone = ctx
        .account
        .as_ref()
        .map(|a| format::digits_only(&a.account.phone))
        .unwrap_or_default();
    let client_mobile = checks::payer_default(&client_phone);
    let client_owner = ctx
        .account
        .as_ref()
        .map(|a| a.account.owner_name.clone())
        .unwrap_or_default();
    let client_name = ctx
        .account
        .as_ref()
        .map(|a| a.account.name.clone())
        .unwrap_or_default();
    let balance = ctx.account.as_ref().map(|a| a.balance).unwrap_or(0);
    let order_total = ctx.order.as_ref().map(|o| o.order.totals.total);
    let account_id = ctx.account.as_ref().map(|a| a.account.id.clone());
    let order_id = ctx.order.as_ref().map(|o| o.order.id.clone());

    let initial_amount = checks::initial_amount(order_total, balance, collect);
    let goods_default = match &ctx.order {
        Some(o) if !collect => goods_for_order(o),
        _ => i18n::tr(T::GoodsCollect).to_string(),
    };

    let third_party = RwSignal::new(false);
    let phone = RwSignal::new(client_mobile.clone());
    let payer_name = RwSignal::new(client_owner.clone());
    let orderer_name = RwSignal::new(if client_owner.is_empty() {
        client_name.clone()
    } else {
        client_owner.clone()
    });
    let orderer_phone = RwSignal::new(client_phone.clone());
    let amount = RwSignal::new(if initial_amount > 0 {
        initial_amount.to_string()
    } else {
        String::new()
    });
    let goods = RwSignal::new(goods_default);
    let installments = RwSignal::new(initial_amount >= INSTALLMENT_MIN_KRW);
    let tried = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);

    let cp = client_mobile.clone();
    let co = client_owner.clone();
    let set_third_party = move |on: bool| {
        third_party.set(on);
        if on {
            phone.set(String::new());
            payer_name.set(String::new());
        } else {
            phone.set(cp.clone());
            payer_name.set(co.clone());
        }
    };
    let stp = set_third_party.clone();

    let amount_value = move || format::parse_amount(&amount.get());
    // Shown once the rep has tried to send.
    let shown = move |e: Option<T>| e.filter(|_| tried.get()).map(i18n::tr);
    let phone_err = Signal::derive(move || shown(phone.with(|p| checks::phone_error(p))));
    let amount_err = Signal::derive(move || shown(checks::amount_error(amount_value())));
    let goods_err = Signal::derive(move || shown(goods.with(|g| checks::goods_error(g))));
    let orderer_name_err = Signal::derive(move || {
        shown(orderer_name.with(|n| checks::orderer_name_error(third_party.get(), n)))
    });
    let orderer_phone_err = Signal::derive(move || {
        shown(orderer_phone.with(|p| checks::orderer_phone_error(third_party.get(), p)))
    });
    let installments_allowed = move || checks::installments_allowed(amount_value());

    let ids = StoredValue::new((account_id, order_id));
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        tried.set(true);
        error.set(None);
        let (account_id, order_id) = ids.get_value();
        let form = checks::ChargeForm {
            account_id,
            order_id,
            phone: phone.get_untracked(),
            payer_name: payer_name.get_untracked(),
            third_party: third_party.get_untracked(),
            orderer_name: orderer_name.get_untracked(),
            orderer_phone: orderer_phone.get_untracked(),
            amount: amount.get_untracked(),
            goods: goods.get_untracked(),
            installments: installments.get_untracked(),
        };
        let bad = form.first_error().is_some();
        if bad || busy.get_untracked() {
            if bad {
                reveal(FIRST_FIELD_ERROR);
            }
            return;
        }
        let input = form.input();
        busy.set(true);
        spawn_local(async move {
            match charges::request_charge(&input).await {
                Ok(c) => {
                    busy.set(false);
                    replace(Route::ChargeView(c.charge.id));
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e));
                    reveal(FIRST_FORM_ERROR);
                }
            }
        });
    };

    let has_account = ctx.account.is_some();
    view! {
        {ctx.account.clone().map(|a| view! {
            <div class="card slim">
                <span class="label">{t(T::Client)}</span>
                <strong>{a.account.name.clone()}</strong>
                <span class="row-sub">{t(T::Balance)} " " {format::won(a.balance)}</span>
            </div>
        })}
        <form class="form charge-form" on:submit=send novalidate=true>
            {has_account.then(|| view! {
                <div class="segmented" role="group">
                    <button type="button" class="seg" class:on=move || !third_party.get()
                            on:click={let f = stp.clone(); move |_| f(false)}>{t(T::PayerSelf)}</button>
                    <button type="button" class="seg" class:on=move || third_party.get()
                            data-testid=id::CHARGE_THIRD_PARTY aria-pressed=move || third_party.get().to_string()
                            on:click={let f = stp.clone(); move |_| f(true)}>{t(T::ThirdParty)}</button>
                </div>
            })}
            {move || third_party.get().then(|| view! { <p class="hint-box">{t(T::ThirdPartyNote)}</p> })}

            <label class="field">
                <span class="label">{t(T::PayerPhone)}</span>
                <input class="input big-input mono" type="tel" inputmode="numeric" autocomplete="tel"
                       id=id::CHARGE_PHONE data-testid=id::CHARGE_PHONE placeholder="01012345678"
                       aria-invalid=move || phone_err.get().is_some().to_string()
                       prop:value=move || phone.get()
                       on:input=move |ev| phone.set(format::digits_only(&event_target_value(&ev)))/>
                <span class="field-hint">{move || {
                    let p = phone.get();
                    if p.is_empty() { i18n::tr(T::DigitsOnly).to_string() } else { format::phone(&p) }
                }}</span>
                <FieldError field=id::CHARGE_PHONE msg=phone_err/>
            </label>
            <label class="field">
                <span class="label">{t(T::PayerName)}</span>
                <input class="input" id=id::CHARGE_PAYER_NAME data-testid=id::CHARGE_PAYER_NAME bind:value=payer_name/>
            </label>

            {move || third_party.get().then(|| view! {
                <div class="field-row">
                    <label class="field">
                        <span class="label">{t(T::OrdererName)}</span>
                        <input class="input" id=id::CHARGE_ORDERER_NAME data-testid=id::CHARGE_ORDERER_NAME bind:value=orderer_name/>
                        <FieldError field=id::CHARGE_ORDERER_NAME msg=orderer_name_err/>
                    </label>
                    <label class="field">
                        <span class="label">{t(T::OrdererPhone)}</span>
                        <input class="input mono" type="tel" inputmode="numeric" id=id::CHARGE_ORDERER_PHONE
                               data-testid=id::CHARGE_ORDERER_PHONE
                               prop:value=move || orderer_phone.get()
                               on:input=move |ev| orderer_phone.set(format::digits_only(&event_target_value(&ev)))/>
                        <FieldError field=id::CHARGE_ORDERER_PHONE msg=orderer_phone_err/>
                    </label>
                </div>
            })}

            <label class="field">
                <span class="label">{t(T::Amount)}</span>
                <div class="amount-input">
                    <input class="input big-input num" type="text" inputmode="numeric" id=id::CHARGE_AMOUNT
                           data-testid=id::CHARGE_AMOUNT placeholder="0"
                           aria-invalid=move || amount_err.get().is_some().to_string()
                           prop:value=move || amount_value().map(fieldpay_protocol::money::group_thousands).unwrap_or_default()
                           on:input=move |ev| amount.set(format::digits_only(&event_target_value(&ev)))/>
                    <span class="unit">"원"</span>
                </div>
                <span class="field-hint">{move || amount_value().map(format::won).unwrap_or_default()}</span>
                <FieldError field=id::CHARGE_AMOUNT msg=amount_err/>
            </label>
            <div class="chips">
                {order_total.map(|total| view! {
                    <button type="button" class="chip" data-testid=id::AMOUNT_ORDER
                            on:click=move |_| { amount.set(total.to_string()); installments.set(total >= INSTALLMENT_MIN_KRW); }>
                        {t(T::AmountOrder)} " " {format::won(total)}
                    </button>
                })}
                {(balance > 0).then(|| view! {
                    <button type="button" class="chip" data-testid=id::AMOUNT_BALANCE
                            on:click=move |_| { amount.set(balance.to_string()); installments.set(balance >= INSTALLMENT_MIN_KRW); }>
                        {t(T::AmountBalance)} " " {format::won(balance)}
                    </button>
                })}
            </div>

            <label class="field">
                <span class="label">{t(T::Goods)}</span>
                <input class="input" id=id::CHARGE_GOODS data-testid=id::CHARGE_GOODS maxlength="100" bind:value=goods/>
                <FieldError field=id::CHARGE_GOODS msg=goods_err/>
            </label>

            <label class="switch" class:disabled=move || !installments_allowed()
                   data-testid=id::CHARGE_INSTALLMENTS
                   data-checked=move || (installments.get() && installments_allowed()).to_string()>
                <input type="checkbox" id=id::CHARGE_INSTALLMENTS
                       disabled=move || !installments_allowed()
                       prop:checked=move || installments.get() && installments_allowed()
                       on:change=move |ev| installments.set(event_target_checked(&ev))/>
                <span class="switch-track" aria-hidden="true"><span class="switch-knob"></span></span>
                <span>
                    <span class="label">{t(T::Installments)}</span>
                    <span class="field-hint block">{t(T::InstallmentsHint)}</span>
                </span>
            </label>

            <FormError err=error/>
            <button class="btn primary big wide" type="submit" data-testid=id::CHARGE_SEND disabled=move || busy.get()>
                {move || if busy.get() { i18n::tr(T::Sending) } else { i18n::tr(T::Send) }}
            </button>
        </form>
    }
}

/// The timeline's steps: (status, reached-at). Only status transitions count (a text that
/// failed is shown apart, by [`text_failures`]).
fn timeline(c: &Charge) -> Vec<(ChargeStatus, Option<String>)> {
    use ChargeStatus::*;
    let transitions = || c.events.iter().filter(|e| e.is_transition());
    let at = |s: ChargeStatus| transitions().rfind(|e| e.status == s).map(|e| e.at.clone());
    let mut steps = Vec::new();
    if c.status == Queued || transitions().any(|e| e.status == Queued) {
        steps.push(Queued);
    }
    steps.extend([Requested, SmsSent, CallConnected, Verified, CardEntered]);
    let approved_seen =
        c.status == Approved || c.status == Refunded || transitions().any(|e| e.status == Approved);
    if c.status == Declined || (!approved_seen && transitions().any(|e| e.status == Declined)) {
        steps.push(Declined);
    } else {
        steps.push(Approved);
    }
    for extra in [Expired, Canceled, Refunded] {
        if c.status == extra || transitions().any(|e| e.status == extra) {
            steps.push(extra);
        }
    }
    steps.into_iter().map(|s| (s, at(s))).collect()
}

/// The texts about the charge that could not be delivered (문자 발송 실패): (at, which text
/// and the provider's reason), oldest first.
fn text_failures(c: &Charge) -> Vec<(String, String)> {
    c.events
        .iter()
        .filter(|e| e.kind == ChargeEventKind::TextFailed)
        .map(|e| (e.at.clone(), e.detail.clone().unwrap_or_default()))
        .collect()
}

#[component]
pub fn ChargeViewPage(charge_id: String) -> impl IntoView {
    let s = st();
    let data: RwSignal<Load<LocalCharge>> = RwSignal::new(Load::Loading);
    let cid = StoredValue::new(charge_id);
    // Bumped by every read issued and every live update: an answer to an older read never
    // replaces a newer status the engine has already sent.
    let generation = StoredValue::new(0u64);
    let load = move || {
        let c = cid.get_value();
        let mine = generation.get_value() + 1;
        generation.set_value(mine);
        spawn_local(async move {
            let r = charges::charge(&c).await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            // A refresh that fails keeps what is shown.
            if r.is_ok()
                || data
                    .try_with_untracked(|d| !matches!(d, Load::Ready(_)))
                    .unwrap_or(false)
            {
                data.set(r.into());
            }
        });
    };
    load();
    // Live updates from the engine.
    Effect::new(move |prev: Option<()>| {
        let upd = s.charge_update.get();
        if prev.is_some() {
            if let Some(c) = upd {
                if c.id == cid.get_value() {
                    let sync_state = data.with_untracked(|d| match d {
                        Load::Ready(l) if c.status != ChargeStatus::Queued => {
                            if l.sync_state == SyncState::Queued {
                                SyncState::Synced
                            } else {
                                l.sync_state
                            }
                        }
                        Load::Ready(l) => l.sync_state,
                        _ => SyncState::Synced,
                    });
                    generation.update_value(|g| *g += 1);
                    data.set(Load::Ready(LocalCharge {
                        charge: c,
                        sync_state,
                    }));
                }
            }
        }
    });
    // And a slow poll while the payer may still act (events are the fast path).
    if let Ok(h) = set_interval_with_handle(
        move || {
            let pending = data
                .try_with_untracked(|d| matches!(d, Load::Ready(l) if l.charge.status.is_pending()))
                .unwrap_or(false);
            if pending {
                load();
            }
        },
        std::time::Duration::from_secs(5),
    ) {
        on_cleanup(move || h.clear());
    }
    let retry = Callback::new(move |_| load());
    view! {
        <section class="page charge-view">
            {move || match data.get() {
                Load::Loading => view! { <Spinner/> }.into_any(),
                Load::Failed(e) => view! { <ErrorBox err=e on_retry=retry/> }.into_any(),
                Load::Ready(c) => view! { <ChargeDetail lc=c data/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn ChargeDetail(lc: LocalCharge, data: RwSignal<Load<LocalCharge>>) -> impl IntoView {
    let s = st();
    let c = lc.charge.clone();
    let status = c.status;
    let queued = status == ChargeStatus::Queued || lc.sync_state == SyncState::Queued;
    let steps = timeline(&c);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);
    let refund_reason = RwSignal::new(String::new());
    let refund_amount = RwSignal::new(String::new());
    let cid = StoredValue::new(c.id.clone());

    let act = move |which: &'static str| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let id = cid.get_value();
        let reason = refund_reason.get_untracked().trim().to_string();
        // Empty: all that remains; otherwise whole won (commas allowed).
        let typed: String = refund_amount
            .get_untracked()
            .chars()
            .filter(|c| !matches!(c, ',' | ' ' | '원'))
            .collect();
        let amount = match typed.as_str() {
            "" => None,
            t => match t.parse::<i64>() {
                Ok(a) => Some(a),
                Err(_) => {
                    busy.set(false);
                    error.set(Some(ApiError::new(
                        fieldpay_protocol::ErrorCode::InvalidAmount,
                        i18n::tr(T::RefundAmountInvalid),
                    )));
                    return;
                }
            },
        };
        spawn_local(async move {
            let r = match which {
                "cancel" => charges::cancel_charge(&id, None).await,
                "resend" => charges::resend_charge_sms(&id).await,
                _ => {
                    charges::refund_charge(
                        &id,
                        amount,
                        (!reason.is_empty()).then_some(reason.as_str()),
                    )
                    .await
                }
            };
            busy.set(false);
            match r {
                Ok(c) => {
                    toast(i18n::tr(match which {
                        "cancel" => T::Canceled,
                        "resend" => T::Resent,
                        _ => T::Refunded,
                    }));
                    data.set(Load::Ready(c));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let online = move || s.status.with(|x| x.online);
    let current_idx = steps
        .iter()
        .rposition(|(st, at)| *st == status || at.is_some());
    let account_id = c.account_id.clone();
    let aid_new = c.account_id.clone();
    let payment = c.payment.clone();
    view! {
        <div class=format!("card status-card tone-{}", charge_tone(status))>
            <div class="status-top">
                <span class="status-big" data-testid=id::CHARGE_STATUS data-status=status.as_str()>
                    {move || i18n::charge_status(status)}
                </span>
                <span class="amount big">{format::won(c.amount)}</span>
            </div>
            {match c.virtual_number.clone() {
                Some(v) => view! {
                    <div class="vnum">
                        <span class="label">{t(T::VirtualNumber)}</span>
                        <span class="vnum-value mono" data-testid=id::VIRTUAL_NUMBER>{v}</span>
                        <span class="field-hint">{t(T::VirtualNumberHint)}</span>
                    </div>
                }.into_any(),
                None => view! { <span data-testid=id::VIRTUAL_NUMBER class="vnum-none" data-empty="true"></span> }.into_any(),
            }}
            {queued.then(|| view! { <p class="hint-box warn">{t(T::QueuedNote)}</p> })}
            {c.decline_reason.clone().map(|r| view! {
                <p class="bad-text"><strong>{t(T::DeclineReason)}</strong> " " {r}</p>
            })}
        </div>

        <div class="columns">
            <div class="card">
                <h3 class="card-title">{t(T::Timeline)}</h3>
                <ol class="timeline">
                    {steps.into_iter().enumerate().map(|(i, (st_, at))| {
                        let done = at.is_some();
                        let current = Some(i) == current_idx;
                        let tone = match st_ {
                            ChargeStatus::Declined | ChargeStatus::Expired | ChargeStatus::Canceled => "bad",
                            ChargeStatus::Approved => "good",
                            _ => "",
                        };
                        view! {
                            <li class=format!("step {tone}") class:done=done class:current=current
                                data-testid=id::TIMELINE_STEP data-status=st_.as_str() data-done=done.to_string()>
                                <span class="step-dot" aria-hidden="true"></span>
                                <span class="step-label">{move || i18n::charge_status(st_)}</span>
                                <span class="step-time mono">{at.as_deref().map(format::time_of_day).unwrap_or_default()}</span>
                            </li>
                        }
                    }).collect_view()}
                </ol>
                {text_failures(&c).into_iter().map(|(at, detail)| view! {
                    <p class="hint-box warn" data-testid=id::TEXT_FAILED>
                        <strong>{t(T::TextFailed)}</strong>
                        " " <span class="mono">{format::time_of_day(&at)}</span>
                        " " {detail}
                        // The bill can be sent again while the charge waits for the payer.
                        {status.is_pending().then(|| view! {
                            <span class="field-hint block">{t(T::TextFailedHint)}</span>
                        })}
                    </p>
                }).collect_view()}
            </div>
            <div>
                <div class="card">
                    <dl class="facts">
                        <dt>{t(T::Client)}</dt>
                        <dd>{account_id.map(|a| view! { <AccountName account_id=a/> })}</dd>
                        <dt>{t(T::Goods)}</dt><dd>{c.goods_name.clone()}</dd>
                        <dt>{t(T::Payer)}</dt>
                        <dd>
                            {c.payer_name.clone().unwrap_or_default()} " " <span class="mono">{format::phone(&c.payer_phone)}</span>
                            {c.third_party.then(|| view! { " " <span class="badge info">{t(T::ThirdPartyBadge)}</span> })}
                        </dd>
                        {c.orderer.clone().map(|o| view! {
                            <dt>{t(T::Orderer)}</dt><dd>{o.name} " " <span class="mono">{format::phone(&o.phone)}</span></dd>
                        })}
                        <dt>{t(T::Installments)}</dt><dd>{if c.installments { view! { <Svg icon=Icon::Check/> }.into_any() } else { "—".into_any() }}</dd>
                        <dt>{t(T::Expires)}</dt><dd>{format::date_time(&c.expires_at)}</dd>
                    </dl>
                </div>
                {payment.clone().map(|p| view! {
                    <div class="card">
                        <dl class="facts">
                            <dt>{t(T::ApprovalNo)}</dt><dd class="mono" data-testid=id::APPROVAL_NUMBER>{p.approval_number.clone()}</dd>
                            <dt>{t(T::Card)}</dt><dd>{p.issuer_name.clone()} " " <span class="mono">{p.masked_card.clone()}</span></dd>
                            <dt>{t(T::Installment)}</dt>
                            <dd>{move || if p.installment_months <= 1 { i18n::tr(T::Lump).to_string() } else { format!("{}{}", p.installment_months, i18n::tr(T::Months)) }}</dd>
                            <dt>{t(T::Approved)}</dt><dd>{format::date_time(&p.approved_at)}</dd>
                            {(p.refunded_amount > 0).then(|| view! {
                                <dt>{t(T::RefundedSoFar)}</dt>
                                <dd data-testid=id::REFUNDED_AMOUNT>{format::won(p.refunded_amount)} " / " {format::won(p.amount)}</dd>
                            })}
                        </dl>
                        {p.receipt_url.clone().map(|u| view! {
                            <a class="btn wide" href=u target="_blank" rel="noopener" data-testid=id::RECEIPT_LINK><Svg icon=Icon::Receipt/> {t(T::Receipt)}</a>
                        })}
                    </div>
                })}
                <FormError err=error/>
                <div class="actions column">
                    {(status.is_pending() && status != ChargeStatus::Approved).then(|| view! {
                        <button class="btn big" data-testid=id::CHARGE_RESEND
                                disabled=move || busy.get() || queued || !online()
                                on:click=move |_| act("resend")><Svg icon=Icon::Mail/> {t(T::ResendSms)}</button>
                        <button class="btn danger big" data-testid=id::CHARGE_CANCEL disabled=move || busy.get()
                                on:click=move |_| act("cancel")>{t(T::CancelCharge)}</button>
                    })}
                    // Refunds are the manager's (the server refuses a rep's): a rep is told
                    // who makes them instead of being given a form that cannot work.
                    {(status == ChargeStatus::Approved && !is_manager()).then(|| view! {
                        <p class="muted" data-testid=id::REFUND_BY_MANAGER>{t(T::RefundByManager)}</p>
                    })}
                    {(status == ChargeStatus::Approved && is_manager()).then(|| view! {
                        <div class="card refund">
                            <label class="field">
                                <span class="label">{t(T::RefundReason)}</span>
                                <input class="input" data-testid=id::REFUND_REASON id=id::REFUND_REASON
                                       placeholder=t(T::RefundReasonHint) bind:value=refund_reason/>
                            </label>
                            <label class="field">
                                <span class="label">{t(T::RefundAmount)}</span>
                                <input class="input" data-testid=id::REFUND_AMOUNT id=id::REFUND_AMOUNT
                                       inputmode="numeric" bind:value=refund_amount/>
                            </label>
                            <button class="btn danger big wide" data-testid=id::CHARGE_REFUND
                                    disabled=move || busy.get() || !online()
                                    on:click=move |_| act("refund")>{t(T::Refund)}</button>
                        </div>
                    })}
                    <button class="btn big" data-testid=id::NEW_CHARGE
                            on:click=move |_| go(Route::NewCharge { account_id: aid_new.clone(), order_id: None, collect: true })>
                        <Svg icon=Icon::Won/> {t(T::NewCharge)}
                    </button>
                </div>
            </div>
        </div>
    }
}
