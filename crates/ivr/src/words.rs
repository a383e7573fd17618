//! Numbers as spoken words: Sino-Korean readings of amounts, digit-by-digit readings of
//! codes, native Korean counts ("두 번") and English equivalents.

use crate::Lang;

const SINO_DIGITS: [&str; 10] = ["영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"];
const EN_DIGITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// Sino-Korean reading of `n` as a TTS engine should speak it.
///
/// Groups of four digits are named 만, 억, 조, 경 and separated by a space; a leading 1 is not
/// spoken before 십, 백, 천 and 만 ("만", not "일만"), but is before 억, 조 and 경 ("일억").
///
/// ```
/// use fieldpay_ivr::korean_number_words;
/// assert_eq!(korean_number_words(0), "영");
/// assert_eq!(korean_number_words(50_000), "오만");
/// assert_eq!(korean_number_words(12_345_678), "천이백삼십사만 오천육백칠십팔");
/// ```
pub fn korean_number_words(n: u64) -> String {
    if n == 0 {
        return SINO_DIGITS[0].to_string();
    }
    const UNITS: [&str; 5] = ["", "만", "억", "조", "경"];
    let mut groups = Vec::new();
    let mut rest = n;
    let mut index = 0;
    while rest > 0 {
        let group = (rest % 10_000) as u16;
        rest /= 10_000;
        if group > 0 {
            let mut words = if group == 1 && index == 1 {
                // 10,000 is "만", never "일만".
                String::new()
            } else {
                group_words(group)
            };
            words.push_str(UNITS[index]);
            groups.push(words);
        }
        index += 1;
    }
    groups.reverse();
    groups.join(" ")
}

/// 1..=9999 without a unit: 1234 -> "천이백삼십사", 1 -> "일", 10 -> "십".
fn group_words(group: u16) -> String {
    const PLACES: [(u16, &str); 4] = [(1000, "천"), (100, "백"), (10, "십"), (1, "")];
    let mut out = String::new();
    for (value, name) in PLACES {
        let digit = (group / value % 10) as usize;
        if digit == 0 {
            continue;
        }
        if digit != 1 || value == 1 {
            out.push_str(SINO_DIGITS[digit]);
        }
        out.push_str(name);
    }
    out
}

/// Reads `s` one character at a time, separated by spaces: digits as words ("1600" ->
/// "일 육 영 영" in Korean, "one six zero zero" in English), letters as themselves (upper
/// case); separators and other symbols are left out.
pub fn digits_words(s: &str, lang: Lang) -> String {
    let mut words: Vec<String> = Vec::new();
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            let table = match lang {
                Lang::Ko => &SINO_DIGITS,
                Lang::En => &EN_DIGITS,
            };
            words.push(table[d as usize].to_string());
        } else if c.is_alphabetic() {
            words.extend(c.to_uppercase().map(String::from));
        }
    }
    words.join(" ")
}

/// An amount for speech: Sino-Korean words in Korean ("십이만"), digits with thousands
/// separators in English ("120,000"). Negative amounts never reach a prompt (the machine
/// refuses such a charge) but are read with a sign rather than panicking.
pub(crate) fn amount_words(amount: i64, lang: Lang) -> String {
    let abs = amount.unsigned_abs();
    match (lang, amount < 0) {
        (Lang::Ko, false) => korean_number_words(abs),
        (Lang::Ko, true) => format!("마이너스 {}", korean_number_words(abs)),
        (Lang::En, false) => thousands(abs),
        (Lang::En, true) => format!("-{}", thousands(abs)),
    }
}

/// 1234567 -> "1,234,567".
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Native Korean count for "N번" (times): 1 -> "한", 2 -> "두", 20 -> "스무", 21 -> "스물한".
/// Falls back to Sino-Korean from 100 up (never reached with sane attempt limits).
pub(crate) fn native_count(n: u32) -> String {
    const UNITS: [&str; 10] = [
        "", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉",
    ];
    const TENS: [&str; 10] = [
        "", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔",
    ];
    match n {
        0 => SINO_DIGITS[0].to_string(),
        20 => "스무".to_string(),
        1..=99 => format!("{}{}", TENS[(n / 10) as usize], UNITS[(n % 10) as usize]),
        _ => korean_number_words(u64::from(n)),
    }
}

/// The particle "로"/"으로" that follows the Korean reading of `s`'s last character: 으로 after
/// a final consonant other than ㄹ (삼, 육, 영), 로 otherwise.
pub(crate) fn ro_particle(s: &str) -> &'static str {
    match s.chars().last() {
        Some('3' | '6' | '0') => "으로",
        Some(c) if c.is_ascii_digit() => "로",
        Some(c) if ('가'..='힣').contains(&c) => {
            let jong = (c as u32 - '가' as u32) % 28;
            // 0 = no final consonant, 8 = ㄹ.
            if jong == 0 || jong == 8 {
                "로"
            } else {
                "으로"
            }
        }
        _ => "(으)로",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korean_numbers() {
        let cases: &[(u64, &str)] = &[
            (0, "영"),
            (1, "일"),
            (2, "이"),
            (10, "십"),
            (11, "십일"),
            (20, "이십"),
            (100, "백"),
            (101, "백일"),
            (110, "백십"),
            (1000, "천"),
            (1234, "천이백삼십사"),
            (10_000, "만"),
            (10_001, "만 일"),
            (11_000, "만 천"),
            (20_000, "이만"),
            (50_000, "오만"),
            (110_000, "십일만"),
            (120_000, "십이만"),
            (1_000_000, "백만"),
            (10_000_000, "천만"),
            (12_345_678, "천이백삼십사만 오천육백칠십팔"),
            (100_000_000, "일억"),
            (100_010_000, "일억 만"),
            (110_000_000, "일억 천만"),
            (1_234_567_890, "십이억 삼천사백오십육만 칠천팔백구십"),
            (1_000_000_000_000, "일조"),
            (10_000_000_000_000_000, "일경"),
        ];
        for (n, words) in cases {
            assert_eq!(korean_number_words(*n), *words, "{n}");
        }
        // The largest value must not panic.
        assert!(korean_number_words(u64::MAX).starts_with("천팔백사십사경"));
    }

    #[test]
    fn digit_by_digit() {
        assert_eq!(digits_words("1600", Lang::Ko), "일 육 영 영");
        assert_eq!(digits_words("1600", Lang::En), "one six zero zero");
        assert_eq!(digits_words("po-12", Lang::Ko), "P O 일 이");
        assert_eq!(digits_words("", Lang::Ko), "");
    }

    #[test]
    fn amounts_and_counts() {
        assert_eq!(amount_words(120_000, Lang::Ko), "십이만");
        assert_eq!(amount_words(120_000, Lang::En), "120,000");
        assert_eq!(amount_words(999, Lang::En), "999");
        assert_eq!(amount_words(1_000, Lang::En), "1,000");
        assert_eq!(amount_words(-5_000, Lang::En), "-5,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(native_count(1), "한");
        assert_eq!(native_count(2), "두");
        assert_eq!(native_count(3), "세");
        assert_eq!(native_count(10), "열");
        assert_eq!(native_count(12), "열두");
        assert_eq!(native_count(20), "스무");
        assert_eq!(native_count(21), "스물한");
        assert_eq!(native_count(255), "이백오십오");
    }

    #[test]
    fn particles() {
        assert_eq!(ro_particle("1111"), "로");
        assert_eq!(ro_particle("1113"), "으로");
        assert_eq!(ro_particle("1110"), "으로");
        assert_eq!(ro_particle("1117"), "로");
        assert_eq!(ro_particle("삼"), "으로");
        assert_eq!(ro_particle("칠"), "로");
        assert_eq!(ro_particle("카드"), "로");
        assert_eq!(ro_particle(""), "(으)로");
    }
}
