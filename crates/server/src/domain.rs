//! Domain values that parse: whatever crosses the API is turned into one of these first, so
//! the store only ever sees valid data.

use serde::{Deserialize, Serialize};

pub use fieldpay_protocol::records::CreditPolicy;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantSettings {
    pub require_birth_date: bool,
    pub require_password: bool,
    /// Virtual ARS numbers of this merchant, national digits.
    pub number_pool: Vec<String>,
    pub webhook_url: Option<String>,
    /// Standard Webhooks secret, `whsec_` + base64.
    pub webhook_secret: Option<fieldpay_protocol::Secret>,
    pub credit_policy: CreditPolicy,
    pub default_expiry_minutes: u32,
    /// Auto-pay (registered cards) allowed for this merchant.
    pub auto_pay: bool,
    /// 사업자등록번호 (10 digits), printed on purchase orders.
    #[serde(default)]
    pub business_number: String,
    /// Declined cards a charge may take before it is declined for good (card testing).
    #[serde(default = "default_approval_attempts")]
    pub approval_attempt_limit: u32,
    /// Bills (payment-request texts) the merchant may send in one clock hour; None: no limit.
    #[serde(default)]
    pub texts_per_hour: Option<u32>,
    /// How far below the price list a rep may price a line by hand, in percent (the line is
    /// then flagged as a manual price); None: only price-list prices are accepted.
    #[serde(default)]
    pub manual_price_max_discount_pct: Option<u8>,
}

fn default_approval_attempts() -> u32 {
    3
}

impl Default for MerchantSettings {
    fn default() -> Self {
        MerchantSettings {
            require_birth_date: true,
            require_password: true,
            number_pool: Vec::new(),
            webhook_url: None,
            webhook_secret: None,
            credit_policy: CreditPolicy::Block,
            default_expiry_minutes: 60,
            auto_pay: false,
            business_number: String::new(),
            approval_attempt_limit: default_approval_attempts(),
            texts_per_hour: None,
            manual_price_max_discount_pct: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Merchant {
    pub id: fieldpay_protocol::MerchantId,
    pub code: String,
    pub name: String,
    pub settings: MerchantSettings,
}

pub use fieldpay_protocol::rules::{
    parse_mobile, parse_optional_text, parse_text, Amount, ChargeRequest,
};
