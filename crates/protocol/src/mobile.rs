//! The one rule for Korean mobile numbers (휴대전화: the numbers that can receive the ARS
//! text), without libphonenumber: the UI (wasm) checks its forms with it, and
//! [`crate::phone`] (behind the `phone` feature) classes parsed numbers with it.
//!
//! A mobile number is `010` and 8 more digits, or `011`, `016`, `017`, `018`, `019` and 7 or 8
//! more digits.

/// Whether national digits (`01012345678`, nothing but ASCII digits) are a mobile number.
pub fn is_mobile_digits(digits: &str) -> bool {
    let b = digits.as_bytes();
    if !b.iter().all(u8::is_ascii_digit) || b.len() < 10 || !digits.starts_with("01") {
        return false;
    }
    match b[2] {
        b'0' => b.len() == 11,
        b'1' | b'6' | b'7' | b'8' | b'9' => b.len() <= 11,
        _ => false,
    }
}

/// The national digits of a mobile number as people type it: digits with `-` or spaces
/// between them (`010-1234-5678`, `010 1234 5678`, `01012345678`). None when it is anything
/// else (other characters, a landline, a wrong length).
pub fn mobile_digits(input: &str) -> Option<String> {
    let input = input.trim();
    if !input
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
    {
        return None;
    }
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    is_mobile_digits(&digits).then_some(digits)
}

/// Whether `input` is a mobile number as people type it (see [`mobile_digits`]).
pub fn is_mobile(input: &str) -> bool {
    mobile_digits(input).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers() {
        assert_eq!(mobile_digits("01012345678").as_deref(), Some("01012345678"));
        assert_eq!(
            mobile_digits("010-1234-5678").as_deref(),
            Some("01012345678")
        );
        assert_eq!(
            mobile_digits(" 010 1234 5678 ").as_deref(),
            Some("01012345678")
        );
        assert!(is_mobile("0111234567"));
        assert!(is_mobile("011-1234-5678"));
        for prefix in ["016", "017", "018", "019"] {
            assert!(is_mobile(&format!("{prefix}1234567")), "{prefix}");
            assert!(is_mobile(&format!("{prefix}12345678")), "{prefix}");
        }
    }

    #[test]
    fn not_mobile_numbers() {
        for bad in [
            "",
            "0101234567",     // 010 needs 8 more digits
            "010123456789",   // too long
            "0212345678",     // Seoul landline
            "07012345678",    // internet phone
            "16000012",       // nationwide number
            "0121234567",     // 012 is not for texts
            "0151234567",     // no such prefix
            "010123",         // too short
            "010-1234-567a",  // letters
            "+821012345678",  // E.164 is for crate::phone
            "(010)1234-5678", // brackets
        ] {
            assert!(!is_mobile(bad), "{bad}");
        }
        assert!(!is_mobile_digits("010-1234-5678"));
        assert!(is_mobile_digits("01012345678"));
    }
}
