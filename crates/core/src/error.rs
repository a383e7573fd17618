//! The engine's typed errors. They cross to the UI as `protocol::ApiError` (code + message).

use fieldpay_protocol::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Bad input from the rep (the message says what to fix).
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The server refused (its code and message).
    #[error("{0}")]
    Server(ApiError),
    /// No connection to the server (the action was kept and will be sent later, or needs the
    /// network now, e.g. sign-in).
    #[error("the server cannot be reached: {0}")]
    Offline(String),
    #[error("not signed in")]
    NotSignedIn,
    #[error("credential store: {0}")]
    Credentials(String),
    #[error("local database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Other(String),
}

impl CoreError {
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Self {
        CoreError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// The error as the UI receives it.
    pub fn to_api(&self) -> ApiError {
        let code = match self {
            CoreError::Invalid { code, .. } => *code,
            CoreError::NotFound(_) => ErrorCode::NotFound,
            CoreError::Server(e) => e.code,
            CoreError::Offline(_) => ErrorCode::Unavailable,
            CoreError::NotSignedIn => ErrorCode::Unauthorized,
            CoreError::Credentials(_) => ErrorCode::CredentialStore,
            CoreError::Db(_) | CoreError::Corrupt(_) | CoreError::Other(_) => ErrorCode::Internal,
        };
        let message = match self {
            CoreError::Server(e) => e.message.clone(),
            other => other.to_string(),
        };
        ApiError::new(code, message)
    }
}

impl From<serde_json::Error> for CoreError {
    fn from(e: serde_json::Error) -> Self {
        CoreError::Corrupt(e.to_string())
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
