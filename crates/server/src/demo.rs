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
use crate::domain::{CreditPolicy, MerchantSettings};
use crate::store::{NewAccount, NewLedger, NewProduct, RegisteredCard, Store, StoreError};

pub const DEMO_MERCHANT_CODE: &str = "demo";
pub const DEMO_MERCHANT_NAME: &str = "필드페이약품";
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
const MEDICINES: &[&str] = &[
    "타이레놀정",
    "게보린정",
    "판콜에이",
    "판피린큐",
    "베아제정",
    "훼스탈플러스",
    "겔포스엠",
    "까스활명수",
    "박카스디",
    "우루사정",
    "인사돌플러스",
    "센트룸",
    "아로나민골드",
    "비타500",
    "마데카솔연고",
    "후시딘연고",
    "대일밴드",
    "KF94 마스크",
    "쌍화탕",
    "광동 경옥고",
];
const FORMS: &[&str] = &["10정", "30정", "100정", "1박스"];

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

pub fn demo_products() -> Vec<NewProduct> {
    (0..100usize)
        .map(|i| {
            let name = MEDICINES[i % MEDICINES.len()];
            let form = FORMS[(i / MEDICINES.len()) % FORMS.len()];
            NewProduct {
                code: format!("P{:04}", i + 1),
                name: format!("{name} {form}"),
                unit_price: 1_000 + ((i as i64 * 7_919) % 90) * 500,
                unit: "개".into(),
            }
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
        assert_eq!(demo_products().len(), 100);
        assert!(demo_products().iter().all(|p| p.unit_price > 0));
    }
}
