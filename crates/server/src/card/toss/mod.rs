//! Toss Payments key-in (카드 번호 결제, 수기결제) connector: the transport.
//!
//! - Approve: `POST /v1/payments/key-in` with the card data in the JSON body, HTTP Basic
//!   auth with the secret key as user name and an empty password (`base64(secret_key + ":")`),
//!   and `Idempotency-Key` = the attempt key (which is also the `orderId`). Toss keeps an
//!   idempotency key for 15 days and answers a repeat with the first answer.
//! - Inquire: `GET /v1/payments/orders/{orderId}`; `404 NOT_FOUND_PAYMENT` = nothing approved.
//! - Cancel: the `paymentKey` is looked up by order id, then
//!   `POST /v1/payments/{paymentKey}/cancel` with `cancelReason` and, for a partial cancel,
//!   `cancelAmount`; `Idempotency-Key` = the cancel's idempotency key.
//!
//! Request/response types and every mapping live in [`transformers`].
//!
//! # Outcomes
//! A connection that could not be made (refused, DNS) is `Unavailable`: nothing was sent. Once
//! the request may have been received, a timeout, a broken connection, any 5xx, a `409
//! IDEMPOTENT_REQUEST_PROCESSING` or an unreadable success body is `Timeout` (unknown) for
//! approve and cancel. Credential and contract errors are `Unavailable` with a message naming
//! the problem (never card data).
//!
//! # Card data
//! The key-in body borrows the digits from the caller's [`CardInput`]; it is serialized into a
//! buffer that is wiped after the request (when reqwest has released it, which it has once the
//! answer arrived), and never logged. The masked number and last four of the keyed card (which
//! may be kept) are remembered in memory for a bounded number of recent approvals, so that an
//! approval found by inquiry right after a lost answer, and the state answered to a cancel,
//! carry the same masked form as the approval. After a restart (or once evicted) they are built
//! from Toss's own masked number instead (see [`transformers::approval_of`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use fieldpay_protocol::Secret;
use reqwest::StatusCode;
use zeroize::Zeroize;

use crate::card::{
    Approval, ApproveRequest, CancelRequest, CardConnector, CardInput, ConnectorError,
    PaymentMethod, RegisteredCardToken, TxnState,
};

pub mod transformers;

use transformers::{
    approve_error_kind, key_in_request, rejection_message, state_of, ApproveErrorKind, BuildError,
    CancelBody, KnownCard, Payment, PaymentError, TossError,
};

/// Toss Payments' production API address.
pub const DEFAULT_BASE_URL: &str = "https://api.tosspayments.com";

/// How many recent attempts' masked numbers are remembered (see the module docs).
const KNOWN_CARDS: usize = 256;

/// Settings of the Toss connector.
#[derive(Debug, Clone)]
pub struct TossConfig {
    /// The API secret key (`live_sk_...` / `test_sk_...`).
    pub secret_key: Secret,
    /// [`DEFAULT_BASE_URL`] in production; no trailing slash needed.
    pub base_url: String,
    /// Whole-request timeout (connect, send, answer).
    pub timeout: Duration,
}

pub struct TossConnector {
    client: reqwest::Client,
    base_url: String,
    secret_key: Secret,
    known: Mutex<KnownCards>,
}

impl std::fmt::Debug for TossConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossConnector")
            .field("base_url", &self.base_url)
            .field("secret_key", &self.secret_key)
            .finish_non_exhaustive()
    }
}

/// What came back from one HTTP exchange.
enum Exchange {
    /// An answer with its status and body.
    Answer(StatusCode, Vec<u8>),
    /// The request never left (connection refused, DNS, TLS setup): nothing happened.
    NotSent(String),
    /// The request may have been received; no (whole) answer: outcome unknown.
    Lost(String),
}

impl TossConnector {
    pub fn new(cfg: TossConfig) -> Result<Self, ConnectorError> {
        if cfg.secret_key.is_empty() {
            return Err(ConnectorError::Unavailable(
                "Toss Payments: no secret key configured".into(),
            ));
        }
        let base_url = cfg.base_url.trim_end_matches('/').to_owned();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(ConnectorError::Unavailable(format!(
                "Toss Payments: base_url must be an http(s) address, got {base_url:?}"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("FieldPay/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectorError::Unavailable(format!("Toss Payments: HTTP client: {e}")))?;
        Ok(TossConnector {
            client,
            base_url,
            secret_key: cfg.secret_key,
            known: Mutex::new(KnownCards::default()),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.basic_auth(self.secret_key.expose(), Some(""))
    }

    async fn exchange(&self, rb: reqwest::RequestBuilder) -> Exchange {
        match self.authed(rb).send().await {
            Ok(resp) => {
                let status = resp.status();
                match resp.bytes().await {
                    Ok(body) => Exchange::Answer(status, body.to_vec()),
                    Err(e) => Exchange::Lost(format!("reading the answer: {}", without_url(&e))),
                }
            }
            Err(e) if e.is_connect() || e.is_builder() => Exchange::NotSent(without_url(&e)),
            Err(e) => Exchange::Lost(without_url(&e)),
        }
    }

    /// `GET /v1/payments/orders/{orderId}`: the payment, `None` for `404 NOT_FOUND_PAYMENT`.
    async fn payment_by_order(&self, key: &str) -> Result<Option<Payment>, ConnectorError> {
        check_path_segment(key)?;
        let rb = self
            .client
            .get(self.url(&format!("/v1/payments/orders/{key}")));
        match self.exchange(rb).await {
            Exchange::Answer(status, body) if status.is_success() => {
                match serde_json::from_slice::<Payment>(&body) {
                    Ok(p) => Ok(Some(p)),
                    Err(e) => {
                        tracing::warn!(key, error = %e, "Toss inquiry answer unreadable");
                        Err(ConnectorError::Timeout)
                    }
                }
            }
            Exchange::Answer(status, body) => {
                let err = toss_error(&body);
                let code = err.as_ref().map(|e| e.code.as_str()).unwrap_or("");
                if status == StatusCode::NOT_FOUND && code == "NOT_FOUND_PAYMENT" {
                    return Ok(None);
                }
                tracing::warn!(key, %status, code, "Toss inquiry refused");
                if status.is_server_error() || status == StatusCode::CONFLICT {
                    Err(ConnectorError::Timeout)
                } else {
                    Err(ConnectorError::Unavailable(rejection_message(
                        if code.is_empty() {
                            status.as_str()
                        } else {
                            code
                        },
                    )))
                }
            }
            Exchange::NotSent(e) => Err(ConnectorError::Unavailable(format!(
                "Toss Payments unreachable: {e}"
            ))),
            Exchange::Lost(e) => {
                tracing::warn!(key, error = %e, "Toss inquiry got no answer");
                Err(ConnectorError::Timeout)
            }
        }
    }

    fn known_card(&self, key: &str) -> Option<KnownCard> {
        self.known.lock().ok()?.get(key)
    }

    fn remember(&self, key: &str, card: KnownCard) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(key, card);
        }
    }

    fn forget(&self, key: &str) {
        if let Ok(mut known) = self.known.lock() {
            known.remove(key);
        }
    }

    async fn approve_card(
        &self,
        req: &ApproveRequest<'_>,
        card: &CardInput<'_>,
    ) -> Result<Approval, ConnectorError> {
        let key = req.key;
        check_path_segment(key)?;
        let body = key_in_request(
            key,
            req.order_name,
            req.amount,
            req.installment_months,
            card,
        )
        .map_err(|e| {
            ConnectorError::Unavailable(match e {
                BuildError::Expiry => "Toss Payments: the expiry is not MMYY".into(),
                BuildError::Installments => format!(
                    "Toss Payments: {} installment months cannot be sent (0 or 2..=12)",
                    req.installment_months
                ),
            })
        })?;
        let known = KnownCard::of(card);
        self.remember(key, known.clone());

        // The only place card data is serialized. Sized up front so the buffer is not
        // reallocated (which would leave copies behind), wiped if encoding fails; then shared
        // with reqwest (Bytes is reference counted) and wiped once reqwest has let go of it.
        let mut json = zeroize::Zeroizing::new(Vec::with_capacity(1024));
        serde_json::to_writer(&mut *json, &body)
            .map_err(|e| ConnectorError::Unavailable(format!("Toss Payments: encoding: {e}")))?;
        let shared = bytes::Bytes::from(std::mem::take(&mut *json));
        let rb = self
            .client
            .post(self.url("/v1/payments/key-in"))
            .header("Idempotency-Key", key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(shared.clone());
        let exchange = self.exchange(rb).await;
        wipe(shared);

        match exchange {
            Exchange::Answer(status, body) if status.is_success() => {
                let payment = match serde_json::from_slice::<Payment>(&body) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(key, error = %e, "Toss approval answer unreadable; outcome unknown");
                        return Err(ConnectorError::Timeout);
                    }
                };
                self.approval_from(key, req.amount, &payment, &known)
            }
            Exchange::Answer(status, body) => {
                self.approve_refused(req, &known, status, toss_error(&body))
                    .await
            }
            Exchange::NotSent(e) => {
                self.forget(key);
                Err(ConnectorError::Unavailable(format!(
                    "Toss Payments unreachable: {e}"
                )))
            }
            Exchange::Lost(e) => {
                tracing::warn!(key, error = %e, "Toss approval got no answer; outcome unknown");
                Err(ConnectorError::Timeout)
            }
        }
    }

    /// A 2xx answer to key-in: the Payment must be this order's, approved.
    fn approval_from(
        &self,
        key: &str,
        amount: i64,
        payment: &Payment,
        known: &KnownCard,
    ) -> Result<Approval, ConnectorError> {
        if payment.order_id != key {
            tracing::error!(key, answered = %payment.order_id, "Toss answered another order id; outcome unknown");
            return Err(ConnectorError::Timeout);
        }
        match state_of(payment, Some(known)) {
            Ok(Some(TxnState::Approved(approval))) => {
                if approval.amount != amount {
                    tracing::error!(
                        key,
                        asked = amount,
                        approved = approval.amount,
                        "Toss approved a different amount"
                    );
                }
                // Kept (bounded): a later inquiry or cancel answers the same masked form.
                Ok(approval)
            }
            Ok(Some(_)) => {
                // A replayed answer for an order canceled since: nothing stands.
                self.forget(key);
                Err(ConnectorError::Unavailable(format!(
                    "Toss Payments: order {key} was already canceled"
                )))
            }
            Ok(None) => {
                self.forget(key);
                Err(ConnectorError::Unavailable(format!(
                    "Toss Payments: payment {} ended as {}",
                    key, payment.status
                )))
            }
            Err(PaymentError::Unsettled(status)) => {
                tracing::warn!(key, status, "Toss approval not settled; outcome unknown");
                Err(ConnectorError::Timeout)
            }
            Err(PaymentError::NotCard) => {
                tracing::error!(
                    key,
                    "Toss approval answer without card details; outcome unknown"
                );
                Err(ConnectorError::Timeout)
            }
        }
    }

    async fn approve_refused(
        &self,
        req: &ApproveRequest<'_>,
        known: &KnownCard,
        status: StatusCode,
        err: Option<TossError>,
    ) -> Result<Approval, ConnectorError> {
        let key = req.key;
        if status.is_server_error() {
            tracing::warn!(key, %status, code = err.as_ref().map(|e| e.code.as_str()).unwrap_or(""), "Toss server error on approval; outcome unknown");
            return Err(ConnectorError::Timeout);
        }
        let Some(err) = err else {
            tracing::warn!(key, %status, "Toss refused the approval without an error body");
            self.forget(key);
            return Err(ConnectorError::Unavailable(format!(
                "Toss Payments: HTTP {status} without an error code"
            )));
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.forget(key);
            return Err(ConnectorError::Unavailable(format!(
                "Toss Payments: rate limited ({})",
                err.code
            )));
        }
        match approve_error_kind(&err.code) {
            ApproveErrorKind::Declined(code) => {
                tracing::info!(key, toss_code = %err.code, decline = %code, "Toss declined");
                self.forget(key);
                Err(ConnectorError::Declined {
                    code,
                    masked_card: Some(known.masked.clone()),
                    issuer: None,
                })
            }
            ApproveErrorKind::Rejected => {
                tracing::error!(key, toss_code = %err.code, %status, "Toss rejected the request");
                self.forget(key);
                Err(ConnectorError::Unavailable(rejection_message(&err.code)))
            }
            ApproveErrorKind::Unknown => {
                tracing::warn!(key, toss_code = %err.code, "Toss approval outcome unknown");
                Err(ConnectorError::Timeout)
            }
            ApproveErrorKind::DuplicateOrder => {
                // The order id was used before: if that approval stands (an earlier attempt of
                // ours whose answer was lost), it is this attempt's approval.
                tracing::warn!(key, toss_code = %err.code, "Toss: order id already used; looking it up");
                match self.payment_by_order(key).await? {
                    Some(payment) => match state_of(&payment, Some(known)) {
                        Ok(Some(TxnState::Approved(a))) => Ok(a),
                        Ok(Some(_)) => {
                            self.forget(key);
                            Err(ConnectorError::Unavailable(format!(
                                "Toss Payments: order {key} was already canceled"
                            )))
                        }
                        Ok(None) => {
                            self.forget(key);
                            Err(ConnectorError::Unavailable(format!(
                                "Toss Payments: order {key} was used and ended as {}",
                                payment.status
                            )))
                        }
                        Err(_) => Err(ConnectorError::Timeout),
                    },
                    None => Err(ConnectorError::Timeout),
                }
            }
        }
    }
}

#[async_trait]
impl CardConnector for TossConnector {
    fn name(&self) -> &'static str {
        "toss"
    }

    async fn approve(&self, req: &ApproveRequest<'_>) -> Result<Approval, ConnectorError> {
        match &req.method {
            PaymentMethod::Card(card) => self.approve_card(req, card).await,
            PaymentMethod::Registered { .. } => Err(ConnectorError::Unavailable(
                "Toss Payments auto-pay (billing key) approval is not supported by FieldPay yet"
                    .into(),
            )),
        }
    }

    async fn cancel(&self, req: &CancelRequest<'_>) -> Result<TxnState, ConnectorError> {
        let key = req.key;
        let Some(payment) = self.payment_by_order(key).await? else {
            return Err(ConnectorError::NotFound);
        };
        check_path_segment(&payment.payment_key)?;
        if let Some(amount) = req.amount {
            if amount <= 0 {
                return Err(ConnectorError::Unavailable(format!(
                    "Toss Payments: cancel amount must be positive, got {amount}"
                )));
            }
        }
        let body = CancelBody {
            cancel_reason: req.reason,
            cancel_amount: req.amount,
        };
        let rb = self
            .client
            .post(self.url(&format!("/v1/payments/{}/cancel", payment.payment_key)))
            .header("Idempotency-Key", req.idempotency_key)
            .json(&body);
        let known = self.known_card(key);
        match self.exchange(rb).await {
            Exchange::Answer(status, body) if status.is_success() => {
                let payment = serde_json::from_slice::<Payment>(&body).map_err(|e| {
                    tracing::warn!(key, error = %e, "Toss cancel answer unreadable; outcome unknown");
                    ConnectorError::Timeout
                })?;
                match state_of(&payment, known.as_ref()) {
                    Ok(Some(state)) => Ok(state),
                    Ok(None) => Err(ConnectorError::NotFound),
                    Err(_) => Err(ConnectorError::Timeout),
                }
            }
            Exchange::Answer(status, body) => {
                let err = toss_error(&body);
                let code = err.as_ref().map(|e| e.code.as_str()).unwrap_or("");
                tracing::warn!(key, %status, code, "Toss refused the cancel");
                match code {
                    "ALREADY_CANCELED_PAYMENT" | "ALREADY_REFUND_PAYMENT" => {
                        Err(ConnectorError::AlreadyCanceled)
                    }
                    "NOT_FOUND_PAYMENT" => Err(ConnectorError::NotFound),
                    "IDEMPOTENT_REQUEST_PROCESSING" | "PROVIDER_ERROR" => {
                        Err(ConnectorError::Timeout)
                    }
                    _ if status.is_server_error() => Err(ConnectorError::Timeout),
                    "" => Err(ConnectorError::Unavailable(format!(
                        "Toss Payments: cancel refused with HTTP {status}"
                    ))),
                    code => Err(ConnectorError::Unavailable(rejection_message(code))),
                }
            }
            Exchange::NotSent(e) => Err(ConnectorError::Unavailable(format!(
                "Toss Payments unreachable: {e}"
            ))),
            Exchange::Lost(e) => {
                tracing::warn!(key, error = %e, "Toss cancel got no answer; outcome unknown");
                Err(ConnectorError::Timeout)
            }
        }
    }

    async fn inquire(&self, key: &str) -> Result<Option<TxnState>, ConnectorError> {
        let Some(payment) = self.payment_by_order(key).await? else {
            return Ok(None);
        };
        let known = self.known_card(key);
        match state_of(&payment, known.as_ref()) {
            Ok(state) => Ok(state),
            Err(PaymentError::Unsettled(status)) => {
                tracing::info!(key, status, "Toss payment not settled yet");
                Err(ConnectorError::Timeout)
            }
            Err(PaymentError::NotCard) => Err(ConnectorError::Unavailable(format!(
                "Toss Payments: order {key} is not a card payment"
            ))),
        }
    }

    async fn register(
        &self,
        _merchant_id: &str,
        _card: &CardInput<'_>,
    ) -> Result<RegisteredCardToken, ConnectorError> {
        Err(ConnectorError::Unavailable(
            "Toss Payments auto-pay registration is not supported by FieldPay yet".into(),
        ))
    }
}

/// Order ids and payment keys go into URL paths: only `[A-Za-z0-9_-]` (Toss's own order id
/// alphabet; payment keys are alphanumeric).
fn check_path_segment(s: &str) -> Result<(), ConnectorError> {
    let ok = !s.is_empty()
        && s.len() <= 200
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ConnectorError::Unavailable(format!(
            "Toss Payments: {s:?} cannot be used as an order id or payment key"
        )))
    }
}

fn toss_error(body: &[u8]) -> Option<TossError> {
    serde_json::from_slice::<TossError>(body).ok()
}

/// A reqwest error as text without its URL (the URL holds only ids, but keep messages short).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<toss>");
    }
    text
}

/// Zeroes the request body if nothing else holds it any more.
fn wipe(body: bytes::Bytes) {
    match body.try_into_mut() {
        Ok(mut buf) => buf.as_mut().zeroize(),
        Err(_) => tracing::debug!("key-in request buffer still shared; not wiped"),
    }
}

/// The masked numbers of recent attempts, by attempt key, oldest dropped first.
#[derive(Default)]
struct KnownCards {
    by_key: HashMap<String, KnownCard>,
    order: VecDeque<String>,
}

impl KnownCards {
    fn get(&self, key: &str) -> Option<KnownCard> {
        self.by_key.get(key).cloned()
    }

    fn insert(&mut self, key: &str, card: KnownCard) {
        if self.by_key.insert(key.to_owned(), card).is_none() {
            self.order.push_back(key.to_owned());
        }
        while self.order.len() > KNOWN_CARDS {
            if let Some(old) = self.order.pop_front() {
                self.by_key.remove(&old);
            }
        }
    }

    fn remove(&mut self, key: &str) {
        if self.by_key.remove(key).is_some() {
            self.order.retain(|k| k != key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructor_checks_its_settings() {
        let cfg = |key: &str, url: &str| TossConfig {
            secret_key: Secret::new(key),
            base_url: url.into(),
            timeout: Duration::from_secs(5),
        };
        assert!(TossConnector::new(cfg("test_sk_x", DEFAULT_BASE_URL)).is_ok());
        assert!(matches!(
            TossConnector::new(cfg("", DEFAULT_BASE_URL)),
            Err(ConnectorError::Unavailable(_))
        ));
        assert!(matches!(
            TossConnector::new(cfg("test_sk_x", "ftp://x")),
            Err(ConnectorError::Unavailable(_))
        ));
        let c = TossConnector::new(cfg("test_sk_secretvalue", "https://a.example/")).unwrap();
        assert_eq!(c.url("/v1/x"), "https://a.example/v1/x");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("secretvalue"), "{dbg}");
    }

    #[test]
    fn path_segments_and_known_cards() {
        assert!(check_path_segment("chg_01HZX-2").is_ok());
        for bad in ["", "a/b", "a b", "a?b", "..%2f"] {
            assert!(check_path_segment(bad).is_err(), "{bad}");
        }
        let mut known = KnownCards::default();
        for i in 0..(KNOWN_CARDS + 10) {
            known.insert(
                &format!("k{i}"),
                KnownCard {
                    masked: "540926******2659".into(),
                    last4: "2659".into(),
                },
            );
        }
        assert_eq!(known.by_key.len(), KNOWN_CARDS);
        assert!(known.get("k0").is_none());
        assert!(known.get(&format!("k{}", KNOWN_CARDS + 9)).is_some());
        known.remove("k300");
        assert!(known.get("k300").is_none());
        assert_eq!(known.order.len(), known.by_key.len());
    }
}
