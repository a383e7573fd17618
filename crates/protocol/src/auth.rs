//! Rep sign-in.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub merchant: String,
    pub rep_id: String,
    pub password: Secret,
    #[serde(default)]
    pub device_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: Secret,
    /// Seconds.
    pub expires_in: u64,
    pub refresh_token: Secret,
    pub rep: RepInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepInfo {
    pub id: String,
    pub login: String,
    pub name: String,
    pub merchant_id: String,
    pub merchant_name: String,
    /// The merchant's credit-limit rule, so devices can check orders offline.
    #[serde(default)]
    pub credit_policy: crate::records::CreditPolicy,
    /// The merchant's business details, printed on purchase orders.
    #[serde(default)]
    pub merchant_business_number: String,
    /// The merchant's representative (대표자), phone (as printed) and address, printed on
    /// purchase orders; empty when the operator did not give them.
    #[serde(default)]
    pub merchant_representative: String,
    #[serde(default)]
    pub merchant_phone: String,
    #[serde(default)]
    pub merchant_address: String,
    /// What the rep may do (a plain rep acts on its own records).
    #[serde(default)]
    pub role: Role,
    /// Signed in with a one-time password (a new rep, a reset): it must be changed
    /// (`POST /v1/auth/password`) before anything else is allowed.
    #[serde(default)]
    pub must_change_password: bool,
    /// The rep's short number series within its merchant (`R01`): the device numbers the
    /// orders it signs from it (`PO-20261203-R01-0001`) without asking the server. Empty from
    /// a server before series existed (then the server numbers orders at registration).
    #[serde(default)]
    pub series: String,
}

/// `POST /v1/auth/password`: the signed-in rep changes its password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: Secret,
    /// At least 8 characters.
    pub new_password: Secret,
}

/// A rep's role within its merchant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Acts on its own charges and orders and reads its own.
    #[default]
    Rep,
    /// Also refunds, reads every rep's records and the webhook log.
    Manager,
}

crate::text_names!(Role { Rep => "rep", Manager => "manager" });
