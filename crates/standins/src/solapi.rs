//! Solapi (솔라피) stand-in: `POST /messages/v4/send-many/detail`.
//!
//! What it checks, as Solapi documents it ("API Key 인증 방식", "여러건의 메시지 발송"):
//! - `Authorization: HMAC-SHA256 apiKey=<key>, date=<ISO 8601>, salt=<12..64 bytes>,
//!   signature=<hex HMAC-SHA256(date + salt) keyed with the API secret>`: the signature is
//!   recomputed from the header's date and salt with the configured secret; a date more than
//!   15 minutes from the stand-in's clock is refused (`RequestTimeTooSkewed`, Solapi's name);
//!   a signature used before (within 15 minutes) is refused.
//! - the body: `{ "messages": [ { "to", "from", "text", "type"?, "subject"? } ] }` with
//!   string fields, digits-only numbers, a registered sender number, `type` `SMS` (text up to
//!   90 EUC-KR bytes, no subject) or `LMS` (up to 2,000 bytes, subject up to 40 bytes);
//!   no `type`: detected as Solapi does (LMS above 90 bytes or with a subject).
//!
//! Answers: 200 `{ "groupInfo": {...}, "failedMessageList": [...] }` (a message refused is
//! in `failedMessageList` with `statusCode` / `statusMessage`); errors `{ "errorCode",
//! "errorMessage" }`. The error codes and HTTP statuses of authentication failures other than
//! `RequestTimeTooSkewed`, and the per-message status codes below, are this stand-in's own
//! choices (Solapi's public pages do not list them): 401 `InvalidApiKey`,
//! `SignatureDoesNotMatch`, `DuplicatedSignature`, `InvalidAuthorizationHeader`; 400
//! `ValidationError`; message codes `1062` (sender number not registered), `1022` (recipient
//! number malformed).
//!
//! Scriptable through [`Handle`]: refuse the next message with a given status code and
//! message, answer the next request 500, delay the next answer, answer every request after a
//! standing latency (a provider's usual answer time). It counts the requests in flight at
//! once and notes a recipient that had two requests in flight together.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::common::StandIn;

/// What the stand-in does with the next request (in order, one script per request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Puts the next message in `failedMessageList` with this status code and message.
    Refuse { code: String, message: String },
    /// Answers 500 `{"errorCode": "InternalError", ...}` without sending.
    ServerError,
    /// Sends, but answers only after this long (past the client's timeout: the client sees a
    /// timeout while the text was sent).
    Delay(Duration),
}

/// A message the stand-in accepted (sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub to: String,
    pub from: String,
    pub text: String,
    /// `SMS` or `LMS`.
    pub kind: String,
    pub subject: Option<String>,
    pub message_id: String,
    pub group_id: String,
}

struct Inner {
    api_key: String,
    api_secret: String,
    senders: Vec<String>,
    used_signatures: HashMap<String, DateTime<Utc>>,
    sent: Vec<SentMessage>,
    refused: Vec<(String, String)>,
    scripts: VecDeque<Script>,
    seq: u64,
    latency: Duration,
    in_flight: usize,
    max_in_flight: usize,
    /// Recipients of the requests in flight (one entry per message).
    recipients_in_flight: Vec<String>,
    /// Recipients that had two requests in flight at once.
    overlapping: Vec<String>,
}

/// Scripts the stand-in and reads what it sent.
#[derive(Clone)]
pub struct Handle(Arc<Mutex<Inner>>);

impl Handle {
    pub fn push(&self, s: Script) {
        self.0.lock().unwrap().scripts.push_back(s);
    }
    pub fn refuse_next(&self, code: &str, message: &str) {
        self.push(Script::Refuse {
            code: code.into(),
            message: message.into(),
        });
    }
    pub fn fail_next(&self) {
        self.push(Script::ServerError);
    }
    pub fn delay_next(&self, d: Duration) {
        self.push(Script::Delay(d));
    }
    /// Answers every request after this long (on top of a scripted delay).
    pub fn set_latency(&self, d: Duration) {
        self.0.lock().unwrap().latency = d;
    }
    /// The most requests that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.0.lock().unwrap().max_in_flight
    }
    /// Recipients that had two requests in flight at once, in the order seen.
    pub fn overlapping_recipients(&self) -> Vec<String> {
        self.0.lock().unwrap().overlapping.clone()
    }
    /// Every message sent, oldest first.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.0.lock().unwrap().sent.clone()
    }
    /// Every message refused (recipient, status code), oldest first.
    pub fn refused(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().refused.clone()
    }
}

/// Starts a stand-in that knows one API key and secret and the registered sender number.
pub async fn start(api_key: &str, api_secret: &str, sender: &str) -> (StandIn, Handle) {
    let handle = Handle(Arc::new(Mutex::new(Inner {
        api_key: api_key.into(),
        api_secret: api_secret.into(),
        senders: vec![sender.into()],
        used_signatures: HashMap::new(),
        sent: Vec::new(),
        refused: Vec::new(),
        scripts: VecDeque::new(),
        seq: 0,
        latency: Duration::ZERO,
        in_flight: 0,
        max_in_flight: 0,
        recipients_in_flight: Vec::new(),
        overlapping: Vec::new(),
    })));
    let router = Router::new()
        .route("/messages/v4/send-many/detail", post(send_many_detail))
        .with_state(handle.clone());
    (StandIn::serve(router).await, handle)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "errorCode": code, "errorMessage": message })),
    )
        .into_response()
}

/// The EUC-KR length of `s`, as Korean carriers count; None when `s` has a character EUC-KR
/// cannot hold.
pub fn euc_kr_len(s: &str) -> Option<usize> {
    let (bytes, _, had_errors) = encoding_rs::EUC_KR.encode(s);
    (!had_errors).then_some(bytes.len())
}

/// Checks the Authorization header; Err is the answer to give.
fn check_auth(
    inner: &mut Inner,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<(), Box<Response>> {
    let unauthorized = |code: &str, msg: &str| Box::new(error(StatusCode::UNAUTHORIZED, code, msg));
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            unauthorized(
                "InvalidAuthorizationHeader",
                "Authorization header is required",
            )
        })?;
    let rest = header
        .strip_prefix("HMAC-SHA256 ")
        .ok_or_else(|| unauthorized("InvalidAuthorizationHeader", "HMAC-SHA256 is expected"))?;
    let mut fields = HashMap::new();
    for part in rest.split(", ") {
        let (k, v) = part.split_once('=').ok_or_else(|| {
            unauthorized(
                "InvalidAuthorizationHeader",
                "malformed Authorization header",
            )
        })?;
        fields.insert(k, v);
    }
    let (Some(key), Some(date), Some(salt), Some(sig)) = (
        fields.get("apiKey"),
        fields.get("date"),
        fields.get("salt"),
        fields.get("signature"),
    ) else {
        return Err(unauthorized(
            "InvalidAuthorizationHeader",
            "apiKey, date, salt and signature are required",
        ));
    };
    if fields.len() != 4 {
        return Err(unauthorized(
            "InvalidAuthorizationHeader",
            "unknown field in Authorization header",
        ));
    }
    if *key != inner.api_key {
        return Err(unauthorized("InvalidApiKey", "Invalid API Key"));
    }
    let at = DateTime::parse_from_rfc3339(date)
        .map_err(|_| unauthorized("InvalidAuthorizationHeader", "date must be ISO 8601"))?
        .with_timezone(&Utc);
    if (now - at).num_seconds().abs() > 15 * 60 {
        return Err(unauthorized(
            "RequestTimeTooSkewed",
            "the date is more than 15 minutes from the server's time",
        ));
    }
    if !(12..=64).contains(&salt.len()) {
        return Err(unauthorized(
            "InvalidAuthorizationHeader",
            "salt must be 12 to 64 bytes",
        ));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(inner.api_secret.as_bytes()).expect("any key");
    mac.update(date.as_bytes());
    mac.update(salt.as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    if !expected.eq_ignore_ascii_case(sig) {
        return Err(unauthorized(
            "SignatureDoesNotMatch",
            "signature does not match",
        ));
    }
    inner
        .used_signatures
        .retain(|_, at| (now - *at).num_seconds() <= 15 * 60);
    if inner
        .used_signatures
        .insert(sig.to_ascii_lowercase(), now)
        .is_some()
    {
        return Err(unauthorized(
            "DuplicatedSignature",
            "the signature was used before",
        ));
    }
    Ok(())
}

/// One message of the body, checked; Err is the 400 reason.
fn check_message(m: &Value) -> Result<(String, String, String, String, Option<String>), String> {
    let obj = m.as_object().ok_or("each message must be an object")?;
    const KNOWN: &[&str] = &[
        "to",
        "from",
        "text",
        "type",
        "subject",
        "country",
        "imageId",
        "autoTypeDetect",
        "customFields",
    ];
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("\"{k}\" is not allowed"));
    }
    let string = |name: &str| -> Result<Option<String>, String> {
        match obj.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("\"{name}\" must be a string")),
        }
    };
    let to = string("to")?.ok_or("\"to\" is required")?;
    let from = string("from")?.ok_or("\"from\" is required")?;
    let text = string("text")?.ok_or("\"text\" is required")?;
    let subject = string("subject")?;
    for (name, v) in [("to", &to), ("from", &from)] {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("\"{name}\" must be digits only"));
        }
    }
    if text.is_empty() {
        return Err("\"text\" must not be empty".into());
    }
    let text_len = euc_kr_len(&text).ok_or("\"text\" has characters that cannot be sent")?;
    let kind = match string("type")?.as_deref() {
        Some(k @ ("SMS" | "LMS")) => k.to_string(),
        Some(other) => return Err(format!("\"type\" {other} is not supported here")),
        None if text_len > 90 || subject.is_some() => "LMS".into(),
        None => "SMS".into(),
    };
    match kind.as_str() {
        "SMS" => {
            if text_len > 90 {
                return Err(format!("SMS text is {text_len} bytes: at most 90"));
            }
            if subject.is_some() {
                return Err("SMS has no subject".into());
            }
        }
        _ => {
            if text_len > 2000 {
                return Err(format!("LMS text is {text_len} bytes: at most 2000"));
            }
            if let Some(s) = &subject {
                let n = euc_kr_len(s).ok_or("\"subject\" has characters that cannot be sent")?;
                if n > 40 {
                    return Err(format!("subject is {n} bytes: at most 40"));
                }
            }
        }
    }
    Ok((to, from, text, kind, subject))
}

async fn send_many_detail(State(h): State<Handle>, headers: HeaderMap, body: String) -> Response {
    let now = Utc::now();
    let (script, answer, _in_flight) = {
        let mut inner = h.0.lock().unwrap();
        if let Err(r) = check_auth(&mut inner, &headers, now) {
            return *r;
        }
        let script = inner.scripts.pop_front();
        if script == Some(Script::ServerError) {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "internal error (scripted)",
            );
        }
        let (answer, recipients) = match accept(&mut inner, &body, script.as_ref()) {
            Ok(v) => v,
            Err(reason) => return error(StatusCode::BAD_REQUEST, "ValidationError", &reason),
        };
        (script, answer, InFlight::enter(&h, &mut inner, recipients))
    };
    let latency = h.0.lock().unwrap().latency;
    let delay = match script {
        Some(Script::Delay(d)) => d + latency,
        _ => latency,
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    (StatusCode::OK, Json(answer)).into_response()
}

/// A request in flight: counted from acceptance until answered (or dropped by a client that
/// gave up).
struct InFlight {
    handle: Handle,
    recipients: Vec<String>,
}

impl InFlight {
    fn enter(handle: &Handle, inner: &mut Inner, recipients: Vec<String>) -> InFlight {
        inner.in_flight += 1;
        inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
        for to in &recipients {
            if inner.recipients_in_flight.contains(to) {
                inner.overlapping.push(to.clone());
            }
        }
        inner
            .recipients_in_flight
            .extend(recipients.iter().cloned());
        InFlight {
            handle: handle.clone(),
            recipients,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut inner = self.handle.0.lock().unwrap_or_else(|p| p.into_inner());
        inner.in_flight -= 1;
        for to in &self.recipients {
            if let Some(i) = inner.recipients_in_flight.iter().position(|r| r == to) {
                inner.recipients_in_flight.swap_remove(i);
            }
        }
    }
}

/// Validates the body and records the messages; the 200 answer and the messages' recipients.
fn accept(
    inner: &mut Inner,
    body: &str,
    script: Option<&Script>,
) -> Result<(Value, Vec<String>), String> {
    let v: Value = serde_json::from_str(body).map_err(|_| "the body must be JSON".to_string())?;
    let obj: &Map<String, Value> = v.as_object().ok_or("the body must be an object")?;
    const KNOWN: &[&str] = &[
        "messages",
        "strict",
        "allowDuplicates",
        "agent",
        "showMessageList",
    ];
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("\"{k}\" is not allowed"));
    }
    let messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("\"messages\" must be an array")?;
    if messages.is_empty() {
        return Err("\"messages\" must not be empty".into());
    }
    let checked = messages
        .iter()
        .map(check_message)
        .collect::<Result<Vec<_>, _>>()?;
    inner.seq += 1;
    let group_id = format!("G4V2026{:018}", inner.seq);
    let mut failed = Vec::new();
    let mut ok = 0;
    let recipients: Vec<String> = checked.iter().map(|m| m.0.clone()).collect();
    for (i, (to, from, text, kind, subject)) in checked.into_iter().enumerate() {
        let message_id = format!("M4V2026{:012}{:06}", inner.seq, i);
        let refusal = if i == 0 {
            match script {
                Some(Script::Refuse { code, message }) => Some((code.clone(), message.clone())),
                _ => None,
            }
        } else {
            None
        };
        let refusal = refusal
            .or_else(|| {
                (!inner.senders.contains(&from)).then(|| ("1062".into(), "발신번호 미등록".into()))
            })
            .or_else(|| {
                (!(to.starts_with("01") && (10..=11).contains(&to.len())))
                    .then(|| ("1022".into(), "수신번호 형식 오류".into()))
            });
        match refusal {
            Some((code, message)) => {
                inner.refused.push((to.clone(), code.clone()));
                failed.push(json!({
                    "to": to, "from": from, "type": kind, "country": "82",
                    "messageId": message_id, "statusCode": code, "statusMessage": message,
                    "accountId": "12925149", "customFields": {}
                }));
            }
            None => {
                ok += 1;
                inner.sent.push(SentMessage {
                    to,
                    from,
                    text,
                    kind,
                    subject,
                    message_id,
                    group_id: group_id.clone(),
                });
            }
        }
    }
    let answer = json!({
        "groupInfo": {
            "_id": group_id,
            "groupId": group_id,
            "accountId": "12925149",
            "apiVersion": "4",
            "status": if ok > 0 { "SENDING" } else { "FAILED" },
            "count": {
                "total": ok + failed.len(),
                "sentTotal": 0, "sentFailed": 0, "sentSuccess": 0, "sentPending": 0,
                "sentReplacement": 0, "refund": 0,
                "registeredFailed": failed.len(),
                "registeredSuccess": ok
            }
        },
        "failedMessageList": failed
    });
    Ok((answer, recipients))
}
