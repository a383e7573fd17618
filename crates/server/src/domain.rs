//! Domain values that parse: whatever crosses the API is turned into one of these first, so
//! the store only ever sees valid data.

use serde::{Deserialize, Serialize};

pub use fieldpay_protocol::records::CreditPolicy;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantSettings {
    pub require_birth_date: bool,
    pub require_password: bool,
    /// Virtual ARS numbers of this merchant, national digits, in the order they are handed
    /// out. The `virtual_numbers` table is their one source of truth: a stored merchant's
    /// pool is read from it (never from the settings JSON, where it is not written), the
    /// store's `create_merchant` puts a new merchant's first pool there, and afterwards only
    /// `add_numbers` / `remove_number` change it (`update_merchant_settings` leaves it alone).
    #[serde(default, skip_serializing)]
    pub number_pool: Vec<String>,
    pub webhook_url: Option<String>,
    /// Standard Webhooks secret, `whsec_` + base64.
    pub webhook_secret: Option<fieldpay_protocol::Secret>,
    /// The secret before the last rotation, still signing deliveries (next to the new one)
    /// until `webhook_previous_until` (RFC 3339), so receivers can switch without a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_previous_secret: Option<fieldpay_protocol::Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_previous_until: Option<String>,
    /// The key of the merchant's signed payment links (`fpl_` + 64 hex; see
    /// [`crate::links`]): made by the server, shown once when made; None until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_key: Option<fieldpay_protocol::Secret>,
    /// When the link key was made (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_key_created_at: Option<String>,
    pub credit_policy: CreditPolicy,
    pub default_expiry_minutes: u32,
    /// Auto-pay (registered cards) allowed for this merchant.
    pub auto_pay: bool,
    /// Installment payments (할부) allowed; when not, every charge is paid in one go.
    #[serde(default = "yes")]
    pub installments_allowed: bool,
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
    /// The settings the operator lets the merchant's managers change from the app.
    #[serde(default)]
    pub manager_may_change: Vec<ManagerSetting>,
}

pub use fieldpay_protocol::admin::{ManagerSetting, MerchantStatus};

fn yes() -> bool {
    true
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
            webhook_previous_secret: None,
            webhook_previous_until: None,
            link_key: None,
            link_key_created_at: None,
            credit_policy: CreditPolicy::Block,
            default_expiry_minutes: 60,
            auto_pay: false,
            installments_allowed: true,
            business_number: String::new(),
            approval_attempt_limit: default_approval_attempts(),
            texts_per_hour: None,
            manual_price_max_discount_pct: None,
            manager_may_change: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Merchant {
    pub id: fieldpay_protocol::MerchantId,
    pub code: String,
    pub name: String,
    pub settings: MerchantSettings,
    pub profile: MerchantProfile,
    pub status: MerchantStatus,
}

/// Who the merchant is, as printed on purchase orders, receipts and slips (its business
/// number is `settings.business_number`, where it has always been).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantProfile {
    /// 대표자 (the representative's name).
    pub representative: String,
    /// National digits.
    pub phone: String,
    pub address: String,
}

pub use fieldpay_protocol::rules::{
    parse_mobile, parse_optional_text, parse_text, Amount, ChargeRequest,
};
