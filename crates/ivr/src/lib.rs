//! The FieldPay payment phone call (IVR) as a pure state machine.
//!
//! A payer dials a virtual ARS number; the telephony adapter (Twilio-compatible webhooks, SIP,
//! the sandbox phone) turns what happens on the line into [`Event`]s and feeds them to a
//! [`Call`]; [`Call::handle`] answers with [`Action`]s: things to say ([`Prompt`]), keys to
//! gather, a charge to look up, an approval to request, the line to hang up. The flow:
//!
//! 1. greeting; a withheld caller ID is refused;
//! 2. possession check: the host looks up the pending charge for (dialled number, caller ID);
//! 3. read-out of merchant, goods, amount (and the purchase order); 1 pays, 2 declines;
//! 4. auto-pay confirmation of a registered card, or card entry: number (Luhn), expiry (MMYY),
//!    installment months (50,000 KRW and up), birth date or business number, first two
//!    password digits — each validated, retried a bounded number of times, `*` re-asks;
//! 5. the approval request, then the approval number or the reason for the decline.
//!
//! The crate does no I/O at all: no clock (the host passes today's year and month), no
//! network, no files, no randomness, no logging. Card data (number, expiry, birth date,
//! password) lives only in [`CardDetails`], which is zeroized on drop and redacted in `Debug`;
//! it never appears in a [`Prompt`], the [`Call::trace`], a [`Checkpoint`] or an [`Outcome`],
//! and it leaves the machine by move inside the [`Action::RequestApproval`] it belongs to.
//!
//! ```
//! use fieldpay_ivr::{Action, Call, CallConfig, ChargeInfo, Event, Step};
//!
//! let mut call = Call::new(CallConfig::default());
//! let actions = call.handle(Event::Connected {
//!     dialled: "16001234".into(),
//!     caller_id: Some("01012345678".into()),
//!     today: (2026, 5),
//! });
//! assert!(matches!(actions.last(), Some(Action::LookupCharge { .. })));
//! call.handle(Event::ChargeFound(ChargeInfo {
//!     charge_id: "ch_1".into(),
//!     merchant_name: "한빛약품".into(),
//!     goods_name: "감기약".into(),
//!     amount: 12_000,
//!     installments_allowed: false,
//!     order: None,
//!     registered_card: None,
//! }));
//! assert_eq!(call.step(), Step::ReadOut);
//! call.handle(Event::Digits("1".into()));
//! assert_eq!(call.step(), Step::CardNumber);
//! ```

#![forbid(unsafe_code)]

mod card;
mod machine;
mod prompt;
mod words;

use std::fmt;

use fieldpay_protocol::money::INSTALLMENT_MIN_KRW;
use serde::{Deserialize, Serialize};

pub use card::CardDetails;
pub use machine::{Call, Checkpoint, TraceEntry, MAX_REENTRIES};
pub use prompt::{Prompt, RetryReason, SpokenDecline};
pub use words::{digits_words, korean_number_words};

/// The language the call speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// Korean.
    #[default]
    Ko,
    /// English.
    En,
}

/// How a merchant's calls run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallConfig {
    /// Ask for the birth date (or business number of a corporate card).
    pub require_birth_date: bool,
    /// Ask for the first two password digits.
    pub require_password: bool,
    /// Failed inputs (invalid or timed out) allowed per field before the call ends. 0 is
    /// treated as 1.
    pub max_attempts: u8,
    /// Seconds of silence before a gather times out. 0 is treated as 1.
    pub input_timeout_secs: u8,
    /// Language of the prompts.
    pub lang: Lang,
}

impl Default for CallConfig {
    /// Birth date and password asked (the stricter choice), 3 attempts, 7 seconds, Korean.
    fn default() -> Self {
        CallConfig {
            require_birth_date: true,
            require_password: true,
            max_attempts: 3,
            input_timeout_secs: 7,
            lang: Lang::Ko,
        }
    }
}

/// What the host found for (dialled number, caller ID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeInfo {
    /// The pending charge.
    pub charge_id: String,
    /// Merchant name as read out.
    pub merchant_name: String,
    /// Goods description as read out.
    pub goods_name: String,
    /// Amount in KRW. A charge of 0 or less is treated as no charge.
    pub amount: i64,
    /// The merchant/charge allows installments; the machine also requires
    /// [`INSTALLMENT_MIN_KRW`].
    pub installments_allowed: bool,
    /// The purchase order the charge pays, read out after the amount.
    #[serde(default)]
    pub order: Option<OrderSummary>,
    /// Auto-pay: the payer's registered card, offered for confirmation with 1.
    #[serde(default)]
    pub registered_card: Option<RegisteredCard>,
}

impl ChargeInfo {
    /// Whether the installment question is asked: allowed and at least
    /// [`INSTALLMENT_MIN_KRW`] (50,000 KRW).
    pub fn installments_apply(&self) -> bool {
        self.installments_allowed && self.amount >= INSTALLMENT_MIN_KRW
    }
}

/// The purchase order a charge references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    /// Order number, read character by character.
    pub order_number: String,
    /// Number of order lines.
    pub item_count: u32,
    /// Order total in KRW.
    pub total: i64,
}

/// A payer's registered card (auto-pay), as the host may show it: issuer and last 4 digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredCard {
    /// Card company, e.g. "신한카드".
    pub issuer_name: String,
    /// Last 4 digits of the card number.
    pub last4: String,
}

/// Which card to charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardSource {
    /// Keyed in during this call.
    Entered(CardDetails),
    /// The registered card of the charge (auto-pay), confirmed with 1.
    Registered,
}

/// What the host sends to the card connector. Holds card data: not serde; `Debug` redacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// The charge being paid.
    pub charge_id: String,
    /// The card.
    pub card: CardSource,
    /// 0 = lump sum (일시불), else 2..=12.
    pub installment_months: u8,
}

/// Something that happened on the line or in the host.
#[derive(Clone, PartialEq, Eq)]
pub enum Event {
    /// Call answered. `caller_id` None = withheld/anonymous. `today` = (year e.g. 2026,
    /// month 1-12) for expiry checks: the host supplies the date, the machine has no clock.
    Connected {
        /// The virtual number dialled.
        dialled: String,
        /// The caller's number as presented.
        caller_id: Option<String>,
        /// (year, month) now.
        today: (u16, u8),
    },
    /// Answer to [`Action::LookupCharge`]: a pending charge.
    ChargeFound(ChargeInfo),
    /// Answer to [`Action::LookupCharge`]: nothing pending.
    ChargeNotFound,
    /// The keys pressed for the current gather; may end with `#`; `*` first re-asks the
    /// current field. Zeroized by the machine once handled.
    Digits(String),
    /// No input before the gather timeout.
    Timeout,
    /// Answer to [`Action::RequestApproval`].
    ApprovalResult(ApprovalOutcome),
    /// The caller hung up.
    HangUp,
}

impl fmt::Debug for Event {
    /// Like a derived `Debug`, but the keys of [`Event::Digits`] are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Connected {
                dialled,
                caller_id,
                today,
            } => f
                .debug_struct("Connected")
                .field("dialled", dialled)
                .field("caller_id", caller_id)
                .field("today", today)
                .finish(),
            Event::ChargeFound(info) => f.debug_tuple("ChargeFound").field(info).finish(),
            Event::ChargeNotFound => f.write_str("ChargeNotFound"),
            Event::Digits(_) => f.debug_tuple("Digits").field(&"[REDACTED]").finish(),
            Event::Timeout => f.write_str("Timeout"),
            Event::ApprovalResult(outcome) => {
                f.debug_tuple("ApprovalResult").field(outcome).finish()
            }
            Event::HangUp => f.write_str("HangUp"),
        }
    }
}

/// The card connector's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ApprovalOutcome {
    /// Approved.
    Approved {
        /// The issuer's approval number.
        approval_number: String,
        /// Card company.
        issuer_name: String,
        /// First 6 + `*` + last 4.
        masked_card: String,
        /// As approved (0 = lump sum).
        installment_months: u8,
    },
    /// The issuer said no.
    Declined {
        /// Why.
        reason: DeclineReason,
    },
    /// No answer (network, timeout): nothing charged.
    Failed,
}

/// Why the issuer declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    /// 잔액 부족.
    InsufficientFunds,
    /// 분실/도난 카드.
    LostOrStolen,
    /// 비밀번호 오류.
    WrongPassword,
    /// 한도 초과.
    OverLimit,
    /// 카드 정보 오류.
    InvalidCard,
    /// 유효기간 경과.
    Expired,
    /// 카드사 장애.
    IssuerUnavailable,
    /// Anything else.
    Other,
}

impl DeclineReason {
    /// snake_case name, as serialized.
    pub fn code(self) -> &'static str {
        match self {
            DeclineReason::InsufficientFunds => "insufficient_funds",
            DeclineReason::LostOrStolen => "lost_or_stolen",
            DeclineReason::WrongPassword => "wrong_password",
            DeclineReason::OverLimit => "over_limit",
            DeclineReason::InvalidCard => "invalid_card",
            DeclineReason::Expired => "expired",
            DeclineReason::IssuerUnavailable => "issuer_unavailable",
            DeclineReason::Other => "other",
        }
    }
}

/// What the host must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Speak this.
    Say(Prompt),
    /// Wait for keys: collect up to `max_digits`, ending early on `finish_on_key` ('#') when
    /// Some; `timeout_secs` of silence => host sends [`Event::Timeout`]. The prompts are
    /// spoken while gathering (barge-in allowed).
    Gather {
        /// Spoken while gathering.
        prompts: Vec<Prompt>,
        /// Most keys to collect.
        max_digits: u8,
        /// Key that ends the input early.
        finish_on_key: Option<char>,
        /// Silence before [`Event::Timeout`].
        timeout_secs: u8,
    },
    /// Host must look up the pending charge for (dialled, caller_id) and answer
    /// [`Event::ChargeFound`] / [`Event::ChargeNotFound`].
    LookupCharge {
        /// The virtual number dialled.
        dialled: String,
        /// The caller ID (never empty).
        caller_id: String,
    },
    /// Host must send this to the card connector and answer [`Event::ApprovalResult`].
    RequestApproval(ApprovalRequest),
    /// Host must end the call. Always the last action of a terminal step.
    Hangup,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The card was approved.
    Approved,
    /// The issuer declined.
    Declined(DeclineReason),
    /// The payer pressed 2 at the read-out.
    PayerRefused,
    /// Nothing pending for (dialled number, caller ID).
    NoCharge,
    /// Caller ID withheld.
    CallerIdWithheld,
    /// A field failed `max_attempts` times, or `*` was pressed too often.
    TooManyAttempts,
    /// The approval request got no answer; nothing charged.
    ApprovalFailed,
    /// The caller hung up first. If that happened while [`Step::Approving`], the approval
    /// may still complete: the host records the connector's answer on the charge.
    HungUp,
}

impl Outcome {
    /// Short result code for the trace: `approved`, `declined_over_limit`, `hung_up`, …
    pub fn code(&self) -> String {
        match self {
            Outcome::Approved => "approved".into(),
            Outcome::Declined(reason) => format!("declined_{}", reason.code()),
            Outcome::PayerRefused => "payer_refused".into(),
            Outcome::NoCharge => "no_charge".into(),
            Outcome::CallerIdWithheld => "caller_id_withheld".into(),
            Outcome::TooManyAttempts => "too_many_attempts".into(),
            Outcome::ApprovalFailed => "approval_failed".into(),
            Outcome::HungUp => "hung_up".into(),
        }
    }
}

/// Where the call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Waiting for [`Event::Connected`].
    Start,
    /// Waiting for the charge lookup.
    Lookup,
    /// Read-out; 1 pays, 2 declines.
    ReadOut,
    /// Registered card offered; 1 uses it, 2 enters another.
    AutoPayConfirm,
    /// Card number.
    CardNumber,
    /// Expiry MMYY.
    Expiry,
    /// Installment months.
    Installments,
    /// Birth date or business number.
    BirthOrBusiness,
    /// First two password digits.
    Password,
    /// Waiting for the approval result.
    Approving,
    /// Ended; see [`Call::outcome`].
    Done,
}

impl Step {
    /// Steps that wait for keys (an [`Action::Gather`] is outstanding).
    pub fn is_gather(self) -> bool {
        matches!(
            self,
            Step::ReadOut
                | Step::AutoPayConfirm
                | Step::CardNumber
                | Step::Expiry
                | Step::Installments
                | Step::BirthOrBusiness
                | Step::Password
        )
    }

    /// Steps that collect card data (their input is lost on a restart).
    pub fn is_card_entry(self) -> bool {
        matches!(
            self,
            Step::CardNumber
                | Step::Expiry
                | Step::Installments
                | Step::BirthOrBusiness
                | Step::Password
        )
    }
}
