//! Signature pad: a `<canvas>` with pointer events (finger, pen with pressure, mouse) that
//! collects `{x, y, t, pressure}` per stroke in canvas pixel coordinates and draws the ink live;
//! undo, clear, signer name; confirm → `sign_and_submit` → the order with its PDF button.

use fieldpay_protocol::app::{LocalOrder, Point, SignatureInput, Stroke, UNKNOWN_PRESSURE};
use fieldpay_protocol::ApiError;
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, PointerEvent};

use crate::backend::{accounts, orders};
use crate::components::icon::{Icon, Svg};
use crate::components::{
    load_view, reveal, AccountName, FieldError, FormError, FIRST_FIELD_ERROR, FIRST_FORM_ERROR,
};
use crate::format;
use crate::i18n::{self, t, T};
use crate::state::{replace, st, toast, Load, Route};
use crate::testids as id;

const INK: &str = "#101828";

fn ctx(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
}

fn dpr() -> f64 {
    web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .clamp(1.0, 3.0)
}

/// Line width for a pressure, in canvas pixels.
fn width_for(pressure: f32, scale: f64) -> f64 {
    (1.2 + 3.6 * f64::from(pressure.clamp(0.05, 1.0))) * scale
}

fn draw_segment(c: &CanvasRenderingContext2d, a: &Point, b: &Point, scale: f64) {
    c.set_line_width(width_for((a.pressure + b.pressure) / 2.0, scale));
    c.begin_path();
    c.move_to(f64::from(a.x), f64::from(a.y));
    c.line_to(f64::from(b.x), f64::from(b.y));
    c.stroke();
}

fn draw_dot(c: &CanvasRenderingContext2d, p: &Point, scale: f64) {
    c.begin_path();
    let _ = c.arc(
        f64::from(p.x),
        f64::from(p.y),
        width_for(p.pressure, scale) / 2.0,
        0.0,
        std::f64::consts::TAU,
    );
    c.fill();
}

fn setup_pen(c: &CanvasRenderingContext2d) {
    c.set_line_cap("round");
    c.set_line_join("round");
    c.set_stroke_style_str(INK);
    c.set_fill_style_str(INK);
}

/// Clears and draws every stroke again (after undo / clear / resize).
fn redraw(canvas: &HtmlCanvasElement, strokes: &[Stroke]) {
    let Some(c) = ctx(canvas) else { return };
    c.clear_rect(
        0.0,
        0.0,
        f64::from(canvas.width()),
        f64::from(canvas.height()),
    );
    setup_pen(&c);
    let scale = scale_of(canvas);
    for s in strokes {
        if let Some(first) = s.first() {
            draw_dot(&c, first, scale);
        }
        for w in s.windows(2) {
            draw_segment(&c, &w[0], &w[1], scale);
        }
    }
}

/// Canvas pixels per CSS pixel.
fn scale_of(canvas: &HtmlCanvasElement) -> f64 {
    let w = canvas.get_bounding_client_rect().width();
    if w > 0.0 {
        f64::from(canvas.width()) / w
    } else {
        1.0
    }
}

/// Sizes the canvas bitmap to its box (× device pixel ratio).
fn fit(canvas: &HtmlCanvasElement) {
    let r = canvas.get_bounding_client_rect();
    if r.width() < 1.0 {
        return;
    }
    let ratio = dpr();
    canvas.set_width((r.width() * ratio).round() as u32);
    canvas.set_height((r.height() * ratio).round() as u32);
}

/// The point of an event, in canvas pixels.
fn point_of(canvas: &HtmlCanvasElement, ev: &PointerEvent, t0: f64) -> Point {
    let r = canvas.get_bounding_client_rect();
    let sx = if r.width() > 0.0 {
        f64::from(canvas.width()) / r.width()
    } else {
        1.0
    };
    let sy = if r.height() > 0.0 {
        f64::from(canvas.height()) / r.height()
    } else {
        1.0
    };
    let x = ((f64::from(ev.client_x()) - r.left()) * sx).clamp(0.0, f64::from(canvas.width()));
    let y = ((f64::from(ev.client_y()) - r.top()) * sy).clamp(0.0, f64::from(canvas.height()));
    let t = (ev.time_stamp() - t0).max(0.0) as u64;
    let p = ev.pressure();
    let pressure = if ev.pointer_type() != "mouse" && p > 0.0 && p <= 1.0 {
        p
    } else {
        UNKNOWN_PRESSURE
    };
    Point::with_pressure(x as f32, y as f32, t, pressure)
}

#[component]
pub fn SignPage(order_id: String) -> impl IntoView {
    let data: RwSignal<Load<LocalOrder>> = RwSignal::new(Load::Loading);
    let oid = StoredValue::new(order_id);
    let signer = RwSignal::new(String::new());
    let load = move || {
        let o = oid.get_value();
        spawn_local(async move {
            let r = orders::order(&o).await;
            if let Ok(order) = &r {
                // The client's owner usually signs: offer the name.
                if let Ok(d) = accounts::account_detail(&order.order.account_id).await {
                    if signer.try_with_untracked(|s| s.is_empty()).unwrap_or(false) {
                        signer.set(d.account.owner_name.clone());
                    }
                }
            }
            data.set(r.into());
        });
    };
    load();
    let retry = Callback::new(move |_| load());
    view! {
        <section class="page sign">
            {load_view(data, retry, move |o: LocalOrder| view! { <Pad order=o signer/> })}
        </section>
    }
}

#[component]
fn Pad(order: LocalOrder, signer: RwSignal<String>) -> impl IntoView {
    let canvas_ref: NodeRef<Canvas> = NodeRef::new();
    let strokes: RwSignal<Vec<Stroke>> = RwSignal::new(Vec::new());
    let current: RwSignal<Option<Stroke>> = RwSignal::new(None);
    let t0: StoredValue<Option<f64>> = StoredValue::new(None);
    let tried = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<ApiError>> = RwSignal::new(None);
    let order_id = order.order.id.clone();

    // Size the bitmap once the canvas is in the page, and again on resize (ink redrawn in the
    // new size only while the pad is empty; otherwise the bitmap is stretched by CSS and the
    // pointer mapping follows it).
    Effect::new(move |_| {
        if let Some(c) = canvas_ref.get() {
            fit(&c);
            redraw(&c, &strokes.get_untracked());
        }
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| {
        if let Some(c) = canvas_ref.get_untracked() {
            if strokes.with_untracked(|s| s.is_empty()) {
                fit(&c);
            }
        }
    });
    on_cleanup(move || resize.remove());

    let down = move |ev: PointerEvent| {
        let Some(c) = canvas_ref.get_untracked() else {
            return;
        };
        ev.prevent_default();
        // Starting on an empty pad: size the bitmap to the box as laid out now.
        if strokes.with_untracked(|s| s.is_empty()) && current.with_untracked(|c| c.is_none()) {
            let r = c.get_bounding_client_rect();
            let want = (r.width() * dpr()).round() as u32;
            if want != c.width() {
                fit(&c);
            }
        }
        let _ = c.set_pointer_capture(ev.pointer_id());
        let start = *t0.get_value().get_or_insert(ev.time_stamp());
        t0.set_value(Some(start));
        let p = point_of(&c, &ev, start);
        if let Some(cx) = ctx(&c) {
            setup_pen(&cx);
            draw_dot(&cx, &p, scale_of(&c));
        }
        current.set(Some(vec![p]));
    };
    let mv = move |ev: PointerEvent| {
        if current.with_untracked(|c| c.is_none()) {
            return;
        }
        let Some(c) = canvas_ref.get_untracked() else {
            return;
        };
        ev.prevent_default();
        let p = point_of(&c, &ev, t0.get_value().unwrap_or(0.0));
        let last = current.with_untracked(|s| s.as_ref().and_then(|s| s.last().copied()));
        if let (Some(last), Some(cx)) = (last, ctx(&c)) {
            if (last.x - p.x).abs() < 0.5 && (last.y - p.y).abs() < 0.5 {
                return;
            }
            setup_pen(&cx);
            draw_segment(&cx, &last, &p, scale_of(&c));
        }
        current.update_untracked(|s| {
            if let Some(s) = s {
                s.push(p);
            }
        });
    };
    let up = move |ev: PointerEvent| {
        let Some(stroke) = current.try_update_untracked(|s| s.take()).flatten() else {
            return;
        };
        if let Some(c) = canvas_ref.get_untracked() {
            let _ = c.release_pointer_capture(ev.pointer_id());
        }
        current.set(None);
        strokes.update(|all| all.push(stroke));
    };

    let undo = move |_| {
        strokes.update(|s| {
            s.pop();
        });
        if let Some(c) = canvas_ref.get_untracked() {
            redraw(&c, &strokes.get_untracked());
        }
    };
    let clear = move |_| {
        strokes.set(Vec::new());
        t0.set_value(None);
        if let Some(c) = canvas_ref.get_untracked() {
            fit(&c);
            redraw(&c, &[]);
        }
    };

    let strokes_err = Signal::derive(move || {
        (tried.get() && strokes.with(|s| s.is_empty())).then(|| i18n::tr(T::ErrNoStrokes))
    });
    let name_err = Signal::derive(move || {
        (tried.get() && signer.with(|s| s.trim().is_empty())).then(|| i18n::tr(T::ErrSignerName))
    });

    let oid = StoredValue::new(order_id);
    let confirm = move |_| {
        tried.set(true);
        error.set(None);
        if busy.get_untracked() {
            return;
        }
        if strokes_err.get_untracked().is_some() || name_err.get_untracked().is_some() {
            reveal(FIRST_FIELD_ERROR);
            return;
        }
        let Some(c) = canvas_ref.get_untracked() else {
            return;
        };
        let input = SignatureInput {
            signer_name: signer.get_untracked().trim().to_string(),
            strokes: strokes.get_untracked(),
            width: c.width(),
            height: c.height(),
            gps: None,
        };
        busy.set(true);
        let o = oid.get_value();
        spawn_local(async move {
            match orders::sign_and_submit(&o, &input).await {
                Ok(done) => {
                    busy.set(false);
                    toast(i18n::tr(T::Submitted));
                    let id = done.order.id.clone();
                    // The editor and the pad of this order are done: Back skips them.
                    st().stack.update(|s| {
                        s.retain(|r| !matches!(r, Route::EditOrder(x) | Route::Sign(x) if *x == id || *x == o))
                    });
                    replace(Route::OrderView(id));
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e));
                    reveal(FIRST_FORM_ERROR);
                }
            }
        });
    };

    let o = order.order.clone();
    let supplier = st()
        .info
        .get_untracked()
        .and_then(|i| i.session)
        .map(|r| r.merchant_name)
        .unwrap_or_default();
    view! {
        // What is signed, in full: who sells to whom, every line, supply, VAT and total
        // (scrollable above the pad), so nothing can be slipped into a list the client signs.
        <div class="card sign-doc" data-testid=id::SIGN_DOC>
            {o.kind.is_return().then(|| view! {
                <p class="sign-title"><span class="badge warn" data-testid=id::RETURN_BADGE>{t(T::ReturnBadge)}</span> " " {t(T::ReturnHint)}</p>
            })}
            <dl class="sign-parties">
                <dt>{t(T::Supplier)}</dt><dd data-testid=id::SIGN_SUPPLIER>{supplier}</dd>
                <dt>{t(T::Buyer)}</dt><dd><AccountName account_id=o.account_id.clone()/></dd>
            </dl>
            <div class="sign-lines">
                <table>
                    <thead><tr>
                        <th>{t(T::Lines)}</th><th class="num">{t(T::Qty)}</th>
                        <th class="num">{t(T::UnitPrice)}</th><th class="num">{t(T::LineAmount)}</th>
                    </tr></thead>
                    <tbody>
                        {o.lines.iter().map(|l| view! {
                            <tr data-testid=id::SIGN_LINE>
                                <td>{l.product_name.clone()}
                                    {l.return_reason.map(|r| view! {
                                        <br/><small>{t(T::ReturnReasonLabel)} ": " {i18n::return_reason(r)}</small>
                                    })}
                                </td>
                                <td class="num">{fieldpay_protocol::money::group_thousands(l.quantity)}</td>
                                <td class="num">{format::won(l.unit_price)}</td>
                                <td class="num">{format::won(l.line_total)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <div class="totals">
                <div class="total-row"><span>{t(T::Supply)}</span><span class="amount">{format::won(o.totals.supply)}</span></div>
                <div class="total-row"><span>{t(T::Vat)}</span><span class="amount">{format::won(o.totals.vat)}</span></div>
                <div class="total-row grand"><span>{t(if o.kind.is_return() { T::ReturnTotal } else { T::Total })}</span><span class="amount" data-testid=id::SIGN_TOTAL>{format::won(o.totals.total)}</span></div>
            </div>
        </div>
        <p class="hint">{t(T::SignHere)}</p>
        <div class="pad-wrap">
            <canvas class="pad" node_ref=canvas_ref data-testid=id::SIGN_CANVAS id=id::SIGN_CANVAS
                    on:pointerdown=down on:pointermove=mv on:pointerup=up on:pointercancel=up>
            </canvas>
            <span class="pad-line"><Svg icon=Icon::Close/></span>
            <span class="pad-count" data-testid=id::STROKE_COUNT data-count=move || strokes.with(|s| s.len().to_string())>
                {move || strokes.with(|s| s.len())} " " {t(T::Strokes)}
            </span>
        </div>
        <FieldError field=id::SIGN_CANVAS msg=strokes_err/>
        <div class="actions two">
            <button class="btn" data-testid=id::SIGN_UNDO disabled=move || strokes.with(|s| s.is_empty())
                    on:click=undo><Svg icon=Icon::Undo/> {t(T::Undo)}</button>
            <button class="btn" data-testid=id::SIGN_CLEAR disabled=move || strokes.with(|s| s.is_empty())
                    on:click=clear><Svg icon=Icon::Erase/> {t(T::Clear)}</button>
        </div>
        <label class="field">
            <span class="label">{t(T::SignerName)}</span>
            <input class="input" data-testid=id::SIGNER_NAME id=id::SIGNER_NAME autocomplete="name" bind:value=signer/>
            <FieldError field=id::SIGNER_NAME msg=name_err/>
        </label>
        <FormError err=error/>
        <button class="btn primary big wide" data-testid=id::SIGN_CONFIRM disabled=move || busy.get() on:click=confirm>
            {move || if busy.get() { i18n::tr(T::Working) } else { i18n::tr(T::ConfirmSign) }}
        </button>
    }
}
