//! Live payment calls: drives one `fieldpay_ivr::Call` per phone call for any telephony
//! adapter (TwiML webhooks, the sandbox phone, SIP). The adapter turns carrier requests into
//! [`Input`]s and renders the returned [`Turn`]; this module does what the state machine asks
//! of the host (look up the charge, get the approval) and persists a checkpoint after every
//! turn, never a keyed value, so a restarted server picks the call up again.
//!
//! Calls and instances. A call lives in the memory of one instance, its owner: the keys typed
//! so far (card number, expiry...) are only there. The call's row names the owner (its
//! `instance_id`) and where the others reach it (its `internal_url`). Several instances may
//! share one PostgreSQL database behind a load balancer that does not stick by call, so a
//! TwiML call's next request may reach any of them; [`route`] decides what the instance that
//! got it does:
//! - it holds the call, or nobody else does (a new call; the owner is this instance; or the
//!   database is SQLite, one instance per file, where a restarted server resumes the call from
//!   its checkpoint and asks for the card again): handle it here;
//! - the owner is another instance that is alive (it holds its lease `instance:<id>`, see
//!   `coordination`): forward the request to it unchanged (`telephony::twiml`);
//! - the owner is lost (its lease was given up or ran out, or it cannot be reached): the keys
//!   typed are gone with it, so the call ends politely with nothing charged ([`end_lost`],
//!   outcome `instance_lost`) and the charge stays payable: the payer calls again.
//!
//! A SIP call stays with its instance: its dialog and media are bound to that instance's
//! transport, so no other instance ever gets its requests (a lost instance's SIP calls drop
//! with it; the charge stays payable). The sandbox phone is for one instance too: its calls
//! are not forwarded.

pub mod registry;

use std::sync::Arc;

use chrono::Datelike;
use fieldpay_ivr as ivr;
use fieldpay_protocol::charge::ChargeStatus;
use fieldpay_protocol::phone::Phone;
use fieldpay_protocol::OrderId;
use serde::{Deserialize, Serialize};

use crate::clock::{kst, ts};
use crate::domain::Merchant;
use crate::state::AppState;
use crate::store::{CallSessionRecord, ChargeRecord, Effects};
use registry::LiveCall;

/// What the caller did since the last turn.
pub enum Input {
    /// Keys pressed: may be a card number, expiry, birth date or password.
    Digits(String),
    Timeout,
    HangUp,
}

impl std::fmt::Debug for Input {
    /// Like a derived `Debug`, but the keys are never printed (they may be card data).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Digits(_) => f.debug_tuple("Digits").field(&"[REDACTED]").finish(),
            Input::Timeout => f.write_str("Timeout"),
            Input::HangUp => f.write_str("HangUp"),
        }
    }
}

/// What the adapter must play or do now.
// `fieldpay-ivr` has no OpenAPI schemas: its types are described by their wire form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Turn {
    /// The call's language: `ko` or `en`.
    #[schema(value_type = String, example = "ko")]
    pub lang: ivr::Lang,
    /// Prompts to speak in order (the gather's own prompts come last).
    pub say: Vec<String>,
    /// Wait for keys (None when the call ends).
    pub gather: Option<GatherSpec>,
    pub hangup: bool,
    /// Where the call is, snake_case (`read_out`, `card_number`, `approving`, `done`...).
    #[schema(value_type = String, example = "card_number")]
    pub step: ivr::Step,
    /// How the call ended, once it has: a snake_case name (`approved`, `hung_up`...) or
    /// `{"declined": reason}`.
    #[schema(value_type = Option<Value>)]
    pub outcome: Option<ivr::Outcome>,
}

/// The keys a turn waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GatherSpec {
    pub max_digits: u8,
    pub finish_on_key: Option<char>,
    pub timeout_secs: u8,
}

/// National digits of a dialled number or caller ID (E.164 or national); None for withheld
/// or unparseable caller IDs ("anonymous", "+266696687", empty...).
pub fn normalize_number(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("anonymous") || t.eq_ignore_ascii_case("restricted") {
        return None;
    }
    Phone::parse(t).ok().map(|p| p.digits().to_string())
}

fn call_config(m: Option<&Merchant>, lang: ivr::Lang) -> ivr::CallConfig {
    let mut c = ivr::CallConfig {
        lang,
        ..ivr::CallConfig::default()
    };
    if let Some(m) = m {
        c.require_birth_date = m.settings.require_birth_date;
        c.require_password = m.settings.require_password;
    }
    c
}

fn today(state: &AppState) -> (u16, u8) {
    let now = state.clock.now().with_timezone(&kst());
    (now.year() as u16, now.month() as u8)
}

fn effects_for(state: &AppState, m: &Merchant, rec: &ChargeRecord) -> Effects {
    crate::charges::effects(state, m, rec)
}

/// A card company's name as the call speaks it: the connector and the store name companies
/// in Korean ("BC카드"); an English call says "BC Card".
fn issuer_name_in(lang: ivr::Lang, name_ko: &str) -> String {
    match lang {
        ivr::Lang::Ko => name_ko.to_string(),
        ivr::Lang::En => crate::card::CardCompany::all()
            .into_iter()
            .find(|c| c.name_ko() == name_ko)
            .map_or_else(|| name_ko.to_string(), |c| c.name_en().to_string()),
    }
}

async fn charge_info(
    state: &AppState,
    m: &Merchant,
    rec: &ChargeRecord,
    lang: ivr::Lang,
) -> ivr::ChargeInfo {
    let c = &rec.charge;
    let order = match &c.order_ref {
        Some(r) => {
            let (mid, oid) = (m.id.clone(), OrderId::new(r.clone()));
            state
                .db(move |s| s.order(&mid, &oid))
                .await
                .ok()
                .flatten()
                .map(|o| ivr::OrderSummary {
                    order_number: o.number.unwrap_or(o.id),
                    item_count: o.lines.len() as u32,
                    total: o.totals.total,
                })
        }
        None => None,
    };
    // A registered card is offered only while the merchant allows auto-pay (a charge made
    // before it was turned off is paid by a keyed card).
    let auto_pay = c.kind == fieldpay_protocol::charge::ChargeKind::AutoPay && m.settings.auto_pay;
    let registered_card = if auto_pay {
        let (mid, phone) = (m.id.clone(), rec.payer_phone.clone());
        state
            .db(move |s| s.registered_card(&mid, &phone))
            .await
            .ok()
            .flatten()
            .map(|rc| ivr::RegisteredCard {
                issuer_name: issuer_name_in(lang, &rc.issuer_name),
                last4: rc.last4,
            })
    } else {
        None
    };
    ivr::ChargeInfo {
        charge_id: c.id.clone(),
        merchant_name: m.name.clone(),
        goods_name: c.goods_name.clone(),
        amount: c.amount,
        installments_allowed: c.installments,
        order,
        registered_card,
    }
}

/// Looks up the pending charge for (dialled, caller) and records call_connected + verified.
async fn lookup(state: &AppState, live: &mut LiveCall, dialled: &str, caller: &str) -> ivr::Event {
    let Some(m) = live.merchant.clone() else {
        return ivr::Event::ChargeNotFound;
    };
    let now = state.clock.now();
    let (d, c) = (dialled.to_string(), caller.to_string());
    let found = state.db(move |s| s.charge_by_binding(&d, &c, now)).await;
    let rec = match found {
        Ok(Some(rec)) if rec.merchant_id == m.id => rec,
        Ok(_) => return ivr::Event::ChargeNotFound,
        Err(e) => {
            tracing::error!(error = %e.message, "charge lookup failed");
            return ivr::Event::ChargeNotFound;
        }
    };
    live.record.charge_id = Some(rec.id());
    let mut last = rec.clone();
    for status in [ChargeStatus::CallConnected, ChargeStatus::Verified] {
        let (cid, st, m2) = (rec.id(), state.clone(), m.clone());
        let detail = format!("call {}", live.record.call_id);
        if let Ok(r) = state
            .db(move |s| {
                s.record_status(&cid, status, Some(&detail), now, &|r| {
                    effects_for(&st, &m2, r)
                })
            })
            .await
        {
            state.publish(&r);
            last = r;
        }
    }
    ivr::Event::ChargeFound(charge_info(state, &m, &last, live.call.config().lang).await)
}

/// Feeds an event to the call and does what it asks of the host until it waits for the caller
/// or ends. Returns the adapter's part of the actions.
async fn drive(state: &AppState, live: &mut LiveCall, first: ivr::Event) -> Vec<ivr::Action> {
    let mut out = Vec::new();
    let mut next = Some(first);
    let mut guard = 0;
    while let Some(event) = next.take() {
        guard += 1;
        if guard > 16 {
            tracing::error!(call_id = %live.record.call_id, "ivr host loop did not settle");
            break;
        }
        for action in live.call.handle(event) {
            match action {
                ivr::Action::LookupCharge { dialled, caller_id } => {
                    next = Some(lookup(state, live, &dialled, &caller_id).await);
                }
                ivr::Action::RequestApproval(req) => {
                    // On a task of its own: a carrier or a forwarding instance that gives up
                    // on this request (its connection closes, this future is dropped) must not
                    // cut an approval off between the card network's answer and its record.
                    let st = state.clone();
                    let approval =
                        tokio::spawn(async move { crate::charges::approve(&st, req).await });
                    let mut result = approval.await.unwrap_or_else(|e| {
                        tracing::error!(call_id = %live.record.call_id, error = %e, "the approval task failed");
                        ivr::ApprovalOutcome::Failed
                    });
                    if let ivr::ApprovalOutcome::Approved { issuer_name, .. } = &mut result {
                        *issuer_name = issuer_name_in(live.call.config().lang, issuer_name);
                    }
                    next = Some(ivr::Event::ApprovalResult(result));
                }
                other => out.push(other),
            }
        }
    }
    out
}

fn render(live: &LiveCall, actions: Vec<ivr::Action>) -> Turn {
    let lang = live.call.config().lang;
    let mut turn = Turn {
        lang,
        say: Vec::new(),
        gather: None,
        hangup: false,
        step: live.call.step(),
        outcome: live.call.outcome().cloned(),
    };
    for a in actions {
        match a {
            ivr::Action::Say(p) => turn.say.push(p.text(lang)),
            ivr::Action::Gather {
                prompts,
                max_digits,
                finish_on_key,
                timeout_secs,
            } => {
                turn.say.extend(prompts.iter().map(|p| p.text(lang)));
                turn.gather = Some(GatherSpec {
                    max_digits,
                    finish_on_key,
                    timeout_secs,
                });
            }
            ivr::Action::Hangup => turn.hangup = true,
            ivr::Action::LookupCharge { .. } | ivr::Action::RequestApproval(_) => {}
        }
    }
    if turn.gather.is_none() && !turn.hangup {
        // Nothing to wait for and no hangup: end the call rather than leave the line open.
        turn.hangup = true;
    }
    turn
}

/// A stored call step: what happened and when (never what was keyed).
#[derive(Serialize)]
struct TimedStep<'a> {
    #[serde(flatten)]
    entry: &'a ivr::TraceEntry,
    at: &'a str,
}

async fn persist(state: &AppState, live: &mut LiveCall) {
    // The checkpoint, with the call's language (not part of ivr::Checkpoint) so that a resumed
    // call keeps speaking it.
    let mut cp = serde_json::to_value(live.call.checkpoint()).unwrap_or_default();
    if let (Some(o), Ok(lang)) = (
        cp.as_object_mut(),
        serde_json::to_value(live.call.config().lang),
    ) {
        o.insert("lang".into(), lang);
    }
    live.record.checkpoint = cp.to_string();
    let now = state.clock.now();
    let trace = live.call.trace();
    while live.trace_times.len() < trace.len() {
        live.trace_times.push(ts(now));
    }
    let timed: Vec<TimedStep<'_>> = trace
        .iter()
        .zip(&live.trace_times)
        .map(|(entry, at)| TimedStep { entry, at })
        .collect();
    live.record.trace = serde_json::to_string(&timed).unwrap_or_default();
    live.record.outcome = live.call.outcome().map(|o| o.code());
    if live.call.is_done() && live.record.ended_at.is_none() {
        live.record.ended_at = Some(ts(now));
    }
    let rec = live.record.clone();
    if let Err(e) = state.db(move |s| s.save_call(&rec, now)).await {
        tracing::error!(error = %e.message, "cannot save call session");
    }
}

/// A new call arrives: `dialled` is the virtual number, `caller` the presented caller ID.
pub async fn start(
    state: &AppState,
    adapter: &str,
    call_id: &str,
    dialled: &str,
    caller: &str,
    lang: ivr::Lang,
) -> Turn {
    if let Some(existing) = state.calls.get(call_id) {
        // A carrier retry of the first request: answer again with where the call is now (the
        // last answer; a bare re-render has no gather and would hang up a live call).
        let live = existing.lock().await;
        return live.last_turn.clone().unwrap_or_else(|| resume_turn(&live));
    }
    let dialled_n = normalize_number(dialled).unwrap_or_else(|| dialled.trim().to_string());
    let caller_n = normalize_number(caller);
    let d2 = dialled_n.clone();
    let merchant = state
        .db(move |s| s.merchant_by_number(&d2))
        .await
        .ok()
        .flatten();
    let now = state.clock.now();
    let record = CallSessionRecord {
        call_id: call_id.to_string(),
        adapter: adapter.to_string(),
        merchant_id: merchant.as_ref().map(|m| m.id.clone()),
        charge_id: None,
        dialled: dialled_n.clone(),
        caller: caller_n.clone(),
        checkpoint: String::new(),
        trace: String::new(),
        outcome: None,
        started_at: ts(now),
        ended_at: None,
        owner: Some(state.instance_id.to_string()),
        owner_url: Some(state.settings.internal_url.clone()),
    };
    let config = call_config(merchant.as_ref(), lang);
    let arc = state.calls.insert(
        call_id,
        LiveCall {
            last_seen: std::time::Instant::now(),
            trace_times: Vec::new(),
            last_turn: None,
            call: ivr::Call::new(config),
            merchant,
            record,
        },
    );
    let mut live = arc.lock().await;
    tracing::info!(call_id, adapter, dialled = %dialled_n, caller_withheld = caller_n.is_none(), "call started");
    let actions = drive(
        state,
        &mut live,
        ivr::Event::Connected {
            dialled: dialled_n,
            caller_id: caller_n,
            today: today(state),
        },
    )
    .await;
    finish_turn(state, call_id, &mut live, actions).await
}

async fn finish_turn(
    state: &AppState,
    call_id: &str,
    live: &mut LiveCall,
    actions: Vec<ivr::Action>,
) -> Turn {
    let turn = render(live, actions);
    live.last_turn = Some(turn.clone());
    persist(state, live).await;
    if live.call.is_done() {
        state.calls.remove(call_id);
        tracing::info!(call_id, outcome = ?live.call.outcome(), "call ended");
    }
    turn
}

fn resume_turn(live: &LiveCall) -> Turn {
    let mut t = render(live, Vec::new());
    t.hangup = live.call.is_done();
    t
}

/// The caller did something on a call in progress. A call this process does not hold (the
/// server restarted) is resumed from its checkpoint: keys typed before the restart were only
/// in memory, so card entry starts again.
pub async fn input(state: &AppState, call_id: &str, input: Input) -> Option<Turn> {
    let arc = match state.calls.get(call_id) {
        Some(a) => a,
        None => {
            let (arc, actions) = resume(state, call_id).await?;
            let mut live = arc.lock().await;
            // The keys of this request answered a question asked before the restart; the
            // resumed call asks again instead (a hang-up still ends it).
            let actions = match input {
                Input::HangUp => drive(state, &mut live, ivr::Event::HangUp).await,
                _ => actions,
            };
            return Some(finish_turn(state, call_id, &mut live, actions).await);
        }
    };
    let mut live = arc.lock().await;
    live.last_seen = std::time::Instant::now();
    if live.call.is_done() {
        state.calls.remove(call_id);
        return Some(resume_turn(&live));
    }
    let event = match input {
        Input::Digits(d) => ivr::Event::Digits(d),
        Input::Timeout => ivr::Event::Timeout,
        Input::HangUp => ivr::Event::HangUp,
    };
    let actions = drive(state, &mut live, event).await;
    Some(finish_turn(state, call_id, &mut live, actions).await)
}

type Resumed = (Arc<tokio::sync::Mutex<LiveCall>>, Vec<ivr::Action>);

async fn resume(state: &AppState, call_id: &str) -> Option<Resumed> {
    let id = call_id.to_string();
    let mut record = state.db(move |s| s.call(&id)).await.ok().flatten()?;
    if record.ended_at.is_some() {
        return None;
    }
    // This instance holds the call from now on.
    record.owner = Some(state.instance_id.to_string());
    record.owner_url = Some(state.settings.internal_url.clone());
    let cp_json: serde_json::Value = serde_json::from_str(&record.checkpoint).ok()?;
    let lang = cp_json
        .get("lang")
        .and_then(|l| serde_json::from_value(l.clone()).ok())
        .unwrap_or(ivr::Lang::Ko);
    let cp: ivr::Checkpoint = serde_json::from_value(cp_json).ok()?;
    let merchant = match &record.merchant_id {
        Some(mid) => {
            let mid = mid.clone();
            state.db(move |s| s.merchant(&mid)).await.ok().flatten()
        }
        None => None,
    };
    let config = call_config(merchant.as_ref(), lang);
    let charge = match (&record.charge_id, &merchant) {
        (Some(cid), Some(m)) => {
            let cid = cid.clone();
            match state.db(move |s| s.charge_any(&cid)).await.ok().flatten() {
                Some(rec) if rec.charge.status.is_pending() && rec.bound => {
                    Some(charge_info(state, m, &rec, lang).await)
                }
                _ => None,
            }
        }
        _ => None,
    };
    tracing::info!(call_id, step = ?cp.step, "resuming call after restart");
    let (call, actions) = match charge {
        Some(info) => ivr::Call::resume(config, cp, info, today(state)),
        None => {
            // The charge is gone (paid, canceled, expired) or was never found: the caller is
            // told there is nothing to pay.
            let mut c = ivr::Call::new(config);
            let _ = c.handle(ivr::Event::Connected {
                dialled: record.dialled.clone(),
                caller_id: record.caller.clone(),
                today: today(state),
            });
            let actions = c.handle(ivr::Event::ChargeNotFound);
            (c, actions)
        }
    };
    let arc = state.calls.insert(
        call_id,
        LiveCall {
            last_seen: std::time::Instant::now(),
            trace_times: Vec::new(),
            last_turn: None,
            call,
            merchant,
            record,
        },
    );
    Some((arc, actions))
}

/// Where a carrier request for a call in progress is handled (see the module docs).
#[derive(Debug)]
pub enum Route {
    /// By this instance.
    Here,
    /// By the call's owner, another instance that is alive: forward the request to `url`.
    Owner {
        url: String,
        call: Box<CallSessionRecord>,
    },
    /// Nowhere: the owner is lost; end the call with [`end_lost`].
    Lost(Box<CallSessionRecord>),
}

/// Decides where a request for `call_id` is handled. `forwarded`: the request was forwarded
/// here by another instance, which found this one the owner (it is never forwarded again).
pub async fn route(state: &AppState, call_id: &str, forwarded: bool) -> Route {
    if state.calls.get(call_id).is_some() || state.settings.database_url.is_none() {
        // Ours; or a database of our own (SQLite): no other instance to hand calls to, the
        // call resumes here from its checkpoint.
        return Route::Here;
    }
    let id = call_id.to_string();
    let record = match state.db(move |s| s.call(&id)).await {
        Ok(Some(r)) => r,
        // A new call, or the store cannot say (then handling it here fails the usual way).
        Ok(None) | Err(_) => return Route::Here,
    };
    let owner = match &record.owner {
        Some(o) if record.ended_at.is_none() && o.as_str() != &*state.instance_id => o.clone(),
        // Ended (answered with a hang-up), or ours (resumed from its checkpoint after being
        // idle), or saved before owners were recorded.
        _ => return Route::Here,
    };
    if forwarded {
        // Another instance took this one for the owner, yet the call names a third: their
        // internal_url settings are likely wrong (two instances on one address).
        tracing::error!(call_id, owner = %owner, "a forwarded call belongs to another instance; check every instance's internal_url");
        return Route::Lost(Box::new(record));
    }
    match record.owner_url.clone() {
        Some(url) if crate::coordination::instance_alive(state, &owner).await => Route::Owner {
            url,
            call: Box::new(record),
        },
        _ => Route::Lost(Box::new(record)),
    }
}

/// The words that end a call lost with its instance: call again (nothing is charged by
/// this call from now on; the charge stays payable).
fn lost_words(lang: ivr::Lang) -> &'static str {
    match lang {
        ivr::Lang::Ko => {
            "죄송합니다. 시스템 사정으로 통화를 이어갈 수 없습니다. 잠시 후 다시 전화해 주세요."
        }
        ivr::Lang::En => "Sorry, we cannot go on with this call. Please call again in a moment.",
    }
}

/// Ends a call whose owner was lost (see the module docs): records it ended with the outcome
/// `instance_lost`, charges nothing and leaves the charge as it is (still payable by a new
/// call); answers a short goodbye and a hang-up in the call's language.
pub async fn end_lost(state: &AppState, mut record: CallSessionRecord) -> Turn {
    let lang = serde_json::from_str::<serde_json::Value>(&record.checkpoint)
        .ok()
        .and_then(|cp| cp.get("lang").cloned())
        .and_then(|l| serde_json::from_value(l).ok())
        .unwrap_or(ivr::Lang::Ko);
    let now = state.clock.now();
    if record.ended_at.is_none() {
        record.outcome = Some(LOST_OUTCOME.into());
        record.ended_at = Some(ts(now));
        tracing::warn!(call_id = %record.call_id, owner = ?record.owner, "call ended: the instance holding it is lost; the charge stays payable");
        let rec = record.clone();
        if let Err(e) = state.db(move |s| s.save_call(&rec, now)).await {
            tracing::error!(error = %e.message, "cannot save call session");
        }
    }
    Turn {
        lang,
        say: vec![lost_words(lang).to_string()],
        gather: None,
        hangup: true,
        step: ivr::Step::Done,
        outcome: None,
    }
}

/// The stored outcome of a call lost with its instance.
pub const LOST_OUTCOME: &str = "instance_lost";

#[cfg(test)]
mod tests {
    use super::Input;

    #[test]
    fn keyed_digits_never_print() {
        let keyed = Input::Digits("9410123456781234".to_owned());
        let printed = format!("{keyed:?} {keyed:#?}");
        assert!(!printed.contains("9410"), "{printed}");
        assert!(!printed.contains("1234"), "{printed}");
        assert!(printed.contains("Digits"), "{printed}");
        assert_eq!(format!("{:?}", Input::Timeout), "Timeout");
        assert_eq!(format!("{:?}", Input::HangUp), "HangUp");
    }
}
