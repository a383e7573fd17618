//! PortOne V2 card connector: keyed-in card approval (수기결제) over one schema for the PGs
//! PortOne fronts (NICE, NHN KCP, KG Inicis, ...).
//!
//! Transport only; the wire types and every mapping are in [`transformers`].
//!
//! - Approve: `POST /payments/{paymentId}/instant` (paymentId = the attempt key; the payment
//!   id is PortOne's idempotency for payments, so no `Idempotency-Key` is sent), then
//!   `GET /payments/{paymentId}` for the approval number, card and installment (the instant
//!   answer carries only `pgTxId` and `paidAt`). `ALREADY_PAID` (a repeat of an approved key)
//!   reads the existing payment and answers its approval: never a second charge.
//! - Inquire: `GET /payments/{paymentId}`; `PAYMENT_NOT_FOUND` or a `FAILED` payment = nothing
//!   charged (`Ok(None)`); `READY` / `PAY_PENDING` = still unknown (`Timeout`).
//! - Cancel: `POST /payments/{paymentId}/cancel` (`reason`, `amount` for a partial cancel)
//!   with an `Idempotency-Key` header derived from the cancel's idempotency key, then the
//!   payment is read for the resulting state.
//! - Auth: `Authorization: PortOne <API secret>`.
//!
//! PortOne recommends a read timeout of at least 60 seconds (PG answers can be slow):
//! [`DEFAULT_TIMEOUT`]. A request it received keeps running even when the client hangs up, so
//! a timed-out approval is `Timeout` (unknown) and resolved by inquiry.

pub mod transformers;

use std::time::Duration;

use fieldpay_protocol::Secret;
use reqwest::StatusCode;

use self::transformers::{
    approval_from_payment, cancel_idempotency_header, decline_code, instant_payment_request,
    invalid_request_decline, payment_outcome, CancelPaymentBody, CancelPaymentResponse, CardSource,
    ErrorBody, PayInstantlyResponse, Payment, PaymentOutcome,
};
use super::{
    Approval, ApproveRequest, CancelRequest, CardConnector, CardInput, ConnectorError,
    PaymentMethod, RegisteredCardToken, TxnState,
};

/// PortOne's production API address.
pub const DEFAULT_BASE_URL: &str = "https://api.portone.io";

/// PortOne's recommended minimum read timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Settings of the PortOne connector. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct PortOneConfig {
    /// The V2 API secret (콘솔 > 연동 관리 > V2 API), sent as `Authorization: PortOne <secret>`.
    pub api_secret: Secret,
    /// The channel key of the merchant's key-in (수기결제) channel.
    pub channel_key: String,
    /// [`DEFAULT_BASE_URL`] in production.
    pub base_url: String,
    /// Per-request timeout (connect + answer).
    pub timeout: Duration,
}

/// The PortOne V2 connector.
pub struct PortOneConnector {
    client: reqwest::Client,
    base: url::Url,
    auth: reqwest::header::HeaderValue,
    channel_key: String,
}

impl std::fmt::Debug for PortOneConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortOneConnector")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// How a request failed before any HTTP answer.
enum SendError {
    /// Never reached PortOne (connect refused, DNS, TLS setup).
    NotSent,
    /// Sent, no (complete) answer: timeout or connection lost.
    NoAnswer,
}

/// An HTTP answer: status and body bytes.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl Answer {
    fn error(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl PortOneConnector {
    pub fn new(cfg: PortOneConfig) -> Result<Self, ConnectorError> {
        if cfg.api_secret.is_empty() {
            return Err(ConnectorError::Unavailable(
                "PortOne api_secret is not set".to_owned(),
            ));
        }
        if cfg.channel_key.trim().is_empty() {
            return Err(ConnectorError::Unavailable(
                "PortOne channel_key is not set".to_owned(),
            ));
        }
        let base = url::Url::parse(cfg.base_url.trim_end_matches('/')).map_err(|_| {
            ConnectorError::Unavailable("PortOne base_url is not a valid URL".to_owned())
        })?;
        if base.cannot_be_a_base() {
            return Err(ConnectorError::Unavailable(
                "PortOne base_url is not a valid base URL".to_owned(),
            ));
        }
        let mut auth =
            reqwest::header::HeaderValue::from_str(&format!("PortOne {}", cfg.api_secret.expose()))
                .map_err(|_| {
                    ConnectorError::Unavailable(
                        "PortOne api_secret has characters not allowed in a header".to_owned(),
                    )
                })?;
        auth.set_sensitive(true);
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| {
                ConnectorError::Unavailable("PortOne HTTP client could not be built".to_owned())
            })?;
        Ok(PortOneConnector {
            client,
            base,
            auth,
            channel_key: cfg.channel_key,
        })
    }

    /// `{base}/payments/{paymentId}[/{tail}]`, the id percent-encoded as one path segment.
    fn payment_url(&self, payment_id: &str, tail: Option<&str>) -> url::Url {
        let mut url = self.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .expect("checked in new: the base URL can be a base");
            segments.pop_if_empty().push("payments").push(payment_id);
            if let Some(tail) = tail {
                segments.push(tail);
            }
        }
        url
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, SendError> {
        let response = request
            .header(reqwest::header::AUTHORIZATION, self.auth.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() && !e.is_timeout() {
                    SendError::NotSent
                } else {
                    SendError::NoAnswer
                }
            })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|_| SendError::NoAnswer)?;
        Ok(Answer {
            status,
            body: body.to_vec(),
        })
    }

    async fn get_payment(&self, payment_id: &str) -> Result<Option<Payment>, ConnectorError> {
        let answer = self
            .send(self.client.get(self.payment_url(payment_id, None)))
            .await
            .map_err(|e| match e {
                SendError::NotSent => unreachable_msg(),
                SendError::NoAnswer => ConnectorError::Timeout,
            })?;
        if answer.status.is_success() {
            let payment = serde_json::from_slice::<Payment>(&answer.body).map_err(|_| {
                ConnectorError::Unavailable("PortOne payment answer not understood".to_owned())
            })?;
            if payment.id != payment_id {
                return Err(ConnectorError::Unavailable(
                    "PortOne answered with another payment".to_owned(),
                ));
            }
            if let Some(failure) = &payment.failure {
                tracing::info!(
                    key = payment_id,
                    pg_code = failure.pg_code.as_deref().unwrap_or(""),
                    "PortOne payment failed at the PG"
                );
            }
            return Ok(Some(payment));
        }
        let error = answer.error();
        let kind = error.as_ref().map(|e| e.kind.as_str()).unwrap_or("");
        match (answer.status, kind) {
            (_, "PAYMENT_NOT_FOUND") => Ok(None),
            (s, _) if s.is_server_error() => Err(ConnectorError::Timeout),
            (_, k) => Err(common_error(answer.status, k)),
        }
    }

    async fn approve_card(
        &self,
        req: &ApproveRequest<'_>,
        card: &CardInput<'_>,
    ) -> Result<Approval, ConnectorError> {
        let declined = |code| ConnectorError::Declined {
            code,
            masked_card: Some(card.number.masked()),
            issuer: None,
        };
        // The only place card data leaves FieldPay. The body borrows the card (no copies);
        // its serialized buffer is moved into reqwest, which frees it after sending (it cannot
        // be zeroized from here).
        let bytes = {
            let body = instant_payment_request(
                &self.channel_key,
                req.order_name,
                req.amount,
                req.installment_months,
                card,
            )
            .map_err(declined)?;
            serde_json::to_vec(&body)
                .map_err(|_| ConnectorError::Unavailable("request not serializable".to_owned()))?
        };
        let request = self
            .client
            .post(self.payment_url(req.key, Some("instant")))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bytes);
        let answer = match self.send(request).await {
            Ok(a) => a,
            Err(SendError::NotSent) => {
                return Err(ConnectorError::Unavailable(
                    "PortOne could not be reached; nothing was sent".to_owned(),
                ))
            }
            Err(SendError::NoAnswer) => return Err(ConnectorError::Timeout),
        };

        if answer.status.is_success() {
            match serde_json::from_slice::<PayInstantlyResponse>(&answer.body) {
                Ok(r) => tracing::info!(
                    key = req.key,
                    pg_tx_id = %r.payment.pg_tx_id,
                    paid_at = %r.payment.paid_at,
                    "PortOne instant payment paid"
                ),
                Err(_) => {
                    tracing::warn!(
                        key = req.key,
                        "PortOne instant payment answer not understood"
                    )
                }
            }
            return self.approval_after_paid(req, card).await;
        }
        let error = answer.error();
        let kind = error.as_ref().map(|e| e.kind.as_str()).unwrap_or("");
        match (answer.status, kind) {
            (_, "PG_PROVIDER") => {
                let e = error.as_ref().expect("kind came from the body");
                let code = decline_code(e.pg_code.as_deref(), e.pg_message.as_deref());
                tracing::info!(
                    key = req.key,
                    pg_code = e.pg_code.as_deref().unwrap_or(""),
                    decline = %code,
                    "PortOne: PG declined the approval"
                );
                Err(declined(code))
            }
            (_, "ALREADY_PAID") => {
                tracing::info!(key = req.key, "PortOne: already paid; reading the approval");
                self.approval_after_paid(req, card).await
            }
            (_, "INVALID_REQUEST") => {
                let message = error.as_ref().and_then(|e| e.message.as_deref());
                match invalid_request_decline(message) {
                    Some(code) => Err(declined(code)),
                    None => Err(ConnectorError::Unavailable(
                        "PortOne rejected the approval request as invalid (INVALID_REQUEST)"
                            .to_owned(),
                    )),
                }
            }
            (_, "MAX_TRANSACTION_COUNT_REACHED") => Err(declined(super::DeclineCode::Other)),
            (s, _) if s.is_server_error() => Err(ConnectorError::Timeout),
            (s, k) => Err(common_error(s, k)),
        }
    }

    /// After PortOne said paid (or already paid): read the payment for the approval. If it
    /// cannot be read, the outcome is reported unknown (`Timeout`) so that the caller resolves
    /// it by inquiry (and, failing that, a network cancel).
    async fn approval_after_paid(
        &self,
        req: &ApproveRequest<'_>,
        card: &CardInput<'_>,
    ) -> Result<Approval, ConnectorError> {
        for attempt in 0..2 {
            match self.get_payment(req.key).await {
                Ok(Some(payment)) => {
                    return match payment.status.as_str() {
                        "PAID" => approval_from_payment(&payment, CardSource::Ours(card.number)),
                        other => {
                            tracing::warn!(
                                key = req.key,
                                status = other,
                                "PortOne payment not PAID right after approval"
                            );
                            Err(ConnectorError::Timeout)
                        }
                    };
                }
                Ok(None) | Err(_) if attempt == 0 => continue,
                _ => break,
            }
        }
        tracing::warn!(
            key = req.key,
            "PortOne approved but the payment could not be read; outcome left to inquiry"
        );
        Err(ConnectorError::Timeout)
    }
}

fn unreachable_msg() -> ConnectorError {
    ConnectorError::Unavailable("PortOne could not be reached".to_owned())
}

/// Errors every operation answers alike: credentials, permissions, channel, anything else.
fn common_error(status: StatusCode, kind: &str) -> ConnectorError {
    let msg = match kind {
        "UNAUTHORIZED" => {
            "PortOne refused the API secret (UNAUTHORIZED); check card.api_secret".to_owned()
        }
        "FORBIDDEN" => {
            "PortOne refused the request (FORBIDDEN); check the store's permissions".to_owned()
        }
        "CHANNEL_NOT_FOUND" => {
            "PortOne does not know the channel key (CHANNEL_NOT_FOUND); check card.channel_key"
                .to_owned()
        }
        "" => format!("PortOne answered HTTP {}", status.as_u16()),
        other => format!("PortOne refused the request ({other})"),
    };
    ConnectorError::Unavailable(msg)
}

#[async_trait::async_trait]
impl CardConnector for PortOneConnector {
    fn name(&self) -> &'static str {
        "portone"
    }

    async fn approve(&self, req: &ApproveRequest<'_>) -> Result<Approval, ConnectorError> {
        match &req.method {
            PaymentMethod::Card(card) => self.approve_card(req, card).await,
            PaymentMethod::Registered { .. } => Err(ConnectorError::Unavailable(
                "portone auto-pay (billing key) payments are not supported by FieldPay yet"
                    .to_owned(),
            )),
        }
    }

    async fn cancel(&self, req: &CancelRequest<'_>) -> Result<TxnState, ConnectorError> {
        let body = CancelPaymentBody {
            reason: req.reason,
            amount: req.amount,
        };
        let request = self
            .client
            .post(self.payment_url(req.key, Some("cancel")))
            .header(
                "Idempotency-Key",
                cancel_idempotency_header(req.idempotency_key),
            )
            .json(&body);
        let answer = match self.send(request).await {
            Ok(a) => a,
            Err(SendError::NotSent) => return Err(unreachable_msg()),
            Err(SendError::NoAnswer) => return Err(ConnectorError::Timeout),
        };
        if answer.status.is_success() {
            match serde_json::from_slice::<CancelPaymentResponse>(&answer.body) {
                Ok(r) if r.cancellation.status == "FAILED" => {
                    return Err(ConnectorError::Unavailable(
                        "PortOne: the PG did not cancel (cancellation FAILED)".to_owned(),
                    ))
                }
                Ok(r) => tracing::info!(
                    key = req.key,
                    status = %r.cancellation.status,
                    amount = r.cancellation.total_amount.unwrap_or(0),
                    "PortOne cancel accepted"
                ),
                Err(_) => tracing::warn!(key = req.key, "PortOne cancel answer not understood"),
            }
            // The resulting state, as PortOne records it. If it cannot be read, the cancel is
            // reported unknown; retrying it is safe (same Idempotency-Key).
            let payment = self
                .get_payment(req.key)
                .await?
                .ok_or(ConnectorError::Timeout)?;
            return match payment_outcome(&payment, CardSource::PortOne)? {
                PaymentOutcome::State(state) => Ok(state),
                PaymentOutcome::NotCharged | PaymentOutcome::Pending => {
                    Err(ConnectorError::NotFound)
                }
            };
        }
        let error = answer.error();
        let kind = error.as_ref().map(|e| e.kind.as_str()).unwrap_or("");
        match (answer.status, kind) {
            (_, "PAYMENT_NOT_FOUND") => Err(ConnectorError::NotFound),
            (_, "PAYMENT_ALREADY_CANCELLED") => Err(ConnectorError::AlreadyCanceled),
            // Exists but was never paid (failed / not yet paid): nothing to cancel, nothing
            // charged.
            (_, "PAYMENT_NOT_PAID") => Err(ConnectorError::NotFound),
            (_, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT") => Err(ConnectorError::Unavailable(
                "PortOne: the cancel amount exceeds what remains to cancel".to_owned(),
            )),
            (_, "PG_PROVIDER") => Err(ConnectorError::Unavailable(format!(
                "PortOne: the PG refused the cancel (pgCode {})",
                error
                    .as_ref()
                    .and_then(|e| e.pg_code.as_deref())
                    .unwrap_or("-")
            ))),
            (_, "IDEMPOTENCY_OUTSTANDING_REQUEST") => Err(ConnectorError::Timeout),
            (s, _) if s.is_server_error() => Err(ConnectorError::Timeout),
            (s, k) => Err(common_error(s, k)),
        }
    }

    async fn inquire(&self, key: &str) -> Result<Option<TxnState>, ConnectorError> {
        let Some(payment) = self.get_payment(key).await? else {
            return Ok(None);
        };
        match payment_outcome(&payment, CardSource::PortOne)? {
            PaymentOutcome::State(state) => Ok(Some(state)),
            PaymentOutcome::NotCharged => Ok(None),
            PaymentOutcome::Pending => Err(ConnectorError::Timeout),
        }
    }

    async fn register(
        &self,
        _merchant_id: &str,
        _card: &CardInput<'_>,
    ) -> Result<RegisteredCardToken, ConnectorError> {
        Err(ConnectorError::Unavailable(
            "portone auto-pay registration is not supported by FieldPay yet".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(base: &str) -> PortOneConnector {
        PortOneConnector::new(PortOneConfig {
            api_secret: Secret::new("secret-1"),
            channel_key: "channel-key-1".into(),
            base_url: base.into(),
            timeout: Duration::from_secs(1),
        })
        .unwrap()
    }

    #[test]
    fn urls_encode_the_payment_id() {
        let c = connector("https://api.portone.io");
        assert_eq!(
            c.payment_url("chg_1-2", Some("instant")).as_str(),
            "https://api.portone.io/payments/chg_1-2/instant"
        );
        assert_eq!(
            c.payment_url("a/b c", None).as_str(),
            "https://api.portone.io/payments/a%2Fb%20c"
        );
        let c = connector("http://127.0.0.1:9/prefix/");
        assert_eq!(
            c.payment_url("k", Some("cancel")).as_str(),
            "http://127.0.0.1:9/prefix/payments/k/cancel"
        );
    }

    #[test]
    fn config_is_checked_and_debug_has_no_secret() {
        let cfg = PortOneConfig {
            api_secret: Secret::new("very-secret"),
            channel_key: "ck".into(),
            base_url: DEFAULT_BASE_URL.into(),
            timeout: DEFAULT_TIMEOUT,
        };
        assert!(!format!("{cfg:?}").contains("very-secret"));
        let c = PortOneConnector::new(cfg.clone()).unwrap();
        assert!(!format!("{c:?}").contains("very-secret"));
        assert!(PortOneConnector::new(PortOneConfig {
            api_secret: Secret::new(""),
            ..cfg.clone()
        })
        .is_err());
        assert!(PortOneConnector::new(PortOneConfig {
            base_url: "not a url".into(),
            ..cfg
        })
        .is_err());
    }
}
