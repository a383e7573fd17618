//! PortOne V2 wire types and the pure mapping between them and FieldPay's card boundary.
//!
//! Everything here was checked against PortOne's published V2 OpenAPI document
//! (`developers.portone.io`, `src/schema/v2.openapi.json`, operations `payInstantly`,
//! `getPayment`, `cancelPayment`) unless a comment says otherwise:
//!
//! - `InstantPaymentInput`: `channelKey`, `orderName`, `amount` (`PaymentAmountInput`:
//!   `total`), `currency` (`Currency`, `"KRW"`), `method` (`InstantPaymentMethodInput`: exactly
//!   one of `card` / `virtualAccount`). `InstantPaymentMethodInputCard`: `credential`
//!   (required), `installmentMonth` (int32). `CardCredential`: `number` (digits only),
//!   `expiryYear` (2 digits), `expiryMonth` (2 digits), `birthOrBusinessRegistrationNumber`
//!   (`yyMMdd` or 10 digits), `passwordTwoDigits`.
//! - `PayInstantlyResponse`: `payment` (`InstantPaymentSummary`: `pgTxId`, `paidAt`). It does
//!   not carry the approval number or the card, so the connector reads the payment afterwards.
//! - `Payment` (`GET /payments/{paymentId}`), discriminated by `status`: `READY`,
//!   `PAY_PENDING`, `VIRTUAL_ACCOUNT_ISSUED`, `PAID`, `PARTIAL_CANCELLED`, `CANCELLED`,
//!   `FAILED`; `amount` (`PaymentAmount`: `total`, `paid`, `cancelled`, ...), `paidAt`,
//!   `cancelledAt`, `pgTxId`, `method` (`PaymentMethodCard`: `type: "PaymentMethodCard"`,
//!   `card` {`issuer`, `publisher`, `bin`, `number` (masked)}, `approvalNumber`, `installment`
//!   {`month`}), `failure` {`pgCode`, `pgMessage`}.
//! - `CancelPaymentBody`: `reason` (required), `amount` (none = the whole remainder),
//!   `currentCancellableAmount`; `CancelPaymentResponse`: `cancellation` (`status`
//!   `SUCCEEDED` / `REQUESTED` / `FAILED`, `totalAmount`, `cancelledAt`, ...).
//! - Errors: `{type, message}`; `PgProviderError` (HTTP 502) adds `pgCode` and `pgMessage`.
//!
//! Not pinned down by the REST schema: the value set of `card.issuer` / `card.publisher`
//! (typed only as "발급사 코드" / "발행사 코드" strings). We map PortOne's published
//! `CardCompany` enum names (`SHINHAN_CARD`, `KOOKMIN_CARD`, ...; the V2 GraphQL schema and
//! the reconciliation API's `issuer`/`acquirer`), also with the `CARD_COMPANY_` prefix its
//! browser SDK uses, see [`card_company`].

use std::fmt;

use chrono::{DateTime, Utc};
use fieldpay_protocol::CardNumber;
use serde::{Deserialize, Serialize};

use crate::card::{Approval, CardCompany, CardInput, ConnectorError, DeclineCode, TxnState};

const REDACTED: &str = "[REDACTED]";

// ---------------------------------------------------------------------------------------------
// Approval request
// ---------------------------------------------------------------------------------------------

/// The body of `POST /payments/{paymentId}/instant`. Borrows the card data (no copies); its
/// `Debug` prints nothing of the card.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstantPaymentRequest<'a> {
    pub channel_key: &'a str,
    pub order_name: &'a str,
    pub amount: PaymentAmountInput,
    pub currency: &'static str,
    pub method: InstantPaymentMethodInput<'a>,
}

#[derive(Debug, Serialize)]
pub struct PaymentAmountInput {
    pub total: i64,
}

#[derive(Serialize)]
pub struct InstantPaymentMethodInput<'a> {
    pub card: InstantPaymentMethodInputCard<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstantPaymentMethodInputCard<'a> {
    pub credential: CardCredential<'a>,
    /// Omitted for a lump sum (일시불).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installment_month: Option<u8>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CardCredential<'a> {
    pub number: &'a str,
    pub expiry_year: &'a str,
    pub expiry_month: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_or_business_registration_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_two_digits: Option<&'a str>,
}

impl fmt::Debug for InstantPaymentRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstantPaymentRequest")
            .field("channel_key", &self.channel_key)
            .field("order_name", &self.order_name)
            .field("amount", &self.amount)
            .field("currency", &self.currency)
            .field("method", &self.method)
            .finish()
    }
}

impl fmt::Debug for InstantPaymentMethodInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstantPaymentMethodInput")
            .field("card", &format_args!("{REDACTED}"))
            .finish()
    }
}

/// Builds the instant-payment body from our request. Checks what PortOne's schema requires of
/// the card fields (digits, 2-digit expiry parts) so that a malformed expiry is answered as a
/// decline without sending anything. Installments: 0 = lump sum (field omitted).
pub fn instant_payment_request<'a>(
    channel_key: &'a str,
    order_name: &'a str,
    amount: i64,
    installment_months: u8,
    card: &CardInput<'a>,
) -> Result<InstantPaymentRequest<'a>, DeclineCode> {
    let expiry = card.expiry_mmyy;
    if expiry.len() != 4 || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DeclineCode::Expired);
    }
    let (expiry_month, expiry_year) = expiry.split_at(2);
    if !matches!(
        expiry_month,
        "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
    ) {
        return Err(DeclineCode::Expired);
    }
    if let Some(b) = card.birth_or_business {
        if !(b.len() == 6 || b.len() == 10) || !b.bytes().all(|c| c.is_ascii_digit()) {
            return Err(DeclineCode::InvalidCard);
        }
    }
    if let Some(p) = card.password2 {
        if p.len() != 2 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return Err(DeclineCode::WrongPassword);
        }
    }
    Ok(InstantPaymentRequest {
        channel_key,
        order_name,
        amount: PaymentAmountInput { total: amount },
        currency: "KRW",
        method: InstantPaymentMethodInput {
            card: InstantPaymentMethodInputCard {
                credential: CardCredential {
                    number: card.number.expose_digits(),
                    expiry_year,
                    expiry_month,
                    birth_or_business_registration_number: card.birth_or_business,
                    password_two_digits: card.password2,
                },
                installment_month: (installment_months > 0).then_some(installment_months),
            },
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Cancel request
// ---------------------------------------------------------------------------------------------

/// The body of `POST /payments/{paymentId}/cancel`.
///
/// `currentCancellableAmount` is documented but deliberately not sent: a cancel is retried
/// with the same `Idempotency-Key`, and PortOne answers a retry with the stored answer only
/// when the request is the same; the remaining balance read before a retry can already
/// reflect the first (successful) attempt, which would change the body.
#[derive(Debug, Serialize)]
pub struct CancelPaymentBody<'a> {
    pub reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
}

/// `Idempotency-Key` header value for a cancel: an RFC 8941 string (double-quoted), 16 to 256
/// ASCII characters (PortOne "멱등 키"). Our cancel keys can be shorter, so a fixed prefix
/// keeps every key long enough and stable across retries.
pub fn cancel_idempotency_header(idempotency_key: &str) -> String {
    format!("\"fieldpay-cancel-{idempotency_key}\"")
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// `PayInstantlyResponse`.
#[derive(Debug, Deserialize)]
pub struct PayInstantlyResponse {
    pub payment: InstantPaymentSummary,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstantPaymentSummary {
    pub pg_tx_id: String,
    pub paid_at: DateTime<Utc>,
}

/// `Payment`, read leniently (PortOne adds fields over time; its docs promise backward
/// compatibility, not a closed set), keeping only what FieldPay uses.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub status: String,
    pub id: String,
    #[serde(default)]
    pub method: Option<PaymentMethod>,
    pub amount: PaymentAmount,
    #[serde(default)]
    pub paid_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub pg_tx_id: Option<String>,
    #[serde(default)]
    pub failure: Option<PaymentFailure>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAmount {
    pub total: i64,
    #[serde(default)]
    pub cancelled: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethod {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub card: Option<Card>,
    #[serde(default)]
    pub approval_number: Option<String>,
    #[serde(default)]
    pub installment: Option<PaymentInstallment>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Card {
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub publisher: Option<String>,
    #[serde(default)]
    pub bin: Option<String>,
    /// Masked by PortOne (the masking pattern depends on the PG).
    #[serde(default)]
    pub number: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PaymentInstallment {
    pub month: i32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFailure {
    #[serde(default)]
    pub pg_code: Option<String>,
}

/// `CancelPaymentResponse`.
#[derive(Debug, Deserialize)]
pub struct CancelPaymentResponse {
    pub cancellation: PaymentCancellation,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCancellation {
    pub status: String,
    #[serde(default)]
    pub total_amount: Option<i64>,
}

/// Every error body: `{type, message}`, plus `pgCode` / `pgMessage` on `PG_PROVIDER`.
/// `Debug` leaves the free-text messages out: a PG's message is not ours to vouch for.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub pg_code: Option<String>,
    #[serde(default)]
    pub pg_message: Option<String>,
}

impl fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorBody")
            .field("kind", &self.kind)
            .field("pg_code", &self.pg_code)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------

/// PortOne's card company names (`CardCompany` enum of the V2 schema: `SHINHAN_CARD`, ...;
/// also accepted with the `CARD_COMPANY_` prefix of the browser SDK's `CardCompany`) to ours.
/// Companies outside the nine (`CITI_CARD`, `KAKAO_BANK`, `SUHYUP_CARD`, ...) give `None`.
pub fn card_company(code: &str) -> Option<CardCompany> {
    let code = code.trim();
    let code = code.strip_prefix("CARD_COMPANY_").unwrap_or(code);
    Some(match code {
        "BC_CARD" => CardCompany::Bc,
        "KOOKMIN_CARD" => CardCompany::Kb,
        "SAMSUNG_CARD" => CardCompany::Samsung,
        "SHINHAN_CARD" => CardCompany::Shinhan,
        "HYUNDAI_CARD" => CardCompany::Hyundai,
        "LOTTE_CARD" => CardCompany::Lotte,
        "HANA_CARD" => CardCompany::Hana,
        "WOORI_CARD" => CardCompany::Woori,
        "NH_CARD" => CardCompany::Nh,
        _ => return None,
    })
}

/// The issuer of an approved payment: `card.issuer`, else `card.publisher`, else the BIN
/// (ours when we hold the card, else PortOne's `card.bin`). [`Approval::issuer`] has no
/// "other" value, so a card of a company outside the nine is reported as BC (most Korean
/// bank-issued cards are processed on the BC network) and logged.
pub fn issuer_of(card: Option<&Card>, bin: Option<&str>) -> CardCompany {
    let from_names = card.and_then(|c| {
        c.issuer
            .as_deref()
            .and_then(card_company)
            .or_else(|| c.publisher.as_deref().and_then(card_company))
    });
    if let Some(company) = from_names {
        return company;
    }
    let bin = bin.or_else(|| card.and_then(|c| c.bin.as_deref()));
    if let Some(company) = bin.and_then(CardCompany::from_bin) {
        return company;
    }
    tracing::warn!(
        issuer = card.and_then(|c| c.issuer.as_deref()).unwrap_or(""),
        publisher = card.and_then(|c| c.publisher.as_deref()).unwrap_or(""),
        "PortOne card issuer is not one of the nine card companies; recorded as BC"
    );
    CardCompany::Bc
}

/// The masked number and last 4 of a payment as PortOne reports it (inquiry paths, where we
/// do not hold the card). PortOne's `card.number` is masked by the PG; we rebuild our form
/// (first 6 + `******` + last 4) from the BIN and the visible last four digits where they are
/// digits, and use `****` for what PortOne hid.
pub fn masked_from_portone(card: Option<&Card>) -> (String, String) {
    let number = card.and_then(|c| c.number.as_deref()).unwrap_or("");
    let digits_only: String = number.chars().filter(|c| *c != '-' && *c != ' ').collect();
    let last4 = digits_only
        .get(digits_only.len().saturating_sub(4)..)
        .filter(|s| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("")
        .to_owned();
    let first6 = card
        .and_then(|c| c.bin.as_deref())
        .and_then(|b| b.get(..6))
        .or_else(|| digits_only.get(..6))
        .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("******");
    let shown_last4 = if last4.is_empty() { "****" } else { &last4 };
    (format!("{first6}******{shown_last4}"), last4)
}

/// Who holds the card data for building an [`Approval`].
#[derive(Clone, Copy)]
pub enum CardSource<'a> {
    /// The approval path: we hold the keyed-in card (masked number and BIN from it).
    Ours(&'a CardNumber),
    /// Inquiry paths: only what PortOne reports.
    PortOne,
}

/// The approval recorded in a paid (or partially / wholly cancelled) payment.
///
/// The approval number is `method.approvalNumber`; PGs that do not report one leave only the
/// PG transaction id (`pgTxId`), which is used instead. PortOne's payment has no acquirer
/// (매입사): `acquirer_code` is empty.
pub fn approval_from_payment(
    payment: &Payment,
    source: CardSource<'_>,
) -> Result<Approval, ConnectorError> {
    let method = payment.method.as_ref();
    if let Some(m) = method {
        if m.kind != "PaymentMethodCard" {
            return Err(ConnectorError::Unavailable(format!(
                "PortOne payment is not a card payment ({})",
                m.kind
            )));
        }
    }
    let card = method.and_then(|m| m.card.as_ref());
    let (masked_card, card_last4, issuer) = match source {
        CardSource::Ours(number) => (
            number.masked(),
            number.last4().to_owned(),
            issuer_of(card, Some(number.bin())),
        ),
        CardSource::PortOne => {
            let (masked, last4) = masked_from_portone(card);
            (masked, last4, issuer_of(card, None))
        }
    };
    let approval_number = method
        .and_then(|m| m.approval_number.clone())
        .filter(|a| !a.is_empty())
        .or_else(|| payment.pg_tx_id.clone())
        .unwrap_or_default();
    let installment_months = method
        .and_then(|m| m.installment.as_ref())
        .map(|i| u8::try_from(i.month).unwrap_or(0))
        .filter(|m| *m > 1)
        .unwrap_or(0);
    let approved_at = payment.paid_at.ok_or_else(|| {
        ConnectorError::Unavailable("PortOne paid payment without paidAt".to_owned())
    })?;
    Ok(Approval {
        approval_number,
        issuer,
        acquirer_code: String::new(),
        masked_card,
        card_last4,
        installment_months,
        amount: payment.amount.total,
        approved_at,
    })
}

/// What a payment's status says for FieldPay.
#[derive(Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// Approved, possibly (partly) cancelled since.
    State(TxnState),
    /// Nothing was charged under this id (`FAILED`).
    NotCharged,
    /// Not settled yet (`READY`, `PAY_PENDING`): the outcome is still unknown.
    Pending,
}

/// Maps a `Payment` to our view of it.
pub fn payment_outcome(
    payment: &Payment,
    source: CardSource<'_>,
) -> Result<PaymentOutcome, ConnectorError> {
    match payment.status.as_str() {
        "PAID" => Ok(PaymentOutcome::State(TxnState::Approved(
            approval_from_payment(payment, source)?,
        ))),
        "PARTIAL_CANCELLED" => {
            let approval = approval_from_payment(payment, source)?;
            let canceled_at = payment.cancelled_at.unwrap_or(approval.approved_at);
            Ok(PaymentOutcome::State(TxnState::PartiallyCanceled {
                canceled_amount: payment.amount.cancelled,
                canceled_at,
                approval,
            }))
        }
        "CANCELLED" => {
            let approval = approval_from_payment(payment, source)?;
            let canceled_at = payment.cancelled_at.unwrap_or(approval.approved_at);
            Ok(PaymentOutcome::State(TxnState::Canceled {
                approval,
                canceled_at,
            }))
        }
        "FAILED" => Ok(PaymentOutcome::NotCharged),
        "READY" | "PAY_PENDING" => Ok(PaymentOutcome::Pending),
        other => Err(ConnectorError::Unavailable(format!(
            "PortOne payment in unexpected status {other}"
        ))),
    }
}

/// A PG's decline code (`pgCode` of a `PG_PROVIDER` error) to our reason.
///
/// PG codes are the PG's own, passed through verbatim by PortOne, so they differ per PG. The
/// table holds what PortOne's published PG error-code books (developers.portone.io, "PG사
/// 오류코드": `nhnkcp-code.xlsx`, `inicis-code.xlsx`, credit-card sheet) confirm for NHN KCP
/// (`CCxx`, 4-digit `8xxx`) and KG Inicis (card company answers `12xx` / `1200xx`, PG answers
/// `50060x`): those code formats do not overlap. Other PGs (NICE, ...) publish no book there;
/// for them, and for codes not in the table, the reason is read from the PG message by the
/// same Korean wording the books use (잔액부족, 한도초과, 분실/도난, 비밀번호, 유효기간, 할부,
/// 카드번호), else [`DeclineCode::Other`]. The message itself is never logged or kept.
pub fn decline_code(pg_code: Option<&str>, pg_message: Option<&str>) -> DeclineCode {
    if let Some(code) = pg_code.map(str::trim).and_then(decline_by_code) {
        return code;
    }
    pg_message.map_or(DeclineCode::Other, decline_by_message)
}

fn decline_by_code(code: &str) -> Option<DeclineCode> {
    use DeclineCode::*;
    Some(match code {
        // NHN KCP
        "CC10" => InsufficientFunds,
        "CC04" | "CC43" => LostOrStolen,
        "CC63" => WrongPassword,
        "CC07" | "CC08" | "CC61" | "CC62" | "8186" | "8188" => OverLimit,
        "CC14" | "8108" => InvalidCard,
        "CC54" | "CC55" | "8109" | "8484" => Expired,
        "CC16" | "CC34" | "CC47" => InvalidInstallments,
        // KG Inicis: card company answers (4- and 6-digit forms) and PG answers.
        "1254" | "120054" => InsufficientFunds,
        "1226" | "120026" => LostOrStolen,
        "1219" | "120019" | "1221" | "120021" | "500617" => WrongPassword,
        "1229" | "120029" | "120049" => OverLimit,
        "1214" | "120014" | "500601" => InvalidCard,
        "1204" | "120004" | "1223" | "120023" | "500638" => Expired,
        "1205" | "120005" | "1211" | "120011" | "12F4" | "1200F4" | "500607" | "500600" => {
            InvalidInstallments
        }
        _ => return None,
    })
}

fn decline_by_message(message: &str) -> DeclineCode {
    let m: String = message.chars().filter(|c| !c.is_whitespace()).collect();
    if m.contains("잔액부족") {
        DeclineCode::InsufficientFunds
    } else if m.contains("분실") || m.contains("도난") {
        DeclineCode::LostOrStolen
    } else if m.contains("비밀번호") {
        DeclineCode::WrongPassword
    } else if m.contains("한도초과") {
        DeclineCode::OverLimit
    } else if m.contains("유효기간") {
        DeclineCode::Expired
    } else if m.contains("할부") {
        DeclineCode::InvalidInstallments
    } else if m.contains("카드번호") {
        DeclineCode::InvalidCard
    } else {
        DeclineCode::Other
    }
}

/// An `INVALID_REQUEST` answer to an approval: PortOne does not say which field was wrong in
/// a structured way; its message is read for the field (never logged). `None`: not about the
/// card (a request FieldPay should not have sent).
pub fn invalid_request_decline(message: Option<&str>) -> Option<DeclineCode> {
    let m = message?.to_ascii_lowercase();
    if m.contains("expiry") || message?.contains("유효기간") {
        Some(DeclineCode::Expired)
    } else if m.contains("installment") || message?.contains("할부") {
        Some(DeclineCode::InvalidInstallments)
    } else if m.contains("password") || message?.contains("비밀번호") {
        Some(DeclineCode::WrongPassword)
    } else if m.contains("birth")
        || m.contains("business")
        || m.contains("number")
        || m.contains("credential")
        || message?.contains("카드번호")
    {
        Some(DeclineCode::InvalidCard)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "5409263141592659";

    fn payment(json: serde_json::Value) -> Payment {
        serde_json::from_value(json).unwrap()
    }

    fn paid_json(status: &str) -> serde_json::Value {
        serde_json::json!({
            "status": status,
            "id": "chg_abc123",
            "transactionId": "tx-1",
            "merchantId": "merchant-1",
            "storeId": "store-1",
            "version": "V2",
            "orderName": "감기약 외 2건",
            "amount": {"total": 12000, "taxFree": 0, "discount": 0, "paid": 12000,
                       "cancelled": 3000, "cancelledTaxFree": 0},
            "currency": "KRW",
            "paidAt": "2026-12-03T01:02:03Z",
            "cancelledAt": "2026-12-03T02:00:00Z",
            "pgTxId": "pg-777",
            "method": {
                "type": "PaymentMethodCard",
                "card": {"issuer": "KOOKMIN_CARD", "publisher": "KOOKMIN_CARD",
                         "bin": "540926", "number": "540926******2659"},
                "approvalNumber": "30001234",
                "installment": {"month": 3, "isInterestFree": false}
            },
            "someFutureField": {"x": 1}
        })
    }

    #[test]
    fn request_body_has_the_documented_shape_and_redacted_debug() {
        let number = CardNumber::parse(CANARY).unwrap();
        let card = CardInput {
            number: &number,
            expiry_mmyy: "0839",
            birth_or_business: Some("880714"),
            password2: Some("47"),
        };
        let body = instant_payment_request("channel-key-1", "감기약", 60_000, 3, &card).unwrap();
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "channelKey": "channel-key-1",
                "orderName": "감기약",
                "amount": {"total": 60000},
                "currency": "KRW",
                "method": {"card": {
                    "credential": {
                        "number": CANARY,
                        "expiryYear": "39",
                        "expiryMonth": "08",
                        "birthOrBusinessRegistrationNumber": "880714",
                        "passwordTwoDigits": "47"
                    },
                    "installmentMonth": 3
                }}
            })
        );
        let dbg = format!("{body:?} {body:#?}");
        for secret in [CANARY, "0839", "880714", "\"47\"", "39"] {
            assert!(!dbg.contains(secret), "{secret} leaked in {dbg}");
        }

        let lump = CardInput {
            birth_or_business: None,
            password2: None,
            ..card
        };
        let json = serde_json::to_value(instant_payment_request("k", "o", 1000, 0, &lump).unwrap())
            .unwrap();
        assert_eq!(
            json["method"]["card"],
            serde_json::json!({"credential": {"number": CANARY, "expiryYear": "39", "expiryMonth": "08"}})
        );
    }

    #[test]
    fn malformed_card_fields_are_declined_before_sending() {
        let number = CardNumber::parse(CANARY).unwrap();
        let card = |expiry, birth, pw| CardInput {
            number: &number,
            expiry_mmyy: expiry,
            birth_or_business: birth,
            password2: pw,
        };
        let e = |c: CardInput<'_>| instant_payment_request("k", "o", 1000, 0, &c).unwrap_err();
        assert_eq!(e(card("1339", None, None)), DeclineCode::Expired);
        assert_eq!(e(card("08/39", None, None)), DeclineCode::Expired);
        assert_eq!(
            e(card("0839", Some("12345"), None)),
            DeclineCode::InvalidCard
        );
        assert_eq!(e(card("0839", None, Some("4"))), DeclineCode::WrongPassword);
    }

    #[test]
    fn idempotency_headers_are_quoted_and_long_enough() {
        let h = cancel_idempotency_header("ab-r1");
        assert!(h.starts_with('"') && h.ends_with('"'));
        assert!(h.len() - 2 >= 16 && h.is_ascii());
    }

    #[test]
    fn paid_payment_maps_to_approval() {
        let p = payment(paid_json("PAID"));
        let number = CardNumber::parse(CANARY).unwrap();
        let PaymentOutcome::State(TxnState::Approved(a)) =
            payment_outcome(&p, CardSource::Ours(&number)).unwrap()
        else {
            panic!()
        };
        assert_eq!(a.approval_number, "30001234");
        assert_eq!(a.issuer, CardCompany::Kb);
        assert_eq!(a.masked_card, "540926******2659");
        assert_eq!(a.card_last4, "2659");
        assert_eq!(a.installment_months, 3);
        assert_eq!(a.amount, 12000);
        assert_eq!(a.approved_at.to_rfc3339(), "2026-12-03T01:02:03+00:00");

        let PaymentOutcome::State(TxnState::Approved(b)) =
            payment_outcome(&p, CardSource::PortOne).unwrap()
        else {
            panic!()
        };
        assert_eq!(b.masked_card, "540926******2659");
        assert_eq!(b.card_last4, "2659");
    }

    #[test]
    fn statuses_map_to_states() {
        let partial = payment_outcome(
            &payment(paid_json("PARTIAL_CANCELLED")),
            CardSource::PortOne,
        )
        .unwrap();
        let PaymentOutcome::State(TxnState::PartiallyCanceled {
            canceled_amount, ..
        }) = partial
        else {
            panic!("{partial:?}")
        };
        assert_eq!(canceled_amount, 3000);
        let whole = payment_outcome(&payment(paid_json("CANCELLED")), CardSource::PortOne).unwrap();
        assert!(matches!(
            whole,
            PaymentOutcome::State(TxnState::Canceled { .. })
        ));
        let mut failed = paid_json("FAILED");
        failed["failure"] =
            serde_json::json!({"reason": "x", "pgCode": "CC10", "pgMessage": "통장 잔액부족"});
        assert_eq!(
            payment_outcome(&payment(failed), CardSource::PortOne).unwrap(),
            PaymentOutcome::NotCharged
        );
        for s in ["READY", "PAY_PENDING"] {
            assert_eq!(
                payment_outcome(&payment(paid_json(s)), CardSource::PortOne).unwrap(),
                PaymentOutcome::Pending
            );
        }
        assert!(payment_outcome(
            &payment(paid_json("VIRTUAL_ACCOUNT_ISSUED")),
            CardSource::PortOne
        )
        .is_err());
    }

    #[test]
    fn card_companies() {
        let pairs = [
            ("BC_CARD", CardCompany::Bc),
            ("KOOKMIN_CARD", CardCompany::Kb),
            ("SAMSUNG_CARD", CardCompany::Samsung),
            ("SHINHAN_CARD", CardCompany::Shinhan),
            ("HYUNDAI_CARD", CardCompany::Hyundai),
            ("LOTTE_CARD", CardCompany::Lotte),
            ("HANA_CARD", CardCompany::Hana),
            ("WOORI_CARD", CardCompany::Woori),
            ("NH_CARD", CardCompany::Nh),
        ];
        for (code, company) in pairs {
            assert_eq!(card_company(code), Some(company));
            assert_eq!(card_company(&format!("CARD_COMPANY_{code}")), Some(company));
        }
        assert_eq!(card_company("CITI_CARD"), None);
        assert_eq!(card_company("KAKAO_BANK"), None);
        // Unknown issuer, known publisher.
        let card = Card {
            issuer: Some("KAKAO_BANK".into()),
            publisher: Some("SHINHAN_CARD".into()),
            ..Card::default()
        };
        assert_eq!(issuer_of(Some(&card), None), CardCompany::Shinhan);
        assert_eq!(issuer_of(None, None), CardCompany::Bc);
    }

    #[test]
    fn decline_codes() {
        use DeclineCode::*;
        let cases = [
            ("CC10", InsufficientFunds),
            ("CC04", LostOrStolen),
            ("CC43", LostOrStolen),
            ("CC63", WrongPassword),
            ("CC61", OverLimit),
            ("CC14", InvalidCard),
            ("CC54", Expired),
            ("CC47", InvalidInstallments),
            ("1254", InsufficientFunds),
            ("120026", LostOrStolen),
            ("1219", WrongPassword),
            ("120049", OverLimit),
            ("1214", InvalidCard),
            ("1204", Expired),
            ("500607", InvalidInstallments),
        ];
        for (code, want) in cases {
            assert_eq!(
                decline_code(Some(code), Some("무관한 메시지")),
                want,
                "{code}"
            );
        }
        assert_eq!(
            decline_code(Some("X999"), Some("잔액 부족")),
            InsufficientFunds
        );
        assert_eq!(decline_code(None, Some("도난 카드")), LostOrStolen);
        assert_eq!(decline_code(Some("X999"), Some("기타 오류")), Other);
        assert_eq!(decline_code(None, None), Other);
    }

    #[test]
    fn invalid_request_messages() {
        assert_eq!(
            invalid_request_decline(Some("invalid expiryMonth")),
            Some(DeclineCode::Expired)
        );
        assert_eq!(
            invalid_request_decline(Some("card number is invalid")),
            Some(DeclineCode::InvalidCard)
        );
        assert_eq!(invalid_request_decline(Some("bad channel")), None);
        assert_eq!(invalid_request_decline(None), None);
    }

    #[test]
    fn error_body_debug_has_no_messages() {
        let e: ErrorBody = serde_json::from_value(serde_json::json!({
            "type": "PG_PROVIDER", "message": "m-secret", "pgCode": "CC10", "pgMessage": "pm-secret"
        }))
        .unwrap();
        let s = format!("{e:?}");
        assert!(!s.contains("secret") && s.contains("CC10"), "{s}");
    }
}
