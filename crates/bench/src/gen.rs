//! Seeded, deterministic Korean data at scale: client accounts (거래처), products and
//! receivables ledger entries, and a loader that puts them into a server data folder through
//! the [`Store`].
//!
//! Account names, codes and phones come from the search benchmark's generator
//! ([`fieldpay_core::search::bench_support::generate_docs`]), so the account search
//! benchmark's query mix ([`bench_support::query_mix`]) fits the synced data exactly; this
//! module adds what a server account has beyond a search document: the owner (대표자), a
//! business number with a valid check digit, an address, a credit limit and the rep. Owners,
//! addresses, products and ledger entries are generated here (the search generator has no
//! such data). Same seed, same data.

use chrono::{DateTime, Duration, TimeZone, Utc};
use fieldpay_core::search::bench_support::{self, Lcg};
use fieldpay_core::search::SearchDoc;
use fieldpay_protocol::phone::Phone;
use fieldpay_protocol::records::LedgerKind;
use fieldpay_protocol::validate::business_number_check_digit;
use fieldpay_protocol::{AccountId, MerchantId};
use fieldpay_server::store::{NewAccount, NewLedger, NewProduct, Store};

/// One generated client account: the server row and the search document the device will
/// index for it (same name, code, phone and business number).
#[derive(Debug, Clone)]
pub struct GenAccount {
    pub account: NewAccount,
    pub doc: SearchDoc,
}

/// How much data: accounts, products and ledger entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub accounts: usize,
    pub products: usize,
    pub ledger: usize,
}

impl Scale {
    /// The full size: 200,000 accounts, 10,000 products, 1,000,000 ledger entries.
    pub const FULL: Scale = Scale {
        accounts: 200_000,
        products: 10_000,
        ledger: 1_000_000,
    };

    /// The full size's shape for `accounts` accounts: 1 product per 20 accounts, 5 ledger
    /// entries per account.
    pub fn for_accounts(accounts: usize) -> Scale {
        Scale {
            accounts,
            products: (accounts / 20).max(1),
            ledger: accounts * 5,
        }
    }

    pub fn rows(&self) -> usize {
        self.accounts + self.products + self.ledger
    }
}

const SURNAMES: &[(&str, u32)] = &[
    ("김", 215),
    ("이", 147),
    ("박", 84),
    ("최", 47),
    ("정", 43),
    ("강", 23),
    ("조", 21),
    ("윤", 20),
    ("장", 20),
    ("임", 17),
    ("한", 15),
    ("오", 15),
    ("서", 15),
    ("신", 14),
    ("권", 14),
    ("황", 14),
    ("안", 13),
    ("송", 13),
    ("류", 12),
    ("전", 11),
    ("홍", 11),
    ("고", 9),
    ("문", 9),
    ("양", 9),
    ("손", 9),
    ("배", 8),
    ("백", 8),
    ("허", 6),
    ("남", 6),
    ("심", 6),
    ("노", 6),
    ("하", 5),
    ("곽", 4),
    ("성", 4),
    ("차", 4),
    ("주", 4),
    ("우", 4),
    ("구", 4),
    ("민", 3),
    ("유", 3),
    ("나", 3),
    ("진", 3),
    ("지", 3),
    ("엄", 3),
    ("채", 2),
    ("원", 2),
    ("천", 2),
    ("방", 2),
    ("공", 2),
    ("현", 2),
    ("남궁", 1),
    ("황보", 1),
];

const GIVEN_FIRST: &[&str] = &[
    "민", "서", "지", "현", "준", "도", "하", "예", "수", "영", "성", "정", "은", "혜", "승", "재",
    "동", "상", "경", "미", "윤", "진", "태", "유", "시", "주", "다", "소", "연", "병", "종", "용",
    "광", "창", "명", "선", "희", "보", "세", "우",
];
const GIVEN_SECOND: &[&str] = &[
    "준", "우", "호", "진", "영", "수", "희", "연", "민", "현", "서", "아", "윤", "원", "훈", "석",
    "빈", "은", "지", "혁", "철", "숙", "자", "순", "정", "경", "성", "규", "환", "식", "택", "란",
    "미", "율", "린", "온", "결", "별",
];

/// (province/metropolitan city, its districts).
const REGIONS: &[(&str, &[&str])] = &[
    (
        "서울특별시",
        &[
            "강남구",
            "강동구",
            "강북구",
            "강서구",
            "관악구",
            "광진구",
            "구로구",
            "금천구",
            "노원구",
            "도봉구",
            "동대문구",
            "동작구",
            "마포구",
            "서대문구",
            "서초구",
            "성동구",
            "성북구",
            "송파구",
            "양천구",
            "영등포구",
            "용산구",
            "은평구",
            "종로구",
            "중구",
            "중랑구",
        ],
    ),
    (
        "부산광역시",
        &[
            "해운대구",
            "부산진구",
            "동래구",
            "남구",
            "북구",
            "사하구",
            "금정구",
            "연제구",
        ],
    ),
    (
        "대구광역시",
        &["중구", "동구", "서구", "남구", "북구", "수성구", "달서구"],
    ),
    (
        "인천광역시",
        &["남동구", "부평구", "연수구", "미추홀구", "계양구", "서구"],
    ),
    ("광주광역시", &["동구", "서구", "남구", "북구", "광산구"]),
    ("대전광역시", &["동구", "중구", "서구", "유성구", "대덕구"]),
    ("울산광역시", &["중구", "남구", "동구", "북구", "울주군"]),
    (
        "경기도",
        &[
            "수원시 팔달구",
            "수원시 영통구",
            "성남시 분당구",
            "고양시 일산동구",
            "용인시 수지구",
            "부천시",
            "안산시 단원구",
            "안양시 동안구",
            "화성시",
            "평택시",
            "의정부시",
            "파주시",
            "김포시",
            "하남시",
        ],
    ),
    ("강원특별자치도", &["춘천시", "원주시", "강릉시", "속초시"]),
    ("충청북도", &["청주시 상당구", "충주시", "제천시"]),
    ("충청남도", &["천안시 동남구", "아산시", "서산시", "논산시"]),
    ("전북특별자치도", &["전주시 완산구", "군산시", "익산시"]),
    ("전라남도", &["목포시", "여수시", "순천시", "나주시"]),
    ("경상북도", &["포항시 남구", "경주시", "구미시", "안동시"]),
    (
        "경상남도",
        &["창원시 성산구", "진주시", "김해시", "양산시", "거제시"],
    ),
    ("제주특별자치도", &["제주시", "서귀포시"]),
];

const ROADS: &[&str] = &[
    "중앙로",
    "시청로",
    "역전로",
    "시장길",
    "대학로",
    "공원로",
    "문화로",
    "번영로",
    "평화로",
    "희망로",
    "새마을로",
    "동문로",
    "서문로",
    "남부순환로",
    "테헤란로",
    "세종대로",
    "충장로",
    "해안로",
    "산업로",
    "학교길",
    "은행나무길",
    "벚꽃길",
    "큰길",
    "신촌로",
    "월드컵로",
];

const DRUGS: &[&str] = &[
    "타이레놀",
    "게보린",
    "판콜에이",
    "판피린",
    "베아제",
    "훼스탈",
    "겔포스",
    "까스활명수",
    "박카스",
    "우루사",
    "인사돌",
    "센트룸",
    "아로나민",
    "비타500",
    "마데카솔",
    "후시딘",
    "대일밴드",
    "쌍화탕",
    "경옥고",
    "이가탄",
    "부루펜",
    "지르텍",
    "액티피드",
    "스트렙실",
    "용각산",
    "정로환",
    "노루모",
    "겔포스엠",
    "훼스탈플러스",
    "케토톱",
    "신신파스",
    "제일쿨파스",
    "오라메디",
    "안티푸라민",
    "포비돈",
    "락토핏",
    "오메가3",
    "루테인",
    "밀크씨슬",
    "비맥스",
];
const VARIANTS: &[&str] = &[
    "",
    "정",
    "연질캡슐",
    "시럽",
    "플러스",
    "골드",
    "에이",
    "큐",
    "키즈",
    "프리미엄",
    "맥스",
    "액",
];
const FORMS: &[&str] = &[
    "10정",
    "20정",
    "30정",
    "60정",
    "100정",
    "1박스",
    "10개입",
    "30포",
    "100ml",
    "75ml×10병",
    "500g",
    "1통",
];
const UNITS: &[&str] = &["개", "박스", "병", "통", "갑"];

/// A weighted pick: `items` are (value, weight).
fn weighted<'a>(rng: &mut Lcg, items: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.below(total as usize) as u32;
    for (v, w) in items {
        if x < *w {
            return v;
        }
        x -= w;
    }
    items[0].0
}

/// A Korean person's name: surname by frequency, two given-name syllables.
pub fn person_name(rng: &mut Lcg) -> String {
    let mut s = weighted(rng, SURNAMES).to_string();
    s.push_str(rng.pick(GIVEN_FIRST));
    s.push_str(rng.pick(GIVEN_SECOND));
    s
}

/// A street address: region, district, road and building number, sometimes a floor.
pub fn address(rng: &mut Lcg) -> String {
    let (region, districts) = REGIONS[rng.below(REGIONS.len())];
    let district = rng.pick(districts);
    let road = rng.pick(ROADS);
    let number = 1 + rng.below(399);
    if rng.chance(40) {
        format!(
            "{region} {district} {road} {number}, {}층",
            1 + rng.below(5)
        )
    } else {
        format!("{region} {district} {road} {number}")
    }
}

/// A business registration number (10 digits, no dashes) with a valid check digit:
/// tax-office code (101..=899), business type, serial, check digit.
pub fn business_number(rng: &mut Lcg) -> String {
    let office = 101 + rng.below(799);
    let kind = if rng.chance(20) {
        81 + rng.below(8)
    } else {
        1 + rng.below(79)
    };
    let serial = rng.below(10_000);
    let s = format!("{office:03}{kind:02}{serial:04}");
    let mut d = [0u8; 9];
    for (slot, b) in d.iter_mut().zip(s.bytes()) {
        *slot = b - b'0';
    }
    let c = business_number_check_digit(&d);
    format!("{s}{c}")
}

/// A valid mobile number, national digits (010-xxxx-xxxx; the middle part does not start
/// with 0 or 1).
pub fn mobile(rng: &mut Lcg) -> String {
    format!("010{}{:07}", 2 + rng.below(8), rng.below(10_000_000))
}

/// National digits of `phone` if it is a valid Korean number.
fn valid_digits(phone: &str) -> Option<String> {
    Phone::parse(phone).ok().map(|p| p.digits().to_string())
}

/// The rep whose book is one generated account in [`FIELD_REP_SHARE`]; made by [`load`]
/// with the demo reps' password.
pub const FIELD_REP: &str = "rep3";
pub const FIELD_REP_SHARE: usize = 100;

/// `n` client accounts, deterministic for `seed`. Names, codes and phones are those of
/// [`bench_support::generate_docs`]; a generated landline that libphonenumber refuses (e.g.
/// a middle part starting with 0) is replaced by a mobile number. One account in
/// [`FIELD_REP_SHARE`] belongs to [`FIELD_REP`] (2,000 of 200k: the sync-scope row's rep),
/// the others half to `rep1`, half to `rep2` (the demo reps).
pub fn accounts(n: usize, seed: u64) -> Vec<GenAccount> {
    let mut rng = Lcg::new(seed ^ 0xACC0_0000);
    bench_support::generate_docs(n, seed)
        .into_iter()
        .enumerate()
        .map(|(i, mut doc)| {
            let phone = valid_digits(&doc.phone).unwrap_or_else(|| mobile(&mut rng));
            let business_number = business_number(&mut rng);
            doc.phone = phone.clone();
            doc.business_number = business_number.clone();
            let account = NewAccount {
                code: doc.code.clone(),
                name: doc.name.clone(),
                owner_name: person_name(&mut rng),
                business_number,
                phone,
                address: address(&mut rng),
                credit_limit: [
                    1_000_000, 3_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000,
                ][rng.below(6)],
                rep_login: Some(
                    if i % FIELD_REP_SHARE == FIELD_REP_SHARE / 2 {
                        FIELD_REP
                    } else if i % 2 == 0 {
                        "rep1"
                    } else {
                        "rep2"
                    }
                    .into(),
                ),
            };
            GenAccount { account, doc }
        })
        .collect()
}

/// `n` products (codes `M000001`...; the demo's own products are `P0001`...).
pub fn products(n: usize, seed: u64) -> Vec<NewProduct> {
    let mut rng = Lcg::new(seed ^ 0x9D0D_0000);
    (0..n)
        .map(|i| {
            let name = format!(
                "{}{} {}",
                rng.pick(DRUGS),
                rng.pick(VARIANTS),
                rng.pick(FORMS)
            );
            NewProduct {
                code: format!("M{:06}", i + 1),
                name,
                unit_price: (5 + rng.below(2_000) as i64) * 100,
                unit: rng.pick(UNITS).into(),
            }
        })
        .collect()
}

/// The first day of the generated ledger (entries span two years from it).
pub fn ledger_epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// `n` receivables entries over `account_ids` (uniform): 60% orders (+10,000..2,000,000
/// KRW), 32% payments (minus), 4% refunds, 4% adjustments; times over two years.
pub fn ledger(n: usize, account_ids: &[String], seed: u64) -> Vec<NewLedger> {
    ledger_range(0, n, account_ids, seed)
}

/// Entries `from..to` of [`ledger`] (the same entries, generated piecewise for bulk loads).
pub fn ledger_range(from: usize, to: usize, account_ids: &[String], seed: u64) -> Vec<NewLedger> {
    assert!(!account_ids.is_empty(), "ledger entries need accounts");
    let epoch = ledger_epoch();
    (from..to)
        .map(|i| {
            // One generator per entry: entry i is the same however the range is cut.
            let mut rng = Lcg::new(seed ^ 0x1ED6_E000_0000 ^ (i as u64).wrapping_mul(0x9E37_79B9));
            let account_id = account_ids[rng.below(account_ids.len())].clone();
            let roll = rng.below(100);
            let base = (1 + rng.below(200) as i64) * 10_000;
            let (kind, amount, memo) = if roll < 60 {
                (
                    LedgerKind::Order,
                    base,
                    format!("발주 {}건 출고", 1 + rng.below(30)),
                )
            } else if roll < 92 {
                let how = rng.pick(&["카드 결제", "계좌 입금", "현금 수금", "ARS 결제"]);
                (LedgerKind::Payment, -base, how.to_string())
            } else if roll < 96 {
                (LedgerKind::Refund, base / 10, "카드 결제 취소".to_string())
            } else {
                let sign = if rng.chance(50) { 1 } else { -1 };
                (
                    LedgerKind::Adjustment,
                    sign * base / 20,
                    "잔액 조정".to_string(),
                )
            };
            let at = epoch + Duration::seconds(rng.below(730 * 86_400) as i64);
            NewLedger {
                account_id: AccountId::new(account_id),
                kind,
                amount,
                ref_id: None,
                memo,
                at,
            }
        })
        .collect()
}

/// What a bulk load wrote and how long it took (in all, and per kind of row).
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub scale: Scale,
    pub seconds: f64,
    pub accounts_seconds: f64,
    pub products_seconds: f64,
    pub ledger_seconds: f64,
}

/// Loads `scale` worth of generated data for `merchant_id` (which must have the demo reps;
/// [`FIELD_REP`] is made when missing):
/// accounts and products by upsert (chunks of 10,000 rows, one transaction each), then the
/// ledger with [`Store::add_ledger_batch`] (chunks of 50,000). Returns the generated
/// accounts (for the search query mix).
pub fn load(
    store: &dyn Store,
    merchant_id: &MerchantId,
    scale: Scale,
    seed: u64,
) -> anyhow::Result<(Vec<GenAccount>, LoadReport)> {
    let t = std::time::Instant::now();
    if store.rep_by_login(merchant_id, FIELD_REP)?.is_none() {
        let hash = fieldpay_server::auth::hash_password(&"demo1234".into())
            .map_err(|e| anyhow::anyhow!(e.message))?;
        store.create_rep(
            merchant_id,
            FIELD_REP,
            "현장영업",
            &hash,
            fieldpay_protocol::auth::Role::Rep,
        )?;
    }
    let accs = accounts(scale.accounts, seed);
    let rows: Vec<NewAccount> = accs.iter().map(|a| a.account.clone()).collect();
    let t_acc = std::time::Instant::now();
    for chunk in rows.chunks(10_000) {
        store.upsert_accounts(merchant_id, chunk)?;
    }
    let accounts_seconds = t_acc.elapsed().as_secs_f64();
    drop(rows);
    let prods = products(scale.products, seed);
    let t_prd = std::time::Instant::now();
    for chunk in prods.chunks(10_000) {
        store.upsert_products(merchant_id, chunk)?;
    }
    let products_seconds = t_prd.elapsed().as_secs_f64();
    // Map our codes to the server's ids (in code order, so the ledger is deterministic).
    let by_code: std::collections::HashMap<String, String> = store
        .accounts(merchant_id)?
        .into_iter()
        .map(|a| (a.code, a.id))
        .collect();
    let ids: Vec<String> = accs
        .iter()
        .map(|a| {
            by_code
                .get(&a.account.code)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("account {} was not stored", a.account.code))
        })
        .collect::<anyhow::Result<_>>()?;
    drop(by_code);
    let mut from = 0;
    let mut ledger_seconds = 0.0;
    while from < scale.ledger {
        let to = (from + 50_000).min(scale.ledger);
        let entries = ledger_range(from, to, &ids, seed);
        let t_led = std::time::Instant::now();
        store.add_ledger_batch(merchant_id, &entries)?;
        ledger_seconds += t_led.elapsed().as_secs_f64();
        from = to;
    }
    Ok((
        accs,
        LoadReport {
            scale,
            seconds: t.elapsed().as_secs_f64(),
            accounts_seconds,
            products_seconds,
            ledger_seconds,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldpay_protocol::validate::business_number_valid;

    #[test]
    fn deterministic() {
        let a = accounts(500, 7);
        let b = accounts(500, 7);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.doc, y.doc);
            assert_eq!(x.account.owner_name, y.account.owner_name);
            assert_eq!(x.account.address, y.account.address);
        }
        assert_ne!(accounts(50, 8)[0].doc, a[0].doc);
        let ids: Vec<String> = (0..30).map(|i| format!("acc_{i}")).collect();
        let whole = ledger(100, &ids, 3);
        let mut pieces = ledger_range(0, 37, &ids, 3);
        pieces.extend(ledger_range(37, 100, &ids, 3));
        for (x, y) in whole.iter().zip(&pieces) {
            assert_eq!(
                (&x.account_id, x.amount, &x.memo, x.at),
                (&y.account_id, y.amount, &y.memo, y.at)
            );
        }
        assert_eq!(products(20, 1)[5].name, products(20, 1)[5].name);
    }

    #[test]
    fn accounts_are_valid_and_share_the_search_generator() {
        let accs = accounts(5_000, 42);
        let docs = bench_support::generate_docs(5_000, 42);
        let mut mobiles = 0;
        let mut codes = std::collections::HashSet::new();
        for (a, d) in accs.iter().zip(&docs) {
            assert_eq!(a.account.name, d.name);
            assert_eq!(a.account.code, d.code);
            assert!(codes.insert(a.account.code.clone()));
            assert!(
                business_number_valid(&a.account.business_number),
                "{}",
                a.account.business_number
            );
            let p = Phone::parse(&a.account.phone).expect("valid phone");
            assert_eq!(p.digits(), a.account.phone);
            if a.account.phone.starts_with("010") {
                mobiles += 1;
            }
            assert!(a.account.owner_name.chars().count() >= 3);
            assert!(a.account.address.contains(' '));
        }
        // Mostly mobiles, some landlines (02-xxx-xxxx and other areas).
        assert!(mobiles > 4_000 && mobiles < 5_000, "{mobiles}");
        assert!(accs.iter().any(|a| a.account.phone.starts_with("02")));
    }

    #[test]
    fn business_numbers_have_check_digits() {
        let mut rng = Lcg::new(1);
        for _ in 0..10_000 {
            let b = business_number(&mut rng);
            assert_eq!(b.len(), 10);
            assert!(business_number_valid(&b), "{b}");
        }
    }

    #[test]
    fn ledger_mix() {
        let ids: Vec<String> = (0..100).map(|i| format!("acc_{i}")).collect();
        let l = ledger(10_000, &ids, 9);
        let orders = l.iter().filter(|e| e.kind == LedgerKind::Order).count();
        assert!((5_500..6_500).contains(&orders), "{orders}");
        assert!(l
            .iter()
            .all(|e| e.amount != 0 && e.at >= ledger_epoch() && !e.memo.is_empty()));
        assert!(l
            .iter()
            .filter(|e| e.kind == LedgerKind::Payment)
            .all(|e| e.amount < 0));
    }

    #[test]
    fn loads_into_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            fieldpay_server::store::SqliteStore::open(&dir.path().join("fieldpay.db")).unwrap();
        let store: &dyn Store = &store;
        let m = store
            .create_merchant(
                "m",
                "상사",
                &fieldpay_server::domain::MerchantSettings::default(),
            )
            .unwrap();
        for login in ["rep1", "rep2"] {
            store
                .create_rep(&m.id, login, "영업", &"x".into(), Default::default())
                .unwrap();
        }
        let scale = Scale::for_accounts(400);
        let (accs, _) = load(store, &m.id, scale, 5).unwrap();
        assert_eq!(accs.len(), 400);
        assert_eq!(store.accounts(&m.id).unwrap().len(), 400);
        assert_eq!(store.products(&m.id).unwrap().len(), 20);
        let page = store.pull(&m.id, 0, 5_000, None).unwrap();
        assert_eq!(page.changes.len(), scale.rows());
    }
}
