//! Test cards of the sandbox card network, with fixed outcomes.
//!
//! # The rule
//!
//! For a 16-digit card number whose BIN (first six digits) is in the sandbox BIN table, digits
//! 7 to 13 all `0` and digits 14–15 a scenario code, the outcome is fixed by that code (the
//! codes echo ISO 8583 response codes):
//!
//! | digits 7–15 | outcome |
//! |---|---|
//! | `000000051` | insufficient funds (잔액 부족) |
//! | `000000041` | lost or stolen (분실/도난) |
//! | `000000055` | wrong password (비밀번호 오류) |
//! | `000000061` | over limit (한도 초과) |
//! | `000000091` | issuer timeout: `Timeout`, nothing approved |
//! | `000000068` | lost answer: approved, but `approve` answers `Timeout` |
//!
//! So every company has each scenario (BIN + `0000000` + code + Luhn check digit). Any other
//! valid card number with a known BIN is approved. Besides, **any card whose password2 is `"00"`
//! is declined with `WrongPassword`** (unless it is a lost/stolen or issuer-timeout card, whose
//! outcome comes first).
//!
//! Any expiry that is a valid `MMYY` not in the past works with every test card; birth date and
//! password (other than `"00"`) are not checked against anything.
//!
//! [`TEST_CARDS`] lists one representative number per outcome and one approving card per
//! company; the README and the tests list them from there.

use serde::Serialize;

use super::{CardCompany, DeclineCode};

/// The fixed outcome of a test card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    /// Approved.
    Approve,
    /// Declined: [`DeclineCode::InsufficientFunds`].
    InsufficientFunds,
    /// Declined: [`DeclineCode::LostOrStolen`].
    LostOrStolen,
    /// Declined: [`DeclineCode::WrongPassword`].
    WrongPassword,
    /// Declined: [`DeclineCode::OverLimit`].
    OverLimit,
    /// The issuer does not answer: `approve` returns `Timeout` and nothing is approved
    /// (`inquire` finds nothing).
    IssuerTimeout,
    /// The network approves, but the answer is lost: `approve` returns `Timeout`, `inquire`
    /// finds the approval, and a repeated `approve` with the same key returns it.
    LostAnswer,
}

impl TestOutcome {
    /// The decline code, for the outcomes that are declines.
    pub fn decline_code(&self) -> Option<DeclineCode> {
        match self {
            TestOutcome::InsufficientFunds => Some(DeclineCode::InsufficientFunds),
            TestOutcome::LostOrStolen => Some(DeclineCode::LostOrStolen),
            TestOutcome::WrongPassword => Some(DeclineCode::WrongPassword),
            TestOutcome::OverLimit => Some(DeclineCode::OverLimit),
            TestOutcome::Approve | TestOutcome::IssuerTimeout | TestOutcome::LostAnswer => None,
        }
    }
}

// The names stored in the sandbox ledger for registered cards.
fieldpay_protocol::text_names!(TestOutcome {
    Approve => "approve",
    InsufficientFunds => "insufficient_funds",
    LostOrStolen => "lost_or_stolen",
    WrongPassword => "wrong_password",
    OverLimit => "over_limit",
    IssuerTimeout => "issuer_timeout",
    LostAnswer => "lost_answer",
});

/// One documented test card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TestCard {
    /// 16 digits, Luhn-valid.
    pub number: &'static str,
    pub company: CardCompany,
    pub outcome: TestOutcome,
    pub description_ko: &'static str,
    pub description_en: &'static str,
}

const fn card(
    number: &'static str,
    company: CardCompany,
    outcome: TestOutcome,
    description_ko: &'static str,
    description_en: &'static str,
) -> TestCard {
    TestCard {
        number,
        company,
        outcome,
        description_ko,
        description_en,
    }
}

/// The sandbox's documented test cards (all 16 digits, Luhn-valid).
pub const TEST_CARDS: &[TestCard] = &[
    card(
        "9401000000000014",
        CardCompany::Bc,
        TestOutcome::Approve,
        "BC카드 승인",
        "BC Card: approved",
    ),
    card(
        "4579730000000013",
        CardCompany::Kb,
        TestOutcome::Approve,
        "KB국민카드 승인",
        "KB Kookmin Card: approved",
    ),
    card(
        "5310700000000017",
        CardCompany::Samsung,
        TestOutcome::Approve,
        "삼성카드 승인",
        "Samsung Card: approved",
    ),
    card(
        "4518420000000015",
        CardCompany::Shinhan,
        TestOutcome::Approve,
        "신한카드 승인",
        "Shinhan Card: approved",
    ),
    card(
        "4332900000000010",
        CardCompany::Hyundai,
        TestOutcome::Approve,
        "현대카드 승인",
        "Hyundai Card: approved",
    ),
    card(
        "4673090000000017",
        CardCompany::Lotte,
        TestOutcome::Approve,
        "롯데카드 승인",
        "Lotte Card: approved",
    ),
    card(
        "4658870000000011",
        CardCompany::Hana,
        TestOutcome::Approve,
        "하나카드 승인",
        "Hana Card: approved",
    ),
    card(
        "5361810000000012",
        CardCompany::Woori,
        TestOutcome::Approve,
        "우리카드 승인",
        "Woori Card: approved",
    ),
    card(
        "5461120000000015",
        CardCompany::Nh,
        TestOutcome::Approve,
        "NH농협카드 승인",
        "NH NongHyup Card: approved",
    ),
    card(
        "5404470000000519",
        CardCompany::Shinhan,
        TestOutcome::InsufficientFunds,
        "잔액 부족으로 거절",
        "Declined: insufficient funds",
    ),
    card(
        "4512450000000414",
        CardCompany::Samsung,
        TestOutcome::LostOrStolen,
        "분실/도난 카드로 거절",
        "Declined: card reported lost or stolen",
    ),
    card(
        "5155940000000553",
        CardCompany::Hyundai,
        TestOutcome::WrongPassword,
        "비밀번호 오류로 거절 (비밀번호 앞 두 자리가 00인 카드도 모두 거절)",
        "Declined: wrong password (so is any card keyed with password \"00\")",
    ),
    card(
        "5401590000000616",
        CardCompany::Lotte,
        TestOutcome::OverLimit,
        "한도 초과로 거절",
        "Declined: over the card's limit",
    ),
    card(
        "5409260000000915",
        CardCompany::Kb,
        TestOutcome::IssuerTimeout,
        "카드사 응답 없음 (타임아웃, 승인되지 않음)",
        "Issuer timeout: no answer, nothing approved",
    ),
    card(
        "9401010000000682",
        CardCompany::Bc,
        TestOutcome::LostAnswer,
        "승인되었으나 응답 유실 (조회로 승인 확인)",
        "Approved but the answer is lost: inquire finds the approval",
    ),
];

/// The fixed outcome of a card number (already checked: digits, Luhn, known BIN), before the
/// password rule. See the module docs.
pub(crate) fn scenario_of(number: &str) -> TestOutcome {
    if number.len() != 16 || &number[6..13] != "0000000" {
        return TestOutcome::Approve;
    }
    match &number[13..15] {
        "51" => TestOutcome::InsufficientFunds,
        "41" => TestOutcome::LostOrStolen,
        "55" => TestOutcome::WrongPassword,
        "61" => TestOutcome::OverLimit,
        "91" => TestOutcome::IssuerTimeout,
        "68" => TestOutcome::LostAnswer,
        _ => TestOutcome::Approve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldpay_protocol::validate::{luhn_check_digit, luhn_valid};
    use std::collections::HashSet;

    #[test]
    fn test_cards_are_well_formed() {
        let mut numbers = HashSet::new();
        for card in TEST_CARDS {
            assert_eq!(card.number.len(), 16, "{}", card.number);
            assert!(luhn_valid(card.number), "{} fails Luhn", card.number);
            let check = luhn_check_digit(&card.number[..15]).unwrap();
            assert_eq!(card.number.as_bytes()[15] - b'0', check);
            assert_eq!(
                CardCompany::from_bin(card.number),
                Some(card.company),
                "{}",
                card.number
            );
            assert_eq!(scenario_of(card.number), card.outcome, "{}", card.number);
            assert!(numbers.insert(card.number));
            assert!(!card.description_ko.is_empty() && !card.description_en.is_empty());
        }
    }

    #[test]
    fn every_company_has_an_approving_card_and_every_outcome_a_card() {
        for company in CardCompany::all() {
            assert!(
                TEST_CARDS
                    .iter()
                    .any(|c| c.company == company && c.outcome == TestOutcome::Approve),
                "{company:?}"
            );
        }
        for outcome in [
            TestOutcome::InsufficientFunds,
            TestOutcome::LostOrStolen,
            TestOutcome::WrongPassword,
            TestOutcome::OverLimit,
            TestOutcome::IssuerTimeout,
            TestOutcome::LostAnswer,
        ] {
            assert!(
                TEST_CARDS.iter().any(|c| c.outcome == outcome),
                "{outcome:?}"
            );
            assert_eq!(TestOutcome::parse(outcome.as_str()), Some(outcome));
        }
    }

    #[test]
    fn scenario_rule_applies_to_every_bin() {
        for company in CardCompany::all() {
            for bin in company.bins() {
                let partial = format!("{bin}000000051");
                let number = format!("{partial}{}", luhn_check_digit(&partial).unwrap());
                assert_eq!(scenario_of(&number), TestOutcome::InsufficientFunds);
            }
        }
        assert_eq!(scenario_of("4579731234567897"), TestOutcome::Approve);
    }
}
