//! The sandbox network's rules: what it checks in a card and in the terms of an approval, in
//! the order of the module docs, and the answers it gives. Card data is read here and only the
//! card-data-free [`CheckedCard`] goes on.

use chrono::{DateTime, Datelike, Utc};
use fieldpay_protocol::money::INSTALLMENT_MIN_KRW;
use fieldpay_protocol::validate::business_number_valid;

use super::super::testcards::{scenario_of, TestOutcome};
use super::super::{CardCompany, CardInput, ConnectorError, DeclineCode};

/// Card-data-free facts derived from a checked [`CardInput`]; the only thing that crosses to
/// the database thread.
#[derive(Debug, Clone)]
pub(super) struct CheckedCard {
    pub(super) issuer: CardCompany,
    pub(super) masked: String,
    pub(super) last4: String,
    pub(super) outcome: TestOutcome,
}

pub(super) fn declined(code: DeclineCode, card: Option<&CheckedCard>) -> ConnectorError {
    ConnectorError::Declined {
        code,
        masked_card: card.map(|c| c.masked.clone()),
        issuer: card.map(|c| c.issuer),
    }
}

pub(super) fn protocol_checks(key: &str, merchant_id: &str) -> Result<(), ConnectorError> {
    if key.trim().is_empty() {
        return Err(ConnectorError::Unavailable("empty transaction key".into()));
    }
    if merchant_id.trim().is_empty() {
        return Err(ConnectorError::Unavailable("empty merchant id".into()));
    }
    Ok(())
}

/// `true` when `mmyy` is a valid `MMYY` and its month is not before the current month in
/// Korean time (UTC+9).
pub(super) fn expiry_valid(mmyy: &str, now: DateTime<Utc>) -> bool {
    if mmyy.len() != 4 || !mmyy.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (Ok(month), Ok(yy)) = (mmyy[..2].parse::<u32>(), mmyy[2..].parse::<i32>()) else {
        return false;
    };
    if !(1..=12).contains(&month) {
        return false;
    }
    let today = now.with_timezone(&crate::clock::kst());
    (2000 + yy, month) >= (today.year(), today.month())
}

fn birth_or_business_valid(value: &str) -> bool {
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match value.len() {
        6 => {
            let month: u32 = value[2..4].parse().unwrap_or(0);
            let day: u32 = value[4..6].parse().unwrap_or(0);
            (1..=12).contains(&month) && (1..=31).contains(&day)
        }
        10 => business_number_valid(value),
        _ => false,
    }
}

/// Checks 1–4 of the module docs, and the card's fixed outcome. Reads the card data, keeps
/// none of it.
pub(super) fn check_card(
    card: &CardInput<'_>,
    now: DateTime<Utc>,
) -> Result<CheckedCard, ConnectorError> {
    // Check 1 is the type's: a `CardNumber` is digits only, 14..=19 long and Luhn-valid.
    let number = card.number;
    let masked = number.masked();
    let Some(issuer) = CardCompany::from_bin(number.bin()) else {
        return Err(ConnectorError::Declined {
            code: DeclineCode::UnknownBin,
            masked_card: Some(masked),
            issuer: None,
        });
    };
    let mut checked = CheckedCard {
        issuer,
        masked,
        last4: number.last4().to_owned(),
        // The network reads the whole number: its test cards are told by digits 7 to 15.
        outcome: scenario_of(number.expose_digits()),
    };
    if !expiry_valid(card.expiry_mmyy, now) {
        return Err(declined(DeclineCode::Expired, Some(&checked)));
    }
    if let Some(value) = card.birth_or_business {
        if !birth_or_business_valid(value) {
            return Err(declined(DeclineCode::Other, Some(&checked)));
        }
    }
    if let Some(pw) = card.password2 {
        if pw.len() != 2 || !pw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(declined(DeclineCode::WrongPassword, Some(&checked)));
        }
        if pw == "00"
            && !matches!(
                checked.outcome,
                TestOutcome::LostOrStolen | TestOutcome::IssuerTimeout
            )
        {
            checked.outcome = TestOutcome::WrongPassword;
        }
    }
    Ok(checked)
}

pub(super) fn check_terms(
    amount: i64,
    installment_months: u8,
    card: Option<&CheckedCard>,
) -> Result<(), ConnectorError> {
    if installment_months == 1 || installment_months > 12 {
        return Err(declined(DeclineCode::InvalidInstallments, card));
    }
    if installment_months >= 2 && amount < INSTALLMENT_MIN_KRW {
        return Err(declined(DeclineCode::InvalidInstallments, card));
    }
    if amount <= 0 {
        return Err(declined(DeclineCode::Other, card));
    }
    Ok(())
}
