//! The manager's screens in the app (`/v1/manager/...`): the team, API keys, the webhook and
//! its deliveries, and the merchant settings a manager may change. Every route needs the
//! manager role; the server refuses a plain rep (403), not only the app.
//!
//! (Drafted by the app side from the issue-14 brief; the lead owns these types.)

use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::ids::{ApiKeyId, RepId};
use crate::secret::Secret;

/// One rep of the merchant with the day's work (`GET /v1/manager/team?date=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamMember {
    pub id: RepId,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    /// Signed in with a one-time password and has not set a new one yet.
    pub must_change_password: bool,
    /// Orders registered that day, and their total (KRW).
    pub orders_today: u64,
    pub orders_amount_today: i64,
    /// Payments approved that day, and their total (KRW).
    pub collected_count_today: u64,
    pub collected_amount_today: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamReport {
    /// KST date, `YYYY-MM-DD`.
    #[serde(default)]
    pub date: String,
    pub reps: Vec<TeamMember>,
}

/// `POST /v1/manager/reps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRep {
    pub login: String,
    pub name: String,
    pub role: Role,
}

/// A new rep and the one-time password to hand over (shown once; the rep sets a new one at
/// first sign-in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewRep {
    pub rep: TeamMember,
    pub one_time_password: Secret,
}

/// `POST /v1/manager/reps/{id}/reset-password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordReset {
    pub one_time_password: Secret,
}

/// A merchant API key as listed: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyInfo {
    pub id: ApiKeyId,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// `POST /v1/manager/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
}

/// A new API key: `secret` is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewApiKey {
    pub key: ApiKeyInfo,
    pub secret: Secret,
}

/// One webhook delivery of the merchant's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: String,
    /// E.g. `charge.approved`.
    pub event_type: String,
    pub url: String,
    /// `pending`, `delivered`, `failed`.
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: String,
    /// The HTTP status of the last attempt, when it got an answer.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: String,
}

/// `GET /v1/manager/integration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Integration {
    pub webhook_url: Option<String>,
    pub api_keys: Vec<ApiKeyInfo>,
    /// The payment-link key (the web channels issue); None until then.
    pub link_key: Option<String>,
    pub recent_deliveries: Vec<WebhookDelivery>,
}

/// A merchant setting the operator may let the manager change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ManagerSetting {
    BirthDateStep,
    PasswordStep,
    AutoPayAllowed,
    InstallmentsAllowed,
    CreditPolicy,
    SmsSender,
    ApprovalAttemptLimit,
    TextsPerHour,
}

crate::text_names!(ManagerSetting {
    BirthDateStep => "birth_date_step",
    PasswordStep => "password_step",
    AutoPayAllowed => "auto_pay_allowed",
    InstallmentsAllowed => "installments_allowed",
    CreditPolicy => "credit_policy",
    SmsSender => "sms_sender",
    ApprovalAttemptLimit => "approval_attempt_limit",
    TextsPerHour => "texts_per_hour",
});

/// The merchant's settings and which of them the manager may change
/// (`GET /v1/manager/settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MerchantSettingsView {
    pub birth_date_step: bool,
    pub password_step: bool,
    pub auto_pay_allowed: bool,
    pub installments_allowed: bool,
    pub credit_policy: crate::records::CreditPolicy,
    pub sms_sender: Option<String>,
    pub approval_attempt_limit: u32,
    pub texts_per_hour: u32,
    /// The settings the operator lets the manager change; the rest are read only.
    pub manager_may_change: Vec<ManagerSetting>,
}

/// `PATCH /v1/manager/settings`: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MerchantSettingsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date_step: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_step: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_pay_allowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installments_allowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_policy: Option<crate::records::CreditPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_sender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_attempt_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texts_per_hour: Option<u32>,
}

/// `POST /v1/auth/password`: the signed-in rep sets a new password (at least 8 characters);
/// clears `must_change_password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: Secret,
    pub new_password: Secret,
}

/// The shortest password a rep may set.
pub const MIN_PASSWORD_CHARS: usize = 8;
