//! Korean phone numbers, parsed and formatted with libphonenumber's metadata
//! (the `phonenumber` crate). Stored and compared as national digits (`01012345678`),
//! shown as people write them (`010-1234-5678`, `1600-0012`).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

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
        if let Some(digits) = fast_mobile(trimmed) {
            return Ok(Phone { digits });
        }
        static PARSED: Memo<Result<Phone, PhoneError>> = OnceLock::new();
        memoized(&PARSED, trimmed, || Phone::parse_with_metadata(trimmed))
    }

    /// The general path of [`Phone::parse`]: libphonenumber's metadata (regular expressions).
    fn parse_with_metadata(trimmed: &str) -> Result<Phone, PhoneError> {
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
        if crate::mobile::is_mobile_digits(&self.digits) {
            PhoneKind::Mobile
        } else {
            PhoneKind::Other
        }
    }

    /// As people write it: `010-1234-5678`, `02-123-4567`, `1600-0012`.
    pub fn display(&self) -> String {
        if let Some(d) = self.mobile_010() {
            return format!("{}-{}-{}", &d[..3], &d[3..7], &d[7..]);
        }
        static DISPLAY: Memo<String> = OnceLock::new();
        memoized(&DISPLAY, &self.digits, || {
            match phonenumber::parse(Some(Id::KR), &self.digits) {
                Ok(p) => p.format().mode(Mode::National).to_string(),
                Err(_) => self.digits.clone(),
            }
        })
    }

    /// E.164, e.g. `+821012345678`.
    pub fn e164(&self) -> String {
        if let Some(d) = self.mobile_010() {
            return format!("+82{}", &d[1..]);
        }
        static E164: Memo<String> = OnceLock::new();
        memoized(&E164, &self.digits, || {
            match phonenumber::parse(Some(Id::KR), &self.digits) {
                Ok(p) => p.format().mode(Mode::E164).to_string(),
                Err(_) => format!("+82{}", self.digits.trim_start_matches('0')),
            }
        })
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

impl Phone {
    /// The digits when this is an `010` mobile number (11 digits), whose national and E.164
    /// forms need no metadata: `010-XXXX-XXXX`, `+8210XXXXXXXX`.
    fn mobile_010(&self) -> Option<&str> {
        let d = self.digits.as_str();
        (d.starts_with("010") && crate::mobile::is_mobile_digits(d)).then_some(d)
    }
}

/// Answers of the metadata path by input, so that the few numbers seen again and again (the
/// merchant's virtual numbers, shown in every charge and text) are not parsed each time.
type Memo<T> = OnceLock<Mutex<HashMap<String, T>>>;
const MEMO_MAX: usize = 4096;

fn memoized<T: Clone>(memo: &'static Memo<T>, key: &str, f: impl FnOnce() -> T) -> T {
    let map = memo.get_or_init(Default::default);
    if let Some(v) = map.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
        return v.clone();
    }
    let v = f();
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    if m.len() >= MEMO_MAX {
        m.clear();
    }
    m.insert(key.to_string(), v.clone());
    v
}

/// The common case without libphonenumber's regular expressions (they cost ~50 µs a parse):
/// an `010` mobile number outside the `010-5XXX` block, written `01012345678`, `010-1234-5678` or `010 1234 5678`. Gives the
/// same digits as the metadata path; `tests::fast_path_agrees_with_metadata` checks every
/// `010-XXXX` block.
fn fast_mobile(input: &str) -> Option<String> {
    let b = input.as_bytes();
    let digits: String = match b.len() {
        11 => input.to_string(),
        13 if (b[3] == b'-' && b[8] == b'-') || (b[3] == b' ' && b[8] == b' ') => {
            [&input[..3], &input[4..8], &input[9..]].concat()
        }
        _ => return None,
    };
    let ok = crate::mobile::is_mobile_digits(&digits)
        && digits.starts_with("010")
        // 010-5XXX: libphonenumber's metadata leaves parts of this block out (e.g. 010-597X)
        && digits.as_bytes()[3] != b'5';
    ok.then_some(digits)
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
    fn fast_path_agrees_with_metadata() {
        for block in 0..10_000u32 {
            for tail in ["0000", "4821", "9999"] {
                let digits = format!("010{block:04}{tail}");
                let dashed = format!("010-{block:04}-{tail}");
                let slow = Phone::parse_with_metadata(&digits);
                if let Some(d) = fast_mobile(&digits) {
                    assert_eq!(Some(Phone { digits: d }), slow.clone().ok(), "{digits}");
                }
                assert_eq!(Phone::parse(&dashed), slow, "{dashed}");
                assert_eq!(Phone::parse(&digits), slow, "{digits}");
                let Ok(p) = slow else { continue };
                let national = phonenumber::parse(Some(Id::KR), p.digits()).unwrap();
                assert_eq!(
                    p.display(),
                    national.format().mode(Mode::National).to_string()
                );
                assert_eq!(p.e164(), national.format().mode(Mode::E164).to_string());
            }
        }
        assert_eq!(fast_mobile("010-1234 5678"), None);
        assert_eq!(fast_mobile("011-1234-5678"), None);
        assert_eq!(fast_mobile("0101234567"), None);
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
        // Numbers libphonenumber accepts that are not mobile by crate::mobile's rule.
        for other in ["010-123-4567", "012-123-4567"] {
            if let Ok(p) = Phone::parse(other) {
                assert_eq!(p.kind(), PhoneKind::Other, "{other}");
            }
            assert!(Phone::parse_mobile(other).is_err(), "{other}");
        }
    }
}
