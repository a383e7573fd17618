//! Tests of the search module: a fixed table of Korean queries over a small fixture, index
//! maintenance (upsert, remove, set_recent, limit), and a randomised comparison against a
//! brute-force reference implementation.

use super::bench_support::Lcg;
use super::*;
use std::collections::BTreeMap;

use MatchField::{BusinessNumber as Bn, Code, Initials as Ini, Name, Phone};
use MatchKind::{Exact, Infix, Prefix};

fn doc(id: &str, name: &str, code: &str, phone: &str, bn: &str, recent: i64) -> SearchDoc {
    SearchDoc {
        id: id.into(),
        name: name.into(),
        code: code.into(),
        phone: phone.into(),
        business_number: bn.into(),
        recent,
    }
}

/// ~30 client accounts and products.
fn fixture() -> Vec<SearchDoc> {
    vec![
        doc(
            "a01",
            "익수제약",
            "A0001",
            "010-1234-5678",
            "220-81-62517",
            100,
        ),
        doc(
            "a02",
            "녹십자약국",
            "A0002",
            "02-555-1234",
            "101-81-00001",
            50,
        ),
        doc("a03", "녹십자제약", "A0003", "031-777-8888", "", 80),
        doc(
            "a04",
            "대한약품",
            "A0004",
            "010-2222-3333",
            "211-86-12345",
            10,
        ),
        doc("a05", "쌍화탕상회", "A0005", "010-9999-0000", "", 0),
        doc(
            "a06",
            "한빛메디칼",
            "A0006",
            "051-333-4444",
            "605-81-55555",
            30,
        ),
        doc(
            "a07",
            "서울약국",
            "A0007",
            "02-1111-2222",
            "110-22-33333",
            70,
        ),
        doc(
            "a08",
            "온누리약국 종로점",
            "A0008",
            "02-765-4321",
            "101-10-10101",
            60,
        ),
        doc(
            "a09",
            "ABC Pharm",
            "A0009",
            "010-5555-6666",
            "123-45-67890",
            20,
        ),
        doc("a10", "수제약방", "A0010", "010-7777-1212", "", 15),
        doc("a11", "제약상사", "A0011", "", "", 12),
        doc("a12", "녹십자", "A0012", "02-3333-5678", "", 45),
        doc(
            "a13",
            "서울제약",
            "A0013",
            "010-4444-5678",
            "220-81-11111",
            90,
        ),
        doc("a15", "우리들약국", "A0015", "010-8765-4321", "", 100),
        doc("a16", "새봄의원", "A0016", "053-222-1111", "", 35),
        doc("a17", "하나로마트약국", "A0017", "", "", 1),
        doc("a18", "건강약국", "A0018", "010-1010-2020", "", 100),
        doc("a19", "행복약국", "A0019", "010-3030-4040", "", 100),
        doc("a20", "GS메디칼", "A0020", "02-9090-8080", "", 25),
        doc("a21", "365약국", "A0021", "010-3650-0000", "", 2),
        doc("a22", "익수약국", "A0022", "", "", 5),
        doc("a23", "대한약품", "A0023", "", "", 40),
        doc("a24", "꽃샘약국", "A0024", "", "", 3),
        doc("a25", "따뜻한약국", "A0025", "", "", 4),
        doc("a26", "녹색약국", "A0026", "", "", 6),
        doc("a27", "고성약국", "A0027", "", "", 7),
        doc("a28", "abc mart", "A0028", "", "", 25),
        // 한마음약국, decomposed (NFD), as some systems store it.
        doc(
            "a29",
            "\u{1112}\u{1161}\u{11AB}\u{1106}\u{1161}\u{110B}\u{1173}\u{11B7}약국",
            "A0029",
            "",
            "",
            8,
        ),
        doc("p01", "판콜에이내복액", "P0001", "", "", 9),
        doc("p02", "쌍화탕", "P0002", "", "", 11),
        doc("p03", "타이레놀정500mg", "P0003", "", "", 13),
    ]
}

fn index() -> SearchIndex {
    SearchIndex::with_docs(fixture())
}

fn h(id: &str, kind: MatchKind, field: MatchField) -> Hit {
    Hit {
        id: id.into(),
        kind,
        field,
    }
}

fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

#[test]
fn query_table() {
    let idx = index();
    let table: Vec<(&str, Vec<Hit>)> = vec![
        // initials, full and partial
        ("ㅇㅅㅈㅇ", vec![h("a01", Exact, Ini)]),
        (
            "ㅅㅈ",
            vec![
                h("a10", Prefix, Ini),
                h("a01", Infix, Ini),
                h("a03", Infix, Ini),
                h("a02", Infix, Ini),
                h("a12", Infix, Ini),
            ],
        ),
        // double initials are their own initials
        ("ㅆㅎㅌ", vec![h("p02", Exact, Ini), h("a05", Prefix, Ini)]),
        ("ㄲㅅ", vec![h("a24", Prefix, Ini)]),
        // a compound jamo from the IME (ㄱ then ㅅ) reads as ㄱㅅ
        ("ㄳ", vec![h("a27", Prefix, Ini)]),
        // mixed syllables and initials
        (
            "녹십ㅈ",
            vec![
                h("a12", Exact, Name),
                h("a03", Prefix, Name),
                h("a02", Prefix, Name),
            ],
        ),
        // unfinished last syllable (녹시 -> 녹십자), not 녹색
        (
            "녹시",
            vec![
                h("a03", Prefix, Name),
                h("a02", Prefix, Name),
                h("a12", Prefix, Name),
            ],
        ),
        // name infix, prefix before infix, recency within a class
        (
            "제약",
            vec![
                h("a11", Prefix, Name),
                h("a01", Infix, Name),
                h("a13", Infix, Name),
                h("a03", Infix, Name),
                h("a10", Infix, Name),
            ],
        ),
        ("수제", vec![h("a10", Prefix, Name), h("a01", Infix, Name)]),
        ("익수", vec![h("a01", Prefix, Name), h("a22", Prefix, Name)]),
        ("녹십자약국", vec![h("a02", Exact, Name)]),
        ("익수 제약", vec![h("a01", Exact, Name)]),
        ("  익 수 제 약  ", vec![h("a01", Exact, Name)]),
        // whitespace inside the name is ignored too
        ("약국종로", vec![h("a08", Infix, Name)]),
        ("온누리약국 종로점", vec![h("a08", Exact, Name)]),
        // Latin, case-insensitive
        ("ABC", vec![h("a28", Prefix, Name), h("a09", Prefix, Name)]),
        ("pharm", vec![h("a09", Infix, Name)]),
        ("gs메디", vec![h("a20", Prefix, Name)]),
        // decomposed (NFD) name
        ("한마음", vec![h("a29", Prefix, Name)]),
        ("ㅎㅁㅇ", vec![h("a29", Prefix, Ini)]),
        // phone digits, with and without dashes
        (
            "5678",
            vec![
                h("a01", Infix, Phone),
                h("a13", Infix, Phone),
                h("a12", Infix, Phone),
                h("a09", Infix, Bn),
            ],
        ),
        ("010-1234", vec![h("a01", Prefix, Phone)]),
        // the business number 123-45-67890 starts with it: prefix beats the phone infix
        (
            "1234-5678",
            vec![h("a09", Prefix, Bn), h("a01", Infix, Phone)],
        ),
        ("010 8765 4321", vec![h("a15", Exact, Phone)]),
        // business number
        ("2208162517", vec![h("a01", Exact, Bn)]),
        ("220-81", vec![h("a01", Prefix, Bn), h("a13", Prefix, Bn)]),
        ("81-625", vec![h("a01", Infix, Bn)]),
        // codes
        ("A0012", vec![h("a12", Exact, Code)]),
        ("p0003", vec![h("p03", Exact, Code)]),
        (
            "P000",
            vec![
                h("p03", Prefix, Code),
                h("p02", Prefix, Code),
                h("p01", Prefix, Code),
            ],
        ),
        ("0029", vec![h("a29", Infix, Code)]),
        // digits in a name and in a phone: the name prefix and the phone infix
        ("365", vec![h("a21", Prefix, Name)]),
        ("500mg", vec![h("p03", Infix, Name)]),
        // nothing
        ("", vec![]),
        ("   ", vec![]),
        ("뷁", vec![]),
        ("ㅋㅋㅋ", vec![]),
        ("99999", vec![]),
    ];
    for (q, want) in table {
        assert_eq!(idx.search(q, 20), want, "query {q:?}");
    }
}

#[test]
fn recency_then_length_then_name() {
    let idx = index();
    // 약국 is inside many names; no name starts with it. Recency 100: 건강약국 and 행복약국
    // (4 units, name order) before 우리들약국 (5 units); then by recency.
    let got = idx.search("약국", 20);
    assert!(got.iter().all(|h| h.kind == Infix && h.field == Name));
    assert_eq!(
        ids(&got),
        vec![
            "a18", "a19", "a15", "a07", "a08", "a02", "a29", "a27", "a26", "a22", "a25", "a24",
            "a21", "a17"
        ]
    );
    // Two accounts with the same name: the more recent first.
    assert_eq!(ids(&idx.search("대한약품", 5)), vec!["a23", "a04"]);
}

#[test]
fn limit_is_respected_and_keeps_the_best() {
    let idx = index();
    let all = idx.search("약국", 100);
    for limit in [0, 1, 2, 3, 5, 13] {
        let got = idx.search("약국", limit);
        assert_eq!(got.len(), limit.min(all.len()));
        assert_eq!(got[..], all[..got.len()]);
    }
    assert_eq!(ids(&idx.search("ㅇ", 2)), vec!["a01", "a15"]);
}

#[test]
fn upsert_replaces_a_document() {
    let mut idx = index();
    assert_eq!(idx.len(), fixture().len());
    idx.upsert(doc("a01", "익수바이오", "A0001", "010-1234-5678", "", 100));
    assert_eq!(idx.len(), fixture().len());
    assert!(!ids(&idx.search("제약", 20)).contains(&"a01"));
    assert!(idx.search("ㅇㅅㅈㅇ", 20).is_empty());
    assert_eq!(idx.search("익수바이오", 5), vec![h("a01", Exact, Name)]);
    // The old business number is gone, the phone stays.
    assert!(idx.search("2208162517", 5).is_empty());
    assert_eq!(ids(&idx.search("010-1234", 5)), vec!["a01"]);
    // A new document.
    idx.upsert(doc("a99", "새한약국", "A0099", "010-0000-1111", "", 7));
    assert_eq!(idx.len(), fixture().len() + 1);
    assert_eq!(idx.search("새한", 5), vec![h("a99", Prefix, Name)]);
}

#[test]
fn upsert_of_an_unchanged_document_is_a_no_op() {
    let mut idx = index();
    for d in fixture() {
        idx.upsert(d);
    }
    assert_eq!(idx.delta_len(), 0);
    assert_eq!(idx.search("녹십ㅈ", 5), index().search("녹십ㅈ", 5));
}

#[test]
fn remove_drops_a_document() {
    let mut idx = index();
    idx.remove("a02");
    idx.remove("no-such-id");
    assert_eq!(idx.len(), fixture().len() - 1);
    assert!(idx.search("녹십자약국", 5).is_empty());
    assert_eq!(ids(&idx.search("녹십ㅈ", 5)), vec!["a12", "a03"]);
    // Removing a document that lives in the delta.
    idx.upsert(doc("a98", "임시약국", "", "", "", 1));
    idx.remove("a98");
    assert!(idx.search("임시", 5).is_empty());
    assert_eq!(idx.len(), fixture().len() - 1);
}

#[test]
fn set_recent_changes_the_order() {
    let mut idx = index();
    assert_eq!(ids(&idx.search("익수", 5)), vec!["a01", "a22"]);
    idx.set_recent("a22", 1000);
    assert_eq!(ids(&idx.search("익수", 5)), vec!["a22", "a01"]);
    // Again while it is in the delta.
    idx.set_recent("a22", -1);
    assert_eq!(ids(&idx.search("익수", 5)), vec!["a01", "a22"]);
    idx.set_recent("unknown", 5);
    assert_eq!(idx.len(), fixture().len());
    assert_eq!(idx.recent("a22"), Some(-1));
    assert_eq!(idx.recent("a01"), Some(100));
    assert_eq!(idx.recent("unknown"), None);
}

#[test]
fn empty_index_and_incremental_build() {
    let mut idx = SearchIndex::new();
    assert!(idx.is_empty());
    assert!(idx.search("약국", 10).is_empty());
    for d in fixture() {
        idx.upsert(d);
    }
    assert_eq!(idx.len(), fixture().len());
    let bulk = index();
    for q in ["약국", "ㅅㅈ", "녹시", "5678", "A00", "ㅇ", "제약"] {
        assert_eq!(idx.search(q, 50), bulk.search(q, 50), "query {q:?}");
    }
}

#[test]
fn duplicate_ids_in_bulk_keep_the_last() {
    let mut docs = fixture();
    docs.push(doc("a01", "익수바이오", "A0001", "", "", 100));
    let idx = SearchIndex::with_docs(docs);
    assert_eq!(idx.len(), fixture().len());
    assert!(idx.search("익수제약", 5).is_empty());
    assert_eq!(ids(&idx.search("익수바", 5)), vec!["a01"]);
}

#[test]
fn duplicate_ids_in_a_large_bulk_keep_the_last() {
    // Above the parallel build's threshold: the id map is built on a thread of its own.
    let n = super::PARALLEL_BUILD_MIN as usize + 500;
    let mut docs: Vec<SearchDoc> = (0..n)
        .map(|i| doc(&format!("c{i:05}"), &format!("거래처{i}"), "", "", "", 1))
        .collect();
    // Every 7th id again later, renamed and more recent.
    docs.extend(
        (0..n)
            .step_by(7)
            .map(|i| doc(&format!("c{i:05}"), &format!("새이름{i}"), "", "", "", 2)),
    );
    let idx = SearchIndex::with_docs(docs);
    assert_eq!(idx.len(), n);
    assert_eq!(idx.recent("c00007"), Some(2));
    assert_eq!(idx.recent("c00008"), Some(1));
    assert_eq!(ids(&idx.search("새이름14", 5)).first(), Some(&"c00014"));
    assert!(idx.search("거래처14", 50).iter().all(|h| h.id != "c00014"));
}

#[test]
fn extend_many() {
    let mut idx = SearchIndex::new();
    idx.extend(fixture());
    let bulk = index();
    for q in ["약국", "ㅅㅈ", "녹시", "220-81"] {
        assert_eq!(idx.search(q, 50), bulk.search(q, 50), "query {q:?}");
    }
}

#[test]
fn delta_and_rebuild_agree() {
    // A tiny delta bound forces rebuilds; results must not depend on where documents are.
    let mut small = SearchIndex::new();
    small.set_delta_cap(3);
    let mut big = SearchIndex::new();
    big.set_delta_cap(1000);
    for d in fixture() {
        small.upsert(d.clone());
        big.upsert(d);
    }
    assert!(small.delta_len() <= 3);
    assert_eq!(big.delta_len(), fixture().len());
    for q in [
        "약국",
        "ㅅㅈ",
        "녹시",
        "5678",
        "A00",
        "ㅇ",
        "제약",
        "녹십ㅈ",
    ] {
        assert_eq!(small.search(q, 50), big.search(q, 50), "query {q:?}");
    }
}

#[test]
fn compact_keeps_results() {
    let mut idx = index();
    idx.set_recent("a22", 1000);
    idx.upsert(doc("a99", "새한약국", "A0099", "010-0000-1111", "", 7));
    idx.remove("a02");
    let before: Vec<Vec<Hit>> = ["익수", "약국", "녹십ㅈ", "0000"]
        .iter()
        .map(|q| idx.search(q, 50))
        .collect();
    idx.compact();
    assert_eq!(idx.delta_len(), 0);
    let after: Vec<Vec<Hit>> = ["익수", "약국", "녹십ㅈ", "0000"]
        .iter()
        .map(|q| idx.search(q, 50))
        .collect();
    assert_eq!(before, after);
    assert_eq!(
        format!("{idx:?}"),
        "SearchIndex { len: 31, segment: 31, delta: 0 }"
    );
}

#[test]
fn query_normalisation() {
    let idx = index();
    // decomposed (NFD) query, full-width letters and digits
    assert_eq!(
        ids(&idx.search("\u{1102}\u{1169}\u{11A8}\u{1109}\u{1175}\u{11B8}", 5)),
        vec!["a03", "a02", "a12"]
    );
    assert_eq!(ids(&idx.search("ＡＢＣ", 5)), vec!["a28", "a09"]);
    assert_eq!(
        ids(&idx.search("５６７８", 5)),
        vec!["a01", "a13", "a12", "a09"]
    );
    assert_eq!(ids(&idx.search("(010) 1234", 5)), vec!["a01"]);
}

#[test]
fn initials_helper() {
    assert_eq!(initials("익수제약"), "ㅇㅅㅈㅇ");
    assert_eq!(initials("쌍화탕"), "ㅆㅎㅌ");
    assert_eq!(initials("ABC 약국"), "abc ㅇㄱ");
    assert!(is_initial_jamo('ㄸ'));
    assert!(!is_initial_jamo('ㄳ'));
}

// ---------------------------------------------------------------------------------------
// Randomised comparison with a brute-force reference

const CHO_REF: [char; 19] = [
    'ㄱ', 'ㄲ', 'ㄴ', 'ㄷ', 'ㄸ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅃ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅉ', 'ㅊ', 'ㅋ',
    'ㅌ', 'ㅍ', 'ㅎ',
];

/// (initial, vowel, final) of a precomposed syllable.
fn parts(c: char) -> Option<(u32, u32, u32)> {
    let u = c as u32;
    if (0xAC00..=0xD7A3).contains(&u) {
        let s = u - 0xAC00;
        Some((s / 588, (s % 588) / 28, s % 28))
    } else {
        None
    }
}

/// The reference's text normalisation, for the simple text the random test generates
/// (precomposed Hangul, compatibility jamo, ASCII).
fn ref_norm(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn ref_digits(s: &str) -> Vec<char> {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn ref_kind(pos: Option<usize>, m: usize, len: usize) -> Option<MatchKind> {
    match pos {
        Some(0) if m == len => Some(Exact),
        Some(0) => Some(Prefix),
        Some(_) => Some(Infix),
        None => None,
    }
}

fn ref_find(hay: &[char], m: usize, ok: impl Fn(usize, char) -> bool) -> Option<usize> {
    if m == 0 || m > hay.len() {
        return None;
    }
    (0..=hay.len() - m).find(|&p| (0..m).all(|i| ok(i, hay[p + i])))
}

/// A document as the reference sees it: normalised once.
struct RefDoc {
    doc: SearchDoc,
    name: Vec<char>,
    code: Vec<char>,
    phone: Vec<char>,
    bn: Vec<char>,
}

impl RefDoc {
    fn new(doc: SearchDoc) -> RefDoc {
        RefDoc {
            name: ref_norm(&doc.name),
            code: ref_norm(&doc.code),
            phone: ref_digits(&doc.phone),
            bn: ref_digits(&doc.business_number),
            doc,
        }
    }
}

/// Brute force: match every document, sort all matches by the ranking rule, cut.
fn ref_search(docs: &BTreeMap<String, RefDoc>, query: &str, limit: usize) -> Vec<Hit> {
    let q = ref_norm(query);
    if q.is_empty() {
        return vec![];
    }
    let m = q.len();
    let unit_ok = |i: usize, u: char| -> bool {
        let c = q[i];
        if CHO_REF.contains(&c) {
            return u == c || parts(u).is_some_and(|(l, _, _)| CHO_REF[l as usize] == c);
        }
        if i == m - 1 {
            if let Some((l, v, 0)) = parts(c) {
                return parts(u).is_some_and(|(l2, v2, _)| l2 == l && v2 == v);
            }
        }
        u == c
    };
    let any_init = q.iter().any(|c| CHO_REF.contains(c));
    let any_syl = q.iter().any(|&c| parts(c).is_some());
    let name_field = if any_init && !any_syl { Ini } else { Name };
    let is_num = q
        .iter()
        .all(|&c| c.is_ascii_digit() || "-.()+/".contains(c));
    let qd: Vec<char> = q.iter().copied().filter(char::is_ascii_digit).collect();

    let mut hits: Vec<(MatchKind, MatchField, &RefDoc)> = Vec::new();
    for d in docs.values() {
        let mut best: Option<(MatchKind, MatchField)> = None;
        let mut consider = |k: Option<MatchKind>, f: MatchField| {
            if let Some(k) = k {
                if best.is_none_or(|b| (k, f) < b) {
                    best = Some((k, f));
                }
            }
        };
        consider(
            ref_kind(ref_find(&d.name, m, unit_ok), m, d.name.len()),
            name_field,
        );
        if is_num && !qd.is_empty() {
            for (ds, f) in [(&d.phone, Phone), (&d.bn, Bn)] {
                let pos = ref_find(ds, qd.len(), |i, c| c == qd[i]);
                consider(ref_kind(pos, qd.len(), ds.len()), f);
            }
        }
        let pos = ref_find(&d.code, m, |i, c| c == q[i]);
        let ck = ref_kind(pos, m, d.code.len());
        if ck != Some(Infix) || m >= 3 {
            consider(ck, Code);
        }
        if let Some((k, f)) = best {
            hits.push((k, f, d));
        }
    }
    hits.sort_by(|(ka, _, a), (kb, _, b)| {
        ka.cmp(kb)
            .then(b.doc.recent.cmp(&a.doc.recent))
            .then(a.name.len().cmp(&b.name.len()))
            .then(a.name.cmp(&b.name))
            .then(a.doc.id.cmp(&b.doc.id))
    });
    hits.truncate(limit);
    hits.into_iter()
        .map(|(kind, field, d)| Hit {
            id: d.doc.id.clone(),
            kind,
            field,
        })
        .collect()
}

/// Syllables sharing initials, vowels and finals, so that random queries hit many names.
const SYL: &[&str] = &[
    "가", "각", "간", "갈", "나", "낙", "난", "다", "닥", "단", "사", "삭", "산", "서", "석", "선",
    "아", "악", "안", "자", "작", "장", "제", "약", "국", "품", "상", "회", "까", "쌍", "빵", "의",
];
const LATIN: &[&str] = &["a", "b", "ab", "ba", "z", "1", "2", "12", "-"];

fn random_name(r: &mut Lcg) -> String {
    let len = 1 + r.below(6);
    let mut s = String::new();
    for _ in 0..len {
        match r.below(12) {
            0 => s.push_str(r.pick(LATIN)),
            1 => s.push(' '),
            2 if r.chance(30) => s.push(r.pick(&['A', 'B', 'Z'])),
            _ => s.push_str(r.pick(SYL)),
        }
    }
    if s.trim().is_empty() {
        s.push_str(r.pick(SYL));
    }
    s
}

/// `min + below(spread)` random digits (0..=3, so that digit queries collide often).
fn random_digits(r: &mut Lcg, min: usize, spread: usize) -> String {
    let n = min + r.below(spread.max(1));
    (0..n)
        .map(|_| char::from(b'0' + r.below(4) as u8))
        .collect()
}

fn random_doc(r: &mut Lcg, id: usize) -> SearchDoc {
    let phone = match r.below(4) {
        0 => String::new(),
        1 => random_digits(r, 4, 8),
        _ => format!(
            "0{}-{}-{}",
            random_digits(r, 1, 2),
            random_digits(r, 3, 1),
            random_digits(r, 4, 1)
        ),
    };
    let bn = if r.chance(50) {
        format!(
            "{}-{}-{}",
            random_digits(r, 3, 1),
            random_digits(r, 2, 1),
            random_digits(r, 5, 1)
        )
    } else {
        String::new()
    };
    let code = match r.below(5) {
        0 => String::new(),
        1 => format!("{}{}", r.pick(&["가", "나"]), random_digits(r, 2, 1)),
        _ => format!(
            "{}{}",
            r.pick(&["A", "a", "P", "AB"]),
            random_digits(r, 1, 4)
        ),
    };
    SearchDoc {
        id: format!("d{id}"),
        name: random_name(r),
        code,
        phone,
        business_number: bn,
        recent: r.below(6) as i64 - 1,
    }
}

/// A query derived from a document (so that it usually matches something), or noise.
fn random_query(r: &mut Lcg, docs: &BTreeMap<String, RefDoc>) -> String {
    let d = docs
        .values()
        .nth(r.below(docs.len().max(1)))
        .map(|d| d.doc.clone())
        .unwrap_or_default();
    match r.below(10) {
        0..=5 => {
            let name: Vec<char> = d.name.chars().collect();
            if name.is_empty() {
                return String::new();
            }
            let start = r.below(name.len());
            let len = 1 + r.below((name.len() - start).min(4));
            let mut out = String::new();
            for (i, &c) in name[start..start + len].iter().enumerate() {
                let last = i == len - 1;
                match parts(c) {
                    Some((l, v, _)) if last && r.chance(25) => {
                        // unfinished last syllable
                        out.push(char::from_u32(0xAC00 + l * 588 + v * 28).unwrap());
                    }
                    Some((l, _, _)) if r.chance(35) => out.push(CHO_REF[l as usize]),
                    _ => out.push(c),
                }
                if r.chance(5) {
                    out.push(' ');
                }
            }
            if r.chance(20) {
                out = out.to_uppercase();
            }
            out
        }
        6 => {
            let ds: String = d.phone.chars().chain(d.business_number.chars()).collect();
            let ds: Vec<char> = ds.chars().collect();
            if ds.is_empty() {
                return random_digits(r, 1, 3);
            }
            let start = r.below(ds.len());
            let len = 1 + r.below((ds.len() - start).min(7));
            ds[start..start + len].iter().collect()
        }
        7 => {
            let code: Vec<char> = d.code.chars().collect();
            if code.is_empty() {
                return "a1".into();
            }
            let start = if r.chance(50) { 0 } else { r.below(code.len()) };
            let len = 1 + r.below(code.len() - start);
            code[start..start + len].iter().collect()
        }
        8 => random_digits(r, 1, 3),
        _ => {
            let pool = [
                "ㄱ", "ㅇ", "ㅅ", "ㅆ", "가", "a", "-", " ", "약", "뷁", "1", "ㅈㅇ",
            ];
            (0..1 + r.below(3)).map(|_| r.pick(&pool)).collect()
        }
    }
}

fn check_against_reference(seed: u64, n_docs: usize, ops: usize, delta_cap: Option<usize>) {
    let mut r = Lcg::new(seed);
    let mut model: BTreeMap<String, RefDoc> = BTreeMap::new();
    for i in 0..n_docs {
        let d = random_doc(&mut r, i);
        model.insert(d.id.clone(), RefDoc::new(d));
    }
    let mut idx = SearchIndex::with_docs(model.values().map(|d| d.doc.clone()));
    if let Some(cap) = delta_cap {
        idx.set_delta_cap(cap);
    }
    let mut next_id = n_docs;
    let mut checked = 0;
    let mut nonempty = 0;
    let mut seen: std::collections::BTreeSet<(MatchKind, MatchField)> = Default::default();
    for step in 0..ops {
        match r.below(10) {
            0 => {
                // insert a new document
                let d = random_doc(&mut r, next_id);
                next_id += 1;
                model.insert(d.id.clone(), RefDoc::new(d.clone()));
                idx.upsert(d);
            }
            1 if !model.is_empty() => {
                // replace an existing document
                let id = model.keys().nth(r.below(model.len())).unwrap().clone();
                let mut d = random_doc(&mut r, 0);
                d.id = id.clone();
                model.insert(id, RefDoc::new(d.clone()));
                idx.upsert(d);
            }
            2 if !model.is_empty() => {
                let id = model.keys().nth(r.below(model.len())).unwrap().clone();
                model.remove(&id);
                idx.remove(&id);
            }
            3 if !model.is_empty() => {
                let id = model.keys().nth(r.below(model.len())).unwrap().clone();
                let recent = r.below(8) as i64 - 1;
                model.get_mut(&id).unwrap().doc.recent = recent;
                idx.set_recent(&id, recent);
            }
            4 if r.chance(30) => {
                // a small batch of new and replaced documents, or a rebuild
                if r.chance(20) {
                    idx.compact();
                } else {
                    let mut batch = Vec::new();
                    for _ in 0..1 + r.below(5) {
                        let mut d = random_doc(&mut r, next_id);
                        next_id += 1;
                        if !model.is_empty() && r.chance(40) {
                            d.id = model.keys().nth(r.below(model.len())).unwrap().clone();
                        }
                        model.insert(d.id.clone(), RefDoc::new(d.clone()));
                        batch.push(d);
                    }
                    idx.extend(batch);
                }
            }
            _ => {
                let q = random_query(&mut r, &model);
                let limit = [1, 2, 3, 5, 10, 20, 1000][r.below(7)];
                let want = ref_search(&model, &q, limit);
                let got = idx.search(&q, limit);
                assert_eq!(
                    got, want,
                    "seed {seed} step {step} query {q:?} limit {limit}"
                );
                checked += 1;
                nonempty += usize::from(!got.is_empty());
                seen.extend(got.iter().map(|h| (h.kind, h.field)));
            }
        }
        assert_eq!(idx.len(), model.len());
    }
    // Every id is found through the id map (which reads ids where their documents are), and
    // only those.
    for (id, d) in &model {
        assert_eq!(idx.recent(id), Some(d.doc.recent), "seed {seed}: {id}");
    }
    assert_eq!(idx.recent("no-such-id"), None);
    assert!(checked > ops / 2);
    // The random queries must exercise the index, not just agree on empty results.
    assert!(
        nonempty * 2 > checked,
        "{nonempty} of {checked} queries matched"
    );
    for kind in [Exact, Prefix, Infix] {
        assert!(
            seen.iter().any(|s| s.0 == kind),
            "no {kind:?} hit: {seen:?}"
        );
    }
    for field in [Name, Ini, Phone, Bn, Code] {
        assert!(
            seen.iter().any(|s| s.1 == field),
            "no {field:?} hit: {seen:?}"
        );
    }
}

#[test]
fn matches_reference_bulk_only() {
    // No updates beyond the first few: mostly the rank-ordered segment.
    check_against_reference(1, 2500, 1000, None);
}

#[test]
fn matches_reference_with_updates_and_rebuilds() {
    // Small delta bound: many rebuilds while documents come and go.
    check_against_reference(2, 600, 2000, Some(16));
    check_against_reference(3, 40, 1500, Some(4));
}

#[test]
fn matches_reference_with_large_delta() {
    // Everything through the delta (never rebuilt), then mixed.
    check_against_reference(4, 0, 2000, Some(100_000));
    check_against_reference(5, 1500, 1500, Some(300));
}

/// Many seeds and shapes; slow in debug builds: `cargo test --release -- --ignored`.
#[test]
#[ignore]
fn matches_reference_many_seeds() {
    for seed in 10..70 {
        let cap = [None, Some(2), Some(8), Some(64), Some(100_000)][(seed % 5) as usize];
        let n = [0, 10, 200, 1500][(seed % 4) as usize];
        check_against_reference(seed, n, 1500, cap);
    }
}
