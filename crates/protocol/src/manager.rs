//! What a merchant's manager reads and changes from the app (`/v1/manager/...`): the team,
//! API keys, the webhook and its deliveries, and the merchant settings the operator lets the
//! manager change (`GET` answers [`SettingsValues`], whose `manager_may_change` lists them;
//! `PATCH` takes a [`SettingsPatch`]). A rep without the manager role is refused every one of
//! these by the server. Reps, API keys and settings are the operator's types (`crate::admin`):
//! one shape for both.

use serde::{Deserialize, Serialize};

pub use crate::admin::{
    ApiKeyInfo, CreateApiKey, CreateRep, NewApiKey, RepPassword, SettingsPatch, SettingsValues,
};
use crate::auth::Role;

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

/// A new key for signed payment links, shown once (`POST /v1/manager/link-key`,
/// `POST /admin/v1/merchants/{code}/link-key/rotate`): links signed with the previous key
/// stop working at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkKey {
    /// `fpl_` and 64 hex digits: the HMAC-SHA256 key of the links' `sig` (its text as UTF-8).
    pub key: crate::Secret,
    /// RFC 3339.
    pub created_at: String,
}

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
    /// When the key of the merchant's signed payment links was made (RFC 3339); None: the
    /// merchant has none (no signed link of it is accepted). The key itself is shown only
    /// once, when made (`POST /v1/manager/link-key`).
    pub link_key_created_at: Option<String>,
    /// The 20 latest deliveries, newest first.
    pub recent_deliveries: Vec<WebhookDelivery>,
}
