//! Typed error codes and the error body every API answers with:
//! `{ "error": { "code": "...", "message": "..." } }`.

use serde::{Deserialize, Serialize};

/// Every error a FieldPay API can answer. Stable, snake_case on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Body is not valid JSON, or has the wrong shape / unknown fields.
    MalformedBody,
    /// A field has a value that is not allowed (see message for which).
    InvalidField,
    InvalidPhone,
    InvalidAmount,
    InvalidBusinessNumber,
    /// Missing or bad credentials.
    Unauthorized,
    /// Authenticated, but this caller may not do this.
    Forbidden,
    /// The rep signed in with a one-time password: every call but changing it
    /// (`POST /v1/auth/password`) is refused until it is changed.
    PasswordChangeRequired,
    /// The merchant is suspended by its operator: no new charges.
    MerchantSuspended,
    NotFound,
    /// The resource is not in a state that allows this (e.g. cancel after payment).
    InvalidState,
    /// The same Idempotency-Key was used with a different body.
    IdempotencyConflict,
    /// The request conflicts with stored data (an id or number already taken, a record it
    /// refers to does not exist); nothing was changed.
    Conflict,
    /// Every virtual number of the pool is already bound to this payer phone.
    NumberPoolExhausted,
    CreditLimitExceeded,
    AccountClosed,
    /// A refund's amount is more than what remains unrefunded of the payment.
    RefundExceedsRemaining,
    /// The card network could not complete the request.
    ConnectorFailed,
    /// A CSV row or import file is invalid.
    ImportFailed,
    RateLimited,
    /// The device cannot reach the server right now.
    Unavailable,
    /// The OS credential store is missing or locked.
    CredentialStore,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedBody => "malformed_body",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::InvalidPhone => "invalid_phone",
            ErrorCode::InvalidAmount => "invalid_amount",
            ErrorCode::InvalidBusinessNumber => "invalid_business_number",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::PasswordChangeRequired => "password_change_required",
            ErrorCode::MerchantSuspended => "merchant_suspended",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::Conflict => "conflict",
            ErrorCode::NumberPoolExhausted => "number_pool_exhausted",
            ErrorCode::CreditLimitExceeded => "credit_limit_exceeded",
            ErrorCode::AccountClosed => "account_closed",
            ErrorCode::RefundExceedsRemaining => "refund_exceeds_remaining",
            ErrorCode::ConnectorFailed => "connector_failed",
            ErrorCode::ImportFailed => "import_failed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::CredentialStore => "credential_store",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status this code is answered with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::MalformedBody
            | ErrorCode::InvalidField
            | ErrorCode::InvalidPhone
            | ErrorCode::InvalidAmount
            | ErrorCode::InvalidBusinessNumber
            | ErrorCode::ImportFailed => 422,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden
            | ErrorCode::PasswordChangeRequired
            | ErrorCode::MerchantSuspended => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::InvalidState
            | ErrorCode::IdempotencyConflict
            | ErrorCode::Conflict
            | ErrorCode::CreditLimitExceeded
            | ErrorCode::AccountClosed
            | ErrorCode::RefundExceedsRemaining => 409,
            ErrorCode::NumberPoolExhausted => 503,
            ErrorCode::ConnectorFailed => 502,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::CredentialStore => 500,
            ErrorCode::Internal => 500,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ApiError,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
