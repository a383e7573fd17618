//! The one error type of the HTTP layer: a protocol error code and a message, answered as
//! `{ "error": { "code", "message" } }` with the code's HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use fieldpay_protocol::{ApiError, ErrorBody, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(what: &str) -> Self {
        AppError::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        AppError::new(ErrorCode::InvalidField, format!("{field}: {why}"))
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        AppError::new(ErrorCode::Internal, "internal error")
    }
    pub fn to_api(&self) -> ApiError {
        ApiError::new(self.code, self.message.clone())
    }
}

impl From<ApiError> for AppError {
    fn from(e: ApiError) -> Self {
        AppError::new(e.code, e.message)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: self.to_api(),
        };
        (status, Json(body)).into_response()
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Rejected { code, message } => AppError::new(code, message),
            other => AppError::internal(other),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
