//! What a merchant's manager reads and changes from the app (`/v1/manager/...`): the team,
//! API keys, the webhook and its deliveries, and the merchant settings the operator lets the
//! manager change. A rep without the manager role is refused every one of these by the server.

use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::records::CreditPolicy;
use crate::secret::Secret;

/// One rep of the merchant with the day's work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamMember {
    pub id: String,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    /// Signed in with a one-time password that was not changed yet.
    pub must_change_password: bool,
    /// Orders the rep submitted that KST day, and their total in KRW.
    pub orders: u64,
    pub orders_amount: i64,
    /// Payments approved that day on charges the rep requested, and their total in KRW.
    pub collected_count: u64,
    pub collected_amount: i64,
}

/// The team on one KST day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamReport {
    /// KST date, `YYYY-MM-DD`.
    pub date: String,
    /// Active reps first, then by name.
    pub reps: Vec<TeamMember>,
}

/// `POST /v1/manager/reps`: a new rep (or manager) of the caller's merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRepRequest {
    /// Sign-in id, unique within the merchant: 2 to 32 of `a-z 0-9 . _ -`.
    pub login: String,
    pub name: String,
    #[serde(default)]
    pub role: Role,
}

/// A password the rep must change at first sign-in; shown once, never stored in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OneTimePassword {
    pub one_time_password: Secret,
}

/// The answer to `POST /v1/manager/reps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewRep {
    pub rep: TeamMember,
    pub one_time_password: Secret,
}

/// An API key as listed: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    /// RFC 3339 times.
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// `POST /v1/manager/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewApiKeyRequest {
    /// What the key is for, e.g. "ERP".
    pub name: String,
}

/// A new API key: `secret` is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewApiKey {
    pub key: ApiKeyInfo,
    pub secret: Secret,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Given up after the last attempt.
    Failed,
}

crate::text_names!(DeliveryStatus {
    Pending => "pending",
    Delivered => "delivered",
    Failed => "failed",
});

/// One webhook delivery: an event sent (or being sent) to the merchant's URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: String,
    /// E.g. `charge.approved`.
    pub event_type: String,
    pub url: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: String,
    /// The HTTP status of the last attempt, when it got an answer.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: String,
}

/// The merchant's integration: API keys, webhook and its latest deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Integration {
    pub webhook_url: Option<String>,
    /// Newest first; revoked keys included (with `revoked_at`).
    pub api_keys: Vec<ApiKeyInfo>,
    /// The key that lets the web payment pages take charges for this merchant; none yet.
    pub link_key: Option<String>,
    /// The 20 latest deliveries, newest first.
    pub recent_deliveries: Vec<WebhookDelivery>,
}

/// A merchant setting an operator may let the merchant's manager change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ManagerSetting {
    CreditPolicy,
    RequireBirthDate,
    RequirePassword,
    DefaultExpiryMinutes,
    ManualPriceMaxDiscountPct,
}

crate::text_names!(ManagerSetting {
    CreditPolicy => "credit_policy",
    RequireBirthDate => "require_birth_date",
    RequirePassword => "require_password",
    DefaultExpiryMinutes => "default_expiry_minutes",
    ManualPriceMaxDiscountPct => "manual_price_max_discount_pct",
});

/// The merchant settings a manager sees, and which of them it may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManagerSettings {
    pub credit_policy: CreditPolicy,
    pub require_birth_date: bool,
    pub require_password: bool,
    pub default_expiry_minutes: u32,
    pub manual_price_max_discount_pct: Option<u8>,
    /// Set by the operator; read-only here.
    pub auto_pay: bool,
    pub installments: bool,
    /// The settings of this view the manager may change.
    pub editable: Vec<ManagerSetting>,
}

/// `PATCH /v1/manager/settings`: only the fields present change; a field the manager may not
/// change is refused (403) and nothing changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ManagerSettingsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_policy: Option<CreditPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_birth_date: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_password: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_expiry_minutes: Option<u32>,
    /// `Some(None)` clears the limit (only price-list prices).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub manual_price_max_discount_pct: Option<Option<u8>>,
}

impl ManagerSettingsPatch {
    /// The settings this patch changes.
    pub fn touched(&self) -> Vec<ManagerSetting> {
        let mut v = Vec::new();
        if self.credit_policy.is_some() {
            v.push(ManagerSetting::CreditPolicy);
        }
        if self.require_birth_date.is_some() {
            v.push(ManagerSetting::RequireBirthDate);
        }
        if self.require_password.is_some() {
            v.push(ManagerSetting::RequirePassword);
        }
        if self.default_expiry_minutes.is_some() {
            v.push(ManagerSetting::DefaultExpiryMinutes);
        }
        if self.manual_price_max_discount_pct.is_some() {
            v.push(ManagerSetting::ManualPriceMaxDiscountPct);
        }
        v
    }
}

/// `Option<Option<T>>` where a present `null` is `Some(None)`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_tells_a_null_from_an_absent_field() {
        let p: ManagerSettingsPatch =
            serde_json::from_str(r#"{"manual_price_max_discount_pct": null}"#).unwrap();
        assert_eq!(p.manual_price_max_discount_pct, Some(None));
        assert_eq!(p.touched(), vec![ManagerSetting::ManualPriceMaxDiscountPct]);
        let p: ManagerSettingsPatch =
            serde_json::from_str(r#"{"require_password": false}"#).unwrap();
        assert_eq!(p.manual_price_max_discount_pct, None);
        assert_eq!(p.touched(), vec![ManagerSetting::RequirePassword]);
        assert!(serde_json::from_str::<ManagerSettingsPatch>(r#"{"auto_pay": true}"#).is_err());
        let back = serde_json::to_string(&ManagerSettingsPatch {
            manual_price_max_discount_pct: Some(None),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(back, r#"{"manual_price_max_discount_pct":null}"#);
    }
}
