//! `GET /v1/events`: the live stream of charge status changes.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use fieldpay_protocol::charge::ChargeStatusChanged;
use fieldpay_protocol::ErrorBody;
use futures_util::stream::Stream;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// Follow charge status changes
///
/// Server-sent events: `event: charge` with a `ChargeStatusChanged` JSON for each status
/// change of the caller's charges (a rep: the charges the rep requested; an API key: all the
/// merchant's charges).
#[utoipa::path(
    get,
    path = "/v1/events",
    operation_id = "follow_events",
    tag = "events",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "An endless stream; each event's data is one status change", body = ChargeStatusChanged, content_type = "text/event-stream"),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
    )
)]
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
        if !caller.may_touch(p.event.rep_id.as_deref()) {
            return None;
        }
        let data = serde_json::to_string(&p.event).ok()?;
        Some(Ok(Event::default().event("charge").data(data)))
    });
    let stream = futures_util::StreamExt::take_until(stream, async move { stop.stopped().await });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
