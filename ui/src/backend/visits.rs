//! Visits (방문 기록): check in and out, today's route, a client's recent visits, the
//! manager's list; and the device's location from the webview (`navigator.geolocation`).

use fieldpay_protocol::app::{LocalVisit, TodayRoute};
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::visit::{GeoPoint, VisitList};
use fieldpay_protocol::ApiError;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use super::invoke;

pub async fn check_in(
    account_id: &str,
    note: &str,
    location: Option<GeoPoint>,
) -> Result<LocalVisit, ApiError> {
    invoke(&cmd::CheckIn {
        account_id: account_id.into(),
        note: note.into(),
        location,
    })
    .await
}

pub async fn check_out(visit_id: &str) -> Result<LocalVisit, ApiError> {
    invoke(&cmd::CheckOut {
        visit_id: visit_id.into(),
    })
    .await
}

pub async fn today_route() -> Result<TodayRoute, ApiError> {
    invoke(&cmd::TodayRoute {}).await
}

pub async fn account_visits(account_id: &str, max: u32) -> Result<Vec<LocalVisit>, ApiError> {
    invoke(&cmd::AccountVisits {
        account_id: account_id.into(),
        limit: Some(max),
    })
    .await
}

/// `date` KST `YYYY-MM-DD` (today when None); one rep's or all.
pub async fn manager_visits(
    date: Option<&str>,
    rep_id: Option<&str>,
) -> Result<VisitList, ApiError> {
    invoke(&cmd::ManagerVisits {
        date: date.map(Into::into),
        rep_id: rep_id.map(Into::into),
    })
    .await
}

fn get(v: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(v, &JsValue::from_str(key))
        .ok()
        .filter(|x| !x.is_undefined() && !x.is_null())
}

/// The device's location when the OS grants it within `timeout_ms`; None when there is no
/// geolocation, the user or OS refuses, or it takes longer. Never fails and never waits
/// longer than the timeout (plus a little): a check-in does not wait on it.
pub async fn current_location(timeout_ms: u32) -> Option<GeoPoint> {
    let window = web_sys::window()?;
    let geo = get(&window, "navigator").and_then(|n| get(&n, "geolocation"))?;
    let get_position: Function = get(&geo, "getCurrentPosition")?.dyn_into().ok()?;
    let set_timeout: Function = get(&window, "setTimeout")?.dyn_into().ok()?;
    let promise = Promise::new(&mut |resolve: Function, _reject: Function| {
        let on_ok = {
            let resolve = resolve.clone();
            Closure::once_into_js(move |pos: JsValue| {
                let _ = resolve.call1(&JsValue::NULL, &pos);
            })
        };
        let on_err = {
            let resolve = resolve.clone();
            Closure::once_into_js(move |_e: JsValue| {
                let _ = resolve.call1(&JsValue::NULL, &JsValue::NULL);
            })
        };
        let on_late = {
            let resolve = resolve.clone();
            Closure::once_into_js(move || {
                let _ = resolve.call1(&JsValue::NULL, &JsValue::NULL);
            })
        };
        let opts = Object::new();
        let _ = Reflect::set(&opts, &"timeout".into(), &JsValue::from(timeout_ms));
        let _ = Reflect::set(&opts, &"maximumAge".into(), &JsValue::from(60_000));
        let _ = Reflect::set(&opts, &"enableHighAccuracy".into(), &JsValue::FALSE);
        let _ = set_timeout.call2(&window, &on_late, &JsValue::from(timeout_ms + 500));
        if get_position.call3(&geo, &on_ok, &on_err, &opts).is_err() {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::NULL);
        }
    });
    let pos = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let coords = get(&pos, "coords")?;
    let point = GeoPoint {
        lat: get(&coords, "latitude")?.as_f64()?,
        lng: get(&coords, "longitude")?.as_f64()?,
        accuracy_m: get(&coords, "accuracy").and_then(|a| a.as_f64()),
    };
    point.problem().is_none().then_some(point)
}
