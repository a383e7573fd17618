//! Benchmark support: a deterministic generator of realistic Korean account documents and a
//! timed query mix. Used by the search benchmark; not part of the API.

use std::time::{Duration, Instant};

use super::{initials, SearchDoc, SearchIndex};

/// A small deterministic PRNG (64-bit LCG, high bits out).
#[derive(Clone, Debug)]
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        let mut l = Lcg(seed ^ 0x853C_49E6_748F_EA9B);
        l.next_u32();
        l
    }
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u64::from(self.next_u32()) * n as u64) >> 32) as usize
    }
    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u32) -> bool {
        self.below(100) < pct as usize
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const PLACES: &[&str] = &[
    "서울",
    "부산",
    "대구",
    "인천",
    "광주",
    "대전",
    "울산",
    "세종",
    "수원",
    "성남",
    "고양",
    "용인",
    "부천",
    "안산",
    "안양",
    "남양주",
    "화성",
    "평택",
    "의정부",
    "시흥",
    "파주",
    "김포",
    "광명",
    "군포",
    "하남",
    "오산",
    "이천",
    "양주",
    "구리",
    "안성",
    "포천",
    "의왕",
    "여주",
    "춘천",
    "원주",
    "강릉",
    "동해",
    "속초",
    "삼척",
    "청주",
    "충주",
    "제천",
    "천안",
    "공주",
    "보령",
    "아산",
    "서산",
    "논산",
    "계룡",
    "당진",
    "전주",
    "군산",
    "익산",
    "정읍",
    "남원",
    "김제",
    "목포",
    "여수",
    "순천",
    "나주",
    "광양",
    "포항",
    "경주",
    "김천",
    "안동",
    "구미",
    "영주",
    "영천",
    "상주",
    "문경",
    "경산",
    "창원",
    "진주",
    "통영",
    "사천",
    "김해",
    "밀양",
    "거제",
    "양산",
    "제주",
    "서귀포",
    "종로",
    "중구",
    "용산",
    "성동",
    "광진",
    "동대문",
    "중랑",
    "성북",
    "강북",
    "도봉",
    "노원",
    "은평",
    "서대문",
    "마포",
    "양천",
    "강서",
    "구로",
    "금천",
    "영등포",
    "동작",
    "관악",
    "서초",
    "강남",
    "송파",
    "강동",
    "익수",
    "녹십자",
    "한빛",
    "온누리",
    "새봄",
    "푸른",
    "초록",
    "하늘",
    "바다",
    "햇살",
    "별빛",
    "은하",
    "미소",
    "보람",
    "다온",
    "가온",
    "누리",
    "한결",
    "참좋은",
    "쌍화",
    "태평",
    "백제",
    "신라",
    "고려",
    "조선",
    "한양",
    "동방",
    "서방",
    "남부",
    "북부",
    "중앙",
    "동신",
    "대한",
    "한국",
    "우리",
    "모두",
    "늘푸른",
    "한마음",
    "새한",
    "삼성",
    "대성",
    "동아",
    "보령",
    "유한",
    "종근당",
    "일양",
    "한미",
    "광동",
    "일동",
    "부광",
    "명인",
    "신풍",
    "환인",
    "삼일",
    "경동",
    "영진",
    "대웅",
    "동국",
    "한독",
    "안국",
    "하나",
    "두리",
    "온빛",
    "새솔",
    "솔빛",
    "다솜",
    "미르",
    "라온",
    "아름",
    "한울",
    "그린",
    "해든",
    "다인",
    "소망",
    "행운",
    "복된",
    "열린",
    "큰길",
    "작은",
    "행복한",
    "건강한",
    "착한",
    "바른",
    "정직",
    "신뢰",
    "정성",
    "믿음",
    "사랑",
    "평화",
    "희망",
    "새날",
    "아침",
    "저녁",
    "봄날",
];

const MIDS: &[&str] = &[
    "중앙", "건강", "행복", "우리", "새", "하나", "참", "미래", "사랑", "제일", "종합", "나라",
    "365", "24시", "메디", "365일",
];

const SUFFIXES: &[&str] = &[
    "약국",
    "약국",
    "약국",
    "약국",
    "제약",
    "약품",
    "약품",
    "메디칼",
    "상사",
    "의원",
    "의원",
    "내과",
    "소아과",
    "한의원",
    "치과",
    "병원",
    "약업사",
    "도매",
];

const LATIN: &[&str] = &[
    "ABC", "GS", "KM", "JW", "HK", "SK", "CJ", "LG", "Dr.", "Bio",
];
const LATIN_SUFFIX: &[&str] = &["Pharm", "Medical", "Trading", "약국", "메디칼", "Care"];

fn digits(rng: &mut Lcg, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect()
}

/// `n` realistic account documents, deterministic for a given `seed`: place-like names with
/// optional middle words, business suffixes (약국, 제약, 약품, 메디칼, ...) and branch names,
/// some Latin names; mobile and landline phones; business numbers (some empty); codes
/// `A000001`...; recency 0 for about a third, else a timestamp-like number.
pub fn generate_docs(n: usize, seed: u64) -> Vec<SearchDoc> {
    let mut rng = Lcg::new(seed);
    (0..n)
        .map(|i| {
            let name = if rng.chance(5) {
                format!("{} {}", rng.pick(LATIN), rng.pick(LATIN_SUFFIX))
            } else {
                let mut s = String::new();
                s.push_str(rng.pick(PLACES));
                if rng.chance(35) {
                    s.push_str(rng.pick(MIDS));
                }
                s.push_str(rng.pick(SUFFIXES));
                if rng.chance(10) {
                    s.push(' ');
                    s.push_str(rng.pick(PLACES));
                    s.push('점');
                }
                s
            };
            let phone = if rng.chance(85) {
                format!("010-{}-{}", digits(&mut rng, 4), digits(&mut rng, 4))
            } else {
                let area = rng.pick(&["02", "031", "032", "051", "053", "062", "064"]);
                let mid = if rng.chance(50) { 3 } else { 4 };
                format!("{area}-{}-{}", digits(&mut rng, mid), digits(&mut rng, 4))
            };
            let business_number = if rng.chance(80) {
                format!(
                    "{}-{}-{}",
                    digits(&mut rng, 3),
                    digits(&mut rng, 2),
                    digits(&mut rng, 5)
                )
            } else {
                String::new()
            };
            let recent = if rng.chance(33) {
                0
            } else {
                1_600_000_000 + rng.below(100_000_000) as i64
            };
            SearchDoc {
                id: format!("acc-{i}"),
                name,
                code: format!("A{:06}", i + 1),
                phone,
                business_number,
                recent,
            }
        })
        .collect()
}

/// Builds an index from `docs` and returns it with the build time.
pub fn timed_build(docs: Vec<SearchDoc>) -> (SearchIndex, Duration) {
    let t = Instant::now();
    let idx = SearchIndex::with_docs(docs);
    (idx, t.elapsed())
}

fn name_chars(d: &SearchDoc) -> Vec<char> {
    d.name.chars().filter(|c| !c.is_whitespace()).collect()
}

fn strip_final(c: char) -> char {
    let u = c as u32;
    if (0xAC00..=0xD7A3).contains(&u) {
        char::from_u32(u - (u - 0xAC00) % 28).unwrap_or(c)
    } else {
        c
    }
}

/// A random window of `len` chars from a name (start >= `min_start`), if it is long enough.
fn window(rng: &mut Lcg, name: &[char], len: usize, min_start: usize) -> Option<Vec<char>> {
    if name.len() < len + min_start {
        return None;
    }
    let start = min_start + rng.below(name.len() - len - min_start + 1);
    Some(name[start..start + len].to_vec())
}

/// Query classes and their queries: a few fixed ones, the rest derived from random
/// documents. Classes: name_infix, name_prefix, initials, mixed, ime_partial, phone,
/// business_number, code, single_char, no_match.
pub fn query_mix(
    docs: &[SearchDoc],
    per_class: usize,
    seed: u64,
) -> Vec<(&'static str, Vec<String>)> {
    let mut rng = Lcg::new(seed);
    let mut classes: Vec<(&'static str, Vec<String>)> = Vec::new();
    let fixed: &[(&str, &[&str])] = &[
        ("name_infix", &["제약", "수제", "약국", "메디칼", "온누리"]),
        ("name_prefix", &["서울", "녹십자", "익수제"]),
        ("initials", &["ㅇㅅㅈ", "ㅇㅅㅈㅇ", "ㄴㅅㅈ", "ㅅㅈ"]),
        ("mixed", &["녹십ㅈ", "익ㅅ제", "서울ㅇㄱ"]),
        ("ime_partial", &["녹시", "서우", "온누"]),
        ("phone", &["5678", "010-1234", "1234-5678", "0101"]),
        ("business_number", &["2208162517", "220-81"]),
        ("code", &["A0012", "a00001", "A123"]),
        ("single_char", &["ㅇ", "약", "5", "ㄱ", "a", "ㅆ", "녹"]),
        ("no_match", &["ㅋㅋㅋ", "zzzz", "뷁뷁", "99999999999"]),
    ];
    for &(class, qs) in fixed {
        let mut out: Vec<String> = qs.iter().map(|s| s.to_string()).collect();
        let mut guard = 0;
        while out.len() < per_class && guard < per_class * 50 {
            guard += 1;
            let d = &docs[rng.below(docs.len())];
            let name = name_chars(d);
            let q: Option<String> = match class {
                "name_infix" => {
                    let len = 2 + rng.below(2);
                    window(&mut rng, &name, len, 1).map(|w| w.into_iter().collect())
                }
                "name_prefix" => {
                    let len = 2 + rng.below(3);
                    window(&mut rng, &name, len, 0)
                        .filter(|_| name.len() >= len)
                        .map(|_| name[..len].iter().collect())
                }
                "initials" => {
                    let len = 2 + rng.below(3);
                    window(&mut rng, &name, len, 0)
                        .map(|w| initials(&w.into_iter().collect::<String>()))
                }
                "mixed" => {
                    let len = 3 + rng.below(2);
                    window(&mut rng, &name, len, 0).map(|w| {
                        let k = 1 + rng.below(2);
                        let head: String = w[..len - k].iter().collect();
                        let tail: String = w[len - k..].iter().collect();
                        format!("{head}{}", initials(&tail))
                    })
                }
                "ime_partial" => {
                    let len = 2 + rng.below(2);
                    window(&mut rng, &name, len, 0).map(|mut w| {
                        let l = w.len() - 1;
                        w[l] = strip_final(w[l]);
                        w.into_iter().collect()
                    })
                }
                "phone" => {
                    let ds: String = d.phone.chars().filter(char::is_ascii_digit).collect();
                    if ds.len() < 8 {
                        None
                    } else if rng.chance(50) {
                        let s = rng.below(ds.len() - 3);
                        Some(ds[s..s + 4].to_string())
                    } else {
                        Some(ds[ds.len() - 8..ds.len() - 4].to_string() + "-" + &ds[ds.len() - 4..])
                    }
                }
                "business_number" => {
                    if d.business_number.is_empty() {
                        None
                    } else {
                        let len = 5 + rng.below(7);
                        Some(d.business_number.chars().take(len).collect())
                    }
                }
                "code" => {
                    let c = d.code.to_lowercase();
                    let len = 3 + rng.below(c.len() - 2);
                    Some(c[..len].to_string())
                }
                "single_char" => {
                    let c = rng.pick(&name);
                    Some(if rng.chance(30) {
                        initials(&c.to_string())
                    } else if rng.chance(20) {
                        char::from(b'0' + rng.below(10) as u8).to_string()
                    } else {
                        c.to_string()
                    })
                }
                _ => {
                    // no_match: syllables that do not occur in the generated names.
                    let junk = ["뷁", "쀍", "퉤", "꿻", "z", "q"];
                    let len = 2 + rng.below(3);
                    Some((0..len).map(|_| rng.pick(&junk)).collect())
                }
            };
            if let Some(q) = q {
                out.push(q);
            }
        }
        classes.push((class, out));
    }
    classes
}

/// Timings of one query class.
#[derive(Clone, Debug)]
pub struct ClassTiming {
    pub class: &'static str,
    /// Number of distinct queries.
    pub queries: usize,
    /// Percentiles over every timed run (all rounds).
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
    /// Percentiles over each query's fastest round: removes preemption by other processes
    /// on a busy machine.
    pub best_p50: Duration,
    pub best_p99: Duration,
    pub best_max: Duration,
    /// Mean number of hits returned.
    pub mean_hits: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Runs every query of the mix `rounds` times (after one warm-up round) with `limit` and
/// returns per-class latency percentiles.
pub fn run_query_mix(
    index: &SearchIndex,
    mix: &[(&'static str, Vec<String>)],
    limit: usize,
    rounds: usize,
) -> Vec<ClassTiming> {
    for (_, qs) in mix {
        for q in qs {
            std::hint::black_box(index.search(q, limit));
        }
    }
    mix.iter()
        .map(|(class, qs)| {
            let rounds = rounds.max(1);
            let mut times = Vec::with_capacity(qs.len() * rounds);
            let mut best = vec![Duration::MAX; qs.len()];
            let mut hits = 0usize;
            for _ in 0..rounds {
                for (i, q) in qs.iter().enumerate() {
                    let t = Instant::now();
                    let r = index.search(q, limit);
                    let e = t.elapsed();
                    times.push(e);
                    best[i] = best[i].min(e);
                    hits += r.len();
                    std::hint::black_box(r);
                }
            }
            times.sort_unstable();
            best.sort_unstable();
            let total: Duration = times.iter().sum();
            ClassTiming {
                class,
                queries: qs.len(),
                p50: percentile(&times, 0.50),
                p99: percentile(&times, 0.99),
                max: times.last().copied().unwrap_or_default(),
                mean: total / times.len().max(1) as u32,
                best_p50: percentile(&best, 0.50),
                best_p99: percentile(&best, 0.99),
                best_max: best.last().copied().unwrap_or_default(),
                mean_hits: hits as f64 / times.len().max(1) as f64,
            }
        })
        .collect()
}
