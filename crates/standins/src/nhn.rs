//! NHN Cloud SMS (API v3.0) stand-in: `POST /sms/v3.0/appKeys/{appKey}/sender/sms` and
//! `/sender/mms`.
//!
//! What it checks, as NHN Cloud documents it (Notification > SMS API guide and result codes):
//! the app key in the path (`-1000` "Invalid appKey."), the `X-Secret-Key` header, a JSON
//! content type (`-9996`), a JSON body (`-9997`), the body's fields and their types (unknown
//! or mistyped fields: `4` "Parameter validation failed"), a non-empty `recipientList`
//! (`-2001`), the registered `sendNo`; for `/sender/sms` no `title` and a body of at most 90
//! EUC-KR bytes; for `/sender/mms` a `title` of at most 40 bytes and a body of at most 2,000.
//!
//! Stand-in choices where the public pages say nothing: a missing or wrong `X-Secret-Key` is
//! answered HTTP 401 with `resultCode` `-1000`; an unregistered `sendNo` `-2010`; a body over
//! the standard size `4` (NHN's own service stores up to 255 characters and cuts; this
//! stand-in is stricter, to catch an SMS sent where an MMS was due).
//!
//! Scriptable through [`Handle`]: refuse the next recipient with a result code and message,
//! answer the next request 500, delay the next answer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::common::StandIn;
use crate::solapi::euc_kr_len;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// The next recipient is refused (`sendResultList[0].resultCode`).
    Refuse { code: i64, message: String },
    /// HTTP 500 with `resultCode` `-9999`.
    ServerError,
    /// Sends, then answers after this long.
    Delay(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// `sms` or `mms`.
    pub endpoint: String,
    pub send_no: String,
    pub recipient_no: String,
    pub title: Option<String>,
    pub body: String,
    pub request_id: String,
}

struct Inner {
    app_key: String,
    secret_key: String,
    send_nos: Vec<String>,
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

/// Starts a stand-in for one app key, secret key and registered sender number.
pub async fn start(app_key: &str, secret_key: &str, send_no: &str) -> (StandIn, Handle) {
    let handle = Handle(Arc::new(Mutex::new(Inner {
        app_key: app_key.into(),
        secret_key: secret_key.into(),
        send_nos: vec![send_no.into()],
        sent: Vec::new(),
        scripts: VecDeque::new(),
        seq: 0,
    })));
    let router = Router::new()
        .route("/sms/v3.0/appKeys/{app_key}/sender/{endpoint}", post(send))
        .with_state(handle.clone());
    (StandIn::serve(router).await, handle)
}

fn header(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        Json(json!({
            "header": { "isSuccessful": code == 0, "resultCode": code, "resultMessage": message }
        })),
    )
        .into_response()
}

fn param(message: &str) -> Box<Response> {
    Box::new(header(
        StatusCode::OK,
        4,
        &format!("Parameter validation failed: {message}"),
    ))
}

async fn send(
    State(h): State<Handle>,
    Path((app_key, endpoint)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (script, answer) = {
        let mut inner = h.0.lock().unwrap();
        if app_key != inner.app_key {
            return header(StatusCode::OK, -1000, "Invalid appKey.");
        }
        let secret = headers.get("x-secret-key").and_then(|v| v.to_str().ok());
        if secret != Some(inner.secret_key.as_str()) {
            return header(
                StatusCode::UNAUTHORIZED,
                -1000,
                "Invalid appKey or secretKey.",
            );
        }
        if endpoint != "sms" && endpoint != "mms" {
            return header(StatusCode::NOT_FOUND, -9998, "Not exist API.");
        }
        let json_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        if !json_type {
            return header(
                StatusCode::OK,
                -9996,
                "Only application/json Content-type is supported.",
            );
        }
        let script = inner.scripts.pop_front();
        if script == Some(Script::ServerError) {
            return header(
                StatusCode::INTERNAL_SERVER_ERROR,
                -9999,
                "System error. (scripted)",
            );
        }
        match accept(&mut inner, &endpoint, &body, script.as_ref()) {
            Ok(v) => (script, v),
            Err(r) => return *r,
        }
    };
    if let Some(Script::Delay(d)) = script {
        tokio::time::sleep(d).await;
    }
    (StatusCode::OK, Json(answer)).into_response()
}

fn accept(
    inner: &mut Inner,
    endpoint: &str,
    body: &str,
    script: Option<&Script>,
) -> Result<Value, Box<Response>> {
    let v: Value = serde_json::from_str(body)
        .map_err(|_| Box::new(header(StatusCode::OK, -9997, "Invalid API parameters.")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| param("the body must be an object"))?;
    let mut known = vec![
        "templateId",
        "body",
        "sendNo",
        "requestDate",
        "senderGroupingKey",
        "recipientList",
        "userId",
        "statsId",
        "originCode",
    ];
    if endpoint == "mms" {
        known.extend(["title", "attachFileIdList"]);
    }
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(param(&format!(
            "'{k}' is not a field of /sender/{endpoint}"
        )));
    }
    let string = |name: &str| -> Result<Option<String>, Box<Response>> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(param(&format!("'{name}' must be a string"))),
        }
    };
    let text = string("body")?.ok_or_else(|| param("'body' is required"))?;
    let send_no = string("sendNo")?.ok_or_else(|| param("'sendNo' is required"))?;
    let title = string("title")?;
    let list = match obj.get("recipientList") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => {
            return Err(Box::new(header(
                StatusCode::OK,
                -2001,
                "RecipientList can not be null.",
            )))
        }
    };
    let mut recipients = Vec::new();
    for r in list {
        let r = r
            .as_object()
            .ok_or_else(|| param("a recipient must be an object"))?;
        const KNOWN: &[&str] = &[
            "recipientNo",
            "countryCode",
            "internationalRecipientNo",
            "templateParameter",
            "recipientGroupingKey",
        ];
        if let Some(k) = r.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(param(&format!("'{k}' is not a recipient field")));
        }
        match r.get("recipientNo") {
            Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                recipients.push(s.clone())
            }
            _ => return Err(param("'recipientNo' must be digits")),
        }
    }
    let body_len =
        euc_kr_len(&text).ok_or_else(|| param("'body' has characters EUC-KR cannot hold"))?;
    if text.is_empty() {
        return Err(param("'body' must not be empty"));
    }
    if endpoint == "sms" {
        if body_len > 90 {
            return Err(param(&format!(
                "an SMS body is at most 90 bytes, not {body_len}"
            )));
        }
    } else {
        let title = title
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| param("'title' is required for an MMS"))?;
        let n =
            euc_kr_len(title).ok_or_else(|| param("'title' has characters EUC-KR cannot hold"))?;
        if n > 40 {
            return Err(param(&format!("a title is at most 40 bytes, not {n}")));
        }
        if body_len > 2000 {
            return Err(param(&format!(
                "an MMS body is at most 2000 bytes, not {body_len}"
            )));
        }
    }
    if !inner.send_nos.contains(&send_no) {
        return Err(Box::new(header(
            StatusCode::OK,
            -2010,
            "Unregistered sendNo.",
        )));
    }
    inner.seq += 1;
    let request_id = format!("20261203000000{:06}", inner.seq);
    let mut results = Vec::new();
    for (i, to) in recipients.into_iter().enumerate() {
        let refusal = match (i, script) {
            (0, Some(Script::Refuse { code, message })) => Some((*code, message.clone())),
            _ => None,
        };
        let (code, message) = refusal.unwrap_or((0, "SUCCESS".into()));
        if code == 0 {
            inner.sent.push(SentMessage {
                endpoint: endpoint.into(),
                send_no: send_no.clone(),
                recipient_no: to.clone(),
                title: title.clone(),
                body: text.clone(),
                request_id: request_id.clone(),
            });
        }
        results.push(json!({
            "recipientNo": to, "resultCode": code, "resultMessage": message,
            "recipientSeq": i + 1, "recipientGroupingKey": null
        }));
    }
    Ok(json!({
        "header": { "isSuccessful": true, "resultCode": 0, "resultMessage": "SUCCESS" },
        "body": { "data": {
            "requestId": request_id,
            "statusCode": "2",
            "senderGroupingKey": null,
            "sendResultList": results
        } }
    }))
}
