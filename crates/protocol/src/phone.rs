//! Korean phone numbers, parsed and formatted with libphonenumber's metadata
//! (the `phonenumber` crate). Stored and compared as national digits (`01012345678`),
//! shown as people write them (`010-1234-5678`, `1600-0012`).

use phonenumber::{country::Id, Mode, PhoneNumber, Type};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone {
    digits: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneKind {
    Mobile,
    /// Landlines, 070 internet phones, 1588/1600-style nationwide numbers.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneError {
    Empty,
    NotANumber,
    NotKorean,
    Invalid,
    NotMobile,
}

impl std::fmt::Display for PhoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PhoneError::Empty => "phone number is empty",
            PhoneError::NotANumber => "phone number has characters other than digits, spaces, '-', '(', ')' and a leading '+'",
            PhoneError::NotKorean => "phone number is not a Korean number",
            PhoneError::Invalid => "phone number is not a valid Korean number",
            PhoneError::NotMobile => "phone number is not a mobile number (010-xxxx-xxxx) that can receive texts",
        })
    }
}

impl std::error::Error for PhoneError {}

impl Phone {
    /// Parses national (`010-1234-5678`, `01012345678`, `1600-0012`) or E.164
    /// (`+821012345678`, `+8216000012`) input.
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let ok_chars = trimmed.char_indices().all(|(i, c)| {
            c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.') || (c == '+' && i == 0)
        });
        if !ok_chars {
            return Err(PhoneError::NotANumber);
        }
        let parsed: PhoneNumber =
            phonenumber::parse(Some(Id::KR), trimmed).map_err(|_| PhoneError::NotANumber)?;
        if parsed.code().value() != 82 {
            return Err(PhoneError::NotKorean);
        }
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid);
        }
        let national = parsed.format().mode(Mode::National).to_string();
        let digits: String = national.chars().filter(|c| c.is_ascii_digit()).collect();
        Ok(Phone { digits })
    }

    /// Like [`Phone::parse`], but only mobile numbers (which can receive SMS).
    pub fn parse_mobile(input: &str) -> Result<Phone, PhoneError> {
        let p = Phone::parse(input)?;
        if p.kind() != PhoneKind::Mobile {
            return Err(PhoneError::NotMobile);
        }
        Ok(p)
    }

    /// National digits, e.g. `01012345678`.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    pub fn kind(&self) -> PhoneKind {
        if self.digits.starts_with("01") {
            PhoneKind::Mobile
        } else {
            PhoneKind::Other
        }
    }

    /// As people write it: `010-1234-5678`, `02-123-4567`, `1600-0012`.
    pub fn display(&self) -> String {
        match phonenumber::parse(Some(Id::KR), &self.digits) {
            Ok(p) => p.format().mode(Mode::National).to_string(),
            Err(_) => self.digits.clone(),
        }
    }

    /// E.164, e.g. `+821012345678`.
    pub fn e164(&self) -> String {
        match phonenumber::parse(Some(Id::KR), &self.digits) {
            Ok(p) => p.format().mode(Mode::E164).to_string(),
            Err(_) => format!("+82{}", self.digits.trim_start_matches('0')),
        }
    }

    /// Whether libphonenumber classes this number as a mobile line.
    pub fn is_mobile_by_metadata(&self) -> bool {
        phonenumber::parse(Some(Id::KR), &self.digits)
            .map(|p| {
                matches!(
                    p.number_type(&phonenumber::metadata::DATABASE),
                    Type::Mobile
                )
            })
            .unwrap_or(false)
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_korean_forms() {
        for input in [
            "010-1234-5678",
            "01012345678",
            "+821012345678",
            "+82 10 1234 5678",
            "010 1234 5678",
        ] {
            let p = Phone::parse(input).unwrap();
            assert_eq!(p.digits(), "01012345678", "{input}");
            assert_eq!(p.display(), "010-1234-5678");
            assert_eq!(p.e164(), "+821012345678");
            assert_eq!(p.kind(), PhoneKind::Mobile);
        }
        let rep = Phone::parse("+8216000012").unwrap();
        assert_eq!(rep.digits(), "16000012");
        assert_eq!(rep.display(), "1600-0012");
        assert_eq!(rep.kind(), PhoneKind::Other);
        assert_eq!(
            Phone::parse("02-123-4567").unwrap().display(),
            "02-123-4567"
        );
        assert_eq!(
            Phone::parse("070-1234-5678").unwrap().digits(),
            "07012345678"
        );
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("010-12a4-5678"), Err(PhoneError::NotANumber));
        assert!(Phone::parse("12").is_err());
        assert_eq!(Phone::parse("+1 415 555 2671"), Err(PhoneError::NotKorean));
        assert_eq!(
            Phone::parse_mobile("02-123-4567"),
            Err(PhoneError::NotMobile)
        );
        assert!(Phone::parse("010-1234-567890").is_err());
    }
}
