//! Check-digit rules shared by every part: card numbers (Luhn) and Korean business
//! registration numbers (사업자등록번호).

/// Luhn (mod 10) check over an ASCII digit string. Non-digits make it invalid.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// The check digit that completes a Luhn-valid number whose other digits are `partial`.
pub fn luhn_check_digit(partial: &str) -> Option<u8> {
    (0..=9u8).find(|d| luhn_valid(&format!("{partial}{d}")))
}

const BRN_WEIGHTS: [u32; 9] = [1, 3, 7, 1, 3, 7, 1, 3, 5];

/// Check digit of a Korean business registration number from its first nine digits.
pub fn business_number_check_digit(first9: &[u8; 9]) -> u8 {
    let mut sum: u32 = first9
        .iter()
        .zip(BRN_WEIGHTS)
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    sum += u32::from(first9[8]) * 5 / 10;
    ((10 - sum % 10) % 10) as u8
}

/// A 10-digit Korean business registration number (with or without dashes, `123-45-67890`)
/// whose last digit is the correct check digit.
pub fn business_number_valid(input: &str) -> bool {
    normalize_business_number(input).is_some()
}

/// Strips dashes/spaces and checks length and check digit; returns the 10 bare digits.
pub fn normalize_business_number(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let d: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    let mut first9 = [0u8; 9];
    first9.copy_from_slice(&d[..9]);
    (business_number_check_digit(&first9) == d[9]).then_some(digits)
}

/// `1234567890` -> `123-45-67890`.
pub fn format_business_number(digits: &str) -> String {
    if digits.len() == 10 {
        format!("{}-{}-{}", &digits[..3], &digits[3..5], &digits[5..])
    } else {
        digits.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("4111-1111"));
        assert_eq!(luhn_check_digit("411111111111111"), Some(1));
    }

    #[test]
    fn business_numbers() {
        // 220-81-62517 is a widely published valid example (check digit 7).
        assert!(business_number_valid("220-81-62517"));
        assert!(business_number_valid("2208162517"));
        assert!(!business_number_valid("220-81-62518"));
        assert!(!business_number_valid("220-81-6251"));
        assert!(!business_number_valid("22a-81-62517"));
        assert_eq!(format_business_number("2208162517"), "220-81-62517");
        for prefix in [[1, 2, 3, 4, 5, 6, 7, 8, 9], [0; 9], [9; 9]] {
            let c = business_number_check_digit(&prefix);
            let s: String = prefix
                .iter()
                .chain(std::iter::once(&c))
                .map(|d| char::from(b'0' + d))
                .collect();
            assert!(business_number_valid(&s), "{s}");
        }
    }
}
