//! Types that cross a FieldPay boundary: HTTP API bodies, UI <-> shell payloads, statuses and
//! error codes. serde only; builds for wasm32.

/// `as_str`, `parse`, `ALL` and `Display` for a field-less enum stored and sent by name: one
/// list of (variant, name) pairs, so the names cannot drift apart.
#[macro_export]
macro_rules! text_names {
    (@count) => { 0 };
    (@count $head:ident $($tail:ident)*) => { 1 + $crate::text_names!(@count $($tail)*) };
    ($t:ident { $($v:ident => $s:literal),+ $(,)? }) => {
        impl $t {
            /// Every value, in declaration order.
            pub const ALL: [$t; $crate::text_names!(@count $($v)+)] = [$($t::$v),+];

            /// The stored and wire name (`snake_case`, as serde writes it).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($t::$v => $s),+
                }
            }

            pub fn parse(s: &str) -> Option<$t> {
                match s {
                    $($s => Some($t::$v),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod admin;
pub mod app;
pub mod auth;
pub mod card;
pub mod charge;
pub mod collection;
pub mod command;
pub mod error;
#[cfg(feature = "evidence")]
pub mod evidence;
pub mod ids;
pub mod manager;
pub mod mobile;
pub mod money;
pub mod numbering;
pub mod payment_link;
#[cfg(feature = "phone")]
pub mod phone;
#[cfg(feature = "process")]
pub mod process;
pub mod records;
pub mod returns;
#[cfg(feature = "phone")]
pub mod rules;
pub mod secret;
pub mod settlement;
pub mod share;
pub mod sms;
pub mod sync;
#[cfg(feature = "time")]
pub mod time;
pub mod validate;
pub mod visit;

pub use card::{CardNumber, CardNumberError};
pub use error::{ApiError, ErrorBody, ErrorCode};
pub use ids::{AccountId, ApiKeyId, ChargeId, MerchantId, OrderId, RepId};
pub use secret::Secret;

#[cfg(all(test, feature = "openapi"))]
mod schema_tests;
