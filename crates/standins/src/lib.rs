//! Strict stand-ins for the providers FieldPay's connectors talk to, for tests.
//!
//! Each provider module starts an HTTP server on a loopback port that implements the part of
//! the provider's documented wire protocol FieldPay uses: it checks authentication the way the
//! provider does (decodes Basic auth, recomputes HMAC signatures), the exact field names and
//! types, idempotency headers, and answers with the provider's documented bodies. A test
//! scripts what the provider does next (approve, decline with a given code, answer 5xx, answer
//! late, approve and drop the answer) and reads back every request it received.
//!
//! These are not mocks of FieldPay code: the production connectors run unchanged, with only
//! their `base_url` pointed here.

pub mod common;
pub mod nhn;
pub mod portone;
pub mod solapi;
pub mod toss;
pub mod twilio;

pub use common::{Recorded, StandIn};
