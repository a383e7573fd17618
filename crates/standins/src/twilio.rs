//! Twilio Messages stand-in: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`.
//!
//! What it checks, as Twilio documents it (Message resource, error reference): HTTP Basic
//! auth `AccountSid:AuthToken` matching the path's account (else 401, code 20003
//! "Authenticate"); a form body (`application/x-www-form-urlencoded`) with exactly the fields
//! FieldPay may send (`To`, `From`, `Body`; others Twilio knows, like `StatusCallback`, are
//! allowed, unknown ones refused, as is a repeated field); `To` in E.164 (21211), `From` the
//! account's number (21606), `Body` present (21602) and at most 1,600 characters (21617).
//! Answers 201 with the Message resource (`sid`, `status` `queued`, ...); errors
//! `{ "code", "message", "more_info", "status" }`.
//!
//! Stand-in choices: an unknown form field is refused with 400 code 21609 (Twilio itself
//! ignores unknown parameters; refused here so a misspelt field is caught).
//!
//! Scriptable through [`Handle`]: refuse the next message with a code and message, answer the
//! next request 500, delay the next answer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::json;

use crate::common::StandIn;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// HTTP 400 with this code and message (e.g. 21610 unsubscribed recipient).
    Refuse { code: i64, message: String },
    /// HTTP 500 (code 20500).
    ServerError,
    /// Creates the message, answers after this long.
    Delay(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
}

struct Inner {
    account_sid: String,
    auth_token: String,
    from: String,
    sent: Vec<SentMessage>,
    scripts: VecDeque<Script>,
    seq: u64,
}

#[derive(Clone)]
pub struct Handle(Arc<Mutex<Inner>>);

impl Handle {
    pub fn push(&self, s: Script) {
        self.0.lock().unwrap().scripts.push_back(s);
    }
    pub fn refuse_next(&self, code: i64, message: &str) {
        self.push(Script::Refuse {
            code,
            message: message.into(),
        });
    }
    pub fn fail_next(&self) {
        self.push(Script::ServerError);
    }
    pub fn delay_next(&self, d: Duration) {
        self.push(Script::Delay(d));
    }
    pub fn sent(&self) -> Vec<SentMessage> {
        self.0.lock().unwrap().sent.clone()
    }
}

/// Starts a stand-in for one account (SID, auth token) owning the number `from` (E.164).
pub async fn start(account_sid: &str, auth_token: &str, from: &str) -> (StandIn, Handle) {
    let handle = Handle(Arc::new(Mutex::new(Inner {
        account_sid: account_sid.into(),
        auth_token: auth_token.into(),
        from: from.into(),
        sent: Vec::new(),
        scripts: VecDeque::new(),
        seq: 0,
    })));
    let router = Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", post(create))
        .with_state(handle.clone());
    (StandIn::serve(router).await, handle)
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16()
        })),
    )
        .into_response()
}

fn e164(s: &str) -> bool {
    s.len() >= 8
        && s.len() <= 16
        && s.starts_with('+')
        && !s[1..].starts_with('0')
        && s[1..].bytes().all(|b| b.is_ascii_digit())
}

async fn create(
    State(h): State<Handle>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (script, answer) = {
        let mut inner = h.0.lock().unwrap();
        let creds = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| B64.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok());
        let authentic = creds
            .as_deref()
            .and_then(|c| c.split_once(':'))
            .is_some_and(|(u, p)| {
                u == inner.account_sid && p == inner.auth_token && sid == inner.account_sid
            });
        if !authentic {
            return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
        }
        let form_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return error(
                StatusCode::BAD_REQUEST,
                21609,
                "The body must be form-encoded",
            );
        }
        let Ok(fields) = serde_urlencoded::from_str::<Vec<(String, String)>>(&body) else {
            return error(StatusCode::BAD_REQUEST, 21609, "The body is not a form");
        };
        const KNOWN: &[&str] = &[
            "To",
            "From",
            "Body",
            "StatusCallback",
            "MessagingServiceSid",
            "ValidityPeriod",
        ];
        for (i, (k, _)) in fields.iter().enumerate() {
            if !KNOWN.contains(&k.as_str()) {
                return error(
                    StatusCode::BAD_REQUEST,
                    21609,
                    &format!("Unknown parameter '{k}'"),
                );
            }
            if fields[..i].iter().any(|(k2, _)| k2 == k) {
                return error(
                    StatusCode::BAD_REQUEST,
                    21609,
                    &format!("Parameter '{k}' is repeated"),
                );
            }
        }
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let Some(to) = get("To") else {
            return error(
                StatusCode::BAD_REQUEST,
                21604,
                "A 'To' phone number is required.",
            );
        };
        let Some(text) = get("Body").filter(|b| !b.is_empty()) else {
            return error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
        };
        let from = get("From").unwrap_or_default();
        if from != inner.from {
            return error(
                StatusCode::BAD_REQUEST,
                21606,
                "The From phone number is not a valid, message-capable Twilio phone number for this account.",
            );
        }
        if !e164(&to) {
            return error(
                StatusCode::BAD_REQUEST,
                21211,
                &format!("Invalid 'To' Phone Number: {to}"),
            );
        }
        if text.chars().count() > 1600 {
            return error(
                StatusCode::BAD_REQUEST,
                21617,
                "The concatenated message body exceeds the 1600 character limit.",
            );
        }
        let script = inner.scripts.pop_front();
        match &script {
            Some(Script::ServerError) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    20500,
                    "Internal Server Error",
                )
            }
            Some(Script::Refuse { code, message }) => {
                return error(StatusCode::BAD_REQUEST, *code, message)
            }
            _ => {}
        }
        inner.seq += 1;
        let msg_sid = format!("SM{:032x}", inner.seq);
        inner.sent.push(SentMessage {
            sid: msg_sid.clone(),
            to: to.clone(),
            from: from.clone(),
            body: text.clone(),
        });
        let answer = json!({
            "account_sid": inner.account_sid,
            "api_version": "2010-04-01",
            "body": text,
            "date_created": "Thu, 03 Dec 2026 16:00:00 +0000",
            "date_sent": null,
            "date_updated": "Thu, 03 Dec 2026 16:00:00 +0000",
            "direction": "outbound-api",
            "error_code": null,
            "error_message": null,
            "from": from,
            "messaging_service_sid": null,
            "num_media": "0",
            "num_segments": "1",
            "price": null,
            "price_unit": "USD",
            "sid": msg_sid,
            "status": "queued",
            "subresource_uris": { "media": format!("/2010-04-01/Accounts/{sid}/Messages/{msg_sid}/Media.json") },
            "to": to,
            "uri": format!("/2010-04-01/Accounts/{sid}/Messages/{msg_sid}.json")
        });
        (script, answer)
    };
    if let Some(Script::Delay(d)) = script {
        tokio::time::sleep(d).await;
    }
    (StatusCode::CREATED, Json(answer)).into_response()
}
