//! The only way the UI talks to the shell: Tauri commands (`window.__TAURI__.core.invoke`) and
//! the `engine` event (`window.__TAURI__.event.listen`). See docs/app-shell.md.
//!
//! Every command is defined once in `fieldpay_protocol::command` (name, arguments, answer) and
//! called through [`invoke`] (or [`invoke_bytes`] for a raw answer); the area modules are thin
//! typed functions over them.

pub mod accounts;
pub mod charges;
pub mod collections;
pub mod documents;
pub mod manager;
pub mod orders;
pub mod session;
pub mod shares;
pub mod sync;
pub mod visits;

use fieldpay_protocol::app::EngineEvent;
use fieldpay_protocol::command::{Bytes, Command, ListQuery};
use fieldpay_protocol::{ApiError, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], catch, js_name = invoke)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "event"], catch, js_name = listen)]
    async fn tauri_listen(
        event: &str,
        handler: &Closure<dyn FnMut(JsValue)>,
    ) -> Result<JsValue, JsValue>;
}

/// `window.__TAURI__` exists (the app runs inside the shell, or the dev mock is loaded).
pub fn shell_present() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    js_sys::Reflect::get(&window, &JsValue::from_str("__TAURI__"))
        .map(|v| v.is_object())
        .unwrap_or(false)
}

fn serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::json_compatible()
}

/// Calls a shell command (`fieldpay_protocol::command`) and decodes its answer.
/// A refused command comes back as the shell's typed [`ApiError`].
pub async fn invoke<C>(args: &C) -> Result<C::Answer, ApiError>
where
    C: Command,
    C::Answer: DeserializeOwned,
{
    let value = call(args).await?;
    serde_wasm_bindgen::from_value(value).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedBody,
            format!("unexpected {} answer: {e}", C::NAME),
        )
    })
}

/// Calls a shell command that answers raw bytes ([`Bytes`]): its `ArrayBuffer`, undecoded.
pub async fn invoke_bytes<C>(args: &C) -> Result<JsValue, ApiError>
where
    C: Command<Answer = Bytes>,
{
    call(args).await
}

async fn call<C: Command>(args: &C) -> Result<JsValue, ApiError> {
    if !shell_present() {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "window.__TAURI__ is missing: the app is not running inside the FieldPay shell",
        ));
    }
    let args = args.serialize(&serializer()).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedBody,
            format!("cannot encode {} arguments: {e}", C::NAME),
        )
    })?;
    tauri_invoke(C::NAME, args).await.map_err(error_from_js)
}

#[derive(Deserialize)]
struct LooseError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The shell rejects with `{code, message}`; anything else (a thrown JS error, a plain string)
/// becomes an `internal` error carrying its text.
pub fn error_from_js(err: JsValue) -> ApiError {
    if let Some(s) = err.as_string() {
        return ApiError::new(ErrorCode::Internal, s);
    }
    if let Ok(loose) = serde_wasm_bindgen::from_value::<LooseError>(err.clone()) {
        if loose.code.is_some() || loose.message.is_some() {
            let code = loose
                .code
                .and_then(|c| {
                    serde_wasm_bindgen::from_value::<ErrorCode>(JsValue::from_str(&c)).ok()
                })
                .unwrap_or(ErrorCode::Internal);
            return ApiError::new(code, loose.message.unwrap_or_default());
        }
    }
    let text = js_sys::JSON::stringify(&err)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "unknown error".to_string());
    ApiError::new(ErrorCode::Internal, text)
}

/// Listens to the shell's `engine` event for the whole life of the app.
pub async fn listen_engine(
    mut on_event: impl FnMut(EngineEvent) + 'static,
) -> Result<(), ApiError> {
    if !shell_present() {
        return Err(ApiError::new(ErrorCode::Unavailable, "no shell"));
    }
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let payload = js_sys::Reflect::get(&event, &JsValue::from_str("payload"))
            .unwrap_or(JsValue::UNDEFINED);
        match serde_wasm_bindgen::from_value::<EngineEvent>(payload) {
            Ok(ev) => on_event(ev),
            Err(e) => web_sys::console::warn_1(&JsValue::from_str(&format!(
                "engine event not understood: {e}"
            ))),
        }
    });
    let res = tauri_listen("engine", &handler).await;
    // The listener lives as long as the page: the closure must never be freed.
    handler.forget();
    res.map(|_| ()).map_err(error_from_js)
}

/// A list's row limit as the commands take it.
fn limit(max: usize) -> Option<u32> {
    Some(u32::try_from(max).unwrap_or(u32::MAX))
}

/// The arguments of a list command: one account's rows or all, `max` at most.
fn list(account_id: Option<&str>, max: usize) -> ListQuery {
    ListQuery {
        account_id: account_id.map(Into::into),
        limit: limit(max),
    }
}
