//! What the call says. A [`Prompt`] names a message and carries only non-secret parameters
//! (amounts, names, counts, the registered card's last 4 digits, tries left, the approval
//! number); [`Prompt::text`] gives the words in Korean or English.

use serde::{Deserialize, Serialize};

use crate::words::{amount_words, digits_words, korean_number_words, native_count, ro_particle};
use crate::{DeclineReason, Lang};

/// One message of the call. Serialized with a `"prompt"` tag, e.g.
/// `{"prompt":"retry","reason":"timeout","tries_left":2}`, so a telephony adapter may map
/// prompts to recorded audio instead of TTS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "prompt", rename_all = "snake_case")]
pub enum Prompt {
    /// Opening words.
    Greeting,
    /// The caller ID is withheld: no payment possible.
    CallerIdWithheld,
    /// Nothing is pending for this (dialled number, caller ID).
    NoCharge,
    /// Merchant, goods and amount in won.
    ChargeSummary {
        merchant_name: String,
        goods_name: String,
        amount: i64,
    },
    /// The purchase order the charge pays.
    OrderSummary {
        order_number: String,
        item_count: u32,
        total: i64,
    },
    /// "Press 1 to pay, 2 to decline."
    PayOrDecline,
    /// Auto-pay: the registered card, named by issuer and last 4 digits.
    AutoPayConfirm { issuer_name: String, last4: String },
    /// Ask for the card number.
    CardNumberAsk,
    /// Ask for the expiry (MMYY).
    ExpiryAsk,
    /// Ask for the installment months.
    InstallmentsAsk,
    /// Ask for the birth date (or the business number of a corporate card).
    BirthOrBusinessAsk,
    /// Ask for the first two password digits.
    PasswordAsk,
    /// The caller pressed `*`: the current field is asked again.
    ReEnter,
    /// The last input was not accepted; says why and how many tries are left.
    Retry { reason: RetryReason, tries_left: u8 },
    /// After a server restart: the card details keyed so far were lost.
    InputLost,
    /// The attempts are used up; the call ends.
    TooManyAttempts,
    /// The payer pressed 2 at the read-out; the call ends.
    PayerRefused,
    /// Card details complete; approval requested.
    Processing,
    /// The card company approved the payment.
    Approved {
        issuer_name: String,
        amount: i64,
        installment_months: u8,
        approval_number: String,
    },
    /// A sales slip goes out by SMS.
    ReceiptSms,
    /// The card company declined.
    Declined { reason: DeclineReason },
    /// No answer from the card network; nothing charged.
    ApprovalFailed,
    /// Closing words.
    Goodbye,
}

/// Why an input was not accepted. Also the result code written to the call trace
/// ([`RetryReason::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryReason {
    /// No input before the gather timeout.
    Timeout,
    /// Only `#` (or nothing) was keyed.
    NoInput,
    /// A menu key other than the ones offered.
    InvalidChoice,
    /// Something other than digits (e.g. `*` in the middle).
    NotDigits,
    /// Card number not 14–19 digits.
    CardNumberLength,
    /// Card number fails the Luhn check.
    CardNumberInvalid,
    /// Expiry not MMYY or month not 1–12.
    ExpiryFormat,
    /// Expiry before this month.
    ExpiryExpired,
    /// Expiry more than 20 years ahead.
    ExpiryTooFar,
    /// Installments not 0 or 2–12.
    InstallmentsInvalid,
    /// Neither 6 nor 10 digits.
    BirthOrBusinessLength,
    /// Six digits that are not a calendar day.
    BirthDateInvalid,
    /// Ten digits with a wrong check digit.
    BusinessNumberInvalid,
    /// Password part not exactly two digits.
    PasswordLength,
}

impl RetryReason {
    /// Result code for the call trace: `timeout`, `invalid_luhn`, `expired`, …
    pub fn code(self) -> &'static str {
        match self {
            RetryReason::Timeout => "timeout",
            RetryReason::NoInput => "no_input",
            RetryReason::InvalidChoice => "invalid_choice",
            RetryReason::NotDigits => "not_digits",
            RetryReason::CardNumberLength => "invalid_length",
            RetryReason::CardNumberInvalid => "invalid_luhn",
            RetryReason::ExpiryFormat => "invalid_format",
            RetryReason::ExpiryExpired => "expired",
            RetryReason::ExpiryTooFar => "too_far_ahead",
            RetryReason::InstallmentsInvalid => "invalid_installments",
            RetryReason::BirthOrBusinessLength => "invalid_length",
            RetryReason::BirthDateInvalid => "invalid_date",
            RetryReason::BusinessNumberInvalid => "invalid_business_number",
            RetryReason::PasswordLength => "invalid_length",
        }
    }

    fn text(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Ko => match self {
                RetryReason::Timeout => "입력 시간이 지났습니다.",
                RetryReason::NoInput => "입력된 번호가 없습니다.",
                RetryReason::InvalidChoice => "잘못 누르셨습니다.",
                RetryReason::NotDigits => "숫자만 입력해 주세요.",
                RetryReason::CardNumberLength => "카드번호 자릿수가 맞지 않습니다.",
                RetryReason::CardNumberInvalid => "카드번호가 올바르지 않습니다.",
                RetryReason::ExpiryFormat => "유효기간 형식이 맞지 않습니다.",
                RetryReason::ExpiryExpired => "유효기간이 지났습니다.",
                RetryReason::ExpiryTooFar => "유효기간이 올바르지 않습니다.",
                RetryReason::InstallmentsInvalid => {
                    "할부 개월 수가 올바르지 않습니다. 할부는 2개월부터 12개월까지 가능합니다."
                }
                RetryReason::BirthOrBusinessLength => {
                    "자릿수가 맞지 않습니다. 생년월일은 여섯 자리, 사업자등록번호는 열 자리입니다."
                }
                RetryReason::BirthDateInvalid => "생년월일이 올바르지 않습니다.",
                RetryReason::BusinessNumberInvalid => "사업자등록번호가 올바르지 않습니다.",
                RetryReason::PasswordLength => "비밀번호 앞 두 자리가 맞지 않습니다.",
            },
            Lang::En => match self {
                RetryReason::Timeout => "The time for input has run out.",
                RetryReason::NoInput => "No digits were entered.",
                RetryReason::InvalidChoice => "That is not one of the choices.",
                RetryReason::NotDigits => "Please use the number keys only.",
                RetryReason::CardNumberLength => {
                    "The card number has the wrong number of digits."
                }
                RetryReason::CardNumberInvalid => "The card number is not valid.",
                RetryReason::ExpiryFormat => "The expiry date is not in the right format.",
                RetryReason::ExpiryExpired => "The card has expired.",
                RetryReason::ExpiryTooFar => "The expiry date is not valid.",
                RetryReason::InstallmentsInvalid => {
                    "That number of installment months is not available. Installments are 2 to 12 months."
                }
                RetryReason::BirthOrBusinessLength => {
                    "The number of digits is wrong. A date of birth has six digits, a business registration number ten."
                }
                RetryReason::BirthDateInvalid => "The date of birth is not valid.",
                RetryReason::BusinessNumberInvalid => {
                    "The business registration number is not valid."
                }
                RetryReason::PasswordLength => "Please enter exactly two password digits.",
            },
        }
    }
}

/// What the payer hears after a decline: a category, not the issuer's reason. A caller
/// testing stolen cards must not learn which details were wrong, nor tell a blocked card from
/// an empty one; the rep sees the precise reason on the charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpokenDecline {
    /// Something keyed does not match the card (number, expiry, birth date, password).
    CardDetails,
    /// The card cannot pay this (balance, limit, blocked card, anything else).
    Refused,
    /// The issuer cannot answer now.
    TryLater,
}

impl DeclineReason {
    /// The category a decline is spoken in.
    pub fn spoken(self) -> SpokenDecline {
        match self {
            DeclineReason::WrongPassword | DeclineReason::InvalidCard | DeclineReason::Expired => {
                SpokenDecline::CardDetails
            }
            DeclineReason::InsufficientFunds
            | DeclineReason::OverLimit
            | DeclineReason::LostOrStolen
            | DeclineReason::Other => SpokenDecline::Refused,
            DeclineReason::IssuerUnavailable => SpokenDecline::TryLater,
        }
    }

    fn text(self, lang: Lang) -> &'static str {
        match (lang, self.spoken()) {
            (Lang::Ko, SpokenDecline::CardDetails) => {
                "카드 정보가 맞지 않습니다. 승인되지 않았습니다."
            }
            (Lang::Ko, SpokenDecline::Refused) => {
                "카드사에서 승인이 거절되었습니다. 다른 카드를 이용하시거나 카드사에 문의해 주세요."
            }
            (Lang::Ko, SpokenDecline::TryLater) => {
                "카드사 사정으로 지금은 승인할 수 없습니다. 잠시 후 다시 시도해 주세요."
            }
            (Lang::En, SpokenDecline::CardDetails) => {
                "The card details do not match. The payment was not approved."
            }
            (Lang::En, SpokenDecline::Refused) => {
                "The card company declined the payment. Please use another card or contact your card company."
            }
            (Lang::En, SpokenDecline::TryLater) => {
                "The card company cannot approve payments right now. Please try again later."
            }
        }
    }
}

/// "신한카드" stays as it is; "신한" becomes "신한 카드".
fn issuer_card_ko(issuer: &str) -> String {
    let issuer = issuer.trim();
    if issuer.is_empty() {
        "카드".to_string()
    } else if issuer.ends_with("카드") {
        issuer.to_string()
    } else {
        format!("{issuer} 카드")
    }
}

/// "Shinhan" becomes "Shinhan card"; "Shinhan Card" stays.
fn issuer_card_en(issuer: &str) -> String {
    let issuer = issuer.trim();
    if issuer.is_empty() {
        "card".to_string()
    } else if issuer.to_ascii_lowercase().ends_with("card") {
        issuer.to_string()
    } else {
        format!("{issuer} card")
    }
}

impl Prompt {
    /// The words to speak.
    pub fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::Ko => self.text_ko(),
            Lang::En => self.text_en(),
        }
    }

    fn text_ko(&self) -> String {
        let ko = Lang::Ko;
        match self {
            Prompt::Greeting => "안녕하세요. 필드페이 전화 결제입니다.".into(),
            Prompt::CallerIdWithheld => "발신번호 표시가 제한된 전화는 결제할 수 없습니다. \
                발신번호 표시를 허용하신 뒤 다시 걸어 주세요."
                .into(),
            Prompt::NoCharge => "요청된 결제가 없습니다. \
                결제 요청 문자를 받으신 전화로 다시 걸어 주세요."
                .into(),
            Prompt::ChargeSummary {
                merchant_name,
                goods_name,
                amount,
            } => format!(
                "{merchant_name}에서 요청한 {goods_name}, 결제 금액은 {}원입니다.",
                amount_words(*amount, ko)
            ),
            Prompt::OrderSummary {
                order_number,
                item_count,
                total,
            } => format!(
                "주문번호 {}, 품목 {}건, 합계 {}원입니다.",
                digits_words(order_number, ko),
                korean_number_words(u64::from(*item_count)),
                amount_words(*total, ko)
            ),
            Prompt::PayOrDecline => "결제하시려면 1번, 거절하시려면 2번을 눌러 주세요.".into(),
            Prompt::AutoPayConfirm { issuer_name, last4 } => {
                let digits = digits_words(last4, ko);
                format!(
                    "등록된 {} 끝자리 {digits}{} 결제하시려면 1번, \
                     다른 카드로 결제하시려면 2번을 눌러 주세요.",
                    issuer_card_ko(issuer_name),
                    ro_particle(&digits)
                )
            }
            Prompt::CardNumberAsk => "카드 번호를 누르신 후 우물 정자를 눌러 주세요.".into(),
            Prompt::ExpiryAsk => "카드 유효기간 네 자리를 월, 연도 순서로 눌러 주세요.".into(),
            Prompt::InstallmentsAsk => "할부 개월 수를 눌러 주세요. 일시불은 0번을 누르시고, \
                할부는 2개월부터 12개월까지 누르신 후 우물 정자를 눌러 주세요."
                .into(),
            Prompt::BirthOrBusinessAsk => "생년월일 여섯 자리를 눌러 주세요. \
                법인카드는 사업자등록번호 열 자리를 누르신 후 우물 정자를 눌러 주세요."
                .into(),
            Prompt::PasswordAsk => "카드 비밀번호 앞 두 자리를 눌러 주세요.".into(),
            Prompt::ReEnter => "다시 입력해 주세요.".into(),
            Prompt::Retry { reason, tries_left } => format!(
                "{} {} 번 더 입력하실 수 있습니다.",
                reason.text(ko),
                native_count(u32::from(*tries_left))
            ),
            Prompt::InputLost => "시스템 사정으로 입력하신 카드 정보가 지워졌습니다. \
                카드 번호부터 다시 입력해 주세요."
                .into(),
            Prompt::TooManyAttempts => "입력 횟수를 초과했습니다. 통화를 종료합니다.".into(),
            Prompt::PayerRefused => "결제를 거절하셨습니다. 통화를 종료합니다.".into(),
            Prompt::Processing => "결제를 요청하고 있습니다. 잠시만 기다려 주세요.".into(),
            Prompt::Approved {
                issuer_name,
                amount,
                installment_months,
                approval_number,
            } => {
                let plan = if *installment_months == 0 {
                    "일시불".to_string()
                } else {
                    format!(
                        "{}개월 할부",
                        korean_number_words(u64::from(*installment_months))
                    )
                };
                format!(
                    "{} {}원 {plan} 결제가 승인되었습니다. 승인번호는 {}입니다.",
                    issuer_card_ko(issuer_name),
                    amount_words(*amount, ko),
                    digits_words(approval_number, ko)
                )
            }
            Prompt::ReceiptSms => "문자로 영수증을 보내드립니다.".into(),
            Prompt::Declined { reason } => {
                format!("{} 요금은 청구되지 않았습니다.", reason.text(ko))
            }
            Prompt::ApprovalFailed => "일시적인 오류로 결제하지 못했습니다. \
                요금은 청구되지 않았습니다. 잠시 후 다시 걸어 주세요."
                .into(),
            Prompt::Goodbye => "이용해 주셔서 감사합니다. 통화를 종료합니다.".into(),
        }
    }

    fn text_en(&self) -> String {
        let en = Lang::En;
        match self {
            Prompt::Greeting => "Hello, this is FieldPay phone payment.".into(),
            Prompt::CallerIdWithheld => "Payments cannot be made from a phone that withholds \
                its caller ID. Please show your number and call again."
                .into(),
            Prompt::NoCharge => "There is no payment request for this call. Please call from \
                the phone that received the payment text message."
                .into(),
            Prompt::ChargeSummary {
                merchant_name,
                goods_name,
                amount,
            } => format!(
                "{merchant_name} requests payment for {goods_name}. The amount is {} won.",
                amount_words(*amount, en)
            ),
            Prompt::OrderSummary {
                order_number,
                item_count,
                total,
            } => format!(
                "Order number {}, {item_count} {}, total {} won.",
                digits_words(order_number, en),
                if *item_count == 1 { "item" } else { "items" },
                amount_words(*total, en)
            ),
            Prompt::PayOrDecline => "To pay, press 1. To decline, press 2.".into(),
            Prompt::AutoPayConfirm { issuer_name, last4 } => format!(
                "To pay with your registered {} ending in {}, press 1. \
                 To pay with another card, press 2.",
                issuer_card_en(issuer_name),
                digits_words(last4, en)
            ),
            Prompt::CardNumberAsk => "Enter your card number, then press the pound key.".into(),
            Prompt::ExpiryAsk => {
                "Enter the card's expiry date as four digits, month then year.".into()
            }
            Prompt::InstallmentsAsk => "Enter the number of installment months, from 2 to 12, \
                then press the pound key. For a single payment, press 0."
                .into(),
            Prompt::BirthOrBusinessAsk => "Enter your date of birth as six digits: year, month, \
                day. For a corporate card, enter the ten-digit business registration number, \
                then press the pound key."
                .into(),
            Prompt::PasswordAsk => "Enter the first two digits of your card password.".into(),
            Prompt::ReEnter => "Please enter it again.".into(),
            Prompt::Retry { reason, tries_left } => format!(
                "{} You have {tries_left} more {}.",
                reason.text(en),
                if *tries_left == 1 { "try" } else { "tries" }
            ),
            Prompt::InputLost => "Because of a system interruption, the card details you \
                entered were lost. Please enter them again, starting with the card number."
                .into(),
            Prompt::TooManyAttempts => "You have used up the number of attempts. Goodbye.".into(),
            Prompt::PayerRefused => "You have declined the payment. Goodbye.".into(),
            Prompt::Processing => "Requesting approval. Please wait a moment.".into(),
            Prompt::Approved {
                issuer_name,
                amount,
                installment_months,
                approval_number,
            } => {
                let plan = match installment_months {
                    0 => "as a single payment".to_string(),
                    n => format!("in {n} monthly installments"),
                };
                format!(
                    "Your payment of {} won with your {} {plan} is approved. \
                     The approval number is {}.",
                    amount_words(*amount, en),
                    issuer_card_en(issuer_name),
                    digits_words(approval_number, en)
                )
            }
            Prompt::ReceiptSms => "A receipt will be sent to you by text message.".into(),
            Prompt::Declined { reason } => {
                format!("{} You have not been charged.", reason.text(en))
            }
            Prompt::ApprovalFailed => "Because of a temporary error the payment could not be \
                made. You have not been charged. Please call again later."
                .into(),
            Prompt::Goodbye => "Thank you for calling. Goodbye.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_prompt() -> Vec<Prompt> {
        let reasons = [
            RetryReason::Timeout,
            RetryReason::NoInput,
            RetryReason::InvalidChoice,
            RetryReason::NotDigits,
            RetryReason::CardNumberLength,
            RetryReason::CardNumberInvalid,
            RetryReason::ExpiryFormat,
            RetryReason::ExpiryExpired,
            RetryReason::ExpiryTooFar,
            RetryReason::InstallmentsInvalid,
            RetryReason::BirthOrBusinessLength,
            RetryReason::BirthDateInvalid,
            RetryReason::BusinessNumberInvalid,
            RetryReason::PasswordLength,
        ];
        let mut prompts = vec![
            Prompt::Greeting,
            Prompt::CallerIdWithheld,
            Prompt::NoCharge,
            Prompt::ChargeSummary {
                merchant_name: "한빛약품".into(),
                goods_name: "감기약 외 2건".into(),
                amount: 120_000,
            },
            Prompt::OrderSummary {
                order_number: "20260501-007".into(),
                item_count: 3,
                total: 120_000,
            },
            Prompt::PayOrDecline,
            Prompt::AutoPayConfirm {
                issuer_name: "신한".into(),
                last4: "1234".into(),
            },
            Prompt::CardNumberAsk,
            Prompt::ExpiryAsk,
            Prompt::InstallmentsAsk,
            Prompt::BirthOrBusinessAsk,
            Prompt::PasswordAsk,
            Prompt::ReEnter,
            Prompt::InputLost,
            Prompt::TooManyAttempts,
            Prompt::PayerRefused,
            Prompt::Processing,
            Prompt::Approved {
                issuer_name: "KB국민카드".into(),
                amount: 120_000,
                installment_months: 3,
                approval_number: "30012345".into(),
            },
            Prompt::ReceiptSms,
            Prompt::ApprovalFailed,
            Prompt::Goodbye,
        ];
        prompts.extend(reasons.iter().map(|&reason| Prompt::Retry {
            reason,
            tries_left: 2,
        }));
        prompts.extend(
            [
                DeclineReason::InsufficientFunds,
                DeclineReason::LostOrStolen,
                DeclineReason::WrongPassword,
                DeclineReason::OverLimit,
                DeclineReason::InvalidCard,
                DeclineReason::Expired,
                DeclineReason::IssuerUnavailable,
                DeclineReason::Other,
            ]
            .map(|reason| Prompt::Declined { reason }),
        );
        prompts
    }

    #[test]
    fn every_prompt_has_text_in_both_languages() {
        for prompt in every_prompt() {
            let ko = prompt.text(Lang::Ko);
            let en = prompt.text(Lang::En);
            assert!(!ko.is_empty() && !en.is_empty(), "{prompt:?}");
            assert!(
                ko.chars().any(|c| ('가'..='힣').contains(&c)),
                "Korean text without Hangul: {ko}"
            );
            let carries_name = matches!(
                prompt,
                Prompt::ChargeSummary { .. }
                    | Prompt::AutoPayConfirm { .. }
                    | Prompt::Approved { .. }
            );
            assert!(
                carries_name || !en.chars().any(|c| ('가'..='힣').contains(&c)),
                "Korean words in English text: {en}"
            );
            assert_ne!(ko, en);
        }
    }

    #[test]
    fn prompts_round_trip_through_serde() {
        for prompt in every_prompt() {
            let json = serde_json::to_string(&prompt).unwrap();
            assert!(json.contains("\"prompt\":"), "{json}");
            let back: Prompt = serde_json::from_str(&json).unwrap();
            assert_eq!(back, prompt);
        }
        let json = serde_json::to_string(&Prompt::Retry {
            reason: RetryReason::Timeout,
            tries_left: 2,
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"prompt":"retry","reason":"timeout","tries_left":2}"#
        );
    }

    #[test]
    fn korean_texts() {
        let summary = Prompt::ChargeSummary {
            merchant_name: "한빛약품".into(),
            goods_name: "감기약".into(),
            amount: 120_000,
        };
        assert_eq!(
            summary.text(Lang::Ko),
            "한빛약품에서 요청한 감기약, 결제 금액은 십이만원입니다."
        );
        assert_eq!(
            summary.text(Lang::En),
            "한빛약품 requests payment for 감기약. The amount is 120,000 won."
        );
        let auto = Prompt::AutoPayConfirm {
            issuer_name: "신한카드".into(),
            last4: "1233".into(),
        };
        assert_eq!(
            auto.text(Lang::Ko),
            "등록된 신한카드 끝자리 일 이 삼 삼으로 결제하시려면 1번, \
             다른 카드로 결제하시려면 2번을 눌러 주세요."
        );
        let auto = Prompt::AutoPayConfirm {
            issuer_name: "현대".into(),
            last4: "1111".into(),
        };
        assert!(auto
            .text(Lang::Ko)
            .starts_with("등록된 현대 카드 끝자리 일 일 일 일로 결제"));
        let retry = Prompt::Retry {
            reason: RetryReason::Timeout,
            tries_left: 2,
        };
        assert_eq!(
            retry.text(Lang::Ko),
            "입력 시간이 지났습니다. 두 번 더 입력하실 수 있습니다."
        );
        assert_eq!(
            retry.text(Lang::En),
            "The time for input has run out. You have 2 more tries."
        );
        let approved = Prompt::Approved {
            issuer_name: "KB국민카드".into(),
            amount: 50_000,
            installment_months: 0,
            approval_number: "30012345".into(),
        };
        assert_eq!(
            approved.text(Lang::Ko),
            "KB국민카드 오만원 일시불 결제가 승인되었습니다. \
             승인번호는 삼 영 영 일 이 삼 사 오입니다."
        );
    }

    #[test]
    fn issuer_names() {
        assert_eq!(issuer_card_ko("신한카드"), "신한카드");
        assert_eq!(issuer_card_ko("신한"), "신한 카드");
        assert_eq!(issuer_card_ko(""), "카드");
        assert_eq!(issuer_card_en("Shinhan"), "Shinhan card");
        assert_eq!(issuer_card_en("Shinhan Card"), "Shinhan Card");
        assert_eq!(issuer_card_en(""), "card");
    }
}
