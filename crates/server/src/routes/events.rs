//! `GET /v1/events`: the live stream of charge status changes.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::sse::{Event, KeepAlive, Sse};
use fieldpay_protocol::charge::ChargeStatusChanged;
use fieldpay_protocol::{ErrorBody, ErrorCode, Secret};
use futures_util::stream::Stream;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::bearer;
use crate::auth::{session_of, Caller, Principal};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// Follow charge status changes
///
/// Server-sent events: `event: charge` with a `ChargeStatusChanged` JSON for each status
/// change of the caller's charges (a rep: the charges the rep requested; an API key: all the
/// merchant's charges). A rep's stream ends when the rep's session does (sign-out, a reused
/// refresh token, the rep deactivated).
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
    parts: Parts,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let rx = state.events.subscribe();
    let session_ended = match &caller.principal {
        Principal::Rep { .. } => {
            // Listen before checking, so that a revocation in between is not missed.
            let revoked = state.revoked_sessions.subscribe();
            let token = Secret::new(bearer(&parts)?);
            let family = session_of(&state, &token).await?.ok_or_else(|| {
                AppError::new(
                    ErrorCode::Unauthorized,
                    "the session has ended; sign in again",
                )
            })?;
            Some(session_end(state.clone(), revoked, family, token))
        }
        Principal::ApiKey { .. } => None,
    };
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
    let end = async move {
        match session_ended {
            Some(ended) => tokio::select! {
                _ = ended => {}
                _ = stop.stopped() => {}
            },
            None => stop.stopped().await,
        }
    };
    let stream = futures_util::StreamExt::take_until(stream, end);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Resolves when the session `family` (of the access token `token`) is revoked, as the
/// revocation watcher reports it; when reports were missed (a burst of revocations), the store
/// says whether it still stands.
async fn session_end(
    state: AppState,
    mut revoked: broadcast::Receiver<String>,
    family: String,
    token: Secret,
) {
    loop {
        match revoked.recv().await {
            Ok(id) if id == family => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => {
                if !matches!(session_of(&state, &token).await, Ok(Some(_))) {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}
