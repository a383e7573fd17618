//! PortOne V2 stand-in: `POST /payments/{paymentId}/instant`, `GET /payments/{paymentId}`,
//! `POST /payments/{paymentId}/cancel`, as PortOne's V2 OpenAPI document describes them.
//!
//! Strict where PortOne is (and a little stricter, to catch mistakes):
//! - `Authorization: PortOne <API secret>` or 401 `{"type":"UNAUTHORIZED"}`.
//! - JSON bodies with exactly the documented property names and types; a missing required
//!   field, a wrong type, a malformed card field or an UNKNOWN property is a 400
//!   `{"type":"INVALID_REQUEST","message":...}` (PortOne's `InvalidRequestError`: "허가되지 않은
//!   값, 올바르지 않은 형식의 요청 등"). PortOne itself may ignore unknown properties; rejecting
//!   them here catches misspelled field names.
//! - `channelKey` must be the configured one, else 404 `CHANNEL_NOT_FOUND`.
//! - `Idempotency-Key` (optional, as at PortOne): an RFC 8941 string (`"..."`) of 16 to 256
//!   ASCII characters, else 400 `INVALID_REQUEST`; a completed request repeated with the same
//!   key and the same method, path and body is answered with the stored answer, without
//!   doing anything again; one still in progress answers 409
//!   `IDEMPOTENCY_OUTSTANDING_REQUEST`; the same key with a different request is a 400
//!   `INVALID_REQUEST` (PortOne only says it must not be done).
//! - A repeat of a paid `paymentId`: 409 `ALREADY_PAID`. A `FAILED` one may be tried again.
//! - Cancel: 404 `PAYMENT_NOT_FOUND`, 409 `PAYMENT_NOT_PAID`, `PAYMENT_ALREADY_CANCELLED`,
//!   `CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT`, `CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN`.
//!
//! Scripted per test through [`PortOneHandle`]: decline the next approval
//! (`PG_PROVIDER` with a `pgCode` / `pgMessage`, 502) or answer another documented error,
//! answer 5xx, delay the next answer, approve and lose the answer (the payment is recorded,
//! the answer comes too late for the client).
//!
//! The card number is only checked (digits, length) and its first 6 / last 4 kept for the
//! masked number, as PortOne shows it; nothing else of the card is kept.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::common::StandIn;

/// What the stand-in does with the next request of one kind.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// The PG declines: 502 `{"type":"PG_PROVIDER","message":...,"pgCode","pgMessage"}`; the
    /// payment is recorded as `FAILED`.
    Decline { pg_code: String, pg_message: String },
    /// Any other documented error: `status` with `{"type": kind, "message": message}`.
    Error {
        status: u16,
        kind: String,
        message: String,
    },
    /// An answer with this 5xx status and a non-PortOne body (a proxy / gateway failure);
    /// nothing is done.
    ServerError(u16),
    /// Handle the request normally, but answer only after this many milliseconds.
    Delay(u64),
    /// Do nothing: wait this many milliseconds, then answer 504 (a client with a shorter
    /// timeout sees a timeout; nothing was recorded).
    Stall(u64),
    /// Handle the request normally (the approval is recorded), then hold the answer this many
    /// milliseconds, past the client's timeout: the answer is lost.
    LoseAnswer(u64),
}

/// Which operation a [`Behaviour`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Instant,
    Get,
    Cancel,
}

/// A payment as the stand-in keeps it.
#[derive(Debug, Clone)]
pub struct StoredPayment {
    pub id: String,
    /// `PAID`, `PARTIAL_CANCELLED`, `CANCELLED`, `FAILED`.
    pub status: String,
    pub order_name: String,
    pub total: i64,
    pub cancelled: i64,
    pub installment_month: i64,
    pub approval_number: String,
    pub pg_tx_id: String,
    pub issuer: String,
    pub bin: String,
    pub last4: String,
    pub requested_at: String,
    pub paid_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub failure: Option<(String, String)>,
    pub cancellations: Vec<Value>,
    /// How many instant requests were approved under this id (a double charge shows as 2).
    pub approvals: u32,
}

#[derive(Default)]
struct Inner {
    payments: HashMap<String, StoredPayment>,
    script: HashMap<Op, VecDeque<Behaviour>>,
    /// Idempotency-Key -> (request fingerprint, stored answer or None while in progress).
    idempotency: HashMap<String, (String, Option<(u16, Value)>)>,
    issuer: String,
    next_approval: u64,
    next_cancellation: u64,
}

struct Shared {
    secret: String,
    channel_key: String,
    inner: Mutex<Inner>,
}

/// Scripts the stand-in and reads its state.
#[derive(Clone)]
pub struct PortOneHandle {
    shared: Arc<Shared>,
}

impl PortOneHandle {
    /// The next request of kind `op` gets `behaviour` (queued: several calls script several
    /// requests in order).
    pub fn script(&self, op: Op, behaviour: Behaviour) {
        self.inner()
            .script
            .entry(op)
            .or_default()
            .push_back(behaviour);
    }

    /// Decline the next approval with this PG code and message.
    pub fn decline_next(&self, pg_code: &str, pg_message: &str) {
        self.script(
            Op::Instant,
            Behaviour::Decline {
                pg_code: pg_code.to_owned(),
                pg_message: pg_message.to_owned(),
            },
        );
    }

    /// The card company (`card.issuer` / `card.publisher`) reported for approvals from now
    /// on, e.g. `"KOOKMIN_CARD"` (default `"SHINHAN_CARD"`).
    pub fn set_issuer(&self, issuer: &str) {
        self.inner().issuer = issuer.to_owned();
    }

    pub fn payment(&self, id: &str) -> Option<StoredPayment> {
        self.inner().payments.get(id).cloned()
    }

    pub fn payments(&self) -> Vec<StoredPayment> {
        self.inner().payments.values().cloned().collect()
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().expect("portone stand-in state")
    }
}

/// Starts a PortOne stand-in for this API secret and channel key.
pub async fn start(api_secret: &str, channel_key: &str) -> (StandIn, PortOneHandle) {
    let shared = Arc::new(Shared {
        secret: api_secret.to_owned(),
        channel_key: channel_key.to_owned(),
        inner: Mutex::new(Inner {
            issuer: "SHINHAN_CARD".to_owned(),
            next_approval: 30_000_001,
            ..Inner::default()
        }),
    });
    let router = Router::new()
        .route("/payments/{payment_id}", get(get_payment))
        .route("/payments/{payment_id}/instant", post(instant))
        .route("/payments/{payment_id}/cancel", post(cancel))
        .with_state(shared.clone());
    let standin = StandIn::serve(router).await;
    (standin, PortOneHandle { shared })
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn error(status: u16, kind: &str, message: &str) -> (u16, Value) {
    (status, json!({"type": kind, "message": message}))
}

fn respond((status, body): (u16, Value)) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(body),
    )
        .into_response()
}

fn check_auth(shared: &Shared, headers: &HeaderMap) -> Result<(), (u16, Value)> {
    let expected = format!("PortOne {}", shared.secret);
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(v) if v == expected => Ok(()),
        _ => Err(error(401, "UNAUTHORIZED", "인증 정보가 올바르지 않습니다.")),
    }
}

fn check_json_content_type(headers: &HeaderMap) -> Result<(), (u16, Value)> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.split(';').next().map(str::trim) == Some("application/json") {
        Ok(())
    } else {
        Err(error(
            400,
            "INVALID_REQUEST",
            "Content-Type must be application/json",
        ))
    }
}

fn invalid(message: impl Into<String>) -> (u16, Value) {
    error(400, "INVALID_REQUEST", &message.into())
}

/// An object with only `allowed` keys and all `required` ones.
fn object<'a>(
    value: &'a Value,
    what: &str,
    allowed: &[&str],
    required: &[&str],
) -> Result<&'a Map<String, Value>, (u16, Value)> {
    let map = value
        .as_object()
        .ok_or_else(|| invalid(format!("{what}: expected an object")))?;
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(format!("{what}: unknown field {unknown}")));
    }
    if let Some(missing) = required.iter().find(|k| !map.contains_key(**k)) {
        return Err(invalid(format!("{what}: missing field {missing}")));
    }
    Ok(map)
}

fn string<'a>(map: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, (u16, Value)> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid(format!("{key}: expected a string"))),
    }
}

fn integer(map: &Map<String, Value>, key: &str) -> Result<Option<i64>, (u16, Value)> {
    match map.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|_| v.is_i64() || v.is_u64())
            .map(Some)
            .ok_or_else(|| invalid(format!("{key}: expected an integer"))),
    }
}

fn boolean(map: &Map<String, Value>, key: &str) -> Result<(), (u16, Value)> {
    match map.get(key) {
        None | Some(Value::Bool(_)) => Ok(()),
        Some(_) => Err(invalid(format!("{key}: expected a boolean"))),
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The `Idempotency-Key` header, checked: `Ok(None)` when absent.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, (u16, Value)> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let raw = raw
        .to_str()
        .map_err(|_| invalid("Idempotency-Key: ASCII only"))?;
    let inner = raw
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(|| invalid("Idempotency-Key: must be an RFC 8941 string (\"...\")"))?;
    if !(16..=256).contains(&inner.len())
        || !inner
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        return Err(invalid("Idempotency-Key: 16 to 256 ASCII characters"));
    }
    Ok(Some(inner.to_owned()))
}

fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

enum Replay {
    Fresh,
    Answer((u16, Value)),
}

fn idempotency_begin(
    shared: &Shared,
    key: Option<&str>,
    print: &str,
) -> Result<Replay, (u16, Value)> {
    let Some(key) = key else {
        return Ok(Replay::Fresh);
    };
    let mut inner = shared.inner.lock().expect("state");
    match inner.idempotency.get(key) {
        None => {
            inner
                .idempotency
                .insert(key.to_owned(), (print.to_owned(), None));
            Ok(Replay::Fresh)
        }
        Some((p, _)) if p != print => Err(invalid(
            "Idempotency-Key was already used for a different request",
        )),
        Some((_, None)) => Err(error(
            409,
            "IDEMPOTENCY_OUTSTANDING_REQUEST",
            "A request with this Idempotency-Key is still being processed",
        )),
        Some((_, Some(answer))) => Ok(Replay::Answer(answer.clone())),
    }
}

fn idempotency_end(shared: &Shared, key: Option<&str>, answer: &(u16, Value)) {
    if let Some(key) = key {
        let mut inner = shared.inner.lock().expect("state");
        if let Some(entry) = inner.idempotency.get_mut(key) {
            // Server errors are not stored (a retry is processed again).
            if answer.0 >= 500 && answer.1.get("type") != Some(&json!("PG_PROVIDER")) {
                inner.idempotency.remove(key);
            } else {
                entry.1 = Some(answer.clone());
            }
        }
    }
}

fn next_behaviour(shared: &Shared, op: Op) -> Option<Behaviour> {
    shared
        .inner
        .lock()
        .expect("state")
        .script
        .get_mut(&op)
        .and_then(VecDeque::pop_front)
}

/// Runs one POST with scripting and idempotency around `handle`.
async fn scripted(
    shared: &Shared,
    op: Op,
    method: Method,
    path: String,
    headers: &HeaderMap,
    body: &[u8],
    handle: impl FnOnce(&Shared, Option<&Behaviour>) -> (u16, Value),
) -> Response {
    if let Err(e) = check_auth(shared, headers) {
        return respond(e);
    }
    let key = match idempotency_key(headers) {
        Ok(k) => k,
        Err(e) => return respond(e),
    };
    let behaviour = next_behaviour(shared, op);
    if let Some(Behaviour::Stall(ms)) = behaviour {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return (StatusCode::GATEWAY_TIMEOUT, "upstream timed out").into_response();
    }
    if let Some(Behaviour::ServerError(status)) = behaviour {
        return (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            "upstream unavailable",
        )
            .into_response();
    }
    let print = fingerprint(&method, &path, body);
    match idempotency_begin(shared, key.as_deref(), &print) {
        Err(e) => return respond(e),
        Ok(Replay::Answer(answer)) => return respond(answer),
        Ok(Replay::Fresh) => {}
    }
    let answer = match &behaviour {
        Some(Behaviour::Error {
            status,
            kind,
            message,
        }) => error(*status, kind, message),
        other => handle(shared, other.as_ref()),
    };
    idempotency_end(shared, key.as_deref(), &answer);
    match behaviour {
        Some(Behaviour::Delay(ms)) | Some(Behaviour::LoseAnswer(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        _ => {}
    }
    respond(answer)
}

async fn instant(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/payments/{payment_id}/instant");
    if let Err(e) = check_auth(&shared, &headers).and_then(|_| check_json_content_type(&headers)) {
        return respond(e);
    }
    scripted(
        &shared,
        Op::Instant,
        Method::POST,
        path,
        &headers,
        &body,
        |shared, behaviour| instant_inner(shared, &payment_id, &body, behaviour),
    )
    .await
}

fn instant_inner(
    shared: &Shared,
    payment_id: &str,
    body: &[u8],
    decline: Option<&Behaviour>,
) -> (u16, Value) {
    match instant_checked(shared, payment_id, body, decline) {
        Ok(answer) | Err(answer) => answer,
    }
}

fn instant_checked(
    shared: &Shared,
    payment_id: &str,
    body: &[u8],
    decline: Option<&Behaviour>,
) -> Result<(u16, Value), (u16, Value)> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| invalid("request body is not valid JSON"))?;
    let top = object(
        &value,
        "InstantPaymentInput",
        &[
            "storeId",
            "channelKey",
            "channelGroupId",
            "method",
            "orderName",
            "isCulturalExpense",
            "isEscrow",
            "customer",
            "customData",
            "amount",
            "currency",
            "country",
            "noticeUrls",
            "products",
            "productCount",
            "productType",
            "shippingAddress",
            "promotionId",
            "bypass",
            "skipWebhook",
        ],
        &["method", "orderName", "amount", "currency"],
    )?;
    let channel_key = string(top, "channelKey")?;
    string(top, "storeId")?;
    string(top, "channelGroupId")?;
    let order_name = string(top, "orderName")?.unwrap_or_default().to_owned();
    for b in ["isCulturalExpense", "isEscrow", "skipWebhook"] {
        boolean(top, b)?;
    }
    let amount = object(
        &top["amount"],
        "amount",
        &["total", "taxFree", "vat"],
        &["total"],
    )?;
    let total = integer(amount, "total")?.unwrap_or(0);
    integer(amount, "taxFree")?;
    integer(amount, "vat")?;
    if total <= 0 {
        return Err(invalid("amount.total must be positive"));
    }
    match string(top, "currency")? {
        Some("KRW") => {}
        Some(_) => return Err(invalid("currency: this channel accepts KRW only")),
        None => return Err(invalid("currency: expected a string")),
    }
    let method = object(&top["method"], "method", &["card", "virtualAccount"], &[])?;
    if method.len() != 1 || !method.contains_key("card") {
        return Err(invalid(
            "method: exactly one of card / virtualAccount (card here)",
        ));
    }
    let card = object(
        &method["card"],
        "method.card",
        &[
            "credential",
            "installmentMonth",
            "useFreeInstallmentPlan",
            "useFreeInterestFromMerchant",
            "useCardPoint",
        ],
        &["credential"],
    )?;
    let installment_month = integer(card, "installmentMonth")?.unwrap_or(0);
    for b in [
        "useFreeInstallmentPlan",
        "useFreeInterestFromMerchant",
        "useCardPoint",
    ] {
        boolean(card, b)?;
    }
    let credential = object(
        &card["credential"],
        "method.card.credential",
        &[
            "number",
            "expiryYear",
            "expiryMonth",
            "birthOrBusinessRegistrationNumber",
            "passwordTwoDigits",
        ],
        &["number", "expiryYear", "expiryMonth"],
    )?;
    let number = string(credential, "number")?.unwrap_or_default();
    if !digits(number) || !(14..=19).contains(&number.len()) {
        return Err(invalid("method.card.credential.number: digits only"));
    }
    let year = string(credential, "expiryYear")?.unwrap_or_default();
    let month = string(credential, "expiryMonth")?.unwrap_or_default();
    if year.len() != 2 || !digits(year) {
        return Err(invalid("method.card.credential.expiryYear: 2 digits"));
    }
    if month.len() != 2 || !digits(month) || !(1..=12).contains(&month.parse::<u8>().unwrap_or(0)) {
        return Err(invalid(
            "method.card.credential.expiryMonth: 2 digits, 01-12",
        ));
    }
    if let Some(b) = string(credential, "birthOrBusinessRegistrationNumber")? {
        if !digits(b) || !(b.len() == 6 || b.len() == 10) {
            return Err(invalid(
                "method.card.credential.birthOrBusinessRegistrationNumber: yyMMdd or 10 digits",
            ));
        }
    }
    if let Some(p) = string(credential, "passwordTwoDigits")? {
        if !digits(p) || p.len() != 2 {
            return Err(invalid(
                "method.card.credential.passwordTwoDigits: 2 digits",
            ));
        }
    }
    if installment_month != 0 && !(2..=36).contains(&installment_month) {
        return Err(invalid("method.card.installmentMonth: 2 to 36"));
    }
    match channel_key {
        Some(k) if k == shared.channel_key => {}
        Some(_) => {
            return Err(error(
                404,
                "CHANNEL_NOT_FOUND",
                "요청된 채널이 존재하지 않습니다.",
            ))
        }
        None => return Err(invalid("channelKey or channelGroupId is required")),
    }

    let mut inner = shared.inner.lock().expect("state");
    if let Some(existing) = inner.payments.get(payment_id) {
        if existing.status != "FAILED" {
            return Err(error(409, "ALREADY_PAID", "결제가 이미 완료되었습니다."));
        }
    }
    let (bin, last4) = (
        number[..6].to_owned(),
        number[number.len() - 4..].to_owned(),
    );
    let now = now();
    if let Some(Behaviour::Decline {
        pg_code,
        pg_message,
    }) = decline
    {
        inner.payments.insert(
            payment_id.to_owned(),
            StoredPayment {
                id: payment_id.to_owned(),
                status: "FAILED".to_owned(),
                order_name,
                total,
                cancelled: 0,
                installment_month,
                approval_number: String::new(),
                pg_tx_id: String::new(),
                issuer: String::new(),
                bin,
                last4,
                requested_at: now.clone(),
                paid_at: None,
                cancelled_at: None,
                failure: Some((pg_code.clone(), pg_message.clone())),
                cancellations: Vec::new(),
                approvals: 0,
            },
        );
        return Err((
            502,
            json!({
                "type": "PG_PROVIDER",
                "message": "PG사에서 오류를 전달했습니다.",
                "pgCode": pg_code,
                "pgMessage": pg_message,
            }),
        ));
    }
    let approval_number = format!("{:08}", inner.next_approval % 100_000_000);
    inner.next_approval += 1;
    let pg_tx_id = format!("pgtx-{approval_number}");
    let issuer = inner.issuer.clone();
    let approvals = inner.payments.get(payment_id).map_or(0, |p| p.approvals) + 1;
    inner.payments.insert(
        payment_id.to_owned(),
        StoredPayment {
            id: payment_id.to_owned(),
            status: "PAID".to_owned(),
            order_name,
            total,
            cancelled: 0,
            installment_month,
            approval_number,
            pg_tx_id: pg_tx_id.clone(),
            issuer,
            bin,
            last4,
            requested_at: now.clone(),
            paid_at: Some(now.clone()),
            cancelled_at: None,
            failure: None,
            cancellations: Vec::new(),
            approvals,
        },
    );
    Ok((200, json!({"payment": {"pgTxId": pg_tx_id, "paidAt": now}})))
}

fn payment_json(p: &StoredPayment, channel_key: &str) -> Value {
    let paid = if p.status == "FAILED" { 0 } else { p.total };
    let changed_at = p
        .cancelled_at
        .clone()
        .or(p.paid_at.clone())
        .unwrap_or(p.requested_at.clone());
    let mut v = json!({
        "status": p.status,
        "id": p.id,
        "transactionId": format!("tx-{}", p.id),
        "merchantId": "merchant-standin",
        "storeId": "store-standin",
        "channel": {
            "type": "LIVE",
            "id": "channel-standin",
            "key": channel_key,
            "name": "key-in",
            "pgProvider": "NICE_V2",
            "pgMerchantId": "nicepay00m"
        },
        "version": "V2",
        "requestedAt": p.requested_at,
        "updatedAt": changed_at,
        "statusChangedAt": changed_at,
        "orderName": p.order_name,
        "amount": {
            "total": p.total,
            "taxFree": 0,
            "vat": p.total / 11,
            "supply": p.total - p.total / 11,
            "discount": 0,
            "paid": paid,
            "cancelled": p.cancelled,
            "cancelledTaxFree": 0
        },
        "currency": "KRW",
        "customer": {},
        "origin": {"platformType": "API", "ipAddress": "127.0.0.1"},
        "method": {
            "type": "PaymentMethodCard",
            "card": {
                "issuer": p.issuer,
                "publisher": p.issuer,
                "brand": "LOCAL",
                "type": "CREDIT",
                "ownerType": "PERSONAL",
                "bin": p.bin,
                "name": "카드",
                "number": format!("{}******{}", p.bin, p.last4)
            },
            "approvalNumber": p.approval_number,
            "installment": {"month": p.installment_month, "isInterestFree": false},
            "pointUsed": false
        },
        "disputes": [],
    });
    let obj = v.as_object_mut().expect("object");
    if p.status == "FAILED" {
        obj.remove("channel");
        obj.remove("disputes");
        if let Some(m) = obj.get_mut("method").and_then(Value::as_object_mut) {
            m.remove("approvalNumber");
        }
        let (code, message) = p.failure.clone().unwrap_or_default();
        obj.insert("failedAt".into(), json!(p.requested_at));
        obj.insert(
            "failure".into(),
            json!({"reason": "PG사 결제 실패", "pgCode": code, "pgMessage": message}),
        );
    } else {
        obj.insert("paidAt".into(), json!(p.paid_at));
        obj.insert("pgTxId".into(), json!(p.pg_tx_id));
        obj.insert("cancellations".into(), json!(p.cancellations));
        if let Some(at) = &p.cancelled_at {
            obj.insert("cancelledAt".into(), json!(at));
        }
    }
    v
}

async fn get_payment(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = check_auth(&shared, &headers) {
        return respond(e);
    }
    let behaviour = next_behaviour(&shared, Op::Get);
    match &behaviour {
        Some(Behaviour::ServerError(status)) => {
            return (
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
                "upstream unavailable",
            )
                .into_response()
        }
        Some(Behaviour::Error {
            status,
            kind,
            message,
        }) => return respond(error(*status, kind, message)),
        Some(Behaviour::Delay(ms)) | Some(Behaviour::LoseAnswer(ms)) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
        }
        Some(Behaviour::Stall(ms)) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            return (StatusCode::GATEWAY_TIMEOUT, "upstream timed out").into_response();
        }
        _ => {}
    }
    let answer = match shared
        .inner
        .lock()
        .expect("state")
        .payments
        .get(&payment_id)
    {
        Some(p) => (200, payment_json(p, &shared.channel_key)),
        None => error(404, "PAYMENT_NOT_FOUND", "결제 건이 존재하지 않습니다."),
    };
    respond(answer)
}

async fn cancel(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/payments/{payment_id}/cancel");
    if let Err(e) = check_auth(&shared, &headers).and_then(|_| check_json_content_type(&headers)) {
        return respond(e);
    }
    scripted(
        &shared,
        Op::Cancel,
        Method::POST,
        path,
        &headers,
        &body,
        |shared, _| match cancel_checked(shared, &payment_id, &body) {
            Ok(a) | Err(a) => a,
        },
    )
    .await
}

fn cancel_checked(
    shared: &Shared,
    payment_id: &str,
    body: &[u8],
) -> Result<(u16, Value), (u16, Value)> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| invalid("request body is not valid JSON"))?;
    let map = object(
        &value,
        "CancelPaymentBody",
        &[
            "storeId",
            "amount",
            "taxFreeAmount",
            "vatAmount",
            "reason",
            "requester",
            "promotionDiscountRetainOption",
            "currentCancellableAmount",
            "refundAccount",
            "refundEmail",
            "skipWebhook",
        ],
        &["reason"],
    )?;
    let reason = string(map, "reason")?.unwrap_or_default().to_owned();
    if reason.is_empty() {
        return Err(invalid("reason must not be empty"));
    }
    let amount = integer(map, "amount")?;
    if amount.is_some_and(|a| a <= 0) {
        return Err(invalid("amount must be positive"));
    }
    let current = integer(map, "currentCancellableAmount")?;
    integer(map, "taxFreeAmount")?;
    integer(map, "vatAmount")?;
    string(map, "storeId")?;
    boolean(map, "skipWebhook")?;
    if let Some(r) = string(map, "requester")? {
        if r != "CUSTOMER" && r != "ADMIN" {
            return Err(invalid("requester: CUSTOMER or ADMIN"));
        }
    }

    let mut inner = shared.inner.lock().expect("state");
    let id = inner.next_cancellation;
    inner.next_cancellation += 1;
    let Some(p) = inner.payments.get_mut(payment_id) else {
        return Err(error(
            404,
            "PAYMENT_NOT_FOUND",
            "결제 건이 존재하지 않습니다.",
        ));
    };
    match p.status.as_str() {
        "CANCELLED" => {
            return Err(error(
                409,
                "PAYMENT_ALREADY_CANCELLED",
                "결제가 이미 취소되었습니다.",
            ))
        }
        "PAID" | "PARTIAL_CANCELLED" => {}
        _ => {
            return Err(error(
                409,
                "PAYMENT_NOT_PAID",
                "결제가 완료되지 않았습니다.",
            ))
        }
    }
    let remaining = p.total - p.cancelled;
    if current.is_some_and(|c| c != remaining) {
        return Err(error(
            409,
            "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
            "취소 가능 잔액 검증에 실패했습니다.",
        ));
    }
    let amount = amount.unwrap_or(remaining);
    if amount > remaining {
        return Err(error(
            409,
            "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
            "결제 취소 금액이 취소 가능 금액을 초과했습니다.",
        ));
    }
    let now = now();
    p.cancelled += amount;
    p.status = if p.cancelled == p.total {
        "CANCELLED"
    } else {
        "PARTIAL_CANCELLED"
    }
    .to_owned();
    p.cancelled_at = Some(now.clone());
    let cancellation = json!({
        "status": "SUCCEEDED",
        "id": format!("cancel-{id}"),
        "pgCancellationId": format!("pgc-{id}"),
        "totalAmount": amount,
        "taxFreeAmount": 0,
        "vatAmount": amount / 11,
        "reason": reason,
        "cancelledAt": now,
        "requestedAt": now,
    });
    p.cancellations.push(cancellation.clone());
    Ok((200, json!({"cancellation": cancellation})))
}
