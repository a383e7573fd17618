//! Text normalisation for search: Hangul composition, initial consonants (초성),
//! width folding, lowercasing and digit extraction.
//!
//! Everything that is indexed and every query goes through the same functions here, so the
//! index and the query always agree on what a "unit" (one searchable character) is.

/// First precomposed Hangul syllable, 가.
pub(crate) const SBASE: u32 = 0xAC00;
/// Last precomposed Hangul syllable, 힣.
const SLAST: u32 = 0xD7A3;
const VCOUNT: u32 = 21;
const TCOUNT: u32 = 28;
/// Syllables per initial consonant.
const NCOUNT: u32 = VCOUNT * TCOUNT;

/// Conjoining jamo ranges (as produced by NFD, e.g. names typed or stored on macOS).
const L_FIRST: u32 = 0x1100;
const L_LAST: u32 = 0x1112;
const V_FIRST: u32 = 0x1161;
const V_LAST: u32 = 0x1175;
const T_FIRST: u32 = 0x11A8;
const T_LAST: u32 = 0x11C2;
/// Compatibility jamo ㅏ; the 21 vowels follow in the same order as U+1161..U+1175.
const COMPAT_A: u32 = 0x314F;

/// The 19 initial consonants as compatibility jamo, in 초성 order (index = (syllable - 가) / 588).
const CHO: [char; 19] = [
    'ㄱ', 'ㄲ', 'ㄴ', 'ㄷ', 'ㄸ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅃ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅉ', 'ㅊ', 'ㅋ',
    'ㅌ', 'ㅍ', 'ㅎ',
];

/// The 27 final consonants (종성 1..=27) as compatibility jamo.
const JONG: [char; 27] = [
    'ㄱ', 'ㄲ', 'ㄳ', 'ㄴ', 'ㄵ', 'ㄶ', 'ㄷ', 'ㄹ', 'ㄺ', 'ㄻ', 'ㄼ', 'ㄽ', 'ㄾ', 'ㄿ', 'ㅀ', 'ㅁ',
    'ㅂ', 'ㅄ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅊ', 'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ',
];

/// Whether `c` is a compatibility jamo (U+3131..U+314E) that can start a syllable:
/// ㄱ ㄲ ㄴ ㄷ ㄸ ㄹ ㅁ ㅂ ㅃ ㅅ ㅆ ㅇ ㅈ ㅉ ㅊ ㅋ ㅌ ㅍ ㅎ. Compound finals such as ㄳ are not.
pub fn is_initial_jamo(c: char) -> bool {
    matches!(
        c,
        'ㄱ' | 'ㄲ'
            | 'ㄴ'
            | 'ㄷ'
            | 'ㄸ'
            | 'ㄹ'
            | 'ㅁ'
            | 'ㅂ'
            | 'ㅃ'
            | 'ㅅ'
            | 'ㅆ'
            | 'ㅇ'
            | 'ㅈ'
            | 'ㅉ'
            | 'ㅊ'
            | 'ㅋ'
            | 'ㅌ'
            | 'ㅍ'
            | 'ㅎ'
    )
}

/// The 초성 string of `s`: every Hangul syllable becomes its initial consonant as a
/// compatibility jamo (쌍화탕 -> ㅆㅎㅌ); every other character is kept, lowercased.
/// Decomposed (NFD) Hangul is composed first, so it gives the same result.
///
/// ```text
/// initials("익수제약") == "ㅇㅅㅈㅇ"
/// initials("ABC 약국") == "abc ㅇㄱ"
/// ```
pub fn initials(s: &str) -> String {
    let mut units = Vec::with_capacity(s.len() / 2);
    normalize_into(s, true, &mut units);
    units.into_iter().map(key).collect()
}

#[inline]
pub(crate) fn is_syllable(c: char) -> bool {
    (SBASE..=SLAST).contains(&(c as u32))
}

/// The "key" of a unit: a syllable's initial consonant, anything else itself.
/// Two units can only match a query unit if their keys are equal, which is what the
/// index's key n-grams are built on.
#[inline]
pub(crate) fn key(c: char) -> char {
    let u = c as u32;
    if (SBASE..=SLAST).contains(&u) {
        CHO[((u - SBASE) / NCOUNT) as usize]
    } else {
        c
    }
}

/// Number of distinct [`key_id`]s.
pub(crate) const KEY_IDS: usize = 64;
/// Number of precomposed syllables.
pub(crate) const SYLLABLES: usize = 11172;
/// Number of initial+vowel pairs ([`lv_index`] values).
pub(crate) const LV_PAIRS: usize = 399;

/// A small id (< [`KEY_IDS`]) for the key of a unit: 0..19 the initial consonants, 19..29
/// the digits, 29..55 the Latin letters, 55..64 every other character hashed into 9 buckets.
/// Different units with the same key id are told apart when candidates are verified.
#[inline]
pub(crate) fn key_id(c: char) -> usize {
    let u = c as u32;
    if (SBASE..=SLAST).contains(&u) {
        return ((u - SBASE) / NCOUNT) as usize;
    }
    match c {
        '0'..='9' => 19 + (u - '0' as u32) as usize,
        'a'..='z' => 29 + (u - 'a' as u32) as usize,
        '\u{3131}'..='\u{314E}' if is_initial_jamo(c) => {
            CHO.iter().position(|&j| j == c).unwrap_or(0)
        }
        _ => 55 + (u.wrapping_mul(0x9E37_79B9) >> 16) as usize % 9,
    }
}

/// Index of the initial+medial pair of a syllable (the syllable without its final).
/// Only meaningful for syllables.
#[inline]
pub(crate) fn lv_index(c: char) -> u32 {
    (c as u32).wrapping_sub(SBASE) / TCOUNT
}

/// Whether a syllable has a final consonant (받침). Only meaningful for syllables.
#[inline]
pub(crate) fn has_final(c: char) -> bool {
    !(c as u32).wrapping_sub(SBASE).is_multiple_of(TCOUNT)
}

/// A compound consonant jamo, as a Korean IME produces from two consonants typed in a row
/// (ㄱ then ㅅ gives ㄳ), split into the two initials the user meant.
pub(crate) fn split_compound(c: char) -> Option<(char, char)> {
    Some(match c {
        'ㄳ' => ('ㄱ', 'ㅅ'),
        'ㄵ' => ('ㄴ', 'ㅈ'),
        'ㄶ' => ('ㄴ', 'ㅎ'),
        'ㄺ' => ('ㄹ', 'ㄱ'),
        'ㄻ' => ('ㄹ', 'ㅁ'),
        'ㄼ' => ('ㄹ', 'ㅂ'),
        'ㄽ' => ('ㄹ', 'ㅅ'),
        'ㄾ' => ('ㄹ', 'ㅌ'),
        'ㄿ' => ('ㄹ', 'ㅍ'),
        'ㅀ' => ('ㄹ', 'ㅎ'),
        'ㅄ' => ('ㅂ', 'ㅅ'),
        _ => return None,
    })
}

/// Full-width ASCII (ＡＢＣ１２３) to ASCII.
#[inline]
fn fold_width(c: char) -> char {
    let u = c as u32;
    if (0xFF01..=0xFF5E).contains(&u) {
        char::from_u32(u - 0xFEE0).unwrap_or(c)
    } else {
        c
    }
}

#[inline]
fn in_range(u: u32, lo: u32, hi: u32) -> bool {
    (lo..=hi).contains(&u)
}

/// Normalise `s` into searchable units, appended to `out`:
/// conjoining jamo sequences are composed into syllables (NFC for Hangul), stray conjoining
/// jamo become compatibility jamo, full-width ASCII becomes ASCII, everything is lowercased,
/// zero-width characters are dropped, and whitespace is dropped unless `keep_ws`.
pub(crate) fn normalize_into(s: &str, keep_ws: bool, out: &mut Vec<char>) {
    let mut it = s.chars().map(fold_width).peekable();
    while let Some(c) = it.next() {
        let u = c as u32;
        if c.is_ascii() {
            if c.is_ascii_whitespace() {
                if keep_ws {
                    out.push(c);
                }
            } else {
                out.push(c.to_ascii_lowercase());
            }
            continue;
        }
        if is_syllable(c) {
            // A syllable without final followed by a conjoining final: compose.
            if !has_final(c) {
                if let Some(&t) = it.peek() {
                    let tu = t as u32;
                    if in_range(tu, T_FIRST, T_LAST) {
                        it.next();
                        out.push(char::from_u32(u + (tu - T_FIRST + 1)).unwrap_or(c));
                        continue;
                    }
                }
            }
            out.push(c);
            continue;
        }
        if in_range(u, L_FIRST, L_LAST) {
            if let Some(&v) = it.peek() {
                let vu = v as u32;
                if in_range(vu, V_FIRST, V_LAST) {
                    it.next();
                    let mut s = SBASE + ((u - L_FIRST) * VCOUNT + (vu - V_FIRST)) * TCOUNT;
                    if let Some(&t) = it.peek() {
                        let tu = t as u32;
                        if in_range(tu, T_FIRST, T_LAST) {
                            it.next();
                            s += tu - T_FIRST + 1;
                        }
                    }
                    out.push(char::from_u32(s).unwrap_or(c));
                    continue;
                }
            }
            out.push(CHO[(u - L_FIRST) as usize]);
            continue;
        }
        if in_range(u, V_FIRST, V_LAST) {
            out.push(char::from_u32(COMPAT_A + (u - V_FIRST)).unwrap_or(c));
            continue;
        }
        if in_range(u, T_FIRST, T_LAST) {
            out.push(JONG[(u - T_FIRST) as usize]);
            continue;
        }
        if c.is_whitespace() {
            if keep_ws {
                out.push(c);
            }
            continue;
        }
        // Invisible characters that pasted or imported text carries (zero-width space and
        // joiners, word joiner, byte order mark).
        if matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}') {
            continue;
        }
        out.extend(c.to_lowercase());
    }
}

/// Appends the ASCII digits of `s` (full-width digits too) to `out`, as values 0..=9.
pub(crate) fn digits_into(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        let c = fold_width(c);
        if c.is_ascii_digit() {
            out.push(c as u8 - b'0');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        let mut v = Vec::new();
        normalize_into(s, false, &mut v);
        v.into_iter().collect()
    }

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("익수제약"), "ㅇㅅㅈㅇ");
        assert_eq!(initials("쌍화탕"), "ㅆㅎㅌ");
        assert_eq!(initials("ABC 약국"), "abc ㅇㄱ");
        assert_eq!(initials(""), "");
        // Decomposed (NFD) input gives the same initials.
        assert_eq!(
            initials("\u{1112}\u{1161}\u{11AB}\u{1107}\u{1175}\u{11BE}"),
            "ㅎㅂ"
        );
    }

    #[test]
    fn initial_jamo_set() {
        let all: String = ('\u{3131}'..='\u{314E}')
            .filter(|&c| is_initial_jamo(c))
            .collect();
        assert_eq!(all, "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ");
        assert!(!is_initial_jamo('ㄳ'));
        assert!(!is_initial_jamo('ㅏ'));
        assert!(!is_initial_jamo('가'));
        assert!(!is_initial_jamo('a'));
    }

    #[test]
    fn normalisation() {
        // NFD 한빛 -> NFC 한빛
        assert_eq!(
            norm("\u{1112}\u{1161}\u{11AB}\u{1107}\u{1175}\u{11BE}"),
            "한빛"
        );
        // LV syllable + conjoining final
        assert_eq!(norm("하\u{11AB}"), "한");
        assert_eq!(norm("ＡＢＣ Pharm"), "abcpharm");
        assert_eq!(norm(" 온누리약국\u{3000}종로점 "), "온누리약국종로점");
        assert_eq!(norm("\u{FEFF}익수\u{200B}제약"), "익수제약");
        assert_eq!(norm("\u{1100}"), "ㄱ");
        assert_eq!(norm("\u{1161}"), "ㅏ");
        assert_eq!(norm("\u{11A8}"), "ㄱ");
        let mut d = Vec::new();
        digits_into("010-1234-５６７８", &mut d);
        assert_eq!(d, vec![0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn syllable_parts() {
        assert_eq!(key('녹'), 'ㄴ');
        assert_eq!(key('쌍'), 'ㅆ');
        assert_eq!(key('a'), 'a');
        assert!(has_final('십'));
        assert!(!has_final('시'));
        assert_eq!(lv_index('시'), lv_index('십'));
        assert_ne!(lv_index('시'), lv_index('사'));
        assert_eq!(split_compound('ㄳ'), Some(('ㄱ', 'ㅅ')));
        assert_eq!(split_compound('ㄱ'), None);
        assert_eq!(key_id('녹'), key_id('ㄴ'));
        assert_eq!(key_id('쌍'), key_id('ㅆ'));
        assert_ne!(key_id('ㄱ'), key_id('ㄲ'));
        assert!((0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .all(|c| key_id(c) < KEY_IDS));
        assert!((SBASE..=SLAST).all(|u| (lv_index(char::from_u32(u).unwrap()) as usize) < LV_PAIRS));
    }
}
