//! Sandbox demo data: a merchant with fixed credentials (written in README), two reps, a pool
//! of virtual numbers, about 50 Korean client accounts with receivables, 100 products, and a
//! card registered for auto-pay. Seeding is idempotent.

use std::sync::Arc;

use chrono::Utc;
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::records::LedgerKind;
use fieldpay_protocol::validate::business_number_check_digit;
use fieldpay_protocol::{AccountId, CardNumber, MerchantId, Secret};

use crate::auth::{hash_password, hash_secret};
use crate::card::{CardConnector, CardInput};
use crate::domain::{CreditPolicy, MerchantProfile, MerchantSettings};
use crate::store::{NewAccount, NewLedger, NewProduct, RegisteredCard, Store, StoreError};

pub const DEMO_MERCHANT_CODE: &str = "demo";
pub const DEMO_MERCHANT_NAME: &str = "필드페이약품";
/// The demo merchant's representative (대표자), phone and address.
pub const DEMO_REPRESENTATIVE: &str = "한정우";
pub const DEMO_MERCHANT_PHONE: &str = "024153100";
pub const DEMO_MERCHANT_ADDRESS: &str = "서울특별시 송파구 법원로 114, 3층";
pub const DEMO_API_KEY: &str = "fpk_sandbox_demo_0000000000000000000000000000";
pub const DEMO_REPS: &[(&str, &str, &str)] = &[
    ("rep1", "김영업", "demo1234"),
    ("rep2", "이현장", "demo1234"),
];
/// The demo merchant's manager (login, name, password): refunds and sees every rep's records.
pub const DEMO_MANAGER: (&str, &str, &str) = ("manager", "박관리", "demo1234");
/// The payer phone with a registered card (auto-pay demo).
pub const DEMO_AUTOPAY_PHONE: &str = "01098765432";

pub fn demo_numbers() -> Vec<String> {
    (10..20).map(|i| format!("160000{i}")).collect()
}

const PLACES: &[&str] = &[
    "익수",
    "녹십자",
    "온누리",
    "새봄",
    "하나로",
    "우리들",
    "건강한",
    "푸른솔",
    "행복한",
    "미소",
    "정다운",
    "늘푸른",
    "한빛",
    "동서",
    "중앙",
    "대한",
    "삼성",
    "부국",
    "태평양",
    "한마음",
    "열린",
    "으뜸",
    "참좋은",
    "보람",
    "사랑",
];
const KINDS: &[&str] = &["약국", "제약"];
const OWNERS: &[&str] = &[
    "김민수",
    "이서연",
    "박지훈",
    "최은정",
    "정우성",
    "강하늘",
    "조민아",
    "윤재석",
    "장미란",
    "임동현",
    "한지민",
    "오세훈",
    "서지수",
    "신동엽",
    "권나라",
];
const CITIES: &[&str] = &[
    "서울 강남구 테헤란로",
    "서울 종로구 종로",
    "부산 해운대구 센텀로",
    "대구 중구 동성로",
    "인천 남동구 인하로",
    "광주 서구 상무대로",
    "대전 유성구 대학로",
    "수원 팔달구 정조로",
];
/// The demo catalogue: over-the-counter medicines and pharmacy goods, each in the pack sizes a
/// wholesaler sells, with supply prices (KRW, VAT included) that rise with the pack size.
/// An item: name, selling unit, and its packs (size, price).
type Item = (&'static str, &'static str, &'static [(&'static str, i64)]);

const CATALOGUE: &[Item] = &[
    (
        "타이레놀정 500mg",
        "통",
        &[("10정", 2_500), ("30정", 6_800), ("100정", 19_500)],
    ),
    (
        "타이레놀 8시간 이알서방정",
        "통",
        &[("6정", 2_600), ("24정", 8_900)],
    ),
    ("게보린정", "통", &[("10정", 2_800), ("30정", 7_600)]),
    ("펜잘큐정", "통", &[("10정", 2_700), ("30정", 7_300)]),
    (
        "판콜에이내복액 30ml",
        "박스",
        &[("3병", 2_400), ("30병", 21_000)],
    ),
    (
        "판피린큐액 20ml",
        "박스",
        &[("3병", 1_900), ("30병", 16_500)],
    ),
    (
        "화이투벤큐노즈",
        "통",
        &[("10캡슐", 4_200), ("30캡슐", 11_500)],
    ),
    (
        "베아제정",
        "통",
        &[("10정", 3_200), ("30정", 8_700), ("100정", 26_000)],
    ),
    (
        "훼스탈플러스정",
        "통",
        &[("10정", 2_700), ("30정", 7_300), ("100정", 22_000)],
    ),
    ("닥터베아제정", "통", &[("10정", 3_600), ("30정", 9_800)]),
    (
        "겔포스엠현탁액",
        "박스",
        &[("4포", 4_200), ("20포", 18_800)],
    ),
    (
        "개비스콘더블액션현탁액",
        "박스",
        &[("4포", 5_600), ("12포", 15_400)],
    ),
    (
        "까스활명수큐 75ml",
        "박스",
        &[("10병", 7_500), ("50병", 35_000)],
    ),
    (
        "박카스디 100ml",
        "박스",
        &[("10병", 6_500), ("100병", 60_000)],
    ),
    (
        "비타500 100ml",
        "박스",
        &[("10병", 5_000), ("100병", 45_000)],
    ),
    (
        "우루사정 100mg",
        "통",
        &[("30정", 9_800), ("100정", 29_000), ("200정", 55_000)],
    ),
    (
        "인사돌플러스정",
        "통",
        &[("30정", 18_500), ("90정", 49_000)],
    ),
    (
        "이가탄에프캡슐",
        "통",
        &[("30캡슐", 17_000), ("120캡슐", 58_000)],
    ),
    (
        "센트룸 멀티비타민",
        "통",
        &[("30정", 17_000), ("60정", 31_000), ("100정", 47_000)],
    ),
    (
        "아로나민골드정",
        "통",
        &[("30정", 16_500), ("100정", 48_000), ("240정", 105_000)],
    ),
    (
        "비맥스메타정",
        "통",
        &[("30정", 21_000), ("60정", 39_000), ("120정", 72_000)],
    ),
    (
        "임팩타민프리미엄정",
        "통",
        &[("30정", 19_800), ("60정", 36_500), ("120정", 68_000)],
    ),
    ("삐콤씨에프정", "통", &[("30정", 9_900), ("100정", 29_500)]),
    ("마그비맥스정", "통", &[("30정", 15_000), ("90정", 41_000)]),
    (
        "오메가3 1000mg",
        "통",
        &[("60캡슐", 18_000), ("180캡슐", 47_000)],
    ),
    (
        "락토핏 생유산균골드",
        "통",
        &[("50포", 14_500), ("150포", 39_000)],
    ),
    ("마데카솔케어연고", "개", &[("6g", 4_800), ("10g", 7_200)]),
    ("후시딘연고", "개", &[("5g", 4_500), ("10g", 7_800)]),
    ("복합마데카솔연고", "개", &[("6g", 5_200), ("10g", 8_100)]),
    (
        "리도멕스크림 0.05%",
        "개",
        &[("10g", 5_500), ("30g", 13_000)],
    ),
    ("카네스텐크림", "개", &[("10g", 6_500), ("20g", 11_500)]),
    (
        "케토톱 플라스타",
        "박스",
        &[("7매", 6_000), ("34매", 25_000)],
    ),
    (
        "신신파스 아렉스",
        "박스",
        &[("6매", 2_500), ("30매", 10_500)],
    ),
    (
        "대일밴드 표준형",
        "박스",
        &[("10매", 1_200), ("100매", 9_500)],
    ),
    (
        "메디폼 습윤밴드",
        "박스",
        &[("4매", 5_800), ("10매", 13_000)],
    ),
    (
        "KF94 마스크 대형",
        "박스",
        &[("5매", 3_500), ("50매", 29_000)],
    ),
    ("쌍화탕 100ml", "박스", &[("10병", 7_000), ("50병", 32_000)]),
    ("광동 경옥고", "박스", &[("10포", 28_000), ("30포", 78_000)]),
    ("원비디 120ml", "박스", &[("10병", 9_000), ("50병", 42_000)]),
    ("지르텍정", "통", &[("10정", 4_800), ("30정", 12_500)]),
    ("액티피드정", "통", &[("10정", 2_900), ("100정", 23_000)]),
    (
        "부루펜정 200mg",
        "통",
        &[("10정", 2_200), ("100정", 17_500)],
    ),
    (
        "탁센연질캡슐",
        "통",
        &[("10캡슐", 3_800), ("30캡슐", 10_400)],
    ),
    (
        "이지엔6애니연질캡슐",
        "통",
        &[("10캡슐", 3_900), ("30캡슐", 10_800)],
    ),
    (
        "안티푸라민 로션",
        "개",
        &[("100ml", 6_800), ("200ml", 12_000)],
    ),
    (
        "니조랄 2% 샴푸",
        "개",
        &[("50ml", 9_500), ("100ml", 16_800)],
    ),
];

/// A valid business registration number from a seed (the check digit is computed).
pub fn business_number(seed: u32) -> String {
    let mut d = [0u8; 9];
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1_234_567);
    for slot in d.iter_mut() {
        *slot = (x % 10) as u8;
        x /= 10;
        if x == 0 {
            x = seed.wrapping_add(97);
        }
    }
    d[0] = d[0].max(1);
    let c = business_number_check_digit(&d);
    d.iter()
        .chain(std::iter::once(&c))
        .map(|v| char::from(b'0' + v))
        .collect()
}

pub fn demo_accounts() -> Vec<NewAccount> {
    (0..50u32)
        .map(|i| {
            let place = PLACES[i as usize % PLACES.len()];
            let kind = KINDS[(i as usize / PLACES.len()) % KINDS.len()];
            let owner = OWNERS[i as usize % OWNERS.len()];
            let phone = if i % 3 == 0 {
                format!("0212{:06}", 340_000 + i * 7)
            } else {
                format!("010{:08}", 20_000_000 + i * 104_729)
            };
            NewAccount {
                code: format!("A{:04}", i + 1),
                name: format!("{place}{kind}"),
                owner_name: owner.into(),
                business_number: business_number(i + 1),
                phone,
                address: format!("{} {}", CITIES[i as usize % CITIES.len()], 10 + i * 3),
                credit_limit: [3_000_000, 5_000_000, 10_000_000, 20_000_000][i as usize % 4],
                rep_login: Some(if i % 2 == 0 { "rep1" } else { "rep2" }.into()),
            }
        })
        .collect()
}

/// Assigns the demo client `code` to the rep `rep_login` (or to no one), as a CSV import of
/// its row with another `rep_login` does: the sandbox's way to move a client between reps.
pub fn reassign(store: &dyn Store, code: &str, rep_login: Option<&str>) -> anyhow::Result<()> {
    let m = store
        .merchant_by_code(DEMO_MERCHANT_CODE)?
        .ok_or_else(|| anyhow::anyhow!("no demo merchant"))?;
    let mut row = demo_accounts()
        .into_iter()
        .find(|a| a.code == code)
        .ok_or_else(|| anyhow::anyhow!("no demo client {code}"))?;
    row.rep_login = rep_login.map(Into::into);
    store.upsert_accounts(&m.id, &[row])?;
    Ok(())
}

pub fn demo_products() -> Vec<NewProduct> {
    CATALOGUE
        .iter()
        .flat_map(|(name, unit, packs)| {
            packs
                .iter()
                .map(move |(pack, price)| (*name, *unit, *pack, *price))
        })
        .enumerate()
        .map(|(i, (name, unit, pack, price))| NewProduct {
            code: format!("P{:04}", i + 1),
            name: format!("{name} {pack}"),
            unit_price: price,
            unit: unit.into(),
        })
        .collect()
}

/// Seeds the demo merchant if it is not there yet. Returns true when it seeded.
pub async fn seed(store: Arc<dyn Store>, connector: &dyn CardConnector) -> anyhow::Result<bool> {
    // Store calls block: they run on the blocking pool.
    let s = store.clone();
    let Some(merchant_id) = tokio::task::spawn_blocking(move || seed_records(s.as_ref())).await??
    else {
        return Ok(false);
    };
    // A registered card for the auto-pay demo: the sandbox network gives a token; only the
    // token, issuer and last 4 digits are kept.
    let number = CardNumber::parse("9401000000000014").expect("the demo card number is valid");
    let card = CardInput {
        number: &number,
        expiry_mmyy: "1230",
        birth_or_business: None,
        password2: None,
    };
    if let Ok(t) = connector.register(merchant_id.as_str(), &card).await {
        let registered = RegisteredCard {
            payer_phone: DEMO_AUTOPAY_PHONE.into(),
            token: t.token,
            issuer_code: t.issuer.code().into(),
            issuer_name: t.issuer.name_ko().into(),
            last4: t.last4,
            masked_card: t.masked_card,
        };
        tokio::task::spawn_blocking(move || store.save_registered_card(&merchant_id, &registered))
            .await??;
    }
    Ok(true)
}

/// The demo merchant's records; None when it exists already (also when another instance on
/// the same database created it a moment ago).
fn seed_records(store: &dyn Store) -> anyhow::Result<Option<MerchantId>> {
    if store.merchant_by_code(DEMO_MERCHANT_CODE)?.is_some() {
        return Ok(None);
    }
    let settings = MerchantSettings {
        require_birth_date: true,
        require_password: true,
        number_pool: demo_numbers(),
        webhook_url: None,
        webhook_secret: None,
        credit_policy: CreditPolicy::Block,
        default_expiry_minutes: 60,
        auto_pay: true,
        business_number: business_number(9_001),
        ..MerchantSettings::default()
    };
    let m = match store.create_merchant(DEMO_MERCHANT_CODE, DEMO_MERCHANT_NAME, &settings) {
        Ok(m) => m,
        Err(StoreError::Rejected { .. })
            if store.merchant_by_code(DEMO_MERCHANT_CODE)?.is_some() =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    // Its details as they appear on purchase orders, sales slips and texts.
    store.update_merchant_profile(
        &m.id,
        DEMO_MERCHANT_NAME,
        &MerchantProfile {
            representative: DEMO_REPRESENTATIVE.into(),
            phone: DEMO_MERCHANT_PHONE.into(),
            address: DEMO_MERCHANT_ADDRESS.into(),
        },
    )?;
    store.create_api_key(
        &m.id,
        &hash_secret(DEMO_API_KEY),
        &DEMO_API_KEY[..12],
        "demo",
    )?;
    let reps = DEMO_REPS.iter().map(|r| (r, Role::Rep));
    for ((login, name, password), role) in reps.chain([(&DEMO_MANAGER, Role::Manager)]) {
        let hash =
            hash_password(&Secret::from(*password)).map_err(|e| anyhow::anyhow!(e.message))?;
        store.create_rep(&m.id, login, name, &hash, role)?;
    }
    store.upsert_accounts(&m.id, &demo_accounts())?;
    store.upsert_products(&m.id, &demo_products())?;
    let now = Utc::now();
    for (i, a) in store.accounts(&m.id)?.iter().enumerate() {
        if i % 2 == 0 {
            let amount = 150_000 + (i as i64 % 7) * 85_000;
            let entry = NewLedger {
                account_id: AccountId::new(a.id.clone()),
                kind: LedgerKind::Adjustment,
                amount,
                ref_id: None,
                memo: "이월 미수금 (opening balance)".into(),
                at: now,
            };
            store.add_ledger(&m.id, &entry)?;
        }
    }
    Ok(Some(m.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_data_is_valid() {
        let accounts = demo_accounts();
        assert_eq!(accounts.len(), 50);
        for a in &accounts {
            assert!(
                fieldpay_protocol::validate::business_number_valid(&a.business_number),
                "{}",
                a.business_number
            );
            assert!(
                fieldpay_protocol::phone::Phone::parse(&a.phone).is_ok(),
                "{}",
                a.phone
            );
        }
        let codes: std::collections::HashSet<_> = accounts.iter().map(|a| &a.code).collect();
        assert_eq!(codes.len(), 50);
        let products = demo_products();
        assert_eq!(products.len(), 100);
        let names: std::collections::HashSet<_> = products.iter().map(|p| &p.name).collect();
        assert_eq!(names.len(), 100, "every product name once");
        // Prices rise with the pack size within an item, and are whole hundreds of won.
        for (name, _, packs) in CATALOGUE {
            assert!(
                packs.windows(2).all(|w| w[0].1 < w[1].1),
                "{name}: a bigger pack costs more"
            );
        }
        assert!(products
            .iter()
            .all(|p| p.unit_price > 0 && p.unit_price % 100 == 0));
    }
}
