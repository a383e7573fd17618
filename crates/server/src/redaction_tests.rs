//! Every struct of the server that holds a secret prints it as `[REDACTED]` with `{:?}`.

use fieldpay_protocol::auth::{LoginRequest, RefreshRequest, RepInfo, TokenResponse};
use fieldpay_protocol::{MerchantId, RepId, Secret};

use crate::config::Settings;
use crate::domain::{Merchant, MerchantSettings};
use crate::store::{RegisteredCard, RepRecord};

const CANARY: &str = "canary-secret-7c1f";

fn secret() -> Secret {
    Secret::new(CANARY)
}

fn assert_redacted(what: &str, printed: String) {
    assert!(
        !printed.contains(CANARY),
        "{what} prints its secret: {printed}"
    );
    assert!(printed.contains("[REDACTED]"), "{what}: {printed}");
}

#[test]
fn secrets_never_print() {
    let settings = Settings {
        twilio_auth_token: secret(),
        ..Settings::default()
    };
    assert_redacted("Settings", format!("{settings:?}"));

    let merchant = Merchant {
        id: MerchantId::new("m_1"),
        code: "m".into(),
        name: "상사".into(),
        settings: MerchantSettings {
            webhook_secret: Some(secret()),
            webhook_previous_secret: Some(secret()),
            ..MerchantSettings::default()
        },
        profile: Default::default(),
        status: Default::default(),
    };
    assert_redacted("Merchant", format!("{merchant:?}"));

    let rep = RepRecord {
        id: RepId::new("rep_1"),
        merchant_id: merchant.id.clone(),
        login: "rep1".into(),
        name: "김영업".into(),
        password_hash: secret(),
        active: true,
        role: fieldpay_protocol::auth::Role::Rep,
        must_change_password: false,
        series: "R01".into(),
    };
    assert_redacted("RepRecord", format!("{rep:?}"));

    let card = RegisteredCard {
        payer_phone: "01098765432".into(),
        token: secret(),
        issuer_code: "01".into(),
        issuer_name: "BC카드".into(),
        last4: "0014".into(),
        masked_card: "940100******0014".into(),
    };
    assert_redacted("RegisteredCard", format!("{card:?}"));

    let login = LoginRequest {
        merchant: "demo".into(),
        rep_id: "rep1".into(),
        password: secret(),
        device_name: None,
    };
    assert_redacted("LoginRequest", format!("{login:?}"));
    let refresh = RefreshRequest {
        refresh_token: secret(),
    };
    assert_redacted("RefreshRequest", format!("{refresh:?}"));
    let tokens = TokenResponse {
        access_token: secret(),
        expires_in: 900,
        refresh_token: secret(),
        rep: RepInfo {
            id: "rep_1".into(),
            login: "rep1".into(),
            name: "김영업".into(),
            merchant_id: "m_1".into(),
            merchant_name: "상사".into(),
            credit_policy: Default::default(),
            merchant_business_number: String::new(),
            merchant_representative: String::new(),
            merchant_phone: String::new(),
            merchant_address: String::new(),
            role: Default::default(),
            must_change_password: false,
            series: "R01".into(),
        },
    };
    assert_redacted("TokenResponse", format!("{tokens:?}"));
}
