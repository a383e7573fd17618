//! Toss Payments wire types and the pure mapping between them and the connector boundary.
//!
//! Sources (checked while writing this; the docs are the authority, the rest corroborates):
//! - 카드 번호 결제 (key-in) guide and API reference, docs.tosspayments.com/guides/payment/key-in:
//!   `POST /v1/payments/key-in`, body `amount` (integer), `orderId` (6..=64 of `[A-Za-z0-9_-]`),
//!   `orderName`, `cardNumber` (at most 20 characters), `cardExpirationYear`,
//!   `cardExpirationMonth` (strings), `customerIdentityNumber` (birth date `YYMMDD` or 10-digit
//!   business number), `cardPassword` (first two digits), `cardInstallmentPlan` (integer, 2..=12).
//!   The guide says the password and birth-date fields become REQUIRED only when chosen as an
//!   option in the merchant's contract, so both are sent only when the IVR collected them.
//!   That `cardExpirationYear` takes two digits (`YY`) is from the brief and third-party
//!   SDKs; the reference we could read says only "카드 유효 연도 · string".
//!   That lump sum (일시불) is expressed by leaving `cardInstallmentPlan` out is our reading of
//!   "not required"; we never send `0` or `1`.
//! - Payment object (docs.tosspayments.com/reference): `paymentKey`, `orderId`, `status`
//!   (`DONE`, `CANCELED`, `PARTIAL_CANCELED`, `ABORTED`, `EXPIRED`, `READY`, `IN_PROGRESS`,
//!   `WAITING_FOR_DEPOSIT`), `approvedAt` (ISO 8601 with offset), `totalAmount`,
//!   `balanceAmount`, `cancels[]` (`cancelAmount`, `canceledAt`, ...), `card` (`issuerCode`,
//!   `acquirerCode`, `number` masked by Toss, `installmentPlanMonths`, `approveNo`, ...).
//!   Unknown fields are ignored: Toss adds fields between API versions.
//! - Error object `{code, message}` and the error tables (docs.tosspayments.com/reference/
//!   error-codes, "카드 번호 결제" and "결제 취소" sections, and the full list with HTTP status).
//! - 카드사 코드 (docs.tosspayments.com/reference/codes#카드사-코드): two-character codes, see
//!   [`card_company`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::card::{Approval, CardCompany, CardInput, DeclineCode, TxnState};

const REDACTED: &str = "[REDACTED]";

/// The key-in (카드 번호 결제) request body. Borrows the card data from the caller's
/// [`CardInput`] (nothing is copied into an owned value); `Debug` is redacted. Serialize it,
/// send it, drop it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInRequest<'a> {
    pub amount: i64,
    pub order_id: &'a str,
    pub order_name: &'a str,
    card_number: &'a str,
    card_expiration_year: &'a str,
    card_expiration_month: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_identity_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_password: Option<&'a str>,
    /// Installment months, 2..=12; absent = lump sum (일시불).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_installment_plan: Option<u8>,
}

impl std::fmt::Debug for KeyInRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyInRequest")
            .field("amount", &self.amount)
            .field("order_id", &self.order_id)
            .field("order_name", &self.order_name)
            .field("card_number", &format_args!("{REDACTED}"))
            .field("card_expiration_year", &format_args!("{REDACTED}"))
            .field("card_expiration_month", &format_args!("{REDACTED}"))
            .field("customer_identity_number", &format_args!("{REDACTED}"))
            .field("card_password", &format_args!("{REDACTED}"))
            .field("card_installment_plan", &self.card_installment_plan)
            .finish()
    }
}

/// Why a key-in request could not be built (nothing was sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// The expiry is not `MMYY` digits with a month 01..=12.
    Expiry,
    /// Installment months other than 0 (lump sum) or 2..=12.
    Installments,
}

/// Builds the key-in body from the approval request's card.
pub fn key_in_request<'a>(
    key: &'a str,
    order_name: &'a str,
    amount: i64,
    installment_months: u8,
    card: &CardInput<'a>,
) -> Result<KeyInRequest<'a>, BuildError> {
    let expiry = card.expiry_mmyy;
    let valid_expiry = expiry.len() == 4
        && expiry.bytes().all(|b| b.is_ascii_digit())
        && matches!(expiry[..2].parse::<u8>(), Ok(1..=12));
    if !valid_expiry {
        return Err(BuildError::Expiry);
    }
    let card_installment_plan = match installment_months {
        0 => None,
        2..=12 => Some(installment_months),
        _ => return Err(BuildError::Installments),
    };
    Ok(KeyInRequest {
        amount,
        order_id: key,
        order_name,
        card_number: card.number.expose_digits(),
        card_expiration_year: &expiry[2..4],
        card_expiration_month: &expiry[..2],
        customer_identity_number: card.birth_or_business,
        card_password: card.password2,
        card_installment_plan,
    })
}

/// The cancel (결제 취소) request body: `cancelReason`, and `cancelAmount` for a partial cancel.
/// Without `cancelAmount` Toss cancels all that remains.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelBody<'a> {
    pub cancel_reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_amount: Option<i64>,
}

/// Toss's error object.
#[derive(Debug, Clone, Deserialize)]
pub struct TossError {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// The part of Toss's `Payment` object FieldPay reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_key: String,
    pub order_id: String,
    pub status: String,
    #[serde(default)]
    pub approved_at: Option<String>,
    pub total_amount: i64,
    pub balance_amount: i64,
    #[serde(default)]
    pub cancels: Option<Vec<PaymentCancel>>,
    #[serde(default)]
    pub card: Option<PaymentCard>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCancel {
    pub cancel_amount: i64,
    #[serde(default)]
    pub canceled_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCard {
    #[serde(default)]
    pub issuer_code: Option<String>,
    #[serde(default)]
    pub acquirer_code: Option<String>,
    /// Masked by Toss, e.g. `43301234****123*`.
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub installment_plan_months: Option<u8>,
    #[serde(default)]
    pub approve_no: Option<String>,
}

/// The masked number and last four of the card that was keyed in, taken from the
/// [`CardInput`] at approval time (what [`Approval`] may keep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCard {
    pub masked: String,
    pub last4: String,
}

impl KnownCard {
    pub fn of(card: &CardInput<'_>) -> KnownCard {
        KnownCard {
            masked: card.number.masked(),
            last4: card.number.last4().to_owned(),
        }
    }
}

/// Toss's two-character card company code (카드사 코드) to one of our nine companies.
///
/// | Toss code | Toss name | ours |
/// |---|---|---|
/// | `11` | KOOKMIN (KB국민카드) | Kb |
/// | `21` | HANA (하나카드) | Hana |
/// | `31` | BC (BC카드) | Bc |
/// | `3K` | IBK_BC (기업BC: IBK cards on the BC network) | Bc |
/// | `33` | WOORI_BC (우리BC카드, BC 매입) | Woori |
/// | `W1` | WOORI (우리카드, 우리 매입) | Woori |
/// | `41` | SHINHAN (신한카드) | Shinhan |
/// | `51` | SAMSUNG (삼성카드) | Samsung |
/// | `61` | HYUNDAI (현대카드) | Hyundai |
/// | `71` | LOTTE (롯데카드) | Lotte |
/// | `91` | NONGHYEOP (NH농협카드) | Nh |
///
/// The other codes (bank cards such as 광주 `46`, 전북 `35`, 제주 `42`, 수협 `34`, 씨티 `36`,
/// 산업 `30`, 새마을 `38`, 신협 `62`, 우체국 `37`, 저축 `39`, 카카오뱅크 `15`, 케이뱅크 `3A`,
/// 토스뱅크 `24`, and the foreign brands `4V` `4M` `4J` `7A` `6D` `3C`) are none of the nine:
/// `None` (see [`issuer_of`] for the fallback).
pub fn card_company(code: &str) -> Option<CardCompany> {
    Some(match code {
        "11" => CardCompany::Kb,
        "21" => CardCompany::Hana,
        "31" | "3K" => CardCompany::Bc,
        "33" | "W1" => CardCompany::Woori,
        "41" => CardCompany::Shinhan,
        "51" => CardCompany::Samsung,
        "61" => CardCompany::Hyundai,
        "71" => CardCompany::Lotte,
        "91" => CardCompany::Nh,
        _ => return None,
    })
}

/// The company an approval is recorded under. An approval cannot be turned into a decline
/// because of its issuer, so: the issuer code if it is one of the nine; else the acquirer
/// (매입사) code, which for most bank-issued cards is one of the nine (BC or the card company
/// that processes them); else BC카드 as the documented last resort (the raw acquirer code stays
/// in [`Approval::acquirer_code`]). The second value says whether a fallback was used.
pub fn issuer_of(issuer_code: Option<&str>, acquirer_code: Option<&str>) -> (CardCompany, bool) {
    if let Some(c) = issuer_code.and_then(card_company) {
        return (c, false);
    }
    if let Some(c) = acquirer_code.and_then(card_company) {
        return (c, true);
    }
    (CardCompany::Bc, true)
}

/// What an error code answered to a key-in (approval) request means for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApproveErrorKind {
    /// The card (or its issuer) refused: nothing was charged; tell the payer why.
    Declined(DeclineCode),
    /// Our configuration or request is wrong (keys, contract, parameters): nothing was
    /// charged, and retrying will not help. The payer hears "not charged".
    Rejected,
    /// The outcome is not known (temporary provider error, a request with this key still
    /// being processed): resolve by inquiry.
    Unknown,
    /// The order id was already used (approved or canceled): look it up.
    DuplicateOrder,
}

/// Maps a Toss error code answered to `POST /v1/payments/key-in` (HTTP 4xx; any 5xx is
/// [`ApproveErrorKind::Unknown`] whatever its code, decided by the transport).
///
/// Codes from the "카드 번호 결제" error table, plus card-refusal codes that Toss documents
/// for the other approval APIs (결제 승인, 자동결제 승인) and that a key-in approval can
/// plausibly return (`INVALID_CARD_LOST_OR_STOLEN`, `EXCEED_MAX_*`, ...). A code not listed
/// here, answered with a 4xx, is taken as a refusal ([`DeclineCode::Other`]): Toss answered and
/// did not approve.
pub fn approve_error_kind(code: &str) -> ApproveErrorKind {
    use ApproveErrorKind::*;
    match code {
        // 한도초과 혹은 잔액부족 (403): Toss does not say which; insufficient funds is what the
        // payer of a check card hears, and a credit card over its limit is told the same
        // "not enough" in effect.
        "REJECT_CARD_PAYMENT" | "REJECT_ACCOUNT_PAYMENT" => {
            Declined(DeclineCode::InsufficientFunds)
        }
        "INVALID_CARD_LOST_OR_STOLEN" => Declined(DeclineCode::LostOrStolen),
        "INVALID_CARD_PASSWORD" => Declined(DeclineCode::WrongPassword),
        "EXCEED_MAX_DAILY_PAYMENT_COUNT"
        | "EXCEED_MAX_PAYMENT_AMOUNT"
        | "EXCEED_MAX_ONE_DAY_AMOUNT"
        | "EXCEED_MAX_AMOUNT"
        | "EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT"
        | "EXCEED_UNKNOWN_CASE" => Declined(DeclineCode::OverLimit),
        "INVALID_CARD_NUMBER" | "INVALID_STOPPED_CARD" | "INVALID_CARD" => {
            Declined(DeclineCode::InvalidCard)
        }
        "INVALID_CARD_EXPIRATION" => Declined(DeclineCode::Expired),
        "NOT_SUPPORTED_CARD_TYPE" | "INVALID_CARD_COMPANY" | "NOT_REGISTERED_CARD_COMPANY" => {
            Declined(DeclineCode::UnknownBin)
        }
        "INVALID_CARD_INSTALLMENT_PLAN"
        | "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT"
        | "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN"
        | "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT"
        | "EXCEED_MAX_CARD_INSTALLMENT_PLAN"
        | "NOT_ALLOWED_INSTALLMENT_BELOW_AMOUNT"
        | "INVALID_CARD_INSTALLMENT_AMOUNT" => Declined(DeclineCode::InvalidInstallments),
        // Refused by the issuer or Toss's risk checks, or the birth date / business number does
        // not match the card: told as a generic refusal.
        "REJECT_CARD_COMPANY"
        | "INVALID_REJECT_CARD"
        | "INVALID_CARD_IDENTITY"
        | "INVALID_BIRTH_DAY_FORMAT"
        | "EXCEED_MAX_AUTH_COUNT"
        | "FDS_ERROR"
        | "NOT_ALLOWED_POINT_USE" => Declined(DeclineCode::Other),
        // Credentials, contract and request errors: our side is wrong.
        "UNAUTHORIZED_KEY"
        | "INVALID_API_KEY"
        | "INCORRECT_BASIC_AUTH_FORMAT"
        | "FORBIDDEN_REQUEST"
        | "FORBIDDEN_CONSECUTIVE_REQUEST"
        | "INVALID_REQUEST"
        | "INVALID_REQUIRED_PARAM"
        | "INVALID_ORDER_ID"
        | "INVALID_ORDER_NAME"
        | "INVALID_EMAIL"
        | "INVALID_IDEMPOTENCY_KEY"
        | "BELOW_MINIMUM_AMOUNT"
        | "NOT_FOUND_TERMINAL_ID"
        | "NOT_SUPPORTED_METHOD"
        | "MAINTAINED_METHOD"
        | "INVALID_UNREGISTERED_SUBMALL"
        | "NOT_FOUND_MERCHANT"
        | "NOT_FOUND_MERCHANT_INTEGRATION"
        | "API_VERSION_UPDATE_NEEDED" => Rejected,
        // 409 "이전 멱등 요청이 처리중입니다" and the temporary provider error (400): the card
        // company may have approved; only an inquiry tells.
        "IDEMPOTENT_REQUEST_PROCESSING" | "PROVIDER_ERROR" => Unknown,
        "DUPLICATED_ORDER_ID" | "ALREADY_PROCESSED_PAYMENT" => DuplicateOrder,
        _ => Declined(DeclineCode::Other),
    }
}

/// A short English explanation for [`ApproveErrorKind::Rejected`] and cancel failures (goes to
/// logs and `ConnectorError::Unavailable`; never contains card data: Toss's own message is
/// not echoed, since it can quote request values).
pub fn rejection_message(code: &str) -> String {
    let what = match code {
        "UNAUTHORIZED_KEY" | "INVALID_API_KEY" | "INCORRECT_BASIC_AUTH_FORMAT" => {
            "the secret key was refused; check [card] secret_key"
        }
        "FORBIDDEN_REQUEST" | "NOT_SUPPORTED_METHOD" | "NOT_FOUND_TERMINAL_ID" => {
            "the merchant contract does not allow key-in payments"
        }
        "INVALID_REQUIRED_PARAM" => {
            "a field the merchant contract requires is missing (birth date or card password?)"
        }
        "FORBIDDEN_CONSECUTIVE_REQUEST" => "too many repeated requests; try again later",
        "MAINTAINED_METHOD" => "card payments are under maintenance",
        "BELOW_MINIMUM_AMOUNT" => "the amount is below the card minimum (100 KRW)",
        "NOT_CANCELABLE_AMOUNT" => "the cancel amount exceeds what can be canceled",
        "NOT_CANCELABLE_PAYMENT" => "the payment cannot be canceled",
        "EXCEED_MAX_REFUND_DUE" => "the refund period is over",
        "NOT_ALLOWED_PARTIAL_REFUND" => "a partial refund is not allowed for this payment",
        _ => "the request was refused",
    };
    format!("Toss Payments: {what} ({code})")
}

/// Why a `Payment` could not be read as an approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentError {
    /// Not a card payment (no `card` object), or `approveNo` missing.
    NotCard,
    /// The payment is not (or no longer) approved in a state we know: READY, IN_PROGRESS, ...
    Unsettled(String),
}

/// Reads an approval out of a Toss `Payment` (any of DONE / PARTIAL_CANCELED / CANCELED).
///
/// `known` is the card keyed in for this approval, when this process still has it (at
/// approval time): our masked form and last four come from it. Without it (an inquiry after a
/// restart) they are built from Toss's own masked number, keeping its first six and last four
/// characters, which can include Toss's `*` (e.g. `433012******123*`).
pub fn approval_of(payment: &Payment, known: Option<&KnownCard>) -> Result<Approval, PaymentError> {
    let card = payment.card.as_ref().ok_or(PaymentError::NotCard)?;
    let approval_number = card
        .approve_no
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or(PaymentError::NotCard)?;
    let (issuer, fallback) = issuer_of(card.issuer_code.as_deref(), card.acquirer_code.as_deref());
    if fallback {
        tracing::warn!(
            order_id = %payment.order_id,
            issuer_code = card.issuer_code.as_deref().unwrap_or(""),
            acquirer_code = card.acquirer_code.as_deref().unwrap_or(""),
            recorded_as = issuer.as_str(),
            "Toss issuer code is not one of the nine card companies; recorded by fallback"
        );
    }
    let (masked_card, card_last4) = match known {
        Some(k) => (k.masked.clone(), k.last4.clone()),
        None => masked_from_toss(card.number.as_deref().unwrap_or("")),
    };
    let approved_at = payment
        .approved_at
        .as_deref()
        .and_then(parse_time)
        .unwrap_or_else(|| {
            tracing::warn!(order_id = %payment.order_id, "Toss payment without a readable approvedAt; using now");
            Utc::now()
        });
    Ok(Approval {
        approval_number,
        issuer,
        acquirer_code: card.acquirer_code.clone().unwrap_or_default(),
        masked_card,
        card_last4,
        installment_months: card.installment_plan_months.unwrap_or(0),
        amount: payment.total_amount,
        approved_at,
    })
}

/// The state of a Toss payment: `Ok(None)` when nothing was approved (`ABORTED`, `EXPIRED`),
/// `Err(Unsettled)` while it is in flight (`READY`, `IN_PROGRESS`, ...).
pub fn state_of(
    payment: &Payment,
    known: Option<&KnownCard>,
) -> Result<Option<TxnState>, PaymentError> {
    match payment.status.as_str() {
        "ABORTED" | "EXPIRED" => return Ok(None),
        "DONE" | "PARTIAL_CANCELED" | "CANCELED" => {}
        other => return Err(PaymentError::Unsettled(other.to_owned())),
    }
    let approval = approval_of(payment, known)?;
    let canceled_at = || {
        payment
            .cancels
            .iter()
            .flatten()
            .filter_map(|c| c.canceled_at.as_deref().and_then(parse_time))
            .max()
            .unwrap_or(approval.approved_at)
    };
    Ok(Some(match payment.status.as_str() {
        "DONE" => TxnState::Approved(approval),
        "PARTIAL_CANCELED" => {
            let canceled_amount = payment.total_amount - payment.balance_amount;
            let canceled_at = canceled_at();
            TxnState::PartiallyCanceled {
                approval,
                canceled_amount,
                canceled_at,
            }
        }
        _ => {
            let canceled_at = canceled_at();
            TxnState::Canceled {
                approval,
                canceled_at,
            }
        }
    }))
}

/// First six + `******` + last four characters of Toss's masked number.
fn masked_from_toss(number: &str) -> (String, String) {
    let chars: Vec<char> = number.chars().filter(|c| *c != '-').collect();
    if chars.len() < 10 {
        return ("******".to_owned(), String::new());
    }
    let first6: String = chars[..6].iter().collect();
    let last4: String = chars[chars.len() - 4..].iter().collect();
    (format!("{first6}******{last4}"), last4)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldpay_protocol::CardNumber;

    const CANARY: &str = "5409263141592659";

    fn payment(status: &str, balance: i64, cancels: serde_json::Value) -> Payment {
        serde_json::from_value(serde_json::json!({
            "mId": "tosspayments",
            "version": "2022-11-16",
            "paymentKey": "tviva20240213121757MvuS8",
            "orderId": "chg_abc123",
            "orderName": "감기약 외 2건",
            "status": status,
            "requestedAt": "2024-02-13T12:17:57+09:00",
            "approvedAt": "2024-02-13T12:18:14+09:00",
            "totalAmount": 12000,
            "balanceAmount": balance,
            "cancels": cancels,
            "method": "카드",
            "card": {
                "amount": 12000,
                "issuerCode": "11",
                "acquirerCode": "11",
                "number": "54092631****265*",
                "installmentPlanMonths": 0,
                "approveNo": "00000000",
                "useCardPoint": false,
                "cardType": "신용",
                "ownerType": "개인",
                "acquireStatus": "READY",
                "isInterestFree": false,
                "interestPayer": null
            }
        }))
        .unwrap()
    }

    #[test]
    fn key_in_body_has_the_documented_fields_and_a_redacted_debug() {
        let number = CardNumber::parse(CANARY).unwrap();
        let card = CardInput {
            number: &number,
            expiry_mmyy: "0839",
            birth_or_business: Some("880714"),
            password2: Some("47"),
        };
        let body = key_in_request("chg_abc123", "감기약 외 2건", 12_000, 3, &card).unwrap();
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "amount": 12000,
                "orderId": "chg_abc123",
                "orderName": "감기약 외 2건",
                "cardNumber": CANARY,
                "cardExpirationYear": "39",
                "cardExpirationMonth": "08",
                "customerIdentityNumber": "880714",
                "cardPassword": "47",
                "cardInstallmentPlan": 3
            })
        );
        let dbg = format!("{body:?} {body:#?}");
        for secret in [CANARY, "0839", "880714", "\"47\"", "\"39\"", "\"08\""] {
            assert!(!dbg.contains(secret), "{secret} leaked in {dbg}");
        }

        // Lump sum, no birth date, no password: those fields are left out.
        let card = CardInput {
            birth_or_business: None,
            password2: None,
            ..card
        };
        let json = serde_json::to_value(key_in_request("chg_abc123", "x", 1000, 0, &card).unwrap())
            .unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "amount",
                "cardExpirationMonth",
                "cardExpirationYear",
                "cardNumber",
                "orderId",
                "orderName"
            ]
        );
        assert_eq!(
            key_in_request("k", "x", 1000, 1, &card).unwrap_err(),
            BuildError::Installments
        );
        let bad = CardInput {
            expiry_mmyy: "1339",
            ..card
        };
        assert_eq!(
            key_in_request("k", "x", 1000, 0, &bad).unwrap_err(),
            BuildError::Expiry
        );
    }

    #[test]
    fn card_company_codes() {
        let expect = [
            ("11", CardCompany::Kb),
            ("21", CardCompany::Hana),
            ("31", CardCompany::Bc),
            ("3K", CardCompany::Bc),
            ("33", CardCompany::Woori),
            ("W1", CardCompany::Woori),
            ("41", CardCompany::Shinhan),
            ("51", CardCompany::Samsung),
            ("61", CardCompany::Hyundai),
            ("71", CardCompany::Lotte),
            ("91", CardCompany::Nh),
        ];
        for (code, company) in expect {
            assert_eq!(card_company(code), Some(company), "{code}");
        }
        for c in CardCompany::all() {
            assert!(expect.iter().any(|(_, x)| *x == c), "{c:?} unmapped");
        }
        for code in [
            "46", "35", "42", "34", "36", "30", "38", "62", "37", "39", "15", "3A", "24", "4V",
            "01", "",
        ] {
            assert_eq!(card_company(code), None, "{code}");
        }
        assert_eq!(
            issuer_of(Some("41"), Some("31")),
            (CardCompany::Shinhan, false)
        );
        assert_eq!(issuer_of(Some("46"), Some("31")), (CardCompany::Bc, true));
        assert_eq!(issuer_of(Some("24"), Some("21")), (CardCompany::Hana, true));
        assert_eq!(issuer_of(Some("4V"), Some("4V")), (CardCompany::Bc, true));
        assert_eq!(issuer_of(None, None), (CardCompany::Bc, true));
    }

    #[test]
    fn error_codes() {
        use ApproveErrorKind::*;
        let cases = [
            (
                "REJECT_CARD_PAYMENT",
                Declined(DeclineCode::InsufficientFunds),
            ),
            (
                "INVALID_CARD_LOST_OR_STOLEN",
                Declined(DeclineCode::LostOrStolen),
            ),
            (
                "INVALID_CARD_PASSWORD",
                Declined(DeclineCode::WrongPassword),
            ),
            (
                "EXCEED_MAX_DAILY_PAYMENT_COUNT",
                Declined(DeclineCode::OverLimit),
            ),
            (
                "EXCEED_MAX_ONE_DAY_AMOUNT",
                Declined(DeclineCode::OverLimit),
            ),
            ("INVALID_CARD_NUMBER", Declined(DeclineCode::InvalidCard)),
            ("INVALID_STOPPED_CARD", Declined(DeclineCode::InvalidCard)),
            ("INVALID_CARD_EXPIRATION", Declined(DeclineCode::Expired)),
            ("NOT_SUPPORTED_CARD_TYPE", Declined(DeclineCode::UnknownBin)),
            (
                "INVALID_CARD_INSTALLMENT_PLAN",
                Declined(DeclineCode::InvalidInstallments),
            ),
            (
                "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT",
                Declined(DeclineCode::InvalidInstallments),
            ),
            ("REJECT_CARD_COMPANY", Declined(DeclineCode::Other)),
            ("INVALID_CARD_IDENTITY", Declined(DeclineCode::Other)),
            ("SOMETHING_NEW", Declined(DeclineCode::Other)),
            ("UNAUTHORIZED_KEY", Rejected),
            ("INVALID_API_KEY", Rejected),
            ("INCORRECT_BASIC_AUTH_FORMAT", Rejected),
            ("INVALID_REQUIRED_PARAM", Rejected),
            ("PROVIDER_ERROR", Unknown),
            ("IDEMPOTENT_REQUEST_PROCESSING", Unknown),
            ("DUPLICATED_ORDER_ID", DuplicateOrder),
        ];
        for (code, kind) in cases {
            assert_eq!(approve_error_kind(code), kind, "{code}");
        }
        let msg = rejection_message("UNAUTHORIZED_KEY");
        assert!(
            msg.contains("secret key") && msg.contains("UNAUTHORIZED_KEY"),
            "{msg}"
        );
    }

    #[test]
    fn payment_states() {
        let number = CardNumber::parse(CANARY).unwrap();
        let known = KnownCard {
            masked: number.masked(),
            last4: number.last4().to_owned(),
        };
        let done = payment("DONE", 12000, serde_json::Value::Null);
        let Some(TxnState::Approved(a)) = state_of(&done, Some(&known)).unwrap() else {
            panic!("not approved")
        };
        assert_eq!(a.masked_card, "540926******2659");
        assert_eq!(a.card_last4, "2659");
        assert_eq!(a.issuer, CardCompany::Kb);
        assert_eq!(a.acquirer_code, "11");
        assert_eq!(a.approval_number, "00000000");
        assert_eq!(a.amount, 12000);
        assert_eq!(a.approved_at.to_rfc3339(), "2024-02-13T03:18:14+00:00");

        // Without the keyed card: Toss's masked number, reshaped.
        let a2 = approval_of(&done, None).unwrap();
        assert_eq!(a2.masked_card, "540926******265*");
        assert_eq!(a2.card_last4, "265*");

        let cancels = serde_json::json!([
            {"cancelAmount": 2000, "canceledAt": "2024-02-13T12:20:00+09:00", "cancelReason": "x",
             "transactionKey": "t1", "cancelStatus": "DONE"},
            {"cancelAmount": 3000, "canceledAt": "2024-02-13T12:30:00+09:00", "cancelReason": "y",
             "transactionKey": "t2", "cancelStatus": "DONE"}
        ]);
        let partial = payment("PARTIAL_CANCELED", 7000, cancels.clone());
        match state_of(&partial, Some(&known)).unwrap() {
            Some(TxnState::PartiallyCanceled {
                canceled_amount,
                canceled_at,
                ..
            }) => {
                assert_eq!(canceled_amount, 5000);
                assert_eq!(canceled_at.to_rfc3339(), "2024-02-13T03:30:00+00:00");
            }
            other => panic!("{other:?}"),
        }
        let canceled = payment("CANCELED", 0, cancels);
        assert!(state_of(&canceled, None).unwrap().unwrap().is_canceled());
        assert_eq!(
            state_of(&payment("ABORTED", 12000, serde_json::Value::Null), None),
            Ok(None)
        );
        assert_eq!(
            state_of(
                &payment("IN_PROGRESS", 12000, serde_json::Value::Null),
                None
            ),
            Err(PaymentError::Unsettled("IN_PROGRESS".into()))
        );
    }
}
