//! Order (발주서) editor: product search, quantity steppers, priced lines, 공급가액/부가세/합계,
//! the credit check from `preview_order`, save draft, reorder from a past order, then
//! "서명받기" (signature). A return (반품서) is edited here too: a reason per line, no credit
//! check; one of an earlier order has that order's lines (no product search).

use fieldpay_protocol::app::{CreditCheck, LineInput, LocalOrder, OrderPreview, ProductHit};
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::records::{OrderKind, OrderStatus, OrderTotals, ReturnReason};
use fieldpay_protocol::ApiError;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::{accounts, orders};
use crate::components::account_search::AccountSearch;
use crate::components::icon::{Icon, Svg};
use crate::components::{
    load_view, reveal, AccountName, Empty, ErrorBox, FieldError, FormError, Spinner,
    FIRST_FIELD_ERROR, FIRST_FORM_ERROR,
};
use crate::format;
use crate::i18n::{self, t, T};
use crate::state::{go, latest_search, replace, set_title, toast, Load, Route};
use crate::testids as id;

/// Usual items shown before typing in the product picker.
const USUAL_ITEMS: usize = 12;

#[derive(Clone, Debug, PartialEq)]
struct DraftLine {
    product_id: String,
    code: String,
    name: String,
    unit: String,
    unit_price: i64,
    quantity: i64,
    /// A return line's reason.
    reason: Option<ReturnReason>,
}

/// A new return naming no original order (from the client page).
#[component]
pub fn NewReturnPage(account_id: String) -> impl IntoView {
    view! {
        <section class="page order-edit">
            <Editor account_id existing=None kind=OrderKind::Return/>
        </section>
    }
}

#[component]
pub fn OrderEditPage(account_id: Option<String>, order_id: Option<String>) -> impl IntoView {
    match (order_id, account_id) {
        (Some(oid), _) => {
            let data: RwSignal<Load<LocalOrder>> = RwSignal::new(Load::Loading);
            let oid = StoredValue::new(oid);
            let load = move || {
                let o = oid.get_value();
                spawn_local(async move { data.set(orders::order(&o).await.into()) });
            };
            load();
            let retry = Callback::new(move |_| load());
            view! {
                <section class="page order-edit">
                    {load_view(data, retry, |o: LocalOrder| {
                        let account_id = o.order.account_id.clone();
                        view! { <Editor account_id existing=Some(o) kind=OrderKind::Purchase/> }
                    })}
                </section>
            }
            .into_any()
        }
        (None, Some(aid)) => view! {
            <section class="page order-edit"><Editor account_id=aid existing=None kind=OrderKind::Purchase/></section>
        }
        .into_any(),
        (None, None) => {
            let query = RwSignal::new(String::new());
            let on_pick = Callback::new(move |a: fieldpay_protocol::app::AccountSummary| {
                replace(Route::NewOrder {
                    account_id: Some(a.account.id),
                })
            });
            view! {
                <section class="page order-edit">
                    <p class="hint-box">{t(T::PickClient)}</p>
                    <AccountSearch query on_pick autofocus=true/>
                </section>
            }
            .into_any()
        }
    }
}

/// The order editor; `kind` is for a new order (an existing one keeps its own).
#[component]
fn Editor(account_id: String, existing: Option<LocalOrder>, kind: OrderKind) -> impl IntoView {
    let aid = StoredValue::new(account_id.clone());
    let kind = existing.as_ref().map(|o| o.order.kind).unwrap_or(kind);
    let is_return = kind.is_return();
    if is_return && existing.is_some() {
        set_title(T::TitleEditReturn);
    }
    let original: StoredValue<Option<String>> = StoredValue::new(
        existing
            .as_ref()
            .and_then(|o| o.order.original_order_id.clone()),
    );
    // The original order's number, shown on a return of it.
    let original_number: RwSignal<Option<String>> = RwSignal::new(None);
    if let Some(o) = original.get_value() {
        spawn_local(async move {
            if let Ok(o) = orders::order(&o).await {
                original_number.set(o.order.number);
            }
        });
    }
    let order_id: RwSignal<Option<String>> =
        RwSignal::new(existing.as_ref().map(|o| o.order.id.clone()));
    let editable = existing
        .as_ref()
        .map(|o| o.order.status == OrderStatus::Draft)
        .unwrap_or(true);
    let lines: RwSignal<Vec<DraftLine>> = RwSignal::new(
        existing
            .as_ref()
            .map(|o| {
                o.order
                    .lines
                    .iter()
                    .map(|l| DraftLine {
                        product_id: l.product_id.clone(),
                        code: l.product_code.clone(),
                        name: l.product_name.clone(),
                        unit: String::new(),
                        unit_price: l.unit_price,
                        quantity: l.quantity,
                        reason: l.return_reason,
                    })
                    .collect()
            })
            .unwrap_or_default(),
    );
    let memo = RwSignal::new(
        existing
            .as_ref()
            .map(|o| o.order.memo.clone())
            .unwrap_or_default(),
    );
    let preview: RwSignal<Option<Load<OrderPreview>>> = RwSignal::new(None);
    let tried = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);

    // Price and credit-check the order on every change.
    let seq = StoredValue::new(0u64);
    Effect::new(move |_| {
        let input: Vec<LineInput> = lines.with(|ls| {
            ls.iter()
                .map(|l| LineInput {
                    product_id: l.product_id.clone(),
                    quantity: l.quantity,
                    reason: l.reason,
                })
                .collect()
        });
        let n = seq.get_value() + 1;
        seq.set_value(n);
        if input.is_empty() {
            preview.set(None);
            return;
        }
        let p = cmd::PreviewOrder {
            account_id: aid.get_value().into(),
            lines: input,
            order_id: order_id.get_untracked().map(Into::into),
            kind,
            original_order_id: original.get_value().map(Into::into),
        };
        spawn_local(async move {
            let r = orders::preview_order(&p).await;
            if seq.try_get_value() == Some(n) {
                preview.set(Some(r.into()));
            }
        });
    });

    let add = move |hit: ProductHit| {
        lines.update(|ls| {
            if let Some(l) = ls.iter_mut().find(|l| l.product_id == hit.product.id) {
                l.quantity += 1;
            } else {
                ls.push(DraftLine {
                    product_id: hit.product.id.clone(),
                    code: hit.product.code.clone(),
                    name: hit.product.name.clone(),
                    unit: hit.product.unit.clone(),
                    unit_price: hit.unit_price,
                    quantity: 1,
                    reason: None,
                });
            }
        });
    };

    let lines_err = Signal::derive(move || {
        (tried.get() && lines.with(|l| l.is_empty())).then(|| i18n::tr(T::ErrNoLines))
    });
    let reasons_err = Signal::derive(move || {
        (tried.get() && is_return && lines.with(|ls| ls.iter().any(|l| l.reason.is_none())))
            .then(|| i18n::tr(T::ErrReturnReason))
    });
    let blocked = move || {
        !is_return
            && preview.with(|p| {
                matches!(
                    p,
                    Some(Load::Ready(OrderPreview {
                        credit: CreditCheck::Block { .. },
                        ..
                    }))
                )
            })
    };
    let credit_err =
        Signal::derive(move || (tried.get() && blocked()).then(|| i18n::tr(T::ErrCreditBlock)));

    // Save the draft; then (optionally) go on to the signature.
    let save = move |then_sign: bool| {
        tried.set(true);
        error.set(None);
        if busy.get_untracked() {
            return;
        }
        let missing_reason = then_sign
            && is_return
            && lines.with_untracked(|ls| ls.iter().any(|l| l.reason.is_none()));
        if lines.with_untracked(|l| l.is_empty()) || (then_sign && blocked()) || missing_reason {
            reveal(FIRST_FIELD_ERROR);
            return;
        }
        busy.set(true);
        let input: Vec<LineInput> = lines.with_untracked(|ls| {
            ls.iter()
                .map(|l| LineInput {
                    product_id: l.product_id.clone(),
                    quantity: l.quantity,
                    reason: l.reason,
                })
                .collect()
        });
        let d = cmd::SaveDraft {
            order_id: order_id.get_untracked().map(Into::into),
            account_id: aid.get_value().into(),
            lines: input,
            memo: memo.get_untracked(),
            kind,
            original_order_id: original.get_value().map(Into::into),
        };
        spawn_local(async move {
            match orders::save_draft(&d).await {
                Ok(saved) => {
                    busy.set(false);
                    let new_id = saved.order.id.clone();
                    replace(Route::EditOrder(new_id.clone()));
                    if then_sign {
                        go(Route::Sign(new_id));
                    } else {
                        toast(i18n::tr(T::DraftSaved));
                    }
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e));
                    reveal(FIRST_FORM_ERROR);
                }
            }
        });
    };

    let totals = move || -> OrderTotals {
        match preview.get() {
            Some(Load::Ready(p)) => p.totals,
            _ => OrderTotals::from_supply(
                lines.with(|ls| ls.iter().map(|l| l.unit_price * l.quantity).sum()),
            ),
        }
    };
    let line_total = move |pid: &str, fallback: i64| -> i64 {
        preview
            .with(|p| match p {
                Some(Load::Ready(p)) => p
                    .lines
                    .iter()
                    .find(|l| l.product_id == pid)
                    .map(|l| l.line_total),
                _ => None,
            })
            .unwrap_or(fallback)
    };

    let account_for_title = account_id.clone();
    view! {
        <div class="order-client card slim">
            <span class="label">{t(T::Client)}</span>
            <strong><AccountName account_id=account_for_title/></strong>
            {is_return.then(|| view! { <span class="badge warn" data-testid=id::RETURN_BADGE>{t(T::ReturnBadge)}</span> })}
            {move || order_id.get().is_some().then(|| view! { <span class="badge muted">{t(T::StDraft)}</span> })}
        </div>
        {is_return.then(|| view! {
            <p class="hint-box">
                {t(T::ReturnHint)}
                {move || original_number.get().map(|n| view! {
                    <br/>{t(T::ReturnOf)} ": " <span class="mono" data-testid=id::RETURN_OF>{n}</span>
                })}
            </p>
        })}

        {(!editable).then(|| view! { <p class="hint-box">{move || i18n::pick("이미 서명된 주문입니다. 재주문으로 새 주문을 만드세요.".into(), "This order is already signed. Use reorder to make a new one.".into())}</p> })}

        <div class="columns order-columns">
            <div class="order-left">
                // A return of an order brings back that order's lines only.
                {original.get_value().is_none().then(|| view! {
                    <ProductPicker account_id=account_id.clone() on_add=Callback::new(add)/>
                })}
                {move || (!is_return && lines.with(|l| l.is_empty()) && order_id.get().is_none()).then(|| view! {
                    <ReorderList account_id=aid.get_value()/>
                })}
            </div>
            <div class="order-right">
                <h2 class="section-title">{t(T::Lines)}</h2>
                {move || {
                    let ls = lines.get();
                    if ls.is_empty() {
                        view! { <Empty text=T::NoLines/> }.into_any()
                    } else {
                        view! {
                            <ul class="list lines">
                                {ls.into_iter().map(|l| {
                                    let pid = l.product_id.clone();
                                    let (p1, p2, p3, p4, p5) = (pid.clone(), pid.clone(), pid.clone(), pid.clone(), pid.clone());
                                    let fallback = l.unit_price * l.quantity;
                                    let qty = l.quantity;
                                    let reason = l.reason;
                                    let p6 = pid.clone();
                                    view! {
                                        <li class="line" data-testid=id::LINE_ROW data-id=p5>
                                            <div class="line-head">
                                                <span class="row-title">{l.name.clone()}</span>
                                                <button class="icon-btn danger" data-testid=id::LINE_REMOVE
                                                        aria-label=t(T::Remove)
                                                        on:click=move |_| lines.update(|ls| ls.retain(|x| x.product_id != p1))><Svg icon=Icon::Close/></button>
                                            </div>
                                            <div class="row-sub"><span class="mono">{l.code.clone()}</span> " · " {t(T::UnitPrice)} " " {format::won(l.unit_price)}</div>
                                            <div class="line-foot">
                                                <div class="stepper">
                                                    <button class="qbtn" data-testid=id::QTY_MINUS aria-label="-1"
                                                            disabled=qty <= 1
                                                            on:click=move |_| lines.update(|ls| {
                                                                if let Some(x) = ls.iter_mut().find(|x| x.product_id == p2) { x.quantity = (x.quantity - 1).max(1); }
                                                            })><Svg icon=Icon::Minus/></button>
                                                    <input class="qty" type="number" inputmode="numeric" min="1"
                                                           data-testid=id::QTY_INPUT aria-label=t(T::Qty)
                                                           prop:value=qty.to_string()
                                                           on:change=move |ev| {
                                                               let v = format::parse_amount(&event_target_value(&ev)).unwrap_or(1).clamp(1, 99_999);
                                                               let p = p3.clone();
                                                               lines.update(|ls| if let Some(x) = ls.iter_mut().find(|x| x.product_id == p) { x.quantity = v; });
                                                           }/>
                                                    <button class="qbtn" data-testid=id::QTY_PLUS aria-label="+1"
                                                            on:click=move |_| lines.update(|ls| {
                                                                if let Some(x) = ls.iter_mut().find(|x| x.product_id == p4) { x.quantity = (x.quantity + 1).min(99_999); }
                                                            })>"+"</button>
                                                </div>
                                                <span class="amount" data-testid=id::LINE_TOTAL>
                                                    {move || format::won(line_total(&pid, fallback))}
                                                </span>
                                            </div>
                                            {is_return.then(|| view! {
                                                <label class="field line-reason">
                                                    <span class="label">{t(T::ReturnReasonLabel)}</span>
                                                    <select class="input" data-testid=id::LINE_REASON
                                                            class:missing=move || tried.get() && reason.is_none()
                                                            on:change=move |ev| {
                                                                let r = ReturnReason::parse(&event_target_value(&ev));
                                                                let p = p6.clone();
                                                                lines.update(|ls| if let Some(x) = ls.iter_mut().find(|x| x.product_id == p) { x.reason = r; });
                                                            }>
                                                        <option value="" selected=reason.is_none()>{t(T::ReturnReasonPick)}</option>
                                                        {ReturnReason::ALL.iter().map(|r| view! {
                                                            <option value=r.as_str() selected=reason == Some(*r)>{i18n::return_reason(*r)}</option>
                                                        }).collect_view()}
                                                    </select>
                                                </label>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                }}
                <FieldError field="order-lines" msg=lines_err/>
                <FieldError field="return-reasons" msg=reasons_err/>

                <div class="totals card">
                    <div class="total-row"><span>{t(T::Supply)}</span><span class="amount" data-testid=id::ORDER_SUPPLY>{move || format::won(totals().supply)}</span></div>
                    <div class="total-row"><span>{t(T::Vat)}</span><span class="amount" data-testid=id::ORDER_VAT>{move || format::won(totals().vat)}</span></div>
                    <div class="total-row grand"><span>{t(if is_return { T::ReturnTotal } else { T::Total })}</span><span class="amount" data-testid=id::ORDER_TOTAL>{move || format::won(totals().total)}</span></div>
                </div>

                {move || match preview.get() {
                    None => None,
                    Some(Load::Loading) => None,
                    Some(Load::Failed(e)) => Some(view! { <ErrorBox err=e/> }.into_any()),
                    Some(Load::Ready(_)) if is_return => None,
                    Some(Load::Ready(p)) => Some(view! { <CreditNote credit=p.credit/> }.into_any()),
                }}
                <FieldError field=id::TO_SIGN msg=credit_err/>

                <label class="field">
                    <span class="label">{t(T::Memo)}</span>
                    <input class="input" data-testid=id::ORDER_MEMO id=id::ORDER_MEMO
                           placeholder=t(T::MemoHint) bind:value=memo/>
                </label>

                <FormError err=error/>
                <div class="actions two sticky-actions">
                    <button class="btn big" data-testid=id::SAVE_DRAFT disabled=move || busy.get() || !editable
                            on:click=move |_| save(false)>{t(T::SaveDraft)}</button>
                    <button class="btn primary big" data-testid=id::TO_SIGN disabled=move || busy.get() || !editable
                            on:click=move |_| save(true)><Svg icon=Icon::Sign/> {t(T::ToSign)}</button>
                </div>
            </div>
        </div>
    }
}

#[component]
fn CreditNote(credit: CreditCheck) -> impl IntoView {
    match credit {
        CreditCheck::Ok { available } => view! {
            <div class="credit ok" data-testid=id::CREDIT_WARNING data-result="ok">
                <strong>{t(T::CreditOk)}</strong>
                <span>{t(T::CreditAvailable)} " " {format::won(available)}</span>
            </div>
        }
        .into_any(),
        CreditCheck::Warn { message, over_by } => view! {
            <div class="credit warn" data-testid=id::CREDIT_WARNING data-result="warn" role="alert">
                <strong><Svg icon=Icon::Warning/> {t(T::CreditWarn)}</strong>
                <span>{message}</span>
                <span>{t(T::OverBy)} " " {format::won(over_by)}</span>
            </div>
        }
        .into_any(),
        CreditCheck::Block { message, over_by } => view! {
            <div class="credit block" data-testid=id::CREDIT_WARNING data-result="block" role="alert">
                <strong><Svg icon=Icon::Block/> {t(T::CreditBlock)}</strong>
                <span>{message}</span>
                <span>{t(T::OverBy)} " " {format::won(over_by)}</span>
            </div>
        }
        .into_any(),
    }
}

/// Product search with instant results and an "add" button per product.
#[component]
fn ProductPicker(account_id: String, on_add: Callback<ProductHit>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let results: RwSignal<Option<Load<Vec<ProductHit>>>> = RwSignal::new(None);
    let seq = StoredValue::new(0u64);
    let aid = StoredValue::new(account_id);
    let added: RwSignal<Option<String>> = RwSignal::new(None);
    // The client's usual items, shown before any typing.
    let usual: RwSignal<Vec<ProductHit>> = RwSignal::new(Vec::new());
    {
        let a = aid.get_value();
        spawn_local(async move {
            if let Ok(list) = accounts::search_products("", Some(&a), USUAL_ITEMS).await {
                usual.set(list);
            }
        });
    }
    Effect::new(move |_| {
        let a = aid.get_value();
        latest_search(seq, results, query.get(), move |q| async move {
            accounts::search_products(&q, Some(&a), 30).await
        });
    });
    view! {
        <div class="search-box">
            <span class="search-icon"><Svg icon=Icon::Search/></span>
            <input type="search" class="input search" data-testid=id::PRODUCT_SEARCH id=id::PRODUCT_SEARCH
                   placeholder=t(T::ProductSearchHint) autocomplete="off" bind:value=query/>
        </div>
        {move || match results.get() {
            None => {
                let list = usual.get();
                if list.is_empty() {
                    Some(view! { <Empty text=T::ProductSearchStart/> }.into_any())
                } else {
                    Some(view! {
                        <h2 class="section-title">{t(T::UsualItems)}</h2>
                        <ul class="list products" data-testid=id::USUAL_ITEMS>
                            {product_rows(list, on_add, added)}
                        </ul>
                    }.into_any())
                }
            }
            Some(Load::Loading) => Some(view! { <Spinner/> }.into_any()),
            Some(Load::Failed(e)) => Some(view! { <ErrorBox err=e/> }.into_any()),
            Some(Load::Ready(list)) if list.is_empty() => Some(view! { <Empty text=T::NoResults/> }.into_any()),
            Some(Load::Ready(list)) => Some(view! {
                <ul class="list products">{product_rows(list, on_add, added)}</ul>
            }.into_any()),
        }}
    }
}

/// Product rows with "add" (search results and the usual items alike).
fn product_rows(
    list: Vec<ProductHit>,
    on_add: Callback<ProductHit>,
    added: RwSignal<Option<String>>,
) -> impl IntoView {
    list.into_iter()
        .map(|h| {
            let pid = h.product.id.clone();
            let pid2 = pid.clone();
            let pid3 = pid.clone();
            let hit = h.clone();
            view! {
                <li class="product" data-testid=id::PRODUCT_ROW data-id=pid3>
                    <span class="row-main">
                        <span class="row-title">{h.product.name.clone()}</span>
                        <span class="row-sub">
                            <span class="mono">{h.product.code.clone()}</span> " · " {h.product.unit.clone()}
                            {h.times_ordered.map(|n| view! {
                                " · " <span data-testid=id::TIMES_ORDERED>{i18n::times_ordered(n)}</span>
                            })}
                        </span>
                    </span>
                    <span class="amount">{format::won(h.unit_price)}</span>
                    <button class="btn add" data-testid=id::PRODUCT_ADD
                            class:just-added=move || added.with(|a| a.as_deref() == Some(pid2.as_str()))
                            on:click=move |_| {
                                on_add.run(hit.clone());
                                added.set(Some(pid.clone()));
                            }>
                        <Svg icon=Icon::Plus/> {t(T::AddProduct)}
                    </button>
                </li>
            }
        })
        .collect_view()
}

/// The account's past orders, each with "reorder" (a new draft with the same lines).
#[component]
fn ReorderList(account_id: String) -> impl IntoView {
    let data: RwSignal<Load<Vec<LocalOrder>>> = RwSignal::new(Load::Loading);
    let a = account_id.clone();
    spawn_local(async move { data.set(orders::orders(Some(&a), 5).await.into()) });
    let busy = RwSignal::new(false);
    move || {
        let list: Vec<LocalOrder> = match data.get() {
            Load::Ready(l) => l
                .into_iter()
                .filter(|o| o.order.status != OrderStatus::Draft && !o.order.kind.is_return())
                .collect(),
            _ => Vec::new(),
        };
        (!list.is_empty()).then(|| view! {
            <h2 class="section-title">{t(T::ReorderFrom)}</h2>
            <ul class="list">
                {list.into_iter().map(|o| {
                    let oid = o.order.id.clone();
                    let n = o.order.lines.len();
                    view! {
                        <li class="product">
                            <span class="row-main">
                                <span class="row-title">{format::won(o.order.totals.total)}</span>
                                <span class="row-sub ellipsis">
                                    {format::short_date_time(&o.order.created_at)} " · "
                                    {o.order.lines.first().map(|l| l.product_name.clone()).unwrap_or_default()}
                                    {(n > 1).then(|| format!(" {} {}", i18n::tr(T::GoodsMore), i18n::count(n as u64 - 1)))}
                                </span>
                            </span>
                            <button class="btn" data-testid=id::REORDER disabled=move || busy.get()
                                    on:click=move |_| {
                                        busy.set(true);
                                        let oid = oid.clone();
                                        spawn_local(async move {
                                            match orders::reorder(&oid).await {
                                                Ok(o) => { toast(i18n::tr(T::ReorderMade)); replace(Route::EditOrder(o.order.id)); }
                                                Err(e) => toast(e.message),
                                            }
                                            busy.set(false);
                                        });
                                    }><Svg icon=Icon::Retry/> {t(T::Reorder)}</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        })
    }
}
