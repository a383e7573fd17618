//! Card approval behind a connector boundary.
//!
//! The server never talks to a card network directly: it holds a [`CardConnector`] and calls
//! [`approve_with_recovery`], which turns the connector's answers (including the ones where the
//! outcome is unknown) into one of three results the charge lifecycle can act on: approved,
//! not charged, or in doubt.
//!
//! # Card data rules
//!
//! Card number, expiry, birth date / business number and the two password digits reach this
//! module only as a borrowed [`CardInput`], for the duration of one call. The number is a
//! [`CardNumber`]: checked when parsed (digits, length, Luhn), zeroized on drop, and read whole
//! only through [`CardNumber::expose_digits`], by the card network. Nothing here copies card
//! data into an owned value, a database, a log line, a trace field or an error message. Their
//! `Debug` output is `"[REDACTED]"`. What may be kept is what [`Approval`] and
//! [`RegisteredCardToken`] carry: issuer, masked number ([`CardNumber::masked`]: first 6 +
//! `******` + last 4), last 4, installment months, approval number, amount, times. The
//! registered-card token is a credential: it is a [`Secret`].
//!
//! The owner of the keyed-in digits (the IVR call) is responsible for zeroizing its buffers
//! after the call returns.
//!
//! # Parts
//!
//! - [`company`]: the nine Korean card companies, their (sandbox) issuer/acquirer codes and BINs.
//! - [`sandbox`]: [`SandboxCardNetwork`], the simulated external card network with its own ledger.
//! - [`testcards`]: the sandbox's test card numbers with fixed outcomes ([`TEST_CARDS`]).

use std::fmt;
use std::ops::ControlFlow;
use std::time::Duration;

use chrono::{DateTime, Utc};
use fieldpay_protocol::{CardNumber, Secret};
use serde::{Deserialize, Serialize};

pub mod company;
pub mod sandbox;
pub mod testcards;
pub mod toss;

pub use company::CardCompany;
pub use sandbox::{SandboxCardNetwork, SandboxTransaction};
pub use testcards::{TestCard, TestOutcome, TEST_CARDS};

const REDACTED: &str = "[REDACTED]";

/// Card data as keyed by the payer, borrowed for the duration of one approval call only.
///
/// Never stored, logged, or put into errors. `Debug` prints `"[REDACTED]"` for every field.
#[derive(Clone, Copy)]
pub struct CardInput<'a> {
    /// Card number, checked by its type: ASCII digits only (14 to 19 of them), Luhn-valid.
    pub number: &'a CardNumber,
    /// Expiry as `MMYY` (valid through the end of that month, Korean time).
    pub expiry_mmyy: &'a str,
    /// Birth date `YYMMDD` (personal card) or 10-digit business registration number
    /// (corporate card), when the merchant asks for it.
    pub birth_or_business: Option<&'a str>,
    /// The first two digits of the card password, when the merchant asks for them.
    pub password2: Option<&'a str>,
}

impl fmt::Debug for CardInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardInput")
            .field("number", &format_args!("{REDACTED}"))
            .field("expiry_mmyy", &format_args!("{REDACTED}"))
            .field("birth_or_business", &format_args!("{REDACTED}"))
            .field("password2", &format_args!("{REDACTED}"))
            .finish()
    }
}

/// How the payer pays for one approval.
#[derive(Clone, Copy)]
pub enum PaymentMethod<'a> {
    /// A card keyed in during the call.
    Card(CardInput<'a>),
    /// Auto-pay: a card registered earlier with the network (see [`CardConnector::register`]),
    /// referenced by its token. The token is a credential: its `Debug` output is redacted too.
    Registered { token: &'a Secret },
}

impl fmt::Debug for PaymentMethod<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaymentMethod::Card(card) => f.debug_tuple("Card").field(card).finish(),
            PaymentMethod::Registered { .. } => f
                .debug_struct("Registered")
                .field("token", &format_args!("{REDACTED}"))
                .finish(),
        }
    }
}

/// One approval request. `Debug` is safe to log: the card data inside is redacted.
#[derive(Debug, Clone, Copy)]
pub struct ApproveRequest<'a> {
    /// The attempt key: unique per approval attempt of a charge (see
    /// `charges::attempt_key`: the charge id for its first attempt, `{charge id}-{n}` for the
    /// n-th), 6 to 64 of `[A-Za-z0-9_-]`. Providers take it as the order / payment id and as
    /// the idempotency key: a repeat of an approved key returns that approval, never a second.
    pub key: &'a str,
    /// What is bought, as the provider shows it (Toss `orderName`, PortOne `orderName`).
    pub order_name: &'a str,
    /// Amount in KRW, > 0.
    pub amount: i64,
    /// Installment months: 0 = 일시불 (lump sum), otherwise 2..=12 and only from 50,000 KRW.
    pub installment_months: u8,
    pub method: PaymentMethod<'a>,
    pub merchant_id: &'a str,
}

/// A successful card approval. Contains no card data beyond the masked number and last 4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// 8 digits, unique within the network's ledger.
    pub approval_number: String,
    pub issuer: CardCompany,
    /// The acquirer (매입사) code the network reports; see [`CardCompany::acquirer_code`].
    pub acquirer_code: String,
    /// First 6 digits + `******` + last 4 digits, e.g. `457973******0013`.
    pub masked_card: String,
    pub card_last4: String,
    pub installment_months: u8,
    pub amount: i64,
    pub approved_at: DateTime<Utc>,
}

/// Why a card was declined. Serialized in snake_case (`insufficient_funds`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineCode {
    InsufficientFunds,
    LostOrStolen,
    WrongPassword,
    OverLimit,
    InvalidCard,
    Expired,
    UnknownBin,
    InvalidInstallments,
    Other,
}

// The snake_case names, the same as the serde form.
fieldpay_protocol::text_names!(DeclineCode {
    InsufficientFunds => "insufficient_funds",
    LostOrStolen => "lost_or_stolen",
    WrongPassword => "wrong_password",
    OverLimit => "over_limit",
    InvalidCard => "invalid_card",
    Expired => "expired",
    UnknownBin => "unknown_bin",
    InvalidInstallments => "invalid_installments",
    Other => "other",
});

impl DeclineCode {
    /// The reason as told to the payer (IVR prompt, SMS), in Korean.
    pub fn message_ko(&self) -> &'static str {
        match self {
            DeclineCode::InsufficientFunds => "잔액이 부족합니다.",
            DeclineCode::LostOrStolen => "분실 또는 도난 신고된 카드입니다.",
            DeclineCode::WrongPassword => "카드 비밀번호가 일치하지 않습니다.",
            DeclineCode::OverLimit => "카드 한도를 초과했습니다.",
            DeclineCode::InvalidCard => "유효하지 않은 카드 번호입니다.",
            DeclineCode::Expired => "카드 유효기간이 지났거나 올바르지 않습니다.",
            DeclineCode::UnknownBin => "취급하지 않는 카드입니다.",
            DeclineCode::InvalidInstallments => "선택하신 할부 개월 수로는 결제할 수 없습니다.",
            DeclineCode::Other => "카드사에서 승인을 거절했습니다.",
        }
    }

    /// The reason in English.
    pub fn message_en(&self) -> &'static str {
        match self {
            DeclineCode::InsufficientFunds => "Insufficient funds.",
            DeclineCode::LostOrStolen => "The card has been reported lost or stolen.",
            DeclineCode::WrongPassword => "Incorrect card password.",
            DeclineCode::OverLimit => "The card's limit has been exceeded.",
            DeclineCode::InvalidCard => "Invalid card number.",
            DeclineCode::Expired => "The card has expired or the expiry date is invalid.",
            DeclineCode::UnknownBin => "This card is not accepted (unknown issuer).",
            DeclineCode::InvalidInstallments => "The chosen installment plan is not allowed.",
            DeclineCode::Other => "Declined by the card issuer.",
        }
    }
}

/// What a connector call can fail with. Display messages never contain card data (not even
/// the masked number).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The network answered: declined. Nothing was charged.
    #[error("card declined: {code}")]
    Declined {
        code: DeclineCode,
        masked_card: Option<String>,
        issuer: Option<CardCompany>,
    },
    /// The network did not answer in time / connection lost: the outcome is UNKNOWN (it may
    /// have approved). Resolve with [`CardConnector::inquire`], or use [`approve_with_recovery`].
    #[error("card network timed out; outcome unknown")]
    Timeout,
    /// Transport or protocol failure before the request reached the network: nothing happened.
    #[error("card network unavailable: {0}")]
    Unavailable(String),
    /// Cancel (or, for connectors that answer so, inquire) of a key the network does not know.
    #[error("no such card transaction")]
    NotFound,
    /// Cancel of a transaction that is already canceled.
    #[error("card transaction already canceled")]
    AlreadyCanceled,
}

/// The state of a transaction as the network reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TxnState {
    Approved(Approval),
    /// Part of the amount was canceled (partial refunds); the rest stands.
    PartiallyCanceled {
        approval: Approval,
        /// Canceled so far, in all (KRW), less than the approved amount.
        canceled_amount: i64,
        canceled_at: DateTime<Utc>,
    },
    Canceled {
        approval: Approval,
        canceled_at: DateTime<Utc>,
    },
}

impl TxnState {
    /// The approval, whatever the state.
    pub fn approval(&self) -> &Approval {
        match self {
            TxnState::Approved(a) => a,
            TxnState::PartiallyCanceled { approval, .. } => approval,
            TxnState::Canceled { approval, .. } => approval,
        }
    }

    /// Canceled so far, in all (KRW).
    pub fn canceled_amount(&self) -> i64 {
        match self {
            TxnState::Approved(_) => 0,
            TxnState::PartiallyCanceled {
                canceled_amount, ..
            } => *canceled_amount,
            TxnState::Canceled { approval, .. } => approval.amount,
        }
    }

    pub fn is_canceled(&self) -> bool {
        matches!(self, TxnState::Canceled { .. })
    }
}

/// A cancel (refund, or network cancel) of an approved transaction. `Debug` is safe to log.
#[derive(Debug, Clone, Copy)]
pub struct CancelRequest<'a> {
    /// The approval's attempt key ([`ApproveRequest::key`]).
    pub key: &'a str,
    /// Unique per cancel of one transaction, stable across retries of that cancel (so a
    /// retried partial refund is not refunded twice): `{key}-r{n}` for the n-th refund.
    pub idempotency_key: &'a str,
    pub reason: &'a str,
    /// KRW to cancel; None = all that remains.
    pub amount: Option<i64>,
}

/// A card registered with the network for auto-pay. The token references the card at the
/// network; we keep only the token, the issuer and the masked number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredCardToken {
    /// `tok_` + random characters; a credential: zeroized on drop, redacted in `Debug`.
    pub token: Secret,
    pub issuer: CardCompany,
    pub last4: String,
    pub masked_card: String,
}

/// A card network (or PG/VAN) as the server sees it.
#[async_trait::async_trait]
pub trait CardConnector: Send + Sync + 'static {
    /// A short name for logs and settings, e.g. `"sandbox"`.
    fn name(&self) -> &'static str;

    /// Ask for an approval. Idempotent by `req.key`: a repeat of an approved key returns the
    /// same [`Approval`] and charges nothing more.
    async fn approve(&self, req: &ApproveRequest<'_>) -> Result<Approval, ConnectorError>;

    /// Cancels an approved transaction, whole or in part (refund, or network cancel 망취소
    /// when an approval's answer was lost). Answers the state after the cancel. Idempotent by
    /// `req.idempotency_key`. Unknown key: [`ConnectorError::NotFound`]; nothing left to
    /// cancel: [`ConnectorError::AlreadyCanceled`].
    async fn cancel(&self, req: &CancelRequest<'_>) -> Result<TxnState, ConnectorError>;

    /// The network's record of a key: `Ok(None)` when it approved nothing under that key.
    async fn inquire(&self, key: &str) -> Result<Option<TxnState>, ConnectorError>;

    /// Register a card for auto-pay (special merchants); returns a token plus issuer/last4.
    /// The card itself is not stored by us.
    async fn register(
        &self,
        merchant_id: &str,
        card: &CardInput<'_>,
    ) -> Result<RegisteredCardToken, ConnectorError>;
}

/// The outcome of [`approve_with_recovery`] when there is no approval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalFailure {
    /// The network declined; nothing was charged.
    #[error("card declined: {code}")]
    Declined {
        code: DeclineCode,
        masked_card: Option<String>,
        issuer: Option<CardCompany>,
    },
    /// Nothing was charged: the network was unreachable, or the outcome was unknown and was
    /// then resolved (inquire found nothing, or a network cancel went through).
    #[error("not charged")]
    NotCharged,
    /// The outcome is unknown and could not be resolved: neither inquire nor the network
    /// cancel got through. The charge must be reconciled later (inquire again, then cancel).
    #[error("approval outcome unknown (in doubt)")]
    InDoubt,
}

/// How hard [`approve_with_recovery_policy`] tries to resolve an unknown outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryPolicy {
    /// Inquiries after a `Timeout` before the outcome is taken as in doubt (at least 1 is made).
    pub inquire_attempts: u32,
    /// Network cancels tried when still in doubt (at least 1 is made).
    pub cancel_attempts: u32,
    /// Pause before each retry; the n-th retry waits `n * retry_delay`.
    pub retry_delay: Duration,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        RecoveryPolicy {
            inquire_attempts: 3,
            cancel_attempts: 3,
            retry_delay: Duration::from_millis(200),
        }
    }
}

/// The reason sent with a network cancel (망취소) by [`approve_with_recovery`].
pub const NETWORK_CANCEL_REASON: &str = "network cancel: approval outcome unknown";

/// What the server does with an approval, given the connector's rules, with the default
/// [`RecoveryPolicy`]:
///
/// - approve; an answer (approved / declined) is returned as is;
/// - `Unavailable` (the request never reached the network): `Err(NotCharged)`;
/// - on `Timeout`, inquire (a few tries):
///   - inquire shows Approved: `Ok(approval)` ("resolved by inquire"), charged exactly once;
///   - inquire shows nothing (or Canceled): `Err(NotCharged)`;
///   - inquire itself keeps failing (in doubt): send a cancel (network cancel, 망취소) and
///     return `Err(NotCharged)` if the cancel succeeded / was NotFound / AlreadyCanceled, or
///     `Err(InDoubt)` if even the cancel could not be sent.
pub async fn approve_with_recovery(
    conn: &dyn CardConnector,
    req: &ApproveRequest<'_>,
) -> Result<Approval, ApprovalFailure> {
    approve_with_recovery_policy(conn, req, &RecoveryPolicy::default()).await
}

/// [`approve_with_recovery`] with an explicit [`RecoveryPolicy`].
pub async fn approve_with_recovery_policy(
    conn: &dyn CardConnector,
    req: &ApproveRequest<'_>,
    policy: &RecoveryPolicy,
) -> Result<Approval, ApprovalFailure> {
    let key = req.key;
    match conn.approve(req).await {
        Ok(approval) => Ok(approval),
        Err(ConnectorError::Declined {
            code,
            masked_card,
            issuer,
        }) => Err(ApprovalFailure::Declined {
            code,
            masked_card,
            issuer,
        }),
        Err(ConnectorError::Unavailable(msg)) => {
            tracing::warn!(connector = conn.name(), key, error = %msg, "card network unavailable; not charged");
            Err(ApprovalFailure::NotCharged)
        }
        Err(e @ (ConnectorError::NotFound | ConnectorError::AlreadyCanceled)) => {
            tracing::warn!(connector = conn.name(), key, error = %e, "unexpected answer to approve; not charged");
            Err(ApprovalFailure::NotCharged)
        }
        Err(ConnectorError::Timeout) => {
            tracing::warn!(
                connector = conn.name(),
                key,
                "approval timed out; outcome unknown, inquiring"
            );
            recover(conn, key, policy).await
        }
    }
}

async fn recover(
    conn: &dyn CardConnector,
    key: &str,
    policy: &RecoveryPolicy,
) -> Result<Approval, ApprovalFailure> {
    let inquired = retrying(
        conn,
        key,
        "inquire",
        policy.inquire_attempts,
        policy,
        || async {
            match conn.inquire(key).await {
                Ok(Some(TxnState::Approved(approval))) => {
                    tracing::info!(
                        connector = conn.name(),
                        key,
                        approval_number = %approval.approval_number,
                        "approval resolved by inquire"
                    );
                    ControlFlow::Break(Ok(approval))
                }
                Ok(Some(TxnState::Canceled { .. } | TxnState::PartiallyCanceled { .. })) => {
                    tracing::warn!(
                        connector = conn.name(),
                        key,
                        "inquire shows the transaction canceled; not charged"
                    );
                    ControlFlow::Break(Err(ApprovalFailure::NotCharged))
                }
                Ok(None) | Err(ConnectorError::NotFound) => {
                    tracing::info!(
                        connector = conn.name(),
                        key,
                        "inquire shows no transaction; not charged"
                    );
                    ControlFlow::Break(Err(ApprovalFailure::NotCharged))
                }
                Err(e) => ControlFlow::Continue(e),
            }
        },
    )
    .await;
    if let Some(answer) = inquired {
        return answer;
    }

    tracing::warn!(
        connector = conn.name(),
        key,
        "approval in doubt; sending network cancel"
    );
    let network_cancel_key = format!("{key}-nc");
    let canceled = retrying(
        conn,
        key,
        "network cancel",
        policy.cancel_attempts,
        policy,
        || async {
            let cancel = CancelRequest {
                key,
                idempotency_key: &network_cancel_key,
                reason: NETWORK_CANCEL_REASON,
                amount: None,
            };
            match conn.cancel(&cancel).await {
                Ok(_) | Err(ConnectorError::NotFound) | Err(ConnectorError::AlreadyCanceled) => {
                    tracing::info!(
                        connector = conn.name(),
                        key,
                        "network cancel done; not charged"
                    );
                    ControlFlow::Break(Err(ApprovalFailure::NotCharged))
                }
                Err(e) => ControlFlow::Continue(e),
            }
        },
    )
    .await;
    canceled.unwrap_or_else(|| {
        tracing::error!(
            connector = conn.name(),
            key,
            "approval in doubt: neither inquire nor network cancel got through"
        );
        Err(ApprovalFailure::InDoubt)
    })
}

/// Runs `step` up to `attempts` times (at least once), waiting `retry_delay × n` before try
/// n, until it settles the outcome (`Break`); a failure that leaves it open (`Continue`) is
/// logged as `what` failing. `None`: every try failed.
async fn retrying<F, Fut>(
    conn: &dyn CardConnector,
    key: &str,
    what: &str,
    attempts: u32,
    policy: &RecoveryPolicy,
    mut step: F,
) -> Option<Result<Approval, ApprovalFailure>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
        Output = ControlFlow<Result<Approval, ApprovalFailure>, ConnectorError>,
    >,
{
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(policy.retry_delay * attempt).await;
        }
        match step().await {
            ControlFlow::Break(answer) => return Some(answer),
            ControlFlow::Continue(e) => {
                tracing::warn!(connector = conn.name(), key, attempt, error = %e, "{what} failed");
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "5409263141592659";

    fn canary() -> CardNumber {
        CardNumber::parse(CANARY).unwrap()
    }

    #[test]
    fn debug_of_card_input_and_request_is_redacted() {
        let number = canary();
        let card = CardInput {
            number: &number,
            expiry_mmyy: "0839",
            birth_or_business: Some("880714"),
            password2: Some("47"),
        };
        let s = format!("{card:?} {card:#?}");
        for secret in [CANARY, "0839", "880714", "47"] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
        assert!(s.contains("[REDACTED]"));

        let req = ApproveRequest {
            key: "chg_1",
            order_name: "감기약 외 2건",
            amount: 12_000,
            installment_months: 0,
            method: PaymentMethod::Card(card),
            merchant_id: "m_1",
        };
        let s = format!("{req:?} {req:#?}");
        for secret in [CANARY, "0839", "880714", "47"] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
        assert!(s.contains("chg_1") && s.contains("12000"));

        let token = Secret::new("tok_secretsecret");
        let reg = ApproveRequest {
            method: PaymentMethod::Registered { token: &token },
            ..req
        };
        let s = format!("{reg:?}");
        assert!(!s.contains("tok_secretsecret"), "{s}");
    }

    /// Every type of this module that holds card data or a credential, printed with `{:?}` and
    /// `{:#?}`: no secret in the output, only what may be kept.
    #[test]
    fn debug_of_every_card_or_secret_holder_is_redacted() {
        let number = canary();
        let token = Secret::new("tok_Zq81canaryTok3n");
        let input = CardInput {
            number: &number,
            expiry_mmyy: "0839",
            birth_or_business: Some("1234567890"),
            password2: Some("47"),
        };
        let registered = RegisteredCardToken {
            token: token.clone(),
            issuer: CardCompany::Kb,
            last4: number.last4().to_owned(),
            masked_card: number.masked(),
        };
        let printed = [
            format!("{number:?} {number:#?} {number}"),
            format!("{input:?} {input:#?}"),
            format!("{:?}", PaymentMethod::Card(input)),
            format!("{:#?}", PaymentMethod::Registered { token: &token }),
            format!("{registered:?} {registered:#?}"),
            format!("{token:?} {token}"),
        ];
        for out in &printed {
            for secret in [
                CANARY,
                "3141592",
                "0839",
                "1234567890",
                "47",
                "tok_",
                "canaryTok3n",
            ] {
                assert!(!out.contains(secret), "{secret} leaked in {out}");
            }
            assert!(out.contains("[REDACTED]"), "{out}");
        }
        // What may be kept still shows.
        assert!(printed[4].contains("540926******2659") && printed[4].contains("2659"));
    }

    #[test]
    fn errors_never_carry_card_data_in_messages() {
        let e = ConnectorError::Declined {
            code: DeclineCode::InsufficientFunds,
            masked_card: Some("540926******2659".into()),
            issuer: Some(CardCompany::Kb),
        };
        let msg = e.to_string();
        assert!(!msg.contains("540926") && !msg.contains("2659"), "{msg}");
        assert_eq!(msg, "card declined: insufficient_funds");
    }

    #[test]
    fn decline_codes_serde_and_messages() {
        for code in DeclineCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: DeclineCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
            assert!(!code.message_ko().is_empty() && !code.message_en().is_empty());
        }
    }

    #[test]
    fn masking() {
        assert_eq!(canary().masked(), "540926******2659");
        assert_eq!(canary().last4(), "2659");
        let fourteen = CardNumber::parse("45184227182812").unwrap();
        assert_eq!(fourteen.masked(), "451842******2812");
    }

    #[test]
    fn registered_card_token_keeps_its_wire_form() {
        let registered = RegisteredCardToken {
            token: Secret::new("tok_abc"),
            issuer: CardCompany::Nh,
            last4: "0015".into(),
            masked_card: "546112******0015".into(),
        };
        let json = serde_json::to_value(&registered).unwrap();
        assert_eq!(json["token"], "tok_abc");
        let back: RegisteredCardToken = serde_json::from_value(json).unwrap();
        assert_eq!(back, registered);
    }
}
