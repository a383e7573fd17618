//! Toss Payments stand-in: the key-in (카드 번호 결제) approval, the payment inquiry by order id
//! and by payment key, and the cancel, as documented at docs.tosspayments.com.
//!
//! What it checks, as Toss documents it:
//! - `Authorization: Basic base64(secretKey + ":")`: the configured secret key as user name and
//!   an empty password. Anything else is `401 UNAUTHORIZED_KEY`; a decoded value without the
//!   `:` is `INCORRECT_BASIC_AUTH_FORMAT` (its HTTP status is not in the tables we could read;
//!   401 here).
//! - `Idempotency-Key` (at most 300 characters, else `400 INVALID_IDEMPOTENCY_KEY`). Toss makes
//!   the header optional; this stand-in REQUIRES it on key-in and cancel (FieldPay always sends
//!   one), answering a missing one with the same `400 INVALID_IDEMPOTENCY_KEY`. A repeat with
//!   the same key, path and method gets the stored first answer (Toss: "같은 요청이 두 번
//!   일어나도 ... 첫 번째 요청 응답과 같은 응답"), a repeat while the first is still being
//!   processed gets `409 IDEMPOTENT_REQUEST_PROCESSING`. Toss identifies a request by key, API
//!   key, address and method only, and documents no error for a repeat with a different body:
//!   it answers the first answer. So does this stand-in, and it records each such repeat (see
//!   [`TossHandle::idempotency_conflicts`]) so tests can assert that none happened.
//! - Key-in body: a JSON object with exactly the documented fields and types. A missing required
//!   field is `400 INVALID_REQUIRED_PARAM`; an unknown field or a wrong type is `400
//!   INVALID_REQUEST` (that Toss rejects unknown fields is this stand-in's strictness; the docs
//!   do not say). Values: `orderId` 6..=64 of `[A-Za-z0-9_-]` (`INVALID_ORDER_ID`), `orderName`
//!   at most 100 characters (`INVALID_ORDER_NAME`), `cardNumber` digits, at most 20, Luhn
//!   (`INVALID_CARD_NUMBER`), `cardExpirationYear` `YY` and `cardExpirationMonth` `MM` not in
//!   the past (`INVALID_CARD_EXPIRATION`), `customerIdentityNumber` 6 or 10 digits
//!   (`INVALID_BIRTH_DAY_FORMAT`), `cardPassword` 2 digits (`INVALID_CARD_PASSWORD`),
//!   `cardInstallmentPlan` absent/0 or 2..=12 (`INVALID_CARD_INSTALLMENT_PLAN`) and only from
//!   50,000 KRW (`NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT`), `amount` at least 100
//!   (`BELOW_MINIMUM_AMOUNT`). The contract options that make the birth date and the password
//!   required are [`TossHandle::require_customer_identity`] / [`TossHandle::require_card_password`].
//! - An order id that already has a payment, with a new idempotency key: `400
//!   DUPLICATED_ORDER_ID`.
//! - Cancel body: `cancelReason` (required, at most 200 characters), `cancelAmount` (optional;
//!   absent = all that remains), plus the other documented optional fields. Canceling a
//!   canceled payment is `400 ALREADY_CANCELED_PAYMENT`, more than the balance `403
//!   NOT_CANCELABLE_AMOUNT`, an unknown payment key `404 NOT_FOUND_PAYMENT`.
//!
//! Any Luhn-valid card approves unless a behaviour is scripted ([`TossHandle`]). Answers are
//! the documented `Payment` object (card payments) and error object `{code, message}`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use chrono::{Datelike, FixedOffset, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::common::StandIn;

/// What the next key-in request does (one entry per request, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyInScript {
    /// Decline with this Toss error code (answered with its documented HTTP status).
    Decline(String),
    /// `500 FAILED_INTERNAL_SYSTEM_PROCESSING`; nothing approved.
    ServerError,
    /// Wait, then process normally (approve).
    Delay(Duration),
    /// Wait, then answer `500 FAILED_INTERNAL_SYSTEM_PROCESSING` with nothing approved: a
    /// client that gave up meanwhile finds nothing by inquiry.
    Stall(Duration),
    /// Approve and store the payment at once, then hold the answer this long: a client with a
    /// shorter timeout loses the answer while the payment exists.
    ApproveAndLoseAnswer(Duration),
}

/// What the next cancel request does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelScript {
    /// `500 FAILED_INTERNAL_SYSTEM_PROCESSING`; nothing canceled.
    ServerError,
    /// Cancel at once, then hold the answer this long.
    CancelAndLoseAnswer(Duration),
}

/// Scripts the stand-in and reads its state. Cheap to clone.
#[derive(Clone)]
pub struct TossHandle {
    state: Arc<Mutex<Toss>>,
}

/// Starts the stand-in on a loopback port, accepting `secret_key`.
pub async fn start(secret_key: &str) -> (StandIn, TossHandle) {
    let state = Arc::new(Mutex::new(Toss {
        secret_key: secret_key.to_owned(),
        ..Toss::default()
    }));
    let router = Router::new()
        .route("/v1/payments/key-in", post(key_in))
        .route("/v1/payments/orders/{order_id}", get(by_order))
        .route("/v1/payments/{payment_key}", get(by_payment_key))
        .route("/v1/payments/{payment_key}/cancel", post(cancel))
        .with_state(state.clone());
    (StandIn::serve(router).await, TossHandle { state })
}

impl TossHandle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Toss> {
        self.state.lock().expect("toss stand-in state")
    }

    /// Adds a behaviour for the next key-in request that gets past auth and validation.
    pub fn script(&self, s: KeyInScript) {
        self.lock().key_in_scripts.push_back(s);
    }

    pub fn decline_next(&self, code: &str) {
        self.script(KeyInScript::Decline(code.to_owned()));
    }

    pub fn fail_next(&self) {
        self.script(KeyInScript::ServerError);
    }

    pub fn delay_next(&self, ms: u64) {
        self.script(KeyInScript::Delay(Duration::from_millis(ms)));
    }

    pub fn stall_next(&self, ms: u64) {
        self.script(KeyInScript::Stall(Duration::from_millis(ms)));
    }

    pub fn approve_and_lose_next(&self, ms: u64) {
        self.script(KeyInScript::ApproveAndLoseAnswer(Duration::from_millis(ms)));
    }

    /// Adds a behaviour for the next cancel request that gets past auth and validation.
    pub fn script_cancel(&self, s: CancelScript) {
        self.lock().cancel_scripts.push_back(s);
    }

    /// The contract option that makes `customerIdentityNumber` required.
    pub fn require_customer_identity(&self, yes: bool) {
        self.lock().require_identity = yes;
    }

    /// The contract option that makes `cardPassword` required.
    pub fn require_card_password(&self, yes: bool) {
        self.lock().require_password = yes;
    }

    /// Cards starting with `bin6` are reported with these Toss 카드사 codes (default `11`/`11`).
    pub fn set_issuer(&self, bin6: &str, issuer_code: &str, acquirer_code: &str) {
        self.lock().issuers.insert(
            bin6.to_owned(),
            (issuer_code.to_owned(), acquirer_code.to_owned()),
        );
    }

    /// The Payment object of an order, as an inquiry would answer it.
    pub fn payment(&self, order_id: &str) -> Option<Value> {
        self.lock()
            .payments
            .get(order_id)
            .map(StoredPayment::to_json)
    }

    /// Payments approved so far (whatever their state now).
    pub fn approved_count(&self) -> usize {
        self.lock().payments.len()
    }

    /// Cancels applied to an order (replays of an idempotent cancel are not counted).
    pub fn cancel_count(&self, order_id: &str) -> usize {
        self.lock()
            .payments
            .get(order_id)
            .map(|p| p.cancels.len())
            .unwrap_or(0)
    }

    /// Key-in requests that reached approval processing (not replays, not refused by auth,
    /// idempotency or validation).
    pub fn key_in_processed(&self) -> usize {
        self.lock().key_in_processed
    }

    /// Requests that reused an idempotency key with a different body (answered with the first
    /// answer, as Toss does), as `"METHOD path key"`.
    pub fn idempotency_conflicts(&self) -> Vec<String> {
        self.lock().idempotency_conflicts.clone()
    }

    /// Answers replayed from the idempotency store.
    pub fn replays(&self) -> usize {
        self.lock().replays
    }
}

#[derive(Default)]
struct Toss {
    secret_key: String,
    payments: HashMap<String, StoredPayment>,
    order_of_payment_key: HashMap<String, String>,
    idempotency: HashMap<String, Idem>,
    key_in_scripts: VecDeque<KeyInScript>,
    cancel_scripts: VecDeque<CancelScript>,
    require_identity: bool,
    require_password: bool,
    issuers: HashMap<String, (String, String)>,
    seq: u64,
    key_in_processed: usize,
    idempotency_conflicts: Vec<String>,
    replays: usize,
}

enum Idem {
    InProgress,
    Done {
        request: Bytes,
        status: StatusCode,
        answer: Value,
    },
}

struct StoredPayment {
    payment_key: String,
    order_id: String,
    order_name: String,
    total: i64,
    balance: i64,
    status: &'static str,
    requested_at: String,
    approved_at: String,
    issuer_code: String,
    acquirer_code: String,
    masked_number: String,
    installment_months: u8,
    approve_no: String,
    last_transaction_key: String,
    cancels: Vec<Value>,
}

impl StoredPayment {
    fn to_json(&self) -> Value {
        let supplied = (self.total as f64 / 1.1).round() as i64;
        json!({
            "mId": "tosspayments",
            "lastTransactionKey": self.last_transaction_key,
            "paymentKey": self.payment_key,
            "orderId": self.order_id,
            "orderName": self.order_name,
            "taxExemptionAmount": 0,
            "status": self.status,
            "requestedAt": self.requested_at,
            "approvedAt": self.approved_at,
            "useEscrow": false,
            "cultureExpense": false,
            "card": {
                "issuerCode": self.issuer_code,
                "acquirerCode": self.acquirer_code,
                "number": self.masked_number,
                "installmentPlanMonths": self.installment_months,
                "isInterestFree": false,
                "interestPayer": null,
                "approveNo": self.approve_no,
                "useCardPoint": false,
                "cardType": "신용",
                "ownerType": "개인",
                "acquireStatus": "READY",
                "amount": self.total
            },
            "virtualAccount": null,
            "transfer": null,
            "mobilePhone": null,
            "giftCertificate": null,
            "cashReceipt": null,
            "cashReceipts": null,
            "discount": null,
            "cancels": if self.cancels.is_empty() { Value::Null } else { Value::Array(self.cancels.clone()) },
            "secret": null,
            "type": "NORMAL",
            "easyPay": null,
            "country": "KR",
            "failure": null,
            "isPartialCancelable": true,
            "receipt": {"url": format!("https://dashboard.tosspayments.com/receipt/redirection?transactionId={}", self.last_transaction_key)},
            "checkout": null,
            "currency": "KRW",
            "totalAmount": self.total,
            "balanceAmount": self.balance,
            "suppliedAmount": supplied,
            "vat": self.total - supplied,
            "taxFreeAmount": 0,
            "method": "카드",
            "version": "2022-11-16"
        })
    }
}

type Shared = Arc<Mutex<Toss>>;

/// The documented HTTP status and Korean message of the error codes this stand-in answers.
fn documented(code: &str) -> (StatusCode, &'static str) {
    let s = |n: u16| StatusCode::from_u16(n).expect("status");
    match code {
        "UNAUTHORIZED_KEY" => (s(401), "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다."),
        "INCORRECT_BASIC_AUTH_FORMAT" => (s(401), "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요."),
        "INVALID_API_KEY" => (s(400), "잘못된 시크릿키 연동 정보 입니다."),
        "INVALID_IDEMPOTENCY_KEY" => (s(400), "멱등키는 300자 이하여야 합니다."),
        "IDEMPOTENT_REQUEST_PROCESSING" => (s(409), "이전 멱등 요청이 처리중입니다."),
        "INVALID_REQUEST" => (s(400), "잘못된 요청입니다."),
        "INVALID_REQUIRED_PARAM" => (s(400), "필수 파라미터가 누락되었습니다."),
        "INVALID_ORDER_ID" => (
            s(400),
            "`orderId`는 영문 대소문자, 숫자, 특수문자(-, _) 만 허용합니다. 6자 이상 64자 이하여야 합니다.",
        ),
        "INVALID_ORDER_NAME" => (s(400), "주문 이름은 100자 이하여야 합니다."),
        "INVALID_CARD_NUMBER" => (s(400), "카드번호를 다시 확인해주세요."),
        "INVALID_CARD_EXPIRATION" => (s(400), "카드 정보를 다시 확인해주세요. (유효기간)"),
        "INVALID_CARD_PASSWORD" => (s(400), "카드 정보를 다시 확인해주세요. (비밀번호)"),
        "INVALID_CARD_IDENTITY" => (
            s(400),
            "입력하신 주민번호/사업자번호가 카드 소유주 정보와 일치하지 않습니다.",
        ),
        "INVALID_BIRTH_DAY_FORMAT" => (
            s(400),
            "생년월일 정보는 6자리의 `yyMMdd` 형식이어야 합니다. 사업자등록번호는 10자리의 숫자여야 합니다.",
        ),
        "INVALID_STOPPED_CARD" => (s(400), "정지된 카드 입니다."),
        "INVALID_REJECT_CARD" => (s(400), "카드 사용이 거절되었습니다. 카드사 문의가 필요합니다."),
        "INVALID_CARD_LOST_OR_STOLEN" => (s(400), "분실 혹은 도난 카드입니다."),
        "NOT_SUPPORTED_CARD_TYPE" => (s(400), "지원되지 않는 카드 종류입니다."),
        "NOT_REGISTERED_CARD_COMPANY" => (s(400), "카드를 사용 등록 후 이용해주세요."),
        "INVALID_CARD_INSTALLMENT_PLAN" => (s(400), "할부 개월 정보가 잘못되었습니다."),
        "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT" => {
            (s(400), "할부가 지원되지 않는 카드 또는 가맹점 입니다.")
        }
        "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN" => (s(400), "할부가 지원되지 않는 카드입니다."),
        "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT" => (
            s(400),
            "5만원 이하의 결제는 할부가 불가능해서 결제에 실패했습니다.",
        ),
        "EXCEED_MAX_DAILY_PAYMENT_COUNT" => (s(400), "하루 결제 가능 횟수를 초과했습니다."),
        "EXCEED_MAX_PAYMENT_AMOUNT" => (s(400), "하루 결제 가능 금액을 초과했습니다."),
        "EXCEED_MAX_AMOUNT" => (s(400), "거래금액 한도를 초과했습니다."),
        "EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT" => {
            (s(400), "당월 결제 가능금액인 1,000,000원을 초과 하셨습니다.")
        }
        "EXCEED_UNKNOWN_CASE" => (s(400), "한도 초과 되었습니다."),
        "EXCEED_MAX_CARD_INSTALLMENT_PLAN" => (s(400), "설정 가능한 최대 할부 개월 수를 초과했습니다."),
        "NOT_ALLOWED_INSTALLMENT_BELOW_AMOUNT" => {
            (s(400), "해당 카드는 10000원 미만 할부 거래가 불가한 카드입니다.")
        }
        "INVALID_CARD_INSTALLMENT_AMOUNT" => (s(400), "할부금액 잘못 되었습니다."),
        "INVALID_CARD" => (s(400), "카드 입력정보가 올바르지 않습니다."),
        "INVALID_CARD_COMPANY" => (s(400), "유효하지 않은 카드사입니다."),
        "NOT_ALLOWED_POINT_USE" => {
            (s(400), "포인트 사용이 불가한 카드로 카드 포인트 결제에 실패했습니다.")
        }
        "FDS_ERROR" => (s(403), "[토스페이먼츠] 위험거래가 감지되어 결제가 제한됩니다."),
        "BELOW_MINIMUM_AMOUNT" => (
            s(400),
            "신용카드는 결제금액이 100원 이상, 계좌는 200원이상부터 결제가 가능합니다.",
        ),
        "DUPLICATED_ORDER_ID" => (
            s(400),
            "이미 승인 및 취소가 진행된 중복된 주문번호 입니다. 다른 주문번호로 진행해주세요.",
        ),
        "PROVIDER_ERROR" => (s(400), "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요."),
        "ALREADY_CANCELED_PAYMENT" => (s(400), "이미 취소된 결제 입니다."),
        "REJECT_CARD_PAYMENT" => (s(403), "한도초과 혹은 잔액부족으로 결제에 실패했습니다."),
        "REJECT_ACCOUNT_PAYMENT" => (s(403), "잔액부족으로 결제에 실패했습니다."),
        "REJECT_CARD_COMPANY" => (s(403), "결제 승인이 거절되었습니다."),
        "EXCEED_MAX_AUTH_COUNT" => (s(403), "최대 인증 횟수를 초과했습니다. 카드사로 문의해주세요."),
        "EXCEED_MAX_ONE_DAY_AMOUNT" => (s(403), "일일 한도를 초과했습니다."),
        "FORBIDDEN_REQUEST" => (s(403), "허용되지 않은 요청입니다."),
        "NOT_CANCELABLE_AMOUNT" => (s(403), "취소 할 수 없는 금액 입니다."),
        "NOT_FOUND_PAYMENT" => (s(404), "존재하지 않는 결제 정보 입니다."),
        "FAILED_INTERNAL_SYSTEM_PROCESSING" => (
            s(500),
            "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.",
        ),
        "FAILED_CARD_COMPANY_RESPONSE" => (
            s(500),
            "카드사에서 에러가 발생했습니다. 잠시 후 다시 시도해 주세요.",
        ),
        "FAILED_DB_PROCESSING" => (s(500), "잘못된 요청 값으로 처리 중 DB 에러가 발생했습니다."),
        "COMMON_ERROR" => (s(500), "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요."),
        _ => (s(400), "요청을 처리하지 못했습니다."),
    }
}

fn error(code: &str) -> (StatusCode, Value) {
    let (status, message) = documented(code);
    (status, json!({"code": code, "message": message}))
}

fn respond((status, body): (StatusCode, Value)) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Checks `Authorization: Basic base64(secret + ":")`.
fn check_auth(state: &Shared, headers: &HeaderMap) -> Result<(), (StatusCode, Value)> {
    let secret = state.lock().expect("state").secret_key.clone();
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| error("UNAUTHORIZED_KEY"))?;
    let encoded = value
        .strip_prefix("Basic ")
        .ok_or_else(|| error("UNAUTHORIZED_KEY"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| error("INCORRECT_BASIC_AUTH_FORMAT"))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| error("INCORRECT_BASIC_AUTH_FORMAT"))?;
    if user == secret && password.is_empty() {
        Ok(())
    } else {
        Err(error("UNAUTHORIZED_KEY"))
    }
}

/// The idempotency step: `Ok(slot)` = process (the slot is released if processing is
/// abandoned), `Err(answer)` = answer this (a replay, or a refusal).
fn claim_idempotency(
    state: &Shared,
    headers: &HeaderMap,
    method_path: &str,
    body: &Bytes,
) -> Result<IdemSlot, (StatusCode, Value)> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if key.is_empty() || key.chars().count() > 300 {
        return Err(error("INVALID_IDEMPOTENCY_KEY"));
    }
    let slot_key = format!("{method_path} {key}");
    let mut st = state.lock().expect("state");
    let seen = match st.idempotency.get(&slot_key) {
        None => None,
        Some(Idem::InProgress) => Some(None),
        Some(Idem::Done {
            request,
            status,
            answer,
        }) => Some(Some((request != body, *status, answer.clone()))),
    };
    match seen {
        Some(None) => Err(error("IDEMPOTENT_REQUEST_PROCESSING")),
        Some(Some((conflict, status, answer))) => {
            if conflict {
                st.idempotency_conflicts.push(slot_key.clone());
            }
            st.replays += 1;
            Err((status, answer))
        }
        None => {
            st.idempotency.insert(slot_key.clone(), Idem::InProgress);
            Ok(IdemSlot {
                state: state.clone(),
                key: slot_key,
                request: body.clone(),
                done: false,
            })
        }
    }
}

/// A claimed idempotency key. Dropped without [`IdemSlot::store`] (the handler was abandoned,
/// or answered before processing), the key is released.
struct IdemSlot {
    state: Shared,
    key: String,
    request: Bytes,
    done: bool,
}

impl IdemSlot {
    fn store(&mut self, answer: &(StatusCode, Value)) {
        self.state.lock().expect("state").idempotency.insert(
            self.key.clone(),
            Idem::Done {
                request: self.request.clone(),
                status: answer.0,
                answer: answer.1.clone(),
            },
        );
        self.done = true;
    }
}

impl Drop for IdemSlot {
    fn drop(&mut self) {
        if !self.done {
            if let Ok(mut st) = self.state.lock() {
                st.idempotency.remove(&self.key);
            }
        }
    }
}

fn json_object(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Map<String, Value>, (StatusCode, Value)> {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.starts_with("application/json"))
        .unwrap_or(false);
    if !is_json {
        return Err(error("INVALID_REQUEST"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(error("INVALID_REQUEST")),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    Bool,
    Obj,
}

/// Checks fields against `(name, kind, required)`: unknown or mistyped = INVALID_REQUEST,
/// missing required = `missing_code`.
fn check_fields(
    map: &Map<String, Value>,
    spec: &[(&str, Kind, bool)],
    missing_code: &str,
) -> Result<(), (StatusCode, Value)> {
    for (name, value) in map {
        let Some((_, kind, _)) = spec.iter().find(|(n, _, _)| *n == name.as_str()) else {
            return Err(error("INVALID_REQUEST"));
        };
        let ok = match kind {
            Kind::Str => value.is_string(),
            Kind::Int => value.is_i64(),
            Kind::Bool => value.is_boolean(),
            Kind::Obj => value.is_object(),
        };
        if !ok {
            return Err(error("INVALID_REQUEST"));
        }
    }
    for (name, _, required) in spec {
        if *required && !map.contains_key(*name) {
            return Err(error(missing_code));
        }
    }
    Ok(())
}

fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

fn kst_now() -> chrono::DateTime<FixedOffset> {
    Utc::now().with_timezone(&FixedOffset::east_opt(9 * 3600).expect("KST"))
}

fn kst_now_text() -> String {
    kst_now().to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Toss's masked form: the first 8 digits, `*` for the middle, 3 more digits, a final `*`
/// (`43301234****123*`).
fn toss_mask(number: &str) -> String {
    let n = number.len();
    format!(
        "{}{}{}*",
        &number[..8],
        "*".repeat(n - 12),
        &number[n - 4..n - 1]
    )
}

fn str_field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    map.get(name).and_then(Value::as_str)
}

/// The validated key-in request (card data is only checked, never kept whole).
struct KeyIn {
    amount: i64,
    order_id: String,
    order_name: String,
    bin6: String,
    masked: String,
    installment_months: u8,
}

fn validate_key_in(state: &Shared, map: &Map<String, Value>) -> Result<KeyIn, (StatusCode, Value)> {
    use Kind::*;
    check_fields(
        map,
        &[
            ("amount", Int, true),
            ("orderId", Str, true),
            ("orderName", Str, true),
            ("cardNumber", Str, true),
            ("cardExpirationYear", Str, true),
            ("cardExpirationMonth", Str, true),
            ("customerIdentityNumber", Str, false),
            ("cardPassword", Str, false),
            ("cardInstallmentPlan", Int, false),
            ("useFreeInstallmentPlan", Bool, false),
            ("taxFreeAmount", Int, false),
            ("customerEmail", Str, false),
            ("customerName", Str, false),
            ("vbv", Obj, false),
        ],
        "INVALID_REQUIRED_PARAM",
    )?;
    let (require_identity, require_password) = {
        let st = state.lock().expect("state");
        (st.require_identity, st.require_password)
    };
    if (require_identity && !map.contains_key("customerIdentityNumber"))
        || (require_password && !map.contains_key("cardPassword"))
    {
        return Err(error("INVALID_REQUIRED_PARAM"));
    }
    let amount = map["amount"].as_i64().unwrap_or(0);
    let order_id = str_field(map, "orderId").unwrap_or("");
    let order_name = str_field(map, "orderName").unwrap_or("");
    let number = str_field(map, "cardNumber").unwrap_or("");
    let year = str_field(map, "cardExpirationYear").unwrap_or("");
    let month = str_field(map, "cardExpirationMonth").unwrap_or("");

    let order_ok = (6..=64).contains(&order_id.len())
        && order_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !order_ok {
        return Err(error("INVALID_ORDER_ID"));
    }
    if order_name.is_empty() || order_name.chars().count() > 100 {
        return Err(error("INVALID_ORDER_NAME"));
    }
    if amount < 100 {
        return Err(error("BELOW_MINIMUM_AMOUNT"));
    }
    let number_ok = (12..=20).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
        && luhn(number);
    if !number_ok {
        return Err(error("INVALID_CARD_NUMBER"));
    }
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let expiry_ok =
        two_digits(year) && two_digits(month) && matches!(month.parse::<u32>(), Ok(1..=12)) && {
            let now = kst_now();
            let y = 2000 + year.parse::<i32>().unwrap_or(0);
            let m = month.parse::<u32>().unwrap_or(0);
            (y, m) >= (now.year(), now.month())
        };
    if !expiry_ok {
        return Err(error("INVALID_CARD_EXPIRATION"));
    }
    if let Some(id) = str_field(map, "customerIdentityNumber") {
        if !((id.len() == 6 || id.len() == 10) && id.bytes().all(|b| b.is_ascii_digit())) {
            return Err(error("INVALID_BIRTH_DAY_FORMAT"));
        }
    }
    if let Some(pw) = str_field(map, "cardPassword") {
        if !two_digits(pw) {
            return Err(error("INVALID_CARD_PASSWORD"));
        }
    }
    let installment_months = match map.get("cardInstallmentPlan").and_then(Value::as_i64) {
        None | Some(0) => 0,
        Some(n @ 2..=12) => n as u8,
        Some(_) => return Err(error("INVALID_CARD_INSTALLMENT_PLAN")),
    };
    if installment_months > 0 && amount < 50_000 {
        return Err(error("NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT"));
    }
    Ok(KeyIn {
        amount,
        order_id: order_id.to_owned(),
        order_name: order_name.to_owned(),
        bin6: number[..6].to_owned(),
        masked: toss_mask(number),
        installment_months,
    })
}

/// Creates and stores the payment; answers its JSON.
fn approve(state: &Shared, req: KeyIn) -> (StatusCode, Value) {
    let mut st = state.lock().expect("state");
    if st.payments.contains_key(&req.order_id) {
        return error("DUPLICATED_ORDER_ID");
    }
    st.seq += 1;
    let seq = st.seq;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    req.order_id.hash(&mut h);
    let payment_key = format!("tviva{:016x}{seq:06}", h.finish());
    let (issuer_code, acquirer_code) = st
        .issuers
        .get(&req.bin6)
        .cloned()
        .unwrap_or_else(|| ("11".into(), "11".into()));
    let now = kst_now_text();
    let payment = StoredPayment {
        payment_key: payment_key.clone(),
        order_id: req.order_id.clone(),
        order_name: req.order_name,
        total: req.amount,
        balance: req.amount,
        status: "DONE",
        requested_at: now.clone(),
        approved_at: now,
        issuer_code,
        acquirer_code,
        masked_number: req.masked,
        installment_months: req.installment_months,
        approve_no: format!("{:08}", 30_000_000 + seq),
        last_transaction_key: format!("txa{seq:020}"),
        cancels: Vec::new(),
    };
    let answer = payment.to_json();
    st.order_of_payment_key
        .insert(payment_key, req.order_id.clone());
    st.payments.insert(req.order_id, payment);
    (StatusCode::OK, answer)
}

async fn key_in(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = check_auth(&state, &headers) {
        return respond(e);
    }
    let mut slot = match claim_idempotency(&state, &headers, "POST /v1/payments/key-in", &body) {
        Ok(slot) => slot,
        Err(answer) => return respond(answer),
    };
    let answer = match json_object(&headers, &body).and_then(|map| validate_key_in(&state, &map)) {
        Err(e) => e,
        Ok(req) => {
            let script = {
                let mut st = state.lock().expect("state");
                st.key_in_processed += 1;
                st.key_in_scripts.pop_front()
            };
            match script {
                None => approve(&state, req),
                Some(KeyInScript::Decline(code)) => error(&code),
                Some(KeyInScript::ServerError) => error("FAILED_INTERNAL_SYSTEM_PROCESSING"),
                Some(KeyInScript::Delay(d)) => {
                    tokio::time::sleep(d).await;
                    approve(&state, req)
                }
                Some(KeyInScript::Stall(d)) => {
                    tokio::time::sleep(d).await;
                    error("FAILED_INTERNAL_SYSTEM_PROCESSING")
                }
                Some(KeyInScript::ApproveAndLoseAnswer(d)) => {
                    let answer = approve(&state, req);
                    slot.store(&answer);
                    tokio::time::sleep(d).await;
                    answer
                }
            }
        }
    };
    slot.store(&answer);
    respond(answer)
}

async fn by_order(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(order_id): Path<String>,
) -> Response {
    if let Err(e) = check_auth(&state, &headers) {
        return respond(e);
    }
    let st = state.lock().expect("state");
    match st.payments.get(&order_id) {
        Some(p) => respond((StatusCode::OK, p.to_json())),
        None => respond(error("NOT_FOUND_PAYMENT")),
    }
}

async fn by_payment_key(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(payment_key): Path<String>,
) -> Response {
    if let Err(e) = check_auth(&state, &headers) {
        return respond(e);
    }
    let st = state.lock().expect("state");
    match st
        .order_of_payment_key
        .get(&payment_key)
        .and_then(|o| st.payments.get(o))
    {
        Some(p) => respond((StatusCode::OK, p.to_json())),
        None => respond(error("NOT_FOUND_PAYMENT")),
    }
}

fn apply_cancel(
    state: &Shared,
    payment_key: &str,
    map: &Map<String, Value>,
) -> (StatusCode, Value) {
    let mut st = state.lock().expect("state");
    let Some(order_id) = st.order_of_payment_key.get(payment_key).cloned() else {
        return error("NOT_FOUND_PAYMENT");
    };
    let Some(p) = st.payments.get_mut(&order_id) else {
        return error("NOT_FOUND_PAYMENT");
    };
    if p.status == "CANCELED" {
        return error("ALREADY_CANCELED_PAYMENT");
    }
    let amount = map
        .get("cancelAmount")
        .and_then(Value::as_i64)
        .unwrap_or(p.balance);
    if amount <= 0 {
        return error("INVALID_REQUEST");
    }
    if amount > p.balance {
        return error("NOT_CANCELABLE_AMOUNT");
    }
    p.balance -= amount;
    p.status = if p.balance == 0 {
        "CANCELED"
    } else {
        "PARTIAL_CANCELED"
    };
    let n = p.cancels.len() + 1;
    let transaction_key = format!("txc{n:04}{}", &p.payment_key);
    p.last_transaction_key = transaction_key.clone();
    p.cancels.push(json!({
        "transactionKey": transaction_key,
        "cancelReason": str_field(map, "cancelReason").unwrap_or(""),
        "taxExemptionAmount": 0,
        "canceledAt": kst_now_text(),
        "easyPayDiscountAmount": 0,
        "receiptKey": null,
        "cancelAmount": amount,
        "taxFreeAmount": 0,
        "refundableAmount": p.balance,
        "cancelStatus": "DONE",
        "cancelRequestId": null
    }));
    (StatusCode::OK, p.to_json())
}

async fn cancel(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(payment_key): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(e) = check_auth(&state, &headers) {
        return respond(e);
    }
    let path = format!("POST /v1/payments/{payment_key}/cancel");
    let mut slot = match claim_idempotency(&state, &headers, &path, &body) {
        Ok(slot) => slot,
        Err(answer) => return respond(answer),
    };
    use Kind::*;
    let checked = json_object(&headers, &body).and_then(|map| {
        check_fields(
            &map,
            &[
                ("cancelReason", Str, true),
                ("cancelAmount", Int, false),
                ("refundReceiveAccount", Obj, false),
                ("taxFreeAmount", Int, false),
                ("taxExemptionAmount", Int, false),
                ("currency", Str, false),
            ],
            "INVALID_REQUEST",
        )?;
        let reason = str_field(&map, "cancelReason").unwrap_or("");
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(error("INVALID_REQUEST"));
        }
        Ok(map)
    });
    let answer = match checked {
        Err(e) => e,
        Ok(map) => {
            let script = state.lock().expect("state").cancel_scripts.pop_front();
            match script {
                None => apply_cancel(&state, &payment_key, &map),
                Some(CancelScript::ServerError) => error("FAILED_INTERNAL_SYSTEM_PROCESSING"),
                Some(CancelScript::CancelAndLoseAnswer(d)) => {
                    let answer = apply_cancel(&state, &payment_key, &map);
                    slot.store(&answer);
                    tokio::time::sleep(d).await;
                    answer
                }
            }
        }
    };
    slot.store(&answer);
    respond(answer)
}

/// Every error code the stand-in can answer with its documented status (for tests that want to
/// go through them).
pub fn documented_codes() -> HashSet<&'static str> {
    [
        "REJECT_CARD_PAYMENT",
        "REJECT_ACCOUNT_PAYMENT",
        "REJECT_CARD_COMPANY",
        "EXCEED_MAX_AUTH_COUNT",
        "EXCEED_MAX_AMOUNT",
        "EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT",
        "EXCEED_UNKNOWN_CASE",
        "EXCEED_MAX_CARD_INSTALLMENT_PLAN",
        "NOT_ALLOWED_INSTALLMENT_BELOW_AMOUNT",
        "INVALID_CARD_INSTALLMENT_AMOUNT",
        "INVALID_CARD",
        "INVALID_CARD_COMPANY",
        "NOT_ALLOWED_POINT_USE",
        "FDS_ERROR",
        "EXCEED_MAX_ONE_DAY_AMOUNT",
        "EXCEED_MAX_DAILY_PAYMENT_COUNT",
        "EXCEED_MAX_PAYMENT_AMOUNT",
        "INVALID_CARD_NUMBER",
        "INVALID_CARD_EXPIRATION",
        "INVALID_CARD_PASSWORD",
        "INVALID_CARD_IDENTITY",
        "INVALID_BIRTH_DAY_FORMAT",
        "INVALID_STOPPED_CARD",
        "INVALID_REJECT_CARD",
        "INVALID_CARD_LOST_OR_STOLEN",
        "NOT_SUPPORTED_CARD_TYPE",
        "NOT_REGISTERED_CARD_COMPANY",
        "INVALID_CARD_INSTALLMENT_PLAN",
        "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT",
        "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN",
        "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT",
        "PROVIDER_ERROR",
        "FORBIDDEN_REQUEST",
        "INVALID_API_KEY",
        "UNAUTHORIZED_KEY",
        "FAILED_INTERNAL_SYSTEM_PROCESSING",
        "FAILED_CARD_COMPANY_RESPONSE",
        "FAILED_DB_PROCESSING",
        "COMMON_ERROR",
    ]
    .into_iter()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_like_toss() {
        assert_eq!(toss_mask("4330123412341234"), "43301234****123*");
        assert_eq!(toss_mask("45184227182812"), "45184227**281*");
    }

    #[test]
    fn luhn_check() {
        assert!(luhn("5409263141592659"));
        assert!(!luhn("5409263141592658"));
    }

    #[test]
    fn every_listed_code_is_documented() {
        for code in documented_codes() {
            let (_, message) = documented(code);
            assert_ne!(message, "요청을 처리하지 못했습니다.", "{code}");
        }
    }
}
