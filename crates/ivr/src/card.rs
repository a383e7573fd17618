//! The card as keyed in, and the checks on each keyed field.
//!
//! Nothing here copies a secret into a long-lived place: the checks borrow the input, and
//! [`CardDetails`] wipes its memory when dropped.

use std::fmt;

use fieldpay_protocol::secret::REDACTED;
use fieldpay_protocol::validate::business_number_valid;
use fieldpay_protocol::{CardNumber, CardNumberError};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::prompt::RetryReason;

/// The card as keyed in during the call.
///
/// Every field is secret: the memory is zeroized on drop (clones too), `Debug` prints
/// `[REDACTED]`, and the type is deliberately not serde. What may be kept (BIN, last four, the
/// masked number) comes from [`CardNumber`]: `card.number().masked()`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct CardDetails {
    number: CardNumber,
    expiry_mmyy: String,
    birth_or_business: Option<String>,
    password2: Option<String>,
}

impl CardDetails {
    /// Builds card details from already collected fields. The number is checked by its type;
    /// the other fields are not validated here: the call flow validates as it collects, other
    /// adapters and tests must validate themselves.
    pub fn new(
        number: CardNumber,
        expiry_mmyy: impl Into<String>,
        birth_or_business: Option<String>,
        password2: Option<String>,
    ) -> Self {
        CardDetails {
            number,
            expiry_mmyy: expiry_mmyy.into(),
            birth_or_business,
            password2,
        }
    }

    /// A card of which only the number is keyed so far.
    pub(crate) fn with_number(number: CardNumber) -> Self {
        CardDetails::new(number, String::new(), None, None)
    }

    /// The card number.
    pub fn number(&self) -> &CardNumber {
        &self.number
    }

    /// The expiry as keyed: `MMYY`.
    pub fn expiry_mmyy(&self) -> &str {
        &self.expiry_mmyy
    }

    /// Birth date `YYMMDD` (6 digits) or business registration number (10 digits), when the
    /// merchant asks for it.
    pub fn birth_or_business(&self) -> Option<&str> {
        self.birth_or_business.as_deref()
    }

    /// The first two password digits, when the merchant asks for them.
    pub fn password2(&self) -> Option<&str> {
        self.password2.as_deref()
    }

    /// Moves the keys into the expiry (the keys are left empty).
    pub(crate) fn set_expiry(&mut self, keys: &mut Zeroizing<String>) {
        self.expiry_mmyy.zeroize();
        self.expiry_mmyy = std::mem::take(&mut **keys);
    }

    /// Moves the keys into the birth date / business number (the keys are left empty).
    pub(crate) fn set_birth_or_business(&mut self, keys: &mut Zeroizing<String>) {
        self.birth_or_business.zeroize();
        self.birth_or_business = Some(std::mem::take(&mut **keys));
    }

    /// Moves the keys into the password digits (the keys are left empty).
    pub(crate) fn set_password2(&mut self, keys: &mut Zeroizing<String>) {
        self.password2.zeroize();
        self.password2 = Some(std::mem::take(&mut **keys));
    }
}

impl fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardDetails")
            .field("number", &self.number)
            .field("expiry_mmyy", &REDACTED)
            .field(
                "birth_or_business",
                &self.birth_or_business.as_ref().map(|_| REDACTED),
            )
            .field("password2", &self.password2.as_ref().map(|_| REDACTED))
            .finish()
    }
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// Two ASCII digits at `s[at..at + 2]` as a number.
fn two_digits(s: &[u8], at: usize) -> u8 {
    (s[at] - b'0') * 10 + (s[at + 1] - b'0')
}

/// Card number: the rules of [`CardNumber::parse`] (digits only, 14 to 19 of them, Luhn check
/// digit), each failure told to the payer with its own retry reason.
pub(crate) fn parse_card_number(input: &str) -> Result<CardNumber, RetryReason> {
    CardNumber::parse(input).map_err(|e| match e {
        CardNumberError::NotDigits => RetryReason::NotDigits,
        CardNumberError::Length => RetryReason::CardNumberLength,
        CardNumberError::CheckDigit => RetryReason::CardNumberInvalid,
    })
}

/// Expiry `MMYY`: month 1–12; the card is valid through the end of that month, so the
/// current month is fine; at most 20 years ahead of `today` (`(year, month)`).
pub(crate) fn check_expiry(input: &str, today: (u16, u8)) -> Result<(), RetryReason> {
    if input.len() != 4 || !all_digits(input) {
        return Err(RetryReason::ExpiryFormat);
    }
    let bytes = input.as_bytes();
    let month = two_digits(bytes, 0);
    let yy = i32::from(two_digits(bytes, 2));
    if !(1..=12).contains(&month) {
        return Err(RetryReason::ExpiryFormat);
    }
    let (this_year, this_month) = (i32::from(today.0), i32::from(today.1));
    // The year in the century closest to today's year.
    let mut year = this_year - this_year.rem_euclid(100) + yy;
    if year + 50 < this_year {
        year += 100;
    } else if year > this_year + 50 {
        year -= 100;
    }
    let expiry = year * 12 + i32::from(month);
    let now = this_year * 12 + this_month;
    if expiry < now {
        return Err(RetryReason::ExpiryExpired);
    }
    if expiry > now + 20 * 12 {
        return Err(RetryReason::ExpiryTooFar);
    }
    Ok(())
}

/// Installment months: `0`/`00` for a lump sum (일시불), 2 to 12 otherwise.
pub(crate) fn parse_installments(input: &str) -> Result<u8, RetryReason> {
    if !all_digits(input) {
        return Err(RetryReason::NotDigits);
    }
    if input.len() > 2 {
        return Err(RetryReason::InstallmentsInvalid);
    }
    let months = input.bytes().fold(0u8, |acc, b| acc * 10 + (b - b'0'));
    match months {
        0 | 2..=12 => Ok(months),
        _ => Err(RetryReason::InstallmentsInvalid),
    }
}

/// Birth date `YYMMDD` (a real calendar day in 19YY or 20YY) or a 10-digit business
/// registration number with a valid check digit.
pub(crate) fn check_birth_or_business(input: &str) -> Result<(), RetryReason> {
    if !all_digits(input) {
        return Err(RetryReason::NotDigits);
    }
    match input.len() {
        6 => {
            let bytes = input.as_bytes();
            let yy = two_digits(bytes, 0);
            let month = two_digits(bytes, 2);
            let day = two_digits(bytes, 4);
            // 20YY is a leap year exactly when YY % 4 == 0 (2000 included); 19YY never is
            // when 20YY is not, so "either century" is the same rule.
            let leap = yy % 4 == 0;
            let days = match month {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => return Err(RetryReason::BirthDateInvalid),
            };
            if (1..=days).contains(&day) {
                Ok(())
            } else {
                Err(RetryReason::BirthDateInvalid)
            }
        }
        10 => {
            if business_number_valid(input) {
                Ok(())
            } else {
                Err(RetryReason::BusinessNumberInvalid)
            }
        }
        _ => Err(RetryReason::BirthOrBusinessLength),
    }
}

/// The first two password digits: exactly two digits.
pub(crate) fn check_password2(input: &str) -> Result<(), RetryReason> {
    if !all_digits(input) {
        return Err(RetryReason::NotDigits);
    }
    if input.len() != 2 {
        return Err(RetryReason::PasswordLength);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (u16, u8) = (2026, 5);

    fn card(number: &str, expiry: &str, birth: Option<&str>, pw: Option<&str>) -> CardDetails {
        CardDetails::new(
            CardNumber::parse(number).unwrap(),
            expiry,
            birth.map(str::to_string),
            pw.map(str::to_string),
        )
    }

    #[test]
    fn card_details_accessors_and_mask() {
        let card = card("4111111111111111", "1228", Some("900101"), None);
        assert_eq!(card.number().expose_digits(), "4111111111111111");
        assert_eq!(card.expiry_mmyy(), "1228");
        assert_eq!(card.birth_or_business(), Some("900101"));
        assert_eq!(card.password2(), None);
        assert_eq!(card.number().bin(), "411111");
        assert_eq!(card.number().last4(), "1111");
        assert_eq!(card.number().masked(), "411111******1111");
        // One mask for every length (the one the card network and our records keep).
        let amex = self::card("378282246310005", "0130", None, None);
        assert_eq!(amex.number().masked(), "378282******0005");
        let diners = self::card("36227206271667", "0130", None, None);
        assert_eq!(diners.number().masked(), "362272******1667");
    }

    #[test]
    fn odd_card_details_do_not_panic() {
        // Short, empty or non-ASCII input never becomes a card: there is nothing to mask.
        assert_eq!(
            parse_card_number("1234").unwrap_err(),
            RetryReason::CardNumberLength
        );
        assert_eq!(
            parse_card_number("").unwrap_err(),
            RetryReason::CardNumberLength
        );
        assert_eq!(
            parse_card_number("일이삼사오육칠팔구영일이삼사").unwrap_err(),
            RetryReason::NotDigits
        );
        // A card wiped in place keeps answering, with nothing.
        let mut wiped = card("4111111111111111", "1228", None, None);
        wiped.zeroize();
        assert_eq!(wiped.number().bin(), "");
        assert_eq!(wiped.number().last4(), "");
        assert_eq!(wiped.number().masked(), "");
    }

    #[test]
    fn debug_is_redacted() {
        let card = card("4111111111111111", "1228", Some("900101"), Some("12"));
        let debug = format!("{card:?} {card:#?}");
        for secret in ["4111", "1228", "900101", "\"12\""] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("[REDACTED]"));
    }

    #[test]
    fn zeroize_clears_every_field() {
        let mut card = card("4111111111111111", "1228", Some("900101"), Some("12"));
        card.zeroize();
        assert_eq!(card.number().expose_digits(), "");
        assert_eq!(card.expiry_mmyy(), "");
        assert_eq!(card.birth_or_business(), None);
        assert_eq!(card.password2(), None);
    }

    #[test]
    fn setters_move_the_keys_out() {
        let mut card = card("4111111111111111", "", None, None);
        let mut keys = Zeroizing::new(String::from("1228"));
        card.set_expiry(&mut keys);
        assert_eq!((card.expiry_mmyy(), keys.as_str()), ("1228", ""));
        let mut keys = Zeroizing::new(String::from("900101"));
        card.set_birth_or_business(&mut keys);
        assert_eq!(
            (card.birth_or_business(), keys.as_str()),
            (Some("900101"), "")
        );
        let mut keys = Zeroizing::new(String::from("12"));
        card.set_password2(&mut keys);
        assert_eq!((card.password2(), keys.as_str()), (Some("12"), ""));
    }

    #[test]
    fn card_numbers() {
        let check = |s: &str| parse_card_number(s).map(|n| n.expose_digits().to_string());
        assert_eq!(check("4111111111111111"), Ok("4111111111111111".into()));
        assert_eq!(check("36227206271667"), Ok("36227206271667".into())); // 14 digits
        assert_eq!(check("6011000990139424"), Ok("6011000990139424".into()));
        assert_eq!(
            check("4111111111111112"),
            Err(RetryReason::CardNumberInvalid)
        );
        assert_eq!(check("4111111111111"), Err(RetryReason::CardNumberLength));
        assert_eq!(
            check("41111111111111111111"),
            Err(RetryReason::CardNumberLength)
        );
        assert_eq!(check(""), Err(RetryReason::CardNumberLength));
        assert_eq!(check("4111*111111111111"), Err(RetryReason::NotDigits));
        assert_eq!(check("４111111111111111"), Err(RetryReason::NotDigits));
    }

    #[test]
    fn expiry() {
        assert_eq!(check_expiry("0526", TODAY), Ok(())); // this month is still valid
        assert_eq!(check_expiry("1228", TODAY), Ok(()));
        assert_eq!(check_expiry("0426", TODAY), Err(RetryReason::ExpiryExpired));
        assert_eq!(check_expiry("1225", TODAY), Err(RetryReason::ExpiryExpired));
        assert_eq!(check_expiry("0546", TODAY), Ok(())); // exactly 20 years
        assert_eq!(check_expiry("0646", TODAY), Err(RetryReason::ExpiryTooFar));
        assert_eq!(check_expiry("1399", TODAY), Err(RetryReason::ExpiryFormat));
        assert_eq!(check_expiry("0028", TODAY), Err(RetryReason::ExpiryFormat));
        assert_eq!(check_expiry("128", TODAY), Err(RetryReason::ExpiryFormat));
        assert_eq!(check_expiry("12a8", TODAY), Err(RetryReason::ExpiryFormat));
        assert_eq!(check_expiry("01280", TODAY), Err(RetryReason::ExpiryFormat));
        // Across a century boundary.
        assert_eq!(check_expiry("0302", (2099, 11)), Ok(()));
        assert_eq!(
            check_expiry("1098", (2099, 11)),
            Err(RetryReason::ExpiryExpired)
        );
        // A nonsense "today" must not panic.
        let _ = check_expiry("1228", (0, 0));
        let _ = check_expiry("1228", (u16::MAX, u8::MAX));
    }

    #[test]
    fn installments() {
        assert_eq!(parse_installments("0"), Ok(0));
        assert_eq!(parse_installments("00"), Ok(0));
        assert_eq!(parse_installments("2"), Ok(2));
        assert_eq!(parse_installments("03"), Ok(3));
        assert_eq!(parse_installments("12"), Ok(12));
        assert_eq!(
            parse_installments("1"),
            Err(RetryReason::InstallmentsInvalid)
        );
        assert_eq!(
            parse_installments("01"),
            Err(RetryReason::InstallmentsInvalid)
        );
        assert_eq!(
            parse_installments("13"),
            Err(RetryReason::InstallmentsInvalid)
        );
        assert_eq!(
            parse_installments("99"),
            Err(RetryReason::InstallmentsInvalid)
        );
        assert_eq!(
            parse_installments("100"),
            Err(RetryReason::InstallmentsInvalid)
        );
        assert_eq!(parse_installments("1*"), Err(RetryReason::NotDigits));
    }

    #[test]
    fn birth_dates_and_business_numbers() {
        assert_eq!(check_birth_or_business("900101"), Ok(()));
        assert_eq!(check_birth_or_business("051231"), Ok(()));
        assert_eq!(check_birth_or_business("000229"), Ok(())); // 2000 was a leap year
        assert_eq!(check_birth_or_business("960229"), Ok(()));
        assert_eq!(
            check_birth_or_business("970229"),
            Err(RetryReason::BirthDateInvalid)
        );
        assert_eq!(
            check_birth_or_business("900230"),
            Err(RetryReason::BirthDateInvalid)
        );
        assert_eq!(
            check_birth_or_business("900431"),
            Err(RetryReason::BirthDateInvalid)
        );
        assert_eq!(
            check_birth_or_business("901301"),
            Err(RetryReason::BirthDateInvalid)
        );
        assert_eq!(
            check_birth_or_business("900001"),
            Err(RetryReason::BirthDateInvalid)
        );
        assert_eq!(
            check_birth_or_business("900100"),
            Err(RetryReason::BirthDateInvalid)
        );
        assert_eq!(check_birth_or_business("2208162517"), Ok(()));
        assert_eq!(
            check_birth_or_business("2208162518"),
            Err(RetryReason::BusinessNumberInvalid)
        );
        assert_eq!(
            check_birth_or_business("9001011"),
            Err(RetryReason::BirthOrBusinessLength)
        );
        assert_eq!(
            check_birth_or_business(""),
            Err(RetryReason::BirthOrBusinessLength)
        );
        assert_eq!(
            check_birth_or_business("220-81-6251"),
            Err(RetryReason::NotDigits)
        );
    }

    #[test]
    fn password() {
        assert_eq!(check_password2("12"), Ok(()));
        assert_eq!(check_password2("00"), Ok(()));
        assert_eq!(check_password2("1"), Err(RetryReason::PasswordLength));
        assert_eq!(check_password2("123"), Err(RetryReason::PasswordLength));
        assert_eq!(check_password2("1a"), Err(RetryReason::NotDigits));
    }
}
