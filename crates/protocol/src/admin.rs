//! Wire types of the operator API (`/admin/v1`) and of the merchant administration the
//! operator and a merchant's managers share: API keys, settings patches, the audit log.

use serde::{Deserialize, Deserializer, Serialize};

use crate::records::CreditPolicy;
use crate::secret::Secret;

/// A merchant API key as listed (never the key itself: it is shown once, when created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    /// RFC 3339.
    pub created_at: String,
    /// When the key was last used (to the minute); None: never.
    pub last_used_at: Option<String>,
    /// None while the key is live.
    pub revoked_at: Option<String>,
}

/// A new API key: its listing and, this once, the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewApiKey {
    pub key: ApiKeyInfo,
    /// The key (`fpk_...`): shown once, never stored.
    pub secret: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// What the key is for (1 to 60 characters), e.g. "ERP".
    pub name: String,
}

/// A merchant setting an operator may let the merchant's managers change themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ManagerSetting {
    RequireBirthDate,
    RequirePassword,
    CreditPolicy,
    DefaultExpiryMinutes,
    AutoPay,
    InstallmentsAllowed,
    ApprovalAttemptLimit,
    TextsPerHour,
    ManualPriceMaxDiscountPct,
}

crate::text_names!(ManagerSetting {
    RequireBirthDate => "require_birth_date",
    RequirePassword => "require_password",
    CreditPolicy => "credit_policy",
    DefaultExpiryMinutes => "default_expiry_minutes",
    AutoPay => "auto_pay",
    InstallmentsAllowed => "installments_allowed",
    ApprovalAttemptLimit => "approval_attempt_limit",
    TextsPerHour => "texts_per_hour",
    ManualPriceMaxDiscountPct => "manual_price_max_discount_pct",
});

/// `null` read as `Some(None)` (clear the value), absent as `None` (leave it).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A change of a merchant's settings: absent fields are left as they are. A manager may
/// send only the settings its operator allowed (`manager_may_change`), and never
/// `manager_may_change` itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_birth_date: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_password: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_policy: Option<CreditPolicy>,
    /// 1 to 10080 (a week).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_expiry_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_pay: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installments_allowed: Option<bool>,
    /// 1 to 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_attempt_limit: Option<u32>,
    /// null: no limit.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub texts_per_hour: Option<Option<u32>>,
    /// 0 to 100; null: only price-list prices.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u8>))]
    pub manual_price_max_discount_pct: Option<Option<u8>>,
    /// Operator only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_may_change: Option<Vec<ManagerSetting>>,
}

impl SettingsPatch {
    /// The settings this patch changes (`manager_may_change` not among them).
    pub fn touched(&self) -> Vec<ManagerSetting> {
        let mut out = Vec::new();
        let mut add = |set: bool, s| {
            if set {
                out.push(s)
            }
        };
        add(
            self.require_birth_date.is_some(),
            ManagerSetting::RequireBirthDate,
        );
        add(
            self.require_password.is_some(),
            ManagerSetting::RequirePassword,
        );
        add(self.credit_policy.is_some(), ManagerSetting::CreditPolicy);
        add(
            self.default_expiry_minutes.is_some(),
            ManagerSetting::DefaultExpiryMinutes,
        );
        add(self.auto_pay.is_some(), ManagerSetting::AutoPay);
        add(
            self.installments_allowed.is_some(),
            ManagerSetting::InstallmentsAllowed,
        );
        add(
            self.approval_attempt_limit.is_some(),
            ManagerSetting::ApprovalAttemptLimit,
        );
        add(self.texts_per_hour.is_some(), ManagerSetting::TextsPerHour);
        add(
            self.manual_price_max_discount_pct.is_some(),
            ManagerSetting::ManualPriceMaxDiscountPct,
        );
        out
    }
}

/// A merchant's settings as shown (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsValues {
    pub require_birth_date: bool,
    pub require_password: bool,
    pub credit_policy: CreditPolicy,
    pub default_expiry_minutes: u32,
    pub auto_pay: bool,
    pub installments_allowed: bool,
    pub approval_attempt_limit: u32,
    pub texts_per_hour: Option<u32>,
    pub manual_price_max_discount_pct: Option<u8>,
    pub manager_may_change: Vec<ManagerSetting>,
}

/// Whether a merchant may take new charges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MerchantStatus {
    #[default]
    Active,
    /// No new charges; its pending ones were canceled when it was suspended.
    Suspended,
}

crate::text_names!(MerchantStatus {
    Active => "active",
    Suspended => "suspended",
});

/// A merchant as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MerchantView {
    pub id: String,
    pub code: String,
    pub name: String,
    pub status: MerchantStatus,
    /// 사업자등록번호, 10 digits.
    pub business_number: String,
    pub representative: String,
    /// National digits.
    pub phone: String,
    pub address: String,
    /// Virtual ARS numbers, national digits, in the order they are handed out.
    pub numbers: Vec<String>,
    pub webhook_url: Option<String>,
    pub settings: SettingsValues,
}

/// `POST /admin/v1/merchants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateMerchant {
    /// Unique, 2 to 32 of a-z, 0-9, '-' and '_'.
    pub code: String,
    pub name: String,
    /// 사업자등록번호, with or without dashes; its check digit is checked.
    pub business_number: String,
    pub representative: String,
    pub phone: String,
    pub address: String,
    #[serde(default)]
    pub settings: SettingsPatch,
}

/// `PATCH /admin/v1/merchants/{code}`: absent fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateMerchant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default)]
    pub settings: SettingsPatch,
}

/// What suspending did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suspended {
    /// The pending charges canceled (their payers were texted).
    pub canceled_charges: Vec<String>,
}

/// `POST /admin/v1/merchants/{code}/numbers`: numbers (`1600-0010`) and ranges
/// (`1600-0010..1600-0019`, at most 1000 numbers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddNumbers {
    pub numbers: Vec<String>,
}

/// A merchant's virtual numbers, national digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NumberList {
    pub numbers: Vec<String>,
}

/// `POST /admin/v1/merchants/{code}/reps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRep {
    pub login: String,
    pub name: String,
    pub role: crate::auth::Role,
}

/// A rep created (or its password reset): the one-time password, shown once; the rep must
/// change it at its first sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepPassword {
    pub rep_id: String,
    pub login: String,
    pub one_time_password: Secret,
}

/// `PUT /admin/v1/merchants/{code}/webhook`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetWebhook {
    /// https://...
    pub url: String,
}

/// A webhook signing secret, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookSecret {
    /// `whsec_...`
    pub secret: Secret,
    /// After a rotation: until when (RFC 3339) the previous secret still signs deliveries.
    pub previous_valid_until: Option<String>,
}

/// `POST /admin/v1/operator-tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateOperatorToken {
    pub name: String,
}

/// A new operator token, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewOperatorToken {
    pub id: String,
    pub name: String,
    /// `fpo_...`: the bearer of `/admin/v1` requests. Shown once, stored hashed.
    pub token: Secret,
}

/// One change, as the audit log keeps it (never a secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    /// `cli`, `operator:<token id>` or `manager:<rep id>`.
    pub actor: String,
    /// e.g. `merchant.create`, `rep.reset_password`.
    pub action: String,
    pub merchant_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}
