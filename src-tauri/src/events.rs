//! Engine events to the windows: every `EngineEvent` becomes the Tauri event `engine`
//! (`{"type": "status" | "charge_changed" | "order_changed" | "records_changed", "data": ...}`),
//! emitted to all windows.

use std::sync::{Arc, Weak};

use fieldpay_core::Engine;
use fieldpay_protocol::app::EngineEvent;
use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast::error::RecvError;

pub const ENGINE_EVENT: &str = "engine";

fn emit(app: &AppHandle, event: &EngineEvent) {
    if let Err(e) = app.emit(ENGINE_EVENT, event) {
        tracing::warn!("cannot emit the engine event: {e}");
    }
}

/// Tells the windows the engine's current sync status (after a start or sign-in).
pub fn emit_status(app: &AppHandle, engine: &Engine) {
    emit(app, &EngineEvent::Status(engine.status()));
}

/// Forwards the engine's events until aborted (when another engine takes over).
pub fn forward(app: AppHandle, engine: &Arc<Engine>) -> tauri::async_runtime::JoinHandle<()> {
    let mut rx = engine.subscribe();
    let weak: Weak<Engine> = Arc::downgrade(engine);
    tauri::async_runtime::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(event) => emit(&app, &event),
                // Fell behind: some events were dropped; have the UI reload everything.
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!(skipped = n, "engine events lagged");
                    emit(&app, &EngineEvent::RecordsChanged);
                    if let Some(engine) = weak.upgrade() {
                        emit_status(&app, &engine);
                    }
                }
                Err(RecvError::Closed) => break,
            }
        }
    })
}
