//! Device sync: pull changes by cursor (`GET /v1/sync`) and push a batch of mutations
//! (`POST /v1/mutations`); each mutation's client id is its idempotency key, and a retried
//! mutation gets its first answer again.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use fieldpay_protocol::charge::ChargeOrigin;
use fieldpay_protocol::sync::{
    Mutation, MutationBatch, MutationKind, MutationOutcome, MutationResult, MutationResults,
    SyncPage,
};
use fieldpay_protocol::time::parse_ts;
use fieldpay_protocol::visit::{clean_note, MAX_AGE_DAYS, MAX_AHEAD_SECS};
use fieldpay_protocol::{AccountId, ChargeId, ErrorBody, ErrorCode, OrderId, RepId};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::charges::{own_charge, view};
use super::extract::{parse_query, JsonBody};
use super::orders::own_order;
use crate::auth::Caller;
use crate::charges::{self, Requester};
use crate::coordination;
use crate::domain::{parse_text, ChargeRequest};
use crate::error::{AppError, AppResult};
use crate::ids::is_valid_client_id;
use crate::pulls::{self, PageKey};
use crate::state::AppState;
use crate::store::{NewVisit, OrderDraft};

pub const MAX_BATCH: usize = 500;
const MAX_PNG: usize = 2 * 1024 * 1024;
const MAX_PDF: usize = 5 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pull))
        .routes(routes!(push))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PullQuery {
    /// `cursor` of the previous page; 0 (the default) from the start.
    #[serde(default)]
    #[param(minimum = 0)]
    cursor: Option<i64>,
    /// Changes per page, 1 to 20000 (default 1000).
    #[serde(default)]
    limit: Option<u32>,
}

/// Pull the merchant's changed records
///
/// Records changed after `cursor`, oldest first; repeat with the answered cursor while
/// `has_more`.
#[utoipa::path(
    get,
    path = "/v1/sync",
    operation_id = "pull_changes",
    tag = "sync",
    security(("bearer" = [])),
    params(PullQuery),
    responses(
        (status = 200, description = "A page of changes", body = SyncPage),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 422, description = "A query parameter is unknown or invalid", body = ErrorBody),
    )
)]
async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
) -> AppResult<Response> {
    let q: PullQuery = parse_query(uri.query())?;
    let cursor = q.cursor.unwrap_or(0);
    if cursor < 0 {
        return Err(AppError::invalid("cursor", "must not be negative"));
    }
    let limit = q
        .limit
        .unwrap_or(1000)
        .clamp(1, crate::store::MAX_PULL_PAGE);
    let key = PageKey {
        merchant_id: caller.merchant_id.clone(),
        rep: caller.limited_to().cloned(),
        cursor,
        limit,
    };
    let page = pulls::page(&state, key).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page.json).into_response())
}

fn decode_b64(field: &str, v: &str, max: usize, magic: &[u8]) -> AppResult<Vec<u8>> {
    let bytes = B64
        .decode(v.trim())
        .map_err(|_| AppError::invalid(field, "is not base64"))?;
    if bytes.len() > max {
        return Err(AppError::invalid(
            field,
            format!("is larger than {max} bytes"),
        ));
    }
    if !bytes.starts_with(magic) {
        return Err(AppError::invalid(field, "is not the expected file type"));
    }
    Ok(bytes)
}

/// Applies one mutation. `Err` only for faults (the batch is answered 500 and retried);
/// refusals are `Ok(Rejected)`.
async fn apply(
    state: &AppState,
    caller: &Caller,
    rep_id: &RepId,
    m: Mutation,
) -> AppResult<MutationOutcome> {
    let mid = caller.merchant_id.clone();
    let now = state.clock.now();
    let result: AppResult<MutationOutcome> = async {
        match m.op {
            MutationKind::UpsertOrder {
                order_id,
                account_id,
                lines,
                memo,
                kind,
                original_order_id,
            } => {
                if !is_valid_client_id(&order_id) {
                    return Err(AppError::invalid("order_id", "8 to 64 of A-Z a-z 0-9 _ -"));
                }
                let memo = if memo.trim().is_empty() {
                    String::new()
                } else {
                    parse_text("memo", &memo, 500)?
                };
                let draft = OrderDraft {
                    order_id: OrderId::new(order_id),
                    account_id: AccountId::new(account_id),
                    lines,
                    memo,
                    kind,
                    original_order_id: original_order_id.map(OrderId::new),
                };
                // Another rep's order cannot be changed (a new id is the caller's own).
                own_order(state, caller, &draft.order_id).await?;
                let rep = rep_id.clone();
                let order = state
                    .db(move |s| s.upsert_order(&mid, Some(&rep), &draft, now))
                    .await?;
                Ok(MutationOutcome::Applied {
                    order: Some(Box::new(order)),
                    charge: None,
                    collection: None,
                })
            }
            MutationKind::SignOrder {
                order_id,
                evidence,
                signature_png,
                pdf,
                number,
            } => {
                parse_text("evidence.signer_name", &evidence.signer_name, 50)?;
                let hash_ok = evidence.content_hash.len() == 64
                    && evidence.content_hash.bytes().all(|b| b.is_ascii_hexdigit());
                if !hash_ok {
                    return Err(AppError::invalid(
                        "evidence.content_hash",
                        "must be a SHA-256 hex digest",
                    ));
                }
                let png = decode_b64(
                    "signature_png",
                    &signature_png,
                    MAX_PNG,
                    b"\x89PNG\r\n\x1a\n",
                )?;
                let pdf = pdf
                    .map(|p| decode_b64("pdf", &p, MAX_PDF, b"%PDF"))
                    .transpose()?;
                let order_id = OrderId::new(order_id);
                own_order(state, caller, &order_id).await?;
                let order = state
                    .db(move |s| {
                        s.sign_order(
                            &mid,
                            &order_id,
                            &evidence,
                            number.as_deref(),
                            &png,
                            pdf.as_deref(),
                            now,
                        )
                    })
                    .await?;
                Ok(MutationOutcome::Applied {
                    order: Some(Box::new(order)),
                    charge: None,
                    collection: None,
                })
            }
            MutationKind::SubmitOrder { order_id } => {
                let order_id = OrderId::new(order_id);
                own_order(state, caller, &order_id).await?;
                let order = state
                    .db(move |s| s.submit_order(&mid, &order_id, now))
                    .await?;
                Ok(MutationOutcome::Applied {
                    order: Some(Box::new(order)),
                    charge: None,
                    collection: None,
                })
            }
            // The push handler hands every charge request to `request_charges` (the group
            // commit); this function never sees one.
            MutationKind::RequestCharge { .. } => Err(AppError::internal(
                "charge requests are applied by request_charges",
            )),
            MutationKind::RecordCollection { collection } => {
                let c = crate::collections::record(state, caller, rep_id, collection).await?;
                Ok(MutationOutcome::Applied {
                    order: None,
                    charge: None,
                    collection: Some(Box::new(c)),
                })
            }
            MutationKind::CheckIn {
                visit_id,
                account_id,
                at,
                location,
                note,
            } => {
                if !is_valid_client_id(&visit_id) {
                    return Err(AppError::invalid("visit_id", "8 to 64 of A-Z a-z 0-9 _ -"));
                }
                let at = visit_time(&at, now)?;
                if let Some(problem) = location.as_ref().and_then(|l| l.problem()) {
                    return Err(AppError::invalid("location", problem));
                }
                let note = clean_note(&note).map_err(|e| AppError::invalid("note", e))?;
                let visit = NewVisit {
                    id: visit_id,
                    account_id: AccountId::new(account_id),
                    rep_id: rep_id.clone(),
                    at,
                    location,
                    note,
                };
                let only_own = caller.limited_to().is_some();
                state
                    .db(move |s| s.check_in(&mid, &visit, only_own))
                    .await?;
                Ok(MutationOutcome::Applied {
                    order: None,
                    charge: None,
                    collection: None,
                })
            }
            MutationKind::CheckOut { visit_id, at } => {
                let at = visit_time(&at, now)?;
                let rep = rep_id.clone();
                state
                    .db(move |s| s.check_out(&mid, &rep, &visit_id, at))
                    .await?;
                Ok(MutationOutcome::Applied {
                    order: None,
                    charge: None,
                    collection: None,
                })
            }
            MutationKind::CancelCharge { charge_id, reason } => {
                let charge_id = ChargeId::new(charge_id);
                own_charge(state, caller, &charge_id).await?;
                let rec = charges::cancel(state, &caller.merchant_id, &charge_id, reason).await?;
                Ok(MutationOutcome::Applied {
                    order: None,
                    charge: Some(Box::new(view(state, rec))),
                    collection: None,
                })
            }
        }
    }
    .await;
    outcome_of(result)
}

/// A visit's time: RFC 3339, not ahead of the server's clock by more than
/// [`MAX_AHEAD_SECS`], not older than [`MAX_AGE_DAYS`].
fn visit_time(at: &str, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    let t = parse_ts(at).ok_or_else(|| AppError::invalid("at", "is not an RFC 3339 time"))?;
    if t > now + chrono::Duration::seconds(MAX_AHEAD_SECS) {
        return Err(AppError::invalid("at", "is in the future"));
    }
    if t < now - chrono::Duration::days(MAX_AGE_DAYS) {
        return Err(AppError::invalid(
            "at",
            format!("is more than {MAX_AGE_DAYS} days ago"),
        ));
    }
    Ok(t)
}

/// How long a push holds its merchant's lease without renewing it (renewed as it goes); a
/// crashed instance's push is taken over after this.
const PUSH_LEASE: Duration = Duration::from_secs(30);
/// How long a push waits for another push of the same merchant (any instance) to finish.
const PUSH_WAIT: Duration = Duration::from_secs(30);

/// Push a batch of mutations
///
/// Applied in order; each answer says whether its mutation was applied or rejected (with the
/// reason). A mutation's `client_id` is its idempotency key: a retried one gets its first answer
/// again. For a signed-in rep's device (an API key is refused).
#[utoipa::path(
    post,
    path = "/v1/mutations",
    operation_id = "push_mutations",
    tag = "sync",
    security(("bearer" = [])),
    request_body(content = MutationBatch, content_type = "application/json"),
    responses(
        (status = 200, description = "One result per mutation, in order", body = MutationResults),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller is not a rep (an API key)", body = ErrorBody),
        (status = 422, description = "The body is malformed, or has more than 500 mutations", body = ErrorBody),
    )
)]
async fn push(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(batch): JsonBody<MutationBatch>,
) -> AppResult<Json<MutationResults>> {
    let Some(rep_id) = caller.rep_id().cloned() else {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "mutations are pushed by a signed-in rep's device",
        ));
    };
    if batch.mutations.len() > MAX_BATCH {
        return Err(AppError::invalid(
            "mutations",
            format!("at most {MAX_BATCH} per batch"),
        ));
    }
    // One batch at a time per merchant, across instances (a lease in the database): a retry
    // that arrives, at any instance, while the first push is still running must find each
    // mutation's saved answer rather than apply it again (a second UpsertOrder after the
    // SignOrder would silently drop the signature).
    let mut lease = coordination::acquire(
        &state,
        format!("push:{}", caller.merchant_id),
        PUSH_LEASE,
        PUSH_WAIT,
    )
    .await?;
    let mid = caller.merchant_id.clone();
    let ids: Vec<String> = batch
        .mutations
        .iter()
        .map(|m| m.client_id.clone())
        .filter(|id| is_valid_client_id(id))
        .collect();
    // Answers saved by earlier pushes, and those given in this one (a client id twice in a
    // batch gets its first answer again).
    let mut answered = state.db(move |s| s.mutation_results(&mid, &ids)).await?;
    let mut results = Vec::with_capacity(batch.mutations.len());
    let mut queue = batch.mutations.into_iter().peekable();
    while let Some(m) = queue.next() {
        let client_id = m.client_id.clone();
        if !is_valid_client_id(&client_id) {
            results.push(MutationResult {
                client_id,
                outcome: MutationOutcome::Rejected {
                    error: AppError::invalid("client_id", "8 to 64 of A-Z a-z 0-9 _ -").to_api(),
                },
            });
            continue;
        }
        if let Some(first) = answered.get(&client_id) {
            results.push(MutationResult {
                client_id,
                outcome: first.clone(),
            });
            continue;
        }
        lease.keep().await?;
        let outcomes = if matches!(m.op, MutationKind::RequestCharge { .. }) {
            // A run of charge requests goes to the charge writer together (created in this
            // order, committed in as few transactions as the writer groups them), and their
            // answers are saved in one transaction.
            let mut run = vec![m];
            while let Some(next) = queue.peek() {
                let fresh = matches!(next.op, MutationKind::RequestCharge { .. })
                    && is_valid_client_id(&next.client_id)
                    && !answered.contains_key(&next.client_id)
                    && run.iter().all(|r| r.client_id != next.client_id);
                if !fresh {
                    break;
                }
                run.extend(queue.next());
            }
            request_charges(&state, &caller, &rep_id, run).await?
        } else {
            let outcome = apply(&state, &caller, &rep_id, m).await?;
            vec![(client_id, outcome)]
        };
        // Saved (each run in one transaction) before the next mutation is applied, so that a
        // retry never applies a mutation again after a later one of the same batch.
        let (mid, rid, now) = (
            caller.merchant_id.clone(),
            rep_id.clone(),
            state.clock.now(),
        );
        let ids: Vec<String> = outcomes.iter().map(|(id, _)| id.clone()).collect();
        let kept = state
            .db(move |s| s.save_mutation_results(&mid, &rid, &outcomes, now))
            .await?;
        for (client_id, outcome) in ids.into_iter().zip(kept) {
            answered.insert(client_id.clone(), outcome.clone());
            results.push(MutationResult { client_id, outcome });
        }
    }
    lease.release().await;
    Ok(Json(MutationResults { results }))
}

/// Applies a run of `RequestCharge` mutations (distinct client ids): each is checked and
/// queued on the charge writer in order, then their answers are collected.
async fn request_charges(
    state: &AppState,
    caller: &Caller,
    rep_id: &RepId,
    run: Vec<Mutation>,
) -> AppResult<Vec<(String, MutationOutcome)>> {
    enum Step {
        Done(AppResult<MutationOutcome>),
        Waiting(charges::Pending),
    }
    let mut steps = Vec::with_capacity(run.len());
    for m in run {
        let MutationKind::RequestCharge { charge_id, request } = m.op else {
            unreachable!("a run holds charge requests only");
        };
        let step = async {
            if !is_valid_client_id(&charge_id) {
                return Err(AppError::invalid("charge_id", "8 to 64 of A-Z a-z 0-9 _ -"));
            }
            let req = ChargeRequest::parse(&request)?;
            let who = Requester {
                merchant_id: caller.merchant_id.clone(),
                rep_id: Some(rep_id.clone()),
                api_key_id: None,
                origin: ChargeOrigin::App,
                link: None,
            };
            let prepared =
                charges::prepare(state, who, req, Some(ChargeId::new(charge_id)), None).await?;
            charges::submit(state, prepared)
        }
        .await;
        steps.push((
            m.client_id,
            match step {
                Ok(pending) => Step::Waiting(pending),
                Err(e) => Step::Done(Err(e)),
            },
        ));
    }
    let mut out = Vec::with_capacity(steps.len());
    for (client_id, step) in steps {
        let result = match step {
            Step::Done(r) => r,
            Step::Waiting(pending) => {
                charges::finish(state, pending)
                    .await
                    .map(|(rec, _)| MutationOutcome::Applied {
                        order: None,
                        charge: Some(Box::new(view(state, rec))),
                        collection: None,
                    })
            }
        };
        out.push((client_id, outcome_of(result)?));
    }
    Ok(out)
}

/// Refusals are answers; faults fail the whole push (it is retried).
fn outcome_of(result: AppResult<MutationOutcome>) -> AppResult<MutationOutcome> {
    match result {
        Ok(o) => Ok(o),
        Err(e) if e.code == ErrorCode::Internal => Err(e),
        Err(e) => Ok(MutationOutcome::Rejected { error: e.to_api() }),
    }
}
