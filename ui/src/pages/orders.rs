//! Purchase orders (발주서 조회) and one purchase order: status (draft, queued, registered,
//! rejected with reason), lines and totals, signature, "발주서 PDF 열기/저장", payment request,
//! reorder.

use fieldpay_protocol::app::{LocalOrder, PdfDoc};
use fieldpay_protocol::records::OrderStatus;
use fieldpay_protocol::share::{OrderShare, ShareKind};
use fieldpay_protocol::sms::SmsStatus;
use fieldpay_protocol::ApiError;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::{accounts, charges, orders, shares};
use crate::components::icon::{Icon, Svg};
use crate::components::pdf::PdfPanel;
use crate::components::{
    load_view, order_display_status, AccountName, Empty, FieldError, FormError, OrderBadge,
};
use crate::format;
use crate::i18n::{self, t, T};
use crate::pages::home::{track_changes, OrderRow};
use crate::state::{go, set_title, st, toast, Load, Route};
use crate::testids as id;

#[component]
pub fn OrdersPage() -> impl IntoView {
    let data: RwSignal<Load<Vec<LocalOrder>>> = RwSignal::new(Load::Loading);
    let load = move || spawn_local(async move { data.set(orders::orders(None, 200).await.into()) });
    Effect::new(move |_| {
        track_changes();
        load();
    });
    let retry = Callback::new(move |_| load());
    let filter = RwSignal::new("all");
    let chip = move |key: &'static str, label: &'static str| {
        view! {
            <button class="chip" class:on=move || filter.get() == key data-testid=id::ORDER_FILTER
                    data-filter=key on:click=move |_| filter.set(key)>
                {label}
            </button>
        }
    };
    view! {
        <section class="page orders">
            <div class="toolbar">
                <div class="chips">
                    {move || view! {
                        {chip("all", i18n::tr(T::FilterAll))}
                        {chip("draft", i18n::tr(T::StDraft))}
                        {chip("queued", i18n::tr(T::StQueued))}
                        {chip("registered", i18n::tr(T::StRegistered))}
                        {chip("rejected", i18n::tr(T::StRejected))}
                    }}
                </div>
                <button class="btn primary" data-testid=id::NEW_ORDER
                        on:click=move |_| go(Route::NewOrder { account_id: None })><Svg icon=Icon::Pencil/> {t(T::NewOrder)}</button>
            </div>
            {load_view(data, retry, move |list: Vec<LocalOrder>| {
                move || {
                    let f = filter.get();
                    let shown: Vec<LocalOrder> = list
                        .iter()
                        .filter(|o| f == "all" || order_display_status(o).0 == f || (f == "queued" && order_display_status(o).0 == "signed"))
                        .cloned()
                        .collect();
                    if shown.is_empty() {
                        view! { <Empty text=T::NoOrders/> }.into_any()
                    } else {
                        view! { <ul class="list">{shown.into_iter().map(|o| view! { <OrderRow order=o/> }).collect_view()}</ul> }.into_any()
                    }
                }
            })}
        </section>
    }
}

#[component]
pub fn OrderViewPage(order_id: String) -> impl IntoView {
    let s = st();
    let data: RwSignal<Load<LocalOrder>> = RwSignal::new(Load::Loading);
    let oid = StoredValue::new(order_id);
    // Bumped by every read issued and every live update: an answer to an older read (e.g. the
    // first one, still "queued") never replaces a newer state the engine has already sent.
    let generation = StoredValue::new(0u64);
    let load = move || {
        let o = oid.get_value();
        let mine = generation.get_value() + 1;
        generation.set_value(mine);
        spawn_local(async move {
            let r = orders::order(&o).await;
            if generation.try_get_value() == Some(mine) {
                data.set(r.into());
            }
        });
    };
    load();
    // Live: the engine tells when this order is registered or rejected.
    Effect::new(move |prev: Option<()>| {
        let upd = s.order_update.get();
        if prev.is_some() {
            if let Some(u) = upd {
                if u.order.id == oid.get_value() {
                    generation.update_value(|g| *g += 1);
                    data.set(Load::Ready(u));
                }
            }
        }
    });
    let retry = Callback::new(move |_| load());
    view! {
        <section class="page order-view">
            {load_view(data, retry, |o: LocalOrder| view! { <OrderDetail o/> })}
        </section>
    }
}

#[component]
fn OrderDetail(o: LocalOrder) -> impl IntoView {
    let order = o.order.clone();
    let (status, _, _) = order_display_status(&o);
    let is_draft = order.status == OrderStatus::Draft;
    let signed = matches!(order.status, OrderStatus::Signed | OrderStatus::Registered);
    let oid = order.id.clone();
    let oid_sig = oid.clone();
    let has_image = order.has_signature_image;
    let (oid_pdf, oid_charge, oid_re, oid_edit, oid_sign) = (
        oid.clone(),
        oid.clone(),
        oid.clone(),
        oid.clone(),
        oid.clone(),
    );
    let aid = order.account_id.clone();
    let (oid_share, aid_share) = (oid.clone(), aid.clone());
    let is_return = order.kind.is_return();
    if is_return {
        set_title(T::TitleReturn);
    }
    let returnable = !is_return && order.status == OrderStatus::Registered;
    let oid_return = oid.clone();
    let original = order.original_order_id.clone();
    // A return of an order shows that order's number (a link to it).
    let original_number: RwSignal<Option<String>> = RwSignal::new(None);
    if let Some(o) = original.clone() {
        spawn_local(async move {
            if let Ok(o) = orders::order(&o).await {
                original_number.set(o.order.number);
            }
        });
    }
    let start_return = move |_| {
        let o = oid_return.clone();
        spawn_local(async move {
            match orders::start_return(&o).await {
                Ok(n) => go(Route::EditOrder(n.order.id)),
                Err(e) => toast(e.message),
            }
        });
    };

    let reorder = move |_| {
        let o = oid_re.clone();
        spawn_local(async move {
            match orders::reorder(&o).await {
                Ok(n) => {
                    toast(i18n::tr(T::ReorderMade));
                    go(Route::EditOrder(n.order.id));
                }
                Err(e) => toast(e.message),
            }
        });
    };

    view! {
        <div class="card order-head">
            <div class="order-head-top">
                <div>
                    <h2><AccountName account_id=aid.clone()/></h2>
                    <p class:mono=order.number.is_some() data-testid=id::ORDER_NUMBER>
                        {order.number.clone().unwrap_or_else(|| i18n::tr(T::NotNumbered).to_string())}
                    </p>
                    <p class="row-sub">{t(T::CreatedAt)} " " {format::date_time(&order.created_at)}</p>
                    {original.clone().map(|o| view! {
                        <p class="row-sub">{t(T::ReturnOf)} ": "
                            <a href="#" class="mono" data-testid=id::RETURN_OF
                               on:click=move |ev| { ev.prevent_default(); go(Route::OrderView(o.clone())); }>
                                {move || original_number.get().unwrap_or_else(|| i18n::tr(T::NotNumbered).to_string())}
                            </a>
                        </p>
                    })}
                </div>
                <OrderBadge order=o.clone()/>
            </div>
            {order.reject_reason.clone().map(|r| view! {
                <div class="credit block" role="alert">
                    <strong>{t(T::RejectReason)}</strong>
                    <span data-testid=id::REJECT_REASON>{r}</span>
                </div>
            })}
            {(status == "queued").then(|| view! { <p class="hint-box warn">{t(T::QueuedNote)}</p> })}
        </div>

        <div class="columns">
            <div class="card">
                <table class="table">
                    <thead>
                        <tr>
                            <th>{t(T::Lines)}</th>
                            <th class="num">{t(T::Qty)}</th>
                            <th class="num">{t(T::UnitPrice)}</th>
                            <th class="num">{t(T::Amount2)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {order.lines.iter().map(|l| view! {
                            <tr data-testid=id::LINE_ROW data-id=l.product_id.clone()>
                                <td>{l.product_name.clone()}<br/><small class="mono muted">{l.product_code.clone()}</small>
                                    {l.return_reason.map(|r| view! {
                                        <br/><small data-testid=id::LINE_REASON>{t(T::ReturnReasonLabel)} ": " {i18n::return_reason(r)}</small>
                                    })}
                                </td>
                                <td class="num">{l.quantity}</td>
                                <td class="num">{format::won(l.unit_price)}</td>
                                <td class="num" data-testid=id::LINE_TOTAL>{format::won(l.line_total)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <div class="totals">
                    <div class="total-row"><span>{t(T::Supply)}</span><span class="amount" data-testid=id::ORDER_SUPPLY>{format::won(order.totals.supply)}</span></div>
                    <div class="total-row"><span>{t(T::Vat)}</span><span class="amount" data-testid=id::ORDER_VAT>{format::won(order.totals.vat)}</span></div>
                    <div class="total-row grand"><span>{t(if is_return { T::ReturnTotal } else { T::Total })}</span><span class="amount" data-testid=id::ORDER_TOTAL>{format::won(order.totals.total)}</span></div>
                </div>
                {(!order.memo.is_empty()).then(|| view! { <p class="row-sub">{t(T::Memo)} ": " {order.memo.clone()}</p> })}
            </div>

            <div>
                {order.signature.clone().map(|sig| view! {
                    <div class="card slim signed-by">
                        <span class="label">{t(T::SignedBy)}</span>
                        <strong>{sig.signer_name}</strong>
                        <span class="row-sub">{format::date_time(&sig.signed_at)}</span>
                        {has_image.then(|| view! { <SignatureImage order_id=oid_sig.clone()/> })}
                    </div>
                })}
                <div class="actions column">
                    {is_draft.then(|| view! {
                        <button class="btn primary big" data-testid=id::ORDER_SIGN
                                on:click=move |_| go(Route::Sign(oid_sign.clone()))><Svg icon=Icon::Sign/> {t(T::ToSign)}</button>
                        <button class="btn big" data-testid=id::EDIT_ORDER
                                on:click=move |_| go(Route::EditOrder(oid_edit.clone()))>{t(T::Edit)}</button>
                    })}
                    {(!is_return && !is_draft && order.status != OrderStatus::Canceled).then(|| view! {
                        <button class="btn accent big" data-testid=id::ORDER_CHARGE
                                on:click=move |_| go(Route::NewCharge { account_id: Some(aid.clone()), order_id: Some(oid_charge.clone()), collect: false })>
                            <Svg icon=Icon::Won/> {t(T::RequestCharge)}
                        </button>
                    })}
                    {(!is_return).then(|| view! {
                        <button class="btn big" data-testid=id::REORDER on:click=reorder><Svg icon=Icon::Retry/> {t(T::Reorder)}</button>
                    })}
                    {returnable.then(|| view! {
                        <button class="btn big" data-testid=id::START_RETURN on:click=start_return><Svg icon=Icon::Undo/> {t(T::StartReturn)}</button>
                    })}
                </div>
            </div>
        </div>
        {signed.then(|| view! {
            <div class="card">
                <PdfPanel doc=PdfDoc::Order { order_id: oid_pdf.clone() } title=if is_return { T::PdfTitleReturn } else { T::PdfTitleOrder }/>
            </div>
            <SharePanel order_id=oid_share.clone() account_id=aid_share.clone() is_return/>
        })}
    }
}

/// 문자로 보내기: the purchase order's PDF link, or the receipt link of a paid charge of this
/// order, texted to the client's mobile phone (editable) through the server; the order's text
/// history. Online only: the server sends the text.
#[component]
fn SharePanel(order_id: String, account_id: String, is_return: bool) -> impl IntoView {
    let oid = StoredValue::new(order_id);
    let phone = RwSignal::new(String::new());
    let paid: RwSignal<Option<String>> = RwSignal::new(None);
    let history: RwSignal<Vec<OrderShare>> = RwSignal::new(Vec::new());
    let tried = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);
    let load_history = move || {
        spawn_local(async move {
            if let Ok(h) = shares::order_shares(&oid.get_value()).await {
                history.set(h);
            }
        })
    };
    {
        let aid = account_id.clone();
        spawn_local(async move {
            if let Ok(d) = accounts::account_detail(&aid).await {
                if fieldpay_protocol::mobile::is_mobile(&d.account.phone) {
                    phone.set(format::phone(&d.account.phone));
                }
            }
            if let Ok(list) = charges::charges(Some(&aid), 100).await {
                let o = oid.get_value();
                paid.set(
                    list.into_iter()
                        .find(|c| {
                            c.charge.order_ref.as_deref() == Some(o.as_str())
                                && c.charge.payment.is_some()
                        })
                        .map(|c| c.charge.id),
                );
            }
        });
    }
    load_history();
    let phone_err = Signal::derive(move || {
        (tried.get() && !fieldpay_protocol::mobile::is_mobile(&phone.get()))
            .then(|| i18n::tr(T::ErrPhone))
    });
    let send = move |kind: ShareKind| {
        tried.set(true);
        error.set(None);
        if busy.get_untracked() || phone_err.get_untracked().is_some() {
            return;
        }
        busy.set(true);
        let to = phone.get_untracked();
        let charge = if kind == ShareKind::Receipt {
            paid.get_untracked()
        } else {
            None
        };
        spawn_local(async move {
            match shares::share_order(&oid.get_value(), kind, &to, charge.as_deref()).await {
                Ok(_) => {
                    toast(i18n::tr(T::ShareSent));
                    tried.set(false);
                    load_history();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="card form share-panel">
            <h3 class="card-title"><Svg icon=Icon::Mail/> " " {t(T::ShareByText)}</h3>
            <p class="row-sub">{t(T::ShareHint)}</p>
            <label class="field">
                <span class="label">{t(T::ShareTo)}</span>
                <input class="input" type="tel" inputmode="tel" autocomplete="off" id=id::SHARE_PHONE
                       data-testid=id::SHARE_PHONE placeholder="010-1234-5678" bind:value=phone/>
                <FieldError field=id::SHARE_PHONE msg=phone_err/>
            </label>
            <FormError err=error/>
            <div class="actions two">
                <button class="btn primary big" type="button" data-testid=id::SHARE_PO disabled=move || busy.get()
                        on:click=move |_| send(ShareKind::PurchaseOrder)>
                    <Svg icon=Icon::Document/> {t(if is_return { T::ShareReturnPdf } else { T::SharePo })}
                </button>
                {move || paid.get().is_some().then(|| view! {
                    <button class="btn big" type="button" data-testid=id::SHARE_RECEIPT disabled=move || busy.get()
                            on:click=move |_| send(ShareKind::Receipt)>
                        <Svg icon=Icon::Receipt/> {t(T::ShareReceipt)}
                    </button>
                })}
            </div>
            {move || {
                let h = history.get();
                (!h.is_empty()).then(|| view! {
                    <h4 class="label">{t(T::ShareHistory)}</h4>
                    <ul class="list compact">
                        {h.into_iter().map(|sh| view! {
                            <li class="row-sub" data-testid=id::SHARE_ROW data-id=sh.id.clone()
                                data-kind=sh.kind.as_str() data-status=sh.status.as_str()>
                                <span class="mono">{format::short_date_time(&sh.created_at)}</span> " · "
                                {t(if sh.kind == ShareKind::Receipt { T::ShareReceipt } else { T::SharePo })} " · "
                                <span class="mono">{sh.to_phone.clone()}</span> " · "
                                {t(match sh.status {
                                    SmsStatus::Sent => T::ShareStatusSent,
                                    SmsStatus::Failed => T::ShareStatusFailed,
                                    SmsStatus::Pending => T::ShareStatusPending,
                                })}
                            </li>
                        }).collect_view()}
                    </ul>
                })
            }}
        </div>
    }
}

/// The signature as the client drew it (kept on the device since signing).
#[component]
fn SignatureImage(order_id: String) -> impl IntoView {
    let url: RwSignal<Option<String>> = RwSignal::new(None);
    spawn_local(async move {
        if let Ok(u) = crate::backend::documents::signature_url(&order_id).await {
            url.set(Some(u));
        }
    });
    on_cleanup(move || {
        if let Some(u) = url.try_get_untracked().flatten() {
            let _ = web_sys::Url::revoke_object_url(&u);
        }
    });
    move || {
        url.get().map(|u| {
            view! {
                <img class="signature-img" data-testid=id::ORDER_SIGNATURE src=u
                     alt=t(T::SignedBy)/>
            }
        })
    }
}
