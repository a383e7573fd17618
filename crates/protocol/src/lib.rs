//! Types that cross a FieldPay boundary: HTTP API bodies, UI <-> shell payloads, statuses and
//! error codes. serde only; builds for wasm32.

pub mod app;
pub mod auth;
pub mod card;
pub mod charge;
pub mod error;
pub mod ids;
pub mod money;
#[cfg(feature = "phone")]
pub mod phone;
pub mod records;
#[cfg(feature = "phone")]
pub mod rules;
pub mod secret;
pub mod settlement;
pub mod sync;
pub mod validate;

pub use card::{CardNumber, CardNumberError};
pub use error::{ApiError, ErrorBody, ErrorCode};
pub use ids::{AccountId, ApiKeyId, ChargeId, MerchantId, OrderId, RepId};
pub use secret::Secret;
