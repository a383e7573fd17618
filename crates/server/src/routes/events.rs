//! `GET /v1/events`: the live stream of charge status changes.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures_util::stream::Stream;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

use crate::auth::{Caller, Principal};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/events", get(events))
}

/// Server-sent events: `event: charge` with a `ChargeStatusChanged` JSON for each status
/// change of the caller's charges (a rep: the charges the rep requested; an API key: all the
/// merchant's charges).
async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.events.subscribe();
    let stop = state.clone();
    let stream = BroadcastStream::new(rx).filter_map(move |msg| {
        let p = msg.ok()?;
        if p.merchant_id != caller.merchant_id {
            return None;
        }
        if let Principal::Rep { rep_id } = &caller.principal {
            if p.event.rep_id.as_deref() != Some(rep_id.as_str()) {
                return None;
            }
        }
        let data = serde_json::to_string(&p.event).ok()?;
        Some(Ok(Event::default().event("charge").data(data)))
    });
    let stream = futures_util::StreamExt::take_until(stream, async move { stop.stopped().await });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
