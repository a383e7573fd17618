//! The card number as a checked, secret value.
//!
//! A [`CardNumber`] exists only after [`CardNumber::parse`] accepted the input: ASCII digits,
//! 14 to 19 of them, with a valid Luhn check digit. Like [`crate::Secret`] it wipes its memory
//! when dropped (clones too) and prints as `[REDACTED]` with `{:?}` and `{}`. Unlike it, it is
//! not serde at all: a card number never goes on any wire of ours, into a database or a log.
//!
//! What may be kept or shown is derived from it: [`CardNumber::bin`] (first six digits, which
//! name the issuer), [`CardNumber::last4`] and [`CardNumber::masked`]. The digits themselves are
//! read only through [`CardNumber::expose_digits`], for the one place that must send them to
//! the card network.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::secret::REDACTED;
use crate::validate::luhn_valid;

/// Fewest digits of a card number (e.g. Diners Club).
pub const CARD_NUMBER_MIN_DIGITS: usize = 14;
/// Most digits of a card number (ISO/IEC 7812).
pub const CARD_NUMBER_MAX_DIGITS: usize = 19;

/// Digits of the BIN (issuer identification) at the start of a card number.
const BIN_DIGITS: usize = 6;
/// Digits at the end of a card number that may be kept.
const LAST_DIGITS: usize = 4;
/// What stands for the hidden middle digits in [`CardNumber::masked`].
const MASK: &str = "******";

/// Why a text is not a card number. The messages name the rule, never the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardNumberError {
    /// Something other than the ASCII digits `0`–`9`.
    NotDigits,
    /// Fewer than 14 or more than 19 digits.
    Length,
    /// The Luhn check digit does not match.
    CheckDigit,
}

impl fmt::Display for CardNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CardNumberError::NotDigits => "card number: digits only",
            CardNumberError::Length => "card number: 14 to 19 digits",
            CardNumberError::CheckDigit => "card number: check digit does not match",
        })
    }
}

impl std::error::Error for CardNumberError {}

/// A card number that passed the checks of [`CardNumber::parse`].
///
/// Zeroized on drop, redacted in `Debug` and `Display`, not serde.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber {
    /// 14..=19 ASCII digits (empty only after an explicit [`Zeroize::zeroize`]).
    digits: String,
}

impl CardNumber {
    /// Checks, in this order: ASCII digits only, then 14..=19 of them, then the Luhn check
    /// digit. The input is only borrowed: wiping it stays the caller's job.
    pub fn parse(input: &str) -> Result<CardNumber, CardNumberError> {
        if !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardNumberError::NotDigits);
        }
        if !(CARD_NUMBER_MIN_DIGITS..=CARD_NUMBER_MAX_DIGITS).contains(&input.len()) {
            return Err(CardNumberError::Length);
        }
        if !luhn_valid(input) {
            return Err(CardNumberError::CheckDigit);
        }
        Ok(CardNumber {
            digits: input.to_owned(),
        })
    }

    /// The first six digits: the BIN, which names the issuer. May be kept.
    pub fn bin(&self) -> &str {
        self.digits.get(..BIN_DIGITS).unwrap_or("")
    }

    /// The last four digits. May be kept.
    pub fn last4(&self) -> &str {
        let start = self.digits.len().saturating_sub(LAST_DIGITS);
        self.digits.get(start..).unwrap_or("")
    }

    /// The only form of the number that may be kept or shown: first six digits, `******`,
    /// last four (`457973******0013`), whatever the length of the number.
    pub fn masked(&self) -> String {
        if self.digits.is_empty() {
            return String::new();
        }
        format!("{}{MASK}{}", self.bin(), self.last4())
    }

    /// All the digits. For the approval request to the card network only: never log, store,
    /// print or copy them into anything that outlives the request.
    pub fn expose_digits(&self) -> &str {
        &self.digits
    }
}

impl Zeroize for CardNumber {
    fn zeroize(&mut self) {
        self.digits.zeroize();
    }
}

impl Drop for CardNumber {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for CardNumber {}

/// `Debug` and `Display` of a card number: both print only [`REDACTED`].
macro_rules! print_redacted {
    ($($trait:ident),+) => {$(
        impl fmt::$trait for CardNumber {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }
    )+};
}

print_redacted!(Debug, Display);

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> CardNumber {
        CardNumber::parse(s).unwrap()
    }

    #[test]
    fn parses_in_rule_order() {
        assert!(CardNumber::parse("4111111111111111").is_ok());
        assert!(CardNumber::parse("36227206271667").is_ok()); // 14 digits
        assert!(CardNumber::parse("6011000990139424").is_ok());
        assert!(CardNumber::parse("4579731111111111118").is_ok()); // 19 digits
        let err = |s: &str| CardNumber::parse(s).unwrap_err();
        assert_eq!(err("4111111111111112"), CardNumberError::CheckDigit);
        assert_eq!(err("4111111111111"), CardNumberError::Length);
        assert_eq!(err("41111111111111111111"), CardNumberError::Length);
        assert_eq!(err(""), CardNumberError::Length);
        assert_eq!(err("4111*111111111111"), CardNumberError::NotDigits);
        assert_eq!(err("4111-1111-1111-1111"), CardNumberError::NotDigits);
        // Full-width digits are not ASCII digits.
        assert_eq!(err("４111111111111111"), CardNumberError::NotDigits);
        // Non-digits win over a wrong length.
        assert_eq!(err("12a"), CardNumberError::NotDigits);
        for e in [
            CardNumberError::NotDigits,
            CardNumberError::Length,
            CardNumberError::CheckDigit,
        ] {
            assert!(e.to_string().starts_with("card number: "));
        }
    }

    #[test]
    fn bin_last4_and_mask() {
        let visa = num("4111111111111111");
        assert_eq!(visa.bin(), "411111");
        assert_eq!(visa.last4(), "1111");
        assert_eq!(visa.masked(), "411111******1111");
        assert_eq!(visa.expose_digits(), "4111111111111111");
        // Six stars whatever the length: the form the ledgers and receipts keep.
        assert_eq!(num("378282246310005").masked(), "378282******0005");
        assert_eq!(num("36227206271667").masked(), "362272******1667");
        assert_eq!(num("45184227182812").masked(), "451842******2812");
        assert_eq!(num("4579731111111111118").masked(), "457973******1118");
    }

    #[test]
    fn never_printed() {
        let n = num("5409263141592659");
        let shown = format!("{n:?} {n} {n:#?} {:?}", Some(n.clone()));
        assert!(!shown.contains("5409"), "{shown}");
        assert!(!shown.contains("2659"), "{shown}");
        assert_eq!(format!("{n:?}"), REDACTED);
        assert_eq!(format!("{n}"), REDACTED);
        let err = CardNumber::parse("5409263141592658").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("5409"));
    }

    #[test]
    fn zeroize_empties_and_accessors_stay_safe() {
        let mut n = num("5409263141592659");
        let copy = n.clone();
        n.zeroize();
        assert_eq!(n.expose_digits(), "");
        assert_eq!((n.bin(), n.last4(), n.masked().as_str()), ("", "", ""));
        // A clone owns its own digits.
        assert_eq!(copy.expose_digits(), "5409263141592659");
    }
}
